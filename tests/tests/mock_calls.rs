//! A call is a value in the mock: a call of the update's shape that is not built in (the
//! fixture price push, `fixtures/calls/updateprice.md` and its overlay) is served from its
//! definition and its page alone, with no code of its own in the mock.

use std::sync::Arc;

use serde_json::{Value, json};
use stockwire_mock::{Filter, MockMarketplace, demo};
use stockwire_schema::call::{CallDef, Shape, UpdateMembers};
use stockwire_schema::{Call, Page, Part, Profile};
use stockwire_tests::fixture;
use stockwire_tests::http::{get_json, send};

/// The fixture price push: the only thing written for it (its page and overlay are fixtures).
const PRICE_PUSH: CallDef = CallDef {
    id: "updatePrice",
    page: "updateprice",
    page_by_profile: &[],
    shape: Shape::Update(UpdateMembers {
        list: "priceList",
        product_id: "productId",
        variant_id: "variantId",
        value: "sellingPrice",
        place: None,
        status: "status",
        failures: "failedProductList",
        message: "message",
    }),
};

fn price_push(profile: Profile) -> Arc<Call> {
    let page = Page::read(&fixture("calls/updateprice.md")).unwrap();
    let overlays = fixture("calls/overlays");
    Arc::new(Call::from_page(PRICE_PUSH, profile, &page, Some(&overlays)).unwrap())
}

async fn post(url: &str, key: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = send(
        url,
        "POST",
        path,
        &[("content-type", "application/json"), ("apiKey", key)],
        body.to_string().as_bytes(),
    )
    .await
    .unwrap();
    (r.status, r.json())
}

#[tokio::test]
async fn a_call_of_the_update_shape_is_served_from_its_definition_alone() {
    for profile in Profile::ALL {
        let call = price_push(profile);
        let m = MockMarketplace::builder()
            .profile(profile)
            .catalog(demo::catalog())
            .demo()
            .call(call.clone())
            .start()
            .await
            .unwrap();
        let key = m.token("demo").unwrap();
        let url = m.url();

        // SUCCESS, answered with the call's members and valid against its response schema.
        let ok = json!({"priceList": [
            {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-M", "sellingPrice": 499.5},
            {"productId": "MUG-002", "variantId": "MUG-002-WHITE", "sellingPrice": 12, "currency": "USD"}
        ]});
        let (code, body) = post(&url, &key, "/updatePrice", &ok).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body, json!({"status": "SUCCESS", "failedProductList": []}));
        assert!(call.validate(Part::Response, &body).is_empty());

        // PARTIAL_SUCCESS for an item the catalog does not have.
        let partial = json!({"priceList": [
            {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-L", "sellingPrice": 450},
            {"productId": "NOPE", "variantId": "NOPE-1", "sellingPrice": 1}
        ]});
        let (code, body) = post(&url, &key, "/updatePrice", &partial).await;
        assert_eq!(code, 200);
        assert_eq!(body["status"], "PARTIAL_SUCCESS", "{body}");
        let failed = body["failedProductList"].as_array().unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["productId"], "NOPE");
        assert!(
            failed[0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Variant not found: NOPE/NOPE-1"),
            "{body}"
        );
        assert!(call.validate(Part::Response, &body).is_empty());

        // A negative price breaks the item schema: the item fails, named by the call's members.
        let negative = json!({"priceList": [
            {"productId": "TSHIRT-001", "variantId": "TSHIRT-001-M", "sellingPrice": -2}
        ]});
        let (code, body) = post(&url, &key, "/updatePrice", &negative).await;
        assert_eq!(code, 200);
        assert_eq!(body["status"], "FAILED", "{body}");
        let msg = body["failedProductList"][0]["message"].as_str().unwrap();
        assert!(msg.contains("/priceList/0/sellingPrice [minimum]"), "{msg}");

        // A malformed envelope: 400 with violations, the call's FAILED body.
        let (code, body) = post(&url, &key, "/updatePrice", &json!({"priceList": []})).await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(body["status"], "FAILED");
        assert_eq!(body["failedProductList"], json!([]));
        assert_eq!(body["violations"][0]["pointer"], "/priceList");
        assert_eq!(body["violations"][0]["rule"], "minItems");

        // The prices set are stored exactly and readable; the stock is not touched.
        let ledger = get_json(&url, "/__admin/ledger?call=updatePrice").await;
        let rows = ledger["items"].as_array().unwrap();
        let price = |p: &str, v: &str| {
            rows.iter()
                .find(|r| r["productId"] == p && r["variantId"] == v)
                .map(|r| r["value"].as_f64().unwrap())
        };
        assert_eq!(price("TSHIRT-001", "TSHIRT-001-M"), Some(499.5));
        assert_eq!(price("MUG-002", "MUG-002-WHITE"), Some(12.0));
        assert_eq!(price("TSHIRT-001", "TSHIRT-001-L"), Some(450.0));
        assert_eq!(price("NOPE", "NOPE-1"), None);
        assert_eq!(m.values("updatePrice").unwrap().len(), 3);
        assert_eq!(m.stock("demo", "TSHIRT-001", "TSHIRT-001-M"), Some(10));

        // The journal names the call; the demo scenario's rules (every 7th request a 503) are
        // the inventory push's and never touched the price push.
        let entries = m.journal_filtered(&Filter {
            call: Some("updatePrice".into()),
            ..Filter::default()
        });
        assert_eq!(entries.len(), 4);
        assert!(
            entries
                .iter()
                .all(|e| e.path == "/updatePrice" && e.effects.is_empty())
        );
        let page = get_json(&url, "/__admin/journal?call=updatePrice").await;
        assert_eq!(page["entries"].as_array().unwrap().len(), 4);
        assert_eq!(page["entries"][0]["call"], "updatePrice");
        assert_eq!(m.request_count(), 0);

        // The route is the page's: another method is 405.
        let r = send(
            &url,
            "GET",
            "/updatePrice",
            &[("apiKey", key.as_str())],
            b"",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("POST"));
        m.shutdown().await;
    }
}

#[tokio::test]
async fn a_call_that_clashes_with_another_is_refused_at_start() {
    let again = stockwire_schema::contract(Profile::V1)
        .call("products")
        .unwrap()
        .clone();
    let e = MockMarketplace::builder()
        .call(again)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("clashes with call `products`"), "{e}");
}
