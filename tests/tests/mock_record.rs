//! Record mode against a local partner: answers are forwarded as the partner gave them, and
//! the recording replays the partner's failures, statuses and latency without any secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::scenario::{Delay, Pattern};
use stockwire_mock::{MockMarketplace, Scenario};
use stockwire_schema::Catalog;
use stockwire_tests::http::{send, update};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "partner-secret-token-8842";
const PASSWORD: &str = "hunter2-pass";

/// A partner with quirks: every 4th update is a 503 (Retry-After 7), BAD-* items are unknown,
/// FLAKY fails every other time, and LEAKY's message echoes the caller's token.
async fn partner() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "accessToken": TOKEN})),
        )
        .mount(&server)
        .await;
    let n = Arc::new(AtomicU64::new(0));
    let flaky = Arc::new(AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path("/updateInventory"))
        .respond_with(move |req: &Request| {
            let k = n.fetch_add(1, Ordering::SeqCst) + 1;
            if k.is_multiple_of(4) {
                return ResponseTemplate::new(503)
                    .insert_header("retry-after", "7")
                    .set_body_json(json!({"status": "FAILED", "message": "maintenance"}));
            }
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let key = req
                .headers
                .get("apikey")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let items = body["inventoryList"].as_array().unwrap();
            let mut failed = Vec::new();
            for it in items {
                let p = it["productId"].as_str().unwrap();
                let msg = if p.starts_with("BAD-") {
                    Some("Variant not found".to_string())
                } else if p == "FLAKY" && flaky.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    Some("Temporary error".to_string())
                } else if p == "LEAKY" {
                    Some(format!("apiKey {key} may not update LEAKY"))
                } else {
                    None
                };
                if let Some(m) = msg {
                    failed
                        .push(json!({"productId": p, "variantId": it["variantId"], "message": m}));
                }
            }
            let status = if failed.is_empty() {
                "SUCCESS"
            } else if failed.len() == items.len() {
                "FAILED"
            } else {
                "PARTIAL_SUCCESS"
            };
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(20))
                .set_body_json(json!({"status": status, "failedProductList": failed}))
        })
        .mount(&server)
        .await;
    server
}

fn batch(round: i64) -> Value {
    json!({"inventoryList": [
        {"productId": "OK-1", "variantId": "V", "inventory": round},
        {"productId": "BAD-1", "variantId": "V", "inventory": round},
        {"productId": "FLAKY", "variantId": "V", "inventory": round},
        {"productId": "LEAKY", "variantId": "V", "inventory": round},
    ]})
}

