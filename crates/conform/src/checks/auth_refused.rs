//! `auth-refused`: a request with a missing or wrong apiKey is refused (any 4xx, or a FAILED
//! body), never answered as applied; the status a partner picks is its choice.

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
    rationale: "The token maps a call to its seller; a call without a valid one must be refused (any 4xx, or FAILED), never applied.",
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

/// Judges a request sent without an apiKey or with a wrong one (stage `Unauthenticated`): any
/// 4xx or a 200 with a FAILED body is a refusal, and passes (which status is the partner's
/// choice, reported as `auth-refusal`); an answer as applied fails; a 3xx is neither (a
/// redirect is never an answer, `http-200` fails it). Whether stock changed is
/// `auth-no-effect`'s.
fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    let (what, when) = match x.class.auth {
        AuthUse::Valid => return,
        AuthUse::Missing => ("without an apiKey", "when the header is missing"),
        AuthUse::Wrong => ("with a wrong apiKey", "for a wrong key"),
    };
    let Some(status) = x.status() else { return };
    let choice = if (400..500).contains(&status) {
        format!("HTTP {status} {when}")
    } else if (200..300).contains(&status) && x.body_status_is(&Status::Failed) {
        format!("HTTP {status} + FAILED {when}")
    } else if (300..400).contains(&status) {
        return;
    } else {
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "request {what} answered HTTP {status} ({}) as if applied: it must be refused (a 4xx, or a FAILED body)",
                super::exchange::describe_body(x)
            ),
        ));
        return;
    };
    out.observations.push(Observation {
        topic: "auth-refusal",
        choice,
    });
    out.verdicts.push(Verdict::pass(CHECK.id));
}
