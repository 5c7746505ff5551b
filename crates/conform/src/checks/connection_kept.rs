//! `connection-kept`: the connection is not dropped before a complete response.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::client::http::{FailureKind, Outcome};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "connection-kept",
    severity: Severity::Must,
    category: Category::Robustness,
    eval: Eval::Exchange {
        stage: Stage::Every,
        judge: evaluate,
    },
    rationale: "A connection closed without a response leaves the caller unable to tell whether the stock was set.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    match x.outcome {
        Outcome::Failure {
            failure: FailureKind::Dropped | FailureKind::Connect,
            message,
            ..
        } => out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!("connection dropped without a complete response: {message}"),
        )),
        Outcome::Failure {
            failure: FailureKind::TooLarge,
            message,
            ..
        } => {
            out.verdicts.push(Verdict::pass(CHECK.id));
            out.verdicts
                .push(Verdict::fail(super::json_body::CHECK.id, message.clone()));
        }
        _ => out.verdicts.push(Verdict::pass(CHECK.id)),
    }
}
