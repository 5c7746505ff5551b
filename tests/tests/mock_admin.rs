//! The admin API: health, journal (filters, bound), ledger, one item's stock, reset, scenario replacement,
//! verify, and reloading a watched scenario file.

use std::time::Duration;

use serde_json::{Value, json};
use stockwire_mock::{MockMarketplace, demo};
use stockwire_tests::http::{get_json, send, update};

fn one(p: &str, v: &str, n: i64) -> Value {
    json!({"inventoryList": [{"productId": p, "variantId": v, "inventory": n}]})
}

#[tokio::test]
async fn health_journal_filters_and_the_bound() {
    let m = MockMarketplace::builder()
        .demo()
        .journal_cap(5)
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    let h = get_json(&m.url(), "/__admin/health").await;
    assert_eq!(
        (h["status"].as_str(), h["rules"].as_u64()),
        (Some("ok"), Some(3))
    );
    for i in 0..8 {
        let body = if i % 2 == 0 {
            one("SKU-X", "SKU-X-1", i)
        } else {
            one("MUG-002", "MUG-002-WHITE", i)
        };
        update(&m.url(), Some(&t), &body).await;
    }
    let j = get_json(&m.url(), "/__admin/journal").await;
    assert_eq!(j["entries"].as_array().unwrap().len(), 5);
    assert_eq!(j["stats"]["dropped"], 3);
    assert_eq!(j["entries"][0]["id"], 4, "the oldest went first");
    let j = get_json(&m.url(), "/__admin/journal?rule=sku-x-mismatch").await;
    assert!(
        j["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["effects"][0]["rule"] == "sku-x-mismatch")
    );
    let j = get_json(&m.url(), "/__admin/journal?status=503").await;
    assert_eq!(
        j["entries"].as_array().unwrap().len(),
        1,
        "request 7 was the demo's 503"
    );
    let j = get_json(&m.url(), "/__admin/journal?productId=MUG-002&limit=1").await;
    assert_eq!(j["entries"].as_array().unwrap().len(), 1);
    let r = send(&m.url(), "GET", "/__admin/journal?colour=red", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = send(&m.url(), "DELETE", "/__admin/journal", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(m.journal().is_empty());
}

#[tokio::test]
async fn ledger_reset_and_verify() {
    let m = MockMarketplace::builder()
        .catalog(demo::catalog())
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    update(&m.url(), Some(&t), &one("LAMP-003", "LAMP-003-BLUE", 0)).await;
    update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 0)).await;
    update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 4)).await;
    let ledger = get_json(&m.url(), "/__admin/ledger").await;
    let mug = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["productId"] == "MUG-002")
        .unwrap()
        .clone();
    assert_eq!(
        mug,
        json!({"seller": "demo", "productId": "MUG-002", "variantId": "MUG-002-WHITE", "stock": 4})
    );
    let ask = json!({"expect": [
        {"wasSet": {"productId": "MUG-002", "variantId": "MUG-002-WHITE"}, "to": 0},
        {"stock": {"productId": "MUG-002", "variantId": "MUG-002-WHITE"}, "equals": 4},
        {"requests": {}, "count": 3},
        {"requests": {"status": 200}, "min": 4}
    ]});
    let r = send(
        &m.url(),
        "POST",
        "/__admin/verify",
        &[("content-type", "application/json")],
        ask.to_string().as_bytes(),
    )
    .await
    .unwrap();
    let v = r.json();
    assert_eq!(v["ok"], false);
    let oks: Vec<bool> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [true, true, true, false]);
    assert!(
        v["results"][3]["message"]
            .as_str()
            .unwrap()
            .contains("found 3")
    );
    let r = send(&m.url(), "POST", "/__admin/reset", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        m.stock("demo", "MUG-002", "MUG-002-WHITE"),
        Some(5),
        "back to the catalog's stock"
    );
    assert_eq!(m.request_count(), 0);
    assert!(m.journal().is_empty());
    let r = send(&m.url(), "POST", "/__admin/verify", &[], b"{}")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn put_scenario_replaces_rules_at_run_time() {
    let m = MockMarketplace::builder()
        .catalog(demo::catalog())
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    let toml = "[[rules]]\nname = \"down\"\neffect = { status = 500 }\n";
    let r = send(
        &m.url(),
        "PUT",
        "/__admin/scenario",
        &[("content-type", "application/toml")],
        toml.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.json(), json!({"status": "ok", "rules": 1}));
    assert_eq!(
        update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 1))
            .await
            .status,
        500
    );
    let yaml = "rules:\n  - name: bad\n    effect: { delay: soon }\n";
    let r = send(&m.url(), "PUT", "/__admin/scenario", &[], yaml.as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("rule bad: delay")
    );
    let s = get_json(&m.url(), "/__admin/scenario").await;
    assert_eq!(
        s["fired"][0],
        json!({"rule": "down", "fired": 1}),
        "the bad scenario did not replace the good one"
    );
    let r = send(
        &m.url(),
        "PUT",
        "/__admin/scenario",
        &[("content-type", "application/json")],
        br#"{"rules": []}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 1))
            .await
            .status,
        200
    );
    let r = send(&m.url(), "GET", "/__admin/nope", &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 404);
}

