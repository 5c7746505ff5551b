//! The contract of one profile, compiled once: every call of the family ([`crate::call`]) with
//! its committed schemas under `schemas/`, their validators, and validation that returns every
//! violation with a JSON pointer and the rule.
//!
//! A [`Contract`] is keyed by call: [`Contract::call`] gives one compiled [`Call`] (its page's
//! method, path and usage, its schemas per [`Part`], and for an update its item schema). A call
//! that is not built in (a new call of a known shape, in a test or a tool) is compiled from its
//! page with [`Call::from_page`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use jsonschema::Validator;
use serde_json::{Map, Value, json};

use crate::call::{self, CallDef, Method, Shape, Usage};
use crate::derive::{DIALECT, derive_page};
use crate::error::SpecError;
use crate::generate::merge;
use crate::page::{Page, Part};
use crate::profile::Profile;

macro_rules! schema_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/", $path)))),*]
    };
}

/// The committed schema files built into the crate, by path under `schemas/`. A test holds
/// this list to what `stockwire schema build` writes, so a new built-in call cannot be missed.
pub(crate) const EMBEDDED: &[(&str, &str)] = schema_files![
    "derived/authtoken.json",
    "derived/getproducts.json",
    "derived/productscount.json",
    "derived/updateinventory-current.json",
    "derived/updateinventory.json",
    "v1/authtoken.query.json",
    "v1/authtoken.response.json",
    "v1/products.query.json",
    "v1/products.response.json",
    "v1/productscount.query.json",
    "v1/productscount.response.json",
    "v1/updateinventory.request.json",
    "v1/updateinventory.response.json",
    "v2/authtoken.query.json",
    "v2/authtoken.response.json",
    "v2/products.query.json",
    "v2/products.response.json",
    "v2/productscount.query.json",
    "v2/productscount.response.json",
    "v2/updateinventory.request.json",
    "v2/updateinventory.response.json",
];

fn embedded(path: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// One place where a JSON document breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SchemaViolation {
    /// JSON pointer to the offending value (`""` is the whole document).
    pub pointer: String,
    /// The JSON Schema keyword that failed (`required`, `type`, `minimum`, …).
    pub keyword: String,
    /// A human message.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: [{}] {}", self.keyword, self.message)
    }
}

/// Describes one field of an update's item as the merged schema states it (used by generators).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Field name, e.g. `inventory`.
    pub name: String,
    /// Whether the item schema lists it in `required`.
    pub required: bool,
    /// The field's schema (type, pattern, minimum, …).
    pub schema: Value,
}

impl FieldSpec {
    /// The JSON type the schema gives the field (`string`, `integer`, …), if any.
    pub fn json_type(&self) -> Option<&str> {
        self.schema.get("type").and_then(Value::as_str)
    }
}

/// A built-in schema that fails to parse or compile, or a call whose page does not fit its
/// definition: a build defect for built-in calls, caught by this crate's tests.
#[derive(Debug, Clone, thiserror::Error)]
#[error("call `{call}` of profile {profile}: {message}")]
pub struct BrokenBuiltin {
    /// The call's id.
    pub call: String,
    /// The profile.
    pub profile: Profile,
    /// What is wrong.
    pub message: String,
}

/// One part's schema and its validator.
struct Compiled {
    schema: Value,
    validator: Validator,
}

/// What an update call adds: its item schema alone, and its request without the items.
struct UpdateSchemas {
    item: Value,
    item_v: Validator,
    envelope_v: Validator,
}

