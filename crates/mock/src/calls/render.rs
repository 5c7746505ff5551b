//! The last step of an `/updateInventory` answer: scripted statuses, scripted breaches of the
//! contract and malformed bodies, then delivery with the scripted headers, content type and
//! drip (the scenario engine decided them; this renders them).

use std::borrow::Cow;
use std::collections::HashSet;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use stockwire_schema::borrowed::BorrowedItem;
use stockwire_schema::exchange::{failed_entry_raw, field};

use crate::http::{Body, BudgetHeld, DripBody, failed_body, held};
use crate::journal::Record;
use crate::scenario::{AnswerEffects, Breach, Malformed, kebab};
use crate::state::Shared;

/// An answer ready to send.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// HTTP status.
    pub code: u16,
    /// Body.
    pub body: Bytes,
    /// Content type, unless a rule overrides it.
    pub content_type: &'static str,
}

/// The answer of a rule that scripts an HTTP status (with its own body, or a FAILED one).
pub(crate) fn scripted_status((code, custom, rule): (u16, Option<Value>, String)) -> Rendered {
    let (body, content_type) = match custom {
        Some(Value::String(s)) => (Bytes::from(s), "text/plain; charset=utf-8"),
        Some(v) => (Bytes::from(v.to_string()), "application/json"),
        None => (
            failed_body(vec![(
                field::MESSAGE,
                json!(format!("scripted HTTP {code} (scenario rule `{rule}`)")),
            )]),
            "application/json",
        ),
    };
    Rendered {
        code,
        body,
        content_type,
    }
}

/// Applies a scripted breach of the contract, then a scripted malformed body, to a correct
/// answer (`list_len` failed entries) of a request with these item keys.
pub(crate) fn distort(
    request: &[u8],
    body: Bytes,
    items: &[BorrowedItem<'_>],
    list_len: usize,
    answer: &AnswerEffects,
    notes: &mut Vec<String>,
) -> Rendered {
    let mut body = match answer.breach {
        None => body,
        Some(b) => match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                let req: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
                let keys: Vec<(Cow<'_, str>, Cow<'_, str>)> =
                    items.iter().map(BorrowedItem::id_texts).collect();
                Bytes::from(breach(b, v, &keys, list_len, &req).to_string())
            }
            Err(_) => body,
        },
    };
    if let Some(m) = answer.malformed {
        body = match m {
            Malformed::Truncated => body.slice(..body.len() / 2),
            Malformed::InvalidJson => Bytes::from(format!(
                "{{\"{}\": SUCCESS, {}: [}}",
                field::STATUS,
                field::FAILED_PRODUCT_LIST
            )),
            Malformed::Empty => Bytes::new(),
        };
        notes.push(format!("body sent {}", kebab(&m)));
    }
    Rendered {
        code: 200,
        body,
        content_type: "application/json",
    }
}

/// Rewrites a correct answer to `request` so that it breaks the contract in the chosen way.
fn breach(
    b: Breach,
    mut v: Value,
    keys: &[(Cow<'_, str>, Cow<'_, str>)],
    list_len: usize,
    request: &Value,
) -> Value {
    let first = keys
        .first()
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .unwrap_or_default();
    let distinct = || keys.iter().collect::<HashSet<_>>().len();
    let entry = |k: &(String, String), m: &str| failed_entry_raw(json!(k.0), json!(k.1), json!(m));
    match b {
        Breach::SuccessWithFailures => {
            v[field::STATUS] = json!("SUCCESS");
            if list_len == 0 {
                v[field::FAILED_PRODUCT_LIST] = json!([entry(&first, "Mismatch")]);
            }
        }
        Breach::UnknownStatus => v[field::STATUS] = json!("OK"),
        Breach::MissingStatus => {
            if let Some(o) = v.as_object_mut() {
                o.remove(field::STATUS);
            }
        }
        Breach::PhantomFailure => {
            let phantom = ("PHANTOM-PRODUCT".to_string(), "PHANTOM-VARIANT".to_string());
            let mut list = v[field::FAILED_PRODUCT_LIST]
                .as_array()
                .cloned()
                .unwrap_or_default();
            list.push(entry(&phantom, "Variant not found"));
            v[field::FAILED_PRODUCT_LIST] = Value::Array(list);
            if list_len == 0 {
                v[field::STATUS] = json!("PARTIAL_SUCCESS");
            }
        }
        Breach::PartialWithoutFailures => {
            v[field::STATUS] = json!("PARTIAL_SUCCESS");
            v[field::FAILED_PRODUCT_LIST] = json!([]);
        }
        Breach::DuplicateFailure => {
            let mut list = v[field::FAILED_PRODUCT_LIST]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let e = list
                .first()
                .cloned()
                .unwrap_or_else(|| entry(&first, "Mismatch"));
            // A pair sent n times may be listed n times: list it once more than that, so the
            // answer breaks `failed-entry-unique` whatever the request held.
            let allowed = stockwire_schema::rules::listings_allowed(request, &e);
            // (The correct answer lists each pair once, so copies of `e` are its only listings.)
            while list.iter().filter(|x| **x == e).count() <= allowed {
                list.push(e.clone());
            }
            v[field::FAILED_PRODUCT_LIST] = Value::Array(list);
            let d = distinct();
            v[field::STATUS] = json!(if d > 1 && list_len < d {
                "PARTIAL_SUCCESS"
            } else {
                "FAILED"
            });
        }
        Breach::EmptyMessage => {
            let mut list = v[field::FAILED_PRODUCT_LIST]
                .as_array()
                .cloned()
                .unwrap_or_default();
            match list.first_mut() {
                Some(e) => e[field::MESSAGE] = json!(""),
                None => list.push(entry(&first, "")),
            }
            v[field::FAILED_PRODUCT_LIST] = Value::Array(list);
            if list_len == 0 {
                v[field::STATUS] = json!(if distinct() > 1 {
                    "PARTIAL_SUCCESS"
                } else {
                    "FAILED"
                });
            }
        }
        Breach::ListNotArray => v[field::FAILED_PRODUCT_LIST] = json!({}),
    }
    v
}

/// Sends an answer with the scripted headers, content type and drip (the caller has waited
/// out the scripted delay). A large answer keeps `room` in the body budget until it is
/// written ([`crate::http::held`]); a drip-fed one gives it back at once (the scenario
/// chose to send slowly).
pub(crate) fn deliver(
    sh: &Shared,
    rec: Record,
    r: Rendered,
    a: &AnswerEffects,
    room: Option<BudgetHeld>,
) -> Response<Body> {
    if let (Some(s), Some(seller)) = (a.retry_after, rec.e.seller.as_deref()) {
        sh.retry_watch.advise(seller, sh.clock.now(), s);
    }
    rec.finish(&sh.journal, sh.log_requests, r.code, &r.body);
    let b = match a.drip {
        Some((chunk, every)) => DripBody::new(r.body, chunk, every).boxed(),
        None => held(r.body, room),
    };
    let mut resp = Response::new(b);
    *resp.status_mut() = StatusCode::from_u16(r.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = match a.content_type.as_deref() {
        Some(scripted) => HeaderValue::from_str(scripted).ok(),
        None => Some(HeaderValue::from_static(r.content_type)),
    };
    if let Some(v) = ct {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    if let Some(s) = a.retry_after {
        resp.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from(s));
    }
    for (k, v) in &a.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}
