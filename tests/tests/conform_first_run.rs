//! A first run without a catalog (issue 10): against every correct partner, over seeds 1 to 20,
//! the runner reports no violation, and it says up front which checks it cannot carry out.
//! The partners are the reference mock and one for each difference FACTS.md tells a checking
//! tool to tolerate: whole-batch rejection; 200 + FAILED for a refused request (auth refusals
//! included); no `failedProductList` on SUCCESS; digit-string inventory; a batch limit of the
//! partner's own answered with 413. Each knows items the runner is not told about.

use stockwire_tests::partner_kit;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use partner_kit::{catalog, run, serve_updates};
use serde_json::{Value, json};
use stockwire_conform::config::Dur;
use stockwire_conform::{Credentials, Report, RunOptions};
use stockwire_schema::{Catalog, Inventory, Profile, contract};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "partner-key";

/// The one way each partner differs from the reference, all of them allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    /// One bad item refuses the whole request: HTTP 400, FAILED, the bad items listed.
    WholeBatch,
    /// Every request refused as a whole (bad key, malformed JSON…) gets 200 + FAILED.
    Refuse200,
    /// SUCCESS comes without `failedProductList`.
    NoListOnSuccess,
    /// `inventory` may be an integer or a string of digits.
    DigitStrings,
    /// At most this many items per request; more get 413 and a FAILED body saying so.
    BatchLimit(usize),
}

/// A correct per-item partner, but for its style.
struct Partner {
    style: Style,
    catalog: Catalog,
}

fn id_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

impl Partner {
    fn refuse(&self, status: u16, message: &str) -> (u16, Value) {
        let body = json!({"status": "FAILED", "failedProductList": [], "message": message});
        if self.style == Style::Refuse200 {
            (200, body)
        } else {
            (status, body)
        }
    }

    fn answer(&self, api_key: Option<&str>, body: &[u8]) -> (u16, Value) {
        if api_key != Some(KEY) {
            return self.refuse(401, "invalid apiKey");
        }
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return self.refuse(400, "body is not JSON");
        };
        let c = contract(Profile::V1);
        if !c.validate_envelope(&req).is_empty() {
            return self.refuse(400, "inventoryList must be a non-empty list");
        }
        let items = req["inventoryList"].as_array().cloned().unwrap_or_default();
        if let Style::BatchLimit(max) = self.style
            && items.len() > max
        {
            return (
                413,
                json!({"status": "FAILED", "failedProductList": [], "message": format!("at most {max} items per request")}),
            );
        }
        // Every refused item is listed, once per time it was sent.
        let mut failed: Vec<Value> = Vec::new();
        let mut sent: HashSet<(String, String)> = HashSet::new();
        let mut failed_pairs: HashSet<(String, String)> = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let pair = (
                id_text(item.get("productId")),
                id_text(item.get("variantId")),
            );
            sent.insert(pair.clone());
            let digits = self.style == Style::DigitStrings
                && item
                    .get("inventory")
                    .and_then(|v| serde_json::from_value::<Inventory>(v.clone()).ok())
                    .and_then(|inv| inv.count())
                    .is_some();
            let problems = c.validate_item(i, item);
            let valid = problems.is_empty()
                || (digits && problems.iter().all(|p| p.pointer.ends_with("/inventory")));
            let known = self
                .catalog
                .entries
                .iter()
                .any(|e| (e.product_id.as_str(), e.variant_id.as_str()) == (&pair.0, &pair.1));
            let message = if !valid {
                "Invalid inventory value"
            } else if !known {
                "Variant not found"
            } else {
                continue;
            };
            failed.push(json!({"productId": pair.0, "variantId": pair.1, "message": message}));
            failed_pairs.insert(pair);
        }
        if failed.is_empty() {
            return if self.style == Style::NoListOnSuccess {
                (200, json!({"status": "SUCCESS"}))
            } else {
                (200, json!({"status": "SUCCESS", "failedProductList": []}))
            };
        }
        if self.style == Style::WholeBatch {
            return (
                400,
                json!({"status": "FAILED", "failedProductList": failed}),
            );
        }
        let status = if failed_pairs.len() >= sent.len() {
            "FAILED"
        } else {
            "PARTIAL_SUCCESS"
        };
        (200, json!({"status": status, "failedProductList": failed}))
    }
}

struct Inventory200(Arc<Partner>);

impl Respond for Inventory200 {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req.headers.get("apikey").and_then(|v| v.to_str().ok());
        let (status, body) = self.0.answer(key, &req.body);
        ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
    }
}

async fn partner(style: Style) -> MockServer {
    serve_updates(Inventory200(Arc::new(Partner {
        style,
        catalog: catalog(),
    })))
    .await
}

