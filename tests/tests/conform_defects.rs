//! Defects a run on real partner code did not see (issue 18), each with a test partner that
//! has it and correct partners (one per partner choice) that stay clean: inventory spellings a
//! lenient parser reads as a count, error answers that are not JSON or carry a stack trace, and
//! an item named twice in one batch.

use stockwire_tests::partner_kit;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use partner_kit::{
    KEY, StockPartner, batch_answer, catalog, envelope_items, failed, item_ids, reply, run, serve,
    stock_probe, summary,
};
use serde_json::{Value, json};
use stockwire_conform::cases::{DIGIT_STRING_SPELLINGS, NUMBER_SPELLINGS};
use stockwire_conform::{Report, RunOptions};
use stockwire_schema::{Catalog, Inventory, Profile, contract};
use wiremock::{MockServer, Request, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Validates by the contract, answers errors with JSON, keeps the last of two values.
    Correct,
    /// Correct, but refuses an item named twice in one batch (a partner choice).
    RefusesDuplicates,
    /// Reads inventory as JavaScript's `Number(x)` does and stores any finite value >= 0.
    NodeNumber,
    /// Stores whatever inventory it gets (no validation of the value at all).
    Lenient,
    /// Answers every refused request 400 with an HTML page carrying a Java stack trace.
    HtmlTrace,
    /// Answers every refused request 400 with the plain text `Bad Request`.
    TextErrors,
    /// Answers every refused request with a JSON body that carries the Node trace in `stack`.
    JsonTrace,
    /// Keeps the first of two values for an item named twice.
    FirstWins,
    /// Keeps the last value on the first batch with a duplicate, the first one after.
    FlakyDuplicates,
}

/// JavaScript's `Number(x)` on a JSON value: strings trimmed, `""` is 0, hex and exponents
/// read, anything else NaN.
fn js_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                0.0
            } else if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).map_or(f64::NAN, |n| n as f64)
            } else if t == "Infinity" || t == "+Infinity" {
                f64::INFINITY
            } else if t
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            {
                t.parse().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        }
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Null => 0.0,
        _ => f64::NAN,
    }
}

struct Partner {
    mode: Mode,
    profile: Profile,
    catalog: Catalog,
    /// Stock by (productId, variantId), as the partner's stock API prints it.
    store: Mutex<HashMap<(String, String), String>>,
    /// Batches with a duplicate seen.
    duplicate_batches: AtomicU64,
}

const JAVA_PAGE: &str = "<html><body><h1>HTTP Status 400 – Bad Request</h1><pre>java.lang.NumberFormatException: For input string: \"x\"\n\tat java.base/java.lang.Integer.parseInt(Integer.java:668)\n\tat com.acme.market.InventoryController.update(InventoryController.java:57)\n</pre></body></html>";

impl Partner {
    fn new(mode: Mode, profile: Profile) -> Arc<Self> {
        let catalog = catalog();
        let store = catalog
            .entries
            .iter()
            .map(|e| {
                (
                    (e.product_id.clone(), e.variant_id.clone()),
                    "0".to_string(),
                )
            })
            .collect();
        Arc::new(Partner {
            mode,
            profile,
            catalog,
            store: Mutex::new(store),
            duplicate_batches: AtomicU64::new(0),
        })
    }

    fn known(&self, p: &str, v: &str) -> bool {
        self.catalog
            .entries
            .iter()
            .any(|e| e.product_id == p && e.variant_id == v)
    }

    /// A refusal of the whole request, in the partner's style.
    fn refuse(&self) -> ResponseTemplate {
        match self.mode {
            Mode::TextErrors => {
                ResponseTemplate::new(400).set_body_raw("Bad Request", "text/plain")
            }
            Mode::HtmlTrace => {
                ResponseTemplate::new(400).set_body_raw(JAVA_PAGE, "text/html;charset=utf-8")
            }
            Mode::JsonTrace => reply(
                400,
                json!({"status": "FAILED", "failedProductList": [], "message": "Bad Request",
                    "stack": std::fs::read_to_string(stockwire_tests::fixture("stack-traces/node.txt")).unwrap()}),
            ),
            _ => reply(400, json!({"status": "FAILED", "failedProductList": []})),
        }
    }
}

