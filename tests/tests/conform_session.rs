//! A seller's session over a run (issue 18): tokens that expire are a partner's right (the run
//! logs in again once, re-sends, and reports the lifetime it saw as a partner choice), a fresh
//! token refused at once is a real refusal (no loop), and an apiKey that stops working is said
//! with the request it stopped at, the run then certifying nothing (exit 3).

use stockwire_tests::partner_kit;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use partner_kit::{batch_answer, catalog, envelope_items, failed, item_ids, reply, run};
use serde_json::{Value, json};
use stockwire_conform::config::Dur;
use stockwire_conform::{Credentials, Report, RunOptions};
use stockwire_mock::scenario::Format;
use stockwire_mock::verify::{Expectation, SellerQuery};
use stockwire_mock::{MockMarketplace, Scenario, demo};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn scenario(toml: &str) -> Scenario {
    Scenario::parse(toml, Format::Toml, "test").unwrap()
}

async fn mock(s: Scenario) -> MockMarketplace {
    MockMarketplace::builder()
        .catalog(demo::catalog())
        .scenario(s)
        .start()
        .await
        .unwrap()
}

fn options(url: String, credentials: Credentials) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.credentials = credentials;
    o.seed = 18;
    o.cases = 80;
    o.concurrency = 2;
    o.shrink_requests = 12;
    o.seller = Some(demo::SELLER.into());
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    o
}

