//! A seller's session over a run (issue 18): tokens that expire are a partner's right (the run
//! logs in again once, re-sends, and reports the lifetime it saw as a partner choice), a fresh
//! token refused at once is a real refusal (no loop), and an apiKey that stops working is said
//! with the request it stopped at, the run then certifying nothing (exit 3).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_conform::config::Dur;
use stockwire_conform::events::NoSink;
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

async fn run(o: RunOptions) -> Report {
    stockwire_conform::run(o, &mut NoSink).await.unwrap()
}

fn failed(r: &Report) -> Vec<String> {
    r.failed_checks().map(|c| c.id.clone()).collect()
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
        let reply = |status: u16, body: Value| {
            ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
        };
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
    o.catalog =
        stockwire_schema::Catalog::read(&stockwire_tests::fixture("conform/catalog.json")).unwrap();
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
