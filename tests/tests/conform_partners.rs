//! Partners (wiremock and a raw TCP one) that each break one check in turn: the runner must
//! report exactly that check. A correct partner yields none.

use stockwire_tests::partner_kit;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use partner_kit::{KEY, catalog, failed, item_ids, run, serve_updates};
use serde_json::{Value, json};
use stockwire_conform::config::Dur;
use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, Report, RunOptions};
use stockwire_schema::{Catalog, Inventory, ItemKey, Profile, contract};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Status201,
    TextPlain,
    SchemaBreak,
    BadStatus,
    SuccessWithFailures,
    PartialAllFailed,
    FailedSome,
    BogusEntry,
    DuplicateEntries,
    EmptyMessage,
    RejectCatalogItem,
    RejectZero,
    RejectExtra,
    AcceptUnknown,
    AcceptNegative,
    Crash5xxOnNonAscii,
    SlowLargeBatches,
    AcceptMalformed,
    IgnoreAuth,
    ApplyUnauthenticated,
    OrderDependent,
    BatchDependent,
    NotIdempotent,
    SlowMediumBatches,
    AuthToken201,
}

/// A v1 partner that follows the contract, per item, except for one fault.
struct Partner {
    fault: Fault,
    catalog: Catalog,
    ledger: Arc<Mutex<HashMap<ItemKey, u32>>>,
    seen: Mutex<HashSet<String>>,
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
    delay: Option<Duration>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        content_type: "application/json",
        body: body.to_string(),
        delay: None,
    }
}

impl Partner {
    fn answer(&self, headers: &HashMap<String, String>, body: &[u8]) -> Answer {
        let f = self.fault;
        if f == Fault::Crash5xxOnNonAscii && body.iter().any(|b| *b >= 0x80) {
            return answer(500, json!({"error": "internal"}));
        }
        let text = String::from_utf8_lossy(body).to_string();
        let authed = headers.get("apikey").map(String::as_str) == Some(KEY);
        if !authed && f == Fault::IgnoreAuth {
            // Answers as if processed, without applying anything.
            return answer(200, json!({"status": "SUCCESS", "failedProductList": []}));
        }
        if !authed {
            if f == Fault::ApplyUnauthenticated {
                let _ = self.process(&text, true);
            }
            return answer(401, json!({"status": "FAILED", "failedProductList": []}));
        }
        let Ok(req) = serde_json::from_str::<Value>(&text) else {
            if f == Fault::AcceptMalformed {
                return answer(200, json!({"status": "SUCCESS", "failedProductList": []}));
            }
            return answer(400, json!({"status": "FAILED", "failedProductList": []}));
        };
        if !contract(Profile::V1).validate_envelope(&req).is_empty() {
            if f == Fault::AcceptMalformed {
                return answer(200, json!({"status": "SUCCESS", "failedProductList": []}));
            }
            return answer(400, json!({"status": "FAILED", "failedProductList": []}));
        }
        let n = req["inventoryList"].as_array().map_or(0, Vec::len);
        let repeated = {
            let mut last = self.seen.lock().unwrap();
            let r = last.contains(&text);
            last.clear();
            last.insert(text.clone());
            r
        };
        let mut a = self.process_value(&req, false, repeated);
        if f == Fault::SlowLargeBatches && n > 500 {
            a.delay = Some(Duration::from_millis(1500));
        }
        if f == Fault::SlowMediumBatches && n >= 100 {
            a.delay = Some(Duration::from_millis(300));
        }
        a
    }

    fn process(&self, text: &str, force: bool) -> Option<Answer> {
        let req: Value = serde_json::from_str(text).ok()?;
        Some(self.process_value(&req, force, false))
    }

