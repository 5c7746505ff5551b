//! `http-200`: a processed request is answered HTTP 200.

use stockwire_schema::{Severity, Status};

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::model::policies::BatchLimit;
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "http-200",
    severity: Severity::Must,
    category: Category::Response,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "The caller reads the outcome of a processed push from a 200 response body; other codes mean it was not processed.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Catalog,
        loss: Loss::Skipped,
        why: "only a request the partner processes must be answered 200, and with no known item none is",
    }],
};

fn evaluate(x: &Exchange<'_>, cx: &Ctx<'_>, out: &mut Out) {
    let p = cx.policies;
    let Some(status) = x.status() else { return };
    let processed = x.body_status_is(&Status::Success) || x.body_status_is(&Status::PartialSuccess);
    if status == 200 {
        if processed || x.class.all_valid() {
            out.verdicts.push(Verdict::pass(CHECK.id));
        }
        return;
    }
    if x.class.all_valid() {
        if super::exchange::batch_limited(x) && p.batch_limit == BatchLimit::Tolerate {
            return;
        }
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "a fully valid request was answered HTTP {status} ({})",
                super::exchange::describe_body(x)
            ),
        ));
    } else if processed && (200..400).contains(&status) {
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "a processed request (status {}) was answered HTTP {status}, not 200",
                x.body_status().unwrap_or("")
            ),
        ));
    }
}
