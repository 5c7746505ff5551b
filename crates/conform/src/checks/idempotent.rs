//! `idempotent`: repeating an identical request gives the same outcome.

use stockwire_schema::Severity;

use super::check::{Case, Check, Eval, Relation, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "idempotent",
    severity: Severity::Must,
    category: Category::Metamorphic,
    eval: Eval::Relation(judge),
    rationale: "Each push carries absolute counts and may be retried; a repeated push must be harmless and answered the same.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Catalog,
        loss: Loss::Weakened,
        why: "every item sent is unknown to the partner, so only the repetition of refusals is compared",
    }],
};

/// Judges a case that sent the same request twice, when both exchanges tell per-item outcomes.
pub fn judge(case: &Case<'_>) -> Option<Verdict> {
    match (case.relation, case.answers) {
        (Relation::Repeat, [a, b]) if a.outcomes.is_some() && b.outcomes.is_some() => {
            Some(evaluate(&a.signature, &b.signature))
        }
        _ => None,
    }
}

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
