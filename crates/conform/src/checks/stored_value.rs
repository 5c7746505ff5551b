//! `stored-value`: after an update the partner reported as applied, the stock read back
//! (`--stock-probe`, or the mock's ledger) equals the value sent, 0 and the maximum included.

use stockwire_schema::Severity;

use super::check::{Check, Eval, Fact, Stored, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The catalog need of a check that updates an item and reads it back.
pub(crate) const KNOWN_ITEM: Need = Need {
    resource: Resource::Catalog,
    loss: Loss::Skipped,
    why: "only an item known to exist can be updated and read back",
};

/// The read-back need of a check that judges what a partner stored.
pub(crate) const READ_BACK: Need = Need {
    resource: Resource::StockProbe,
    loss: Loss::Skipped,
    why: "what a partner stored shows only by reading its stock back (--stock-probe, or a stockwire mock's ledger)",
};

/// The check.
pub const CHECK: Check = Check {
    id: "stored-value",
    severity: Severity::Must,
    category: Category::State,
    eval: Eval::State(judge),
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[KNOWN_ITEM, READ_BACK],
    rationale: "The contract is about the number the marketplace holds; a SUCCESS that stores another number oversells.",
};

/// An item reported applied must hold the value sent (one of them, when sent more than once).
pub fn judge(item: &Stored<'_>) -> Option<Verdict> {
    let Fact::Applied(sent) = item.fact else {
        return None;
    };
    if item.after.is_some_and(|v| sent.contains(&v)) {
        return Some(Verdict::pass(CHECK.id));
    }
    let got = Stored::shown(item.after);
    Some(match sent.as_slice() {
        [one] => Verdict::fail(
            CHECK.id,
            format!(
                "item {} was reported applied with inventory {one}, but the partner holds {got} ({})",
                item.key, item.settle
            ),
        ),
        many => {
            let sent: Vec<String> = many.iter().map(i64::to_string).collect();
            Verdict::fail(
                CHECK.id,
                format!(
                    "item {}, sent more than once with inventory {} and reported applied, holds {got} ({})",
                    item.key,
                    sent.join(" / "),
                    item.settle
                ),
            )
        }
    })
}
