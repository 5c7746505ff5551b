//! A small Rust client against the mock with token expiry and a rate limit on: the
//! resilient client (re-authenticates on 401, waits for Retry-After on 429/503) passes
//! `verify`; a naive one fails it with messages that say what it did wrong.
//!
//! The mock reads an injected clock and the client's "sleep" moves that clock, so the test
//! is deterministic and takes no real time.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::clock::ManualClock;
use stockwire_mock::verify::{Expectation, ItemRef, RateQuery, SellerQuery};
use stockwire_mock::{MockMarketplace, Scenario, demo};
use stockwire_tests::fixture;
use stockwire_tests::http::{Resp, send, update};

/// The client under test: pushes stock to one marketplace.
struct Client {
    url: String,
    token: Option<String>,
    resilient: bool,
    clock: Arc<ManualClock>,
}

impl Client {
    async fn login(&mut self) -> String {
        let r = send(
            &self.url,
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
        let t = r.json()["accessToken"].as_str().unwrap().to_string();
        self.token = Some(t.clone());
        t
    }

    /// The client's sleep: here, moving the mock's clock.
    fn sleep(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Pushes one update; the resilient client retries (bounded) until it is accepted.
    async fn push(&mut self, body: &Value) -> Resp {
        let mut last = None;
        for _ in 0..10 {
            let token = match self.token.clone() {
                Some(t) => t,
                None => self.login().await,
            };
            let r = update(&self.url, Some(&token), body).await;
            if !self.resilient {
                return r;
            }
            match r.status {
                401 => self.token = None,
                429 | 503 => {
                    let secs: u64 = r
                        .header("retry-after")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    self.sleep(Duration::from_secs(secs));
                }
                _ => return r,
            }
            last = Some(r);
        }
        last.unwrap()
    }
}

async fn run(resilient: bool) -> (MockMarketplace, Vec<u16>) {
    let clock = Arc::new(ManualClock::at_utc(10, 0));
    let m = MockMarketplace::builder()
        .scenario(Scenario::read(&fixture("scenarios/resilience.toml")).unwrap())
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let mut c = Client {
        url: m.url(),
        token: None,
        resilient,
        clock,
    };
    let mut statuses = Vec::new();
    for i in 0..12 {
        let body = json!({"inventoryList": [
            {"productId": format!("P{i}"), "variantId": "V", "inventory": i}
        ]});
        statuses.push(c.push(&body).await.status);
    }
    (m, statuses)
}

fn expectations() -> Vec<Expectation> {
    let mut e = vec![
        Expectation {
            reauthenticated: Some(SellerQuery::default()),
            min: Some(1),
            ..Expectation::default()
        },
        Expectation {
            honoured_retry_after: Some(SellerQuery::default()),
            ..Expectation::default()
        },
        // Per second at most: the burst of 4, the request whose 401 makes it log in again,
        // and the one that learns the bucket is empty. The naive client sends all 12 at once.
        Expectation {
            max_rate: Some(RateQuery {
                per_second: 6.0,
                ..RateQuery::default()
            }),
            ..Expectation::default()
        },
    ];
    for i in 0..12 {
        e.push(Expectation {
            stock: Some(ItemRef {
                seller: None,
                product_id: format!("P{i}"),
                variant_id: "V".into(),
            }),
            equals: Some(i),
            ..Expectation::default()
        });
    }
    e
}

#[tokio::test]
async fn a_client_that_reauthenticates_and_backs_off_passes() {
    let (m, statuses) = run(true).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let report = m.verify(&expectations());
    assert!(report.ok, "{:#?}", report.results);
    // Both behaviours were exercised, not just allowed.
    let journal = m.journal();
    assert!(journal.iter().any(|e| e.status == 401));
    assert!(journal.iter().any(|e| e.status == 429));
    assert!(m.authentications("demo") >= 2);
}

#[tokio::test]
async fn a_naive_client_fails_with_clear_verify_messages() {
    let (m, statuses) = run(false).await;
    assert!(
        statuses.contains(&429) && statuses.contains(&401),
        "{statuses:?}"
    );
    let report = m.verify(&expectations());
    assert!(!report.ok);
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.message.as_str())
        .collect();
    let all = failed.join("\n");
    assert!(
        all.contains("seller `demo` re-authenticated 0 times (1 successful /authToken call); expected at least 1"),
        "{all}"
    );
    assert!(all.contains("did not honour Retry-After"), "{all}");
    assert!(all.contains("the client exceeded the rate"), "{all}");
    assert!(
        all.contains("stock of P11/V for seller `demo`: expected 11, found unknown"),
        "{all}"
    );
}
