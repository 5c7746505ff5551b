//! `stored-value`: after an update the partner reported as applied, the stock read back
//! (`--stock-probe`, or the mock's ledger) equals the value sent, 0 and the maximum included.

use stockwire_schema::Severity;

use super::{Category, Check, Kind, Loss, Need, Resource, Verdict};

/// The check.
pub const CHECK: Check = Check {
    id: "stored-value",
    severity: Severity::Must,
    category: Category::State,
    kind: Kind::State,
    needs: &[
        Need {
            resource: Resource::Catalog,
            loss: Loss::Skipped,
            why: "only an item known to exist can be updated and read back",
        },
        Need {
            resource: Resource::StockProbe,
            loss: Loss::Skipped,
            why: "what a partner stored shows only by reading its stock back (--stock-probe, or a stockwire mock's ledger)",
        },
    ],
    rationale: "The contract is about the number the marketplace holds; a SUCCESS that stores another number oversells.",
};

/// The failure for item `key` reported applied with `sent` but holding `got`.
pub fn fail(key: &str, sent: i64, got: &str, settle: &str) -> Verdict {
    Verdict::fail(
        CHECK.id,
        format!(
            "item {key} was reported applied with inventory {sent}, but the partner holds {got} ({settle})"
        ),
    )
}
