//! `json-body`: a 200 response has a JSON body declared as application/json.

use stockwire_schema::Severity;

use super::{Category, Check, Exchange, Kind, Verdict};
use crate::http::Outcome;
use stockwire_schema::is_json_media_type;

/// The check.
pub const CHECK: Check = Check {
    id: "json-body",
    severity: Severity::Must,
    category: Category::Response,
    kind: Kind::Exchange,
    needs: &[],
    rationale: "The page defines the response as a JSON payload; a caller cannot read any other body.",
};

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    let Outcome::Response(r) = x.outcome else {
        return;
    };
    if r.status != 200 {
        return;
    }
    let ct = r.content_type.as_deref().unwrap_or("");
    if x.json.is_none() {
        out.push(Verdict::fail(
            CHECK.id,
            format!("HTTP 200 body is not JSON: {}", super::snippet(&r.body)),
        ));
    } else if !is_json_media_type(ct) {
        out.push(Verdict::fail(
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
        out.push(Verdict::pass(CHECK.id));
    }
}
