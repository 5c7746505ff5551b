//! `no-stack-trace`: no body carries a stack trace (Node, Java, Python, .NET, PHP, Go or Rust):
//! it leaks the partner's internals (paths, libraries, versions) and tells the caller nothing.
//!
//! The body is scanned as sent and, when it is JSON, each of its strings decoded (a trace kept
//! in a `"stack"` member has its line breaks escaped). Scanning is bounded: at most
//! [`MAX_SCAN`] bytes of each text, with the `regex` crate's patterns, which run in time linear
//! in the text (no backtracking).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::client::http::Outcome;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "no-stack-trace",
    severity: Severity::Should,
    category: Category::Robustness,
    eval: Eval::Exchange {
        stage: Stage::Answered,
        judge: evaluate,
    },
    rationale: "A stack trace in an answer leaks the partner's code, paths and libraries to every caller, and tells the caller nothing it can act on.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

/// The most bytes of one text (the body, or one of its JSON strings) scanned.
pub const MAX_SCAN: usize = 256 * 1024;

/// The characters of a matching line quoted in a message.
const QUOTE_CHARS: usize = 160;

/// The stack-trace patterns, each with the language whose runtime writes it: a frame line, or
/// the header only a trace has. None matches a message that merely names a file or a line.
const PATTERNS: &[(&str, &str)] = &[
    // Node: `at fn (/app/x.js:10:15)`, `at /app/x.js:10:15`, `at node:internal/…:95:5`.
    (
        "Node",
        r"\bat (?:async )?(?:new )?[^\s()]+(?: \[as [^\]\n]+\])? \((?:/|file:|node:|[A-Za-z]:\\)[^()\n]*:\d+:\d+\)",
    ),
    (
        "Node",
        r"\bat (?:async )?(?:/|file:///|node:)[^\s()]+:\d+:\d+",
    ),
    // Java (and the JVM's other languages): `at com.acme.X.update(X.java:57)`.
    (
        "Java",
        r"\bat (?:[\w$.-]+/)?(?:[\w$]+\.)+[\w$<>]+\((?:[\w$-]+\.(?:java|kt|scala|groovy|clj):\d+|Native Method|Unknown Source)\)",
    ),
    // Python: the traceback header and its frames.
    ("Python", r"Traceback \(most recent call last\):"),
    ("Python", r#"File "[^"\n]+", line \d+, in [\w<>.]+"#),
    // .NET: `at Ns.Type.Method(args) in C:\…\X.cs:line 57`, framework frames, the separator.
    (
        ".NET",
        r"\bat [\w.`+<>\[\],]+\([^()\n]*\) in [^\n]+:line \d+",
    ),
    (
        ".NET",
        r"\bat (?:System|Microsoft)\.[\w.`+<>\[\]]+\([^()\n]*\)",
    ),
    (".NET", r"--- End of stack trace from previous location"),
    // PHP: `#0 /var/www/x.php(41): f()`, `#1 {main}`.
    ("PHP", r"#\d+ (?:[^\s(]+\.php\(\d+\): |\{main\})"),
    ("PHP", r"PHP Stack trace:"),
    // Go: `goroutine 42 [running]:` and `\t/x/store.go:57 +0x1f4`.
    ("Go", r"goroutine \d+ \[[^\]\n]+\]:"),
    ("Go", r"\.go:\d+ \+0x[0-9a-f]+"),
    // Rust: `thread 'main' panicked at src/x.rs:57:38`, backtrace frames.
    ("Rust", r"thread '[^'\n]*' panicked at "),
    ("Rust", r"\bat [^\s()]+\.rs:\d+:\d+"),
];

/// The compiled patterns (each a linear-time automaton), with their language.
static COMPILED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .filter_map(|(lang, p)| Regex::new(p).ok().map(|r| (*lang, r)))
        .collect()
});