/// One call of the family compiled for one profile: the page's method, path and usage, the
/// merged schemas of each part with their validators, and the definition's members.
pub struct Call {
    def: CallDef,
    profile: Profile,
    title: String,
    path: String,
    methods: Vec<Method>,
    usage: Usage,
    page: Value,
    parts: BTreeMap<Part, Compiled>,
    update: Option<UpdateSchemas>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("id", &self.def.id)
            .field("profile", &self.profile)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn compile_schema(schema: &Value) -> Result<Validator, String> {
    jsonschema::draft202012::options()
        .should_validate_formats(false)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Whether `schema` (an object schema) names member `name` in its `properties`.
fn has_member(schema: Option<&Value>, name: &str) -> bool {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(name))
        .is_some()
}

impl Call {
    /// Compiles `def` for `profile` from its derived page document (`derived/{page}.json`:
    /// endpoint, methods, usage) and its merged schemas.
    pub fn compile(
        def: CallDef,
        profile: Profile,
        page: Value,
        schemas: BTreeMap<Part, Value>,
    ) -> Result<Call, BrokenBuiltin> {
        let broken = |message: String| BrokenBuiltin {
            call: def.id.to_string(),
            profile,
            message,
        };
        let path = page["endpoint"]
            .as_str()
            .ok_or_else(|| broken(format!("page `{}` states no End Point", page["id"])))?
            .to_string();
        let methods: Vec<Method> = page["methods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().and_then(Method::parse))
            .collect();
        if methods.is_empty() {
            return Err(broken(format!(
                "page `{}` states no Request Type stockwire can send (GET or POST)",
                page["id"]
            )));
        }
        let usage = match page["usage"].as_str() {
            Some(u) if u.eq_ignore_ascii_case("optional") => Usage::Optional,
            _ => Usage::Mandatory,
        };
        let title = page["title"].as_str().unwrap_or(def.id).to_string();
        check_members(&def, &schemas).map_err(broken)?;
        let update = match def.shape {
            Shape::Update(m) => Some(update_schemas(&m, &schemas).map_err(&broken)?),
            _ => None,
        };
        let mut parts = BTreeMap::new();
        for (part, schema) in schemas {
            let validator =
                compile_schema(&schema).map_err(|e| broken(format!("{part} schema: {e}")))?;
            parts.insert(part, Compiled { schema, validator });
        }
        Ok(Call {
            def,
            profile,
            title,
            path,
            methods,
            usage,
            page,
            parts,
            update,
        })
    }

    /// Derives, merges (with the overlays under `overlay_dir`, if any) and compiles a call
    /// from its page: how a call that is not built in is added.
    pub fn from_page(
        def: CallDef,
        profile: Profile,
        page: &Page,
        overlay_dir: Option<&Path>,
    ) -> Result<Call, SpecError> {
        let derived = derive_page(page)?;
        let schemas = match overlay_dir {
            Some(dir) => merge(&derived, profile, &def, dir)?,
            None => derived.parts.clone(),
        };
        Call::compile(def, profile, derived.to_document(), schemas).map_err(|e| SpecError::Page {
            file: page.file.clone(),
            line: 1,
            message: e.to_string(),
        })
    }

    fn builtin(def: CallDef, profile: Profile) -> Result<Call, BrokenBuiltin> {
        let broken = |message: String| BrokenBuiltin {
            call: def.id.to_string(),
            profile,
            message,
        };
        let parse = |path: &str| -> Result<Option<Value>, BrokenBuiltin> {
            embedded(path)
                .map(|t| serde_json::from_str(t).map_err(|e| broken(format!("{path}: {e}"))))
                .transpose()
        };
        let page_path = format!("derived/{}.json", def.page_id(profile));
        let page = parse(&page_path)?.ok_or_else(|| broken(format!("{page_path} not built in")))?;
        let mut schemas = BTreeMap::new();
        for part in Part::ALL {
            if let Some(s) = parse(&format!("{profile}/{}.{part}.json", def.stem()))? {
                schemas.insert(part, s);
            }
        }
        Call::compile(def, profile, page, schemas)
    }

    /// The definition.
    pub fn def(&self) -> &CallDef {
        &self.def
    }

    /// The call's stable id (`updateInventory`).
    pub fn id(&self) -> &'static str {
        self.def.id
    }

    /// The call's role and members.
    pub fn shape(&self) -> &Shape {
        &self.def.shape
    }

    /// The profile it was compiled for.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The page's title (`Get Products`).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The endpoint path the page states (`/products`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The documented method (the first one the page names).
    pub fn method(&self) -> Method {
        self.methods.first().copied().unwrap_or(Method::Get)
    }

