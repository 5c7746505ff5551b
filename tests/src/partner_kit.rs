//! What the conformance tests' wiremock partners share: the catalog and apiKey they know,
//! their JSON answers, a server that mounts their update (and stock) endpoints, and a run
//! against them with the options those tests have in common.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stockwire_conform::config::Dur;
use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, Report, RunOptions};
use stockwire_schema::{Catalog, Contract, Inventory, Profile};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The apiKey the partners take.
pub const KEY: &str = "good-key";

/// The catalog the partners know (`fixtures/conform/catalog.json`).
pub fn catalog() -> Catalog {
    let file = crate::fixture("conform/catalog.json");
    Catalog::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// An answer with a JSON body.
pub fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}

/// HTTP 200 for a batch: SUCCESS when no item failed, FAILED when `all_failed`, else
/// PARTIAL_SUCCESS, with the failed items listed.
pub fn batch_answer(failed: Vec<Value>, all_failed: bool) -> ResponseTemplate {
    let status = if failed.is_empty() {
        "SUCCESS"
    } else if all_failed {
        "FAILED"
    } else {
        "PARTIAL_SUCCESS"
    };
    reply(200, json!({"status": status, "failedProductList": failed}))
}

/// The items of an update request whose body is a JSON envelope valid by `c`; `None` when it
/// is not.
pub fn envelope_items(c: &Contract, body: &[u8]) -> Option<Vec<Value>> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let body = parsed.filter(|b| c.validate_envelope(b).is_empty())?;
    Some(
        body["inventoryList"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    )
}

/// An item's productId and variantId as sent (empty when missing or not a string).
pub fn item_ids(item: &Value) -> (String, String) {
    let text = |f: &str| {
        item.get(f)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (text("productId"), text("variantId"))
}

/// An item's inventory as a stock count, when it reads as one.
pub fn item_count(item: &Value) -> Option<u32> {
    item.get("inventory")
        .and_then(|v| serde_json::from_value::<Inventory>(v.clone()).ok())
        .and_then(|i| i.count())
}

/// A partner with an update endpoint and its own stock API.
pub trait StockPartner: Send + Sync + 'static {
    /// Answers `POST /updateInventory`.
    fn update(&self, req: &Request) -> ResponseTemplate;
    /// The body of `GET /stock?p=&v=` for an item (a missing parameter is empty).
    fn stock(&self, product: &str, variant: &str) -> String;
}

/// Serves [`StockPartner::update`] to wiremock.
struct Update<P>(Arc<P>);

impl<P: StockPartner> Respond for Update<P> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.update(req)
    }
}

/// Serves [`StockPartner::stock`] to wiremock.
struct Stock<P>(Arc<P>);

impl<P: StockPartner> Respond for Stock<P> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let get = |k: &str| q.get(k).cloned().unwrap_or_default();
        ResponseTemplate::new(200).set_body_string(self.0.stock(&get("p"), &get("v")))
    }
}

/// A server that answers `POST /updateInventory` with `update`, and nothing else.
pub async fn serve_updates(update: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/updateInventory"))
        .respond_with(update)
        .mount(&server)
        .await;
    server
}

/// A server for `partner`: its updates, and its stock at `GET /stock?p=&v=`.
pub async fn serve<P: StockPartner>(partner: Arc<P>) -> MockServer {
    let server = serve_updates(Update(partner.clone())).await;
    Mock::given(method("GET"))
        .and(path("/stock"))
        .respond_with(Stock(partner))
        .mount(&server)
        .await;
    server
}

/// The `--stock-probe` that reads an item through the server's `GET /stock`.
pub fn stock_probe(server: &MockServer) -> String {
    format!(
        "curl -sf \"{}/stock?p={{productId:url}}&v={{variantId:url}}\"",
        server.uri()
    )
}

/// A run against a partner that builds only `/updateInventory` (the catalog calls are not
/// under test) with [`KEY`], knowing [`catalog`], two requests at a time, the latency budget
/// out of the way.
pub fn options(server: &MockServer, profile: Profile, seed: u64) -> RunOptions {
    let mut o = RunOptions::new(server.uri());
    o.discovery = false;
    o.profile = profile;
    o.catalog = catalog();
    o.credentials = Credentials::ApiKey(KEY.into());
    o.seed = seed;
    o.concurrency = 2;
    o.shrink_requests = 12;
    // Speed is not what is asserted.
    o.policies.latency_budget = Dur(Duration::from_secs(60));
    o
}

/// Runs, with no events shown.
pub async fn run(o: RunOptions) -> Report {
    stockwire_conform::run(o, &mut NoSink)
        .await
        .unwrap_or_else(|e| panic!("the run did not end with a report: {e}"))
}

/// The ids of the checks that failed.
pub fn failed(r: &Report) -> Vec<String> {
    r.failed_checks().map(|c| c.id.clone()).collect()
}

/// The report's console summary.
pub fn summary(r: &Report) -> String {
    stockwire_conform::console::summary(r)
}
