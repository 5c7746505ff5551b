//! # stockwire-schema
//!
//! The inventory-update contract as code, shared by the mock marketplace and the conformance
//! runner so that the contract is stated in one place.
//!
//! It owns:
//! - reading the documentation pages ([`page`]) and deriving JSON Schema from their parameter
//!   tables ([`derive`]), the reviewed additions the tables leave out ([`overlay`]), and the
//!   files committed under `schemas/` ([`generate`]);
//! - the compiled contract of each [`Profile`] with validation that reports every violation by
//!   JSON pointer and keyword ([`contract`]);
//! - typed models of the exchange ([`model`]), a borrowed one-pass reading of request bodies
//!   with the request rules compiled for it ([`borrowed`]), and the only code that reads or
//!   builds exchange JSON by member name: lenient views, builders and the JSON media-type test
//!   ([`exchange`]);
//! - the semantic rules that relate a response to its request ([`rules`]);
//! - the OpenAPI 3.1 export ([`openapi`]);
//! - the catalog format (known items and their stock) that the mock and the runner share
//!   ([`catalog`]).
//!
//! It does not do HTTP, scripting or fuzzing: that is `stockwire-mock` and `stockwire-conform`.
//!
//! ```
//! use serde_json::json;
//! use stockwire_schema::{Profile, check_exchange, validate_request};
//!
//! let request = json!({"inventoryList": [{"productId": "P1", "variantId": "V1", "inventory": -3}]});
//! let problems = validate_request(Profile::V1, &request);
//! assert_eq!(problems[0].pointer, "/inventoryList/0/inventory");
//! assert_eq!(problems[0].keyword, "minimum");
//!
//! let response = json!({"status": "SUCCESS", "failedProductList": [
//!     {"productId": "P1", "variantId": "V1", "message": "Invalid inventory"}]});
//! assert_eq!(check_exchange(&request, &response)[0].rule, "success-without-failures");
//! ```
#![warn(missing_docs)]

pub mod borrowed;
pub mod call;
pub mod catalog;
pub mod contract;
pub mod derive;
pub mod error;
pub mod exchange;
pub mod generate;
pub mod model;
pub mod openapi;
pub mod overlay;
pub mod page;
pub mod profile;
pub mod rules;

pub use call::{CallDef, Method, Shape, Usage};
pub use catalog::{Catalog, CatalogEntry, CatalogError, DuplicateItem, EntryError};
pub use contract::{
    Call, Contract, FieldSpec, SchemaViolation, contract, validate_request, validate_response,
};
pub use derive::{DerivedPage, derive_page};
pub use error::{JsonFileError, SpecError, read_json_file};
pub use exchange::{
    FailedEntry, FailedList, RequestView, ResponseBuilder, ResponseView, is_json_media_type,
};
pub use model::{
    AuthTokenRequest, AuthTokenResponse, FailedProduct, Inventory, InventoryItem, InventoryRequest,
    InventoryResponse, ItemKey, Status,
};
pub use openapi::openapi;
pub use page::{Page, Part};
pub use profile::{Profile, UnknownProfile};
pub use rules::{RULES, Rule, Severity, Violation, check_exchange, check_models};
