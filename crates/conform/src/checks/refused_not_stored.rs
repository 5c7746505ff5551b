//! `refused-not-stored`: nothing changes for an item reported failed, an invalid or unknown
//! item, or a request refused as a whole (4xx, 3xx, or FAILED). Where the partner rejects a
//! whole batch for one bad item (policy `batch-rejection = any`), nothing of the batch may be
//! stored. A request refused for its apiKey is judged by `auth-no-effect` through the same
//! read-back.

use stockwire_schema::Severity;

use super::check::{Check, Eval, Fact, Stored, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "refused-not-stored",
    severity: Severity::Must,
    category: Category::State,
    eval: Eval::State(judge),
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::StockProbe,
        loss: Loss::Skipped,
        why: "whether a refused update changed anything shows only by reading stock before and after it (--stock-probe, or a stockwire mock's ledger)",
    }],
    rationale: "A caller that reads FAILED or a 4xx sends the item again or gives up; a refusal that still stores a value leaves stock nobody meant.",
};

/// An item refused (reported failed, invalid, unknown, or in a request refused as a whole)
/// keeps what it held before. Refusals for the apiKey are `auth-no-effect`'s.
pub fn judge(item: &Stored<'_>) -> Option<Verdict> {
    match item.fact {
        Fact::Refused { why, auth: false } => item.unchanged(CHECK.id, why),
        _ => None,
    }
}
