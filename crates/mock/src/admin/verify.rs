//! Questions a test asks of a running mock ("was P1/V1 set to 0?", "how many requests?"),
//! answered from the ledger and the journal. Used by `POST /__admin/verify`,
//! [`crate::MockMarketplace::verify`] and `stockwire mock verify`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stockwire_schema::{Inventory, ItemKey};

use stockwire_schema::exchange::ListingView;

use crate::family::Handler;
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
    /// The id of the call (`products`, `productsCount`, `updateInventory`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// Path (default `/updateInventory` when no `call` is named).
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

/// A seller (default: the first configured seller).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SellerQuery {
    /// Seller (default: the first configured seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
}

/// "The client never sent more than `perSecond` requests per second", over every sliding
/// window of `window` (default `"1s"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateQuery {
    /// Seller (default: the first configured seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// Most `/updateInventory` requests per second allowed.
    pub per_second: f64,
    /// Length of the sliding window (default `"1s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// One expectation; set exactly one of `stock`, `wasSet`, `requests`, `reauthenticated`,
/// `maxRate`, `honouredRetryAfter`, `countRead`, `listingPulled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Count the seller's re-authentications: successful `/authToken` calls after the first
    /// (with `count`, `min`, `max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthenticated: Option<SellerQuery>,
    /// The seller never exceeded a request rate (from the journal's arrival times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<RateQuery>,
    /// The seller sent no request before the time a `Retry-After` had advised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honoured_retry_after: Option<SellerQuery>,
    /// The seller read the count of its listings (a count call answered 200; with `count`,
    /// `min`, `max` for how often, default at least once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_read: Option<SellerQuery>,
    /// The seller pulled the listing to its end: every page from 1 up to an empty or short
    /// page was answered 200 (pages asked for some SKU codes do not count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_pulled: Option<SellerQuery>,
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

fn first_seller(sh: &Shared, s: &Option<String>) -> String {
    s.clone()
        .or_else(|| sh.sellers.first().map(|c| c.seller.clone()))
        .unwrap_or_default()
}

fn wanted(e: &Expectation) -> String {
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
    if want.is_empty() {
        "any number".into()
    } else {
        want.join(" and ")
    }
}

fn counts_ok(e: &Expectation, n: u64) -> bool {
    e.count.is_none_or(|c| n == c) && e.min.is_none_or(|m| n >= m) && e.max.is_none_or(|m| n <= m)
}

fn check(sh: &Shared, e: &Expectation) -> Check {
    let set = [
        e.stock.is_some(),
        e.was_set.is_some(),
        e.requests.is_some(),
        e.reauthenticated.is_some(),
        e.max_rate.is_some(),
        e.honoured_retry_after.is_some(),
        e.count_read.is_some(),
        e.listing_pulled.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if set != 1 {
        return Check {
            ok: false,
            actual: Value::Null,
            message: "an expectation needs exactly one of `stock`, `wasSet`, `requests`, `reauthenticated`, `maxRate`, `honouredRetryAfter`, `countRead`, `listingPulled`".into(),
        };
    }
    if let Some(q) = &e.reauthenticated {
        let seller = first_seller(sh, &q.seller);
        let auths = sh
            .seller_index(&seller)
            .map_or(0, |i| sh.tokens.authentications(i));
        let n = auths.saturating_sub(1);
        return Check {
            ok: counts_ok(e, n),
            actual: serde_json::json!(n),
            message: format!(
                "seller `{seller}` re-authenticated {n} time{} ({auths} successful /authToken call{}); expected {}",
                if n == 1 { "" } else { "s" },
                if auths == 1 { "" } else { "s" },
                wanted(e)
            ),
        };
    }
    if let Some(q) = &e.max_rate {
        return max_rate(sh, q);
    }
    if let Some(q) = &e.count_read {
        return count_read(sh, e, q);
    }
    if let Some(q) = &e.listing_pulled {
        return listing_pulled(sh, q);
    }
    if let Some(q) = &e.honoured_retry_after {
        let seller = first_seller(sh, &q.seller);
        let (advised, early, list) = sh.retry_watch.report(Some(&seller));
        let ok = early == 0;
        let message = match list.first() {
            None => format!(
                "seller `{seller}` honoured Retry-After: no request came before the advised time ({advised} answer{} carried Retry-After)",
                if advised == 1 { "" } else { "s" }
            ),
            Some(x) => format!(
                "seller `{seller}` did not honour Retry-After: {early} request{} came too soon; the first, request #{}, came {} ms after an answer that said Retry-After: {}",
                if early == 1 { "" } else { "s" },
                x.request,
                x.after_ms,
                x.retry_after
            ),
        };
        return Check {
            ok,
            actual: serde_json::json!({"early": early, "advised": advised, "first": list.first()}),
            message,
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
            call: q.call.clone(),
            path: match (&q.path, &q.call) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(_)) => None,
                (None, None) => Some(sh.family.inventory().path.to_string()),
            },
            status: q.status,
            rule: q.rule.clone(),
            product_id: q.product_id.clone(),
            ..Filter::default()
        })
        .len() as u64;
    Check {
        ok: counts_ok(e, n),
        actual: serde_json::json!(n),
        message: format!(
            "requests matching {}: expected {}, found {n}",
            serde_json::to_string(&q).unwrap_or_default(),
            wanted(e)
        ),
    }
}

