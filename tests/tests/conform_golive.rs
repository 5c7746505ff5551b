//! The go-live flow: catalog partners (wiremock) that each break one catalog check, correct
//! partners (one per partner choice) that stay clean, and the whole flow against the stockwire
//! mock: discovery, the update cases on the discovered ids, the read-back through the listing,
//! and the restore.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_conform::config::{Dur, StockFrom};
use stockwire_conform::events::{NoSink, Recorder};
use stockwire_conform::{ConformError, Credentials, Report, RunOptions};
use stockwire_schema::{Catalog, CatalogEntry, Profile};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "golive-key";

/// The catalog checks, by id.
const CATALOG_CHECKS: [&str; 10] = [
    "count-answer",
    "listing-schema",
    "count-agrees",
    "pages-disjoint",
    "pages-complete",
    "past-end",
    "page-size",
    "sku-filter",
    "catalog-auth",
    "listing-reflects-update",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// A correct partner: pages of 50 products.
    None,
    /// Choice: pages of 50 variants.
    PagesOfVariants,
    /// Choice: a page past the end answers 404 with a message.
    PastEnd404,
    /// Choice: the filter takes one code only.
    FilterOneCode,
    /// Choice: publishedStatus is required.
    PublishedRequired,
    CountOffByOne,
    NoSku,
    Overlap,
    ShortPage,
    PastEnd500,
    PastEndRepeats,
    Endless,
    PageTooLarge,
    FilterIgnored,
    OpenListing,
    Count404,
    Listing404,
    /// The listing keeps showing the stock it had before any update.
    StaleListing,
    /// An update sent with a wrong apiKey is answered 401 and applied anyway.
    AppliesRefused,
    /// Choice: the listing shows the stock left after blocked units.
    ListsAvailable,
    /// The first pull shows product 50 at the end of the last page instead of first on page
    /// 2 (its order moved while it was pulled); read again, the boundary is elsewhere. Count,
    /// pages and ids all agree: only the boundary read again shows the move.
    BoundaryMoves,
}

/// A listed variant: variantId, sku, stock.
type Variant = (String, String, u32);

/// A listed product: its id and its variants.
type Product = (String, Vec<Variant>);

/// A partner's catalog calls, answering with `fault`.
struct Listing {
    fault: Fault,
    /// Products, each with its variants (variantId, sku, stock).
    products: Vec<Product>,
    /// Stock set by updates, by (product id, variantId).
    ledger: Ledger,
    /// Whether a page past the end was served (the first pull is over).
    pulled: Arc<std::sync::atomic::AtomicBool>,
}

/// Stock set by updates, shared by the partner's calls.
type Ledger = Arc<Mutex<HashMap<(String, String), u32>>>;

/// Units every variant holds back (the partner choosing to list the stock left after them
/// shows the stored stock minus this).
const BLOCKED: u32 = 2;

fn products(n: usize, variants: usize) -> Vec<Product> {
    (0..n)
        .map(|p| {
            (
                format!("P{p}"),
                (0..variants)
                    .map(|v| (format!("P{p}-{v}"), format!("SKU-{p}-{v}"), 5))
                    .collect(),
            )
        })
        .collect()
}

fn product_json(p: &Product, no_sku: bool) -> Value {
    product_json_with(p, no_sku, &HashMap::new(), Fault::None)
}

