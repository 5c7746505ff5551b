//! `response-schema`: a 200 JSON body is valid against the profile's response schema.

use stockwire_schema::{FailedList, Severity, Status, contract, exchange};

use super::check::{Check, Ctx, Eval, Observation, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::model::policies::ListOnSuccess;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "response-schema",
    severity: Severity::Must,
    category: Category::Response,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "The response table fixes the body's members and types; a caller parsing it by the page fails otherwise.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, cx: &Ctx<'_>, out: &mut Out) {
    let p = cx.policies;
    if x.status() != Some(200) {
        return;
    }
    let Some(body) = &x.json else { return };
    // `status` itself is the rule `status-allowed`'s to report, so it is not reported twice.
    let problems: Vec<String> = contract(x.profile)
        .validate_response(body)
        .into_iter()
        .filter(|v| {
            !(v.pointer == exchange::pointer::STATUS
                || (v.pointer.is_empty()
                    && v.keyword == "required"
                    && v.message
                        .contains(&format!("\"{}\"", exchange::field::STATUS))))
        })
        .map(|v| v.to_string())
        .collect();
    let mut failure = (!problems.is_empty()).then(|| problems.join("; "));
    if x.body_status_is(&Status::Success) {
        let present = x
            .response
            .as_ref()
            .is_some_and(|r| r.failed_list() != FailedList::Absent);
        out.observations.push(Observation {
            topic: "failed-list-on-success",
            choice: if present { "present (empty)" } else { "absent" }.into(),
        });
        if !present && p.failed_list_on_success == ListOnSuccess::Required && failure.is_none() {
            failure = Some(
                "SUCCESS without failedProductList (policy failed-list-on-success = required)"
                    .into(),
            );
        }
    }
    out.verdicts.push(Verdict {
        check: CHECK.id,
        failure,
        shown_by: Vec::new(),
    });
}
