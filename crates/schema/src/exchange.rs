//! The one place outside the typed models that knows how the exchange is written on the wire:
//! the request and the response of `POST /updateInventory`, and of `/authToken`.
//!
//! The typed models ([`crate::model`]) read payloads that keep the contract. Code that must
//! look at payloads which may break it (the runner judging a partner, the mock reading a
//! client's request) uses the lenient views here instead of reading JSON by field name:
//!
//! - [`ResponseView`]: an `/updateInventory` response as sent: its `status` (text and parsed
//!   [`Status`]), each failed entry with its ids exactly as sent, whether `failedProductList` is
//!   absent, empty or not an array, and the raw JSON;
//! - [`RequestView`]: an `/updateInventory` request as sent: whether `inventoryList` is there
//!   and each item with its raw ids and inventory;
//! - [`ResponseBuilder`] and [`request_body`] / [`request_with_list`]: build bodies from the
//!   typed models (or deliberately broken ones, for a mock that breaches on script);
//! - [`AuthTokenRequest`] helpers and [`access_token`] for `/authToken`;
//! - [`listed_variant_of`], [`listed_product_of`], [`listing_body_of`]: a listing page as a
//!   `Value`; [`ListingPageWriter`]: the same page written straight to bytes (the mock's);
//! - [`is_json_media_type`]: the one test of whether a Content-Type names JSON.
//!
//! Where a caller must still name a member (a pointer in a message, a field to set in a
//! generated case), it uses the constants of [`field`] and [`pointer`].
//!
//! ```
//! use serde_json::json;
//! use stockwire_schema::exchange::{FailedList, ResponseView};
//! use stockwire_schema::{ItemKey, Status};
//!
//! let body = json!({"status": "PARTIAL_SUCCESS", "failedProductList": [
//!     {"productId": "P1", "variantId": 7, "message": "Variant not found"}]});
//! let view = ResponseView::parse(&body);
//! assert_eq!(view.status(), Some(&Status::PartialSuccess));
//! assert_eq!(view.failed_list(), FailedList::Entries);
//! assert_eq!(view.failed()[0].variant_id, Some(json!(7)));
//! assert_eq!(view.failed()[0].key(), None); // the ids are not both strings
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::call::{CountMembers, INVENTORY_MEMBERS, ListingMembers, UpdateMembers};
use crate::contract::SchemaViolation;
use crate::model::{
    AuthTokenRequest, AuthTokenResponse, FailedProduct, InventoryItem, InventoryRequest,
    InventoryResponse, ItemKey, Status,
};
use crate::rules::{Rule, Severity};

/// Member names of the exchange, as the documentation writes them. The typed models carry the
/// same names through serde; a unit test holds both to the committed schemas.
///
/// The names come from the calls' definitions ([`crate::call`]); these constants spell the
/// built-in `/updateInventory` and `/authToken` ones for code that handles only those.
pub mod field {
    use crate::call::{AUTH_TOKEN, INVENTORY_MEMBERS, Shape};

    const AUTH: crate::call::AuthMembers = match AUTH_TOKEN.shape {
        Shape::Auth(m) => m,
        _ => panic!("authToken is a login"),
    };

    /// Request: the list of items.
    pub const INVENTORY_LIST: &str = INVENTORY_MEMBERS.list;
    /// Request item and failed entry: product id.
    pub const PRODUCT_ID: &str = INVENTORY_MEMBERS.product_id;
    /// Request item and failed entry: variant id.
    pub const VARIANT_ID: &str = INVENTORY_MEMBERS.variant_id;
    /// Request item: the stock count.
    pub const INVENTORY: &str = INVENTORY_MEMBERS.value;
    /// Request item: Harmonized System code.
    pub const HSN_CODE: &str = "hsnCode";
    /// Request item (v2): the seller's warehouse code.
    pub const FACILITY_CODE: &str = match INVENTORY_MEMBERS.place {
        Some(p) => p,
        None => panic!("updateInventory has a place member"),
    };
    /// Response (both endpoints): the outcome.
    pub const STATUS: &str = INVENTORY_MEMBERS.status;
    /// Response: the items whose update failed.
    pub const FAILED_PRODUCT_LIST: &str = INVENTORY_MEMBERS.failures;
    /// Failed entry (and a whole-request refusal): why it failed.
    pub const MESSAGE: &str = INVENTORY_MEMBERS.message;
    /// `/authToken` response: the token for the `apiKey` header.
    pub const ACCESS_TOKEN: &str = AUTH.token;
    /// `/authToken` request: seller username.
    pub const USERNAME: &str = AUTH.username;
    /// `/authToken` request: seller password.
    pub const PASSWORD: &str = AUTH.password;
}

/// JSON pointers into the exchange (RFC 6901), for messages and for filtering violations.
pub mod pointer {
    use super::field;

    /// The response's `status`.
    pub const STATUS: &str = "/status";
    /// The response's `failedProductList`.
    pub const FAILED_PRODUCT_LIST: &str = "/failedProductList";
    /// The request's `inventoryList`.
    pub const INVENTORY_LIST: &str = "/inventoryList";

    /// The request item at `index`: `/inventoryList/{index}`.
    pub fn item(index: usize) -> String {
        format!("/{}/{index}", field::INVENTORY_LIST)
    }

    /// A member of the request item at `index`: `/inventoryList/{index}/{name}`.
    pub fn item_field(index: usize, name: &str) -> String {
        format!("/{}/{index}/{}", field::INVENTORY_LIST, escape(name))
    }

    /// The failed entry at `index`: `/failedProductList/{index}`.
    pub fn failed_entry(index: usize) -> String {
        format!("/{}/{index}", field::FAILED_PRODUCT_LIST)
    }

    /// A member name escaped for a pointer (`~` → `~0`, `/` → `~1`).
    pub fn escape(name: &str) -> String {
        name.replace('~', "~0").replace('/', "~1")
    }
}

/// Whether a Content-Type value names JSON: `application/json`, or any `type/subtype+json`
/// structured-syntax suffix (RFC 6839), with or without parameters, in any letter case.
///
/// ```
/// use stockwire_schema::exchange::is_json_media_type;
/// assert!(is_json_media_type("Application/JSON; charset=utf-8"));
/// assert!(is_json_media_type("application/problem+json"));
/// assert!(!is_json_media_type("text/plain"));
/// assert!(!is_json_media_type("application/json-seq"));
/// ```
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return false;
    }
    if kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json") {
        return true;
    }
    // A suffix needs a subtype before it: `application/+json` names nothing.
    subtype.len() > "+json".len()
        && subtype
            .get(subtype.len() - "+json".len()..)
            .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
}

/// The state of `failedProductList` in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailedList {
    /// The member is not there (or the body is not an object).
    Absent,
    /// It is there but is not an array (`{}`, `null`, a string…).
    NotArray,
    /// An empty array.
    Empty,
    /// An array with at least one entry.
    Entries,
}

/// One entry of `failedProductList`, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedEntry {
    /// Position in the list.
    pub index: usize,
    /// `productId` exactly as sent (`None` when absent or the entry is not an object).
    pub product_id: Option<Value>,
    /// `variantId` exactly as sent.
    pub variant_id: Option<Value>,
    /// `message` exactly as sent.
    pub message: Option<Value>,
    /// The whole entry.
    pub raw: Value,
}

impl FailedEntry {
    fn parse(m: &UpdateMembers, index: usize, raw: &Value) -> Self {
        let member = |name: &str| raw.get(name).cloned();
        FailedEntry {
            index,
            product_id: member(m.product_id),
            variant_id: member(m.variant_id),
            message: member(m.message),
            raw: raw.clone(),
        }
    }