impl StockPartner for Partner {
    fn update(&self, req: &Request) -> ResponseTemplate {
        match req.headers.get("apikey").and_then(|v| v.to_str().ok()) {
            Some(KEY) => {}
            _ => return reply(401, json!({"message": "Unauthorized"})),
        }
        let c = contract(self.profile);
        let Some(items) = envelope_items(c, &req.body) else {
            return self.refuse();
        };
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for item in &items {
            *seen.entry(item_ids(item)).or_default() += 1;
        }
        let has_duplicate = seen.values().any(|&n| n > 1);
        let first_wins = match self.mode {
            Mode::FirstWins => true,
            Mode::FlakyDuplicates if has_duplicate => {
                self.duplicate_batches.fetch_add(1, Ordering::SeqCst) > 0
            }
            _ => false,
        };
        let mut failed: Vec<Value> = Vec::new();
        let mut listed: std::collections::HashSet<(String, String)> = Default::default();
        let mut writes: Vec<((String, String), String)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = item_ids(item);
            let inventory = item.get("inventory").cloned().unwrap_or(Value::Null);
            let value: Option<String> = match self.mode {
                Mode::NodeNumber => {
                    let n = js_number(&inventory);
                    (n >= 0.0 && !n.is_nan()).then(|| n.to_string())
                }
                Mode::Lenient => Some(inventory.to_string()),
                _ => c
                    .validate_item(i, item)
                    .is_empty()
                    .then(|| serde_json::from_value::<Inventory>(inventory).ok())
                    .flatten()
                    .and_then(|n| n.count())
                    .map(|n| n.to_string()),
            };
            let why = if value.is_none() {
                Some("Invalid inventory value")
            } else if !self.known(&key.0, &key.1) {
                Some("Variant not found")
            } else if self.mode == Mode::RefusesDuplicates && seen[&key] > 1 {
                Some("Duplicate item in one request")
            } else {
                None
            };
            match (why, value) {
                (None, Some(v)) => writes.push((key, v)),
                (Some(m), _) => {
                    if listed.insert(key.clone()) {
                        failed.push(json!({"productId": key.0, "variantId": key.1, "message": m}));
                    }
                }
                (None, None) => {}
            }
        }
        if writes.is_empty()
            && matches!(
                self.mode,
                Mode::HtmlTrace | Mode::JsonTrace | Mode::TextErrors
            )
        {
            return self.refuse();
        }
        let applied = writes.len();
        let mut s = self.store.lock().unwrap();
        if first_wins {
            writes.reverse();
        }
        for (k, v) in writes {
            s.insert(k, v);
        }
        batch_answer(failed, applied == 0)
    }

    /// The partner's own stock API: the stored value or an empty body.
    fn stock(&self, product: &str, variant: &str) -> String {
        self.store
            .lock()
            .unwrap()
            .get(&(product.to_string(), variant.to_string()))
            .cloned()
            .unwrap_or_default()
    }
}

async fn partner(mode: Mode, profile: Profile) -> MockServer {
    serve(Partner::new(mode, profile)).await
}

fn options(server: &MockServer, profile: Profile, probe: bool) -> RunOptions {
    // These partners build only /updateInventory: the catalog calls are not under test.
    let mut o = partner_kit::options(server, profile, 18);
    o.stock_settle = Duration::from_millis(100);
    if probe {
        o.stock_probe = Some(stock_probe(server));
    }
    // A debug-built test partner on a loaded machine: the 10,000-item batch is not under test.
    o.timeout = Duration::from_secs(120);
    o
}

/// The messages of every kept failing case of `check`.
fn messages(r: &Report, check: &str) -> Vec<String> {
    r.failures
        .iter()
        .filter(|f| f.check == check)
        .flat_map(|f| {
            std::iter::once(f.message.clone()).chain(f.cases.iter().map(|c| c.message.clone()))
        })
        .collect()
}

