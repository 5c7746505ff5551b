//! Read-back through `--stock-probe`: partners without any admin endpoint, read by a `curl`
//! probe of their own stock API. Each broken partner fails exactly the state check its defect
//! breaks; correct partners that made other legitimate choices (whole-batch rejection, 200 +
//! FAILED for a refused request, digit-string inventory, an asynchronous apply within the
//! settle time) stay clean. A broken probe is never a partner violation.

use stockwire_tests::partner_kit;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use partner_kit::{
    KEY, StockPartner, batch_answer, catalog, envelope_items, failed, item_count, item_ids, reply,
    run, serve, serve_updates, stock_probe,
};
use serde_json::{Value, json};
use stockwire_conform::{Report, RunOptions};
use stockwire_schema::{Catalog, ItemKey, Profile, contract};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Per item, stores what it reports applied.
    Correct,
    /// Refuses a whole batch with 400 when one item is bad; stores nothing of it.
    WholeBatch,
    /// Refuses bad requests (auth, malformed) with HTTP 200 + FAILED.
    Failed200,
    /// Applies updates from a queue, 300 ms after answering.
    Async,
    /// Answers SUCCESS but stores nothing.
    SuccessNoStore,
    /// Stores at most 65,535 (a 16-bit column).
    Clamp16,
    /// Setting one variant sets every variant of the product.
    Spill,
    /// Refuses a batch with a bad item as a whole, but stores its valid items anyway.
    StoreRefusedBatch,
    /// Answers 401 without a key, but applies the update first.
    ApplyUnauthenticated,
    /// Names a digit-only id back as a JSON number in failedProductList.
    EchoDigitsAsNumber,
}

struct Partner {
    mode: Mode,
    profile: Profile,
    catalog: Catalog,
    store: Arc<Mutex<HashMap<ItemKey, u32>>>,
    /// `Async`: one thread applies the writes in the order they were answered, each 300 ms
    /// after its answer, as a partner's queue would (a later write never lands first, however
    /// loaded the machine is).
    queue: Mutex<Option<mpsc::Sender<(Instant, Apply)>>>,
}

type Apply = Box<dyn FnOnce() + Send>;

impl Partner {
    fn set(&self, writes: Vec<(ItemKey, u32)>) {
        let store = self.store.clone();
        let mode = self.mode;
        let cat = self.catalog.clone();
        let apply = move || {
            let mut s = store.lock().unwrap();
            for (k, n) in writes {
                match mode {
                    Mode::Clamp16 => {
                        s.insert(k, n.min(65_535));
                    }
                    Mode::Spill => {
                        for e in cat.entries.iter().filter(|e| e.product_id == k.product_id) {
                            s.insert(e.key(), n);
                        }
                    }
                    _ => {
                        s.insert(k, n);
                    }
                }
            }
        };
        if self.mode == Mode::Async {
            let due = Instant::now() + Duration::from_millis(300);
            let mut q = self.queue.lock().unwrap();
            let tx = q.get_or_insert_with(|| {
                let (tx, rx) = mpsc::channel::<(Instant, Apply)>();
                std::thread::spawn(move || {
                    for (due, f) in rx {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        f();
                    }
                });
                tx
            });
            let _ = tx.send((due, Box::new(apply)));
        } else {
            apply();
        }
    }

    fn refuse(&self, status: u16) -> ResponseTemplate {
        let status = if self.mode == Mode::Failed200 {
            200
        } else {
            status
        };
        reply(status, json!({"status": "FAILED", "failedProductList": []}))
    }
}