    fn process_value(&self, req: &Value, _force: bool, repeated: bool) -> Answer {
        let f = self.fault;
        let c = contract(Profile::V1);
        let names: Vec<String> = c.item_fields().into_iter().map(|f| f.name).collect();
        let items = req["inventoryList"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        let mut failed: Vec<Value> = Vec::new();
        let mut sent: HashSet<(String, String)> = HashSet::new();
        let mut failed_keys: HashSet<(String, String)> = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let (p, v) = item_ids(item);
            sent.insert((p.clone(), v.clone()));
            let inv: Option<Inventory> = item
                .get("inventory")
                .and_then(|x| serde_json::from_value(x.clone()).ok());
            let count = inv.as_ref().and_then(Inventory::count);
            let other_spelling =
                item.get("inventory").is_some_and(Value::is_string) && count.is_some();
            let violations = c.validate_item(i, item);
            let negative = item
                .get("inventory")
                .and_then(Value::as_i64)
                .is_some_and(|x| x < 0);
            let known = self
                .catalog
                .entries
                .iter()
                .any(|e| e.product_id == p && e.variant_id == v);
            let has_extra = item
                .as_object()
                .is_some_and(|m| m.keys().any(|k| !names.contains(k)));
            let mut fail = |msg: &str| {
                if failed_keys.insert((p.clone(), v.clone())) {
                    failed.push(json!({"productId": p, "variantId": v, "message": msg}));
                }
            };
            // A number the schema admits but that is no stock count (`1e3`, `-0`) is refused,
            // as the mock refuses it.
            let valid_data = (violations.is_empty() && count.is_some())
                || other_spelling
                || (negative && f == Fault::AcceptNegative);
            if !valid_data {
                fail("Invalid inventory value");
                continue;
            }
            if !known && f != Fault::AcceptUnknown {
                fail("Variant not found");
                continue;
            }
            if f == Fault::RejectCatalogItem
                && self
                    .catalog
                    .entries
                    .get(1)
                    .is_some_and(|e| e.product_id == p && e.variant_id == v)
            {
                fail("Variant not found");
                continue;
            }
            if f == Fault::RejectZero && count == Some(0) {
                fail("Inventory must be positive");
                continue;
            }
            if f == Fault::RejectExtra && has_extra {
                fail("Unknown field");
                continue;
            }
            if other_spelling {
                if f == Fault::OrderDependent && i > 0 {
                    fail("Inventory must be a number");
                    continue;
                }
                if f == Fault::BatchDependent && n > 1 {
                    fail("Inventory must be a number");
                    continue;
                }
                if f == Fault::NotIdempotent && repeated {
                    fail("Duplicate request");
                    continue;
                }
            }
            self.ledger
                .lock()
                .unwrap()
                .insert(ItemKey::new(&p, &v), count.unwrap_or(0));
        }
        let distinct = sent.len();
        let mut status = if failed.is_empty() {
            "SUCCESS"
        } else if failed_keys.len() >= distinct {
            "FAILED"
        } else {
            "PARTIAL_SUCCESS"
        };
        match f {
            Fault::SuccessWithFailures if !failed.is_empty() => status = "SUCCESS",
            Fault::PartialAllFailed if status == "FAILED" && !failed.is_empty() => {
                status = "PARTIAL_SUCCESS"
            }
            Fault::FailedSome if status == "PARTIAL_SUCCESS" => status = "FAILED",
            Fault::BadStatus if status == "SUCCESS" => status = "OK",
            Fault::BogusEntry if !failed.is_empty() => failed
                .push(json!({"productId": "SW-BOGUS", "variantId": "SW-BOGUS", "message": "x"})),
            Fault::DuplicateEntries if !failed.is_empty() => failed.push(failed[0].clone()),
            Fault::EmptyMessage => {
                for e in &mut failed {
                    e["message"] = json!("");
                }
            }
            _ => {}
        }
        let mut body = json!({"status": status, "failedProductList": failed});
        if f == Fault::SchemaBreak && status == "SUCCESS" {
            body["failedProductList"] = json!("none");
        }
        let mut a = answer(200, body);
        if f == Fault::Status201 && status == "SUCCESS" {
            a.status = 201;
        }
        if f == Fault::TextPlain {
            a.content_type = "text/plain";
        }
        a
    }
}