fn product_json_with(
    p: &Product,
    no_sku: bool,
    ledger: &HashMap<(String, String), u32>,
    f: Fault,
) -> Value {
    let variants: Vec<Value> = p
        .1
        .iter()
        .enumerate()
        .map(|(i, (v, sku, stock))| {
            let stored = match f {
                Fault::StaleListing => *stock,
                _ => ledger
                    .get(&(p.0.clone(), v.clone()))
                    .copied()
                    .unwrap_or(*stock),
            };
            let (shown, blocked) = match f {
                Fault::ListsAvailable => (stored.saturating_sub(BLOCKED), BLOCKED),
                _ => (stored, 0),
            };
            if no_sku && i == 0 {
                json!({"variantId": v, "inventory": shown})
            } else {
                json!({"variantId": v, "sku": sku, "inventory": shown, "blockedInventory": blocked})
            }
        })
        .collect();
    json!({"id": p.0, "variants": variants})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

impl Respond for Listing {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let f = self.fault;
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let authed = req.headers.get("apikey").and_then(|v| v.to_str().ok()) == Some(KEY);
        let listing = req.url.path() == "/products";
        if !(authed || listing && f == Fault::OpenListing) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "bad apiKey"}));
        }
        if f == Fault::PublishedRequired && !q.contains_key("publishedStatus") {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"message": "publishedStatus is required"}));
        }
        let variants: usize = self.products.iter().map(|p| p.1.len()).sum();
        if !listing {
            if f == Fault::Count404 {
                return ResponseTemplate::new(404).set_body_json(json!({"message": "not found"}));
            }
            // The short-page partner counts what its pages show (one item skipped).
            let n = variants + usize::from(f == Fault::CountOffByOne)
                - usize::from(f == Fault::ShortPage);
            return ok(json!({ "count": n }));
        }
        if f == Fault::Listing404 {
            return ResponseTemplate::new(404).set_body_json(json!({"message": "not found"}));
        }
        if let Some(codes) = q.get("skus").filter(|c| !c.is_empty()) {
            let mut codes: Vec<&str> = codes.split(',').collect();
            if f == Fault::FilterOneCode {
                codes.truncate(1);
            }
            if f != Fault::FilterIgnored {
                let list: Vec<Value> = self
                    .products
                    .iter()
                    .filter_map(|(id, vs)| {
                        let keep: Vec<Variant> = vs
                            .iter()
                            .filter(|v| codes.contains(&v.1.as_str()))
                            .cloned()
                            .collect();
                        let ledger = self.ledger.lock().unwrap();
                        (!keep.is_empty())
                            .then(|| product_json_with(&(id.clone(), keep), false, &ledger, f))
                    })
                    .collect();
                return ok(json!({ "products": list }));
            }
        }
        let page: usize = q
            .get("pageNumber")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        // Pages as (start, end) product indexes.
        let (start, end) = match f {
            Fault::PagesOfVariants => {
                let per = 50 / self.products.first().map_or(1, |p| p.1.len().max(1));
                ((page - 1) * per, page * per)
            }
            Fault::PageTooLarge => ((page - 1) * 60, page * 60),
            Fault::Overlap if page > 1 => ((page - 1) * 50 - 1, page * 50 - 1),
            Fault::ShortPage if page == 1 => (0, 49),
            _ => ((page - 1) * 50, page * 50),
        };
        let total = self.products.len();
        let moved;
        let shown = if f == Fault::BoundaryMoves
            && !self.pulled.load(std::sync::atomic::Ordering::SeqCst)
            && total > 50
        {
            let mut order = self.products.clone();
            let p = order.remove(50);
            order.push(p);
            moved = order;
            &moved
        } else {
            &self.products
        };
        if start >= total {
            self.pulled.store(true, std::sync::atomic::Ordering::SeqCst);
            return match f {
                Fault::PastEnd404 => {
                    ResponseTemplate::new(404).set_body_json(json!({"message": "no such page"}))
                }
                Fault::PastEnd500 => ResponseTemplate::new(500).set_body_string("boom"),
                Fault::PastEndRepeats => {
                    let last = (total - 1) / 50 * 50;
                    let list: Vec<Value> = self.products[last..]
                        .iter()
                        .map(|p| product_json(p, false))
                        .collect();
                    ok(json!({ "products": list }))
                }
                Fault::Endless => {
                    let list: Vec<Value> = (0..50)
                        .map(|i| {
                            product_json(
                                &(
                                    format!("X{page}-{i}"),
                                    vec![(format!("X{page}-{i}-0"), format!("XS{page}-{i}"), 1)],
                                ),
                                false,
                            )
                        })
                        .collect();
                    ok(json!({ "products": list }))
                }
                _ => ok(json!({ "products": [] })),
            };
        }
        let ledger = self.ledger.lock().unwrap();
        let list: Vec<Value> = shown[start..end.min(total)]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                product_json_with(p, f == Fault::NoSku && page == 1 && i == 3, &ledger, f)
            })
            .collect();
        ok(json!({ "products": list }))
    }
}

