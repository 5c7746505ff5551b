//! OpenAPI 3.1 export of a profile's contract: every call of the family ([`crate::call`]) with
//! its page's method and path, its query parameters and body from the merged schemas, the
//! `apiKey` header security scheme on every call but the login, and the merged schemas as
//! components. Nothing here is typed in by hand except HTTP plumbing the pages state in prose
//! (the header name, the content type) and the status codes a refusal is answered with.

use serde_json::{Map, Value, json};

use crate::call::{Method, Shape};
use crate::contract::{Call, contract};
use crate::derive::DIALECT;
use crate::page::Part;
use crate::profile::Profile;

/// Copies a schema for use as a component: drops `$schema`/`$id` (the document sets the dialect,
/// and per-schema ids would change how tools resolve references).
fn component(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Value::Object(m) = &mut s {
        m.remove("$schema");
        m.remove("$id");
    }
    s
}

fn media(reference: &str) -> Value {
    json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{reference}") } } })
}

/// `updateInventory` → `UpdateInventory`.
fn pascal(id: &str) -> String {
    let mut c = id.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The query parameters of `call`, one per member of its query schema.
fn parameters(call: &Call) -> Vec<Value> {
    let Some(query) = call.schema(Part::Query) else {
        return Vec::new();
    };
    let required: Vec<&str> = query["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(props) = query["properties"].as_object() {
        for (name, schema) in props {
            let mut p = Map::new();
            p.insert("name".into(), json!(name));
            p.insert("in".into(), json!("query"));
            p.insert("required".into(), json!(required.contains(&name.as_str())));
            if let Some(d) = schema.get("description") {
                p.insert("description".into(), d.clone());
            }
            p.insert("schema".into(), component(schema));
            out.push(Value::Object(p));
        }
    }
    out
}

/// The error body of a refused catalog call: `{"message": …}`, the count page's error shape.
fn error_schema(message: &str) -> Value {
    let member = contract(Profile::V1)
        .count()
        .schema(Part::Response)
        .and_then(|r| r.pointer(&format!("/properties/{message}")))
        .map(component)
        .unwrap_or_else(|| json!({"type": "string"}));
    json!({
        "description": "A refused request (productscount.md, Response Payload (Error)).",
        "type": "object",
        "required": [message],
        "properties": { message: member },
    })
}

/// The responses of one operation of `call`, and the components they name.
fn responses(call: &Call, components: &mut Map<String, Value>) -> Value {
    let name = pascal(call.id());
    let answer = |components: &mut Map<String, Value>| {
        let reference = format!("{name}Response");
        if let Some(s) = call.schema(Part::Response) {
            components.insert(reference.clone(), component(s));
        }
        media(&reference)
    };
    match call.shape() {
        Shape::Auth(_) => {
            let body = answer(components);
            json!({
                "200": {"description": "The outcome of the login; on SUCCESS, the token for the apiKey header.", "content": body.clone()},
                "400": {"description": "Credentials missing or malformed (no username or password, body not JSON).",
                        "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"description": "Credentials refused.", "content": body},
            })
        }
        Shape::Count(m) => catalog_responses(
            answer(components),
            "The number of published listings (every variant counts).",
            m.message,
            components,
        ),
        Shape::Listing(m) => catalog_responses(
            answer(components),
            "One page of the seller's published listings; a page past the end has none.",
            m.message,
            components,
        ),
        Shape::Update(_) => {
            let body = answer(components);
            let rejected = json!({
                "description": "Request refused as a whole (malformed body, bad apiKey, partner limits): a FAILED body.",
                "content": body.clone(),
            });
            json!({
                "200": {"description": "Processed: SUCCESS, PARTIAL_SUCCESS (failed items listed) or FAILED.", "content": body.clone()},
                "400": rejected.clone(),
                "401": {"description": "Missing or unknown apiKey: a FAILED body.", "content": body},
                "413": rejected,
            })
        }
    }
}

fn catalog_responses(
    ok: Value,
    what: &str,
    message: &str,
    components: &mut Map<String, Value>,
) -> Value {
    components.insert("ErrorMessage".into(), error_schema(message));
    json!({
        "200": {"description": what, "content": ok},
        "400": {"description": "A query parameter is missing or wrong; the message names it and the rule.", "content": media("ErrorMessage")},
        "401": {"description": "Missing or unknown apiKey.", "content": media("ErrorMessage")},
    })
}

/// One operation: `method` on `call`.
fn operation(call: &Call, method: Method, components: &mut Map<String, Value>) -> Value {
    let name = pascal(call.id());
    let id = if call.methods().len() > 1 {
        format!("{}{name}", method.as_str().to_ascii_lowercase())
    } else {
        call.id().to_string()
    };
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    op.insert("summary".into(), json!(call.title()));
    if !matches!(call.shape(), Shape::Auth(_)) {
        op.insert("security".into(), json!([{ "apiKey": [] }]));
    }
    match method {
        Method::Get => {
            op.insert("parameters".into(), json!(parameters(call)));
        }
        Method::Post => {
            // A POST takes a body: the request schema, or (the login's POST variant) the
            // query's members as a JSON body.
            let body = call
                .schema(Part::Request)
                .or_else(|| call.schema(Part::Query));
            if let Some(s) = body {
                let reference = format!("{name}Request");
                components.insert(reference.clone(), component(s));
                op.insert(
                    "requestBody".into(),
                    json!({"required": true, "content": media(&reference)}),
                );
            }
        }
    }
    op.insert("responses".into(), responses(call, components));
    Value::Object(op)
}

/// The OpenAPI 3.1 document for `profile`.
pub fn openapi(profile: Profile) -> Value {
    let c = contract(profile);
    let mut components = Map::new();
    let mut paths = Map::new();
    for call in c.calls() {
        let mut ops = Map::new();
        for &m in call.methods() {
            ops.insert(
                m.as_str().to_ascii_lowercase(),
                operation(call, m, &mut components),
            );
        }
        paths.insert(call.path().to_string(), Value::Object(ops));
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": DIALECT,
        "info": {
            "title": format!("Marketplace partner API: {} (stockwire profile {profile})",
                c.calls().iter().map(|x| x.path()).collect::<Vec<_>>().join(", ")),
            "version": profile.as_str(),
            "description": "The partner-side calls an order-management system makes to log in, read a seller's catalog and push stock, derived by stockwire from the documentation tables. Generated by `stockwire schema openapi`.",
        },
        "servers": [{
            "url": "https://{marketplaceBaseUrl}",
            "variables": { "marketplaceBaseUrl": { "default": "partner.example" } },
        }],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "apiKey",
                    "description": "The accessToken returned by /authToken, sent as is (no Bearer prefix).",
                },
            },
        },
    })
}