    /// Every method the page names, the documented one first (`/authToken`: GET, POST).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// Whether a marketplace must build the call.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The derived page document (`endpoint`, `methods`, `usage`, raw derived schemas).
    pub fn page(&self) -> &Value {
        &self.page
    }

    /// The merged schema of `part`, when the call has one.
    pub fn schema(&self, part: Part) -> Option<&Value> {
        self.parts.get(&part).map(|c| &c.schema)
    }

    /// The parts the call has schemas for.
    pub fn parts(&self) -> impl Iterator<Item = Part> + '_ {
        self.parts.keys().copied()
    }

    /// Every way `document` breaks the schema of `part` (nothing when the call has no schema
    /// for it).
    pub fn validate(&self, part: Part, document: &Value) -> Vec<SchemaViolation> {
        self.parts
            .get(&part)
            .map(|c| collect(&c.validator, document, ""))
            .unwrap_or_default()
    }

    /// Every way a query string, read as a JSON object of strings, breaks the query schema.
    pub fn validate_query<'q>(
        &self,
        params: impl IntoIterator<Item = (&'q str, &'q str)>,
    ) -> Vec<SchemaViolation> {
        let map: Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.validate(Part::Query, &Value::Object(map))
    }

    /// The update's members, when the call is an update.
    pub fn update(&self) -> Option<&call::UpdateMembers> {
        self.def.update()
    }

    /// The schema of one item of an update's list, standalone (`None` for other shapes).
    pub fn item_schema(&self) -> Option<&Value> {
        self.update.as_ref().map(|u| &u.item)
    }

    /// Every way an update's request breaks its schema *outside* its items (not an object, no
    /// list, empty list, …): the problems that make a whole request unusable.
    pub fn validate_envelope(&self, request: &Value) -> Vec<SchemaViolation> {
        self.update
            .as_ref()
            .map(|u| collect(&u.envelope_v, request, ""))
            .unwrap_or_default()
    }

    /// Every way one item of an update breaks the item schema; pointers are prefixed with
    /// `/{list}/{index}` so they point into the whole request.
    pub fn validate_item(&self, index: usize, item: &Value) -> Vec<SchemaViolation> {
        match (&self.update, self.def.update()) {
            (Some(u), Some(m)) => collect(&u.item_v, item, &format!("/{}/{index}", m.list)),
            _ => Vec::new(),
        }
    }

    /// The fields of an update's item, in schema order, with whether each is required.
    pub fn item_fields(&self) -> Vec<FieldSpec> {
        let Some(item) = self.item_schema() else {
            return Vec::new();
        };
        let required: Vec<&str> = item["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        item["properties"]
            .as_object()
            .map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| FieldSpec {
                        name: name.clone(),
                        required: required.contains(&name.as_str()),
                        schema: schema.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A query parameter's fixed value, as its schema states it (`const`, or the only `enum`
    /// value): `pageSize` is `50`, `publishedStatus` is `PUBLISHED`.
    pub fn fixed_query_value(&self, name: &str) -> Option<&str> {
        let s = self.schema(Part::Query)?.get("properties")?.get(name)?;
        if let Some(c) = s.get("const") {
            return c.as_str();
        }
        match s.get("enum")?.as_array()?.as_slice() {
            [one] => one.as_str(),
            _ => None,
        }
    }

    /// A query parameter's documented default (`pageNumber`: `1`).
    pub fn query_default(&self, name: &str) -> Option<&str> {
        self.schema(Part::Query)?
            .get("properties")?
            .get(name)?
            .get("default")?
            .as_str()
    }

    /// Whether the query schema lists parameter `name` as required.
    pub fn query_required(&self, name: &str) -> bool {
        self.schema(Part::Query)
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(name)))
    }
}

