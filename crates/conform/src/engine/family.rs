//! Calls of the update's shape beyond the inventory push (a price push, an order cancel): the
//! runner's side of "a call is a value". Given any compiled [`Call`] whose shape is
//! [`Shape::Update`], [`run_update_call`] draws seeded cases from that call's own item schema
//! and the run's catalog, sends them to `{target}{call.path()}`, and judges each answer by the
//! shape alone (the call's members, its response schema, the three statuses and its list of
//! failures), naming each finding by the id of the registry check whose rule it applies.
//!
//! It owns those cases and that judgement. It does not own the inventory push (the full run,
//! [`crate::runner`], its registry dispatch, shrinking and read-back stay the inventory's), any
//! member name or schema (everything comes from the `Call` given), nor the transport
//! ([`crate::http`]). Nothing here is specific to one call: a new call of the shape needs its
//! page and its definition, not code here.

use std::sync::Arc;

use serde_json::{Value, json};
use stockwire_schema::call::{Shape, UpdateMembers};
use stockwire_schema::exchange::{request_with_list_of, set_member, update_item_of};
use stockwire_schema::{Call, CatalogEntry, FieldSpec, ItemKey, Part, ResponseView, Status};

use crate::checks::{
    http_200, invalid_item_rejected, no_server_error, response_schema, unknown_item_rejected,
    valid_item_accepted,
};
use crate::client::http::{
    API_KEY_HEADER, API_KEY_PLACEHOLDER, Client, ClientOptions, Header, HttpRequest,
};
use crate::config::{Credentials, RunOptions};
use crate::error::ConformError;
use crate::redact::Redactor;

/// The most cases one call gets, whatever `opts.cases` says (the run's own budget bounds the
/// inventory push; this bounds the extra calls).
pub const MAX_CASES: u64 = 200;

/// The most items one case sends.
const MAX_BATCH: usize = 4;

/// What a call of the update's shape was found to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CallVerdict {
    /// The call's id, as its definition gives it.
    pub call: String,
    /// Its path, as sent.
    pub path: String,
    /// Cases sent (one request each).
    pub cases: u64,
    /// What broke a rule; empty: the call keeps its shape's contract.
    pub findings: Vec<Finding>,
}

impl CallVerdict {
    /// Whether no rule was broken.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One broken rule, with the request that shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The id of the registry check whose rule was broken (`valid-item-accepted`, …).
    pub check: &'static str,
    /// What happened.
    pub message: String,
    /// A curl that sends the request again (the apiKey as `$APIKEY`, secrets redacted).
    pub curl: String,
}

/// What a case sends, and what the shape's rules expect of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every item is a known item with a valid value: 200, SUCCESS, no failures.
    Applied,
    /// One item breaks the call's item schema: it is refused (a 4xx, or named as failed).
    InvalidRefused,
    /// One item is not the seller's: it is named as failed (or the request refused).
    UnknownRefused,
}

/// A small seeded generator (splitmix64): the cases of a seed are the same on every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// A value the field's schema accepts, drawn from its type, range and enum; `None` when the
/// schema says too little to draw one.
fn valid_value(f: &FieldSpec, d: &mut Draw) -> Option<Value> {
    if let Some(options) = f.schema.get("enum").and_then(Value::as_array) {
        let n = options.len() as u64;
        return options.get(d.below(n) as usize).cloned();
    }
    let low = f
        .schema
        .get("minimum")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let high = f
        .schema
        .get("maximum")
        .and_then(Value::as_f64)
        .unwrap_or(low + 100_000.0);
    let span = (high - low).max(0.0);
    match f.json_type()? {
        "integer" => {
            let v = low.ceil() + (d.below(span.floor() as u64 + 1) as f64).min(span);
            Some(json!(v as i64))
        }
        "number" => {
            let cents = d.below((span * 100.0).floor() as u64 + 1) as f64 / 100.0;
            Some(json!(low + cents))
        }
        "string" => Some(json!(format!("v{}", d.below(1000)))),
        "boolean" => Some(json!(d.below(2) == 1)),
        _ => None,
    }
}

/// A value the field's schema refuses: below its minimum, outside its enum, or of another type.
fn invalid_value(f: &FieldSpec) -> Value {
    if let Some(min) = f.schema.get("minimum").and_then(Value::as_f64) {
        return json!(min - 1.0);
    }
    if f.schema.get("enum").is_some() {
        return json!("NOT-ONE-OF-THE-ALLOWED-VALUES");
    }
    match f.json_type() {
        Some("string") => json!(12),
        _ => json!("not-a-number"),
    }
}

