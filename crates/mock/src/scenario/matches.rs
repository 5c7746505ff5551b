//! Rule matches: the conditions of a rule as written (`[rules.match]`), compiled, and tested
//! against what the engine sees of a request and its items; and the audit that explains why
//! the nearest rule did not fire.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pattern::{CPattern, Pattern};
use crate::clock::DailyWindow;

/// The conditions of a rule. Item conditions (productId, variantId, facilityCode, inventory)
/// select items for a `fail` rule; for an answer rule they hold when any item of the request
/// satisfies all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
    /// The call, by its id in the API family (`updateInventory`, `productsCount`,
    /// `products`). Default: `updateInventory`, so a rule without `call` scripts the update.
    /// Rules of the catalog calls take the request conditions `seller`, `elapsed`, `daily`
    /// and `probability`, and, for the listing, `page`; item conditions, `batchSize` and
    /// `request` are the update's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The listing's page number (`pageNumber`, 1-based; a request without one asks for the
    /// first page): an exact page or `{min, max}`. Listing rules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Range>,
    /// The item's productId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Pattern>,
    /// The item's variantId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<Pattern>,
    /// The item's facilityCode (an item without one never matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_code: Option<Pattern>,
    /// The item's inventory count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Range>,
    /// The seller the apiKey belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<Pattern>,
    /// Number of items in the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<Range>,
    /// The 1-based number of the `/updateInventory` request since start or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestMatch>,
    /// Time since start or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<Elapsed>,
    /// A daily UTC window, such as `{from = "02:00", to = "02:15"}` (end exclusive; a window
    /// whose end is before its start wraps past midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Daily>,
    /// Probability (0 to 1) that the rule fires when everything else matches. The draw
    /// depends on the seed and the request's content (per item for `fail` rules), never on
    /// arrival order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: Option<f64>,
}

/// A number condition: an exact value or `{min, max}` (both inclusive, both optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Range {
    /// Exactly this value.
    Exact(u64),
    /// Between bounds.
    Bounds(Bounds),
}

/// Inclusive bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Smallest value that matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Largest value that matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// Which requests: the n-th (`3`), every k-th (`{every = 3}`, optionally shifted by
/// `offset`), or a range (`{from = 1, to = 4}`, inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RequestMatch {
    /// Only the n-th request.
    Nth(u64),
    /// Every k-th request: n where (n - offset) is a positive multiple of k.
    Every(EveryN),
    /// Requests from..=to.
    Between(Between),
}

/// `{every = k, offset = o}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EveryN {
    /// The period.
    #[schemars(range(min = 1))]
    pub every: u64,
    /// Shift: with offset 1, every = 3 matches requests 4, 7, 10, …
    #[serde(default)]
    pub offset: u64,
}

/// `{from = a, to = b}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Between {
    /// First request that matches (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// Last request that matches (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
}

/// A time window since start or reset, as durations like `"10s"` or `"1m 30s"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Elapsed {
    /// Matches from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Matches until this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// `{from = "02:00", to = "02:15"}`: a daily window in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Daily {
    /// Start, `HH:MM` or `HH:MM:SS` UTC (inclusive).
    pub from: String,
    /// End, `HH:MM` or `HH:MM:SS` UTC (exclusive).
    pub to: String,
}

/// The inclusive bounds of a number condition.
pub(super) fn bounds(r: &Range) -> (u64, u64) {
    match r {
        Range::Exact(n) => (*n, *n),
        Range::Bounds(b) => (b.min.unwrap_or(0), b.max.unwrap_or(u64::MAX)),
    }
}