struct Inventory200(Arc<Partner>);

impl Respond for Inventory200 {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let headers: HashMap<String, String> = req
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let a = self.0.answer(&headers, &req.body);
        let mut t = ResponseTemplate::new(a.status).set_body_raw(a.body, a.content_type);
        if let Some(d) = a.delay {
            t = t.set_delay(d);
        }
        t
    }
}

struct Ledger(Arc<Partner>);

impl Respond for Ledger {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut items: Vec<Value> = self
            .0
            .ledger
            .lock()
            .unwrap()
            .iter()
            .map(|(k, s)| json!({"seller": "t", "productId": k.product_id, "variantId": k.variant_id, "stock": s}))
            .collect();
        items.sort_by_key(|v| v.to_string());
        ResponseTemplate::new(200).set_body_json(json!({"items": items}))
    }
}

async fn partner(fault: Fault) -> MockServer {
    let p = Arc::new(Partner {
        fault,
        catalog: catalog(),
        ledger: Arc::default(),
        seen: Mutex::default(),
    });
    let server = serve_updates(Inventory200(p.clone())).await;
    Mock::given(method("GET"))
        .and(path("/__admin/ledger"))
        .respond_with(Ledger(p.clone()))
        .mount(&server)
        .await;
    let token_status = if fault == Fault::AuthToken201 {
        201
    } else {
        200
    };
    Mock::given(method("GET"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(token_status)
                .set_body_json(json!({"status": "SUCCESS", "accessToken": KEY})),
        )
        .mount(&server)
        .await;
    server
}

fn options(url: String, seed: u64) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.profile = Profile::V1;
    o.catalog = catalog();
    o.credentials = Credentials::ApiKey(KEY.into());
    o.seed = seed;
    // These partners serve only /updateInventory (and /authToken): no catalog calls.
    o.discovery = false;
    o.cases = 60;
    o.concurrency = 2;
    o.timeout = Duration::from_secs(10);
    o.shrink_requests = 24;
    // These partners apply synchronously: a short settle keeps a scripted wrong value from
    // being re-read for the default 2 s in every case.
    o.stock_settle = Duration::from_millis(200);
    // Speed is not asserted in tests, except by the latency partner's own budget.
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    o
}

/// Defects that store what the partner refused: the read-back (through the ledger) sees that
/// too, as `refused-not-stored`.
fn also_stored(fault: Fault) -> &'static [&'static str] {
    match fault {
        Fault::AcceptNegative | Fault::AcceptUnknown | Fault::FailedSome => &["refused-not-stored"],
        _ => &[],
    }
}

async fn expect_only(fault: Fault, check: &str) -> Report {
    let server = partner(fault).await;
    let mut o = options(server.uri(), 11);
    if fault == Fault::NotIdempotent {
        o.concurrency = 1;
    }
    let r = run(o).await;
    let mut expected = vec![check.to_string()];
    expected.extend(also_stored(fault).iter().map(|c| c.to_string()));
    assert_eq!(
        failed(&r),
        expected,
        "{fault:?}\n{}",
        stockwire_conform::console::summary(&r)
    );
    assert_eq!(r.summary.exit_code, 1);
    let f = r.failures.iter().find(|f| f.check == check).unwrap();
    assert!(!f.message.is_empty());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_partner_has_no_violations() {
    let server = partner(Fault::None).await;
    for seed in [1, 2] {
        let r = run(options(server.uri(), seed)).await;
        assert!(
            failed(&r).is_empty(),
            "{}",
            stockwire_conform::console::summary(&r)
        );
        assert_eq!(r.summary.exit_code, 0);
        // It observed the partner's ledger, so the read-back judged the auth refusals instead
        // of skipping them.
        let c = r.checks.iter().find(|c| c.id == "auth-no-effect").unwrap();
        assert!(c.passed > 0, "{c:?}");
    }
}

macro_rules! breaks {
    ($name:ident, $fault:expr, $check:literal) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            expect_only($fault, $check).await;
        }
    };
}