/// The spellings of a profile's count, as they appear in a message (JSON text).
fn spellings(profile: Profile) -> Vec<String> {
    match profile {
        Profile::V2 => DIGIT_STRING_SPELLINGS
            .iter()
            .map(|s| Value::String((*s).into()).to_string())
            .collect(),
        _ => NUMBER_SPELLINGS.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every spelling is sent in a default run, whatever the seed, and a correct partner (which
/// refuses each) stays clean under both profiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_partner_refuses_every_spelling_and_stays_clean() {
    for profile in [Profile::V1, Profile::V2] {
        let server = partner(Mode::Correct, profile).await;
        let r = run(options(&server, profile, true)).await;
        let s = summary(&r);
        assert!(failed(&r).is_empty(), "{profile:?}\n{s}");
        let bodies: Vec<String> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|q| String::from_utf8_lossy(&q.body).into_owned())
            .collect();
        for sp in spellings(profile) {
            let sent = format!("\"inventory\":{sp}}}");
            assert!(
                bodies.iter().any(|b| b.contains(&sent)),
                "{profile:?}: {sent} never sent"
            );
        }
        assert!(
            r.checks
                .iter()
                .any(|c| c.id == "duplicate-last-wins" && c.passed > 0),
            "{s}"
        );
    }
}

/// A partner that stores whatever inventory it gets fails `invalid-item-rejected` once per
/// spelling, each message naming the spelling as sent (`1e3`, not `1000.0`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_accepting_any_spelling_fails_naming_it() {
    for (mode, profile, caught) in [
        (Mode::Lenient, Profile::V2, spellings(Profile::V2)),
        (Mode::Lenient, Profile::V1, spellings(Profile::V1)),
        // `Number(x)` refuses only NaN: "NaN" and the Arabic-Indic digit.
        (
            Mode::NodeNumber,
            Profile::V2,
            [
                "\"\"",
                "\" \"",
                "\"Infinity\"",
                "\"0x10\"",
                "\"1e3\"",
                "\"+7\"",
                "\"7 \"",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (Mode::NodeNumber, Profile::V1, spellings(Profile::V1)),
    ] {
        let server = partner(mode, profile).await;
        let r = run(options(&server, profile, false)).await;
        let s = summary(&r);
        assert!(
            failed(&r).contains(&"invalid-item-rejected".into()),
            "{mode:?}\n{s}"
        );
        let m = messages(&r, "invalid-item-rejected");
        for sp in caught {
            assert!(
                m.iter()
                    .any(|x| x.contains("inventory [") && x.contains(&format!(": {sp})"))),
                "{mode:?} {profile:?}: {sp} not named in\n{}",
                m.join("\n")
            );
        }
    }
}

/// Error answers: plain text fails only `error-body-json`, a JSON body with a Node trace fails
/// only `no-stack-trace`, an HTML page with a Java trace fails both; the matching line is
/// quoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_with_html_or_a_stack_trace_fail() {
    let server = partner(Mode::TextErrors, Profile::V1).await;
    let r = run(options(&server, Profile::V1, false)).await;
    let s = summary(&r);
    assert_eq!(failed(&r), vec!["error-body-json".to_string()], "{s}");
    assert!(
        messages(&r, "error-body-json")[0].contains(
            "HTTP 400 error answer is not JSON (declared `text/plain`): body \"Bad Request\""
        ),
        "{s}"
    );

    let server = partner(Mode::HtmlTrace, Profile::V1).await;
    let r = run(options(&server, Profile::V1, false)).await;
    let s = summary(&r);
    let f = failed(&r);
    assert!(f.contains(&"error-body-json".into()), "{s}");
    assert!(f.contains(&"no-stack-trace".into()), "{s}");
    let m = messages(&r, "no-stack-trace");
    assert!(
        m[0].contains(
            "Java stack trace: \"at java.base/java.lang.Integer.parseInt(Integer.java:668)\""
        ),
        "{m:?}"
    );
    assert!(
        messages(&r, "error-body-json")[0]
            .contains("HTTP 400 error answer is not JSON (declared `text/html;charset=utf-8`)"),
        "{s}"
    );

    let server = partner(Mode::JsonTrace, Profile::V1).await;
    let r = run(options(&server, Profile::V1, false)).await;
    let s = summary(&r);
    assert_eq!(failed(&r), vec!["no-stack-trace".to_string()], "{s}");
    assert!(
        messages(&r, "no-stack-trace")[0].contains("Node stack trace"),
        "{s}"
    );
}

/// Duplicates: keeping the first value fails, keeping it only some of the time fails (the case
/// is repeated), refusing is a partner choice, and a run without a reader says it skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_named_twice_must_keep_the_last_value_or_be_refused() {
    for mode in [Mode::FirstWins, Mode::FlakyDuplicates] {
        let server = partner(mode, Profile::V1).await;
        let r = run(options(&server, Profile::V1, true)).await;
        let s = summary(&r);
        assert_eq!(
            failed(&r),
            vec!["duplicate-last-wins".to_string()],
            "{mode:?}\n{s}"
        );
        let m = messages(&r, "duplicate-last-wins");
        assert!(m[0].contains("not the last value sent"), "{m:?}");
    }

    let server = partner(Mode::RefusesDuplicates, Profile::V1).await;
    let r = run(options(&server, Profile::V1, true)).await;
    let s = summary(&r);
    assert!(failed(&r).is_empty(), "{s}");
    assert!(
        r.choices
            .iter()
            .any(|c| c.topic == "duplicate-items" && c.choice.starts_with("refused")),
        "{s}"
    );
    assert!(s.contains("duplicate-items"), "{s}");

    let server = partner(Mode::FirstWins, Profile::V1).await;
    let r = run(options(&server, Profile::V1, false)).await;
    let c = r
        .checks
        .iter()
        .find(|c| c.id == "duplicate-last-wins")
        .expect("registered");
    assert_eq!((c.passed, c.failed), (0, 0));
    let why = c.skip_reason.as_deref().unwrap_or_default();
    assert!(why.contains("reading the stock back"), "{why}");
}
