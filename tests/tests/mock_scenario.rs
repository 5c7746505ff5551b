//! Scripted behaviour: matches, effects, sequences, seeded randomness, and the journal saying
//! which rules fired.

use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::scenario::Format;
use stockwire_mock::{Limits, MockMarketplace, Scenario, demo};
use stockwire_schema::{Profile, check_exchange, validate_response};
use stockwire_tests::fixture;
use stockwire_tests::http::{send, update};

fn scenario(toml: &str) -> Scenario {
    Scenario::parse(toml, Format::Toml, "test").unwrap()
}

fn one(p: &str, v: &str, n: i64) -> Value {
    json!({"inventoryList": [{"productId": p, "variantId": v, "inventory": n}]})
}

async fn mock(s: Scenario) -> (MockMarketplace, String) {
    let m = MockMarketplace::builder()
        .catalog(demo::catalog())
        .scenario(s)
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    (m, t)
}

#[tokio::test]
async fn the_demo_produces_partial_failures_out_of_the_box() {
    let m = MockMarketplace::builder().demo().start().await.unwrap();
    let token = m.token("demo").unwrap();
    let body = serde_json::to_value(demo::example_request(Profile::V1)).unwrap();
    let r = update(&m.url(), Some(&token), &body).await;
    let v = r.json();
    assert_eq!(v["status"], "PARTIAL_SUCCESS");
    assert_eq!(v["failedProductList"][0]["message"], "Mismatch");
    assert!(check_exchange(&body, &v).is_empty());
    assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-M"), Some(7));
    assert_eq!(m.stock("demo", "SKU-X", "SKU-X-1"), Some(3));
    assert!(m.journal()[0].fired("sku-x-mismatch"));
}