breaks!(http_201_breaks_http_200, Fault::Status201, "http-200");
breaks!(text_plain_breaks_json_body, Fault::TextPlain, "json-body");
breaks!(
    bad_list_type_breaks_response_schema,
    Fault::SchemaBreak,
    "response-schema"
);
breaks!(
    unknown_status_breaks_status_allowed,
    Fault::BadStatus,
    "status-allowed"
);
breaks!(
    success_with_failures,
    Fault::SuccessWithFailures,
    "success-without-failures"
);
breaks!(
    partial_success_when_all_failed,
    Fault::PartialAllFailed,
    "partial-success-mixed"
);
breaks!(
    failed_when_some_applied,
    Fault::FailedSome,
    "failed-nothing-applied"
);
breaks!(
    bogus_failed_entry,
    Fault::BogusEntry,
    "failed-entry-was-sent"
);
breaks!(
    duplicate_failed_entries,
    Fault::DuplicateEntries,
    "failed-entry-unique"
);
breaks!(
    empty_failure_message,
    Fault::EmptyMessage,
    "failed-message-nonempty"
);
breaks!(
    catalog_item_refused,
    Fault::RejectCatalogItem,
    "valid-item-accepted"
);
breaks!(zero_refused, Fault::RejectZero, "zero-inventory-accepted");
breaks!(
    extra_field_refused,
    Fault::RejectExtra,
    "extra-fields-tolerated"
);
breaks!(
    unknown_item_accepted,
    Fault::AcceptUnknown,
    "unknown-item-rejected"
);
breaks!(
    negative_inventory_accepted,
    Fault::AcceptNegative,
    "invalid-item-rejected"
);
breaks!(
    crash_on_non_ascii,
    Fault::Crash5xxOnNonAscii,
    "no-server-error"
);
breaks!(
    malformed_json_accepted,
    Fault::AcceptMalformed,
    "invalid-input-refused"
);
breaks!(missing_key_accepted, Fault::IgnoreAuth, "auth-refused");
breaks!(
    refused_request_applied,
    Fault::ApplyUnauthenticated,
    "auth-no-effect"
);
breaks!(
    outcome_depends_on_order,
    Fault::OrderDependent,
    "order-independent"
);
breaks!(
    outcome_depends_on_batch,
    Fault::BatchDependent,
    "batch-independent"
);
breaks!(
    repeat_answered_differently,
    Fault::NotIdempotent,
    "idempotent"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalling_on_large_batches_breaks_no_timeout() {
    let server = partner(Fault::SlowLargeBatches).await;
    let mut o = options(server.uri(), 11);
    o.timeout = Duration::from_millis(700);
    let r = run(o).await;
    assert_eq!(
        failed(&r),
        vec!["no-timeout".to_string()],
        "{}",
        stockwire_conform::console::summary(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_medium_batches_break_the_latency_budget() {
    let server = partner(Fault::SlowMediumBatches).await;
    let mut o = options(server.uri(), 11);
    o.policies.latency_budget = Dur(Duration::from_millis(250));
    let r = run(o).await;
    assert_eq!(
        failed(&r),
        vec!["latency-budget".to_string()],
        "{}",
        stockwire_conform::console::summary(&r)
    );
    assert!(
        r.latency
            .iter()
            .any(|l| l.batch_sizes == "101-1000" && l.p99_ms >= 300.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_answered_201_breaks_auth_token_response() {
    let server = partner(Fault::AuthToken201).await;
    let mut o = options(server.uri(), 11);
    o.credentials = Credentials::Login {
        username: "u".into(),
        password: "secret-pass".into(),
    };
    let r = run(o).await;
    assert_eq!(failed(&r), vec!["auth-token-response".to_string()]);
    // The password appears nowhere in the report.
    assert!(!r.to_json().contains("secret-pass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_shrunk_and_reclassified() {
    let r = expect_only(Fault::AcceptNegative, "invalid-item-rejected").await;
    let f = &r.failures[0];
    let body: Value = serde_json::from_str(&f.exchanges[0].request.body).unwrap();
    // Shrunk to the one offending item, still negative, with a curl that reproduces it.
    assert_eq!(body["inventoryList"].as_array().unwrap().len(), 1);
    assert!(body["inventoryList"][0]["inventory"].as_i64().unwrap() < 0);
    assert!(f.curl[0].contains("\"apiKey: $APIKEY\""));
    assert!(!r.to_json().contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_cases() {
    let server = partner(Fault::AcceptUnknown).await;
    let mut a = options(server.uri(), 5);
    a.concurrency = 3;
    let mut b = options(server.uri(), 5);
    b.concurrency = 1;
    let (ra, rb) = (run(a).await, run(b).await);
    assert_eq!(
        ra.failures[0].exchanges[0].request.body,
        rb.failures[0].exchanges[0].request.body
    );
    assert_eq!(ra.failures[0].case_index, rb.failures[0].case_index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = stockwire_conform::run(options(url, 1), &mut NoSink)
        .await
        .unwrap_err();
    assert!(
        matches!(e, stockwire_conform::ConformError::Unreachable { .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_draw_a_warning() {
    let server = partner(Fault::None).await;
    let mut o = options(server.uri(), 3);
    o.credentials = Credentials::ApiKey("not-the-key".into());
    let r = run(o).await;
    assert!(
        r.warnings.iter().any(|w| w.contains("401")),
        "{:?}",
        r.warnings
    );
}

/// A raw HTTP/1.1 partner that closes the connection without answering when a request names
/// an unknown item, and otherwise answers like the correct partner.
async fn dropping_partner() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let p = Arc::new(Partner {
        fault: Fault::None,
        catalog: catalog(),
        ledger: Arc::default(),
        seen: Mutex::default(),
    });
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let p = p.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 65536];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buf[head_end..head_end + len].to_vec();
                    buf.drain(..head_end + len);
                    if String::from_utf8_lossy(&body).contains("SW-UNKNOWN-P") {
                        return; // drop the connection
                    }
                    let a = p.answer(&headers, &body);
                    let resp = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n{}",
                        a.status,
                        a.content_type,
                        a.body.len(),
                        a.body
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_break_connection_kept() {
    let url = dropping_partner().await;
    let mut o = options(url, 11);
    o.cases = 50;
    let r = run(o).await;
    assert_eq!(
        failed(&r),
        vec!["connection-kept".to_string()],
        "{}",
        stockwire_conform::console::summary(&r)
    );
}

#[test]
fn catalogs_in_both_formats_are_the_same() {
    let csv = Catalog::read(Path::new(&stockwire_tests::fixture("conform/catalog.csv"))).unwrap();
    assert_eq!(csv, catalog());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_sets_every_catalog_item_back_to_its_stated_stock() {
    let server = partner(Fault::None).await;
    let mut o = options(server.uri(), 8);
    o.cases = 20;
    o.restore = true;
    let r = run(o).await;
    let restore = r.restore.clone().unwrap();
    assert_eq!((restore.restored, restore.failed), (5, 0));
    let ledger: Value = reqwest_free_get(&format!("{}/__admin/ledger", server.uri())).await;
    for e in catalog().entries {
        let row = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["productId"] == e.product_id && i["variantId"] == e.variant_id)
            .unwrap();
        assert_eq!(row["stock"], e.stock.unwrap());
    }
}

/// A GET with a bare TCP client (the tests have no HTTP client dependency of their own).
async fn reqwest_free_get(url: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let body = buf.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}