impl StockPartner for Partner {
    fn update(&self, req: &Request) -> ResponseTemplate {
        let authed = req
            .headers
            .get("apikey")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == KEY);
        let c = contract(self.profile);
        let Some(items) = envelope_items(c, &req.body) else {
            return self.refuse(if authed { 400 } else { 401 });
        };
        let mut failed: Vec<Value> = Vec::new();
        let mut failed_keys: HashSet<ItemKey> = HashSet::new();
        let mut writes: Vec<(ItemKey, u32)> = Vec::new();
        let mut sent: HashSet<ItemKey> = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let (p, v) = item_ids(item);
            let key = ItemKey::new(p, v);
            sent.insert(key.clone());
            let count = item_count(item);
            let known = self.catalog.entries.iter().any(|e| e.key() == key);
            let why = if !c.validate_item(i, item).is_empty() {
                Some("Invalid inventory value")
            } else if !known {
                Some("Variant not found")
            } else {
                None
            };
            match (why, count) {
                (None, Some(n)) => writes.push((key, n)),
                (m, _) => {
                    let m = m.unwrap_or("Invalid inventory value");
                    if failed_keys.insert(key.clone()) {
                        let mut e = json!({"productId": key.product_id, "variantId": key.variant_id, "message": m});
                        let digits =
                            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                        if self.mode == Mode::EchoDigitsAsNumber && digits(&key.product_id) {
                            e["productId"] = json!(key.product_id.parse::<u64>().unwrap());
                        }
                        failed.push(e);
                    }
                }
            }
        }
        writes.retain(|(k, _)| !failed_keys.contains(k));
        if !authed {
            if self.mode == Mode::ApplyUnauthenticated {
                self.set(writes);
            }
            return self.refuse(401);
        }
        let whole = matches!(self.mode, Mode::WholeBatch | Mode::StoreRefusedBatch);
        if whole && !failed.is_empty() {
            if self.mode == Mode::StoreRefusedBatch {
                self.set(writes);
            }
            return reply(
                400,
                json!({"status": "FAILED", "failedProductList": failed}),
            );
        }
        if self.mode != Mode::SuccessNoStore {
            self.set(writes);
        }
        let all_failed = failed_keys.len() >= sent.len();
        batch_answer(failed, all_failed)
    }

    /// `GET /stock?p=&v=`: the stored integer, or an empty body when never set.
    fn stock(&self, product: &str, variant: &str) -> String {
        self.store
            .lock()
            .unwrap()
            .get(&ItemKey::new(product, variant))
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

async fn partner(mode: Mode, profile: Profile) -> MockServer {
    partner_with(mode, profile, catalog()).await
}

async fn partner_with(mode: Mode, profile: Profile, catalog: Catalog) -> MockServer {
    serve(Arc::new(Partner {
        mode,
        profile,
        catalog,
        store: Arc::default(),
        queue: Mutex::default(),
    }))
    .await
}

fn options(server: &MockServer, profile: Profile) -> RunOptions {
    // These partners serve only /updateInventory (and /authToken): no catalog calls.
    let mut o = partner_kit::options(server, profile, 21);
    o.cases = 45;
    o.stock_probe = Some(stock_probe(server));
    o
}

fn passed(r: &Report, id: &str) -> u64 {
    r.checks.iter().find(|c| c.id == id).unwrap().passed
}

async fn clean(mode: Mode, profile: Profile) -> Report {
    let server = partner(mode, profile).await;
    let mut o = options(&server, profile);
    if mode == Mode::Async {
        // The partner applies 300 ms after answering. The settle time is only the longest
        // wait (a read that matches ends it), so a wide one costs nothing when the machine is
        // idle and keeps a loaded machine (a whole test suite on two cores) from cutting the
        // wait short of a late apply.
        o.stock_settle = Duration::from_secs(15);
    }
    let r = run(o).await;
    let summary = stockwire_conform::console::summary(&r);
    assert!(failed(&r).is_empty(), "{mode:?}\n{summary}");
    for id in [
        "stored-value",
        "stored-per-item",
        "refused-not-stored",
        "auth-no-effect",
    ] {
        assert!(passed(&r, id) > 0, "{mode:?}: {id} never judged\n{summary}");
    }
    let rb = r.read_back.clone().unwrap();
    assert!(rb.reads > 0 && rb.errors == 0, "{rb:?}");
    assert!(
        summary.contains("reads through stock probe `curl"),
        "{summary}"
    );
    r
}

async fn breaks(mode: Mode, check: &str) -> Report {
    let server = partner(mode, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    // These partners apply synchronously: a short settle keeps shrinking quick.
    o.stock_settle = Duration::from_millis(200);
    let r = run(o).await;
    assert_eq!(
        failed(&r),
        vec![check.to_string()],
        "{mode:?}\n{}",
        stockwire_conform::console::summary(&r)
    );
    assert_eq!(r.summary.exit_code, 1);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_partner_read_by_a_probe_is_clean() {
    let r = clean(Mode::Correct, Profile::V1).await;
    // Without a probe the same partner has nothing to read from: the state checks are skipped.
    assert!(r.read_back.unwrap().settle_max_ms < 2000.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_batch_rejection_is_clean_when_nothing_of_the_batch_is_stored() {
    let r = clean(Mode::WholeBatch, Profile::V1).await;
    assert!(r.choices.iter().any(|c| c.choice.contains("whole batch")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_200_failed_for_refused_requests_is_clean() {
    clean(Mode::Failed200, Profile::V1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digit_string_inventory_is_clean() {
    clean(Mode::Correct, Profile::V2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_apply_within_the_settle_time_is_clean_and_the_wait_is_reported() {
    let r = clean(Mode::Async, Profile::V1).await;
    let rb = r.read_back.clone().unwrap();
    assert!(rb.settle_max_ms > 0.0, "{rb:?}");
    // Every mismatch settled: no violation proven, so no read stopped waiting.
    assert!(rb.proven.is_empty() && rb.unsettled == 0, "{rb:?}");
    assert!(stockwire_conform::console::summary(&r).contains("longest settle"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_stores_nothing_costs_a_few_settle_waits_not_one_per_case() {
    // Every case read back, each finding its update not stored. Once a mismatch outlived the
    // whole settle time the check's violation is proven: later mismatches are judged on one
    // read, and still counted. The bound is structural: a wait proves a check (4 state
    // checks), settles, or runs alongside the one that proves it (concurrency 2).
    let server = partner(Mode::SuccessNoStore, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.cases = 60;
    o.stock_settle = Duration::from_millis(300);
    o.stock_sample = Some(stockwire_conform::config::StockSample::All);
    let r = run(o).await;
    let summary = stockwire_conform::console::summary(&r);
    assert_eq!(failed(&r), vec!["stored-value".to_string()], "{summary}");
    let rb = r.read_back.clone().unwrap();
    assert!(rb.cases_read >= 40, "{rb:?}");
    assert!(rb.settle_waits >= 1 && rb.settle_waits <= 4 * 2, "{rb:?}");
    assert!(
        rb.proven.iter().any(|p| p.check == "stored-value"),
        "{rb:?}"
    );
    let stored = r.checks.iter().find(|c| c.id == "stored-value").unwrap();
    assert!(stored.failed > rb.settle_waits, "{stored:?} {rb:?}");
    assert!(rb.unsettled > 0, "{rb:?}");
    assert!(
        summary.contains("settle stopped: stored-value: proven when"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_without_storing_breaks_stored_value() {
    let r = breaks(Mode::SuccessNoStore, "stored-value").await;
    let f = &r.failures[0];
    assert!(f.message.contains("was reported applied"), "{}", f.message);
    assert!(f.message.contains("nothing (never set)"), "{}", f.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clamped_value_breaks_stored_value() {
    let r = breaks(Mode::Clamp16, "stored-value").await;
    assert!(
        r.failures[0].message.contains("65535"),
        "{}",
        r.failures[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_spilling_onto_a_sibling_variant_breaks_stored_per_item() {
    let server = partner(Mode::Spill, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.stock_settle = Duration::from_millis(200);
    let r = run(o).await;
    let f = failed(&r);
    // The spill shows on the untouched sibling; when both siblings are in one batch, the
    // second overwrites the first, which stored-value (and refused-not-stored) see too; a spill
    // onto a sibling that another case holds shows in that case's read-back (auth-no-effect
    // when that case was an unauthenticated one).
    assert!(f.contains(&"stored-per-item".to_string()), "{f:?}");
    assert!(
        f.iter().all(|c| [
            "stored-value",
            "stored-per-item",
            "refused-not-stored",
            "auth-no-effect"
        ]
        .contains(&c.as_str())),
        "{f:?}"
    );
    let m = &r
        .failures
        .iter()
        .find(|x| x.check == "stored-per-item")
        .unwrap()
        .message;
    assert!(
        m.contains("TSHIRT-01") && m.contains("was not in the request"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storing_a_refused_batch_breaks_refused_not_stored() {
    breaks(Mode::StoreRefusedBatch, "refused-not-stored").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_an_unauthenticated_update_breaks_auth_no_effect_on_a_real_partner() {
    breaks(Mode::ApplyUnauthenticated, "auth-no-effect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_probe_a_real_partner_skips_the_state_checks_and_says_why() {
    let server = partner(Mode::SuccessNoStore, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.stock_probe = None;
    let r = run(o).await;
    assert!(failed(&r).is_empty());
    let c = r.checks.iter().find(|c| c.id == "stored-value").unwrap();
    assert!(c.skip_reason.as_deref().unwrap().contains("--stock-probe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_probe_is_a_warning_never_a_violation() {
    let server = partner(Mode::SuccessNoStore, Profile::V1).await;
    for (cmd, printed) in [
        ("echo 'no such table' >&2; exit 3", "no such table"),
        ("echo twelve", "twelve"),
    ] {
        let mut o = options(&server, Profile::V1);
        o.stock_probe = Some(cmd.into());
        o.cases = 20;
        let r = run(o).await;
        assert!(failed(&r).is_empty(), "{cmd}: {:?}", failed(&r));
        let w = r.warnings.join("\n");
        assert!(w.contains("stock probe error"), "{w}");
        assert!(w.contains(&format!("`{cmd}`")), "{w}");
        assert!(w.contains(printed), "{w}");
        let c = r.checks.iter().find(|c| c.id == "stored-value").unwrap();
        assert!(
            c.skip_reason.as_deref().unwrap().contains("probe failed"),
            "{c:?}"
        );
        assert!(r.read_back.unwrap().stopped);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_with_a_probe_sets_back_what_was_read_and_lists_never_set_items() {
    let server = partner(Mode::Correct, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.restore = true;
    o.cases = 25;
    // A first run sets some items; their values are what the second run must restore.
    let first = run(o.clone()).await;
    assert!(failed(&first).is_empty());
    let read = |k: &str, v: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("curl -sf \"{}/stock?p={k}&v={v}\"", server.uri()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let before: Vec<String> = catalog()
        .entries
        .iter()
        .map(|e| read(&e.product_id, &e.variant_id))
        .collect();
    let mut o2 = o.clone();
    o2.seed = 99;
    let second = run(o2).await;
    let restore = second.restore.clone().unwrap();
    assert_eq!(restore.source, "read-back");
    assert!(restore.not_restored.is_empty(), "{restore:?}");
    let after: Vec<String> = catalog()
        .entries
        .iter()
        .map(|e| read(&e.product_id, &e.variant_id))
        .collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if b.is_empty() {
            // Never set before the second run: listed if the run set it.
            if !a.is_empty() {
                let e = &catalog().entries[i];
                assert!(
                    restore.never_set.iter().any(|n| n.contains(&e.variant_id)),
                    "{restore:?}"
                );
            }
        } else {
            assert_eq!(b, a, "item {i} not restored: {restore:?}");
        }
    }
}

/// A catalog in the shapes sellers use, a hostile id included.
fn odd_catalog(marker: &std::path::Path) -> Catalog {
    let hostile = format!("a'; touch {}; '", marker.display());
    let rows = [
        ("54353", "54353-2"),
        ("54353", "54353-1"),
        ("000412", "000412-01"),
        ("SKU 12/A.b", "SKU 12/A.b RED/L"),
        ("Ürün-商品", "Ürün-商品-Kırmızı"),
        ("MiXeD-Case", "mIxEd-case-XL"),
        (hostile.as_str(), "v"),
    ];
    let entries: Vec<Value> = rows
        .iter()
        .map(|(p, v)| json!({"productId": p, "variantId": v, "stock": 5}))
        .collect();
    let dir = marker.parent().unwrap();
    let file = dir.join("catalog.json");
    std::fs::write(&file, Value::Array(entries).to_string()).unwrap();
    Catalog::read(&file).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_ids_in_real_shapes_are_sent_exactly_and_read_back_through_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let cat = odd_catalog(&marker);
    let server = partner_with(Mode::Correct, Profile::V1, cat.clone()).await;
    let mut o = options(&server, Profile::V1);
    o.catalog = cat.clone();
    o.cases = 60;
    let r = run(o).await;
    let summary = stockwire_conform::console::summary(&r);
    assert!(failed(&r).is_empty(), "{summary}");
    assert!(passed(&r, "stored-value") > 0, "{summary}");
    assert!(!marker.exists(), "an id was run as a command by the probe");
    // Ids went out exactly as the catalog gives them (never trimmed or normalized).
    let bodies: Vec<String> = r.catalog.iter().map(|c| c.product_id.clone()).collect();
    assert!(bodies.contains(&"000412".to_string()));
    // The generated id-shape probes (unknown ids in the spec's and sellers' shapes) ran.
    assert!(
        r.checks
            .iter()
            .any(|c| c.id == "unknown-item-rejected" && c.passed > 0),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_named_back_as_a_number_is_a_violation() {
    let server = partner(Mode::EchoDigitsAsNumber, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.stock_probe = None;
    o.cases = 80;
    let r = run(o).await;
    let f = failed(&r);
    assert!(!f.is_empty(), "{}", stockwire_conform::console::summary(&r));
    let shapes: Vec<&str> = r.failures.iter().map(|x| x.case_kind.as_str()).collect();
    assert!(
        shapes.iter().any(|k| k.starts_with("id-shape:")),
        "{shapes:?}\n{}",
        stockwire_conform::console::summary(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_never_an_acceptable_answer_nor_reported_applied() {
    let server = serve_updates(
        ResponseTemplate::new(302).insert_header("Location", "https://elsewhere.invalid/"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/stock"))
        .respond_with(ResponseTemplate::new(200).set_body_string(""))
        .mount(&server)
        .await;
    let mut o = options(&server, Profile::V1);
    o.cases = 30;
    let r = run(o).await;
    let f = failed(&r);
    let summary = stockwire_conform::console::summary(&r);
    assert!(f.contains(&"http-200".to_string()), "{summary}");
    assert!(
        f.contains(&"unknown-item-rejected".to_string()),
        "{summary}"
    );
    // Nothing was counted as applied: no stored value was expected, nothing was stored.
    assert_eq!(passed(&r, "stored-value"), 0, "{summary}");
    assert_eq!(passed(&r, "valid-item-accepted"), 0, "{summary}");
    assert!(passed(&r, "refused-not-stored") > 0, "{summary}");
    assert!(!f.contains(&"refused-not-stored".to_string()), "{summary}");
}

#[test]
fn partner_text_cannot_drive_the_terminal() {
    let body = "\u{1b}[2J\u{1b}[HResult: 0 checks failed\r\n\u{202e}";
    let shown = stockwire_conform::console::escape(body);
    assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    assert!(shown.contains("\\u{1b}[2J"), "{shown}");
    assert!(shown.contains("\\r\\n"), "{shown}");
    assert!(shown.contains("\\u{202e}"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_read_back_samples_kinds_within_a_budget_and_all_reads_every_case() {
    let server = partner(Mode::Correct, Profile::V1).await;
    let mut o = options(&server, Profile::V1);
    o.cases = 120;
    let sampled = run(o.clone()).await;
    let rb = sampled.read_back.clone().unwrap();
    let summary = stockwire_conform::console::summary(&sampled);
    // Sampled: fewer cases than the run, each kind at most once, and probe calls within the
    // budget of one per five cases (plus the floor) and the cases always read (auth refusals,
    // valid catalog items, a large batch's spread: at most 2 x 10 calls + a neighbor each).
    assert!(
        rb.cases_read > 0 && rb.cases_read < sampled.summary.cases,
        "{rb:?}"
    );
    let mut kinds = rb.kinds.clone();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), rb.kinds.len(), "a kind read twice: {rb:?}");
    assert!(rb.kinds.iter().any(|k| k == "missing-apikey"), "{rb:?}");
    assert!(rb.kinds.iter().any(|k| k == "valid-single"), "{rb:?}");
    assert!(rb.reads <= 12 + 120 / 5 + 22 * 4, "{rb:?}");
    assert!(summary.contains("kinds read back: "), "{summary}");
    assert!(
        summary.contains("--stock-sample all reads every case"),
        "{summary}"
    );
    for id in ["stored-value", "refused-not-stored", "auth-no-effect"] {
        assert!(passed(&sampled, id) > 0, "{id} never judged\n{summary}");
    }

    o.stock_sample = Some(stockwire_conform::config::StockSample::All);
    let all = run(o).await;
    let every = all.read_back.clone().unwrap();
    assert!(
        failed(&all).is_empty(),
        "{}",
        stockwire_conform::console::summary(&all)
    );
    assert!(every.cases_read > rb.cases_read * 3, "{every:?} vs {rb:?}");
    assert!(every.reads > rb.reads, "{every:?} vs {rb:?}");
    assert!(every.kinds.is_empty() && every.sample == "all", "{every:?}");
    assert!(passed(&all, "stored-value") > passed(&sampled, "stored-value"));
}
