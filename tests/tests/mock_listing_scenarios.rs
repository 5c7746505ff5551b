//! Scenario rules that script the catalog calls (`call = "productsCount"`, `call =
//! "products"`, `page`): each catalog break of `fixtures/scenarios/listing-*.toml` as a client
//! sees it over loopback, the update's effects on the listing, rules without `call` staying the
//! update's, and the rules a catalog call refuses.

use std::collections::HashMap;

use serde_json::{Value, json};
use stockwire_mock::{MockMarketplace, Scenario};
use stockwire_schema::{Catalog, CatalogEntry, Part, Profile, contract};
use stockwire_tests::fixture;
use stockwire_tests::http::{send, update};

const COUNT: &str = "/productsCount?publishedStatus=PUBLISHED";

fn page(n: usize) -> String {
    format!("/products?pageNumber={n}&pageSize=50&publishedStatus=PUBLISHED")
}

/// A catalog of `products` products of two variants each, stock 1.
fn catalog(products: usize) -> Catalog {
    Catalog {
        entries: (0..products)
            .flat_map(|i| {
                ["A", "B"].map(|v| CatalogEntry {
                    stock: Some(1),
                    ..CatalogEntry::new(format!("P{i:04}"), format!("P{i:04}-{v}"))
                })
            })
            .collect(),
    }
}

/// The mock with `products` products, running the fixture scenario `name`.
async fn mock(products: usize, name: &str) -> (MockMarketplace, String, String) {
    let s = Scenario::read(&fixture(&format!("scenarios/{name}"))).unwrap();
    let m = MockMarketplace::builder()
        .catalog(catalog(products))
        .scenario(s)
        .start()
        .await
        .unwrap();
    let (url, key) = (m.url(), m.token("demo").unwrap());
    (m, url, key)
}

async fn get(url: &str, key: &str, path: &str) -> (u16, Value) {
    let r = send(url, "GET", path, &[("apiKey", key)], b"")
        .await
        .unwrap();
    (r.status, r.json())
}

/// The product ids of a listing page.
fn ids(body: &Value) -> Vec<String> {
    body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Pulls pages 1, 2, … up to an empty page, a short one or page `max`: their product ids.
async fn pull(url: &str, key: &str, max: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    for n in 1..=max {
        let (code, body) = get(url, key, &page(n)).await;
        assert_eq!(code, 200, "page {n}: {body}");
        let got = ids(&body);
        let stop = got.len() < 50;
        pages.push(got);
        if stop {
            break;
        }
    }
    pages
}

/// How many times each product is listed over these pages.
fn listed(pages: &[Vec<String>]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for id in pages.iter().flatten() {
        *n.entry(id.clone()).or_insert(0) += 1;
    }
    n
}

#[tokio::test]
async fn a_wrong_count_is_one_more_than_the_listing_holds() {
    let (m, url, key) = mock(120, "listing-wrong-count.toml").await;
    assert_eq!(get(&url, &key, COUNT).await, (200, json!({"count": 241})));
    let pages = pull(&url, &key, 10).await;
    assert_eq!(
        pages.iter().map(Vec::len).sum::<usize>(),
        120,
        "240 variants"
    );
    let e = m.journal();
    assert_eq!(e[0].effects[0].rule, "count-one-too-many");
    let (m, url, key) = mock(120, "listing-zero-count.toml").await;
    assert_eq!(get(&url, &key, COUNT).await, (200, json!({"count": 0})));
    assert_eq!(
        pull(&url, &key, 1).await[0].len(),
        50,
        "the listing is whole"
    );
    drop(m);
}

#[tokio::test]
async fn an_overlapping_page_lists_one_product_twice_and_loses_one() {
    let (_m, url, key) = mock(120, "listing-overlap.toml").await;
    let pages = pull(&url, &key, 10).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[1].first(),
        pages[0].last(),
        "page 2 opens with page 1's last"
    );
    let n = listed(&pages);
    assert_eq!(n["P0049"], 2);
    assert!(
        !n.contains_key("P0099"),
        "the product page 2 should end with is lost"
    );
    assert_eq!(n.len(), 119);
}