    /// The entry's pair, when both ids are strings.
    pub fn key(&self) -> Option<ItemKey> {
        match (&self.product_id, &self.variant_id) {
            (Some(Value::String(p)), Some(Value::String(v))) => Some(ItemKey::new(p, v)),
            _ => None,
        }
    }

    /// The message, when it is a string.
    pub fn message_text(&self) -> Option<&str> {
        self.message.as_ref().and_then(Value::as_str)
    }

    /// Whether this entry names the request item `item` (raw JSON), by the naming rules of
    /// [`crate::rules::entry_names_item`].
    pub fn names_item(&self, item: &Value) -> bool {
        crate::rules::entry_names_item(&self.raw, item)
    }

    /// The pointer to this entry in the response.
    pub fn pointer(&self) -> String {
        pointer::failed_entry(self.index)
    }
}

/// A lenient view of an `/updateInventory` response body: it reads whatever the partner sent,
/// however far from the contract, and never fails.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseView {
    members: UpdateMembers,
    status_raw: Option<Value>,
    status: Option<Status>,
    failed_list: FailedList,
    failed: Vec<FailedEntry>,
    message: Option<Value>,
    raw: Value,
}

impl ResponseView {
    /// Reads an `/updateInventory` response body (any JSON value).
    pub fn parse(raw: &Value) -> Self {
        Self::parse_of(&INVENTORY_MEMBERS, raw)
    }

    /// Reads the response body of any update call, named by its members.
    pub fn parse_of(m: &UpdateMembers, raw: &Value) -> Self {
        let status_raw = raw.get(m.status).cloned();
        let status = status_raw
            .as_ref()
            .and_then(Value::as_str)
            .map(Status::parse);
        let (failed_list, failed) = match raw.get(m.failures) {
            None => (FailedList::Absent, Vec::new()),
            Some(Value::Array(a)) if a.is_empty() => (FailedList::Empty, Vec::new()),
            Some(Value::Array(a)) => (
                FailedList::Entries,
                a.iter()
                    .enumerate()
                    .map(|(i, e)| FailedEntry::parse(m, i, e))
                    .collect(),
            ),
            Some(_) => (FailedList::NotArray, Vec::new()),
        };
        ResponseView {
            members: *m,
            status_raw,
            status,
            failed_list,
            failed,
            message: raw.get(m.message).cloned(),
            raw: raw.clone(),
        }
    }

    /// Reads a response body from text; `None` when it is not JSON.
    pub fn parse_text(text: &str) -> Option<Self> {
        serde_json::from_str::<Value>(text)
            .ok()
            .map(|v| Self::parse(&v))
    }

    /// `status` exactly as sent (`None` when absent).
    pub fn status_raw(&self) -> Option<&Value> {
        self.status_raw.as_ref()
    }

    /// `status` as text, when it is a string.
    pub fn status_text(&self) -> Option<&str> {
        self.status_raw.as_ref().and_then(Value::as_str)
    }

    /// `status` parsed, when it is a string: one of the contract's values or
    /// [`Status::Other`].
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// `status` when it is one of the values the contract allows.
    pub fn known_status(&self) -> Option<&Status> {
        self.status
            .as_ref()
            .filter(|s| !matches!(s, Status::Other(_)))
    }

    /// Whether `status` is exactly `s`.
    pub fn status_is(&self, s: &Status) -> bool {
        self.status.as_ref() == Some(s)
    }

    /// The state of `failedProductList`.
    pub fn failed_list(&self) -> FailedList {
        self.failed_list
    }

    /// The failed entries, in order (empty unless [`FailedList::Entries`]).
    pub fn failed(&self) -> &[FailedEntry] {
        &self.failed
    }

    /// The pairs of the failed entries whose ids are both strings, in order (duplicates kept).
    pub fn failed_keys(&self) -> Vec<ItemKey> {
        self.failed.iter().filter_map(FailedEntry::key).collect()
    }

    /// The message of the first failed entry for `key` (`""` when it has no string message).
    pub fn failure_message(&self, key: &ItemKey) -> Option<&str> {
        self.failed
            .iter()
            .find(|e| e.key().as_ref() == Some(key))
            .map(|e| e.message_text().unwrap_or(""))
    }

    /// Whether some failed entry names the request item `item` (raw JSON).
    pub fn names_item(&self, item: &Value) -> bool {
        self.failed
            .iter()
            .any(|e| crate::rules::entry_names_item_of(&self.members, &e.raw, item))
    }

    /// A top-level `message`, exactly as sent (some partners explain a whole refusal there).
    pub fn message(&self) -> Option<&Value> {
        self.message.as_ref()
    }

    /// The body as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The typed model, when the body keeps the contract's shape.
    pub fn to_model(&self) -> Option<InventoryResponse> {
        serde_json::from_value(self.raw.clone()).ok()
    }
}

/// An item's `inventory` is a stock count: a whole number from 0 to 2^31 - 1, written as one
/// (the same reading as the mock's and the typed model's).
pub const STOCK_COUNT: Rule = Rule {
    id: "stock-count",
    severity: Severity::Must,
    rationale: "not a stock count as the contract reads one (a whole number written without a fraction, an exponent or a sign)",
};

/// One item of `inventoryList`, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// Position in the list.
    pub index: usize,
    /// `productId` exactly as sent.
    pub product_id: Option<Value>,
    /// `variantId` exactly as sent.
    pub variant_id: Option<Value>,
    /// `inventory` exactly as sent.
    pub inventory: Option<Value>,
    /// `facilityCode` exactly as sent.
    pub facility_code: Option<Value>,
    /// The whole item.
    pub raw: Value,
}

impl ItemView {
    fn parse(m: &UpdateMembers, index: usize, raw: &Value) -> Self {
        let member = |name: &str| raw.get(name).cloned();
        ItemView {
            index,
            product_id: member(m.product_id),
            variant_id: member(m.variant_id),
            inventory: member(m.value),
            facility_code: m.place.and_then(member),
            raw: raw.clone(),
        }
    }

    /// The item's pair, when both ids are strings.
    pub fn key(&self) -> Option<ItemKey> {
        match (&self.product_id, &self.variant_id) {
            (Some(Value::String(p)), Some(Value::String(v))) => Some(ItemKey::new(p, v)),
            _ => None,
        }
    }

    /// The item's pair read leniently: a string id as it is, a number by its JSON text,
    /// anything else as `""`.
    pub fn key_lenient(&self) -> ItemKey {
        let text = |v: &Option<Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        ItemKey::new(text(&self.product_id), text(&self.variant_id))
    }

    /// The [`STOCK_COUNT`] rule broken by this item: an `inventory` that the item schema
    /// admits (any number without a fraction: `1e3`, `-0`) but that is no stock count as the
    /// contract reads one. `None` when the value is absent or a count; the schema's own
    /// violations are [`crate::Contract::validate_item`]'s.
    pub fn stock_count_violation(&self) -> Option<SchemaViolation> {
        (self.inventory.is_some() && self.count().is_none()).then(|| SchemaViolation {
            pointer: pointer::item_field(self.index, field::INVENTORY),
            keyword: STOCK_COUNT.id.into(),
            message: STOCK_COUNT.rationale.into(),
        })
    }

    /// The stock count, when `inventory` is a whole number in 0..2^31 written either way.
    pub fn count(&self) -> Option<u32> {
        self.inventory
            .as_ref()
            .and_then(|v| serde_json::from_value::<crate::model::Inventory>(v.clone()).ok())
            .and_then(|i| i.count())
    }

    /// The typed model, when the item keeps the contract's shape.
    pub fn to_model(&self) -> Option<InventoryItem> {
        serde_json::from_value(self.raw.clone()).ok()
    }
}

