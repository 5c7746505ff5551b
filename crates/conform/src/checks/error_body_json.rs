//! `error-body-json`: an error answer (4xx or 5xx) carries a JSON body, so the caller can read
//! why; an HTML error page or plain text gives it nothing to parse.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::client::http::Outcome;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "error-body-json",
    severity: Severity::Should,
    category: Category::Response,
    eval: Eval::Exchange {
        stage: Stage::Answered,
        judge: evaluate,
    },
    rationale: "The caller reads why a request failed from the body; an HTML error page or plain text gives it nothing to parse.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

/// Judges an answer with a 4xx or 5xx status: its body must be JSON (an empty body is not).
fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    let Outcome::Response(r) = x.outcome else {
        return;
    };
    if !(400..=599).contains(&r.status) {
        return;
    }
    if x.json.is_some() {
        out.verdicts.push(Verdict::pass(CHECK.id));
        return;
    }
    let declared = r
        .content_type
        .as_deref()
        .map_or("no Content-Type".to_string(), |c| {
            format!("declared `{}`", crate::text::escape(c))
        });
    let body = if r.body.trim().is_empty() {
        "an empty body".to_string()
    } else {
        format!("body {}", crate::text::elide(&r.body, 120))
    };
    out.verdicts.push(Verdict::fail(
        CHECK.id,
        format!(
            "HTTP {} error answer is not JSON ({declared}): {body}",
            r.status
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(status: u16, content_type: Option<&str>, body: &str) -> Vec<Verdict> {
        crate::checks::judge_answer(&CHECK, status, content_type, body)
    }

    #[test]
    fn json_error_bodies_pass_and_others_fail() {
        let json = "{\"status\":\"FAILED\",\"failedProductList\":[]}";
        assert_eq!(
            judge(400, Some("application/json"), json),
            vec![Verdict::pass(CHECK.id)]
        );
        assert_eq!(
            judge(500, None, "{\"message\":\"Product not found\"}"),
            vec![Verdict::pass(CHECK.id)]
        );
        // Not an error answer: not judged.
        assert!(judge(200, Some("text/plain"), "ok").is_empty());
        assert!(judge(302, Some("text/html"), "<a>moved</a>").is_empty());
        let v = judge(
            500,
            Some("text/html"),
            "<html><body><h1>Error</h1>\u{1b}[31m</body></html>",
        );
        let m = v[0].failure.as_deref().unwrap_or_default();
        assert!(
            m.starts_with("HTTP 500 error answer is not JSON (declared `text/html`)"),
            "{m}"
        );
        assert!(m.contains("\\u{1b}") && !m.contains('\u{1b}'), "{m}");
        let v = judge(401, None, "");
        assert_eq!(
            v[0].failure.as_deref(),
            Some("HTTP 401 error answer is not JSON (no Content-Type): an empty body")
        );
    }
}
