//! `json-body`: a 200 response has a JSON body declared as application/json.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::client::http::Outcome;
use crate::model::vocabulary::Category;
use stockwire_schema::is_json_media_type;

/// The check.
pub const CHECK: Check = Check {
    id: "json-body",
    severity: Severity::Must,
    category: Category::Response,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "The page defines the response as a JSON payload; a caller cannot read any other body.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    let Outcome::Response(r) = x.outcome else {
        return;
    };
    if r.status != 200 {
        return;
    }
    let ct = r.content_type.as_deref().unwrap_or("");
    if x.json.is_none() {
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "HTTP 200 body is not JSON: {}",
                super::exchange::snippet(&r.body)
            ),
        ));
    } else if !is_json_media_type(ct) {
        out.verdicts.push(Verdict::fail(
            CHECK.id,
            format!(
                "HTTP 200 with a JSON body declared as `{}` instead of application/json (or a +json type)",
                if ct.is_empty() {
                    "(no Content-Type)"
                } else {
                    ct
                }
            ),
        ));
    } else {
        out.verdicts.push(Verdict::pass(CHECK.id));
    }
}

#[cfg(test)]
mod tests {
    use stockwire_schema::{InventoryResponse, ResponseBuilder};

    use super::*;

    fn judge(content_type: Option<&str>) -> Vec<Verdict> {
        let body = ResponseBuilder::from_model(&InventoryResponse::rejected())
            .build()
            .to_string();
        crate::checks::judge_answer(&CHECK, 200, content_type, &body)
    }

    /// The runner takes the same media types for JSON as the mock does.
    #[test]
    fn json_and_json_suffix_types_pass_others_fail() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.partner+JSON; charset=utf-8",
        ] {
            assert_eq!(judge(Some(ok)), vec![Verdict::pass(CHECK.id)], "{ok}");
        }
        for bad in [None, Some("text/plain"), Some("application/json-seq")] {
            let v = judge(bad);
            assert!(v[0].failure.is_some(), "{bad:?}");
        }
    }
}