/// A lenient view of an `/updateInventory` request body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestView {
    list: Option<Value>,
    items: Vec<ItemView>,
    raw: Value,
}

impl RequestView {
    /// Reads an `/updateInventory` request body (any JSON value).
    pub fn parse(raw: &Value) -> Self {
        Self::parse_of(&INVENTORY_MEMBERS, raw)
    }

    /// Reads the request body of any update call, named by its members.
    pub fn parse_of(m: &UpdateMembers, raw: &Value) -> Self {
        let list = raw.get(m.list).cloned();
        let items = match &list {
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| ItemView::parse(m, i, v))
                .collect(),
            _ => Vec::new(),
        };
        RequestView {
            list,
            items,
            raw: raw.clone(),
        }
    }

    /// `inventoryList` exactly as sent (`None` when absent).
    pub fn list_raw(&self) -> Option<&Value> {
        self.list.as_ref()
    }

    /// Whether `inventoryList` is an array.
    pub fn has_list(&self) -> bool {
        matches!(self.list, Some(Value::Array(_)))
    }

    /// The items, in order (empty unless `inventoryList` is an array).
    pub fn items(&self) -> &[ItemView] {
        &self.items
    }

    /// The body as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// The body of a request holding `items`: `{"inventoryList": [...]}`.
pub fn request_body(items: Vec<InventoryItem>) -> Value {
    to_value(&InventoryRequest::new(items))
}

/// A request body whose `inventoryList` is `list`, whatever it is (raw items, an empty array,
/// a value of the wrong type): for generated cases that probe the envelope.
pub fn request_with_list(list: Value) -> Value {
    request_with_list_of(&INVENTORY_MEMBERS, list)
}

/// [`request_with_list`] for any update call, named by its members.
pub fn request_with_list_of(m: &UpdateMembers, list: Value) -> Value {
    let mut body = Map::new();
    body.insert(m.list.to_string(), list);
    Value::Object(body)
}

/// One item of any update call: its ids and its value, as JSON (`value` as the call's schema
/// spells it).
pub fn update_item_of(m: &UpdateMembers, key: &ItemKey, value: Value) -> Value {
    let mut item = Map::new();
    item.insert(
        m.product_id.to_string(),
        Value::String(key.product_id.clone()),
    );
    item.insert(
        m.variant_id.to_string(),
        Value::String(key.variant_id.clone()),
    );
    item.insert(m.value.to_string(), value);
    Value::Object(item)
}

/// Sets member `name` of a raw item to `value` (an item that is not an object becomes one).
pub fn set_member(item: &mut Value, name: &str, value: Value) {
    if !item.is_object() {
        *item = Value::Object(Map::new());
    }
    if let Value::Object(m) = item {
        m.insert(name.to_string(), value);
    }
}

fn to_value<T: Serialize>(t: &T) -> Value {
    // The models serialise to JSON objects: none of them holds a map with non-string keys.
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Builds an `/updateInventory` response body: from a typed [`InventoryResponse`], then
/// optionally broken on purpose (a mock that breaches the contract on script).
///
/// ```
/// use serde_json::json;
/// use stockwire_schema::exchange::{FailedList, ResponseBuilder, ResponseView};
/// use stockwire_schema::InventoryResponse;
///
/// let body = ResponseBuilder::from_model(&InventoryResponse::rejected())
///     .message("too many connections")
///     .build();
/// let view = ResponseView::parse(&body);
/// assert_eq!(view.failed_list(), FailedList::Empty);
/// assert_eq!(view.message(), Some(&json!("too many connections")));
///
/// let broken = ResponseBuilder::from_model(&InventoryResponse::rejected())
///     .without_status()
///     .failed_list_raw(json!({}))
///     .build();
/// assert_eq!(ResponseView::parse(&broken).status(), None);
/// assert_eq!(ResponseView::parse(&broken).failed_list(), FailedList::NotArray);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseBuilder {
    members: UpdateMembers,
    body: Map<String, Value>,
}

impl ResponseBuilder {
    /// Starts from a typed `/updateInventory` response.
    pub fn from_model(response: &InventoryResponse) -> Self {
        Self::from_model_of(&INVENTORY_MEMBERS, response)
    }

