//! Questions a test asks of a running mock ("was P1/V1 set to 0?", "how many requests?"),
//! answered from the ledger and the journal. Used by `POST /__admin/verify`,
//! [`crate::MockMarketplace::verify`] and `stockwire mock verify`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stockwire_schema::{Inventory, ItemKey};

use crate::journal::Filter;
use crate::state::Shared;

/// An item, optionally for one seller (default: the first seller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemRef {
    /// Seller (default: the first configured seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
}

/// Which journaled requests to count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestQuery {
    /// Path (default `/updateInventory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only answers with this HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Only this seller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// Only requests where this rule fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Only requests that contain this productId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
}

/// One expectation; set exactly one of `stock`, `wasSet`, `requests`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    /// The item's current stock must equal `equals` (or be unknown when `equals` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<ItemRef>,
    /// Expected current stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<u32>,
    /// Some journaled request set this item (to `to`, when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was_set: Option<ItemRef>,
    /// Expected value of `wasSet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    /// Count journaled requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestQuery>,
    /// Exact count expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Minimum count expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Maximum count expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// The answer to one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Whether it holds.
    pub ok: bool,
    /// What was found.
    pub actual: Value,
    /// A sentence saying what was checked and found.
    pub message: String,
}

/// The answer to a list of expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Whether every expectation holds.
    pub ok: bool,
    /// One result per expectation, in order.
    pub results: Vec<Check>,
}

pub(crate) fn verify(sh: &Shared, expect: &[Expectation]) -> VerifyReport {
    let results: Vec<Check> = expect.iter().map(|e| check(sh, e)).collect();
    VerifyReport {
        ok: results.iter().all(|c| c.ok),
        results,
    }
}

fn seller_of<'a>(sh: &'a Shared, r: &'a ItemRef) -> &'a str {
    r.seller
        .as_deref()
        .or_else(|| sh.sellers.first().map(|s| s.seller.as_str()))
        .unwrap_or("")
}

fn check(sh: &Shared, e: &Expectation) -> Check {
    let set = [e.stock.is_some(), e.was_set.is_some(), e.requests.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if set != 1 {
        return Check {
            ok: false,
            actual: Value::Null,
            message: "an expectation needs exactly one of `stock`, `wasSet`, `requests`".into(),
        };
    }
    if let Some(r) = &e.stock {
        let seller = seller_of(sh, r);
        let key = ItemKey::new(&r.product_id, &r.variant_id);
        let got = sh.stock(seller, &key);
        let ok = got == e.equals;
        let show = |v: Option<u32>| v.map_or("unknown".into(), |v| v.to_string());
        return Check {
            ok,
            actual: serde_json::json!(got),
            message: format!(
                "stock of {key} for seller `{seller}`: expected {}, found {}",
                show(e.equals),
                show(got)
            ),
        };
    }
    if let Some(r) = &e.was_set {
        let seller = seller_of(sh, r);
        let key = ItemKey::new(&r.product_id, &r.variant_id);
        let mut values: Vec<u32> = Vec::new();
        for entry in sh.journal.list(&Filter {
            seller: Some(seller.to_string()),
            ..Filter::default()
        }) {
            for (p, v, inv) in entry.applied_items() {
                if p == r.product_id
                    && v == r.variant_id
                    && let Some(n) = serde_json::from_value::<Inventory>(inv)
                        .ok()
                        .and_then(|i| i.count())
                {
                    values.push(n);
                }
            }
        }
        let ok = match e.to {
            Some(t) => values.contains(&t),
            None => !values.is_empty(),
        };
        return Check {
            ok,
            actual: serde_json::json!(values),
            message: format!(
                "{key} for seller `{seller}` set to {}: {} (values set, oldest first: {values:?})",
                e.to.map_or("any value".into(), |t| t.to_string()),
                if ok { "yes" } else { "no" }
            ),
        };
    }
    let q = e.requests.clone().unwrap_or_default();
    let n = sh
        .journal
        .list(&Filter {
            seller: q.seller.clone(),
            path: Some(q.path.clone().unwrap_or_else(|| "/updateInventory".into())),
            status: q.status,
            rule: q.rule.clone(),
            product_id: q.product_id.clone(),
            ..Filter::default()
        })
        .len() as u64;
    let ok = e.count.is_none_or(|c| n == c)
        && e.min.is_none_or(|m| n >= m)
        && e.max.is_none_or(|m| n <= m);
    let mut want = Vec::new();
    if let Some(c) = e.count {
        want.push(format!("exactly {c}"));
    }
    if let Some(m) = e.min {
        want.push(format!("at least {m}"));
    }
    if let Some(m) = e.max {
        want.push(format!("at most {m}"));
    }
    Check {
        ok,
        actual: serde_json::json!(n),
        message: format!(
            "requests matching {}: expected {}, found {n}",
            serde_json::to_string(&q).unwrap_or_default(),
            if want.is_empty() {
                "any number".into()
            } else {
                want.join(" and ")
            }
        ),
    }
}

/// Why a remote verify call failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL is not `http://HOST:PORT`.
    #[error("`{0}` is not an http://HOST:PORT URL")]
    Url(String),
    /// The mock could not be reached.
    #[error("cannot reach the mock at {url}: {source}")]
    Io {
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The answer was not a verify report.
    #[error("unexpected answer from {url}: {message}")]
    Answer {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// Asks the mock at `url` (`http://HOST:PORT`) the expectations through `POST /__admin/verify`.
pub fn remote(url: &str, expect: &[Expectation]) -> Result<VerifyReport, RemoteError> {
    remote_with_token(url, None, expect)
}

/// [`remote`] with the mock's admin token (sent as `Authorization: Bearer TOKEN`).
pub fn remote_with_token(
    url: &str,
    admin_token: Option<&str>,
    expect: &[Expectation],
) -> Result<VerifyReport, RemoteError> {
    use std::io::{Read, Write};
    let host = url
        .strip_prefix("http://")
        .map(|h| h.trim_end_matches('/'))
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .ok_or_else(|| RemoteError::Url(url.to_string()))?;
    let io = |source| RemoteError::Io {
        url: url.to_string(),
        source,
    };
    let body = serde_json::json!({ "expect": expect }).to_string();
    let mut s = std::net::TcpStream::connect(host).map_err(io)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .map_err(io)?;
    let auth = admin_token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "POST /__admin/verify HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{auth}connection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    let text = String::from_utf8_lossy(&raw);
    let answer = |message: String| RemoteError::Answer {
        url: url.to_string(),
        message,
    };
    let (head, payload) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| answer("no HTTP answer".into()))?;
    if head.starts_with("HTTP/1.1 401") {
        return Err(answer(format!(
            "the admin API refused the call (HTTP 401): give the mock's admin token with --admin-token or STOCKWIRE_ADMIN_TOKEN ({payload})"
        )));
    }
    serde_json::from_str(payload).map_err(|e| answer(format!("{e}: {payload}")))
}
