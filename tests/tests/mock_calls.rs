//! A call is a value: a call of the update's shape that is not built in (the fixture price
//! push, `fixtures/calls/updateprice.md` and its overlay) is served by the mock and run by the
//! runner from its definition and its page alone, with no code of its own in either, and no
//! inventory module knows it.

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

/// The runner runs the fixture call from its definition alone: seeded cases (valid batches,
/// an item with a value its schema refuses, an unknown item) go to the mock's `/updatePrice`,
/// and a mock that keeps the shape's contract gets a clean verdict, under both profiles.
#[tokio::test]
async fn the_runner_runs_a_call_of_the_update_shape_from_its_definition_alone() {
    use stockwire_conform::{Credentials, RunOptions, family};
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
        let mut o = RunOptions::new(m.url());
        o.profile = profile;
        o.catalog = demo::catalog();
        o.seller = Some(demo::SELLER.into());
        o.credentials = Credentials::Login {
            username: demo::USERNAME.into(),
            password: demo::PASSWORD.into(),
        };
        o.seed = 5;
        o.cases = 30;
        let v = family::run_update_call(&o, call.clone()).await.unwrap();
        assert_eq!(
            (v.call.as_str(), v.path.as_str()),
            ("updatePrice", "/updatePrice")
        );
        assert_eq!(v.cases, 30);
        assert!(v.is_clean(), "{:#?}", v.findings);
        // The cases reached the mock: the price push's journal holds them, and prices were set.
        let sent = m.journal_filtered(&Filter {
            call: Some("updatePrice".into()),
            ..Filter::default()
        });
        assert_eq!(sent.len(), 30);
        assert!(!m.values("updatePrice").unwrap().is_empty());
        // The same seed sends the same cases.
        let again = family::run_update_call(&o, call).await.unwrap();
        assert_eq!(again, v);
        m.shutdown().await;
    }
}

/// A partner that answers SUCCESS to every price push, whatever it holds, is caught: the
/// runner's verdict names the registry checks whose rules it breaks, with a curl.
#[tokio::test]
async fn the_runner_catches_a_call_that_accepts_everything() {
    use stockwire_conform::{Credentials, RunOptions, family};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/updatePrice"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "failedProductList": []})),
        )
        .mount(&server)
        .await;
    let mut o = RunOptions::new(server.uri());
    o.catalog = demo::catalog();
    o.seller = Some(demo::SELLER.into());
    o.credentials = Credentials::ApiKey("secret-key".into());
    o.cases = 9;
    let v = family::run_update_call(&o, price_push(Profile::V1))
        .await
        .unwrap();
    let ids: std::collections::BTreeSet<&str> = v.findings.iter().map(|f| f.check).collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["invalid-item-rejected", "unknown-item-rejected"]
    );
    let f = &v.findings[0];
    assert!(f.curl.contains("/updatePrice"), "{}", f.curl);
    assert!(f.curl.contains("$APIKEY") && !f.curl.contains("secret-key"));
    // A call of another shape is refused, never sent.
    let listing = stockwire_schema::contract(Profile::V1)
        .call("products")
        .unwrap()
        .clone();
    assert!(family::run_update_call(&o, listing).await.is_err());
}

/// The measure of "a call is a value": the files the fixture call needed are its page, its
/// overlay and its definition (the `PRICE_PUSH` consts of this test and of the schema crate's
/// test). No library source names it, so no inventory module (nor any other) changed for it.
#[test]
fn the_fixture_call_needed_only_its_page_overlay_and_definition() {
    let needed = [
        "fixtures/calls/updateprice.md",
        "fixtures/calls/overlays/common/updateprice.json",
        "tests/tests/mock_calls.rs",
        "crates/schema/src/contract.rs",
    ];
    let root = stockwire_tests::root();
    for f in needed {
        assert!(root.join(f).is_file(), "{f}");
    }
    // The call's own names, read from its page.
    let page = std::fs::read_to_string(fixture("calls/updateprice.md")).unwrap();
    for name in ["/updatePrice", "priceList", "sellingPrice"] {
        assert!(page.contains(name), "{name}");
    }
    let mut stack = vec![root.join("crates")];
    let mut read = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            read += 1;
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            // The schema crate's test of the definition is the one place a library file holds
            // it; everything before its `mod tests` is library code.
            let code = if rel == "crates/schema/src/contract.rs" {
                text.split("mod tests").next().unwrap_or_default()
            } else {
                &text
            };
            for name in ["updatePrice", "updateprice", "priceList", "sellingPrice"] {
                assert!(
                    !code.contains(name),
                    "{rel} names the fixture call (`{name}`)"
                );
            }
        }
    }
    assert!(read > 100, "only {read} sources read");
}
