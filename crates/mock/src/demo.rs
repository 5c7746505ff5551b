//! The built-in demo: a small catalog, one seller and a scenario with partial failures, the
//! same files as `fixtures/catalogs/demo.json` and `fixtures/scenarios/demo.toml`.

use std::path::Path;

use stockwire_schema::Catalog;

use crate::ledger::tokens::Credentials;
use crate::scenario::{Format, Scenario};

const CATALOG: &str = include_str!("../../../fixtures/catalogs/demo.json");
const SCENARIO: &str = include_str!("../../../fixtures/scenarios/demo.toml");

/// Name of the demo seller.
pub const SELLER: &str = "demo";
/// Username of the demo seller.
pub const USERNAME: &str = "demo";
/// Password of the demo seller.
pub const PASSWORD: &str = "demo-pass";

/// The demo catalog (7 items; stock set for each).
pub fn catalog() -> Catalog {
    // Built in and checked by this crate's tests; an empty catalog is the safe fallback.
    Catalog::from_json(Path::new("demo.json"), CATALOG).unwrap_or_default()
}

/// The demo seller's credentials.
pub fn credentials() -> Credentials {
    Credentials::new(SELLER, USERNAME, PASSWORD)
}

/// The demo scenario: SKU-X fails with "Mismatch", DISCONTINUED-* fail, every 7th request is
/// a 503.
pub fn scenario() -> Scenario {
    Scenario::parse(SCENARIO, Format::Toml, "demo.toml").unwrap_or_default()
}

/// A curl command that sends `request` to `{url}/updateInventory` with `token` as apiKey,
/// built from the request model and quoted for a POSIX shell.
pub fn curl(
    url: &str,
    token: Option<&str>,
    request: &stockwire_schema::InventoryRequest,
) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let body = serde_json::to_string(request).unwrap_or_default();
    let mut parts = vec![
        "curl -s -X POST".to_string(),
        quote(&format!("{url}/updateInventory")),
        "-H 'Content-Type: application/json'".to_string(),
    ];
    if let Some(t) = token {
        parts.push(format!("-H {}", quote(&format!("apiKey: {t}"))));
    }
    parts.push(format!("-d {}", quote(&body)));
    parts.join(" ")
}

/// A `GET` curl command of `{url}{path}?{query}` with `token` as apiKey, quoted for a POSIX
/// shell.
fn get_curl(url: &str, token: Option<&str>, path: &str, query: &[(&str, &str)]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let mut parts = vec!["curl -s".to_string(), quote(&format!("{url}{path}?{q}"))];
    if let Some(t) = token {
        parts.push(format!("-H {}", quote(&format!("apiKey: {t}"))));
    }
    parts.join(" ")
}

/// A curl command that reads the count of the seller's published listings (the profile's
/// count call, with its query's fixed values).
pub fn count_curl(url: &str, token: Option<&str>, profile: stockwire_schema::Profile) -> String {
    let c = stockwire_schema::contract(profile).count();
    let mut q = Vec::new();
    if let Some(m) = c.def().count()
        && let Some(v) = c.fixed_query_value(m.published)
    {
        q.push((m.published, v));
    }
    get_curl(url, token, c.path(), &q)
}

/// A curl command that reads the first page of the seller's listing (the profile's listing
/// call, with its query's fixed values).
pub fn listing_curl(url: &str, token: Option<&str>, profile: stockwire_schema::Profile) -> String {
    let c = stockwire_schema::contract(profile).listing();
    let mut q = Vec::new();
    if let Some(m) = c.def().listing() {
        q.push((m.page_number, c.query_default(m.page_number).unwrap_or("1")));
        for name in [m.page_size, m.published] {
            if let Some(v) = c.fixed_query_value(name) {
                q.push((name, v));
            }
        }
    }
    get_curl(url, token, c.path(), &q)
}

/// The request the banner's curl example sends: one item that applies and SKU-X, which the
/// demo scenario fails with "Mismatch" (so the answer is PARTIAL_SUCCESS).
pub fn example_request(profile: stockwire_schema::Profile) -> stockwire_schema::InventoryRequest {
    use stockwire_schema::{InventoryItem, InventoryRequest};
    InventoryRequest::new(vec![
        InventoryItem::new(profile, "TSHIRT-001", "TSHIRT-001-M", 7),
        InventoryItem::new(profile, "SKU-X", "SKU-X-1", 0),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtins_parse() {
        assert_eq!(super::catalog().len(), 7);
        assert_eq!(super::scenario().rules.len(), 3);
    }
}