/// Checks that the members the definition names are in the page's schemas, so that a
/// definition and its page cannot drift apart.
fn check_members(def: &CallDef, schemas: &BTreeMap<Part, Value>) -> Result<(), String> {
    let missing = |part: Part, what: &str, name: &str| {
        format!("the {part} schema has no member `{name}` ({what} of the definition)")
    };
    let query = schemas.get(&Part::Query);
    let request = schemas.get(&Part::Request);
    let response = schemas.get(&Part::Response);
    let need = |schema: Option<&Value>, part: Part, what: &str, name: &str| {
        if has_member(schema, name) {
            Ok(())
        } else {
            Err(missing(part, what, name))
        }
    };
    match &def.shape {
        Shape::Auth(m) => {
            need(query, Part::Query, "username", m.username)?;
            need(query, Part::Query, "password", m.password)?;
            need(response, Part::Response, "status", m.status)?;
            need(response, Part::Response, "token", m.token)
        }
        Shape::Count(m) => {
            need(query, Part::Query, "published", m.published)?;
            need(response, Part::Response, "count", m.count)
        }
        Shape::Listing(m) => {
            for (what, name) in [
                ("page_number", m.page_number),
                ("page_size", m.page_size),
                ("filter", m.filter),
                ("published", m.published),
            ] {
                need(query, Part::Query, what, name)?;
            }
            need(response, Part::Response, "products", m.products)?;
            let product =
                response.and_then(|r| r.pointer(&format!("/properties/{}/items", m.products)));
            need(product, Part::Response, "product_id", m.product_id)?;
            need(product, Part::Response, "variants", m.variants)?;
            let variant =
                product.and_then(|p| p.pointer(&format!("/properties/{}/items", m.variants)));
            need(variant, Part::Response, "variant_id", m.variant_id)?;
            need(variant, Part::Response, "sku", m.sku)?;
            need(variant, Part::Response, "value", m.value)
        }
        Shape::Update(m) => {
            need(request, Part::Request, "list", m.list)?;
            let item = request.and_then(|r| r.pointer(&format!("/properties/{}/items", m.list)));
            need(item, Part::Request, "product_id", m.product_id)?;
            need(item, Part::Request, "variant_id", m.variant_id)?;
            // The place is optional, and a profile may not have it at all (v1).
            need(item, Part::Request, "value", m.value)?;
            need(response, Part::Response, "status", m.status)?;
            need(response, Part::Response, "failures", m.failures)
        }
    }
}

fn update_schemas(
    m: &call::UpdateMembers,
    schemas: &BTreeMap<Part, Value>,
) -> Result<UpdateSchemas, String> {
    let request = schemas
        .get(&Part::Request)
        .ok_or("an update needs a request schema")?;
    let inner = request
        .pointer(&format!("/properties/{}/items", m.list))
        .cloned()
        .ok_or_else(|| format!("the request schema has no /properties/{}/items", m.list))?;
    let mut item = Map::new();
    item.insert("$schema".into(), json!(DIALECT));
    if let Value::Object(fields) = inner {
        item.extend(fields);
    }
    let item = Value::Object(item);
    let mut envelope = request.clone();
    if let Some(Value::Object(list)) = envelope.pointer_mut(&format!("/properties/{}", m.list)) {
        list.remove("items");
    }
    Ok(UpdateSchemas {
        item_v: compile_schema(&item).map_err(|e| format!("item schema: {e}"))?,
        envelope_v: compile_schema(&envelope).map_err(|e| format!("request envelope: {e}"))?,
        item,
    })
}

