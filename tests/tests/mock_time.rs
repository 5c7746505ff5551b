//! Behaviour over time, with an injected clock: token lifetimes and revocation, rate limits
//! and Retry-After, daily windows, and random failures that do not depend on arrival order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::clock::ManualClock;
use stockwire_mock::scenario::Format;
use stockwire_mock::verify::{Expectation, RateQuery, SellerQuery};
use stockwire_mock::{MockMarketplace, Scenario, demo};
use stockwire_tests::http::{send, update};
use stockwire_tests::{fixture, stockwire};

fn scenario(toml: &str) -> Scenario {
    Scenario::parse(toml, Format::Toml, "test").unwrap()
}

fn one(p: &str, n: i64) -> Value {
    json!({"inventoryList": [{"productId": p, "variantId": "V", "inventory": n}]})
}

async fn mock(s: Scenario, clock: &Arc<ManualClock>) -> MockMarketplace {
    MockMarketplace::builder()
        .scenario(s)
        .clock(clock.clone())
        .start()
        .await
        .unwrap()
}

async fn login(url: &str) -> String {
    let r = send(
        url,
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
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["accessToken"].as_str().unwrap().to_string()
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

#[tokio::test]
async fn tokens_expire_on_their_own_and_fresh_ones_overlap() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(scenario("[[tokens]]\nlifetime = '10m'\n"), &clock).await;
    let first = login(&m.url()).await;
    assert_eq!(
        update(&m.url(), Some(&first), &one("P1", 1)).await.status,
        200
    );
    clock.advance(minutes(6));
    let second = login(&m.url()).await;
    assert_ne!(
        first, second,
        "with a lifetime, each login issues a fresh token"
    );
    assert_eq!(
        update(&m.url(), Some(&first), &one("P1", 2)).await.status,
        200
    );
    clock.advance(minutes(5));
    let r = update(&m.url(), Some(&first), &one("P1", 3)).await;
    assert_eq!(r.status, 401);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("apiKey expired") && msg.contains("10m"),
        "{msg}"
    );
    assert_eq!(
        m.stock("demo", "P1", "V"),
        Some(2),
        "nothing applied after expiry"
    );
    assert_eq!(
        update(&m.url(), Some(&second), &one("P1", 4)).await.status,
        200
    );
    assert!(
        m.journal()
            .iter()
            .any(|e| e.notes.iter().any(|n| n.contains("expired")))
    );
    let report = m.verify(&[Expectation {
        reauthenticated: Some(SellerQuery::default()),
        count: Some(1),
        ..Expectation::default()
    }]);
    assert!(report.ok, "{:?}", report.results);
}

#[tokio::test]
async fn request_counted_lifetimes_expire_after_n_requests() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(scenario("[[tokens]]\nrequests = 2\n"), &clock).await;
    let t = login(&m.url()).await;
    for n in 0..2 {
        assert_eq!(update(&m.url(), Some(&t), &one("P1", n)).await.status, 200);
    }
    let r = update(&m.url(), Some(&t), &one("P1", 9)).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("good for 2 requests"), "{}", r.text());
}

#[tokio::test]
async fn without_a_lifetime_a_pasted_token_keeps_working() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(Scenario::default(), &clock).await;
    let t = login(&m.url()).await;
    assert_eq!(Some(t.clone()), m.token("demo"));
    assert_eq!(login(&m.url()).await, t, "stable without a lifetime");
    clock.advance(Duration::from_secs(86_400 * 30));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 1)).await.status, 200);
}

#[tokio::test]
async fn the_admin_api_revokes_a_sellers_tokens_at_once() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(scenario("[[tokens]]\nlifetime = '1h'\n"), &clock).await;
    let a = login(&m.url()).await;
    let b = login(&m.url()).await;
    let r = send(
        &m.url(),
        "POST",
        "/__admin/tokens/revoke?seller=demo",
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    for t in [&a, &b] {
        let r = update(&m.url(), Some(t), &one("P1", 1)).await;
        assert_eq!(r.status, 401);
        assert!(r.text().contains("revoked"), "{}", r.text());
    }
    let c = login(&m.url()).await;
    assert_eq!(update(&m.url(), Some(&c), &one("P1", 1)).await.status, 200);
    let r = send(
        &m.url(),
        "POST",
        "/__admin/tokens/revoke",
        &[("content-type", "application/json")],
        br#"{"seller":"nobody"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no seller `nobody`"), "{}", r.text());
}

#[tokio::test]
async fn a_rate_limit_answers_429_with_retry_after_and_the_journal_says_so() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(scenario("[[rateLimits]]\nrate = 2\nburst = 2\n"), &clock).await;
    let t = m.token("demo").unwrap();
    for n in 0..2 {
        assert_eq!(update(&m.url(), Some(&t), &one("P1", n)).await.status, 200);
    }
    let r = update(&m.url(), Some(&t), &one("P1", 7)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.text().contains("rate limit"), "{}", r.text());
    assert_eq!(
        m.stock("demo", "P1", "V"),
        Some(1),
        "a throttled request applies nothing"
    );
    let last = m.journal().pop().unwrap();
    assert!(last.fired("rate-limit"), "{:?}", last.effects);
    // A client that does not wait.
    clock.advance(Duration::from_millis(200));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 8)).await.status, 429);
    clock.advance(Duration::from_secs(1));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 9)).await.status, 200);
    let report = m.verify(&[
        Expectation {
            honoured_retry_after: Some(SellerQuery::default()),
            ..Expectation::default()
        },
        Expectation {
            max_rate: Some(RateQuery {
                per_second: 2.0,
                ..RateQuery::default()
            }),
            ..Expectation::default()
        },
    ]);
    assert!(!report.ok);
    let msgs: Vec<&str> = report.results.iter().map(|c| c.message.as_str()).collect();
    assert!(
        msgs[0].contains("did not honour Retry-After")
            && msgs[0].contains("request #4, came 200 ms after"),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].contains("sent at most 4 requests within 1s") && msgs[1].contains("exceeded"),
        "{}",
        msgs[1]
    );
}