/// The partner's `/updateInventory`: applies every known item with a whole inventory.
struct Update {
    fault: Fault,
    products: Vec<Product>,
    ledger: Ledger,
}

impl Respond for Update {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let authed = req.headers.get("apikey").and_then(|v| v.to_str().ok()) == Some(KEY);
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let items = body["inventoryList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut failed = Vec::new();
        for item in &items {
            let p = item["productId"].as_str().unwrap_or("").to_string();
            let v = item["variantId"].as_str().unwrap_or("").to_string();
            let known = self
                .products
                .iter()
                .any(|(id, vs)| *id == p && vs.iter().any(|x| x.0 == v));
            match item["inventory"].as_u64() {
                Some(n) if known && (authed || self.fault == Fault::AppliesRefused) => {
                    self.ledger.lock().unwrap().insert((p, v), n as u32);
                }
                _ => failed.push(json!({"productId": p, "variantId": v, "message": "refused"})),
            }
        }
        if !authed {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"status": "FAILED", "failedProductList": []}));
        }
        let status = match (failed.len(), items.len()) {
            (0, _) => "SUCCESS",
            (f, n) if f == n => "FAILED",
            _ => "PARTIAL_SUCCESS",
        };
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": status, "failedProductList": failed}))
    }
}

async fn partner(fault: Fault, products: Vec<Product>) -> MockServer {
    partner_with_ledger(fault, products, Ledger::default()).await
}

/// [`partner`], storing updates in `ledger`.
async fn partner_with_ledger(fault: Fault, products: Vec<Product>, ledger: Ledger) -> MockServer {
    let server = MockServer::start().await;
    for p in ["/productsCount", "/products"] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(Listing {
                fault,
                products: products.clone(),
                ledger: ledger.clone(),
                pulled: Default::default(),
            })
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/updateInventory"))
        .respond_with(Update {
            fault,
            products,
            ledger,
        })
        .mount(&server)
        .await;
    server
}

fn options(url: String) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.profile = Profile::V1;
    o.credentials = Credentials::ApiKey(KEY.into());
    o.seed = 7;
    o.cases = 4;
    o.concurrency = 2;
    o.checks = CATALOG_CHECKS.iter().map(|c| c.to_string()).collect();
    o.no_restore = true;
    o.stock_from = Some(StockFrom::None);
    o.stock_settle = Duration::from_millis(100);
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    o
}

fn failed(r: &Report) -> Vec<String> {
    r.failed_checks().map(|c| c.id.clone()).collect()
}

fn passed(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.passed > 0 && c.failed == 0)
        .map(|c| c.id.clone())
        .collect()
}

fn choices(r: &Report) -> Vec<String> {
    r.choices
        .iter()
        .map(|c| format!("{}: {}", c.topic, c.choice))
        .collect()
}

