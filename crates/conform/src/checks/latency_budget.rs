//! `latency-budget`: p99 latency per batch size stays within the budget.

use std::time::Duration;

use stockwire_schema::Severity;

use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "latency-budget",
    severity: Severity::Should,
    category: Category::Performance,
    eval: Eval::Run(judge),
    rationale: "Pushes run every 2 to 10 minutes for every seller; a slow endpoint delays stock for all of them.",
    shrink: false,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Catalog,
        loss: Loss::Weakened,
        why: "only refusals are timed (no item sent is known to the partner), and a real update may be slower",
    }],
};

/// Judges the latency of one batch-size bucket against its budget (the policy's, scaled to the
/// bucket: `Policies::latency_budget_for`); nothing for other facts.
pub fn judge(fact: &RunFact<'_>) -> Option<Verdict> {
    match *fact {
        RunFact::Latency {
            bucket,
            p99_ms,
            budget,
        } => Some(evaluate(bucket, p99_ms, budget)),
        _ => None,
    }
}

/// Judges one batch-size bucket.
pub fn evaluate(bucket: &str, p99_ms: f64, budget: Duration) -> Verdict {
    let budget_ms = budget.as_secs_f64() * 1000.0;
    if p99_ms <= budget_ms {
        Verdict::pass(CHECK.id)
    } else {
        Verdict::fail(
            CHECK.id,
            format!(
                "p99 latency for batches of {bucket} items is {p99_ms:.0} ms, above the budget of {budget_ms:.0} ms"
            ),
        )
    }
}