#[tokio::test]
async fn a_503_rate_limit_per_client_ip() {
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = mock(
        scenario("[[rateLimits]]\nrate = 1\nperIp = true\nanswer = 503\n"),
        &clock,
    )
    .await;
    let t = m.token("demo").unwrap();
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 1)).await.status, 200);
    let r = update(&m.url(), Some(&t), &one("P1", 2)).await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("from 127.0.0.1"), "{}", r.text());
}

#[tokio::test]
async fn the_nightly_window_follows_the_injected_clock() {
    let clock = Arc::new(ManualClock::at_utc(2, 5));
    let s = Scenario::read(&fixture("scenarios/nightly-maintenance.toml")).unwrap();
    let m = mock(s, &clock).await;
    let t = m.token("demo").unwrap();
    let r = update(&m.url(), Some(&t), &one("P1", 1)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("900"));
    clock.advance(minutes(10));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 1)).await.status, 200);
    clock.advance(Duration::from_secs(86_400 - 600));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 1)).await.status, 503);
}

/// Per client and request: the status and the failed productIds.
type Outcome = BTreeMap<(usize, usize), (u16, Vec<String>)>;

async fn concurrent_run(clients: usize, rounds: usize) -> Outcome {
    let s = Scenario::read(&fixture("scenarios/flaky-reproducible.toml")).unwrap();
    let m = MockMarketplace::builder()
        .scenario(s)
        .no_auth()
        .start()
        .await
        .unwrap();
    let url = m.url();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for r in 0..rounds {
                let items: Vec<Value> = (0..4)
                    .map(|i| json!({"productId": format!("C{c}-P{i}"), "variantId": "V", "inventory": r}))
                    .collect();
                let resp = update(&url, None, &json!({"inventoryList": items})).await;
                let failed: Vec<String> = if resp.status == 200 {
                    resp.json()["failedProductList"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["productId"].as_str().unwrap().to_string())
                        .collect()
                } else {
                    Vec::new()
                };
                out.push(((c, r), (resp.status, failed)));
            }
            out
        }));
    }
    let mut all = Outcome::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    m.shutdown().await;
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_clients_see_the_same_failures_on_every_run() {
    let first = concurrent_run(8, 6).await;
    let failures: usize = first.values().map(|(_, f)| f.len()).sum();
    let unavailable = first.values().filter(|(s, _)| *s == 503).count();
    assert!(failures > 0 && unavailable > 0, "{first:?}");
    assert!(failures < 8 * 6 * 4 / 2, "{failures} failures is not 10%");
    for _ in 0..2 {
        assert_eq!(concurrent_run(8, 6).await, first);
    }
}

#[test]
fn every_scenario_fixture_passes_check() {
    let dir = fixture("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let r = stockwire(&["mock", "check", p.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}: {}{}", p.display(), r.stdout, r.stderr);
        n += 1;
    }
    assert!(n >= 10);
    let r = stockwire(&[
        "mock",
        "check",
        fixture("scenarios/resilience.toml").to_str().unwrap(),
    ]);
    assert!(
        r.stdout.contains("tokens of every seller live 5 requests"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("rate limit every seller: 4 req/s, burst 4"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn the_rust_builder_sets_lifetimes_and_limits() {
    use stockwire_mock::ratelimit::RateLimit;
    use stockwire_mock::tokens::TokenLifetime;
    let clock = Arc::new(ManualClock::at_utc(9, 0));
    let m = MockMarketplace::builder()
        .token_lifetime(TokenLifetime::duration(minutes(1)).for_seller("demo"))
        .rate_limit(RateLimit::per_second(1.0).burst(1).answer_503())
        .scenario(Scenario::default())
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(m.scenario().tokens.len(), 1, "kept whatever the call order");
    let t = login(&m.url()).await;
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 1)).await.status, 200);
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 2)).await.status, 503);
    clock.advance(minutes(2));
    assert_eq!(update(&m.url(), Some(&t), &one("P1", 3)).await.status, 401);
}