/// The first stack-trace line in `text` (its first [`MAX_SCAN`] bytes): the language and the
/// whole line the pattern matched in.
pub fn find_trace(text: &str) -> Option<(&'static str, &str)> {
    let mut end = text.len().min(MAX_SCAN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    COMPILED
        .iter()
        .filter_map(|(lang, re)| re.find(text).map(|m| (m.start(), m.end(), *lang)))
        .min_by_key(|(start, _, _)| *start)
        .map(|(start, stop, lang)| {
            let from = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let to = text[stop..].find('\n').map_or(text.len(), |i| stop + i);
            (lang, text[from..to].trim())
        })
}

/// The strings of a JSON value, depth-first (serde_json bounds the depth it parses).
fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Judges every answer's body, whatever its status.
fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    let Outcome::Response(r) = x.outcome else {
        return;
    };
    let mut texts: Vec<&str> = Vec::new();
    if let Some(j) = &x.json {
        strings(j, &mut texts);
    }
    texts.push(&r.body);
    let found = texts.iter().find_map(|t| find_trace(t));
    out.verdicts.push(match found {
        None => Verdict::pass(CHECK.id),
        Some((lang, line)) => Verdict::fail(
            CHECK.id,
            format!(
                "HTTP {} body carries a {lang} stack trace: {}",
                r.status,
                crate::text::elide(line, QUOTE_CHARS)
            ),
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/stack-traces")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(COMPILED.len(), PATTERNS.len());
    }

    /// A real trace of each language is found, as text and inside a JSON string.
    #[test]
    fn real_traces_of_seven_languages_are_found() {
        for (file, lang) in [
            ("node.txt", "Node"),
            ("java.txt", "Java"),
            ("python.txt", "Python"),
            ("dotnet.txt", ".NET"),
            ("php.txt", "PHP"),
            ("go.txt", "Go"),
            ("rust.txt", "Rust"),
        ] {
            let text = fixture(file);
            let (got, line) = find_trace(&text).unwrap_or_else(|| panic!("{file}: not found"));
            assert_eq!(got, lang, "{file}: {line}");
            assert!(text.lines().any(|l| l.trim() == line), "{file}: {line}");
            // The same trace in a JSON error body (line breaks escaped).
            let body = serde_json::json!({"message": "Internal error", "stack": text}).to_string();
            assert!(!body.contains('\n'));
            let json: Value = serde_json::from_str(&body).unwrap_or_default();
            let mut t = Vec::new();
            strings(&json, &mut t);
            assert!(t.iter().any(|s| find_trace(s).is_some()), "{file} in JSON");
        }
    }

    /// Ordinary error messages, paths without frames and gateway pages raise no alarm.
    #[test]
    fn ordinary_error_messages_raise_no_alarm() {
        let text = fixture("ordinary.txt");
        for line in text.lines().filter(|l| !l.is_empty()) {
            assert_eq!(find_trace(line), None, "{line}");
        }
        assert_eq!(find_trace(&text), None);
    }

    /// The scan is bounded: a trace past [`MAX_SCAN`] bytes is not looked for, and a large
    /// hostile body (no line breaks, many near-matches) is scanned once per pattern.
    #[test]
    fn scanning_is_bounded() {
        let late = format!("{}\n{}", "x".repeat(MAX_SCAN), fixture("java.txt"));
        assert_eq!(find_trace(&late), None);
        let hostile = "at a.b(c.java:".repeat(100_000);
        assert_eq!(find_trace(&hostile), None);
        let cut = format!("{}é", "y".repeat(MAX_SCAN - 1));
        assert_eq!(find_trace(&cut), None);
    }

    #[test]
    fn the_matching_line_is_quoted_safely() {
        let request = crate::client::http::HttpRequest::post(
            "http://x/updateInventory",
            vec![],
            String::new(),
        );
        let class = crate::checks::classify::classify(
            &request,
            &crate::checks::classify::ClassifyContext {
                profile: stockwire_schema::Profile::V1,
                catalog: Vec::new(),
                auth_configured: false,
                policies: crate::model::policies::Policies::default(),
            },
        );
        let outcome = Outcome::Response(crate::client::http::HttpResponse {
            status: 500,
            content_type: Some("text/plain".into()),
            body: "Error\n    at Object.<anonymous> (/app/x.js:1:2)\u{1b}[2J\nmore".into(),
            elapsed_ms: 1.0,
            throttled: false,
            expired: false,
        });
        let x = Exchange::new(stockwire_schema::Profile::V1, &request, &class, &outcome);
        let mut out = Out::default();
        let policies = crate::model::policies::Policies::default();
        evaluate(
            &x,
            &Ctx {
                check: &CHECK,
                policies: &policies,
            },
            &mut out,
        );
        let m = out.verdicts[0].failure.as_deref().unwrap_or_default();
        assert_eq!(
            m,
            "HTTP 500 body carries a Node stack trace: \"at Object.<anonymous> (/app/x.js:1:2)\\u{1b}[2J\""
        );
    }
}