fn describe_bounds((lo, hi): (u64, u64)) -> String {
    match (lo, hi) {
        (a, b) if a == b => format!("{a}"),
        (0, b) => format!("at most {b}"),
        (a, u64::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

/// A compiled [`Match`].
#[derive(Debug)]
pub(crate) struct CMatch {
    /// The id of the call the rule scripts.
    pub(super) call: &'static str,
    pub(super) page: Option<(u64, u64)>,
    pub(super) product: Option<CPattern>,
    pub(super) variant: Option<CPattern>,
    pub(super) facility: Option<CPattern>,
    pub(super) inventory: Option<(u64, u64)>,
    pub(super) seller: Option<CPattern>,
    pub(super) batch: Option<(u64, u64)>,
    pub(super) request: Option<RequestMatch>,
    pub(super) elapsed: Option<(Duration, Duration)>,
    pub(super) daily: Option<DailyWindow>,
    pub(super) probability: Option<f64>,
}

impl CMatch {
    /// Whether any item condition is set (productId, variantId, facilityCode, inventory).
    pub(super) fn has_item_conditions(&self) -> bool {
        self.product.is_some()
            || self.variant.is_some()
            || self.facility.is_some()
            || self.inventory.is_some()
    }
}

/// What the engine sees of one item.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ItemFacts<'a> {
    pub product: Option<&'a str>,
    pub variant: Option<&'a str>,
    pub facility: Option<&'a str>,
    pub inventory: Option<u64>,
    /// False when the item already failed (validation, catalog): item rules skip it.
    pub eligible: bool,
}

/// What the engine sees of one request.
#[derive(Debug)]
pub(crate) struct RequestFacts<'a> {
    /// The id of the call asked.
    pub call: &'a str,
    /// The listing's page number (other calls: none).
    pub page: Option<u64>,
    pub seller: &'a str,
    pub n: u64,
    pub elapsed: Duration,
    /// Wall-clock time (since the epoch) from the mock's clock.
    pub wall: Duration,
    pub items: &'a [ItemFacts<'a>],
}

fn request_matches(m: &RequestMatch, n: u64) -> bool {
    match m {
        RequestMatch::Nth(k) => n == *k,
        RequestMatch::Every(e) => n > e.offset && (n - e.offset) % e.every.max(1) == 0,
        RequestMatch::Between(b) => n >= b.from.unwrap_or(1) && n <= b.to.unwrap_or(u64::MAX),
    }
}

fn describe_request(m: &RequestMatch) -> String {
    match m {
        RequestMatch::Nth(k) => format!("request {k}"),
        RequestMatch::Every(e) if e.offset == 0 => format!("every {}th request", e.every),
        RequestMatch::Every(e) => format!("every {}th request after {}", e.every, e.offset),
        RequestMatch::Between(b) => format!(
            "requests {} to {}",
            b.from.unwrap_or(1),
            b.to.map_or("the end".to_string(), |t| t.to_string())
        ),
    }
}

/// Whether a request meets a match's request conditions (seller, batch size, request number,
/// elapsed time, daily window).
pub(super) fn request_conditions(m: &CMatch, r: &RequestFacts<'_>) -> bool {
    m.call == r.call
        && m.page
            .is_none_or(|(lo, hi)| r.page.is_some_and(|p| (lo..=hi).contains(&p)))
        && m.seller.as_ref().is_none_or(|p| p.is_match(r.seller))
        && m.batch
            .is_none_or(|(lo, hi)| (lo..=hi).contains(&(r.items.len() as u64)))
        && m.request.as_ref().is_none_or(|q| request_matches(q, r.n))
        && m.elapsed
            .is_none_or(|(a, b)| r.elapsed >= a && r.elapsed <= b)
        && m.daily.is_none_or(|d| d.contains(r.wall))
}

fn opt_match(p: &Option<CPattern>, v: Option<&str>) -> bool {
    match p {
        None => true,
        Some(p) => v.is_some_and(|v| p.is_match(v)),
    }
}

/// Whether an item meets every item condition of a match.
pub(super) fn item_conditions(m: &CMatch, i: &ItemFacts<'_>) -> bool {
    opt_match(&m.product, i.product)
        && opt_match(&m.variant, i.variant)
        && opt_match(&m.facility, i.facility)
        && m.inventory
            .is_none_or(|(lo, hi)| i.inventory.is_some_and(|n| (lo..=hi).contains(&n)))
}

