//! `auth-refused`: a request with a missing or wrong apiKey is refused.

use stockwire_schema::{Severity, Status};

use super::check::{Check, Ctx, Eval, Observation, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::AuthUse;
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "auth-refused",
    severity: Severity::Must,
    category: Category::Auth,
    eval: Eval::Exchange {
        stage: Stage::Unauthenticated,
        judge: evaluate,
    },
    rationale: "The token maps a call to its seller; a call without a valid one must be refused (401/403 or FAILED).",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Credentials,
        loss: Loss::Skipped,
        why: "a missing or wrong apiKey can only be sent when the run has a right one to compare with",
    }],
};

/// Judges a request sent without an apiKey or with a wrong one (stage `Unauthenticated`): a
/// 401/403 or a FAILED body passes.
fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    let what = match x.class.auth {
        AuthUse::Valid => return,
        AuthUse::Missing => "without an apiKey",
        AuthUse::Wrong => "with a wrong apiKey",
    };
    let status = x.status().unwrap_or(0);
    if matches!(status, 401 | 403) {
        out.observations.push(Observation {
            topic: "auth-refusal",
            choice: format!("HTTP {status}"),
        });
        out.verdicts.push(Verdict::pass(CHECK.id));
    } else if x.body_status_is(&Status::Failed) {
        out.observations.push(Observation {
            topic: "auth-refusal",
            choice: format!("HTTP {status} + FAILED"),
        });
        out.verdicts.push(Verdict::pass(CHECK.id));
    } else {
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "request {what} answered HTTP {status} ({}) instead of 401/403 or FAILED",
                super::exchange::describe_body(x)
            ),
        ));
    }
}
