//! `auth-token-response`: `/authToken` answers with a body valid against its schema.

use serde_json::Value;
use stockwire_schema::{Profile, Severity, contract};

use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "auth-token-response",
    severity: Severity::Must,
    category: Category::Auth,
    eval: Eval::Run(judge),
    rationale: "The caller reads accessToken from the documented body; any other shape stops every push.",
    shrink: false,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Login,
        loss: Loss::Skipped,
        why: "the token call is made only when the runner logs in itself",
    }],
};

/// Judges what `/authToken` answered to the run's credentials; nothing for other facts.
pub fn judge(fact: &RunFact<'_>) -> Option<Verdict> {
    match *fact {
        RunFact::TokenAnswer {
            profile,
            status,
            body,
        } => Some(evaluate(profile, status, body)),
        _ => None,
    }
}

/// Judges the `/authToken` response body.
pub fn evaluate(profile: Profile, status: u16, body: Option<&Value>) -> Verdict {
    let Some(body) = body else {
        return Verdict::fail(
            CHECK.id,
            format!("/authToken answered HTTP {status} without a JSON body"),
        );
    };
    let problems: Vec<String> = contract(profile)
        .validate_auth_response(body)
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    if problems.is_empty() && status == 200 {
        Verdict::pass(CHECK.id)
    } else if problems.is_empty() {
        Verdict::fail(
            CHECK.id,
            format!("/authToken answered HTTP {status} to valid credentials"),
        )
    } else {
        Verdict::fail(CHECK.id, problems.join("; "))
    }
}