async fn run_against(fault: Fault, products: Vec<Product>) -> Report {
    let server = partner(fault, products).await;
    stockwire_conform::run(options(server.uri()), &mut NoSink)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_correct_listing_passes_every_catalog_check() {
    let r = run_against(Fault::None, products(120, 2)).await;
    assert_eq!(failed(&r), Vec::<String>::new(), "{:?}", r.failures);
    for id in CATALOG_CHECKS {
        assert!(passed(&r).contains(&id.to_string()), "{id} did not pass");
    }
    assert!(
        choices(&r).contains(&"skus-filter: a comma-separated list of codes".to_string()),
        "{:?}",
        choices(&r)
    );
    assert!(choices(&r).contains(&"page-size: pages count products".to_string()));
    assert!(choices(&r).contains(&"published-status: publishedStatus may be left out".to_string()));
}

#[tokio::test]
async fn each_partner_choice_stays_clean_and_is_reported() {
    for (fault, choice) in [
        (Fault::PagesOfVariants, "page-size: pages count variants"),
        (
            Fault::PastEnd404,
            "listing-end: HTTP 404 past the last page",
        ),
        (Fault::FilterOneCode, "skus-filter: one code per request"),
        (
            Fault::PublishedRequired,
            "published-status: publishedStatus is required",
        ),
        (
            Fault::ListsAvailable,
            "listed-inventory: the stock left after blockedInventory",
        ),
    ] {
        let r = run_against(fault, products(120, 2)).await;
        assert_eq!(
            failed(&r),
            Vec::<String>::new(),
            "{fault:?}: {:?}",
            r.failures
        );
        assert!(
            choices(&r).contains(&choice.to_string()),
            "{fault:?}: {:?}",
            choices(&r)
        );
    }
}

#[tokio::test]
async fn each_broken_listing_fails_only_its_check() {
    for (fault, check) in [
        (Fault::CountOffByOne, "count-agrees"),
        (Fault::NoSku, "listing-schema"),
        (Fault::Overlap, "pages-disjoint"),
        (Fault::ShortPage, "pages-complete"),
        (Fault::BoundaryMoves, "pages-complete"),
        (Fault::PastEnd500, "past-end"),
        (Fault::PastEndRepeats, "past-end"),
        (Fault::Endless, "past-end"),
        (Fault::PageTooLarge, "page-size"),
        (Fault::FilterIgnored, "sku-filter"),
        (Fault::OpenListing, "catalog-auth"),
        (Fault::StaleListing, "listing-reflects-update"),
        (Fault::AppliesRefused, "listing-reflects-update"),
    ] {
        let r = run_against(fault, products(120, 1)).await;
        assert_eq!(
            failed(&r),
            vec![check.to_string()],
            "{fault:?}: {:?}",
            r.failures
        );
        assert_eq!(r.summary.exit_code, 1, "{fault:?}");
        // A failing catalog check carries the request that shows it, as a curl with the apiKey
        // as `$APIKEY` (the reflect check judges updates, not one catalog answer).
        if check != "listing-reflects-update" {
            let f = r.failures.iter().find(|f| f.check == check).unwrap();
            assert!(!f.curl.is_empty(), "{fault:?}: no curl");
            assert_eq!(f.curl.len(), f.exchanges.len());
            for c in &f.curl {
                assert!(c.starts_with("curl -sS -i -X GET '"), "{fault:?}: {c}");
                assert!(c.contains("/products"), "{fault:?}: {c}");
                assert!(!c.contains(KEY), "{fault:?}: {c}");
            }
            if fault != Fault::OpenListing {
                assert!(
                    f.curl[0].contains("apiKey: $APIKEY"),
                    "{fault:?}: {}",
                    f.curl[0]
                );
            }
        }
    }
}

/// A catalog check's failure shows its request, answer and curl in every report, as an
/// update's failure does.
#[tokio::test]
async fn a_catalog_failure_shows_its_curl_in_every_report() {
    let r = run_against(Fault::ShortPage, products(120, 1)).await;
    let f = r
        .failures
        .iter()
        .find(|f| f.check == "pages-complete")
        .unwrap();
    let curl = &f.curl[0];
    assert!(
        curl.contains("/products?pageNumber=1&pageSize=50"),
        "{curl}"
    );
    let console = stockwire_conform::console::summary(&r);
    assert!(
        console.contains("reproduce: curl -sS -i -X GET"),
        "{console}"
    );
    assert!(console.contains("/products?pageNumber=1"), "{console}");
    let json: Value = serde_json::from_str(&r.to_json()).unwrap();
    let failure = json["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "pages-complete")
        .unwrap();
    assert_eq!(failure["curl"][0], curl.as_str());
    assert_eq!(failure["exchanges"][0]["request"]["method"], "GET");
    let html = stockwire_conform::html::to_html(&r);
    assert!(
        html.contains("curl -sS -i -X GET"),
        "no curl in the HTML report"
    );
    let junit = stockwire_conform::junit::to_junit(&r);
    assert!(
        junit.contains("curl -sS -i -X GET"),
        "no curl in the JUnit report"
    );
}

#[tokio::test]
async fn a_missing_catalog_call_fails_its_check_and_the_run_goes_on_with_the_given_items() {
    for (fault, check) in [
        (Fault::Count404, "count-answer"),
        (Fault::Listing404, "listing-schema"),
    ] {
        let server = partner(fault, products(10, 1)).await;
        let mut o = options(server.uri());
        o.catalog = Catalog {
            entries: vec![CatalogEntry::new("P1", "P1-0")],
        };
        let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
        assert!(
            failed(&r).contains(&check.to_string()),
            "{fault:?}: {:?}",
            failed(&r)
        );
        assert_eq!(r.summary.exit_code, 1);
        assert!(r.summary.cases > 0, "{fault:?}: the update cases still run");
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("mandatory for go-live")),
            "{:?}",
            r.warnings
        );
    }
}

