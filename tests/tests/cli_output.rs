//! Output for scripts and shells: a closed pipe ends every command quietly, `--format json`
//! documents match their published schemas, completions and the man page come from the clap
//! definitions, and `mock --ready-file` tells a script when the mock listens.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use stockwire_tests::{fixture, root, stockwire, stockwire_bin};

/// Runs `stockwire ARGS` with its standard output closed before it writes: it must exit 0 and
/// say nothing (no panic, no "Broken pipe").
fn closed_pipe(args: &[&str]) {
    let mut child = Command::new(stockwire_bin())
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("wrote ")) // report files are still written
        .collect();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr:?}");
    assert!(stderr.is_empty(), "{args:?}: {stderr:?}");
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    let request = fixture("requests/good/v1-two-items.json");
    let request = request.to_str().unwrap();
    let scenario = fixture("scenarios/demo.toml");
    let page = fixture("spec/updateinventory.md");
    for args in [
        &["mock", "scenario-schema"][..],
        &["mock", "check", scenario.to_str().unwrap()],
        &["schema", "rules"],
        &["schema", "show", "--part", "response"],
        &["schema", "openapi"],
        &["schema", "derive", page.to_str().unwrap()],
        &["schema", "validate", "--request", request],
        &[
            "schema",
            "validate",
            "--request",
            request,
            "--format",
            "json",
        ],
        &["conform", "--list-checks"],
        &["conform", "--list-checks", "--format", "json"],
        &[
            "conform",
            "--seed",
            "1",
            "--cases",
            "10",
            "--quiet",
            "--latency-budget",
            "120s",
        ],
        &["completions", "bash"],
        &["man"],
    ] {
        closed_pipe(args);
    }
}

fn validate_against(schema_file: &str, doc: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(schema_file)).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema_file}: {errors:?}\n{doc}");
}

#[test]
fn list_checks_json_follows_its_schema_and_matches_the_text_list() {
    let r = stockwire(&["conform", "--list-checks", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    validate_against("schemas/list-checks.schema.json", &doc);
    let text = stockwire(&["conform", "--list-checks"]).stdout;
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let json_ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, json_ids);
}

#[test]
fn schema_validate_json_follows_its_schema() {
    let r = stockwire(&[
        "schema",
        "validate",
        "--format",
        "json",
        "--request",
        fixture("requests/good/v1-two-items.json").to_str().unwrap(),
        "--response",
        fixture("responses/bad/success-with-failure.json")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    validate_against("schemas/schema-validate.schema.json", &doc);
    assert_eq!(doc["violations"][0]["kind"], "semantic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_verify_format_json_and_its_json_alias_follow_the_schema() {
    let m = stockwire_mock::MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    let url = m.url();
    let base = ["mock", "verify", "--url", url.as_str(), "--requests", "0"];
    let a = tokio::task::block_in_place(|| stockwire(&[&base[..], &["--format", "json"]].concat()));
    let b = tokio::task::block_in_place(|| stockwire(&[&base[..], &["--json"]].concat()));
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    let doc: serde_json::Value = serde_json::from_str(&a.stdout).unwrap();
    validate_against("schemas/mock-verify.schema.json", &doc);
    assert_eq!(doc["ok"], true);
    let text = tokio::task::block_in_place(|| stockwire(&base));
    assert!(text.stdout.starts_with("ok "), "{}", text.stdout);

    // Per-call questions: the count read, the listing pulled to its end, requests per call.
    let key = m.token("demo").unwrap();
    let h = [("apiKey", key.as_str())];
    for path in [
        "/productsCount?publishedStatus=PUBLISHED",
        "/products?pageNumber=1&pageSize=50&publishedStatus=PUBLISHED",
    ] {
        let r = stockwire_tests::http::send(&url, "GET", path, &h, b"")
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{path}");
    }
    let per_call = [
        "mock",
        "verify",
        "--url",
        url.as_str(),
        "--count-read",
        "--listing-pulled",
        "--requests",
        "products=1",
        "--min-requests",
        "productsCount=1",
        "--requests",
        "0",
        "--json",
    ];
    let c = tokio::task::block_in_place(|| stockwire(&per_call));
    assert_eq!(c.code, 0, "{}{}", c.stdout, c.stderr);
    let doc: serde_json::Value = serde_json::from_str(&c.stdout).unwrap();
    validate_against("schemas/mock-verify.schema.json", &doc);
    assert_eq!(doc["results"].as_array().unwrap().len(), 5);
    assert_eq!(doc["results"][4]["actual"]["end"], 1);
    let wrong = tokio::task::block_in_place(|| {
        stockwire(&[
            "mock",
            "verify",
            "--url",
            url.as_str(),
            "--requests",
            "products=x",
        ])
    });
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("CALL=N"), "{}", wrong.stderr);
}

#[test]
fn completions_and_the_man_page_come_from_the_clap_definitions() {
    for (shell, marker) in [
        ("bash", "complete -F _stockwire"),
        ("zsh", "#compdef stockwire"),
        ("fish", "complete -c stockwire"),
    ] {
        let r = stockwire(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}");
        // Flags from every subcommand are known to the shell.
        assert!(r.stdout.contains("list-checks"), "{shell}");
        assert!(r.stdout.contains("ready-file"), "{shell}");
    }
    let r = stockwire(&["completions", "powershell-of-doom"]);
    assert_eq!(r.code, 2);
    let man = stockwire(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.starts_with(".ie") || man.stdout.contains(".TH stockwire 1"));
    assert!(man.stdout.contains("conform") && man.stdout.contains("Exit codes"));
}

#[test]
fn mock_ready_file_appears_once_the_mock_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mut child = Command::new(stockwire_bin())
        .args([
            "mock",
            "--port",
            "0",
            "--no-scenario",
            "--ready-file",
            ready.to_str().unwrap(),
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = None;
    for _ in 0..400 {
        if let Ok(s) = std::fs::read_to_string(&ready) {
            url = Some(s.trim().to_string());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let url = url.expect("ready file never appeared");
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /__admin/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn the_release_profile_drops_debug_info_but_keeps_symbols_and_profiling_has_it_all() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let release = &manifest["profile"]["release"];
    // Debug line tables made the binary ~100 MB; without them it is ~22 MB.
    assert_eq!(release["debug"].as_bool(), Some(false));
    // Only debug info is stripped: function names stay for perf and backtraces.
    assert_eq!(release["strip"].as_str(), Some("debuginfo"));
    let profiling = &manifest["profile"]["profiling"];
    assert_eq!(profiling["inherits"].as_str(), Some("release"));
    assert_eq!(profiling["debug"].as_bool(), Some(true));
    assert_eq!(profiling["strip"].as_str(), Some("none"));
}
