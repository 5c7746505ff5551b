//! `stockwire mock` from the command line: help, the banner's curl example, verify, check.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use stockwire_tests::{fixture, root, stockwire, stockwire_bin};

#[test]
fn help_lists_the_flags_and_the_recipe() {
    let r = stockwire(&["mock", "--help"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for flag in [
        "--port",
        "--bind",
        "--profile",
        "--catalog",
        "--scenario",
        "--no-auth",
        "--log-requests",
        "--watch",
        "--seller",
        "--threads",
        "verify",
    ] {
        assert!(r.stdout.contains(flag), "missing {flag}");
    }
    assert!(r.stdout.contains("every = 3"));
}

#[test]
fn a_thread_count_outside_1_to_256_is_refused_naming_the_flag() {
    for bad in ["0", "257", "two"] {
        let r = stockwire(&["mock", "--port", "0", "--threads", bad]);
        assert_eq!(r.code, 2, "--threads {bad}: {}", r.stderr);
        assert!(r.stderr.contains("--threads"), "{}", r.stderr);
    }
}

#[test]
fn a_token_cap_below_one_is_refused_naming_the_flag() {
    for bad in ["0", "many"] {
        let r = stockwire(&["mock", "--port", "0", "--max-tokens-per-seller", bad]);
        assert_eq!(r.code, 2, "--max-tokens-per-seller {bad}: {}", r.stderr);
        assert!(r.stderr.contains("--max-tokens-per-seller"), "{}", r.stderr);
    }
}

#[test]
fn check_applies_the_scenario_caps_and_names_the_flag() {
    let demo = stockwire_tests::fixture("scenarios/demo.toml");
    let r = stockwire(&[
        "mock",
        "check",
        demo.to_str().unwrap(),
        "--max-scenario-rules",
        "1",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--max-scenario-rules raises it"),
        "{}",
        r.stderr
    );
    let r = stockwire(&[
        "mock",
        "check",
        demo.to_str().unwrap(),
        "--max-scenario-bytes",
        "64",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("larger than 64 bytes"), "{}", r.stderr);
    let r = stockwire(&["mock", "check", demo.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn check_reads_every_fixture_and_refuses_bad_ones() {
    let r = stockwire(&[
        "mock",
        "check",
        fixture("scenarios/demo.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("sku-x-mismatch"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[rules]]\neffect = { stauts = 500 }\n").unwrap();
    let r = stockwire(&["mock", "check", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown field"), "{}", r.stderr);
}

/// Starts `stockwire mock --port 0`, reads the banner, pastes its curl example (sent by a
/// small client here: the command is checked to be the one printed), verifies, and stops it
/// with SIGTERM.
#[test]
fn the_banner_prints_a_working_example_and_verify_answers() {
    let mut child = Command::new(stockwire_bin())
        .args(["mock", "--port", "0", "--log-requests"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let done = l.starts_with("Ctrl-C");
        banner.push(l);
        if done {
            break;
        }
    }
    let text = banner.join("\n");
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    assert!(text.contains("username demo, password demo-pass"), "{text}");
    let curl = banner
        .iter()
        .find(|l| l.trim_start().starts_with("curl -s -X POST"))
        .unwrap();
    let has_curl = Command::new("sh")
        .args(["-c", "command -v curl"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if has_curl {
        let out = Command::new("sh")
            .args(["-c", curl.trim()])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"], "PARTIAL_SUCCESS");
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let token = curl
            .split("apiKey: ")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        let body = serde_json::to_value(stockwire_mock::demo::example_request(
            stockwire_schema::Profile::V1,
        ))
        .unwrap();
        let r = rt.block_on(stockwire_tests::http::update(&url, Some(token), &body));
        assert_eq!(r.json()["status"], "PARTIAL_SUCCESS");
    }
    let r = stockwire(&[
        "mock",
        "verify",
        "--url",
        &url,
        "--stock",
        "TSHIRT-001/TSHIRT-001-M=7",
        "--was-set",
        "TSHIRT-001/TSHIRT-001-M=7",
        "--requests",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = stockwire(&[
        "mock",
        "verify",
        "--url",
        &url,
        "--stock",
        "SKU-X/SKU-X-1=0",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("expected 0, found 3"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut stopped = false;
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success());
            stopped = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !stopped {
        let _ = child.kill();
        panic!("stockwire mock did not stop on SIGTERM");
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("POST /updateInventory seller=demo"),
        "--log-requests: {err}"
    );
    let r = stockwire(&["mock", "verify", "--url", &url, "--requests", "1"]);
    assert_eq!(r.code, 3, "unreachable once stopped");
}
