//! The mock as a correct partner: auth, validation answers, catalog, ledger, journal.

use serde_json::{Value, json};
use stockwire_mock::{Credentials, MockMarketplace, demo};
use stockwire_schema::{Profile, check_exchange, validate_response};
use stockwire_tests::http::{get_json, send, update};

fn req(items: Value) -> Value {
    json!({ "inventoryList": items })
}

/// Every answer to a processed request obeys the schema and the semantic rules.
fn assert_contract(profile: Profile, request: &Value, response: &Value) {
    assert!(
        validate_response(profile, response).is_empty(),
        "{response}"
    );
    assert!(check_exchange(request, response).is_empty(), "{response}");
}

async fn demo_mock() -> MockMarketplace {
    MockMarketplace::builder()
        .catalog(demo::catalog())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn auth_get_and_post_issue_the_sellers_token() {
    let m = MockMarketplace::builder()
        .seller(Credentials::new("acme", "ann", "s3cret"))
        .seller(Credentials::new("globex", "gil", "pw"))
        .start()
        .await
        .unwrap();
    let r = send(
        &m.url(),
        "GET",
        "/authToken?username=ann&password=s3cret",
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "SUCCESS");
    assert_eq!(r.json()["accessToken"], json!(m.token("acme").unwrap()));
    let r = send(
        &m.url(),
        "POST",
        "/authToken",
        &[("content-type", "application/json")],
        br#"{"username":"gil","password":"pw"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.json()["accessToken"], json!(m.token("globex").unwrap()));
    assert_ne!(m.token("acme"), m.token("globex"));
    let r = send(
        &m.url(),
        "GET",
        "/authToken?username=ann&password=nope",
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (401, json!("FAILED"))
    );
    let r = send(
        &m.url(),
        "POST",
        "/authToken",
        &[("content-type", "application/json")],
        br#"{"username":"gil","password":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.json()["status"], "INVALID_CREDENTIALS");
    let r = send(&m.url(), "GET", "/authToken?username=ann", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["violations"][0]["rule"], "required");
    // The password never reaches the journal.
    let j = serde_json::to_string(&m.journal()).unwrap();
    assert!(!j.contains("s3cret") && j.contains("password=***"));
    assert_eq!(m.credentials().len(), 2);
}

#[tokio::test]
async fn missing_or_unknown_api_key_is_401_and_changes_nothing() {
    let m = demo_mock().await;
    let body = req(json!([{"productId": "MUG-002", "variantId": "MUG-002-WHITE", "inventory": 1}]));
    for key in [None, Some("wrong")] {
        let r = update(&m.url(), key, &body).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["status"], "FAILED");
        assert!(validate_response(Profile::V1, &r.json()).is_empty());
    }
    assert_eq!(m.stock("demo", "MUG-002", "MUG-002-WHITE"), Some(5));
    let entries = m.journal();
    assert!(entries[0].notes[0].contains("missing apiKey"));
    assert!(entries[1].notes[0].contains("unknown apiKey"));
    assert!(
        entries[1]
            .headers
            .iter()
            .any(|h| h.name == "apikey" && h.value == "***")
    );
}

#[tokio::test]
async fn accepted_items_set_absolute_stock_and_repeating_changes_nothing() {
    let m = demo_mock().await;
    let token = m.token("demo").unwrap();
    let body = req(json!([
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-S", "inventory": 0},
        {"productId": "MUG-002", "variantId": "MUG-002-WHITE", "inventory": 12, "hsnCode": "6109"}
    ]));
    for _ in 0..2 {
        let r = update(&m.url(), Some(&token), &body).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["status"], "SUCCESS");
        assert_contract(Profile::V1, &body, &r.json());
        assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-S"), Some(0));
        assert_eq!(m.stock("demo", "MUG-002", "MUG-002-WHITE"), Some(12));
    }
    assert_eq!(m.request_count(), 2);
}

#[tokio::test]
async fn item_problems_fail_only_that_item_with_the_rule_named() {
    let m = demo_mock().await;
    let token = m.token("demo").unwrap();
    let body = req(json!([
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-S", "inventory": 4},
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-M", "inventory": -3},
        {"productId": "MUG-002", "inventory": 1},
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-XL", "inventory": 1}
    ]));
    let r = update(&m.url(), Some(&token), &body).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["status"], "PARTIAL_SUCCESS");
    let failed = v["failedProductList"].as_array().unwrap();
    assert_eq!(failed.len(), 3);
    assert!(failed[0]["message"].as_str().unwrap().contains("[minimum]"));
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("/inventoryList/1/inventory")
    );
    assert!(
        failed[1]["message"]
            .as_str()
            .unwrap()
            .contains("[required]")
    );
    assert!(failed[1]["message"].as_str().unwrap().contains("variantId"));
    let unknown = failed[2]["message"].as_str().unwrap();
    assert!(unknown.starts_with("Variant not found"), "{unknown}");
    assert!(
        unknown.contains("nearest: TSHIRT-001/TSHIRT-001-"),
        "{unknown}"
    );
    assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-S"), Some(4));
    assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-M"), Some(10));
    assert!(validate_response(Profile::V1, &v).is_empty());
    let e = m.journal().pop().unwrap();
    assert_eq!(e.failed_items, vec![1, 2, 3]);
    assert_eq!(e.applied, 1);
    assert!(e.notes.iter().any(|n| n.contains("Variant not found")));
}

