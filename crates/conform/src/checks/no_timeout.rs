//! `no-timeout`: every request is answered within the time-out.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::client::http::{FailureKind, Outcome};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "no-timeout",
    severity: Severity::Must,
    category: Category::Robustness,
    eval: Eval::Exchange {
        stage: Stage::Every,
        judge: evaluate,
    },
    rationale: "The caller pushes every few minutes; a request left hanging blocks the next push for that seller.",
    shrink: false,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    match x.outcome {
        Outcome::Failure {
            failure: FailureKind::Timeout,
            message,
            ..
        } => out.verdicts.push(Verdict::fail(CHECK.id, message.clone())),
        _ => out.verdicts.push(Verdict::pass(CHECK.id)),
    }
}