#[tokio::test]
async fn a_count_of_zero_without_items_certifies_nothing() {
    let server = partner(Fault::None, vec![]).await;
    let e = stockwire_conform::run(options(server.uri()), &mut NoSink)
        .await
        .unwrap_err();
    assert!(matches!(e, ConformError::NothingToCertify { .. }), "{e}");
    assert!(e.to_string().contains("Uniware would stop here too"), "{e}");
    // With given items, the update cases still run.
    let mut o = options(server.uri());
    o.catalog = Catalog {
        entries: vec![CatalogEntry::new("P1", "P1-0")],
    };
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(r.summary.cases > 0);
}

#[tokio::test]
async fn discovery_is_bounded_by_the_count_and_by_max_pages() {
    // An endless listing with a count of 120 is cut after 120 / 50 + 3 pages.
    let server = partner(Fault::Endless, products(120, 1)).await;
    let r = stockwire_conform::run(options(server.uri()), &mut NoSink)
        .await
        .unwrap();
    let asked = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|q| q.url.path() == "/products" && !q.url.query().unwrap_or("").contains("skus"))
        .count();
    assert!(asked <= 2 + 3 + 4, "{asked} listing requests");
    assert!(failed(&r).contains(&"past-end".to_string()));
    // --max-pages caps a listing whose count is unknown.
    let server = partner(Fault::Endless, products(120, 1)).await;
    let mut o = options(server.uri());
    o.max_pages = 2;
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(failed(&r).contains(&"past-end".to_string()));
}

#[tokio::test]
async fn no_discovery_says_which_calls_were_not_certified() {
    let server = partner(Fault::None, products(3, 1)).await;
    let mut o = options(server.uri());
    o.discovery = false;
    o.catalog = Catalog {
        entries: vec![CatalogEntry::new("P1", "P1-0")],
    };
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("/productsCount") && w.contains("not certified")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.checks
            .iter()
            .filter(|c| CATALOG_CHECKS.contains(&c.id.as_str()))
            .all(|c| c.skip_reason.is_some())
    );
    let catalog_calls = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|q| q.url.path() != "/updateInventory")
        .count();
    assert_eq!(catalog_calls, 0);
}

/// The whole flow against the stockwire mock, read back through its listing: every catalog
/// check passes, the update cases use the discovered ids, the state checks run through the
/// listing, and the listed stock is restored.
#[tokio::test]
async fn the_flow_against_the_mock_reads_stock_through_the_listing_and_restores_it() {
    let mock = stockwire_mock::MockMarketplace::builder()
        .profile(Profile::V1)
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    let mut o = RunOptions::new(mock.url());
    o.profile = Profile::V1;
    o.seed = 11;
    o.cases = 40;
    o.seller = Some(stockwire_mock::demo::SELLER.into());
    o.credentials = Credentials::Login {
        username: stockwire_mock::demo::USERNAME.into(),
        password: stockwire_mock::demo::PASSWORD.into(),
    };
    o.stock_from = Some(StockFrom::Listing);
    o.stock_settle = Duration::from_millis(200);
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    let mut rec = Recorder::default();
    let r = stockwire_conform::run(o, &mut rec).await.unwrap();
    assert_eq!(failed(&r), Vec::<String>::new(), "{:?}", r.failures);
    for id in CATALOG_CHECKS {
        assert!(passed(&r).contains(&id.to_string()), "{id} did not pass");
    }
    assert!(
        rec.notices
            .iter()
            .any(|n| n.starts_with("discovered catalog:")),
        "{:?}",
        rec.notices
    );
    assert!(
        rec.notices
            .iter()
            .any(|n| n.contains("restores the listed stock"))
    );
    let rb = r.read_back.as_ref().expect("a read-back");
    assert!(rb.reader.starts_with("listing"), "{}", rb.reader);
    assert!(
        passed(&r).contains(&"stored-value".to_string()),
        "{:?}",
        r.checks
    );
    let restore = r.restore.as_ref().expect("restored");
    assert_eq!(restore.failed, 0, "{restore:?}");
    assert!(restore.restored > 0);
}

