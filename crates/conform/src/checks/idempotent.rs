//! `idempotent`: repeating an identical request gives the same outcome.

use stockwire_schema::Severity;

use super::check::{Check, Kind, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "idempotent",
    severity: Severity::Must,
    category: Category::Metamorphic,
    kind: Kind::Relation,
    rationale: "Each push carries absolute counts and may be retried; a repeated push must be harmless and answered the same.",
    needs: &[Need {
        resource: Resource::Catalog,
        loss: Loss::Weakened,
        why: "every item sent is unknown to the partner, so only the repetition of refusals is compared",
    }],
};

/// Compares two outcome signatures of the same request.
pub fn evaluate(first: &str, second: &str) -> Verdict {
    if first == second {
        Verdict::pass(CHECK.id)
    } else {
        Verdict::fail(
            CHECK.id,
            format!(
                "the same request was answered {first} the first time and {second} when repeated"
            ),
        )
    }
}