#[tokio::test]
async fn whole_request_problems_are_400_with_violations_and_change_nothing() {
    let m = demo_mock().await;
    let token = m.token("demo").unwrap();
    let cases: Vec<(&str, &[u8], &str, &str)> = vec![
        ("application/json", b"{not json", "", "json"),
        ("application/json", b"[1,2]", "", "type"),
        ("application/json", b"{}", "", "required"),
        (
            "application/json",
            br#"{"inventoryList": []}"#,
            "/inventoryList",
            "minItems",
        ),
        (
            "application/json",
            br#"{"inventoryList": {}}"#,
            "/inventoryList",
            "type",
        ),
        (
            "text/plain",
            br#"{"inventoryList": []}"#,
            "",
            "content-type",
        ),
        ("application/json", b"\xff\xfe{}", "", "utf-8"),
    ];
    for (ct, body, pointer, rule) in cases {
        let r = send(
            &m.url(),
            "POST",
            "/updateInventory",
            &[("content-type", ct), ("apiKey", &token)],
            body,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 400, "{}", r.text());
        let v = r.json();
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["failedProductList"], json!([]));
        assert_eq!(v["violations"][0]["pointer"], pointer, "{v}");
        assert_eq!(v["violations"][0]["rule"], rule, "{v}");
        assert!(validate_response(Profile::V1, &v).is_empty());
    }
    assert_eq!(m.stock("demo", "MUG-002", "MUG-002-WHITE"), Some(5));
    // Wrong method and unknown path get clear answers too.
    let r = send(&m.url(), "GET", "/updateInventory", &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = send(&m.url(), "GET", "/nope", &[], b"").await.unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn v2_takes_digit_strings_and_refuses_numbers_per_item() {
    let m = MockMarketplace::builder()
        .profile(Profile::V2)
        .catalog(demo::catalog())
        .start()
        .await
        .unwrap();
    let token = m.token("demo").unwrap();
    let body = req(json!([
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-S", "inventory": "0012", "facilityCode": "WH-1"},
        {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-M", "inventory": 3}
    ]));
    let r = update(&m.url(), Some(&token), &body).await;
    let v = r.json();
    assert_eq!(v["status"], "PARTIAL_SUCCESS");
    assert!(
        v["failedProductList"][0]["message"]
            .as_str()
            .unwrap()
            .contains("[type]")
    );
    assert_contract(Profile::V2, &body, &v);
    assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-S"), Some(12));
}

#[tokio::test]
async fn catalog_entries_are_scoped_by_seller() {
    let catalog =
        stockwire_schema::Catalog::read(&stockwire_tests::fixture("catalogs/two-sellers.csv"))
            .unwrap();
    let m = MockMarketplace::builder()
        .catalog(catalog)
        .seller(Credentials::new("acme", "a", "a"))
        .seller(Credentials::new("globex", "g", "g"))
        .start()
        .await
        .unwrap();
    let p2 = req(json!([{"productId": "P2", "variantId": "V1", "inventory": 1}]));
    let r = update(&m.url(), m.token("acme").as_deref(), &p2).await;
    assert_eq!(r.json()["status"], "SUCCESS");
    let r = update(&m.url(), m.token("globex").as_deref(), &p2).await;
    assert_eq!(r.json()["status"], "FAILED");
    assert!(
        r.json()["failedProductList"][0]["message"]
            .as_str()
            .unwrap()
            .contains("seller `globex`")
    );
    assert_contract(Profile::V1, &p2, &r.json());
    // Entries without a seller belong to both; the ledgers stay apart.
    let p1 = req(json!([{"productId": "P1", "variantId": "V1", "inventory": 2}]));
    update(&m.url(), m.token("acme").as_deref(), &p1).await;
    assert_eq!(m.stock("acme", "P1", "V1"), Some(2));
    assert_eq!(m.stock("globex", "P1", "V1"), Some(10));
    let ledger = get_json(&m.url(), "/__admin/ledger?seller=acme").await;
    assert!(
        ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["seller"] == "acme")
    );
}

#[tokio::test]
async fn duplicate_pairs_are_listed_once_and_no_auth_uses_the_first_seller() {
    let m = MockMarketplace::builder().no_auth().start().await.unwrap();
    let body = req(json!([
        {"productId": "A", "variantId": "1", "inventory": 1},
        {"productId": "A", "variantId": "1", "inventory": -1},
        {"productId": "B", "variantId": "1", "inventory": 7}
    ]));
    let r = update(&m.url(), None, &body).await;
    let v = r.json();
    assert_eq!(v["status"], "PARTIAL_SUCCESS");
    assert_eq!(v["failedProductList"].as_array().unwrap().len(), 1);
    assert_contract(Profile::V1, &body, &v);
    // Without a catalog every item exists; the failed pair was not applied at all.
    assert_eq!(m.stock("demo", "A", "1"), None);
    assert_eq!(m.stock("demo", "B", "1"), Some(7));
}

#[tokio::test]
async fn a_correct_partner_has_no_scenario_and_journals_every_request() {
    let m = demo_mock().await;
    assert!(m.scenario().rules.is_empty());
    let token = m.token("demo").unwrap();
    let body = req(json!([{"productId": "SKU-X", "variantId": "SKU-X-1", "inventory": 9}]));
    let r = update(&m.url(), Some(&token), &body).await;
    assert_eq!(r.json()["status"], "SUCCESS");
    let e = m.journal().pop().unwrap();
    assert_eq!(e.seller.as_deref(), Some("demo"));
    assert_eq!(e.status, 200);
    assert_eq!(e.body_json(), Some(body));
    assert_eq!(e.response_json().unwrap()["status"], "SUCCESS");
    assert!(e.effects.is_empty());
    m.shutdown().await;
}