#[tokio::test]
async fn recipe_mismatch_and_every_third_request_503() {
    let s = Scenario::read(&fixture("scenarios/recipe-mismatch-every-3rd-503.toml")).unwrap();
    let (m, t) = mock(s).await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        let body = json!({"inventoryList": [
            {"productId": "SKU-X", "variantId": "SKU-X-1", "inventory": 1},
            {"productId": "MUG-002", "variantId": "MUG-002-WHITE", "inventory": 2}]});
        let r = update(&m.url(), Some(&t), &body).await;
        if r.status == 503 {
            assert_eq!(r.header("retry-after"), Some("2"));
            assert_eq!(r.json()["status"], "FAILED");
            seen.push("503".to_string());
        } else {
            let v = r.json();
            assert_eq!(v["failedProductList"][0]["message"], "Mismatch");
            assert!(check_exchange(&body, &v).is_empty());
            seen.push(v["status"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        seen,
        [
            "PARTIAL_SUCCESS",
            "PARTIAL_SUCCESS",
            "503",
            "PARTIAL_SUCCESS",
            "PARTIAL_SUCCESS",
            "503"
        ]
    );
    let j = m.journal();
    assert!(j[2].fired("every-3rd-503") && !j[2].fired("sku-x-mismatch"));
    assert_eq!(j[2].applied, 0, "a scripted 503 applies nothing");
}

#[tokio::test]
async fn sequences_first_two_503_then_sku_fails_until_request_5() {
    let s = Scenario::read(&fixture("scenarios/flaky-start.yaml")).unwrap();
    let (m, t) = mock(s).await;
    // Only the first two rules matter here; the probability rule adds delays only.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = update(&m.url(), Some(&t), &one("SKU-X", "SKU-X-1", 1)).await;
        statuses.push(if r.status == 200 {
            r.json()["status"].as_str().unwrap().to_string()
        } else {
            r.status.to_string()
        });
    }
    assert_eq!(
        statuses,
        ["503", "503", "FAILED", "FAILED", "SUCCESS", "SUCCESS"]
    );
}

#[tokio::test]
async fn matches_on_seller_facility_inventory_and_batch_size() {
    let s = Scenario::read(&fixture("scenarios/per-seller-and-items.yaml")).unwrap();
    let m = MockMarketplace::builder()
        .scenario(s)
        .seller(stockwire_mock::Credentials::new("acme", "a", "a"))
        .seller(stockwire_mock::Credentials::new("other", "o", "o"))
        .profile(Profile::V2)
        .start()
        .await
        .unwrap();
    let body = json!({"inventoryList": [
        {"productId": "P", "variantId": "1", "inventory": "1", "facilityCode": "WH-9"},
        {"productId": "P", "variantId": "2", "inventory": "100000"},
        {"productId": "P", "variantId": "3", "inventory": "5", "facilityCode": "WH-1"}]});
    let v = update(&m.url(), m.token("acme").as_deref(), &body)
        .await
        .json();
    let msgs: Vec<&str> = v["failedProductList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        msgs,
        [
            "Facility code mismatch",
            "Inventory above the marketplace's limit"
        ]
    );
    let v = update(&m.url(), m.token("other").as_deref(), &body)
        .await
        .json();
    assert_eq!(v["failedProductList"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn close_malformed_content_type_and_custom_status_bodies() {
    let s = Scenario::read(&fixture("scenarios/misbehaving.toml")).unwrap();
    let (m, t) = mock(s).await;
    let body = one("MUG-002", "MUG-002-WHITE", 1).to_string();
    let h = [("content-type", "application/json"), ("apiKey", t.as_str())];
    let url = m.url();
    let go = || send(&url, "POST", "/updateInventory", &h, body.as_bytes());
    let r = go().await.unwrap();
    assert_eq!((r.status, r.header("retry-after")), (429, Some("3")));
    assert_eq!(r.json()["message"], "slow down");
    let r = go().await.unwrap();
    assert_eq!(r.status, 502);
    assert!(r.text().contains("<html>") && r.header("x-upstream") == Some("down"));
    assert!(go().await.is_err(), "request 3 closes without an answer");
    let r = go().await.unwrap();
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "truncated"
    );
    assert!(r.text().starts_with("{\"status\""));
    let r = go().await.unwrap();
    assert_eq!(r.header("content-type"), Some("text/html"));
    for (want_rule, expected) in [
        ("success-with-failures", "success-without-failures"),
        ("unknown-status", "status-allowed"),
        ("phantom-failure", "failed-entry-was-sent"),
    ] {
        let r = go().await.unwrap();
        let ids: Vec<String> = check_exchange(&serde_json::from_str(&body).unwrap(), &r.json())
            .into_iter()
            .map(|v| v.rule)
            .collect();
        assert!(ids.contains(&expected.to_string()), "{want_rule}: {ids:?}");
    }
    let r = go().await.unwrap();
    assert_eq!(r.json()["status"], "SUCCESS");
    let j = m.journal();
    assert_eq!(j[2].status, 0);
    assert!(j[2].fired("hang-up"));
    assert!(
        j.iter().skip(3).all(|e| e.applied == 1),
        "answer-shaping effects still apply"
    );
    assert!(j[8].effects[0].effect.starts_with("drip 8 bytes"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn delays_and_jitter_are_seeded_and_journaled() {
    let text =
        "seed = 5\n[[rules]]\nname = \"slow\"\neffect = { delay = \"10s\", jitter = \"5s\" }\n";
    let run = || async {
        let m = MockMarketplace::builder()
            .scenario(scenario(text))
            .no_auth()
            .limits(Limits {
                header_read_timeout: Duration::from_secs(100_000),
                body_read_timeout: Duration::from_secs(100_000),
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let t0 = tokio::time::Instant::now();
        let mut effects = Vec::new();
        for _ in 0..3 {
            let r = update(&m.url(), None, &one("P", "V", 1)).await;
            assert_eq!(r.status, 200);
            effects.push(m.journal().pop().unwrap().effects[0].effect.clone());
        }
        assert!(
            t0.elapsed() >= Duration::from_secs(30),
            "the clock moved by the delays"
        );
        effects
    };
    let a = run().await;
    assert!(a[0].starts_with("delay 1"), "{a:?}");
    assert_ne!(a[0], a[1], "jitter varies from request to request");
    assert_eq!(a, run().await, "same seed, same delays");
}

#[tokio::test]
async fn probability_is_reproducible_with_the_same_seed() {
    let text = "seed = 11\n[[rules]]\nname = \"coin\"\nmatch = { probability = 0.5 }\neffect = { status = 500 }\n";
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (m, t) = mock(scenario(text)).await;
        let mut s = Vec::new();
        for _ in 0..20 {
            s.push(
                update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 1))
                    .await
                    .status,
            );
        }
        runs.push(s);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&500) && runs[0].contains(&200));
}

#[tokio::test]
async fn when_nothing_matches_the_journal_names_the_nearest_rule() {
    let text = "[[rules]]\nname = \"sku-x\"\nmatch = { productId = \"SKU-X\", variantId = \"SKU-X-1\" }\neffect = { fail = \"Mismatch\" }\n";
    let (m, t) = mock(scenario(text)).await;
    let r = update(&m.url(), Some(&t), &one("SKU-X", "SKU-X-2", 1)).await;
    // SKU-X-2 is not in the catalog: the answer says so and names the nearest item.
    let msg = r.json()["failedProductList"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("nearest: SKU-X/SKU-X-1"), "{msg}");
    let e = m.journal().pop().unwrap();
    let why = e
        .notes
        .iter()
        .find(|n| n.starts_with("no rule fired"))
        .unwrap();
    assert!(why.contains("`sku-x`"), "{why}");
}

#[tokio::test]
async fn contract_breaches_are_detectable_and_scenario_can_be_replaced() {
    let (m, t) = mock(Scenario::default()).await;
    let body = one("MUG-002", "MUG-002-WHITE", 1);
    for breach in [
        "missing-status",
        "partial-without-failures",
        "duplicate-failure",
        "empty-message",
        "list-not-array",
    ] {
        m.set_scenario(scenario(&format!(
            "[[rules]]\neffect = {{ breakContract = \"{breach}\" }}\n"
        )))
        .unwrap();
        let v = update(&m.url(), Some(&t), &body).await.json();
        let broken =
            !validate_response(Profile::V1, &v).is_empty() || !check_exchange(&body, &v).is_empty();
        assert!(broken, "{breach}: {v}");
    }
    assert!(
        m.set_scenario(Scenario {
            rules: vec![stockwire_mock::scenario::Rule::default()],
            ..Scenario::default()
        })
        .is_err()
    );
}