/// The compiled contract of one profile: every call of the family, keyed by id.
pub struct Contract {
    profile: Profile,
    calls: Vec<Arc<Call>>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract")
            .field("profile", &self.profile)
            .field(
                "calls",
                &self.calls.iter().map(|c| c.id()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Contract {
    /// Loads and compiles the built-in calls of `profile`. Prefer [`contract`], which does it
    /// once per process.
    pub fn load(profile: Profile) -> Result<Contract, BrokenBuiltin> {
        let calls = call::FAMILY
            .iter()
            .map(|def| Call::builtin(**def, profile).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Contract { profile, calls })
    }

    /// The profile this contract belongs to.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Every call, in the order of [`call::FAMILY`].
    pub fn calls(&self) -> &[Arc<Call>] {
        &self.calls
    }

    /// The call with this id.
    pub fn call(&self, id: &str) -> Option<&Arc<Call>> {
        self.calls.iter().find(|c| c.id() == id)
    }

    fn builtin(&self, def: &CallDef) -> &Call {
        match self.call(def.id) {
            Some(c) => c,
            // Every call of FAMILY is compiled by `load`, or `load` failed.
            None => unreachable!("built-in call `{}` is compiled with the contract", def.id),
        }
    }

    /// `/updateInventory`.
    pub fn inventory(&self) -> &Call {
        self.builtin(&call::UPDATE_INVENTORY)
    }

    /// `/authToken`.
    pub fn auth(&self) -> &Call {
        self.builtin(&call::AUTH_TOKEN)
    }

    /// `/productsCount`.
    pub fn count(&self) -> &Call {
        self.builtin(&call::PRODUCTS_COUNT)
    }

    /// `/products`.
    pub fn listing(&self) -> &Call {
        self.builtin(&call::PRODUCTS)
    }

    /// The merged request schema of `/updateInventory`.
    pub fn request_schema(&self) -> &Value {
        self.inventory()
            .schema(Part::Request)
            .unwrap_or(&Value::Null)
    }

    /// The merged response schema of `/updateInventory`.
    pub fn response_schema(&self) -> &Value {
        self.inventory()
            .schema(Part::Response)
            .unwrap_or(&Value::Null)
    }

    /// The schema of one `inventoryList` item, standalone.
    pub fn item_schema(&self) -> &Value {
        self.inventory().item_schema().unwrap_or(&Value::Null)
    }

    /// The `/authToken` query parameters schema (also the POST body).
    pub fn auth_query_schema(&self) -> &Value {
        self.auth().schema(Part::Query).unwrap_or(&Value::Null)
    }

    /// The `/authToken` response schema.
    pub fn auth_response_schema(&self) -> &Value {
        self.auth().schema(Part::Response).unwrap_or(&Value::Null)
    }

    /// The derived document of the inventory page (endpoint, methods, raw schemas).
    pub fn inventory_page(&self) -> &Value {
        self.inventory().page()
    }

    /// The derived document of the authentication page.
    pub fn auth_page(&self) -> &Value {
        self.auth().page()
    }

    /// The endpoint path of the inventory call, as the page states it (`/updateInventory`).
    pub fn inventory_path(&self) -> &str {
        self.inventory().path()
    }

    /// The endpoint path of the authentication call, as the page states it (`/authToken`).
    pub fn auth_path(&self) -> &str {
        self.auth().path()
    }

    /// The fields of an inventory item, in schema order, with whether each is required.
    pub fn item_fields(&self) -> Vec<FieldSpec> {
        self.inventory().item_fields()
    }

    /// Every way `request` breaks the `/updateInventory` request schema.
    pub fn validate_request(&self, request: &Value) -> Vec<SchemaViolation> {
        self.inventory().validate(Part::Request, request)
    }

    /// Every way `request` breaks the request schema *outside* its items.
    pub fn validate_envelope(&self, request: &Value) -> Vec<SchemaViolation> {
        self.inventory().validate_envelope(request)
    }

    /// Every way one item breaks the item schema; pointers are prefixed with
    /// `/inventoryList/{index}` so they point into the whole request.
    pub fn validate_item(&self, index: usize, item: &Value) -> Vec<SchemaViolation> {
        self.inventory().validate_item(index, item)
    }

    /// Every way `response` breaks the `/updateInventory` response schema.
    pub fn validate_response(&self, response: &Value) -> Vec<SchemaViolation> {
        self.inventory().validate(Part::Response, response)
    }

    /// Every way an `/authToken` query (or POST body) breaks its schema.
    pub fn validate_auth_query(&self, query: &Value) -> Vec<SchemaViolation> {
        self.auth().validate(Part::Query, query)
    }

    /// Every way an `/authToken` response breaks its schema.
    pub fn validate_auth_response(&self, response: &Value) -> Vec<SchemaViolation> {
        self.auth().validate(Part::Response, response)
    }
}

fn collect(v: &Validator, instance: &Value, prefix: &str) -> Vec<SchemaViolation> {
    if v.is_valid(instance) {
        return Vec::new();
    }
    let mut out: Vec<SchemaViolation> = v
        .iter_errors(instance)
        .map(|e| SchemaViolation {
            pointer: format!("{prefix}{}", e.instance_path().as_str()),
            keyword: e.kind().keyword().to_string(),
            message: e.to_string(),
        })
        .collect();
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.keyword.cmp(&b.keyword)));
    out.dedup();
    out
}

/// The compiled contract of `profile`, built on first use and shared afterwards.
pub fn contract(profile: Profile) -> &'static Contract {
    static V1: OnceLock<Contract> = OnceLock::new();
    static V2: OnceLock<Contract> = OnceLock::new();
    let cell = match profile {
        Profile::V1 => &V1,
        Profile::V2 => &V2,
    };
    cell.get_or_init(|| match Contract::load(profile) {
        Ok(c) => c,
        // The schemas are compiled into the binary and checked by this crate's tests; a
        // failure here is a build defect, not bad input.
        Err(e) => panic!("{e}"),
    })
}

