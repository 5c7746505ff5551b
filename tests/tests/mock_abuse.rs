//! The mock under abuse, each bound asserted by its structure on loopback: who is served at the
//! connection cap, the status a client that writes its whole body first reads, credentials
//! held, the admin token, repeated member names, capped suggestions, and small requests served
//! while large ones are processed.

use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::scenario::Format;
use stockwire_mock::{Limits, MockMarketplace, Scenario, demo};
use stockwire_schema::{Catalog, CatalogEntry};
use stockwire_tests::http::{get_json, parse, send, update};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn one(p: &str, v: &str, n: i64) -> Value {
    json!({"inventoryList": [{"productId": p, "variantId": v, "inventory": n}]})
}

fn host(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// A keep-alive request on an open connection; returns the status line's code.
async fn keep_alive_request(s: &mut TcpStream) -> u16 {
    let body = one("P", "V", 1).to_string();
    let req = format!(
        "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // Read until the head and the announced body are in.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before the answer");
        got.extend_from_slice(&buf[..n]);
        if let Some(r) = parse(&got)
            && let Some(len) = r.header("content-length")
            && r.body.len() >= len.parse::<usize>().unwrap()
        {
            return r.status;
        }
    }
}

/// Sends the whole request (head and body) before reading anything, like Python's urllib.
async fn write_all_then_read(url: &str, head: &str, body: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(host(url)).await.unwrap();
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    tokio::time::timeout(Duration::from_secs(20), s.write_all(&bytes))
        .await
        .expect("the server keeps reading while the client writes")
        .ok()?;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    parse(&out).map(|r| r.status)
}

#[tokio::test]
async fn at_the_connection_cap_the_longest_idle_connection_makes_room() {
    let m = MockMarketplace::builder()
        .no_auth()
        .limits(Limits {
            max_connections: 4,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(host(&m.url())).await.unwrap();
        assert_eq!(keep_alive_request(&mut s).await, 200);
        held.push(s);
    }
    // The first connection has been idle the longest: it goes, the new client is served.
    for (i, s) in held.iter_mut().enumerate().skip(1) {
        assert_eq!(keep_alive_request(s).await, 200, "connection {i}");
    }
    let r = update(&m.url(), None, &one("P", "V", 2)).await;
    assert_eq!(r.status, 200);
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), held[0].read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "the longest-idle connection was closed");
    let h = get_json(&m.url(), "/__admin/health").await;
    assert!(
        h["connections"]["evictedIdle"].as_u64().unwrap() >= 1,
        "{h}"
    );
    assert_eq!(h["connections"]["refusedBusy"], 0);
}