    /// Starts from a typed response, written with the members of any update call.
    pub fn from_model_of(m: &UpdateMembers, response: &InventoryResponse) -> Self {
        let mut me = ResponseBuilder {
            members: *m,
            body: Map::new(),
        }
        .status(&response.status);
        if let Some(list) = &response.failed_product_list {
            me = me.failed(list);
        }
        for (k, v) in &response.extra {
            me.body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        me
    }

    /// Sets `status` to any text (a value outside the contract included).
    pub fn status(mut self, status: &Status) -> Self {
        self.body.insert(
            self.members.status.into(),
            Value::String(status.as_str().into()),
        );
        self
    }

    /// Sets `status` to any JSON value (a number, `null`…).
    pub fn status_raw(mut self, status: Value) -> Self {
        self.body.insert(self.members.status.into(), status);
        self
    }

    /// Removes `status`.
    pub fn without_status(mut self) -> Self {
        self.body.remove(self.members.status);
        self
    }

    /// Replaces `failedProductList` with these entries.
    pub fn failed(mut self, entries: &[FailedProduct]) -> Self {
        let m = self.members;
        let list = entries
            .iter()
            .map(|e| {
                let mut entry = failed_entry_raw_of(
                    &m,
                    Value::String(e.product_id.clone()),
                    Value::String(e.variant_id.clone()),
                    Value::String(e.message.clone()),
                );
                if let Value::Object(fields) = &mut entry {
                    for (k, v) in &e.extra {
                        fields.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                entry
            })
            .collect();
        self.body.insert(m.failures.into(), Value::Array(list));
        self
    }

    /// Replaces `failedProductList` with any JSON value (`{}`, `null`, raw entries…).
    pub fn failed_list_raw(mut self, list: Value) -> Self {
        self.body.insert(self.members.failures.into(), list);
        self
    }

    /// Removes `failedProductList`.
    pub fn without_failed_list(mut self) -> Self {
        self.body.remove(self.members.failures);
        self
    }

    /// Adds a top-level `message` explaining a whole refusal.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.body
            .insert(self.members.message.into(), Value::String(message.into()));
        self
    }

    /// The body.
    pub fn build(self) -> Value {
        Value::Object(self.body)
    }
}

/// A failed entry built from raw ids (for a breach that names ids of the wrong type).
pub fn failed_entry_raw(product_id: Value, variant_id: Value, message: Value) -> Value {
    failed_entry_raw_of(&INVENTORY_MEMBERS, product_id, variant_id, message)
}

/// [`failed_entry_raw`] for any update call, named by its members.
pub fn failed_entry_raw_of(
    m: &UpdateMembers,
    product_id: Value,
    variant_id: Value,
    message: Value,
) -> Value {
    let mut e = Map::new();
    e.insert(m.product_id.into(), product_id);
    e.insert(m.variant_id.into(), variant_id);
    e.insert(m.message.into(), message);
    Value::Object(e)
}

impl AuthTokenRequest {
    /// Credentials from a username and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        AuthTokenRequest {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The query pairs of `GET /authToken`, in the documented order.
    pub fn query_pairs(&self) -> [(&'static str, &str); 2] {
        [
            (field::USERNAME, self.username.as_str()),
            (field::PASSWORD, self.password.as_str()),
        ]
    }

    /// The JSON body of `POST /authToken`.
    pub fn to_body(&self) -> Value {
        to_value(self)
    }

    /// Reads credentials from a JSON body or a query object, leniently: a member that is
    /// missing or not a string reads as `""`.
    pub fn from_lenient(v: &Value) -> Self {
        let text = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        AuthTokenRequest::new(text(field::USERNAME), text(field::PASSWORD))
    }
}

/// The token of an `/authToken` answer: `accessToken` of a body whose `status` is `SUCCESS`,
/// when it is a non-empty string.
pub fn access_token(body: &Value) -> Option<String> {
    let ok = body.get(field::STATUS).and_then(Value::as_str) == Some(Status::Success.as_str());
    let token = body.get(field::ACCESS_TOKEN).and_then(Value::as_str)?;
    (ok && !token.is_empty()).then(|| token.to_string())
}

/// An `/authToken` answer body from its parts.
pub fn auth_response_body(status: &str, access_token: Option<&str>) -> Value {
    to_value(&AuthTokenResponse {
        status: status.to_string(),
        access_token: access_token.map(str::to_string),
        extra: Map::new(),
    })
}

/// One variant of a listing page, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantView {
    /// Position in its product's variants.
    pub index: usize,
    /// `variantId` exactly as sent.
    pub variant_id: Option<Value>,
    /// `sku` exactly as sent.
    pub sku: Option<Value>,
    /// The value shown (`inventory`), exactly as sent.
    pub value: Option<Value>,
    /// Units held back (`blockedInventory`), exactly as sent.
    pub blocked: Option<Value>,
    /// The whole variant.
    pub raw: Value,
}

impl VariantView {
    /// The variantId, when it is a non-empty string.
    pub fn variant_id_text(&self) -> Option<&str> {
        self.variant_id
            .as_ref()
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The sku, when it is a non-empty string.
    pub fn sku_text(&self) -> Option<&str> {
        self.sku
            .as_ref()
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The value shown, when it is a whole number in 0..2^31 (a stock count).
    pub fn count(&self) -> Option<u32> {
        count_of(self.value.as_ref())
    }

    /// Units held back, when they are a whole number in 0..2^31.
    pub fn blocked_count(&self) -> Option<u32> {
        count_of(self.blocked.as_ref())
    }
}

/// A whole number in 0..2^31 written as a JSON number (`3`, or `3.0`).
fn count_of(v: Option<&Value>) -> Option<u32> {
    let v = v?;
    let n = match v.as_u64() {
        Some(n) => n,
        None => {
            let f = v.as_f64()?;
            if f.fract() != 0.0 || !(0.0..=f64::from(i32::MAX)).contains(&f) {
                return None;
            }
            f as u64
        }
    };
    u32::try_from(n).ok().filter(|&n| n <= i32::MAX as u32)
}

/// One product of a listing page, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductView {
    /// Position in the page.
    pub index: usize,
    /// The product's `id` exactly as sent.
    pub id: Option<Value>,
    /// Its variants (empty unless `variants` is an array).
    pub variants: Vec<VariantView>,
    /// Whether `variants` is an array.
    pub has_variants: bool,
    /// The whole product.
    pub raw: Value,
}

impl ProductView {
    /// The product id, when it is a non-empty string.
    pub fn id_text(&self) -> Option<&str> {
        self.id
            .as_ref()
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A lenient view of a listing page (`GET /products`): whatever the partner sent, read by the
/// call's member names, never failing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingView {
    products: Option<Vec<ProductView>>,
    message: Option<Value>,
    raw: Value,
}

impl ListingView {
    /// Reads a listing page with the members of the listing call.
    pub fn parse_of(m: &ListingMembers, raw: &Value) -> Self {
        let products = raw.get(m.products).and_then(Value::as_array).map(|list| {
            list.iter()
                .enumerate()
                .map(|(index, p)| {
                    let variants = p.get(m.variants).and_then(Value::as_array);
                    ProductView {
                        index,
                        id: p.get(m.product_id).cloned(),
                        has_variants: variants.is_some(),
                        variants: variants
                            .map(|vs| {
                                vs.iter()
                                    .enumerate()
                                    .map(|(index, v)| VariantView {
                                        index,
                                        variant_id: v.get(m.variant_id).cloned(),
                                        sku: v.get(m.sku).cloned(),
                                        value: v.get(m.value).cloned(),
                                        blocked: m.blocked.and_then(|b| v.get(b).cloned()),
                                        raw: v.clone(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        raw: p.clone(),
                    }
                })
                .collect()
        });
        ListingView {
            products,
            message: raw.get(m.message).cloned(),
            raw: raw.clone(),
        }
    }

    /// The products, when the list is an array.
    pub fn products(&self) -> Option<&[ProductView]> {
        self.products.as_deref()
    }

    /// Every (product, variant) of the page, in order.
    pub fn variants(&self) -> impl Iterator<Item = (&ProductView, &VariantView)> {
        self.products
            .iter()
            .flatten()
            .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
    }

    /// A top-level `message`, exactly as sent (a refused request's reason).
    pub fn message(&self) -> Option<&Value> {
        self.message.as_ref()
    }

    /// The body as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// The count of a count answer (`{"count": n}`), when it is a whole number, never negative.
pub fn count_of_answer(m: &CountMembers, body: &Value) -> Option<u64> {
    let v = body.get(m.count)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

/// The body of a count answer.
pub fn count_body(m: &CountMembers, count: u64) -> Value {
    let mut body = Map::new();
    body.insert(m.count.into(), Value::from(count));
    Value::Object(body)
}

/// The error body of a refused catalog call: `{"message": …}` (the count page's error shape).
pub fn error_body(message_member: &str, message: impl Into<String>) -> Value {
    let mut body = Map::new();
    body.insert(message_member.into(), Value::String(message.into()));
    Value::Object(body)
}

/// Members of a listing variant the caller does not need but a marketplace shows (the Get
/// Products page's response payload): the variant's title, its prices, and its product's brand.
pub mod listing_field {
    /// A variant's title.
    pub const TITLE: &str = "title";
    /// A product's brand.
    pub const BRAND: &str = "brand";
    /// A variant's prices (an object).
    pub const ITEM_PRICE: &str = "itemPrice";
    /// The price the listing shows, in `itemPrice`.
    pub const LISTING_PRICE: &str = "listingPrice";
    /// The maximum retail price, in `itemPrice`.
    pub const MRP: &str = "mrp";
}

/// One variant as a listing shows it (what a marketplace, or the mock, serves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListedVariant<'a> {
    /// The variantId.
    pub variant_id: &'a str,
    /// The SKU code.
    pub sku: &'a str,
    /// The value shown (the stock the update call set).
    pub value: u32,
    /// Units held back, when the listing shows them.
    pub blocked: u32,
    /// The variant's title.
    pub title: &'a str,
    /// The listing price, when known.
    pub listing_price: Option<f64>,
    /// The maximum retail price, when known.
    pub mrp: Option<f64>,
}

/// The JSON of one listed variant, with the listing call's member names.
pub fn listed_variant_of(m: &ListingMembers, v: &ListedVariant<'_>) -> Value {
    let mut o = Map::new();
    o.insert(m.variant_id.into(), Value::from(v.variant_id));
    o.insert(listing_field::TITLE.into(), Value::from(v.title));
    o.insert(m.sku.into(), Value::from(v.sku));
    let mut price = Map::new();
    let prices = [
        (listing_field::LISTING_PRICE, v.listing_price),
        (listing_field::MRP, v.mrp),
    ];
    for (name, x) in prices {
        if let Some(n) = x.and_then(serde_json::Number::from_f64) {
            price.insert(name.into(), Value::Number(n));
        }
    }
    if !price.is_empty() {
        o.insert(listing_field::ITEM_PRICE.into(), Value::Object(price));
    }
    o.insert(m.value.into(), Value::from(v.value));
    if let Some(b) = m.blocked {
        o.insert(b.into(), Value::from(v.blocked));
    }
    Value::Object(o)
}

/// The JSON of one listed product: its id, its brand when known, and its variants (as
/// [`listed_variant_of`] writes them).
pub fn listed_product_of(
    m: &ListingMembers,
    product_id: &str,
    brand: Option<&str>,
    variants: Vec<Value>,
) -> Value {
    let mut o = Map::new();
    o.insert(m.product_id.into(), Value::from(product_id));
    if let Some(b) = brand {
        o.insert(listing_field::BRAND.into(), Value::from(b));
    }
    o.insert(m.variants.into(), Value::Array(variants));
    Value::Object(o)
}

/// The body of a listing page: `{"products": […]}`.
pub fn listing_body_of(m: &ListingMembers, products: Vec<Value>) -> Value {
    let mut o = Map::new();
    o.insert(m.products.into(), Value::Array(products));
    Value::Object(o)
}

/// Whether JSON writes `s` as it is between quotes: no quote, backslash or control character
/// (what a listing page's writer checks of every text; a caller that checked a text once, when
/// it read it, hands its bytes to [`ListingPageWriter::plain_variant`] and skips the check).
pub fn needs_no_escape(s: &str) -> bool {
    plain_bytes(s.as_bytes())
}

/// [`needs_no_escape`] of bytes. The test reads every byte without an early exit, which the
/// compiler turns into wide compares (a short id is all one or two of them).
fn plain_bytes(b: &[u8]) -> bool {
    !b.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// One variant whose texts are known to need no JSON escape ([`needs_no_escape`], checked by
/// the caller where it read them: a catalog checks each entry's texts once, when it is
/// loaded), as UTF-8 bytes. [`ListingPageWriter::plain_variant`] copies them as they are; a
/// text that does need an escape would make the page invalid JSON, nothing worse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlainVariant<'a> {
    /// The variantId.
    pub variant_id: &'a [u8],
    /// The SKU code.
    pub sku: &'a [u8],
    /// The value shown (the stock the update call set).
    pub value: u32,
    /// Units held back, when the listing shows them.
    pub blocked: u32,
    /// The variant's title.
    pub title: PlainTitle<'a>,
    /// The listing price, when known.
    pub listing_price: Option<f64>,
    /// The maximum retail price, when known.
    pub mrp: Option<f64>,
}

/// A [`PlainVariant`]'s title: one text, or two joined with a space (a catalog's default
/// title, `productId variantId`, written without being put together first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlainTitle<'a> {
    /// The title.
    Text(&'a [u8]),
    /// Two texts and a space between them.
    Joined(&'a [u8], &'a [u8]),
}

/// Writes a listing page straight to bytes: the same JSON, member for member and byte for
/// byte, as [`listing_body_of`] of [`listed_product_of`]s of [`listed_variant_of`]s serialized
/// with `serde_json` (the mock's page, without building a `Value` per member).
///
/// ```
/// use stockwire_schema::exchange::{ListedVariant, ListingPageWriter};
///
/// let m = stockwire_schema::call::PRODUCTS.listing().unwrap();
/// let mut w = ListingPageWriter::new(m, Vec::new());
/// w.product("P1", None);
/// w.variant(&ListedVariant { variant_id: "V1", sku: "S1", value: 4, blocked: 0,
///     title: "T", listing_price: None, mrp: None });
/// let page: serde_json::Value = serde_json::from_slice(&w.finish()).unwrap();
/// assert_eq!(page["products"][0]["variants"][0]["sku"], "S1");
/// ```
#[derive(Debug)]
pub struct ListingPageWriter {
    out: PageBytes,
    /// What a page repeats between its values.
    glue: ListingLayout,
    /// Whether a product is open (its variants' array not closed yet).
    open: bool,
    /// Whether the open product has a variant written yet.
    any: bool,
}

/// What a listing page of one call writes between its values, with the member names escaped
/// and the quotes around the texts in place (`","sku":"` and the like): put together once per
/// call ([`ListingLayout::of`]) and shared by its pages
/// ([`ListingPageWriter::with_layout`]), so that a variant is a few copies and two numbers.
#[derive(Debug, Clone)]
pub struct ListingLayout(std::sync::Arc<Glue>);

impl ListingLayout {
    /// The layout of the listing pages of a call with these members.
    pub fn of(m: &ListingMembers) -> Self {
        ListingLayout(std::sync::Arc::new(Glue::of(m)))
    }
}

/// The pieces of a [`ListingLayout`].
#[derive(Debug)]
struct Glue {
    /// `{"products":[`
    page_open: Vec<u8>,
    /// `{"id":"`
    product_open: Vec<u8>,
    /// `","variants":[`
    variants_open: Vec<u8>,
    /// `","brand":"`
    brand: Vec<u8>,
    /// `{"variantId":"`
    variant_open: Vec<u8>,
    /// `,{"variantId":"` (a variant after the first of its product)
    variant_next: Vec<u8>,
    /// `","title":"`
    title: Vec<u8>,
    /// `","sku":"`
    sku: Vec<u8>,
    /// `","inventory":` (after the SKU code, when the variant has no prices)
    sku_close_value: Vec<u8>,
    /// `"inventory":` (after the prices)
    value: Vec<u8>,
    /// `,"blockedInventory":`
    blocked: Option<Vec<u8>>,
    /// `,"blockedInventory":0}` (most variants hold nothing back)
    none_blocked_close: Option<Vec<u8>>,
}

impl Glue {
    fn of(m: &ListingMembers) -> Self {
        // What comes before (`pre`), the name escaped with its quotes and colon, and what
        // comes after (`post`).
        let g = |pre: &[u8], name: &str, post: &[u8]| {
            let mut out = PageBytes::new(pre.to_vec());
            key(&mut out, name);
            out.put(post);
            out.into_vec()
        };
        Glue {
            page_open: g(b"{", m.products, b"["),
            product_open: g(b"{", m.product_id, b"\""),
            variants_open: g(b"\",", m.variants, b"["),
            brand: g(b"\",", listing_field::BRAND, b"\""),
            variant_open: g(b"{", m.variant_id, b"\""),
            variant_next: g(b",{", m.variant_id, b"\""),
            title: g(b"\",", listing_field::TITLE, b"\""),
            sku: g(b"\",", m.sku, b"\""),
            sku_close_value: g(b"\",", m.value, b""),
            value: g(b"", m.value, b""),
            blocked: m.blocked.map(|b| g(b",", b, b"")),
            none_blocked_close: m.blocked.map(|b| g(b",", b, b"0}")),
        }
    }
}

/// A text's content, written without its quotes (the glue has them). Implemented by each
/// kind of text a page takes, so that a variant of plain texts is written without a test of
/// its kind per text.
trait Content {
    fn put(self, out: &mut PageBytes);
}

/// Bytes known to need no escape.
struct Plain<'a>(&'a [u8]);

impl Content for Plain<'_> {
    #[inline]
    fn put(self, out: &mut PageBytes) {
        out.put(self.0);
    }
}

impl Content for PlainTitle<'_> {
    #[inline]
    fn put(self, out: &mut PageBytes) {
        match self {
            PlainTitle::Text(t) => out.put(t),
            PlainTitle::Joined(a, b) => {
                out.put(a);
                out.push(b' ');
                out.put(b);
            }
        }
    }
}

/// Any text: escaped as `serde_json` escapes it, when it must be.
impl Content for &str {
    fn put(self, out: &mut PageBytes) {
        if needs_no_escape(self) {
            out.put(self.as_bytes());
            return;
        }
        // Rare (a text with a quote, a backslash or a control character): escaped by
        // `serde_json`, its quotes left out.
        let mut escaped = Vec::with_capacity(self.len() + 8);
        let _ = serde_json::to_writer(&mut escaped, self);
        out.put(
            escaped
                .get(1..escaped.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    }
}

/// A page's bytes as they are written: a buffer kept longer than what is written (zeros past
/// `len`), so that a short piece is copied with a few fixed-size moves instead of a call to
/// `memcpy` (a page is mostly pieces of a few bytes: a call each was a tenth of the mock's
/// time serving pages).
#[derive(Debug)]
struct PageBytes {
    buf: Vec<u8>,
    len: usize,
}

impl PageBytes {
    /// Writes after what `out` holds.
    fn new(out: Vec<u8>) -> Self {
        PageBytes {
            len: out.len(),
            buf: out,
        }
    }

    /// Room for `n` more bytes past the written part.
    #[inline]
    fn room(&mut self, n: usize) -> &mut [u8] {
        let need = self.len.saturating_add(n);
        if self.buf.len() < need {
            self.grow(need);
        }
        self.buf.get_mut(self.len..need).unwrap_or_default()
    }

    /// Zeroes room up to `need` and a little past it (a kibibyte at a time within the
    /// buffer's capacity, so that little more than the page is ever zeroed; doubling past it).
    #[cold]
    fn grow(&mut self, need: usize) {
        let cap = self.buf.capacity();
        let to = if need <= cap {
            need.saturating_add(1024).min(cap)
        } else {
            need.max(self.buf.len().saturating_mul(2))
        };
        self.buf.resize(to, 0);
    }

    #[inline]
    fn put(&mut self, s: &[u8]) {
        copy_short(self.room(s.len()), s);
        self.len += s.len();
    }

    #[inline]
    fn push(&mut self, b: u8) {
        if let Some(d) = self.room(1).first_mut() {
            *d = b;
        }
        self.len += 1;
    }

    fn into_vec(mut self) -> Vec<u8> {
        self.buf.truncate(self.len);
        self.buf
    }
}

/// Copies `src` to `dst` (of the same length): up to 32 bytes as two overlapping fixed-size
/// moves, which the compiler writes inline; longer ones with `copy_from_slice`.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn two<const N: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        if let (Some(d), Some(s)) = (dst.get_mut(..N), src.get(..N)) {
            d.copy_from_slice(s);
        }
        if let (Some(d), Some(s)) = (dst.get_mut(n - N..), src.get(n - N..)) {
            d.copy_from_slice(s);
        }
    }
    if dst.len() != src.len() {
        return;
    }
    match src.len() {
        0 => {}
        1..=3 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..=7 => two::<4>(dst, src),
        8..=15 => two::<8>(dst, src),
        16..=32 => two::<16>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

impl ListingPageWriter {
    /// Starts a page in `out` (appended to: pass a cleared buffer to reuse one).
    pub fn new(m: &ListingMembers, out: Vec<u8>) -> Self {
        Self::with_layout(&ListingLayout::of(m), out)
    }

    /// [`ListingPageWriter::new`] with the call's layout put together already (a server
    /// keeps one per listing call).
    pub fn with_layout(layout: &ListingLayout, out: Vec<u8>) -> Self {
        let mut out = PageBytes::new(out);
        out.put(&layout.0.page_open);
        ListingPageWriter {
            out,
            glue: layout.clone(),
            open: false,
            any: false,
        }
    }

    /// Starts a product (closing the one before): its id and its brand, when known; its
    /// variants follow with [`ListingPageWriter::variant`].
    pub fn product(&mut self, product_id: &str, brand: Option<&str>) {
        self.put_product(product_id, brand);
    }

    /// [`ListingPageWriter::product`] of texts known to need no escape ([`PlainVariant`]).
    pub fn plain_product(&mut self, product_id: &[u8], brand: Option<&[u8]>) {
        self.put_product(Plain(product_id), brand.map(Plain));
    }

    fn put_product<T: Content>(&mut self, id: T, brand: Option<T>) {
        let (g, out) = (&*self.glue.0, &mut self.out);
        if self.open {
            out.put(b"]},");
        }
        self.open = true;
        self.any = false;
        out.put(&g.product_open);
        id.put(out);
        if let Some(b) = brand {
            out.put(&g.brand);
            b.put(out);
        }
        out.put(&g.variants_open);
    }

    /// Appends a variant to the open product (a variant with no product open is left out).
    pub fn variant(&mut self, v: &ListedVariant<'_>) {
        self.put_variant(
            v.variant_id,
            v.title,
            v.sku,
            (v.value, v.blocked),
            (v.listing_price, v.mrp),
        );
    }

    /// [`ListingPageWriter::variant`] of texts known to need no escape: copied as they are.
    pub fn plain_variant(&mut self, v: &PlainVariant<'_>) {
        self.put_variant(
            Plain(v.variant_id),
            v.title,
            Plain(v.sku),
            (v.value, v.blocked),
            (v.listing_price, v.mrp),
        );
    }

    #[inline]
    fn put_variant<I: Content, T: Content>(
        &mut self,
        variant_id: I,
        title: T,
        sku: I,
        (value, blocked): (u32, u32),
        (listing_price, mrp): (Option<f64>, Option<f64>),
    ) {
        if !self.open {
            return;
        }
        let (g, out) = (&*self.glue.0, &mut self.out);
        out.put(if self.any {
            &g.variant_next
        } else {
            &g.variant_open
        });
        self.any = true;
        variant_id.put(out);
        out.put(&g.title);
        title.put(out);
        out.put(&g.sku);
        sku.put(out);
        // What `Number::from_f64` keeps: finite numbers only.
        let prices = [
            (
                listing_field::LISTING_PRICE,
                listing_price.filter(|x| x.is_finite()),
            ),
            (listing_field::MRP, mrp.filter(|x| x.is_finite())),
        ];
        if prices.iter().all(|(_, x)| x.is_none()) {
            out.put(&g.sku_close_value);
        } else {
            out.put(b"\",");
            key(out, listing_field::ITEM_PRICE);
            out.push(b'{');
            let mut first = true;
            for (name, x) in prices {
                if let Some(x) = x {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    key(out, name);
                    number(out, x);
                }
            }
            out.put(b"},");
            out.put(&g.value);
        }
        count(out, value);
        match (&g.blocked, &g.none_blocked_close) {
            (Some(_), Some(zero)) if blocked == 0 => out.put(zero),
            (Some(b), _) => {
                out.put(b);
                count(out, blocked);
                out.push(b'}');
            }
            (None, _) => out.push(b'}'),
        }
    }

    /// Closes the page and gives its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        if self.open {
            self.out.put(b"]}");
        }
        self.out.put(b"]}");
        self.out.into_vec()
    }
}

/// A JSON string, escaped as `serde_json` escapes it.
fn text(out: &mut PageBytes, s: &str) {
    out.push(b'"');
    s.put(out);
    out.push(b'"');
}

/// A member name and its colon.
fn key(out: &mut PageBytes, name: &str) {
    text(out, name);
    out.push(b':');
}

/// A count, as `serde_json` writes it (decimal digits).
fn count(out: &mut PageBytes, n: u32) {
    out.put(itoa::Buffer::new().format(n).as_bytes());
}

/// A number, as `serde_json` writes it.
fn number(out: &mut PageBytes, x: impl Serialize) {
    let mut digits = Vec::with_capacity(24);
    let _ = serde_json::to_writer(&mut digits, &x);
    out.put(&digits);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Profile;

    #[test]
    fn a_value_the_schema_admits_but_no_stock_count_breaks_stock_count() {
        let body: Value = serde_json::from_str(
            r#"{"inventoryList":[{"inventory":1e3},{"inventory":-0},{"inventory":7},{"inventory":"7"},{}]}"#,
        )
        .unwrap();
        let request = RequestView::parse(&body);
        let broken: Vec<_> = request
            .items()
            .iter()
            .filter_map(ItemView::stock_count_violation)
            .collect();
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert_eq!(broken[0].pointer, "/inventoryList/0/inventory");
        assert_eq!(broken[1].pointer, "/inventoryList/1/inventory");
        assert!(broken.iter().all(|v| v.keyword == STOCK_COUNT.id));
    }

    #[test]
    fn media_types() {
        for yes in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            " application/json ",
            "application/problem+json",
            "application/vnd.api+JSON; ext=x",
            "application/merge-patch+json",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "",
            "json",
            "text/plain",
            "text/json-ish",
            "application/jsonx",
            "application/json-seq",
            "application/+json",
            "application/x-www-form-urlencoded",
            "application/json+xml",
            "/json",
            "application/",
            "application/vnd api+json",
            "*/*",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn response_view_reads_every_list_state() {
        let absent = ResponseView::parse(&json!({"status": "SUCCESS"}));
        assert_eq!(absent.failed_list(), FailedList::Absent);
        assert_eq!(absent.status(), Some(&Status::Success));
        let empty = ResponseView::parse(&json!({"status": "FAILED", "failedProductList": []}));
        assert_eq!(empty.failed_list(), FailedList::Empty);
        let not_array = ResponseView::parse(&json!({"status": "FAILED", "failedProductList": {}}));
        assert_eq!(not_array.failed_list(), FailedList::NotArray);
        assert!(not_array.failed().is_empty());
        let null = ResponseView::parse(&json!({"failedProductList": null}));
        assert_eq!(null.failed_list(), FailedList::NotArray);
        let not_object = ResponseView::parse(&json!([1, 2]));
        assert_eq!(not_object.failed_list(), FailedList::Absent);
        assert_eq!(not_object.status(), None);
    }

    #[test]
    fn response_view_keeps_status_and_ids_as_sent() {
        let body = json!({"status": "OK", "failedProductList": [
            {"productId": "P", "variantId": "V", "message": "no"},
            {"productId": 12, "variantId": null},
            "junk",
            {"productId": "P", "variantId": "V", "message": ""}
        ], "message": "whole"});
        let v = ResponseView::parse(&body);
        assert_eq!(v.status(), Some(&Status::Other("OK".into())));
        assert_eq!(v.status_text(), Some("OK"));
        assert_eq!(v.known_status(), None);
        assert_eq!(v.failed_list(), FailedList::Entries);
        assert_eq!(v.failed().len(), 4);
        assert_eq!(v.failed()[1].product_id, Some(json!(12)));
        assert_eq!(v.failed()[1].variant_id, Some(Value::Null));
        assert_eq!(v.failed()[1].key(), None);
        assert_eq!(v.failed()[2].raw, json!("junk"));
        assert_eq!(v.failed()[2].product_id, None);
        assert_eq!(v.failed()[3].pointer(), "/failedProductList/3");
        let k = ItemKey::new("P", "V");
        assert_eq!(v.failed_keys(), vec![k.clone(), k.clone()]);
        assert_eq!(v.failure_message(&k), Some("no"));
        assert_eq!(v.message(), Some(&json!("whole")));
        assert_eq!(v.raw(), &body);
        assert!(v.to_model().is_none());

        let numeric_status = ResponseView::parse(&json!({"status": 1}));
        assert_eq!(numeric_status.status_raw(), Some(&json!(1)));
        assert_eq!(numeric_status.status(), None);
    }

    #[test]
    fn view_names_items_by_the_rules() {
        let v = ResponseView::parse(&json!({"status": "FAILED", "failedProductList": [
            {"productId": "12", "variantId": "", "message": "bad"}]}));
        assert!(v.names_item(&json!({"productId": 12, "variantId": null})));
        assert!(!v.names_item(&json!({"productId": "13", "variantId": "V"})));
    }

    #[test]
    fn builder_round_trips_through_the_view_and_the_model() {
        let a = ItemKey::new("P", "A");
        let model = InventoryResponse::for_outcome(
            &[a.clone(), ItemKey::new("P", "B")],
            vec![FailedProduct::new(&a, "Variant not found")],
        );
        let body = ResponseBuilder::from_model(&model).build();
        let view = ResponseView::parse(&body);
        assert_eq!(view.to_model(), Some(model.clone()));
        assert_eq!(view.status(), Some(&Status::PartialSuccess));
        assert_eq!(view.failed_keys(), vec![a.clone()]);
        // Validates against the committed schema of both profiles.
        for p in Profile::ALL {
            assert!(crate::validate_response(p, &body).is_empty());
        }
        let broken = ResponseBuilder::from_model(&model)
            .status(&Status::Other("OK".into()))
            .failed(&[FailedProduct::new(&a, ""), FailedProduct::new(&a, "")])
            .build();
        let bv = ResponseView::parse(&broken);
        assert_eq!(bv.status_text(), Some("OK"));
        assert_eq!(bv.failed().len(), 2);
        assert_eq!(bv.failure_message(&a), Some(""));
        let raw = ResponseBuilder::from_model(&model)
            .status_raw(json!(7))
            .without_failed_list()
            .build();
        assert_eq!(raw, json!({"status": 7}));
        let entry = failed_entry_raw(json!(1), json!("V"), json!(""));
        let v = ResponseView::parse(
            &ResponseBuilder::from_model(&model)
                .failed_list_raw(json!([entry]))
                .build(),
        );
        assert_eq!(v.failed()[0].product_id, Some(json!(1)));
    }

    #[test]
    fn request_view_and_builders() {
        let items = vec![
            InventoryItem::new(Profile::V1, "P1", "V1", 3),
            InventoryItem::new(Profile::V2, "P2", "V2", 0),
        ];
        let body = request_body(items.clone());
        assert!(
            crate::validate_request(Profile::V1, &request_body(vec![items[0].clone()])).is_empty()
        );
        let v = RequestView::parse(&body);
        assert!(v.has_list());
        assert_eq!(v.items().len(), 2);
        assert_eq!(v.items()[0].key(), Some(ItemKey::new("P1", "V1")));
        assert_eq!(v.items()[0].count(), Some(3));
        assert_eq!(v.items()[1].count(), Some(0));
        assert_eq!(v.items()[1].to_model(), Some(items[1].clone()));

        let odd =
            request_with_list(json!([{"productId": 5, "variantId": "V", "inventory": -1}, 3]));
        let v = RequestView::parse(&odd);
        assert_eq!(v.items()[0].key(), None);
        assert_eq!(v.items()[0].key_lenient(), ItemKey::new("5", "V"));
        assert_eq!(v.items()[0].count(), None);
        assert_eq!(v.items()[1].raw, json!(3));
        assert_eq!(v.items()[1].key_lenient(), ItemKey::new("", ""));

        let not_list = RequestView::parse(&request_with_list(json!({})));
        assert!(!not_list.has_list());
        assert_eq!(not_list.list_raw(), Some(&json!({})));
        assert!(RequestView::parse(&json!({})).list_raw().is_none());

        let mut item = json!({"productId": "P"});
        set_member(&mut item, field::INVENTORY, json!(1));
        assert_eq!(
            RequestView::parse(&request_with_list(json!([item]))).items()[0].count(),
            Some(1)
        );
        assert_eq!(pointer::item_field(2, "a/b"), "/inventoryList/2/a~1b");
        assert_eq!(pointer::item(0), "/inventoryList/0");
    }

    #[test]
    fn auth_helpers() {
        let creds = AuthTokenRequest::new("u", "p");
        assert_eq!(creds.to_body(), json!({"username": "u", "password": "p"}));
        assert_eq!(creds.query_pairs(), [("username", "u"), ("password", "p")]);
        assert_eq!(AuthTokenRequest::from_lenient(&creds.to_body()), creds);
        assert_eq!(
            AuthTokenRequest::from_lenient(&json!({"username": 3})),
            AuthTokenRequest::new("", "")
        );
        let ok = auth_response_body("SUCCESS", Some("t0k"));
        assert_eq!(access_token(&ok).as_deref(), Some("t0k"));
        for p in Profile::ALL {
            assert!(crate::contract(p).validate_auth_response(&ok).is_empty());
        }
        assert_eq!(
            access_token(&auth_response_body("FAILED", Some("t0k"))),
            None
        );
        assert_eq!(access_token(&auth_response_body("SUCCESS", Some(""))), None);
        assert_eq!(access_token(&auth_response_body("SUCCESS", None)), None);
    }

    /// The constants name what the committed schemas name.
    #[test]
    fn field_names_agree_with_the_schemas() {
        for p in Profile::ALL {
            let c = crate::contract(p);
            let props = |s: &Value| -> Vec<String> {
                s.get("properties")
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let has = |s: &Value, n: &str| props(s).iter().any(|k| k == n);
            assert!(has(c.request_schema(), field::INVENTORY_LIST));
            for n in [
                field::PRODUCT_ID,
                field::VARIANT_ID,
                field::INVENTORY,
                field::HSN_CODE,
            ] {
                assert!(has(c.item_schema(), n), "{p} item {n}");
            }
            assert!(has(c.response_schema(), field::STATUS));
            assert!(has(c.response_schema(), field::FAILED_PRODUCT_LIST));
            let entry = c
                .response_schema()
                .pointer("/properties/failedProductList/items")
                .cloned()
                .unwrap_or(Value::Null);
            for n in [field::PRODUCT_ID, field::VARIANT_ID, field::MESSAGE] {
                assert!(has(&entry, n), "{p} entry {n}");
            }
            assert!(has(c.auth_response_schema(), field::ACCESS_TOKEN));
            assert!(has(c.auth_response_schema(), field::STATUS));
            assert!(has(c.auth_query_schema(), field::USERNAME));
            assert!(has(c.auth_query_schema(), field::PASSWORD));
        }
        assert!(
            crate::contract(Profile::V2)
                .item_fields()
                .iter()
                .any(|f| f.name == field::FACILITY_CODE)
        );
    }

    /// A text with what JSON must escape: quotes, backslashes, control characters, non-ASCII.
    fn nasty_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("([\"\\\\\\x00-\\x1f\\x7f/a-zA-Z0-9 é€𝄞\u{2028}]){0,12}")
            .unwrap()
    }

    type Variant = (String, String, String, u32, u32, Option<f64>, Option<f64>);

    fn a_variant() -> impl proptest::strategy::Strategy<Value = Variant> {
        use proptest::prelude::*;
        let price = prop_oneof![
            Just(None),
            any::<f64>().prop_map(Some),
            (0u32..100_000).prop_map(|c| Some(f64::from(c) / 100.0)),
            Just(Some(f64::NAN)),
            Just(Some(f64::INFINITY)),
        ];
        (
            nasty_text(),
            nasty_text(),
            nasty_text(),
            any::<u32>(),
            // Blocked units: none (the common case, written as one piece) or any.
            prop_oneof![Just(0u32), any::<u32>()],
            price.clone(),
            price,
        )
    }

    #[test]
    fn short_copies_copy_every_length() {
        for n in 0..=80usize {
            let src: Vec<u8> = (0..n as u8)
                .map(|b| b.wrapping_mul(7).wrapping_add(1))
                .collect();
            let mut out = PageBytes::new(b"[".to_vec());
            out.put(&src);
            out.push(b']');
            let mut want = b"[".to_vec();
            want.extend_from_slice(&src);
            want.push(b']');
            assert_eq!(out.into_vec(), want, "{n} bytes");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_page_writer_writes_what_the_builders_build(
            products in proptest::collection::vec(
                (nasty_text(), proptest::option::of(nasty_text()),
                 proptest::collection::vec(a_variant(), 0..4)),
                0..6),
            blocked in proptest::bool::ANY,
        ) {
            let mut m = *crate::call::PRODUCTS.listing().unwrap();
            if !blocked {
                m.blocked = None;
            }
            let mut w = ListingPageWriter::new(&m, Vec::new());
            // The same page, every text that needs no escape handed over as plain bytes (a
            // title with a space as two joined halves).
            let mut plain = ListingPageWriter::new(&m, Vec::new());
            let mut built = Vec::new();
            for (id, brand, variants) in &products {
                w.product(id, brand.as_deref());
                if needs_no_escape(id) && brand.as_deref().is_none_or(needs_no_escape) {
                    plain.plain_product(id.as_bytes(), brand.as_deref().map(str::as_bytes));
                } else {
                    plain.product(id, brand.as_deref());
                }
                let mut vs = Vec::new();
                for (vid, sku, title, value, blocked, lp, mrp) in variants {
                    let v = ListedVariant {
                        variant_id: vid,
                        sku,
                        value: *value,
                        blocked: *blocked,
                        title,
                        listing_price: *lp,
                        mrp: *mrp,
                    };
                    w.variant(&v);
                    if [vid, sku, title].iter().all(|t| needs_no_escape(t)) {
                        plain.plain_variant(&PlainVariant {
                            variant_id: vid.as_bytes(),
                            sku: sku.as_bytes(),
                            value: *value,
                            blocked: *blocked,
                            title: match title.split_once(' ') {
                                Some((a, b)) => PlainTitle::Joined(a.as_bytes(), b.as_bytes()),
                                None => PlainTitle::Text(title.as_bytes()),
                            },
                            listing_price: *lp,
                            mrp: *mrp,
                        });
                    } else {
                        plain.variant(&v);
                    }
                    vs.push(listed_variant_of(&m, &v));
                }
                built.push(listed_product_of(&m, id, brand.as_deref(), vs));
            }
            let bytes = w.finish();
            let old = listing_body_of(&m, built);
            let parsed: Value = serde_json::from_slice(&bytes).unwrap();
            proptest::prop_assert_eq!(&parsed, &old);
            proptest::prop_assert_eq!(&plain.finish(), &bytes);
            proptest::prop_assert_eq!(String::from_utf8(bytes).unwrap(), old.to_string());
        }
    }

    #[test]
    fn listing_pages_read_leniently() {
        let m = crate::call::PRODUCTS.listing().unwrap();
        let page = json!({"products": [
            {"id": "P1", "variants": [{"variantId": "V1", "sku": "S1", "inventory": 4, "blockedInventory": 1},
                                      {"variantId": 7, "inventory": "3"}]},
            {"id": "", "variants": {}},
        ]});
        let v = ListingView::parse_of(m, &page);
        let all: Vec<(Option<&str>, Option<&str>, Option<u32>)> = v
            .variants()
            .map(|(_, x)| (x.variant_id_text(), x.sku_text(), x.count()))
            .collect();
        assert_eq!(all, [(Some("V1"), Some("S1"), Some(4)), (None, None, None)]);
        let products = v.products().unwrap();
        assert_eq!(
            (products[0].id_text(), products[1].id_text()),
            (Some("P1"), None)
        );
        assert!(!products[1].has_variants);
        assert_eq!(products[0].variants[0].blocked_count(), Some(1));
        assert!(
            ListingView::parse_of(m, &json!({"message": "Invalid"}))
                .products()
                .is_none()
        );
        let c = crate::call::PRODUCTS_COUNT.count().unwrap();
        assert_eq!(count_of_answer(c, &count_body(c, 30)), Some(30));
        assert_eq!(count_of_answer(c, &json!({"count": "30"})), None);
        assert_eq!(count_of_answer(c, &json!({"count": -1})), None);
        assert_eq!(error_body(c.message, "x"), json!({"message": "x"}));
    }
}