/// The count calls (`listing == false`) or the listing calls the mock serves.
fn calls_of(sh: &Shared, listing: bool) -> Vec<std::sync::Arc<stockwire_schema::Call>> {
    sh.family
        .routes
        .iter()
        .filter_map(|r| match (&r.handler, listing) {
            (Handler::Count(c), false) | (Handler::Listing(c, _), true) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// The seller's successful count reads.
fn count_read(sh: &Shared, e: &Expectation, q: &SellerQuery) -> Check {
    let seller = first_seller(sh, &q.seller);
    let calls = calls_of(sh, false);
    let n: u64 = calls
        .iter()
        .map(|c| {
            sh.journal
                .list(&Filter {
                    seller: Some(seller.clone()),
                    call: Some(c.id().to_string()),
                    status: Some(200),
                    ..Filter::default()
                })
                .len() as u64
        })
        .sum();
    let at_least_once = e.count.is_none() && e.min.is_none() && e.max.is_none();
    let ok = if at_least_once {
        n >= 1
    } else {
        counts_ok(e, n)
    };
    let ids: Vec<&str> = calls.iter().map(|c| c.id()).collect();
    Check {
        ok,
        actual: serde_json::json!(n),
        message: format!(
            "seller `{seller}` read the count ({}) {n} time{}; expected {}",
            ids.join(", "),
            if n == 1 { "" } else { "s" },
            if at_least_once {
                "at least 1".to_string()
            } else {
                wanted(e)
            }
        ),
    }
}

/// Whether the seller pulled the listing to its end: pages 1 to an empty or short page, each
/// answered 200, read from the journal (so within its bound).
fn listing_pulled(sh: &Shared, q: &SellerQuery) -> Check {
    let seller = first_seller(sh, &q.seller);
    let Some(call) = calls_of(sh, true).into_iter().next() else {
        return Check {
            ok: false,
            actual: Value::Null,
            message: "this mock serves no listing call".into(),
        };
    };
    let Some(m) = call.def().listing().copied() else {
        return Check {
            ok: false,
            actual: Value::Null,
            message: "this mock serves no listing call".into(),
        };
    };
    let size: usize = call
        .fixed_query_value(m.page_size)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let default_page = call.query_default(m.page_number).unwrap_or("1").to_string();
    // Page number → products on it (the fewest seen, should a page change between pulls).
    let mut pages: std::collections::BTreeMap<u64, usize> = Default::default();
    for entry in sh.journal.list(&Filter {
        seller: Some(seller.clone()),
        call: Some(call.id().to_string()),
        status: Some(200),
        ..Filter::default()
    }) {
        let query = entry.query.clone().unwrap_or_default();
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let filtered = params
            .iter()
            .any(|(k, v)| k == m.filter && v.split(',').any(|c| !c.trim().is_empty()));
        if filtered {
            continue;
        }
        let page = params
            .iter()
            .find(|(k, _)| k == m.page_number)
            .map_or(default_page.as_str(), |(_, v)| v.as_str())
            .parse::<u64>()
            .ok();
        let shown = entry.response_json().map(|b| {
            ListingView::parse_of(&m, &b)
                .products()
                .map_or(0, <[_]>::len)
        });
        if let (Some(p), Some(n)) = (page, shown) {
            let slot = pages.entry(p).or_insert(n);
            *slot = (*slot).min(n);
        }
    }
    let end = pages
        .iter()
        .find(|(_, n)| **n < size)
        .map(|(p, n)| (*p, *n));
    let missing: Vec<u64> = match end {
        Some((last, _)) => (1..last)
            .filter(|p| !pages.contains_key(p))
            .take(10)
            .collect(),
        None => Vec::new(),
    };
    let seen: Vec<u64> = pages.keys().copied().take(20).collect();
    let (ok, message) = match end {
        Some((last, n)) if missing.is_empty() => (
            true,
            format!(
                "seller `{seller}` pulled the listing ({}) to its end: pages 1 to {last}, the last with {n} product{} (fewer than {size})",
                call.id(),
                if n == 1 { "" } else { "s" }
            ),
        ),
        Some((last, _)) => (
            false,
            format!(
                "seller `{seller}` did not pull the listing ({}) to its end: page {last} was short but page(s) {missing:?} before it were never answered",
                call.id()
            ),
        ),
        None => (
            false,
            format!(
                "seller `{seller}` did not pull the listing ({}) to its end: no empty or short page (of fewer than {size} products) was answered; pages seen: {seen:?}",
                call.id()
            ),
        ),
    };
    Check {
        ok,
        actual: serde_json::json!({"pages": seen, "end": end.map(|(p, _)| p)}),
        message,
    }
}

/// The busiest sliding window of the seller's `/updateInventory` arrivals (journal times).
fn max_rate(sh: &Shared, q: &RateQuery) -> Check {
    let seller = first_seller(sh, &q.seller);
    let window = match q.window.as_deref().map(humantime::parse_duration) {
        None => std::time::Duration::from_secs(1),
        Some(Ok(d)) if !d.is_zero() => d,
        Some(_) => {
            return Check {
                ok: false,
                actual: Value::Null,
                message: format!(
                    "maxRate.window: `{}` is not a duration like \"1s\"",
                    q.window.as_deref().unwrap_or("")
                ),
            };
        }
    };
    let entries = sh.journal.list(&Filter {
        seller: Some(seller.clone()),
        path: Some(sh.family.inventory().path.to_string()),
        ..Filter::default()
    });
    let mut entries = entries;
    entries.sort_by_key(|e| e.at_ms);
    let w = window.as_millis() as u64;
    let (mut n, mut busiest, mut lo) = (0usize, (0usize, 0usize), 0usize);
    for hi in 0..entries.len() {
        while entries[hi].at_ms >= entries[lo].at_ms + w {
            lo += 1;
        }
        if hi + 1 - lo > n {
            n = hi + 1 - lo;
            busiest = (lo, hi);
        }
    }
    let allowed = q.per_second * window.as_secs_f64();
    let ok = (n as f64) <= allowed + 1e-9;
    let span = |i: usize| {
        entries
            .get(i)
            .map(|e| e.request_number.unwrap_or(e.id).to_string())
            .unwrap_or_default()
    };
    Check {
        ok,
        actual: serde_json::json!(n),
        message: format!(
            "seller `{seller}` sent at most {n} request{} within {} (requests #{} to #{}); expected at most {allowed} ({} per second){}",
            if n == 1 { "" } else { "s" },
            humantime::format_duration(window),
            span(busiest.0),
            span(busiest.1),
            q.per_second,
            if ok {
                ""
            } else {
                ": the client exceeded the rate"
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