fn login() -> Credentials {
    Credentials::Login {
        username: demo::USERNAME.into(),
        password: demo::PASSWORD.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_expire_after_n_requests_are_renewed_and_the_lifetime_is_a_choice() {
    let m = mock(scenario("[[tokens]]\nrequests = 25\n")).await;
    let r = run(options(m.url(), login())).await;
    let summary = stockwire_conform::console::summary(&r);
    assert!(failed(&r).is_empty(), "{summary}");
    assert_eq!(r.summary.exit_code, 0, "{summary}");
    let life = r
        .choices
        .iter()
        .find(|c| c.topic == "token-lifetime")
        .unwrap_or_else(|| panic!("no token-lifetime choice\n{summary}"));
    assert!(
        life.choice.contains("after login; the run logged in again"),
        "{life:?}"
    );
    assert!(life.count >= 1, "{life:?}");
    // The mock saw the new logins.
    let verdict = m.verify(&[Expectation {
        reauthenticated: Some(SellerQuery::default()),
        min: Some(1),
        ..Expectation::default()
    }]);
    assert!(verdict.ok, "{:?}", verdict.results);
    assert!(
        !r.warnings.iter().any(|w| w.contains("stopped working")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_that_stops_working_is_named_with_its_request_and_certifies_nothing() {
    let m = mock(scenario("[[tokens]]\nrequests = 10\n")).await;
    let key = m.token(demo::SELLER).unwrap();
    let r = run(options(m.url(), Credentials::ApiKey(key))).await;
    let summary = stockwire_conform::console::summary(&r);
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("the apiKey stopped working from request"))
        .unwrap_or_else(|| panic!("no warning\n{summary}"));
    assert!(w.contains(", case "), "{w}");
    // Most requests were refused: nothing certified, exit 3, never a violation of the partner.
    assert_eq!(r.summary.exit_code, 3, "{summary}");
    assert!(failed(&r).is_empty(), "{summary}");
    assert!(!r.choices.iter().any(|c| c.topic == "token-lifetime"));
}

/// A partner whose first token works for a few updates and whose every later token is refused
/// at once: the run logs in again once, and the fresh token's refusal stands.
struct FreshRefused {
    logins: AtomicU64,
    updates: AtomicU64,
}

/// Serves [`FreshRefused`] to wiremock.
struct FreshServe(Arc<FreshRefused>);

impl Respond for FreshServe {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req.url.path() == "/authToken" {
            let n = self.0.logins.fetch_add(1, Ordering::SeqCst);
            return reply(
                200,
                json!({"status": "SUCCESS", "accessToken": format!("token-{n}")}),
            );
        }
        let key = req
            .headers
            .get("apiKey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let n = self.0.updates.fetch_add(1, Ordering::SeqCst);
        if key == "token-0" && n < 5 {
            return reply(200, json!({"status": "SUCCESS", "failedProductList": []}));
        }
        reply(401, json!({"message": "apiKey expired"}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_refused_at_once_is_a_refusal_without_a_login_loop() {
    let server = MockServer::start().await;
    let p = Arc::new(FreshRefused {
        logins: AtomicU64::new(0),
        updates: AtomicU64::new(0),
    });
    for (m, at) in [
        ("GET", "/authToken"),
        ("POST", "/authToken"),
        ("POST", "/updateInventory"),
    ] {
        Mock::given(method(m))
            .and(path(at))
            .respond_with(FreshServe(p.clone()))
            .mount(&server)
            .await;
    }
    let mut o = options(server.uri(), login());
    o.discovery = false;
    o.seller = None;
    o.catalog = catalog();
    let r = run(o).await;
    let summary = stockwire_conform::console::summary(&r);
    // The first login, and one more after the first token stopped working: the fresh token
    // never worked, so its 401s are refusals, not expiries.
    assert_eq!(p.logins.load(Ordering::SeqCst), 2, "{summary}");
    assert_eq!(r.summary.exit_code, 3, "{summary}");
    let life = r.choices.iter().find(|c| c.topic == "token-lifetime");
    assert!(
        life.is_some_and(|c| c.count == 1 && c.choice.contains("request(s) after login")),
        "{:?}",
        r.choices
    );
}

// Seller isolation: two sellers of one account, each with its own stock of an item both hold
// (P1/V1) and an item of its own. `FirstSeller` writes every update to the first seller it
// finds, whoever's apiKey sent it (a master account without a seller id).

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sellers {
    /// Writes to the seller whose token sent the update.
    Correct,
    /// Writes to `acme` (the first seller) whatever token sent the update.
    FirstSeller,
}

struct TwoSellers {
    mode: Sellers,
    catalog: stockwire_schema::Catalog,
    store: std::sync::Mutex<std::collections::HashMap<(String, String, String), u32>>,
}

const SELLERS: [&str; 2] = ["acme", "globex"];

fn two_seller_catalog() -> stockwire_schema::Catalog {
    stockwire_schema::Catalog::read(&stockwire_tests::fixture("catalogs/two-sellers.csv")).unwrap()
}

impl TwoSellers {
    fn new(mode: Sellers) -> Arc<Self> {
        let catalog = two_seller_catalog();
        let mut store = std::collections::HashMap::new();
        for s in SELLERS {
            for e in catalog.for_seller(s) {
                if let Some(n) = e.stock {
                    store.insert(
                        (s.to_string(), e.product_id.clone(), e.variant_id.clone()),
                        n,
                    );
                }
            }
        }
        Arc::new(TwoSellers {
            mode,
            catalog,
            store: std::sync::Mutex::new(store),
        })
    }

    fn update(&self, req: &Request) -> ResponseTemplate {
        let token = req
            .headers
            .get("apikey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(seller) = SELLERS.iter().find(|s| token == format!("token-{s}")) else {
            return reply(401, json!({"status": "FAILED", "failedProductList": []}));
        };
        let seller = match self.mode {
            Sellers::Correct => *seller,
            Sellers::FirstSeller => SELLERS[0],
        };
        let c = stockwire_schema::contract(stockwire_schema::Profile::V1);
        let Some(items) = envelope_items(c, &req.body) else {
            return reply(400, json!({"status": "FAILED", "failedProductList": []}));
        };
        let mut failed = Vec::new();
        let mut writes = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let (p, v) = item_ids(item);
            let known = self
                .catalog
                .for_seller(seller)
                .any(|e| e.product_id == p && e.variant_id == v);
            let count = item.get("inventory").and_then(Value::as_u64);
            match (c.validate_item(i, item).is_empty() && known, count) {
                (true, Some(n)) => writes.push((p, v, n as u32)),
                _ => failed
                    .push(json!({"productId": p, "variantId": v, "message": "Variant not found"})),
            }
        }
        let mut store = self.store.lock().unwrap();
        for (p, v, n) in writes {
            if !failed
                .iter()
                .any(|f| f["productId"] == p && f["variantId"] == v)
            {
                store.insert((seller.to_string(), p, v), n);
            }
        }
        let all_failed = failed.len() >= items.len();
        batch_answer(failed, all_failed)
    }
}

/// Serves [`TwoSellers`] to wiremock.
struct TwoServe(Arc<TwoSellers>);

impl Respond for TwoServe {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: std::collections::HashMap<String, String> =
            req.url.query_pairs().into_owned().collect();
        match req.url.path() {
            "/authToken" => {
                let user = q.get("username").cloned().unwrap_or_default();
                match SELLERS.iter().find(|s| **s == user) {
                    Some(s) => ResponseTemplate::new(200).set_body_raw(
                        json!({"status": "SUCCESS", "accessToken": format!("token-{s}")})
                            .to_string(),
                        "application/json",
                    ),
                    None => ResponseTemplate::new(401),
                }
            }
            "/stock" => {
                let key = (
                    q.get("s").cloned().unwrap_or_default(),
                    q.get("p").cloned().unwrap_or_default(),
                    q.get("v").cloned().unwrap_or_default(),
                );
                let body = self
                    .0
                    .store
                    .lock()
                    .unwrap()
                    .get(&key)
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                ResponseTemplate::new(200).set_body_string(body)
            }
            _ => self.0.update(req),
        }
    }
}

async fn two_sellers(mode: Sellers) -> (MockServer, Arc<TwoSellers>) {
    let server = MockServer::start().await;
    let p = TwoSellers::new(mode);
    for (m, at) in [
        ("GET", "/authToken"),
        ("GET", "/stock"),
        ("POST", "/updateInventory"),
    ] {
        Mock::given(method(m))
            .and(path(at))
            .respond_with(TwoServe(p.clone()))
            .mount(&server)
            .await;
    }
    (server, p)
}

fn two_seller_options(server: &MockServer) -> RunOptions {
    let mut o = options(
        server.uri(),
        Credentials::Login {
            username: "acme".into(),
            password: "a".into(),
        },
    );
    o.second_seller = Credentials::Login {
        username: "globex".into(),
        password: "g".into(),
    };
    o.seller = Some("acme".into());
    o.catalog = two_seller_catalog();
    o.discovery = false;
    o.cases = 30;
    o.restore = true;
    o.stock_settle = Duration::from_millis(200);
    o.stock_probe = Some(format!(
        "curl -sf \"{}/stock?s={{seller:url}}&p={{productId:url}}&v={{variantId:url}}\"",
        server.uri()
    ));
    o
}

fn status_of<'a>(r: &'a Report, id: &str) -> &'a stockwire_conform::report::CheckResult {
    r.checks.iter().find(|c| c.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sellers_kept_apart_pass_seller_isolation_and_both_stocks_are_restored() {
    let (server, p) = two_sellers(Sellers::Correct).await;
    let before = p.store.lock().unwrap().clone();
    let r = run(two_seller_options(&server)).await;
    let summary = stockwire_conform::console::summary(&r);
    assert!(failed(&r).is_empty(), "{summary}");
    assert!(status_of(&r, "seller-isolation").passed > 0, "{summary}");
    // The probes' writes are set back on both sellers (the run's own restore covers A's
    // catalog too): globex's stock is as it was.
    let after = p.store.lock().unwrap().clone();
    for (k, v) in before.iter().filter(|(k, _)| k.0 == "globex") {
        assert_eq!(after.get(k), Some(v), "{k:?}\n{summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_writing_to_the_first_seller_it_finds_fails_seller_isolation_only() {
    let (server, _p) = two_sellers(Sellers::FirstSeller).await;
    let r = run(two_seller_options(&server)).await;
    let summary = stockwire_conform::console::summary(&r);
    assert_eq!(
        failed(&r),
        vec!["seller-isolation".to_string()],
        "{summary}"
    );
    let f = r
        .failures
        .iter()
        .find(|f| f.check == "seller-isolation")
        .unwrap();
    assert!(
        f.message.contains("seller B's update of its own item"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("changed seller A's stock"),
        "{}",
        f.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_seller_seller_isolation_is_skipped_and_says_why() {
    let (server, _p) = two_sellers(Sellers::Correct).await;
    let mut o = two_seller_options(&server);
    o.second_seller = Credentials::None;
    let r = run(o).await;
    let c = status_of(&r, "seller-isolation");
    assert_eq!(c.passed + c.failed, 0);
    let why = c.skip_reason.clone().unwrap_or_default();
    assert!(why.contains("with one seller"), "{why}");
    assert!(why.contains("second seller"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_with_two_sellers_stays_clean_with_both_read_through_the_ledger() {
    use stockwire_mock::Credentials as Seller;
    let m = MockMarketplace::builder()
        .catalog(two_seller_catalog())
        .seller(Seller::new("acme", "acme", "acme-pass"))
        .seller(Seller::new("globex", "globex", "globex-pass"))
        .start()
        .await
        .unwrap();
    let mut o = options(
        m.url(),
        Credentials::Login {
            username: "acme".into(),
            password: "acme-pass".into(),
        },
    );
    o.seller = Some("acme".into());
    o.second_seller = Credentials::Login {
        username: "globex".into(),
        password: "globex-pass".into(),
    };
    o.cases = 40;
    let r = run(o).await;
    let summary = stockwire_conform::console::summary(&r);
    assert!(failed(&r).is_empty(), "{summary}");
    assert!(status_of(&r, "seller-isolation").passed > 0, "{summary}");
    assert_eq!(m.stock("globex", "P3", "V1"), Some(7), "{summary}");
    assert_eq!(m.stock("globex", "P1", "V1"), Some(10), "{summary}");
}

#[test]
fn two_sellers_in_the_config_file_are_the_seller_under_test_and_the_second_one() {
    let cfg: stockwire_conform::ConfigFile = toml::from_str(
        "[[sellers]]\nusername = \"acme\"\npassword-env = \"A_PW\"\n\n[[sellers]]\napi-key-env = \"B_KEY\"\n",
    )
    .unwrap();
    let env = |v: &str| match v {
        "A_PW" => Some("a-secret".to_string()),
        "B_KEY" => Some("b-key".to_string()),
        _ => None,
    };
    let o = cfg.run_options("http://127.0.0.1:1".into(), env).unwrap();
    assert!(
        matches!(&o.credentials, Credentials::Login { username, password } if username == "acme" && password == "a-secret")
    );
    assert!(matches!(&o.second_seller, Credentials::ApiKey(k) if k == "b-key"));
    // [auth] takes the place of the first entry; a third entry is refused.
    let three: stockwire_conform::ConfigFile =
        toml::from_str("[[sellers]]\nusername = \"a\"\n[[sellers]]\nusername = \"b\"\n[[sellers]]\nusername = \"c\"\n")
            .unwrap();
    let e = three
        .run_options("http://127.0.0.1:1".into(), |_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most two"), "{e}");
}

#[test]
fn the_cli_against_a_mock_whose_tokens_expire_stays_clean_and_reports_the_lifetime() {
    let r = stockwire_tests::stockwire(&[
        "conform",
        "--target-scenario",
        "fixtures/scenarios/token-expiry-requests.toml",
        "--cases",
        "80",
        "--seed",
        "18",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("token-lifetime"), "{}", r.stdout);
    assert!(r.stdout.contains("the run logged in again"), "{}", r.stdout);
}
