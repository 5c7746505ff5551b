//! Snapshot tests (insta) of what people read: the console summary, the JUnit report and the main
//! error messages. Ports, timings and latency figures are replaced by placeholders so the
//! snapshots only change when the wording or the findings change. Update with
//! `cargo insta review` (or `INSTA_UPDATE=always`).

use regex::Regex;
use stockwire_tests::{root, stockwire};

/// Replaces what differs between two identical runs: ports, durations, rates, latency figures.
fn stable(text: &str) -> String {
    let rules = [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (
            r"\d+ requests in [\d.]+ s \([^)]*\)",
            "N requests in T s (RATES)",
        ),
        (r"after \d+ ms", "after T ms"),
        (r#"time="[\d.]+""#, r#"time="T""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="T""#),
        (r"/tmp/[^\s:]+", "TMP"),
        (r"os error \d+", "os error N"),
        // Latency table rows: bucket and count stay, the figures go.
        (
            r"(?m)^(  \S+\s+\d+)(\s+[\d.]+){5}$",
            "$1   p50 p90 p99 max budget",
        ),
    ];
    // The checkout's own paths first, so a clone under /tmp is not taken for a temp file.
    let mut s = text.replace(&root().join("examples").display().to_string(), "examples");
    for (re, to) in rules {
        s = Regex::new(re).unwrap().replace_all(&s, to).into_owned();
    }
    s
}

fn defective(extra: &[&str]) -> stockwire_tests::Run {
    let scenario = root().join("examples/ci/defective-partner.toml");
    let scenario = scenario.to_str().unwrap();
    let mut args = vec![
        "conform",
        "--seed",
        "5",
        "--cases",
        "40",
        "--concurrency",
        "1",
        "--quiet",
        "--latency-budget",
        "120s",
        "--target-scenario",
        scenario,
    ];
    args.extend_from_slice(extra);
    stockwire(&args)
}

#[test]
fn console_summary() {
    let r = defective(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let text = stable(&r.stdout);
    insta::assert_snapshot!("console_summary", text);
}

#[test]
fn junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.xml");
    let r = defective(&["--report", &format!("junit={}", path.display())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let xml = std::fs::read_to_string(&path).unwrap();
    let xml = stable(&xml);
    insta::assert_snapshot!("junit_report", xml);
}

#[test]
fn main_error_messages() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("http://127.0.0.1:{free_port}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "target unreachable",
            vec!["conform", "--target", &unreachable, "--quiet"],
        ),
        (
            "authentication refused",
            vec![
                "conform",
                "--username",
                "demo",
                "--password",
                "wrong",
                "--target-scenario",
                "examples/ci/defective-partner.toml",
                "--quiet",
            ],
        ),
        (
            "bad target URL",
            vec!["conform", "--target", "ftp://partner.example", "--quiet"],
        ),
        (
            "bad report spec",
            vec!["conform", "--report", "pdf=out.pdf", "--quiet"],
        ),
        (
            "malformed header",
            vec!["conform", "--header", "X-Token", "--quiet"],
        ),
        (
            "missing CA file",
            vec!["conform", "--cacert", "no/such/ca.pem", "--quiet"],
        ),
        (
            "unknown check",
            vec!["conform", "--checks", "no-such-check", "--quiet"],
        ),
    ];
    let mut out = String::new();
    for (name, args) in cases {
        let r = stockwire(&args);
        out.push_str(&format!(
            "## {name} (exit {})\n{}\n",
            r.code,
            stable(&r.stderr).trim_end()
        ));
    }
    insta::assert_snapshot!("main_error_messages", out);
}