/// `--stock-from listing` with a probe is a usage error.
#[test]
fn listing_and_a_probe_do_not_go_together() {
    let cfg: stockwire_conform::ConfigFile =
        toml::from_str("stock-from = \"listing\"\nstock-probe = \"echo 1\"").unwrap();
    let e = cfg
        .run_options("http://127.0.0.1:1".into(), |_| None)
        .unwrap_err();
    assert!(e.to_string().contains("stock-from"), "{e}");
}

/// The mock's `listing-skip` scenario: page 2 starts one product late and its last product
/// opens page 3 too, so the listing entries reach the count while one product is on no page.
/// `pages-complete` catches the skip the repeat hides (besides the repeat and the count).
#[tokio::test]
async fn a_skip_hidden_by_a_repeat_is_caught_against_the_count() {
    let catalog = Catalog {
        entries: (0..120)
            .flat_map(|i| {
                ["A", "B"].map(|v| CatalogEntry {
                    stock: Some(1),
                    ..CatalogEntry::new(format!("P{i:04}"), format!("P{i:04}-{v}"))
                })
            })
            .collect(),
    };
    let scenario =
        stockwire_mock::Scenario::read(&stockwire_tests::fixture("scenarios/listing-skip.toml"))
            .unwrap();
    let mock = stockwire_mock::MockMarketplace::builder()
        .catalog(catalog)
        .scenario(scenario)
        .start()
        .await
        .unwrap();
    let mut o = options(mock.url());
    o.credentials = Credentials::ApiKey(mock.token("demo").unwrap());
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(
        failed(&r).contains(&"pages-complete".to_string()),
        "{:?}",
        r.failures
    );
    let f = r
        .failures
        .iter()
        .find(|f| f.check == "pages-complete")
        .unwrap();
    assert!(
        f.message
            .contains("240 listing(s) for a count of 240, but only 238 distinct"),
        "{}",
        f.message
    );
}

/// Under the available-stock choice (the listing shows the stored stock minus the blocked
/// units), `--restore` sets each item back to the listed stock plus its blocked units: the
/// stock it stored before the run, not the smaller number the listing showed.
#[tokio::test]
async fn the_restore_adds_the_blocked_units_back_under_the_available_stock_choice() {
    for fault in [Fault::ListsAvailable, Fault::None] {
        let ledger = Ledger::default();
        let server = partner_with_ledger(fault, products(60, 1), ledger.clone()).await;
        let mut o = options(server.uri());
        o.no_restore = false;
        o.restore = true;
        o.cases = 12;
        let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
        assert_eq!(
            failed(&r),
            Vec::<String>::new(),
            "{fault:?}: {:?}",
            r.failures
        );
        let restore = r.restore.as_ref().expect("restored");
        assert_eq!(restore.failed, 0, "{restore:?}");
        assert!(restore.restored > 0, "{restore:?}");
        let want = if fault == Fault::ListsAvailable {
            "listing-plus-blocked"
        } else {
            "catalog"
        };
        assert_eq!(restore.source, want, "{fault:?}");
        // Every item the run touched holds its stock from before the run (5) again.
        let ledger = ledger.lock().unwrap();
        assert!(!ledger.is_empty());
        for (key, stock) in ledger.iter() {
            assert_eq!(*stock, 5, "{fault:?}: {key:?}");
        }
    }
}