/// Counts the conditions a rule's match meets for a request and names the first it misses.
pub(super) fn audit(m: &CMatch, r: &RequestFacts<'_>, render: bool) -> Audit {
    let mut a = Audit {
        render,
        ..Audit::default()
    };
    let mut check = |ok: bool, why: &dyn Fn() -> String| a.check(ok, why);
    let sellers = r.seller;
    if let Some(b) = m.page {
        check(r.page.is_some_and(|p| (b.0..=b.1).contains(&p)), &|| {
            format!(
                "page: wanted {}, got {}",
                describe_bounds(b),
                r.page.map_or("none".into(), |p| p.to_string())
            )
        });
    }
    if let Some(p) = &m.seller {
        check(p.is_match(sellers), &|| {
            format!("seller: wanted {}, got `{sellers}`", p.describe())
        });
    }
    if let Some(b) = m.batch {
        let n = r.items.len() as u64;
        check((b.0..=b.1).contains(&n), &|| {
            format!("batchSize: wanted {}, got {n}", describe_bounds(b))
        });
    }
    if let Some(q) = &m.request {
        check(request_matches(q, r.n), &|| {
            format!(
                "request: wanted {}, this was request {}",
                describe_request(q),
                r.n
            )
        });
    }
    if let Some((a, b)) = m.elapsed {
        check(r.elapsed >= a && r.elapsed <= b, &|| {
            format!(
                "elapsed: {} since start is outside the window",
                humantime::format_duration(Duration::from_millis(r.elapsed.as_millis() as u64))
            )
        });
    }
    if let Some(d) = m.daily {
        check(d.contains(r.wall), &|| {
            let s = r.wall.as_secs() % 86_400;
            format!(
                "daily: {:02}:{:02} UTC is outside {}",
                s / 3600,
                (s % 3600) / 60,
                d.describe()
            )
        });
    }
    let first = r.items.first().copied().unwrap_or_default();
    let any = |f: &dyn Fn(&ItemFacts<'_>) -> bool| r.items.iter().any(f);
    if let Some(p) = &m.product {
        check(any(&|i| opt_match(&m.product, i.product)), &|| {
            format!(
                "productId: wanted {}, got `{}`{}",
                p.describe(),
                first.product.unwrap_or(""),
                if r.items.len() > 1 { ", …" } else { "" }
            )
        });
    }
    if let Some(p) = &m.variant {
        check(any(&|i| opt_match(&m.variant, i.variant)), &|| {
            format!(
                "variantId: wanted {}, got `{}`{}",
                p.describe(),
                first.variant.unwrap_or(""),
                if r.items.len() > 1 { ", …" } else { "" }
            )
        });
    }
    if let Some(p) = &m.facility {
        check(any(&|i| opt_match(&m.facility, i.facility)), &|| {
            format!(
                "facilityCode: wanted {}, got {}",
                p.describe(),
                first.facility.map_or("none".into(), |f| format!("`{f}`"))
            )
        });
    }
    if let Some(b) = m.inventory {
        check(
            any(&|i| i.inventory.is_some_and(|n| (b.0..=b.1).contains(&n))),
            &|| {
                format!(
                    "inventory: wanted {}, got {}",
                    describe_bounds(b),
                    first.inventory.map_or("none".into(), |n| n.to_string())
                )
            },
        );
    }
    if m.has_item_conditions() && !a.failed {
        a.check(any(&|i| item_conditions(m, i)), &|| {
            "no single item meets all its item conditions".into()
        });
    }
    a
}

/// How near a rule came to firing: conditions met, and the first one missed.
#[derive(Default)]
pub(super) struct Audit {
    pub(super) met: usize,
    /// A condition was missed.
    pub(super) failed: bool,
    /// Write why (only for the rule an explanation names).
    render: bool,
    /// The first condition missed, written when `render`.
    pub(super) missed: Option<String>,
}

impl Audit {
    fn check(&mut self, ok: bool, why: &dyn Fn() -> String) {
        if ok {
            self.met += 1;
        } else if !self.failed {
            self.failed = true;
            if self.render {
                self.missed = Some(why());
            }
        }
    }
}