#[tokio::test]
async fn a_skipping_page_loses_its_first_product_and_repeats_its_last() {
    let (_m, url, key) = mock(120, "listing-skip.toml").await;
    let pages = pull(&url, &key, 10).await;
    let n = listed(&pages);
    assert!(
        !n.contains_key("P0050"),
        "page 2's first product is on no page"
    );
    assert_eq!(n["P0100"], 2, "page 2's last opens page 3 too");
    assert_eq!(pages[1].first().map(String::as_str), Some("P0051"));
}

#[tokio::test]
async fn a_page_past_the_end_errors_or_repeats() {
    // 100 products: two full pages, so a client asks for page 3.
    let (m, url, key) = mock(100, "listing-past-end-error.toml").await;
    assert_eq!(pull(&url, &key, 2).await.concat().len(), 100);
    let (code, body) = get(&url, &key, &page(3)).await;
    assert_eq!(code, 500);
    assert!(
        body["message"].as_str().unwrap().contains("past the end"),
        "{body}"
    );
    assert_eq!(m.journal().last().unwrap().effects[0].rule, "past-end-500");
    // With no catalog break the same page is `{"products": []}`: the break alone errs.
    let (m2, url2, key2) = mock(100, "listing-wrong-count.toml").await;
    assert_eq!(
        get(&url2, &key2, &page(3)).await,
        (200, json!({"products": []}))
    );
    drop(m2);

    let (_m, url, key) = mock(100, "listing-past-end-repeats.toml").await;
    let (_, last) = get(&url, &key, &page(2)).await;
    for n in [3, 4, 999] {
        let (code, body) = get(&url, &key, &page(n)).await;
        assert_eq!((code, &body), (200, &last), "page {n} repeats page 2");
    }
    // A client that reads until an empty page never stops: a bounded pull sees no end.
    let pages = pull(&url, &key, 6).await;
    assert_eq!(pages.len(), 6);
    assert!(pages.iter().all(|p| p.len() == 50));
}

