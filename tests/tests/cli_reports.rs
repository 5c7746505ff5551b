//! Reports as CI and people meet them: the HTML page (self-contained, escaped partner text,
//! latency chart, failures with curl), failures grouped by cause, reports written when the run
//! cannot start (exit 2/3), and `conform replay` writing the same three reports.

use std::path::Path;

use stockwire_tests::{root, stockwire};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A run against the defective partner of `examples/ci/` (big batches get a 500 whose body holds
/// a `<script>`, every 4th request names a phantom item) with all three reports.
fn defective_run(dir: &Path) -> stockwire_tests::Run {
    let scenario = root().join("examples/ci/defective-partner.toml");
    stockwire(&[
        "conform",
        "--seed",
        "5",
        "--cases",
        "80",
        "--quiet",
        "--latency-budget",
        "120s",
        "--target-scenario",
        scenario.to_str().unwrap(),
        "--report",
        &format!("json={}", dir.join("r.json").display()),
        "--report",
        &format!("junit={}", dir.join("r.xml").display()),
        "--report",
        &format!("html={}", dir.join("r.html").display()),
    ])
}

#[test]
fn the_html_report_is_self_contained_and_shows_partner_text_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let r = defective_run(dir.path());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let html = read(&dir.path().join("r.html"));

    // Verdict and exit code come first, before any table.
    let verdict = html.find("id=\"verdict\"").expect("verdict");
    assert!(verdict < html.find("<table").unwrap());
    assert!(html.contains("exit code 1"), "verdict line");

    // The partner's <script> is shown escaped and never appears as markup.
    assert!(
        html.contains("&lt;script&gt;alert("),
        "escaped partner body"
    );
    assert!(!html.contains("<script>alert("), "partner script injected");
    // Exactly one script element: ours, for the copy buttons.
    assert_eq!(html.matches("<script").count(), 1);

    // Offline: nothing is fetched from elsewhere.
    for external in ["<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "external resource: {external}");
    }
    // Checks table, failures with request/response/curl and copy buttons, choices, chart, repeat.
    assert!(html.contains("id=\"checks\""));
    assert!(html.contains("id=\"failure-no-server-error\""));
    assert!(html.contains("class=\"curl\""));
    assert!(html.contains("button class=\"copy\""));
    assert!(html.contains("id=\"choices\""));
    let chart = &html[html.find("id=\"latency-chart\"").expect("chart")..];
    assert!(chart.contains("<svg") && chart.contains("p99 budget"));
    // The read-back (the embedded mock's ledger): what was read and how much.
    let rb = &html[html.find("id=\"read-back\"").expect("read-back table")..];
    assert!(
        rb.contains("cases read back") && rb.contains("every case"),
        "{rb}"
    );
    assert!(rb.contains("ledger at http://127.0.0.1:"), "{rb}");
    assert!(html.contains("--seed 5"), "repeat command");
    assert!(html.contains("stockwire-conform 0."), "versions");
}

#[test]
fn one_defect_is_one_cause_in_console_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let r = defective_run(dir.path());
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("r.json"))).unwrap();
    let causes = report["causes"].as_array().unwrap();
    let failed = report["failures"].as_array().unwrap().len();
    assert!(failed >= 3, "{failed} failures");
    assert!(causes.len() < failed, "{causes:?}");
    // The phantom entry breaks several checks: one cause lists them all.
    let phantom = causes
        .iter()
        .find(|c| {
            c["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|id| id == "failed-entry-was-sent")
        })
        .unwrap();
    assert!(
        phantom["checks"].as_array().unwrap().len() >= 2,
        "{phantom}"
    );
    // The big-batch 500 is recognised as "only requests above N items" (the rule says 60).
    let big = causes
        .iter()
        .find(|c| c["checks"][0] == "no-server-error")
        .unwrap();
    assert!(
        big["hints"][0]
            .as_str()
            .unwrap()
            .contains("only requests above 59 items"),
        "{big}"
    );
    // The per-check table stays next to the grouping.
    assert!(r.stdout.contains("Causes ("), "{}", r.stdout);
    assert!(r.stdout.contains("CHECK "), "{}", r.stdout);
    assert!(r.stdout.contains("hint: only requests above 59 items"));
    let html = read(&dir.path().join("r.html"));
    assert!(html.contains("<h2>Causes</h2>") && html.contains("hint: only requests above 59"));
}

