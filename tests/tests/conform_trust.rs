//! Trust on real partner code (issue 18): partners in the shapes a real implementation took,
//! each with the verdict stockwire must give. No false alarm (a state is claimed only when
//! read), the defect in the partner's words (a partner that finds items by variantId alone),
//! refusals by any 4xx as the partner's choice, and a run against a partner that is down
//! certifies nothing (exit 3).

use stockwire_tests::partner_kit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use partner_kit::{
    KEY, StockPartner, batch_answer, catalog, envelope_items, failed, item_count, item_ids, reply,
    run, serve, serve_updates, stock_probe, summary,
};
use serde_json::{Value, json};
use stockwire_conform::{Report, RunOptions};
use stockwire_schema::{Catalog, Profile, contract};
use wiremock::{MockServer, Request, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Keys items by (productId, variantId); refuses a missing apiKey with 401.
    Correct,
    /// Refuses a missing apiKey with 400 (its header check runs before auth), a wrong one
    /// with 401; otherwise correct.
    Auth400,
    /// Finds an item by variantId alone: (unknown productId, known variantId) updates the
    /// known variant. Its stock API (the probe) reads by variantId too.
    KeyByVariant,
    /// Answers every update 500; every item has held 0 since before the run.
    Down500,
    /// Answers every update 401 (a key that is not the partner's).
    Down401,
    /// Correct, but answers every third update 429 with `Retry-After: 0`.
    Throttles,
    /// Correct, but its stock API shows `48.5` for one item (a float column) and `null` for
    /// an item never set.
    StoresFraction,
}

struct Partner {
    mode: Mode,
    /// Updates received.
    updates: std::sync::atomic::AtomicU64,
    catalog: Catalog,
    /// Stock by the partner's own key (see [`Partner::key`]); every catalog item starts at 0.
    store: Mutex<HashMap<String, u32>>,
}

impl Partner {
    fn new(mode: Mode) -> Arc<Self> {
        let p = Partner {
            mode,
            updates: Default::default(),
            catalog: catalog(),
            store: Mutex::default(),
        };
        {
            let mut s = p.store.lock().unwrap();
            for e in &p.catalog.entries {
                s.insert(p.key(&e.product_id, &e.variant_id), 0);
            }
        }
        Arc::new(p)
    }

    /// The partner's key of an item: the variantId alone for the partners that ignore the
    /// productId, else both.
    fn key(&self, product: &str, variant: &str) -> String {
        match self.mode {
            Mode::KeyByVariant | Mode::Down500 => variant.to_string(),
            _ => format!("{product}\u{0}{variant}"),
        }
    }

    fn known(&self, product: &str, variant: &str) -> bool {
        self.catalog.entries.iter().any(|e| {
            e.variant_id == variant && (self.mode == Mode::KeyByVariant || e.product_id == product)
        })
    }
}

impl StockPartner for Partner {
    fn update(&self, req: &Request) -> ResponseTemplate {
        let n = self
            .updates
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.mode == Mode::Throttles && n % 3 == 2 {
            return reply(429, json!({"message": "Too Many Requests"}))
                .insert_header("Retry-After", "0");
        }
        match self.mode {
            Mode::Down500 => {
                return ResponseTemplate::new(500).set_body_string("Internal Server Error");
            }
            Mode::Down401 => return reply(401, json!({"message": "Unauthorized"})),
            _ => {}
        }
        let key = req.headers.get("apikey").and_then(|v| v.to_str().ok());
        match key {
            None if self.mode == Mode::Auth400 => {
                return reply(400, json!({"message": "apiKey header is required"}));
            }
            None => return reply(401, json!({"message": "Unauthorized"})),
            Some(k) if k != KEY => return reply(401, json!({"message": "Unauthorized"})),
            Some(_) => {}
        }
        let c = contract(Profile::V1);
        let Some(items) = envelope_items(c, &req.body) else {
            return reply(400, json!({"status": "FAILED", "failedProductList": []}));
        };
        let mut failed: Vec<Value> = Vec::new();
        let mut writes: Vec<(String, u32)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let (p, v) = item_ids(item);
            let count = item_count(item);
            let why = if !c.validate_item(i, item).is_empty() {
                Some("Invalid inventory value")
            } else if !self.known(&p, &v) {
                Some("Variant not found")
            } else {
                None
            };
            match (why, count) {
                (None, Some(n)) => writes.push((self.key(&p, &v), n)),
                (m, _) => failed.push(json!({"productId": p, "variantId": v,
                    "message": m.unwrap_or("Invalid inventory value")})),
            }
        }
        let mut s = self.store.lock().unwrap();
        for (k, n) in writes {
            s.insert(k, n);
        }
        let all_failed = failed.len() >= items.len();
        batch_answer(failed, all_failed)
    }

    /// The partner's own stock API: the stored integer or an empty body.
    fn stock(&self, product: &str, variant: &str) -> String {
        if self.mode == Mode::StoresFraction && variant == "MUG-7-BLUE" {
            return "48.5\n".into();
        }
        self.store
            .lock()
            .unwrap()
            .get(&self.key(product, variant))
            .map(|n| n.to_string())
            .unwrap_or_else(|| {
                if self.mode == Mode::StoresFraction {
                    "null".into()
                } else {
                    String::new()
                }
            })
    }
}