#[tokio::test]
async fn a_stale_listing_ignores_updates() {
    let (m, url, key) = mock(3, "listing-stale-inventory.toml").await;
    let r = update(
        &url,
        Some(&key),
        &json!({"inventoryList": [{"productId": "P0001", "variantId": "P0001-A", "inventory": 42}]}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(m.stock("demo", "P0001", "P0001-A"), Some(42));
    let (_, body) = get(&url, &key, &page(1)).await;
    let p1 = &body["products"][1];
    assert_eq!(p1["id"], "P0001");
    assert_eq!(
        p1["variants"][0]["inventory"], 1,
        "the catalog's stock: {body}"
    );
}

#[tokio::test]
async fn a_variant_without_its_id_breaks_the_listing_schema() {
    let (_m, url, key) = mock(60, "listing-missing-variant-id.toml").await;
    let (code, body) = get(&url, &key, &page(1)).await;
    assert_eq!(code, 200);
    for p in body["products"].as_array().unwrap() {
        assert!(p["variants"][0].get("variantId").is_none(), "{p}");
        assert_eq!(
            p["variants"][1]["variantId"]
                .as_str()
                .map(|v| v.ends_with("-B")),
            Some(true)
        );
    }
    let problems = contract(Profile::V1)
        .listing()
        .validate(Part::Response, &body);
    assert!(!problems.is_empty(), "the overlay requires variantId");
    // Page 2 is not matched: whole.
    let (_, body) = get(&url, &key, &page(2)).await;
    assert!(
        contract(Profile::V1)
            .listing()
            .validate(Part::Response, &body)
            .is_empty()
    );
}

#[tokio::test]
async fn the_update_effects_reach_the_catalog_calls() {
    let (m, url, key) = mock(120, "listing-flaky.toml").await;
    // The first count hangs up; the second is answered.
    assert!(
        send(&url, "GET", COUNT, &[("apiKey", key.as_str())], b"")
            .await
            .is_err()
    );
    assert_eq!(get(&url, &key, COUNT).await, (200, json!({"count": 240})));
    // Page 2 is throttled once, with Retry-After.
    let r = send(&url, "GET", &page(2), &[("apiKey", key.as_str())], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("page-2-throttled")
    );
    assert_eq!(get(&url, &key, &page(2)).await.0, 200);
    // Page 3 is truncated once (after its delay), then whole.
    let r = send(&url, "GET", &page(3), &[("apiKey", key.as_str())], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert_eq!(ids(&get(&url, &key, &page(3)).await.1).len(), 20);
    let fired: Vec<String> = m
        .journal()
        .iter()
        .flat_map(|e| e.effects.iter().map(|f| f.rule.clone()))
        .collect();
    assert_eq!(
        fired,
        [
            "count-hangs-up",
            "page-2-throttled",
            "page-3-slow-and-truncated"
        ]
    );
}

#[tokio::test]
async fn a_rule_without_call_scripts_the_update_only() {
    let s = Scenario::parse(
        "[[rules]]\nname = \"down\"\neffect = { status = 503 }\n",
        stockwire_mock::scenario::Format::Toml,
        "t",
    )
    .unwrap();
    let m = MockMarketplace::builder()
        .catalog(catalog(3))
        .scenario(s)
        .start()
        .await
        .unwrap();
    let (url, key) = (m.url(), m.token("demo").unwrap());
    assert_eq!(get(&url, &key, COUNT).await.0, 200);
    assert_eq!(get(&url, &key, &page(1)).await.0, 200);
    let r = update(
        &url,
        Some(&key),
        &json!({"inventoryList": [{"productId": "P0001", "variantId": "P0001-A", "inventory": 1}]}),
    )
    .await;
    assert_eq!(r.status, 503);
}

#[test]
fn rules_a_catalog_call_does_not_have_are_refused_with_the_reason() {
    let refused = |rule: &str| {
        let text = format!("[[rules]]\nname = \"r\"\n{rule}\n");
        Scenario::parse(&text, stockwire_mock::scenario::Format::Toml, "t")
            .unwrap_err()
            .to_string()
    };
    for (rule, says) in [
        (
            r#"match = { call = "authToken" }
effect = { status = 500 }"#,
            "is not a call rules script",
        ),
        (
            r#"match = { call = "nope" }
effect = { status = 500 }"#,
            "is not a call rules script",
        ),
        (
            r#"match = { page = 2 }
effect = { status = 500 }"#,
            "`page` is the listing's",
        ),
        (
            r#"match = { call = "productsCount", page = 2 }
effect = { status = 500 }"#,
            "`page` is the listing's",
        ),
        (
            r#"match = { call = "products", productId = "P1" }
effect = { status = 500 }"#,
            "is the update's",
        ),
        (
            r#"match = { call = "products", request = 2 }
effect = { status = 500 }"#,
            "`request` is the update's",
        ),
        (
            r#"match = { call = "products" }
effect = { fail = "x" }"#,
            "`fail` is the update's",
        ),
        (
            r#"match = { call = "products" }
effect = { breakContract = "unknown-status" }"#,
            "`breakContract` is the update's",
        ),
        (
            r#"match = { call = "products" }
effect = { breakListing = "wrong-count" }"#,
            "breaks `productsCount`'s answer",
        ),
        (
            r#"match = { call = "productsCount" }
effect = { breakListing = "overlap" }"#,
            "breaks `products`'s answer",
        ),
        (
            r#"effect = { breakListing = "overlap" }"#,
            "breaks a catalog call's answer",
        ),
    ] {
        let e = refused(rule);
        assert!(e.contains(says), "{rule}: {e}");
    }
    // Explicitly the update's: the same as no call.
    Scenario::parse(
        "[[rules]]\nmatch = { call = \"updateInventory\", request = 2 }\neffect = { status = 503 }\n",
        stockwire_mock::scenario::Format::Toml,
        "t",
    )
    .unwrap();
}
