//! `no-server-error`: no input makes the partner answer 5xx.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "no-server-error",
    severity: Severity::Must,
    category: Category::Robustness,
    eval: Eval::Exchange {
        stage: Stage::Answered,
        judge: evaluate,
    },
    rationale: "A 5xx is a crash, not an answer: invalid input must be refused with 4xx or a FAILED body.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    match x.status() {
        Some(s @ 500..=599) => out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!("HTTP {s} ({})", super::exchange::describe_body(x)),
        )),
        Some(_) => out.verdicts.push(Verdict::pass(CHECK.id)),
        None => {}
    }
}