async fn partner(mode: Mode) -> MockServer {
    serve(Partner::new(mode)).await
}

fn options(server: &MockServer) -> RunOptions {
    // These partners build only /authToken and /updateInventory (as the one this issue was
    // found on): the catalog calls are not what is under test.
    let mut o = partner_kit::options(server, Profile::V1, 21);
    o.cases = 60;
    o.stock_settle = Duration::from_millis(200);
    o.stock_probe = Some(stock_probe(server));
    o
}

/// Every message a report shows about a failure: the failures' and the causes'.
fn messages(r: &Report) -> Vec<String> {
    r.failures
        .iter()
        .map(|f| f.message.clone())
        .chain(r.causes.iter().map(|c| c.message.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_down_with_500_gets_no_state_claim_and_certifies_nothing() {
    let server = partner(Mode::Down500).await;
    let r = run(options(&server)).await;
    let s = summary(&r);
    // Every item held 0 since before the run: nothing changed, and no "never set" is claimed
    // for an item that was not read.
    assert!(
        !failed(&r).contains(&"refused-not-stored".to_string()),
        "{s}"
    );
    for m in messages(&r) {
        assert!(!m.contains("never set"), "{m}\n{s}");
        assert!(!m.contains("only inventory values above"), "{m}\n{s}");
    }
    for c in &r.causes {
        assert!(
            c.hints.iter().all(|h| !h.contains("inventory values")),
            "{c:?}"
        );
    }
    // Down: certified nothing, said so, exit 3; each skipped check says why.
    certified_nothing(&r, "5xx");
}

fn certified_nothing(r: &Report, what: &str) {
    let s = summary(r);
    assert_eq!(r.summary.exit_code, 3, "{s}");
    let e = r.error.as_ref().expect("a reason");
    assert_eq!(e.kind, "nothing-exercised", "{e:?}");
    assert!(e.message.contains("nothing could be exercised"), "{e:?}");
    assert!(r.warnings.iter().any(|w| w.contains(what)), "{s}");
    assert!(s.contains("Nothing certified"), "{s}");
    for c in r.checks.iter().filter(|c| c.passed == 0 && c.failed == 0) {
        let why = c.skip_reason.as_deref().unwrap_or_default();
        assert!(
            !why.contains("no case exercised it"),
            "{}: {why}\n{s}",
            c.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_refusing_the_run_s_key_certifies_nothing() {
    let server = partner(Mode::Down401).await;
    let mut o = options(&server);
    o.stock_probe = None;
    let r = run(o).await;
    certified_nothing(&r, "401/403");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_keying_items_by_variant_id_is_one_cause_in_its_words() {
    let server = partner(Mode::KeyByVariant).await;
    let mut o = options(&server);
    o.cases = 120;
    let r = run(o).await;
    let s = summary(&r);
    let f = failed(&r);
    assert!(f.contains(&"unknown-item-rejected".to_string()), "{s}");
    let ignored: Vec<_> = r
        .causes
        .iter()
        .filter(|c| c.message.starts_with("productId is ignored"))
        .collect();
    assert_eq!(ignored.len(), 1, "{s}");
    let cause = ignored[0];
    assert!(
        cause.message.contains("was applied to") && cause.message.contains("'s stock"),
        "{}",
        cause.message
    );
    assert!(
        cause.checks.contains(&"unknown-item-rejected".to_string()),
        "{cause:?}\n{s}"
    );
    // Every failing case is in the report, each with its exchanges and curl; the HTML lists
    // them collapsed.
    let unknown = r
        .failures
        .iter()
        .find(|f| f.check == "unknown-item-rejected")
        .unwrap();
    // (A case may fail the check on several items: cases never outnumber its failures.)
    let failures = r
        .checks
        .iter()
        .find(|c| c.id == "unknown-item-rejected")
        .map(|c| c.failed)
        .unwrap();
    assert!(unknown.cases.len() > 1, "{s}");
    assert!(
        unknown.cases.len() as u64 + unknown.more_cases <= failures,
        "{s}"
    );
    assert!(
        unknown
            .cases
            .iter()
            .all(|c| !c.exchanges.is_empty() && c.curl.len() == c.exchanges.len())
    );
    let json: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert!(json["failures"][0]["cases"].is_array(), "{json}");
    let html = stockwire_conform::html::render(&stockwire_conform::view::RunView::of(&r));
    assert!(html.contains("<details class=\"cases\">"), "no case list");
    // Not a spill onto an item outside the request, nor a change from an unread state.
    for m in messages(&r) {
        assert!(!m.contains("not in the request"), "{m}\n{s}");
        assert!(!m.contains("never set"), "{m}\n{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_api_key_refused_with_400_is_a_partner_choice() {
    let server = partner(Mode::Auth400).await;
    let r = run(options(&server)).await;
    let s = summary(&r);
    assert!(failed(&r).is_empty(), "{s}");
    assert_eq!(r.summary.exit_code, 0, "{s}");
    let auth = r.checks.iter().find(|c| c.id == "auth-refused").unwrap();
    assert!(auth.passed > 0, "{s}");
    assert!(
        r.choices
            .iter()
            .any(|c| c.topic == "auth-refusal" && c.choice == "HTTP 400 when the header is missing"),
        "{:?}",
        r.choices
    );
    assert!(
        r.choices
            .iter()
            .any(|c| c.topic == "auth-refusal" && c.choice == "HTTP 401 for a wrong key"),
        "{:?}",
        r.choices
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_partner_stays_clean_with_every_item_read_before() {
    let server = partner(Mode::Correct).await;
    let r = run(options(&server)).await;
    let s = summary(&r);
    assert!(failed(&r).is_empty(), "{s}");
    assert_eq!(r.summary.exit_code, 0, "{s}");
    // The only warning: the catalog calls this partner does not build were not certified.
    assert!(
        r.warnings.iter().all(|w| w.starts_with("--no-discovery")),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_throttles_within_the_budget_stays_clean() {
    let server = partner(Mode::Throttles).await;
    let r = run(options(&server)).await;
    let s = summary(&r);
    assert!(failed(&r).is_empty(), "{s}");
    assert_eq!(r.summary.exit_code, 0, "{s}");
    let t = r
        .choices
        .iter()
        .find(|c| c.topic == "throttling")
        .expect(&s);
    assert!(t.count > 0 && t.choice.contains("settled at"), "{t:?}");
}

/// A partner answering 429 to everything: with `Retry-After` far in the future, or without
/// one (exponential back-off). The run ends within the wait budget, certifies nothing (exit 3)
/// and reports no violation. Bounded by structure: the requests it could send are counted; the
/// outer time-out is only a generous guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_all_429_partner_ends_the_run_within_the_budget_with_exit_3() {
    for retry_after in [Some("86400"), None] {
        let mut answer = reply(429, json!({"message": "Too Many Requests"}));
        if let Some(v) = retry_after {
            answer = answer.insert_header("Retry-After", v);
        }
        let server = serve_updates(answer).await;
        let mut o = options(&server);
        o.stock_probe = None;
        o.catalog = Catalog::default();
        o.cases = 500;
        o.throttle_budget = Duration::from_secs(1);
        let r = tokio::time::timeout(Duration::from_secs(120), run(o))
            .await
            .expect("the run ends");
        let s = summary(&r);
        assert_eq!(r.summary.exit_code, 3, "{retry_after:?}\n{s}");
        assert!(r.failures.is_empty(), "{retry_after:?}\n{s}");
        let e = r.error.as_ref().expect("a reason");
        assert!(e.message.contains("--throttle-budget"), "{e:?}");
        // Re-sends: at most 5 per request; the budget (1 s: 100 + 200 + 400 ms of back-off)
        // is spent within the first requests, and no case is started after it.
        let sent = server.received_requests().await.unwrap().len();
        assert!(sent <= 40, "{retry_after:?}: {sent} requests\n{s}");
        assert!(r.summary.cases < 20, "{s}");
    }
}

/// The probe prints `48.5` for one item: the partner stored an invalid value, a `stored-value`
/// violation, not a probe error; `null` for an item never set is read as never set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_printing_a_fraction_is_a_stored_value_violation_and_null_is_never_set() {
    let server = partner(Mode::StoresFraction).await;
    let mut o = options(&server);
    o.stock_sample = Some(stockwire_conform::config::StockSample::All);
    let r = run(o).await;
    let s = summary(&r);
    assert_eq!(failed(&r), vec!["stored-value".to_string()], "{s}");
    let f = &r.failures[0];
    assert!(
        f.message.contains("\"48.5\"") && f.message.contains("not a valid stock"),
        "{}",
        f.message
    );
    assert_eq!(r.read_back.as_ref().unwrap().errors, 0, "{s}");
    assert!(r.warnings.iter().all(|w| !w.contains("probe error")), "{s}");
}

/// A 302 from `/updateInventory` is never an answer, also without a catalog: a check fails, and
/// no item is called applied (nor refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_without_a_catalog_is_never_reported_applied() {
    let server = serve_updates(
        ResponseTemplate::new(302).insert_header("Location", "https://elsewhere.invalid/"),
    )
    .await;
    let mut o = options(&server);
    o.stock_probe = None;
    o.catalog = Catalog::default();
    o.cases = 40;
    let r = run(o).await;
    let s = summary(&r);
    // Without a catalog http-200 cannot be judged; the refusal checks fail on the redirect.
    let f = failed(&r);
    assert!(f.contains(&"unknown-item-rejected".to_string()), "{s}");
    assert!(f.contains(&"invalid-item-rejected".to_string()), "{s}");
    assert_eq!(r.summary.exit_code, 1, "{s}");
    for m in messages(&r) {
        assert!(!m.contains("reported applied"), "{m}\n{s}");
    }
}
