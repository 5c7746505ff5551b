//! `stored-per-item`: an update changes only the item it names; other variants of the same
//! product, and other products, keep their stock.

use stockwire_schema::Severity;

use super::{Category, Check, Kind, Loss, Need, Resource, Verdict};

/// The check.
pub const CHECK: Check = Check {
    id: "stored-per-item",
    severity: Severity::Must,
    category: Category::State,
    kind: Kind::State,
    needs: &[
        Need {
            resource: Resource::Catalog,
            loss: Loss::Skipped,
            why: "only items known to exist show whether an update spilled onto another item",
        },
        Need {
            resource: Resource::StockProbe,
            loss: Loss::Skipped,
            why: "what a partner stored shows only by reading its stock back (--stock-probe, or a stockwire mock's ledger)",
        },
    ],
    rationale: "A push names each item it sets; an update that spills onto a sibling variant or another product corrupts stock nobody sent.",
};

/// The failure for item `key`, not in the request, that changed from `before` to `after`.
pub fn fail(key: &str, before: &str, after: &str) -> Verdict {
    Verdict::fail(
        CHECK.id,
        format!("item {key} was not in the request but changed from {before} to {after}"),
    )
}
