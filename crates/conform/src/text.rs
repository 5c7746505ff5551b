//! Showing text that comes from a partner or a user's command: control characters escaped (so a
//! body, header or probe output cannot move the cursor, clear the screen or fake a line),
//! long text clipped, and an HTTP outcome on one line. The console, the JUnit report, the stock
//! probe's error messages and the restore's messages all show such text; this module uses only
//! the HTTP outcome type, so each of them can use it without reaching another.

use crate::client::http::Outcome;

/// `s` with every control character (C0, DEL, C1, and the bidirectional overrides) shown as
/// an escape such as `\u{1b}`, so a partner's body or header cannot move the cursor, clear the
/// screen or fake a line of the summary.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` escaped, or, when longer than `n` characters, its first `n` and its length:
/// `"xxxx…" (3,117 chars)`. For values in console lines and messages; reports keep them whole.
pub fn elide(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return format!("\"{}\"", escape(s));
    }
    let t: String = s.chars().take(n).collect();
    format!("\"{}…\" ({} chars)", escape(&t), thousands(count))
}

/// `text` (a JSON body, or a command that carries one) with every double-quoted string longer
/// than `n` characters elided as `"xxxx…" (3,117 chars)`, for the console; the reports keep
/// values whole.
pub fn elide_strings(text: &str, n: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..];
        // The closing quote: the first one not escaped by a backslash.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[open..]);
            return out;
        };
        let value = &inner[..end];
        let count = value.chars().count();
        if count > n {
            let head: String = value.chars().take(n).collect();
            out.push_str(&format!("\"{head}…\" ({} chars)", thousands(count)));
        } else {
            out.push('"');
            out.push_str(value);
            out.push('"');
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A count with thousands separators: `3,117`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first `n` characters of `s`, escaped (see [`escape`]).
pub(crate) fn clip(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        escape(s)
    } else {
        let t: String = s.chars().take(n).collect();
        format!(
            "{}… ({} more characters; full text in the JSON report)",
            escape(&t),
            count - n
        )
    }
}

/// An outcome in words, unescaped: its head (`HTTP 200 application/json`, or the transport
/// failure with its time and message) and the response body, if any. Each output lays the two
/// out and escapes them for its medium.
pub fn outcome_parts(o: &Outcome) -> (String, Option<&str>) {
    match o {
        Outcome::Response(r) => (
            format!(
                "HTTP {} {}",
                r.status,
                r.content_type.as_deref().unwrap_or("(no content-type)")
            ),
            Some(r.body.as_str()),
        ),
        Outcome::Failure {
            failure,
            message,
            elapsed_ms,
        } => (
            format!("{failure:?} after {elapsed_ms:.0} ms: {message}"),
            None,
        ),
    }
}

/// One line describing an outcome: its head and its body clipped, escaped.
pub fn outcome_line(o: &Outcome) -> String {
    let (head, body) = outcome_parts(o);
    one_line(&head, body)
}

/// An outcome's head and body (see [`outcome_parts`]) on one line: escaped, the body clipped.
pub(crate) fn one_line(head: &str, body: Option<&str>) -> String {
    match body {
        Some(b) => format!("{} {}", escape(head), clip(b, 600)),
        None => escape(head),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_elided_with_their_length() {
        let long = "x".repeat(3117);
        let body = format!("{{\"productId\":\"{long}\",\"variantId\":\"V-1\",\"q\":\"a\\\"b\"}}");
        let shown = elide_strings(&body, 10);
        assert_eq!(
            shown,
            "{\"productId\":\"xxxxxxxxxx…\" (3,117 chars),\"variantId\":\"V-1\",\"q\":\"a\\\"b\"}"
        );
        assert_eq!(elide_strings("no quotes", 4), "no quotes");
        assert_eq!(elide_strings("open \"quote", 2), "open \"quote");
        assert_eq!(elide("abc", 40), "\"abc\"");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