/// Scenarios through the admin API are configuration from the network: each cap refuses a
/// hostile one with its name, and the scenario in place keeps serving.
#[tokio::test]
async fn a_scenario_past_a_cap_is_refused_and_the_old_one_keeps_serving() {
    let m = MockMarketplace::builder()
        .catalog(demo::catalog())
        .scenario_limits(stockwire_mock::scenario::ScenarioLimits {
            max_rules: 2,
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    let put = |body: Vec<u8>| {
        let url = m.url();
        async move {
            send(
                &url,
                "PUT",
                "/__admin/scenario",
                &[("content-type", "application/yaml")],
                &body,
            )
            .await
            .unwrap()
        }
    };
    let r = put(b"rules:\n  - name: down\n    effect: { status: 500 }\n".to_vec()).await;
    assert_eq!(r.status, 200);
    // 200 KB nested 100,000 deep (it stalled the whole mock for 21 s).
    let deep = format!("rules: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = put(deep.into_bytes()).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("--max-scenario-depth"), "{}", r.text());
    // 2 MB of text, over the 1 MiB cap.
    let r = put(format!("description: {}", "x".repeat(2 << 20)).into_bytes()).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("--max-scenario-bytes"), "{}", r.text());
    let three = format!("rules:\n{}", "  - effect: { status: 503 }\n".repeat(3));
    let r = put(three.into_bytes()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("--max-scenario-rules"), "{}", r.text());
    // The scenario in place still serves.
    assert_eq!(
        update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 1))
            .await
            .status,
        500
    );
}

#[tokio::test]
async fn a_watched_scenario_file_is_reloaded_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, "").unwrap();
    let m = MockMarketplace::builder()
        .scenario(stockwire_mock::Scenario::read(&path).unwrap())
        .no_auth()
        .start()
        .await
        .unwrap();
    m.watch_scenario_file(path.clone()).unwrap();
    std::fs::write(
        &path,
        "[[rules]]\nname = \"teapot\"\neffect = { status = 418 }\n",
    )
    .unwrap();
    let mut status = 0;
    for _ in 0..250 {
        status = update(&m.url(), None, &one("P", "V", 1)).await.status;
        if status == 418 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 418);
}

#[tokio::test]
async fn one_items_stock_as_plain_text_for_a_stock_probe() {
    let m = MockMarketplace::builder()
        .catalog(demo::catalog())
        .start()
        .await
        .unwrap();
    let t = m.token("demo").unwrap();
    update(&m.url(), Some(&t), &one("MUG-002", "MUG-002-WHITE", 17)).await;
    let get = |path: &'static str| {
        let url = m.url();
        async move { send(&url, "GET", path, &[], b"").await.unwrap() }
    };
    let r = get("/__admin/stock?seller=demo&productId=MUG-002&variantId=MUG-002-WHITE").await;
    assert_eq!((r.status, r.text()), (200, "17".to_string()));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    // The seller may be left out when only one holds the item.
    let r = get("/__admin/stock?productId=MUG-002&variantId=MUG-002-WHITE").await;
    assert_eq!(r.text(), "17");
    // Never set and not in the catalog: an empty body, as a probe prints for "never set".
    let r = get("/__admin/stock?seller=demo&productId=NOPE&variantId=NOPE-1").await;
    assert_eq!((r.status, r.text()), (200, String::new()));
    // A missing id or an unknown parameter is a 400 that says what to send.
    let r = get("/__admin/stock?productId=MUG-002").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("variantId"));
    let r = get("/__admin/stock?productId=A&variantId=B&sku=C").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("`sku`"));
}