/// A burst of new clients at the cap: each one closes a different idle connection, so all are
/// served (one victim chosen again and again freed one connection at a time, and the rest of
/// the burst was refused after waiting 2 s).
#[tokio::test]
async fn a_burst_of_new_clients_at_the_cap_closes_as_many_idle_connections() {
    let m = MockMarketplace::builder()
        .no_auth()
        .limits(Limits {
            max_connections: 16,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut s = TcpStream::connect(host(&m.url())).await.unwrap();
        assert_eq!(keep_alive_request(&mut s).await, 200);
        held.push(s);
    }
    // 24 new clients at once: every one must be served, none refused.
    let url = m.url();
    let burst: Vec<_> = (0..24)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut s = TcpStream::connect(host(&url)).await.unwrap();
                keep_alive_request(&mut s).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for b in burst {
        statuses.push(b.await.unwrap());
    }
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let h = get_json(&m.url(), "/__admin/health").await;
    assert_eq!(h["connections"]["refusedBusy"], 0, "{h}");
    assert!(
        h["connections"]["evictedIdle"].as_u64().unwrap() >= 8,
        "{h}"
    );
    drop(held);
}

#[tokio::test]
async fn when_every_connection_is_busy_a_client_that_writes_first_still_reads_503() {
    let slow = Scenario::parse(
        "[[rules]]\nname = \"slow\"\nmatch = { productId = \"SLOW\" }\neffect = { delay = \"3s\" }\n",
        Format::Toml,
        "t",
    )
    .unwrap();
    let m = MockMarketplace::builder()
        .no_auth()
        .scenario(slow)
        .limits(Limits {
            max_connections: 2,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let mut busy = Vec::new();
    for _ in 0..2 {
        let url = m.url();
        busy.push(tokio::spawn(async move {
            update(&url, None, &one("SLOW", "V", 1)).await.status
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = vec![b' '; 512 * 1024];
    let head = format!(
        "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(write_all_then_read(&m.url(), &head, &body).await, Some(503));
    for b in busy {
        assert_eq!(b.await.unwrap(), 200);
    }
    let h = get_json(&m.url(), "/__admin/health").await;
    assert_eq!(h["connections"]["refusedBusy"], 1, "{h}");
}

#[tokio::test]
async fn an_oversized_body_written_whole_before_reading_gets_its_413() {
    let m = MockMarketplace::builder()
        .no_auth()
        .limits(Limits {
            max_body_bytes: 64 * 1024,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let body = vec![b' '; 4 * 1024 * 1024];
    // Announced: refused before reading, then the rest is read and discarded.
    let head = format!(
        "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(write_all_then_read(&m.url(), &head, &body).await, Some(413));
    // Chunked: found too large while reading.
    let mut chunked = Vec::new();
    for c in body.chunks(256 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    assert_eq!(
        write_all_then_read(&m.url(), head, &chunked).await,
        Some(413)
    );
    assert!(m.ledger().is_empty());
}

#[tokio::test]
async fn credentials_never_reach_the_journal_in_clear() {
    let m = MockMarketplace::builder().start().await.unwrap();
    let token = m.token("demo").unwrap();
    let r = send(
        &m.url(),
        "GET",
        &format!(
            "/authToken?username={}&password={}",
            demo::USERNAME,
            demo::PASSWORD
        ),
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains(&token), "the client gets its token");
    let body = json!({"username": demo::USERNAME, "password": demo::PASSWORD}).to_string();
    send(
        &m.url(),
        "POST",
        "/authToken",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
    .unwrap();
    let bearer = format!("Bearer {token}");
    send(
        &m.url(),
        "POST",
        "/updateInventory",
        &[
            ("content-type", "application/json"),
            ("apiKey", &token),
            ("authorization", &bearer),
        ],
        one("MUG-002", "MUG-002-WHITE", 1).to_string().as_bytes(),
    )
    .await
    .unwrap();
    let journal = serde_json::to_string(&m.journal()).unwrap();
    assert!(!journal.contains(&token), "{journal}");
    assert!(!journal.contains(demo::PASSWORD), "{journal}");
    assert!(journal.contains("Bearer ***"), "{journal}");
}

#[tokio::test]
async fn the_admin_token_guards_everything_but_health() {
    let m = MockMarketplace::builder()
        .no_auth()
        .admin_token(Some("s3cret".into()))
        .start()
        .await
        .unwrap();
    assert_eq!(update(&m.url(), None, &one("P", "V", 4)).await.status, 200);
    let open = send(&m.url(), "GET", "/__admin/health", &[], b"")
        .await
        .unwrap();
    assert_eq!(open.status, 200);
    for (method, path) in [
        ("GET", "/__admin/journal"),
        ("GET", "/__admin/ledger"),
        ("GET", "/__admin/stock?productId=P&variantId=V"),
        ("POST", "/__admin/reset"),
        ("DELETE", "/__admin/ledger"),
    ] {
        let r = send(&m.url(), method, path, &[], b"").await.unwrap();
        assert_eq!(r.status, 401, "{method} {path}");
        let r = send(
            &m.url(),
            method,
            path,
            &[("authorization", "Bearer wrong")],
            b"",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{method} {path} with a wrong token");
    }
    let r = send(
        &m.url(),
        "GET",
        "/__admin/ledger",
        &[("authorization", "Bearer s3cret")],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["stock"], 4);
    let expect = [stockwire_mock::Expectation {
        requests: Some(Default::default()),
        count: Some(1),
        ..Default::default()
    }];
    let url = m.url();
    let refused = tokio::task::spawn_blocking(move || {
        stockwire_mock::verify::remote(&url, &expect).map(|r| r.ok)
    })
    .await
    .unwrap();
    assert!(refused.is_err(), "verify without the token is refused");
    let url = m.url();
    let expect = [stockwire_mock::Expectation {
        requests: Some(Default::default()),
        count: Some(1),
        ..Default::default()
    }];
    let ok = tokio::task::spawn_blocking(move || {
        stockwire_mock::verify::remote_with_token(&url, Some("s3cret"), &expect).map(|r| r.ok)
    })
    .await
    .unwrap();
    assert!(ok.unwrap());
}

#[tokio::test]
async fn a_repeated_member_fails_the_item_with_its_rule() {
    let m = MockMarketplace::builder().no_auth().start().await.unwrap();
    let body = br#"{"inventoryList":[{"productId":"P","variantId":"V","inventory":1,"inventory":99},{"productId":"Q","variantId":"V","inventory":3}]}"#;
    let r = send(
        &m.url(),
        "POST",
        "/updateInventory",
        &[("content-type", "application/json")],
        body,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["status"], "PARTIAL_SUCCESS");
    let msg = v["failedProductList"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("[duplicate-key]") && msg.contains("/inventoryList/0/inventory"),
        "{msg}"
    );
    assert_eq!(m.stock("demo", "P", "V"), None, "neither value was applied");
    assert_eq!(m.stock("demo", "Q", "V"), Some(3));
    // A repeated top-level member refuses the request as a whole.
    let body = br#"{"inventoryList":[{"productId":"P","variantId":"V","inventory":1}],"inventoryList":[]}"#;
    let r = send(&m.url(), "POST", "/updateInventory", &[], body)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let rules: Vec<Value> = r.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].clone())
        .collect();
    assert!(rules.contains(&json!("duplicate-key")), "{rules:?}");
}

fn catalog(n: usize) -> Catalog {
    Catalog {
        entries: (1..=n)
            .map(|i| CatalogEntry {
                product_id: format!("P{i:05}"),
                variant_id: format!("P{i:05}-V1"),
                stock: Some(0),
                ..Default::default()
            })
            .collect(),
    }
}

#[tokio::test]
async fn suggestions_and_notes_are_capped_per_response() {
    let m = MockMarketplace::builder()
        .no_auth()
        .catalog(catalog(2000))
        .start()
        .await
        .unwrap();
    let items: Vec<Value> = (0..200)
        .map(|i| json!({"productId": format!("P{i:05}"), "variantId": "X", "inventory": 1}))
        .collect();
    let r = update(&m.url(), None, &json!({ "inventoryList": items })).await;
    assert_eq!(r.status, 200);
    let failed = r.json()["failedProductList"].as_array().unwrap().clone();
    // P00000 is unknown, P00001.. exist with another variant: every item fails.
    assert_eq!(failed.len(), 200);
    let suggested = failed
        .iter()
        .filter(|f| f["message"].as_str().unwrap().contains("(nearest: "))
        .count();
    assert_eq!(suggested, 16);
    assert!(
        failed[1]["message"]
            .as_str()
            .unwrap()
            .contains("nearest: P00001/P00001-V1")
    );
    let e = m.journal().pop().unwrap();
    assert!(e.notes.len() <= 17, "{} notes", e.notes.len());
    assert!(
        e.notes.last().unwrap().contains("184 more"),
        "{:?}",
        e.notes.last()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_requests_do_not_starve_a_small_one() {
    let m = MockMarketplace::builder()
        .no_auth()
        .catalog(catalog(1000))
        .start()
        .await
        .unwrap();
    let items: Vec<Value> = (0..40_000)
        .map(|i| json!({"productId": format!("Q{i:06}"), "variantId": "V", "inventory": 1}))
        .collect();
    let big = json!({ "inventoryList": items });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    for _ in 0..3 {
        let (url, big, tx) = (m.url(), big.clone(), tx.clone());
        tokio::spawn(async move {
            let r = update(&url, None, &big).await;
            assert_eq!(r.status, 200);
            let _ = tx.send("large");
        });
    }
    // Once the three large bodies are in, one small request.
    for _ in 0..500 {
        if m.request_count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (url, small_tx) = (m.url(), tx.clone());
    tokio::spawn(async move {
        let r = update(&url, None, &one("P00001", "P00001-V1", 5)).await;
        assert_eq!(r.status, 200);
        let _ = small_tx.send("small");
    });
    drop(tx);
    let mut order = Vec::new();
    while let Some(x) = rx.recv().await {
        order.push(x);
    }
    assert_eq!(order.len(), 4);
    assert_eq!(
        order[0], "small",
        "the small request waited for large ones: {order:?}"
    );
}
