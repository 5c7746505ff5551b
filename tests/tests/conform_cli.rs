//! `stockwire conform` as a user runs it: the embedded mock by default, scripted defects, reports,
//! exit codes, --list-checks and replay.

use stockwire_tests::{fixture, stockwire};

#[test]
fn a_default_run_against_the_embedded_mock_is_clean_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("j.xml");
    let r = stockwire(&[
        "conform",
        "--seed",
        "9",
        "--cases",
        "60",
        "--quiet",
        "--latency-budget",
        "120s",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", junit.display()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("embedded stockwire-mock"), "{}", r.stdout);
    assert!(r.stdout.contains("Result: 0 checks failed"), "{}", r.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["seed"], 9);
    assert_eq!(report["summary"]["exit_code"], 0);
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
}

#[test]
fn a_scripted_defect_is_caught_then_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let scenario = stockwire_tests::root().join("fixtures/scenarios/demo.toml");
    let r = stockwire(&[
        "conform",
        "--target-scenario",
        scenario.to_str().unwrap(),
        "--seed",
        "2",
        "--cases",
        "60",
        "--quiet",
        "--latency-budget",
        "120s",
        "--report",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("reproduce: curl"), "{}", r.stdout);
    assert!(r.stdout.contains("\"apiKey: $APIKEY\""), "{}", r.stdout);
    assert!(!r.stdout.contains(stockwire_mock_password()));
    // Replaying against a correct partner (the embedded mock without the scenario): all fixed.
    let r = stockwire(&["conform", "replay", json.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("fixed"), "{}", r.stdout);
    assert!(!r.stdout.contains("still failing "), "{}", r.stdout);
    // Replaying against the same defect: still failing.
    let r = stockwire(&[
        "conform",
        "replay",
        json.to_str().unwrap(),
        "--target-scenario",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("still failing"), "{}", r.stdout);
}

fn stockwire_mock_password() -> &'static str {
    "demo-pass"
}

#[test]
fn an_unreachable_target_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let r = stockwire(&[
        "conform",
        "--target",
        &url,
        "--api-key",
        "k",
        "--cases",
        "5",
        "--quiet",
    ]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unreachable"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let r = stockwire(&["conform", "--checks", "no-such-check", "--quiet"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-check"));
    let r = stockwire(&["conform", "--report", "xml=out.xml", "--quiet"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = stockwire(&[
        "conform",
        "--config",
        fixture("conform/missing.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn list_checks_and_help_document_checks_and_exit_codes() {
    let r = stockwire(&["conform", "--list-checks"]);
    assert_eq!(r.code, 0);
    for id in [
        "http-200",
        "success-without-failures",
        "valid-item-accepted",
        "auth-no-effect",
        "idempotent",
        "latency-budget",
    ] {
        assert!(r.stdout.contains(id), "{id}: {}", r.stdout);
    }
    let r = stockwire(&["conform", "--help"]);
    assert!(
        r.stdout.contains("Exit codes:")
            && r.stdout
                .contains("3  unreachable, authentication failed, or nothing could be certified")
            && r.stdout.contains("the seller lists no")
            && r.stdout.contains("--throttle-budget"),
        "{}",
        r.stdout
    );
}
