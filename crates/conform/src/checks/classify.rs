//! What a request is, by the contract: decided from the request as sent (never from how it was
//! generated), so a shrunk request and a replayed one are judged afresh.

use std::collections::HashMap;

use serde_json::Value;
use stockwire_schema::exchange::{self, ItemView, RequestView};
use stockwire_schema::{CatalogEntry, ItemKey, Profile, SchemaViolation, contract};

use crate::client::http::{API_KEY_HEADER, API_KEY_PLACEHOLDER, HttpRequest};
use crate::model::policies::{InventorySpelling, Policies};

/// How the request used the apiKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthUse {
    /// The configured key (or no auth configured at all).
    Valid,
    /// No apiKey header although the run has credentials.
    Missing,
    /// A key that is not the configured one.
    Wrong,
}

/// What one item is.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemVerdict {
    /// A catalog item with valid data: must be applied.
    Valid,
    /// Valid data for a pair the partner cannot know: must be refused.
    Unknown,
    /// Data the contract forbids: must be refused.
    Invalid(Vec<SchemaViolation>),
    /// The partner may apply or refuse it (e.g. the other version's inventory spelling).
    Tolerated(&'static str),
}

/// One item of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemClass {
    /// Position in `inventoryList`.
    pub index: usize,
    /// Its pair, when both ids are strings.
    pub key: Option<ItemKey>,
    /// What it is.
    pub verdict: ItemVerdict,
    /// The stock count, when valid.
    pub count: Option<u32>,
    /// Whether it carries members the profile's item schema does not name.
    pub has_extra: bool,
    /// Whether its pair occurs more than once in the request (outcome then ambiguous).
    pub duplicate: bool,
}

/// What the body is.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyClass {
    /// Not JSON at all.
    NotJson,
    /// JSON, but not a usable request (no list, empty list, wrong types…).
    InvalidEnvelope(Vec<SchemaViolation>),
    /// A list of items, each classified.
    Items(Vec<ItemClass>),
}

/// A classified request.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// apiKey use.
    pub auth: AuthUse,
    /// Whether the Content-Type is application/json.
    pub json_content_type: bool,
    /// The body.
    pub body: BodyClass,
    /// The body parsed, when JSON.
    pub json: Option<Value>,
}

impl Classified {
    /// Items, when the body is a list.
    pub fn items(&self) -> &[ItemClass] {
        match &self.body {
            BodyClass::Items(i) => i,
            _ => &[],
        }
    }

    /// Number of items in the list (0 when there is none).
    pub fn batch_size(&self) -> usize {
        self.json
            .as_ref()
            .and_then(|j| j.get(exchange::field::INVENTORY_LIST))
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }

    /// Whether every item must be applied (a fully valid request).
    pub fn all_valid(&self) -> bool {
        self.auth == AuthUse::Valid
            && self.json_content_type
            && matches!(&self.body, BodyClass::Items(items) if !items.is_empty()
                && items.iter().all(|i| i.verdict == ItemVerdict::Valid && !i.duplicate))
    }

    /// Whether anything in the request may make a partner refuse it as a whole.
    pub fn has_refusable(&self) -> bool {
        !self.json_content_type
            || self
                .items()
                .iter()
                .any(|i| i.verdict != ItemVerdict::Valid || i.duplicate)
    }
}

/// What classification needs to know.
#[derive(Debug, Clone)]
pub struct ClassifyContext {
    /// Contract version.
    pub profile: Profile,
    /// The catalog entries of the seller under test.
    pub catalog: Vec<CatalogEntry>,
    /// Whether the run sends an apiKey at all.
    pub auth_configured: bool,
    /// Policies (inventory spelling).
    pub policies: Policies,
}

impl ClassifyContext {
    fn known(&self, key: &ItemKey) -> bool {
        self.catalog
            .iter()
            .any(|e| e.product_id == key.product_id && e.variant_id == key.variant_id)
    }
}

/// Classifies a request as sent.
pub fn classify(req: &HttpRequest, ctx: &ClassifyContext) -> Classified {
    let auth = match (ctx.auth_configured, req.header(API_KEY_HEADER)) {
        (false, _) => AuthUse::Valid,
        (true, None) => AuthUse::Missing,
        (true, Some(v)) if v == API_KEY_PLACEHOLDER => AuthUse::Valid,
        (true, Some(_)) => AuthUse::Wrong,
    };
    let json_content_type = req.header("content-type").is_some_and(is_json_media_type);
    let json: Option<Value> = serde_json::from_str(&req.body).ok();
    let body = match &json {
        None => BodyClass::NotJson,
        Some(v) => classify_body(v, ctx),
    };
    Classified {
        auth,
        json_content_type,
        body,
        json,
    }
}

/// Whether a Content-Type names JSON: the schema crate's test, shared with the mock
/// (`application/json` or a `+json` type, parameters allowed).
pub use stockwire_schema::exchange::is_json_media_type;

fn classify_body(v: &Value, ctx: &ClassifyContext) -> BodyClass {
    let c = contract(ctx.profile);
    let envelope = c.validate_envelope(v);
    if !envelope.is_empty() {
        return BodyClass::InvalidEnvelope(envelope);
    }
    let request = RequestView::parse(v);
    if !request.has_list() {
        return BodyClass::InvalidEnvelope(Vec::new());
    }
    let names: Vec<String> = c.item_fields().into_iter().map(|f| f.name).collect();
    let mut items: Vec<ItemClass> = request
        .items()
        .iter()
        .map(|item| classify_item(item, ctx, &names))
        .collect();
    let mut seen: HashMap<ItemKey, usize> = HashMap::new();
    for it in &items {
        if let Some(k) = &it.key {
            *seen.entry(k.clone()).or_default() += 1;
        }
    }
    for it in &mut items {
        it.duplicate = it.key.as_ref().is_some_and(|k| seen[k] > 1);
    }
    BodyClass::Items(items)
}

fn classify_item(item: &ItemView, ctx: &ClassifyContext, names: &[String]) -> ItemClass {
    let c = contract(ctx.profile);
    let index = item.index;
    let key = item.key();
    let has_extra = item
        .raw
        .as_object()
        .is_some_and(|m| m.keys().any(|k| !names.iter().any(|n| n == k)));
    let count = item.count();
    let mut violations = c.validate_item(index, &item.raw);
    if violations.is_empty() {
        // The schema admits `1e3` and `-0`; the contract's stock count does not.
        violations.extend(item.stock_count_violation());
    }
    let known = key.as_ref().is_some_and(|k| ctx.known(k));
    let verdict = if violations.is_empty() {
        if known {
            ItemVerdict::Valid
        } else {
            ItemVerdict::Unknown
        }
    } else if ctx.policies.inventory_spelling == InventorySpelling::Both
        && count.is_some()
        && violations.iter().all(|v| {
            v.pointer == exchange::pointer::item_field(index, exchange::field::INVENTORY)
                && v.keyword == "type"
        })
    {
        // The other version's spelling of a valid count: tolerated by default (FACTS.md).
        if known {
            ItemVerdict::Tolerated("inventory in the other version's spelling")
        } else {
            ItemVerdict::Unknown
        }
    } else {
        ItemVerdict::Invalid(violations)
    };
    ItemClass {
        index,
        key,
        verdict,
        count,
        has_extra,
        duplicate: false,
    }
}