/// One item of `entry` whose value and other members the call's schema accepts.
fn valid_item(
    call: &Call,
    m: &UpdateMembers,
    fields: &[FieldSpec],
    key: &ItemKey,
    d: &mut Draw,
) -> Option<Value> {
    let value_field = fields.iter().find(|f| f.name == m.value)?;
    let mut item = update_item_of(m, key, valid_value(value_field, d)?);
    for f in fields {
        let own = [m.product_id, m.variant_id, m.value].contains(&f.name.as_str());
        // Optional members are sent half the time, so both forms are exercised.
        if own || (!f.required && d.below(2) == 0) {
            continue;
        }
        set_member(&mut item, &f.name, valid_value(f, d)?);
    }
    call.validate_item(0, &item).is_empty().then_some(item)
}

/// The seller's catalog entries the cases may use.
fn entries(opts: &RunOptions) -> Vec<CatalogEntry> {
    match &opts.seller {
        Some(s) => opts.catalog.for_seller(s).cloned().collect(),
        None => opts.catalog.entries.clone(),
    }
}

/// Runs seeded cases of `call` (a call of the update's shape) against `opts.target` and judges
/// the answers by the shape's rules. The catalog is `opts.catalog` (the seller's known items);
/// the credentials are the run's (a login is made once, as the inventory run makes it).
pub async fn run_update_call(
    opts: &RunOptions,
    call: Arc<Call>,
) -> Result<CallVerdict, ConformError> {
    let Shape::Update(m) = *call.shape() else {
        return Err(ConformError::Setting {
            name: "call".into(),
            message: format!("call `{}` is not of the update's shape", call.id()),
        });
    };
    let base = opts.target.trim_end_matches('/').to_string();
    url::Url::parse(&base).map_err(|e| ConformError::BadTarget {
        url: opts.target.clone(),
        message: e.to_string(),
    })?;
    let url = format!("{base}{}", call.path());
    let redactor = Redactor::new(opts.credentials.secrets());
    let mut client = Client::new(ClientOptions::from_run(opts, 1), None, redactor)?;
    let key = match &opts.credentials {
        Credentials::None => None,
        Credentials::ApiKey(k) => Some(k.clone()),
        Credentials::Login { username, password } => {
            Some(crate::runner::fetch_token(&client, &base, opts, username, password).await?)
        }
    };
    let mut headers = vec![Header {
        name: "Content-Type".into(),
        value: "application/json".into(),
    }];
    if key.is_some() {
        headers.push(Header {
            name: API_KEY_HEADER.into(),
            value: API_KEY_PLACEHOLDER.into(),
        });
    }
    client.set_api_key(key);

    let fields = call.item_fields();
    let catalog = entries(opts);
    let mut d = Draw(opts.seed);
    let mut verdict = CallVerdict {
        call: call.id().to_string(),
        path: call.path().to_string(),
        cases: 0,
        findings: Vec::new(),
    };
    let budget = opts.cases.clamp(1, MAX_CASES);
    for n in 0..budget {
        let expect = match n % 3 {
            0 if !catalog.is_empty() => Expect::Applied,
            1 if !catalog.is_empty() => Expect::InvalidRefused,
            _ => Expect::UnknownRefused,
        };
        let Some((list, odd)) = draw_case(&call, &m, &fields, &catalog, expect, n, &mut d) else {
            continue;
        };
        let body = request_with_list_of(&m, Value::Array(list));
        let req = HttpRequest::post(&url, headers.clone(), body.to_string());
        let outcome = client.send(&req).await;
        verdict.cases += 1;
        let curl = client.redactor().redact(&req.curl());
        for (check, message) in judge(&call, &m, expect, odd.as_ref(), outcome.response()) {
            verdict.findings.push(Finding {
                check,
                message: client.redactor().redact(&message),
                curl: curl.clone(),
            });
        }
    }
    Ok(verdict)
}

