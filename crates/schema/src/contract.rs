//! The contract of one profile, compiled once: the committed schemas under `schemas/`, their
//! validators, and validation that returns every violation with a JSON pointer and the rule.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Map, Value, json};

use crate::derive::DIALECT;
use crate::profile::Profile;

macro_rules! schema_file {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/",
            $path
        ))
    };
}

/// The committed schema texts of one profile, as built into the crate.
struct Embedded {
    request: &'static str,
    response: &'static str,
    auth_query: &'static str,
    auth_response: &'static str,
    inventory_page: &'static str,
    auth_page: &'static str,
}

fn embedded(profile: Profile) -> Embedded {
    match profile {
        Profile::V1 => Embedded {
            request: schema_file!("v1/updateinventory.request.json"),
            response: schema_file!("v1/updateinventory.response.json"),
            auth_query: schema_file!("v1/authtoken.query.json"),
            auth_response: schema_file!("v1/authtoken.response.json"),
            inventory_page: schema_file!("derived/updateinventory.json"),
            auth_page: schema_file!("derived/authtoken.json"),
        },
        Profile::V2 => Embedded {
            request: schema_file!("v2/updateinventory.request.json"),
            response: schema_file!("v2/updateinventory.response.json"),
            auth_query: schema_file!("v2/authtoken.query.json"),
            auth_response: schema_file!("v2/authtoken.response.json"),
            inventory_page: schema_file!("derived/updateinventory-current.json"),
            auth_page: schema_file!("derived/authtoken.json"),
        },
    }
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

/// Describes one field of an inventory item as the merged schema states it (used by generators).
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

/// The compiled contract of one profile.
pub struct Contract {
    profile: Profile,
    request: Value,
    response: Value,
    item: Value,
    auth_query: Value,
    auth_response: Value,
    inventory_page: Value,
    auth_page: Value,
    request_v: Validator,
    envelope_v: Validator,
    item_v: Validator,
    response_v: Validator,
    auth_query_v: Validator,
    auth_response_v: Validator,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// A built-in schema that fails to parse or compile: a build defect, caught by the crate's tests.
#[derive(Debug, thiserror::Error)]
#[error("built-in schema `{name}` of profile {profile} is broken: {message}")]
pub struct BrokenBuiltin {
    profile: Profile,
    name: &'static str,
    message: String,
}

fn compile(
    profile: Profile,
    name: &'static str,
    schema: &Value,
) -> Result<Validator, BrokenBuiltin> {
    jsonschema::draft202012::options()
        .should_validate_formats(false)
        .build(schema)
        .map_err(|e| BrokenBuiltin {
            profile,
            name,
            message: e.to_string(),
        })
}

fn parse(profile: Profile, name: &'static str, text: &str) -> Result<Value, BrokenBuiltin> {
    serde_json::from_str(text).map_err(|e| BrokenBuiltin {
        profile,
        name,
        message: e.to_string(),
    })
}

impl Contract {
    /// Loads and compiles the built-in schemas of `profile`. Prefer [`contract`], which does it
    /// once per process.
    pub fn load(profile: Profile) -> Result<Contract, BrokenBuiltin> {
        let e = embedded(profile);
        let request = parse(profile, "request", e.request)?;
        let response = parse(profile, "response", e.response)?;
        let auth_query = parse(profile, "authtoken query", e.auth_query)?;
        let auth_response = parse(profile, "authtoken response", e.auth_response)?;
        let inventory_page = parse(profile, "derived inventory page", e.inventory_page)?;
        let auth_page = parse(profile, "derived auth page", e.auth_page)?;
        let item_inner = request
            .pointer("/properties/inventoryList/items")
            .cloned()
            .ok_or(BrokenBuiltin {
                profile,
                name: "request",
                message: "no /properties/inventoryList/items".into(),
            })?;
        let mut item = Map::new();
        item.insert("$schema".into(), json!(DIALECT));
        if let Value::Object(m) = item_inner {
            item.extend(m);
        }
        let item = Value::Object(item);
        let mut envelope = request.clone();
        if let Some(Value::Object(list)) = envelope.pointer_mut("/properties/inventoryList") {
            list.remove("items");
        }
        Ok(Contract {
            profile,
            request_v: compile(profile, "request", &request)?,
            envelope_v: compile(profile, "request envelope", &envelope)?,
            item_v: compile(profile, "item", &item)?,
            response_v: compile(profile, "response", &response)?,
            auth_query_v: compile(profile, "authtoken query", &auth_query)?,
            auth_response_v: compile(profile, "authtoken response", &auth_response)?,
            request,
            response,
            item,
            auth_query,
            auth_response,
            inventory_page,
            auth_page,
        })
    }

    /// The profile this contract belongs to.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The merged request schema (`schemas/{profile}/updateinventory.request.json`).
    pub fn request_schema(&self) -> &Value {
        &self.request
    }

    /// The merged response schema.
    pub fn response_schema(&self) -> &Value {
        &self.response
    }

    /// The schema of one `inventoryList` item, standalone.
    pub fn item_schema(&self) -> &Value {
        &self.item
    }

    /// The `/authToken` query parameters schema (also the POST body).
    pub fn auth_query_schema(&self) -> &Value {
        &self.auth_query
    }

    /// The `/authToken` response schema.
    pub fn auth_response_schema(&self) -> &Value {
        &self.auth_response
    }

    /// The derived document of the inventory page (endpoint, methods, raw schemas).
    pub fn inventory_page(&self) -> &Value {
        &self.inventory_page
    }

    /// The derived document of the authentication page.
    pub fn auth_page(&self) -> &Value {
        &self.auth_page
    }

    /// The endpoint path of the inventory call, as the page states it (`/updateInventory`).
    pub fn inventory_path(&self) -> &str {
        self.inventory_page["endpoint"]
            .as_str()
            .unwrap_or("/updateInventory")
    }

    /// The endpoint path of the authentication call, as the page states it (`/authToken`).
    pub fn auth_path(&self) -> &str {
        self.auth_page["endpoint"].as_str().unwrap_or("/authToken")
    }

    /// The fields of an inventory item, in schema order, with whether each is required.
    pub fn item_fields(&self) -> Vec<FieldSpec> {
        let required: Vec<&str> = self.item["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.item["properties"]
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

    /// Every way `request` breaks the request schema.
    pub fn validate_request(&self, request: &Value) -> Vec<SchemaViolation> {
        collect(&self.request_v, request, "")
    }

    /// Every way `request` breaks the request schema *outside* its items (not an object, no
    /// list, empty list, …): the problems that make a whole request unusable.
    pub fn validate_envelope(&self, request: &Value) -> Vec<SchemaViolation> {
        collect(&self.envelope_v, request, "")
    }

    /// Every way one item breaks the item schema; pointers are prefixed with
    /// `/inventoryList/{index}` so they point into the whole request.
    pub fn validate_item(&self, index: usize, item: &Value) -> Vec<SchemaViolation> {
        collect(&self.item_v, item, &format!("/inventoryList/{index}"))
    }

    /// Every way `response` breaks the response schema.
    pub fn validate_response(&self, response: &Value) -> Vec<SchemaViolation> {
        collect(&self.response_v, response, "")
    }

    /// Every way an `/authToken` query (or POST body) breaks its schema.
    pub fn validate_auth_query(&self, query: &Value) -> Vec<SchemaViolation> {
        collect(&self.auth_query_v, query, "")
    }

    /// Every way an `/authToken` response breaks its schema.
    pub fn validate_auth_response(&self, response: &Value) -> Vec<SchemaViolation> {
        collect(&self.auth_response_v, response, "")
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

/// Validates a request against the schema of `profile`.
pub fn validate_request(profile: Profile, request: &Value) -> Vec<SchemaViolation> {
    contract(profile).validate_request(request)
}

/// Validates a response against the schema of `profile`.
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
}
