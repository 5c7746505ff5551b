//! `auth-no-effect`: a request refused for its apiKey (missing or wrong) changes nothing. Judged
//! through the read-back ([`crate::readers::state`]): the `--stock-probe`, or the mock's ledger.

use stockwire_schema::Severity;

use super::check::{Check, Eval, Fact, Stored, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "auth-no-effect",
    severity: Severity::Must,
    category: Category::Auth,
    eval: Eval::State(judge),
    rationale: "Stock set by an unauthenticated call can be anyone's; a refusal that still applies the update is a breach.",
    shrink: true,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: &[
        Need {
            resource: Resource::Credentials,
            loss: Loss::Skipped,
            why: "a missing or wrong apiKey can only be sent when the run has a right one to compare with",
        },
        Need {
            resource: Resource::Catalog,
            loss: Loss::Skipped,
            why: "the probe tries to set a known item's stock with a refused request",
        },
        Need {
            resource: Resource::StockProbe,
            loss: Loss::Skipped,
            why: "whether a refused request changed anything shows only by reading stock before and after it",
        },
    ],
};

/// An item in a request refused for its apiKey keeps what it held before.
pub fn judge(item: &Stored<'_>) -> Option<Verdict> {
    match item.fact {
        Fact::Refused { why, auth: true } => item.unchanged(CHECK.id, why),
        _ => None,
    }
}