/// One case's list, and the odd item the expectation is about (the invalid or unknown one).
fn draw_case(
    call: &Call,
    m: &UpdateMembers,
    fields: &[FieldSpec],
    catalog: &[CatalogEntry],
    expect: Expect,
    n: u64,
    d: &mut Draw,
) -> Option<(Vec<Value>, Option<Value>)> {
    let size = 1 + d.below(MAX_BATCH.min(catalog.len().max(1)) as u64) as usize;
    let start = d.below(catalog.len() as u64) as usize;
    let mut list: Vec<Value> = (0..size.min(catalog.len()))
        .filter_map(|i| {
            let e = &catalog[(start + i) % catalog.len()];
            valid_item(call, m, fields, &e.key(), d)
        })
        .collect();
    let odd = match expect {
        Expect::Applied => {
            if list.is_empty() {
                return None;
            }
            None
        }
        Expect::InvalidRefused => {
            let mut bad = list.pop()?;
            let f = fields.iter().find(|f| f.name == m.value)?;
            set_member(&mut bad, &f.name, invalid_value(f));
            Some(bad)
        }
        Expect::UnknownRefused => {
            let key = ItemKey::new(
                format!("NO-SUCH-PRODUCT-{n}"),
                format!("NO-SUCH-VARIANT-{n}"),
            );
            Some(valid_item(call, m, fields, &key, d)?)
        }
    };
    if let Some(o) = &odd {
        let at = d.below(list.len() as u64 + 1) as usize;
        list.insert(at, o.clone());
    }
    Some((list, odd))
}

/// The shape's rules on one answer: which registry check each broken rule belongs to, and why.
fn judge(
    call: &Call,
    m: &UpdateMembers,
    expect: Expect,
    odd: Option<&Value>,
    response: Option<&crate::client::http::HttpResponse>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let Some(r) = response else {
        out.push((
            no_server_error::CHECK.id,
            format!("{} gave no answer", call.path()),
        ));
        return out;
    };
    if r.status >= 500 {
        out.push((
            no_server_error::CHECK.id,
            format!("{} answered {}", call.path(), r.status),
        ));
        return out;
    }
    let refused = (400..=499).contains(&r.status);
    if expect == Expect::Applied && r.status != 200 {
        out.push((
            http_200::CHECK.id,
            format!("a valid request was answered {}", r.status),
        ));
        return out;
    }
    let Ok(json) = serde_json::from_str::<Value>(&r.body) else {
        if !refused {
            out.push((
                response_schema::CHECK.id,
                "the answer is not JSON".to_string(),
            ));
        }
        return out;
    };
    if !refused {
        for v in call.validate(Part::Response, &json) {
            out.push((
                response_schema::CHECK.id,
                format!("the answer breaks the response schema: {v}"),
            ));
        }
    }
    let view = ResponseView::parse_of(m, &json);
    match (expect, odd) {
        (Expect::Applied, _) if !view.status_is(&Status::Success) || !view.failed().is_empty() => {
            out.push((
                valid_item_accepted::CHECK.id,
                format!(
                    "known items with valid values were not all applied: `{}` is {:?} with {} failed",
                    m.status,
                    view.status_text().unwrap_or("absent"),
                    view.failed().len()
                ),
            ));
        }
        (Expect::Applied, _) => {}
        (kind, Some(item)) if !refused => {
            let named = view
                .failed()
                .iter()
                .any(|e| stockwire_schema::rules::entry_names_item_of(m, &e.raw, item));
            if !named || view.status_is(&Status::Success) {
                let id = if kind == Expect::InvalidRefused {
                    invalid_item_rejected::CHECK.id
                } else {
                    unknown_item_rejected::CHECK.id
                };
                out.push((
                    id,
                    format!(
                        "the {} item was not reported failed in `{}` (status {:?})",
                        if kind == Expect::InvalidRefused {
                            "invalid"
                        } else {
                            "unknown"
                        },
                        m.failures,
                        view.status_text().unwrap_or("absent")
                    ),
                ));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_values_keep_to_the_field_schema() {
        let price = FieldSpec {
            name: "p".into(),
            required: true,
            schema: json!({"type": "number", "minimum": 0}),
        };
        let mut d = Draw(7);
        for _ in 0..100 {
            let v = valid_value(&price, &mut d)
                .and_then(|v| v.as_f64())
                .unwrap();
            assert!(v >= 0.0);
        }
        assert_eq!(invalid_value(&price), json!(-1.0));
        let currency = FieldSpec {
            name: "c".into(),
            required: false,
            schema: json!({"type": "string", "enum": ["INR", "USD"]}),
        };
        let v = valid_value(&currency, &mut d).unwrap();
        assert!(v == "INR" || v == "USD");
    }
}
