//! Limits and robustness: body size, items, depth, malformed HTTP, slow clients, connection
//! floods, concurrent updates of the same items, graceful shutdown.

use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::scenario::Format;
use stockwire_mock::{Limits, MockMarketplace, Scenario};
use stockwire_tests::http::{parse, raw, send, update};
use tokio::io::AsyncWriteExt;

fn one(p: &str, v: &str, n: i64) -> Value {
    json!({"inventoryList": [{"productId": p, "variantId": v, "inventory": n}]})
}

async fn mock(l: Limits) -> MockMarketplace {
    MockMarketplace::builder()
        .no_auth()
        .limits(l)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn body_items_and_depth_limits_have_clear_answers() {
    let m = mock(Limits {
        max_body_bytes: 1024,
        max_items: Some(2),
        max_depth: 8,
        ..Limits::default()
    })
    .await;
    let big = json!({"inventoryList": [{"productId": "x".repeat(2000), "variantId": "V", "inventory": 1}]});
    let r = update(&m.url(), None, &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["violations"][0]["rule"], "body-size");
    let three = json!({"inventoryList": [
        {"productId": "A", "variantId": "1", "inventory": 1},
        {"productId": "B", "variantId": "1", "inventory": 1},
        {"productId": "C", "variantId": "1", "inventory": 1}]});
    let r = update(&m.url(), None, &three).await;
    assert_eq!(
        (r.status, r.json()["violations"][0]["rule"].clone()),
        (413, json!("max-items"))
    );
    let deep = format!(
        "{{\"inventoryList\": {}1{}}}",
        "[".repeat(20),
        "]".repeat(20)
    );
    let r = send(
        &m.url(),
        "POST",
        "/updateInventory",
        &[("content-type", "application/json")],
        deep.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()["violations"][0]["rule"].clone()),
        (400, json!("max-depth"))
    );
    // A chunked body without Content-Length is limited while it is read.
    let mut req = b"POST /updateInventory HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(
        format!(
            "800\r\n{}\r\n800\r\n{}\r\n0\r\n\r\n",
            "a".repeat(0x800),
            "b".repeat(0x800)
        )
        .as_bytes(),
    );
    let r = parse(&raw(&m.url(), &req, Duration::from_secs(10)).await.unwrap()).unwrap();
    assert_eq!(r.status, 413);
    assert!(m.ledger().is_empty());
}

#[tokio::test]
async fn malformed_http_gets_an_answer_and_the_server_stays_up() {
    let m = mock(Limits::default()).await;
    for garbage in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
        b"\x00\xff\xfe\r\n\r\n",
        b"POST /updateInventory HTTP/1.1\r\ncontent-length: abc\r\n\r\n",
    ] {
        let out = raw(&m.url(), garbage, Duration::from_secs(10))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(out.is_empty() || text.starts_with("HTTP/1.1 4"), "{text}");
    }
    assert_eq!(update(&m.url(), None, &one("P", "V", 1)).await.status, 200);
}

#[tokio::test]
async fn slow_clients_are_cut_off_without_stalling_others() {
    let m = mock(Limits {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let host = m.url().trim_start_matches("http://").to_string();
    // Slow headers: the connection is closed.
    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();
    slow.write_all(b"POST /updateInventory HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Slow body: 408 with a violation.
    let mut slow_body = tokio::net::TcpStream::connect(&host).await.unwrap();
    slow_body.write_all(b"POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"inv").await.unwrap();
    // Others are served meanwhile.
    for _ in 0..5 {
        assert_eq!(update(&m.url(), None, &one("P", "V", 1)).await.status, 200);
    }
    let mut buf = Vec::new();
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut slow, &mut buf),
    )
    .await;
    assert!(n.is_ok(), "slow header connection was closed");
    let mut buf = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut slow_body, &mut buf),
    )
    .await
    .unwrap()
    .unwrap();
    let r = parse(&buf).unwrap();
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["violations"][0]["rule"], "body-timeout");
}

#[tokio::test]
async fn a_flood_of_idle_connections_does_not_lock_new_clients_out() {
    // 8 connections that never send a request fill the cap; each new client is served by
    // closing the longest-idle of them (the 503 when all are busy: tests/tests/mock_abuse.rs).
    let m = mock(Limits {
        max_connections: 8,
        ..Limits::default()
    })
    .await;
    let host = m.url().trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(tokio::net::TcpStream::connect(&host).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let r = send(&m.url(), "GET", "/__admin/health", &[], b"")
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    let h = send(&m.url(), "GET", "/__admin/health", &[], b"")
        .await
        .unwrap()
        .json();
    assert!(
        h["connections"]["evictedIdle"].as_u64().unwrap() >= 1,
        "{h}"
    );
    assert_eq!(h["connections"]["refusedBusy"], 0);
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing_and_never_half_apply() {
    let m = MockMarketplace::builder().no_auth().start().await.unwrap();
    let url = m.url();
    let mut tasks = Vec::new();
    for c in 0..8u32 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25u32 {
                let v = c * 1000 + i;
                let items: Vec<Value> = (0..20)
                    .map(
                        |k| json!({"productId": "P", "variantId": format!("V{k}"), "inventory": v}),
                    )
                    .collect();
                let r = update(&url, None, &json!({"inventoryList": items})).await;
                assert_eq!(r.status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let values: Vec<Option<u32>> = (0..20)
        .map(|k| m.stock("demo", "P", &format!("V{k}")))
        .collect();
    assert!(
        values.iter().all(|v| *v == values[0]),
        "every item holds the value of one request: {values:?}"
    );
    assert_eq!(m.request_count(), 200);
    assert_eq!(
        m.journal_stats().len + m.journal_stats().dropped as usize,
        200
    );
    assert!(m.journal().iter().all(|e| e.applied == 20));
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let s = Scenario::parse(
        "[[rules]]\neffect = { delay = \"300ms\" }\n",
        Format::Toml,
        "t",
    )
    .unwrap();
    let m = MockMarketplace::builder()
        .no_auth()
        .scenario(s)
        .start()
        .await
        .unwrap();
    let url = m.url();
    let inflight = tokio::spawn(async move { update(&url, None, &one("P", "V", 3)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = m.url();
    m.shutdown().await;
    let r = inflight.await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        send(&url, "GET", "/__admin/health", &[], b"")
            .await
            .is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_drip_fed_answer_outlasting_the_header_timeout_is_not_cut() {
    // The slow-client watchdog counts bytes written as progress: an answer dripped out over
    // ~0.7 s arrives whole even though the header read time-out is 0.2 s.
    let scenario = Scenario::parse(
        "[[rules]]\nname = \"drip\"\nmatch = {}\neffect = { drip = { chunk = 4, interval = \"60ms\" } }\n",
        Format::Toml,
        "test",
    )
    .unwrap();
    let m = MockMarketplace::builder()
        .no_auth()
        .scenario(scenario)
        .limits(Limits {
            header_read_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let r = update(&m.url(), None, &one("P", "V", 1)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "SUCCESS");
    // And an idle keep-alive connection is still closed after the time-out.
    let host = m.url().trim_start_matches("http://").to_string();
    let mut idle = tokio::net::TcpStream::connect(&host).await.unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut idle, &mut buf),
    )
    .await;
    assert!(n.is_ok(), "idle connection was closed");
}