#[test]
fn an_unreachable_target_still_writes_every_report_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("http://127.0.0.1:{port}");
    let r = stockwire(&[
        "conform",
        "--target",
        &target,
        "--quiet",
        "--report",
        &format!("json={}", dir.path().join("e.json").display()),
        "--report",
        &format!("junit={}", dir.path().join("e.xml").display()),
        "--report",
        &format!("html={}", dir.path().join("e.html").display()),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let json: serde_json::Value = serde_json::from_str(&read(&dir.path().join("e.json"))).unwrap();
    assert_eq!(json["error"]["kind"], "unreachable");
    assert_eq!(json["summary"]["exit_code"], 3);
    let junit = read(&dir.path().join("e.xml"));
    assert!(junit.contains("errors=\"1\""), "{junit}");
    assert!(junit.contains("<testcase name=\"run\""), "{junit}");
    assert!(
        junit.contains("<error message=\"target unreachable"),
        "{junit}"
    );
    let html = read(&dir.path().join("e.html"));
    assert!(html.contains("Not run: target unreachable") && html.contains("exit code 3"));
}

#[test]
fn refused_credentials_write_an_auth_failed_report() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, "seed = 1\n").unwrap();
    // The embedded mock with a wrong password: /authToken refuses, exit 3.
    let r = stockwire(&[
        "conform",
        "--target-scenario",
        scenario.to_str().unwrap(),
        "--username",
        "demo",
        "--password",
        "not-the-password",
        "--quiet",
        "--report",
        &format!("junit={}", dir.path().join("a.xml").display()),
        "--report",
        &format!("json={}", dir.path().join("a.json").display()),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let json: serde_json::Value = serde_json::from_str(&read(&dir.path().join("a.json"))).unwrap();
    assert_eq!(json["error"]["kind"], "auth-failed", "{json}");
    assert!(!read(&dir.path().join("a.json")).contains("not-the-password"));
    assert!(read(&dir.path().join("a.xml")).contains("type=\"auth-failed\""));
}

#[test]
fn replay_writes_the_same_three_reports() {
    let dir = tempfile::tempdir().unwrap();
    let first = defective_run(dir.path());
    assert_eq!(first.code, 1);
    let scenario = root().join("examples/ci/defective-partner.toml");
    let r = stockwire(&[
        "conform",
        "replay",
        dir.path().join("r.json").to_str().unwrap(),
        "--target-scenario",
        scenario.to_str().unwrap(),
        "--report",
        &format!("json={}", dir.path().join("p.json").display()),
        "--report",
        &format!("junit={}", dir.path().join("p.xml").display()),
        "--report",
        &format!("html={}", dir.path().join("p.html").display()),
    ]);
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.stdout, r.stderr);
    let json: serde_json::Value = serde_json::from_str(&read(&dir.path().join("p.json"))).unwrap();
    assert!(json["replay_of"].as_str().unwrap().ends_with("r.json"));
    assert_eq!(json["summary"]["exit_code"], r.code);
    // The replay report is a report: it reads back like one.
    let back: stockwire_conform::Report =
        serde_json::from_str(&read(&dir.path().join("p.json"))).unwrap();
    assert_eq!(back.checks.len(), json["checks"].as_array().unwrap().len());
    assert!(read(&dir.path().join("p.xml")).contains("<testsuites"));
    let html = read(&dir.path().join("p.html"));
    assert!(html.contains("stockwire conform replay") && html.contains("r.json"));
}

/// Without a catalog the HTML report lists, before the checks table, each check it could not
/// carry out in full, why, and how to provide what is missing.
#[test]
fn the_html_report_has_a_coverage_section_on_a_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let html_path = dir.path().join("c.html");
    let r = stockwire(&[
        "conform",
        "--seed",
        "3",
        "--cases",
        "30",
        "--quiet",
        "--latency-budget",
        "120s",
        "--no-discovery",
        "--catalog",
        empty.to_str().unwrap(),
        "--report",
        &format!("html={}", html_path.display()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let html = read(&html_path);
    let coverage = html.find("id=\"coverage\"").expect("coverage table");
    assert!(coverage < html.find("id=\"checks\"").expect("checks table"));
    let table = &html[coverage..];
    let table = &table[..table.find("</table>").expect("end of table")];
    assert!(
        table.contains("<code>valid-item-accepted</code>"),
        "{table}"
    );
    assert!(table.contains("without a catalog"), "{table}");
    assert!(table.contains("--item"), "{table}");
}
