//! `stored-per-item`: an update changes only the item it names; other variants of the same
//! product, and other products, keep their stock.

use stockwire_schema::Severity;

use super::check::{Check, Eval, Fact, Stored, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "stored-per-item",
    severity: Severity::Must,
    category: Category::State,
    eval: Eval::State(judge),
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[
        Need {
            resource: Resource::Catalog,
            loss: Loss::Skipped,
            why: "only items known to exist show whether an update spilled onto another item",
        },
        super::stored_value::READ_BACK,
    ],
    rationale: "A push names each item it sets; an update that spills onto a sibling variant or another product corrupts stock nobody sent.",
};

/// An item the case did not name keeps what it held before.
pub fn judge(item: &Stored<'_>) -> Option<Verdict> {
    if *item.fact != Fact::NotNamed {
        return None;
    }
    let before = item.before?;
    Some(if before == item.after {
        Verdict::pass(CHECK.id)
    } else {
        Verdict::fail(
            CHECK.id,
            format!(
                "item {} was not in the request but changed from {} to {}",
                item.key,
                Stored::shown(before),
                Stored::shown(item.after)
            ),
        )
    })
}