/// A first run: no catalog, a bounded budget, the partner's credentials.
fn first_run(url: String, seed: u64, credentials: Credentials) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.credentials = credentials;
    o.seed = seed;
    // These partners serve only /updateInventory (and /authToken): no catalog calls.
    o.discovery = false;
    // The fixed probes up to (not including) the large batches, which would make a
    // 20-seed sweep slow; the batch-limit partner's limit is low enough to be met anyway.
    o.cases = 40;
    o.concurrency = 2;
    o.timeout = Duration::from_secs(20);
    // Speed is not what is asserted here.
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    o
}

fn assert_clean(name: &str, seed: u64, r: &Report) {
    assert_eq!(
        r.summary.exit_code,
        0,
        "{name}, seed {seed}: a correct partner must pass a first run\n{}",
        stockwire_conform::console::summary(r)
    );
    // The runner says what it could not check, from the checks' own declarations.
    for id in ["valid-item-accepted", "zero-inventory-accepted"] {
        let gap = r.coverage.iter().find(|g| g.check == id).unwrap();
        assert_eq!(gap.effect, stockwire_conform::checks::Loss::Skipped);
        let c = r.checks.iter().find(|c| c.id == id).unwrap();
        assert!(
            c.skip_reason
                .as_deref()
                .unwrap_or("")
                .contains("without a catalog"),
            "{c:?}"
        );
    }
    // It never claims to know how batches are rejected when it knows no valid item.
    assert!(
        !r.choices
            .iter()
            .any(|c| c.topic == "batch-rejection" && c.choice.starts_with("whole batch")),
        "{name}: {:?}",
        r.choices
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_mock_passes_a_first_run_on_seeds_1_to_20() {
    let mock = stockwire_mock::MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    for seed in 1..=20 {
        let login = Credentials::Login {
            username: stockwire_mock::demo::USERNAME.into(),
            password: stockwire_mock::demo::PASSWORD.into(),
        };
        let r = run(first_run(mock.url(), seed, login)).await;
        assert_clean("reference mock", seed, &r);
        // The duplicates case was sent, the mock listed each refused item, nothing flagged.
        let unique = r
            .checks
            .iter()
            .find(|c| c.id == "failed-entry-unique")
            .unwrap();
        assert!(unique.passed > 0 && unique.failed == 0, "{unique:?}");
    }
    mock.shutdown().await;
}

/// The choice each partner is seen making (a prefix of it); without a catalog nothing is applied, so some
/// choices show only once the runner knows an item (`--item`).
fn expected_choice(style: Style, with_items: bool) -> &'static str {
    match (style, with_items) {
        (Style::WholeBatch, false) => "rejection-style: HTTP 400",
        (Style::WholeBatch, true) => "batch-rejection: whole batch refused for a bad item",
        (Style::Refuse200, _) => "auth-refusal: HTTP 200 + FAILED",
        (Style::NoListOnSuccess, false) => "rejection-style: HTTP 400",
        (Style::NoListOnSuccess, true) => "failed-list-on-success: absent",
        (Style::DigitStrings, false) => "rejection-style: HTTP 400",
        (Style::DigitStrings, true) => "inventory-spelling: both spellings accepted",
        (Style::BatchLimit(_), _) => "batch-limit: refused a batch of",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tolerated_partner_passes_a_first_run_on_seeds_1_to_20() {
    for style in [
        Style::WholeBatch,
        Style::Refuse200,
        Style::NoListOnSuccess,
        Style::DigitStrings,
        Style::BatchLimit(3),
    ] {
        let server = partner(style).await;
        let mut seen: HashMap<String, u64> = HashMap::new();
        for seed in 1..=20 {
            let r = run(first_run(
                server.uri(),
                seed,
                Credentials::ApiKey(KEY.into()),
            ))
            .await;
            assert_clean(&format!("{style:?}"), seed, &r);
            for c in &r.choices {
                *seen
                    .entry(format!("{}: {}", c.topic, c.choice))
                    .or_default() += c.count;
            }
        }
        let expect = expected_choice(style, false);
        assert!(
            seen.keys().any(|k| k.starts_with(expect)),
            "{style:?}: {seen:?}"
        );
        assert!(
            seen.keys()
                .any(|k| k.starts_with("batch-rejection: not determined")),
            "{style:?}: {seen:?}"
        );

        // The same run with two of the partner's items given (as `--item` does): still clean,
        // nothing weakened for lack of a catalog, and the partner's own choice shows.
        let mut seen: HashMap<String, u64> = HashMap::new();
        for seed in 1..=3 {
            let mut o = first_run(server.uri(), seed, Credentials::ApiKey(KEY.into()));
            for text in [
                r#"{"productId":"TSHIRT-01","variantId":"TSHIRT-01-M","stock":12}"#,
                r#"{"productId":"MUG-7","variantId":"MUG-7-BLUE"}"#,
            ] {
                let item: stockwire_conform::config::KnownItem = text.parse().unwrap();
                o.catalog.add(item.0).unwrap();
            }
            let r = run(o).await;
            assert_eq!(
                r.summary.exit_code,
                0,
                "{style:?} with items, seed {seed}\n{}",
                stockwire_conform::console::summary(&r)
            );
            assert!(
                !r.coverage.iter().any(|g| g
                    .reasons
                    .iter()
                    .any(|x| x.missing == stockwire_conform::checks::Resource::Catalog)),
                "{:?}",
                r.coverage
            );
            for c in &r.choices {
                *seen
                    .entry(format!("{}: {}", c.topic, c.choice))
                    .or_default() += c.count;
            }
        }
        let expect = expected_choice(style, true);
        assert!(
            seen.keys().any(|k| k.starts_with(expect)),
            "{style:?} with items: {seen:?}"
        );
    }
}

/// The coverage lines come first, on standard error, before any result.
#[test]
fn the_cli_names_what_it_cannot_check_before_the_run_and_item_fills_the_gap() {
    use stockwire_tests::stockwire;
    let base = [
        "conform",
        "--seed",
        "3",
        "--cases",
        "30",
        "--quiet",
        "--latency-budget",
        "120s",
        "--no-discovery",
    ];
    // The embedded mock knows the demo catalog; an empty catalog file makes it a first run.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let mut args: Vec<&str> = base.to_vec();
    args.extend(["--catalog", empty.to_str().unwrap()]);
    let r = stockwire(&args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let first = r.stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("coverage of this run"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("without a catalog (give known items with --catalog FILE or --item"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.trim_start().starts_with("skipped  valid-item-accepted")),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("skipped: without a catalog"),
        "{}",
        r.stdout
    );

    // The same run with one known item: nothing is left out for lack of a catalog.
    let mut args: Vec<&str> = base.to_vec();
    args.extend([
        "--catalog",
        empty.to_str().unwrap(),
        "--item",
        r#"{"productId":"MUG-002","variantId":"MUG-002-WHITE","stock":5}"#,
    ]);
    let r = stockwire(&args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("without a catalog"), "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("valid-item-accepted") && l.ends_with("passed")),
        "{}",
        r.stdout
    );
}

#[test]
fn a_bad_or_repeated_item_is_a_usage_error_that_says_where() {
    use stockwire_tests::stockwire;
    let r = stockwire(&[
        "conform",
        "--item",
        r#"{"productId":"54353","variantId":"54353-2","stock":-5}"#,
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("/stock: must be an integer from 0 to 2147483647, got -5"),
        "{}",
        r.stderr
    );
    let r = stockwire(&["conform", "--item", r#"{"productId":"54353"}"#]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`variantId` is required"), "{}", r.stderr);

    let item = r#"{"productId":"54353","variantId":"54353-2","stock":5,"seller":"s1"}"#;
    let r = stockwire(&["conform", "--item", item, "--item", item]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("productId `54353` / variantId `54353-2` is given twice for seller `s1`"),
        "{}",
        r.stderr
    );
}

#[test]
fn stockwire_toml_items_add_to_the_catalog_and_to_item_flags() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.json");
    std::fs::write(
        &catalog,
        r#"[{"productId":"P1","variantId":"V1","stock":1}]"#,
    )
    .unwrap();
    let toml = dir.path().join("stockwire.toml");
    std::fs::write(
        &toml,
        "catalog = \"c.json\"\nitems = [{ productId = \"a,b \\\"c\\\"\", variantId = \"V/2\", stock = 5 }]\n",
    )
    .unwrap();
    let (cfg, _) = stockwire_conform::ConfigFile::load(&toml).unwrap();
    let flag: stockwire_conform::config::KnownItem =
        r#"{"productId":"P3","variantId":"V3"}"#.parse().unwrap();
    let cfg = cfg.overlay(stockwire_conform::ConfigFile {
        items: vec![flag.clone()],
        ..Default::default()
    });
    let o = cfg
        .run_options("http://127.0.0.1:1".into(), |_| None)
        .unwrap();
    let keys: Vec<String> = o
        .catalog
        .entries
        .iter()
        .map(|e| e.key().to_string())
        .collect();
    assert_eq!(keys, ["P1/V1", "a,b \"c\"/V/2", "P3/V3"]);

    // The same pair as the catalog file's is refused, naming it.
    let dup: stockwire_conform::config::KnownItem =
        r#"{"productId":"P1","variantId":"V1"}"#.parse().unwrap();
    let e = cfg
        .overlay(stockwire_conform::ConfigFile {
            items: vec![dup],
            ..Default::default()
        })
        .run_options("http://127.0.0.1:1".into(), |_| None)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("productId `P1` / variantId `V1` is given twice"),
        "{e}"
    );

    // A bad item in the file names the key and the pointer into the item.
    std::fs::write(
        &toml,
        "items = [{ productId = \"P\", variantId = \"V\", stock = -1 }]\n",
    )
    .unwrap();
    let e = stockwire_conform::ConfigFile::load(&toml)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("items") && e.contains("/stock: must be an integer"),
        "{e}"
    );
}