#[tokio::test]
async fn recording_a_partner_replays_its_quirks_without_secrets() {
    let partner = partner().await;
    let dir = tempfile::tempdir().unwrap();
    let m = MockMarketplace::builder()
        .record(partner.uri(), dir.path())
        .start()
        .await
        .unwrap();
    let login = send(
        &m.url(),
        "GET",
        &format!("/authToken?username=acme&password={PASSWORD}"),
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(
        login.json()["accessToken"],
        TOKEN,
        "the partner's answer, forwarded"
    );
    let mut statuses = Vec::new();
    for round in 0..8 {
        let r = update(&m.url(), Some(TOKEN), &batch(round)).await;
        if r.status == 503 {
            assert_eq!(r.header("retry-after"), Some("7"));
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 503, 200, 200, 200, 503]);
    let summary = m.finish_recording().unwrap().unwrap();
    assert_eq!((summary.requests, summary.items), (8, 4));

    let text = std::fs::read_to_string(&summary.scenario).unwrap()
        + &std::fs::read_to_string(&summary.catalog).unwrap();
    for secret in [TOKEN, PASSWORD] {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked into the recording:\n{text}"
        );
    }
    assert!(text.contains("apiKey *** may not update LEAKY"), "{text}");

    // The recording is a valid scenario and catalog with the observed frequencies.
    let s = Scenario::read(&summary.scenario).unwrap();
    let rule = |name: &str| {
        s.rules
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no rule {name} in {:#?}", s.rules))
    };
    let r503 = rule("recorded-status-503");
    assert_eq!(
        (r503.effect.status, r503.effect.retry_after),
        (Some(503), Some(7))
    );
    assert_eq!(r503.when.probability, Some(0.25));
    let bad = rule("recorded-BAD-1-V");
    assert_eq!(bad.when.product_id, Some(Pattern::Exact("BAD-1".into())));
    assert_eq!(bad.when.probability, None, "BAD-1 failed every time");
    assert_eq!(rule("recorded-FLAKY-V").when.probability, Some(0.5));
    match &rule("recorded-latency").effect.delay {
        Some(Delay::Percentiles(p)) => {
            let p50 = humantime::parse_duration(&p.p50).unwrap();
            assert!(p50 >= Duration::from_millis(20), "{p:?}");
        }
        other => panic!("latency: {other:?}"),
    }
    let catalog = Catalog::read(&summary.catalog).unwrap();
    assert_eq!(catalog.len(), 4);
    assert_eq!(
        catalog
            .entries
            .iter()
            .find(|e| e.product_id == "OK-1")
            .unwrap()
            .stock,
        Some(6),
        "the last stock the partner accepted (round 7 was a 503)"
    );

    // Replayed offline, BAD-1 fails the same way.
    let replay = MockMarketplace::builder()
        .scenario(s)
        .catalog(catalog)
        .no_auth()
        .start()
        .await
        .unwrap();
    let mut saw_bad = false;
    for round in 0..8 {
        let r = update(&replay.url(), None, &batch(round)).await;
        if r.status == 200 {
            let v = r.json();
            let bad: Vec<&Value> = v["failedProductList"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["productId"] == "BAD-1")
                .collect();
            assert_eq!(bad.len(), 1, "{v}");
            assert_eq!(bad[0]["message"], "Variant not found");
            saw_bad = true;
        } else {
            assert_eq!(r.status, 503);
        }
    }
    assert!(saw_bad);
}

#[tokio::test]
async fn a_partner_that_is_down_gets_a_502_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let m = MockMarketplace::builder()
        .record(format!("http://{addr}"), dir.path())
        .start()
        .await
        .unwrap();
    let r = update(&m.url(), Some("k"), &batch(1)).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains("cannot reach the partner"),
        "{}",
        r.text()
    );
    let err = MockMarketplace::builder()
        .record("ftp://x", dir.path())
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected an http:// or https:// URL"),
        "{err}"
    );
}

/// A partner that answers with a body without end, sent to many clients at once: the mock
/// holds at most the record budget of answer bytes, answers each client 502 naming the
/// budget, and still serves a new client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_partner_answer_stays_within_the_record_budget() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let partner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = partner.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = partner.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = s.read(&mut head).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                // At most 1 GiB, and only while someone reads: the mock stops reading at its
                // budget and closes the connection when it gives up.
                for _ in 0..16_384 {
                    if s.write_all(chunk.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let budget = 2 * 1024 * 1024;
    let m = MockMarketplace::builder()
        .record(format!("http://{addr}"), dir.path())
        .limits(stockwire_mock::Limits {
            record_bytes_in_flight: budget,
            ..stockwire_mock::Limits::default()
        })
        .start()
        .await
        .unwrap();
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let url = m.url();
            tokio::spawn(async move { update(&url, Some("k"), &batch(i)).await })
        })
        .collect();
    for c in clients {
        let r = c.await.unwrap();
        assert_eq!(r.status, 502, "{}", r.text());
        let t = r.text();
        assert!(
            t.contains("already hold the record budget") || t.contains("larger than 64 MiB"),
            "{t}"
        );
    }
    let peak = m.record_peak_bytes().unwrap();
    assert!(peak > 0 && peak <= budget, "peak {peak} of budget {budget}");
    // The mock is still there for a new client.
    let r = send(&m.url(), "GET", "/__admin/health", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

/// `stockwire mock --record-from URL --record-to DIR` forwards, and writes the recording when
/// stopped with SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_records_until_stopped() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let partner = partner().await;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    let mut child = Command::new(stockwire_tests::stockwire_bin())
        .args([
            "mock",
            "--port",
            "0",
            "--record-from",
            &partner.uri(),
            "--record-to",
        ])
        .arg(&rec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("forwarding every request to"), "{line}");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1"))
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let r = update(&url, Some(TOKEN), &batch(1)).await;
    assert_eq!(r.status, 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("recorded 1 request(s), 4 item(s)"), "{rest}");
    let r =
        stockwire_tests::stockwire(&["mock", "check", rec.join("scenario.toml").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("recorded-BAD-1-V"), "{}", r.stdout);
}
