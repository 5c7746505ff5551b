//! The catalog calls of the mock: `GET /productsCount` and `GET /products`, their answers
//! (checked against the merged response schemas), paging, the SKU filter, the errors and their
//! bounds, and the verify questions about them.

use serde_json::{Value, json};
use stockwire_mock::verify::{Expectation, RequestQuery, SellerQuery};
use stockwire_mock::{Credentials, Limits, MockMarketplace, demo};
use stockwire_schema::{Catalog, CatalogEntry, Part, Profile, contract};
use stockwire_tests::fixture;
use stockwire_tests::http::{raw, send, update};

const FIRST_PAGE: &str = "/products?pageNumber=1&pageSize=50&publishedStatus=PUBLISHED";

async fn get(url: &str, key: Option<&str>, path: &str) -> (u16, Value) {
    let h: Vec<(&str, &str)> = key.map(|k| ("apiKey", k)).into_iter().collect();
    let r = send(url, "GET", path, &h, b"").await.unwrap();
    (r.status, r.json())
}

/// Every listing answer obeys the merged products response schema of its profile.
fn assert_listing(profile: Profile, body: &Value) {
    let v = contract(profile).listing().validate(Part::Response, body);
    assert!(v.is_empty(), "{body}: {v:?}");
}

fn variants(body: &Value) -> Vec<(String, String, String, u64)> {
    body["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["variants"].as_array().unwrap().iter().map(move |v| {
                (
                    p["id"].as_str().unwrap().to_string(),
                    v["variantId"].as_str().unwrap().to_string(),
                    v["sku"].as_str().unwrap().to_string(),
                    v["inventory"].as_u64().unwrap(),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn the_demo_listing_is_grouped_by_product_and_shows_the_ledger() {
    for profile in Profile::ALL {
        let m = MockMarketplace::builder()
            .profile(profile)
            .demo()
            .start()
            .await
            .unwrap();
        let (url, key) = (m.url(), m.token("demo").unwrap());
        let (code, body) = get(&url, Some(&key), "/productsCount?publishedStatus=PUBLISHED").await;
        assert_eq!((code, body.clone()), (200, json!({"count": 7})));
        assert!(
            contract(profile)
                .count()
                .validate(Part::Response, &body)
                .is_empty()
        );
        let (code, body) = get(&url, Some(&key), FIRST_PAGE).await;
        assert_eq!(code, 200, "{body}");
        assert_listing(profile, &body);
        let ids: Vec<&str> = body["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "TSHIRT-001",
                "MUG-002",
                "LAMP-003",
                "SKU-X",
                "DISCONTINUED-9"
            ]
        );
        let first = &body["products"][0]["variants"];
        assert_eq!(first.as_array().unwrap().len(), 3);
        assert_eq!(first[1]["variantId"], "TSHIRT-001-M");
        assert_eq!(first[1]["sku"], "TSHIRT-001-M");
        assert_eq!(first[1]["inventory"], 10);
        assert_eq!(first[1]["blockedInventory"], 0);
        assert_eq!(first[1]["title"], "TSHIRT-001 TSHIRT-001-M");

        // An update through /updateInventory shows in the next listing.
        let r = update(
            &url,
            Some(&key),
            &serde_json::to_value(demo::example_request(profile)).unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        let (_, body) = get(&url, Some(&key), FIRST_PAGE).await;
        assert_eq!(body["products"][0]["variants"][1]["inventory"], 7);
        // The demo's "every 7th request is a 503" is the inventory push's: ten listing pages
        // in a row are all answered.
        for _ in 0..10 {
            assert_eq!(get(&url, Some(&key), FIRST_PAGE).await.0, 200);
        }
        let (_, body) = get(&url, Some(&key), &FIRST_PAGE.replace("=1&", "=2&")).await;
        assert_eq!(body, json!({"products": []}));
        // pageNumber is optional: it defaults to 1 (the query schema's default).
        let (code, body) = get(
            &url,
            Some(&key),
            "/products?pageSize=50&publishedStatus=PUBLISHED",
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(body["products"].as_array().unwrap().len(), 5);
        m.shutdown().await;
    }
}

#[tokio::test]
async fn listing_members_of_the_catalog_are_shown_per_seller() {
    let m = MockMarketplace::builder()
        .catalog_file(fixture("catalogs/listing.csv"))
        .seller(Credentials::new("acme", "ann", "pw"))
        .seller(Credentials::new("globex", "gil", "pw"))
        .start()
        .await
        .unwrap();
    let url = m.url();
    let acme = m.token("acme").unwrap();
    let globex = m.token("globex").unwrap();
    let count = "/productsCount?publishedStatus=PUBLISHED";
    assert_eq!(get(&url, Some(&acme), count).await.1, json!({"count": 4}));
    assert_eq!(get(&url, Some(&globex), count).await.1, json!({"count": 3}));
    let (_, body) = get(&url, Some(&acme), FIRST_PAGE).await;
    assert_listing(Profile::V1, &body);
    assert_eq!(
        variants(&body),
        [
            ("SHIRT".into(), "SHIRT-S".into(), "SH-S".into(), 4),
            ("SHIRT".into(), "SHIRT-M".into(), "SHIRT-M".into(), 0),
            ("SHIRT".into(), "SHIRT-L".into(), "SH-L".into(), 3),
            ("MUG".into(), "MUG-1".into(), "MUG-1".into(), 2),
        ]
    );
    let shirt = &body["products"][0];
    assert_eq!(shirt["brand"], "Loomcraft");
    assert_eq!(shirt["variants"][0]["title"], "Linen shirt S");
    assert_eq!(shirt["variants"][0]["blockedInventory"], 1);
    assert_eq!(
        shirt["variants"][0]["itemPrice"],
        json!({"listingPrice": 999.5, "mrp": 1299.0})
    );
    assert_eq!(shirt["variants"][2]["blockedInventory"], 2);
    // globex does not see acme's variant.
    let (_, body) = get(&url, Some(&globex), FIRST_PAGE).await;
    assert_eq!(variants(&body).len(), 3);
    // The SKU filter: one code, or a list; each variant under its product; codes of other
    // sellers' or unpublished items match nothing.
    let (_, body) = get(&url, Some(&acme), &format!("{FIRST_PAGE}&skus=SH-L")).await;
    assert_eq!(
        variants(&body),
        [("SHIRT".into(), "SHIRT-L".into(), "SH-L".into(), 3)]
    );
    let (_, body) = get(
        &url,
        Some(&acme),
        &format!("{FIRST_PAGE}&skus=MUG-1,SH-S,NOPE,DRAFT-1"),
    )
    .await;
    assert_listing(Profile::V1, &body);
    let got: Vec<String> = variants(&body).into_iter().map(|v| v.2).collect();
    assert_eq!(got, ["SH-S", "MUG-1"]);
    let (_, body) = get(&url, Some(&globex), &format!("{FIRST_PAGE}&skus=SH-L")).await;
    assert_eq!(body, json!({"products": []}));
}

#[tokio::test]
async fn texts_that_json_escapes_are_listed_as_the_catalog_gives_them() {
    // A page mixes products written as their bytes are and products whose texts need an
    // escape (a quote, a backslash, a control character), within one product too.
    let entry = |p: &str, v: &str, title: Option<&str>, brand: Option<&str>| CatalogEntry {
        stock: Some(3),
        title: title.map(Into::into),
        brand: brand.map(Into::into),
        ..CatalogEntry::new(p, v)
    };
    let catalog = Catalog {
        entries: vec![
            entry("PLAIN", "PLAIN-1", None, Some("Acme")),
            entry("Q\"1", "Q-A", Some("12\" ruler\\metric"), Some("B\"rand")),
            entry("Q\"1", "Q-B", None, None),
            entry("MIXED", "M-1", Some("tab\there"), None),
            entry("MIXED", "M-2", Some("fine"), None),
            entry("LAST", "L\n1", None, None),
        ],
    };
    let m = MockMarketplace::builder()
        .catalog(catalog)
        .start()
        .await
        .unwrap();
    let key = m.token("demo").unwrap();
    let (code, body) = get(&m.url(), Some(&key), FIRST_PAGE).await;
    assert_eq!(code, 200, "{body}");
    assert_listing(Profile::V1, &body);
    let p = &body["products"];
    assert_eq!(
        (&p[0]["brand"], &p[0]["variants"][0]["title"]),
        (&json!("Acme"), &json!("PLAIN PLAIN-1"))
    );
    assert_eq!(
        (&p[1]["id"], &p[1]["brand"]),
        (&json!("Q\"1"), &json!("B\"rand"))
    );
    assert_eq!(p[1]["variants"][0]["title"], "12\" ruler\\metric");
    assert_eq!(p[1]["variants"][1]["title"], "Q\"1 Q-B");
    assert_eq!(
        (&p[2]["variants"][0]["title"], &p[2]["variants"][1]["title"]),
        (&json!("tab\there"), &json!("fine"))
    );
    assert_eq!(
        (
            &p[3]["variants"][0]["variantId"],
            &p[3]["variants"][0]["sku"]
        ),
        (&json!("L\n1"), &json!("L\n1"))
    );
    assert_eq!(variants(&body).iter().map(|v| v.3).sum::<u64>(), 18);
}

/// A catalog of `products` products of two variants each.
fn big_catalog(products: usize) -> Catalog {
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

#[tokio::test]
async fn pages_hold_fifty_products_and_verify_sees_the_listing_pulled_to_its_end() {
    let m = MockMarketplace::builder()
        .catalog(big_catalog(120))
        .start()
        .await
        .unwrap();
    let (url, key) = (m.url(), m.token("demo").unwrap());
    let page = |n: usize| format!("/products?pageNumber={n}&pageSize=50&publishedStatus=PUBLISHED");
    let pulled = [Expectation {
        listing_pulled: Some(SellerQuery::default()),
        ..Expectation::default()
    }];
    let mut seen = Vec::new();
    for n in 1..=3 {
        let (code, body) = get(&url, Some(&key), &page(n)).await;
        assert_eq!(code, 200);
        assert_listing(Profile::V1, &body);
        seen.push(body["products"].as_array().unwrap().len());
        if n == 1 {
            let r = m.verify(&pulled);
            assert!(!r.ok, "{:?}", r.results);
            assert!(
                r.results[0].message.contains("did not pull"),
                "{:?}",
                r.results
            );
        }
    }
    assert_eq!(seen, [50, 50, 20]);
    let (_, body) = get(&url, Some(&key), &page(2)).await;
    assert_eq!(body["products"][0]["id"], "P0050");
    let r = m.verify(&pulled);
    assert!(r.ok, "{:?}", r.results);
    assert!(
        r.results[0].message.contains("pages 1 to 3"),
        "{:?}",
        r.results
    );

    // How often each call was made, and whether the count was read.
    let (code, _) = get(&url, Some(&key), "/productsCount?publishedStatus=PUBLISHED").await;
    assert_eq!(code, 200);
    let asks = [
        Expectation {
            requests: Some(RequestQuery {
                call: Some("products".into()),
                ..RequestQuery::default()
            }),
            count: Some(4),
            ..Expectation::default()
        },
        Expectation {
            count_read: Some(SellerQuery::default()),
            ..Expectation::default()
        },
        Expectation {
            requests: Some(RequestQuery::default()),
            count: Some(0),
            ..Expectation::default()
        },
    ];
    let r = m.verify(&asks);
    assert!(r.ok, "{:?}", r.results);
}

#[tokio::test]
async fn wrong_queries_and_keys_are_refused_with_a_message_naming_the_parameter() {
    let m = MockMarketplace::builder()
        .catalog(big_catalog(3))
        .start()
        .await
        .unwrap();
    let (url, key) = (m.url(), m.token("demo").unwrap());
    let base = "/products?publishedStatus=PUBLISHED";
    let cases: [(String, &str); 9] = [
        (format!("{base}&pageSize=51&pageNumber=1"), "`pageSize`"),
        (format!("{base}&pageSize=50&pageNumber=0"), "`pageNumber`"),
        (format!("{base}&pageSize=50&pageNumber=abc"), "`pageNumber`"),
        (
            format!("{base}&pageSize=50&pageNumber=99999999999999999999"),
            "`pageNumber`",
        ),
        (
            "/products?pageSize=50&publishedStatus=LIVE".to_string(),
            "`publishedStatus`",
        ),
        (format!("{base}&pageNumber=1"), "pageSize"),
        ("/products?pageSize=50".to_string(), "publishedStatus"),
        (format!("{base}&pageSize=50&pageSize=50"), "`pageSize`"),
        (
            "/productsCount?publishedStatus=ALL".to_string(),
            "`publishedStatus`",
        ),
    ];
    for (path, names) in &cases {
        let (code, body) = get(&url, Some(&key), path).await;
        assert_eq!(code, 400, "{path}: {body}");
        let msg = body["message"].as_str().unwrap_or_default();
        assert!(msg.contains(names), "{path}: {msg}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    }
    // 10,000 SKU codes: refused before any is looked up, naming the limit; the mock still
    // serves the next client.
    let codes: Vec<String> = (0..10_000).map(|i| format!("S{i}")).collect();
    let path = format!("{FIRST_PAGE}&skus={}", codes.join(","));
    let (code, body) = get(&url, Some(&key), &path).await;
    assert_eq!(code, 400);
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("10000 SKU codes") && msg.contains("at most 1000"),
        "{msg}"
    );
    assert!(msg.contains("max-skus"), "{msg}");
    assert_eq!(get(&url, Some(&key), FIRST_PAGE).await.0, 200);
    // A query longer than the server's header limit: hyper's answer, then a new client is
    // still served.
    let long = format!(
        "GET {FIRST_PAGE}&skus={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "A".repeat(300 * 1024)
    );
    let out = raw(&url, long.as_bytes(), std::time::Duration::from_secs(10))
        .await
        .unwrap_or_default();
    let head = String::from_utf8_lossy(&out[..out.len().min(40)]).to_string();
    assert!(
        head.starts_with("HTTP/1.1 431") || head.starts_with("HTTP/1.1 414") || out.is_empty(),
        "{head}"
    );
    assert_eq!(get(&url, Some(&key), FIRST_PAGE).await.0, 200);
    // A missing or a wrong apiKey: 401 with the count page's error shape.
    for k in [None, Some("swk-nobody")] {
        for path in [FIRST_PAGE, "/productsCount?publishedStatus=PUBLISHED"] {
            let (code, body) = get(&url, k, path).await;
            assert_eq!(code, 401, "{path}");
            assert!(
                body["message"].as_str().unwrap().contains("apiKey"),
                "{body}"
            );
            assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        }
    }
    // The journal names each call.
    let page = stockwire_tests::http::get_json(&url, "/__admin/journal?call=productsCount").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_sku_limit_is_a_limit_of_the_mock() {
    let m = MockMarketplace::builder()
        .catalog(big_catalog(3))
        .limits(Limits {
            max_skus: 2,
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let key = m.token("demo").unwrap();
    let (code, body) = get(
        &m.url(),
        Some(&key),
        &format!("{FIRST_PAGE}&skus=P0000-A,P0001-A"),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(variants(&body).len(), 2);
    let (code, body) = get(
        &m.url(),
        Some(&key),
        &format!("{FIRST_PAGE}&skus=P0000-A,P0001-A,P0002-A"),
    )
    .await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("at most 2"));
}

#[tokio::test]
async fn a_catalog_file_is_indexed_as_it_is_read_and_refuses_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let twice = dir.path().join("twice.csv");
    std::fs::write(&twice, "productId,variantId\nP1,V1\nP2,V1\nP1,V1\n").unwrap();
    let e = MockMarketplace::builder()
        .catalog_file(&twice)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("P1/V1 is listed twice for the same seller"),
        "{e}"
    );
    // The message is the one the catalog reader gives.
    let read = Catalog::read(&twice).unwrap_err().to_string();
    assert_eq!(e, read);
    let sku = dir.path().join("sku.json");
    std::fs::write(
        &sku,
        r#"[{"productId":"A","variantId":"1","sku":"X"},{"productId":"B","variantId":"1","sku":"X"}]"#,
    )
    .unwrap();
    let e = MockMarketplace::builder()
        .catalog_file(&sku)
        .start()
        .await
        .unwrap_err()
        .to_string();
    // The message is the reader's; the reader names the first of the two entries, the index
    // (which reads one entry at a time) the second.
    assert!(
        e.ends_with(
            "sku `X` is given to two items of every seller (a SKU code names one item of a seller)"
        ),
        "{e}"
    );
    assert!(e.contains(": /1: "), "{e}");
    assert!(
        Catalog::read(&sku)
            .unwrap_err()
            .to_string()
            .ends_with(e.split(": /1: ").nth(1).unwrap())
    );
    // The same variantId under two products (two-sellers.csv): default SKU codes unique.
    let m = MockMarketplace::builder()
        .catalog_file(fixture("catalogs/two-sellers.csv"))
        .seller(Credentials::new("acme", "ann", "pw"))
        .start()
        .await
        .unwrap();
    assert_eq!(m.catalog_items(), Some(4));
    let (_, body) = get(&m.url(), Some(&m.token("acme").unwrap()), FIRST_PAGE).await;
    let skus: Vec<String> = variants(&body).into_iter().map(|v| v.2).collect();
    let want = Catalog::read(&fixture("catalogs/two-sellers.csv")).unwrap();
    let want: Vec<String> = want
        .skus()
        .into_iter()
        .zip(&want.entries)
        .filter(|(_, e)| e.belongs_to("acme"))
        .map(|(s, _)| s.into_owned())
        .collect();
    assert_eq!(skus, want);
    assert_eq!(m.stock("acme", "P1", "V1"), Some(10));
}