/// Validates a request against the `/updateInventory` schema of `profile`.
pub fn validate_request(profile: Profile, request: &Value) -> Vec<SchemaViolation> {
    contract(profile).validate_request(request)
}

/// Validates a response against the `/updateInventory` schema of `profile`.
pub fn validate_response(profile: Profile, response: &Value) -> Vec<SchemaViolation> {
    contract(profile).validate_response(response)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schemas_compile_for_every_profile() {
        for p in Profile::ALL {
            Contract::load(p).unwrap();
        }
    }

    #[test]
    fn v1_inventory_rules_point_at_the_field() {
        let req = json!({"inventoryList": [
            {"productId": "P1", "variantId": "V1", "inventory": 5},
            {"productId": "P2", "variantId": "V2", "inventory": -1},
            {"productId": "P3", "inventory": 2147483648u64},
        ]});
        let v = validate_request(Profile::V1, &req);
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|x| (x.pointer.as_str(), x.keyword.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/inventoryList/1/inventory", "minimum"),
                ("/inventoryList/2", "required"),
                ("/inventoryList/2/inventory", "maximum"),
            ]
        );
        assert!(v[1].message.contains("variantId"), "{}", v[1].message);
    }

    #[test]
    fn v2_wants_digit_strings_and_v1_integers() {
        let item = |inv: Value| json!({"inventoryList": [{"productId": "P", "variantId": "V", "inventory": inv}]});
        assert!(validate_request(Profile::V2, &item(json!("10"))).is_empty());
        assert!(validate_request(Profile::V2, &item(json!("2147483647"))).is_empty());
        assert_eq!(
            validate_request(Profile::V2, &item(json!("2147483648")))[0].keyword,
            "pattern"
        );
        assert_eq!(
            validate_request(Profile::V2, &item(json!("-1")))[0].keyword,
            "pattern"
        );
        assert_eq!(
            validate_request(Profile::V2, &item(json!(10)))[0].keyword,
            "type"
        );
        assert_eq!(
            validate_request(Profile::V1, &item(json!("10")))[0].keyword,
            "type"
        );
        assert_eq!(
            validate_request(Profile::V1, &item(json!(1.5)))[0].keyword,
            "type"
        );
        assert!(validate_request(Profile::V1, &item(json!(0))).is_empty());
    }

    #[test]
    fn envelope_and_item_validation_split_the_work() {
        let c = contract(Profile::V1);
        let req = json!({"inventoryList": [{"productId": "P"}]});
        assert!(c.validate_envelope(&req).is_empty());
        let v = c.validate_envelope(&json!({"inventoryList": []}));
        assert_eq!(
            (v[0].pointer.as_str(), v[0].keyword.as_str()),
            ("/inventoryList", "minItems")
        );
        let v = c.validate_envelope(&json!([1]));
        assert_eq!((v[0].pointer.as_str(), v[0].keyword.as_str()), ("", "type"));
        let v = c.validate_item(
            7,
            &json!({"productId": "", "variantId": "V", "inventory": 1}),
        );
        assert_eq!(v[0].pointer, "/inventoryList/7/productId");
        assert_eq!(v[0].keyword, "minLength");
    }

    #[test]
    fn unknown_fields_and_odd_hsn_codes_are_tolerated() {
        let req = json!({"inventoryList": [{"productId": "P", "variantId": "V", "inventory": 1, "hsnCode": "string", "facilityCode": "F1", "x": [1]}], "meta": 1});
        assert!(validate_request(Profile::V1, &req).is_empty());
    }

    #[test]
    fn item_fields_come_from_the_schema() {
        let f = contract(Profile::V2).item_fields();
        let names: Vec<(&str, bool)> = f.iter().map(|x| (x.name.as_str(), x.required)).collect();
        assert_eq!(
            names,
            vec![
                ("productId", true),
                ("variantId", true),
                ("inventory", true),
                ("hsnCode", false),
                ("facilityCode", false)
            ]
        );
        assert_eq!(f[2].json_type(), Some("string"));
        assert_eq!(
            contract(Profile::V1).item_fields()[2].json_type(),
            Some("integer")
        );
        assert_eq!(contract(Profile::V1).inventory_path(), "/updateInventory");
        assert_eq!(contract(Profile::V1).auth_path(), "/authToken");
    }

    #[test]
    fn every_call_is_read_from_its_page() {
        for p in Profile::ALL {
            let c = contract(p);
            let ids: Vec<&str> = c.calls().iter().map(|x| x.id()).collect();
            assert_eq!(
                ids,
                ["authToken", "productsCount", "products", "updateInventory"]
            );
            assert_eq!(c.auth().methods(), [Method::Get, Method::Post]);
            assert_eq!(
                (c.count().path(), c.count().method()),
                ("/productsCount", Method::Get)
            );
            assert_eq!(
                (c.listing().path(), c.listing().method()),
                ("/products", Method::Get)
            );
            assert_eq!(
                (c.inventory().path(), c.inventory().method()),
                ("/updateInventory", Method::Post)
            );
            assert!(c.calls().iter().all(|x| x.usage() == Usage::Mandatory));
            let l = c.listing();
            assert_eq!(l.fixed_query_value("pageSize"), Some("50"));
            assert_eq!(l.fixed_query_value("publishedStatus"), Some("PUBLISHED"));
            assert_eq!(
                c.count().fixed_query_value("publishedStatus"),
                Some("PUBLISHED")
            );
            assert_eq!(l.query_default("pageNumber"), Some("1"));
            assert!(!l.query_required("pageNumber") && l.query_required("pageSize"));
            assert!(!l.query_required("skus"));
        }
    }

    #[test]
    fn the_built_in_files_are_what_the_generator_writes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let files =
            crate::generate::generate(&root.join("fixtures/spec"), &root.join("schemas/overlays"))
                .unwrap();
        let mut generated: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let mut embedded: Vec<&str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
        generated.sort();
        embedded.sort();
        assert_eq!(generated, embedded);
    }

    #[test]
    fn a_listing_answer_needs_ids_a_sku_and_a_whole_stock() {
        let l = contract(Profile::V1).listing();
        let page = |variant: Value| json!({"products": [{"id": "P", "brand": "b", "variants": [variant]}], "next": 2});
        let ok = page(json!({"variantId": "V", "sku": "S", "inventory": 3, "colour": "red"}));
        assert!(l.validate(Part::Response, &ok).is_empty());
        let got = |v: Value| -> Vec<(String, String)> {
            l.validate(Part::Response, &v)
                .into_iter()
                .map(|x| (x.pointer, x.keyword))
                .collect()
        };
        let at = "/products/0/variants/0".to_string();
        assert_eq!(
            got(page(json!({"variantId": "V", "inventory": 3}))),
            [(at.clone(), "required".to_string())]
        );
        assert_eq!(
            got(page(
                json!({"variantId": "V", "sku": "S", "inventory": 1.5})
            )),
            [(format!("{at}/inventory"), "type".to_string())]
        );
        assert_eq!(
            got(page(json!({"variantId": "V", "sku": "S", "inventory": -1}))),
            [(format!("{at}/inventory"), "minimum".to_string())]
        );
        assert_eq!(
            got(json!({"products": [{"id": "", "variants": []}]})),
            [
                ("/products/0/id".to_string(), "minLength".to_string()),
                ("/products/0/variants".to_string(), "minItems".to_string())
            ]
        );
        assert_eq!(got(json!({})), [(String::new(), "required".to_string())]);
        let count = contract(Profile::V2).count();
        assert!(
            count
                .validate(Part::Response, &json!({"count": 0}))
                .is_empty()
        );
        assert_eq!(
            count.validate(Part::Response, &json!({"count": 2.5}))[0].keyword,
            "type"
        );
        let q = l.validate_query([
            ("pageNumber", "0"),
            ("pageSize", "50"),
            ("publishedStatus", "PUBLISHED"),
        ]);
        assert_eq!(
            (q[0].pointer.as_str(), q[0].keyword.as_str()),
            ("/pageNumber", "pattern")
        );
        let q = l.validate_query([("pageSize", "51"), ("publishedStatus", "LIVE")]);
        let kw: Vec<&str> = q.iter().map(|x| x.keyword.as_str()).collect();
        assert_eq!(kw, ["const", "const"]);
    }

    /// The fixture price push (`fixtures/calls/updateprice.md`): a call of the update's shape
    /// that is not built in.
    const PRICE_PUSH: CallDef = CallDef {
        id: "updatePrice",
        page: "updateprice",
        page_by_profile: &[],
        shape: Shape::Update(call::UpdateMembers {
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

    #[test]
    fn a_call_that_is_not_built_in_compiles_from_its_page() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/calls");
        let page = Page::read(&root.join("updateprice.md")).unwrap();
        let c =
            Call::from_page(PRICE_PUSH, Profile::V1, &page, Some(&root.join("overlays"))).unwrap();
        assert_eq!(
            (c.path(), c.method(), c.usage()),
            ("/updatePrice", Method::Post, Usage::Optional)
        );
        let item =
            json!({"productId": "P", "variantId": "V", "sellingPrice": -2, "currency": "EUR"});
        let v = c.validate_item(3, &item);
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].pointer.as_str(), v[0].keyword.as_str()),
            ("/priceList/3/currency", "enum")
        );
        assert_eq!(
            (v[1].pointer.as_str(), v[1].keyword.as_str()),
            ("/priceList/3/sellingPrice", "minimum")
        );
        assert!(c.validate_envelope(&json!({"priceList": []}))[0].keyword == "minItems");
        // The typed rules read the call's own members.
        let rules = crate::borrowed::RequestRules::for_call(&c).unwrap();
        let body = br#"{"priceList":[{"productId":"P","variantId":"V","sellingPrice":-2,"currency":"EUR"}]}"#;
        let req = rules.parse(body, 64).unwrap();
        let typed = rules.check_item(3, &req.items().unwrap()[0]);
        let keys = |v: &[SchemaViolation]| -> Vec<(String, String)> {
            v.iter()
                .map(|x| (x.pointer.clone(), x.keyword.clone()))
                .collect()
        };
        assert_eq!(keys(&typed), keys(&c.validate_item(3, &item)));
        // A definition that names a member its page lacks does not compile.
        let mut wrong = PRICE_PUSH;
        if let Shape::Update(m) = &mut wrong.shape {
            m.value = "price";
        }
        let e = Call::from_page(wrong, Profile::V1, &page, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no member `price` (value of the definition)"),
            "{e}"
        );
    }
}
