//! `invalid-input-refused`: a request that is not a usable request (not JSON, no list, empty
//! list, wrong types) is refused with 4xx or a contract-shaped FAILED.

use stockwire_schema::{Severity, Status, contract};

use super::check::{Check, Ctx, Eval, Observation, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::BodyClass;
use crate::model::policies::RejectionStatus;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "invalid-input-refused",
    severity: Severity::Must,
    category: Category::Robustness,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "A malformed push carries no stock; answering it as processed hides the caller's defect.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, cx: &Ctx<'_>, out: &mut Out) {
    let p = cx.policies;
    let what = match &x.class.body {
        BodyClass::NotJson => "a body that is not JSON".to_string(),
        BodyClass::InvalidEnvelope(v) => format!(
            "an unusable request ({})",
            v.first().map_or("invalid".to_string(), |v| format!(
                "{}: {}",
                if v.pointer.is_empty() {
                    "(document)"
                } else {
                    &v.pointer
                },
                v.keyword
            ))
        ),
        BodyClass::Items(_) => return,
    };
    let Some(status) = x.status() else { return };
    let shaped_failed = x.body_status_is(&Status::Failed)
        && x.json
            .as_ref()
            .is_some_and(|j| contract(x.profile).validate_response(j).is_empty());
    let verdict = if (400..500).contains(&status) {
        out.observations.push(Observation {
            topic: "rejection-style",
            choice: format!("HTTP {status}"),
        });
        if p.rejection_status == RejectionStatus::Http200Failed {
            Some(format!(
                "{what} answered HTTP {status} (policy rejection-status = http-200-failed)"
            ))
        } else {
            None
        }
    } else if status == 200 && shaped_failed {
        out.observations.push(Observation {
            topic: "rejection-style",
            choice: "HTTP 200 + FAILED".into(),
        });
        if p.rejection_status == RejectionStatus::Http4xx {
            Some(format!(
                "{what} answered HTTP 200 + FAILED (policy rejection-status = http-4xx)"
            ))
        } else {
            None
        }
    } else {
        Some(format!(
            "{what} answered HTTP {status} ({}) instead of 4xx or a FAILED body",
            super::exchange::describe_body(x)
        ))
    };
    out.verdicts.push(Verdict {
        check: CHECK.id,
        failure: verdict,
        shown_by: Vec::new(),
    });
}
