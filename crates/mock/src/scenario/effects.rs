//! Rule effects: what a rule does as written (`[rules.effect]`), compiled into [`Act`]s, and
//! the answer effects of a request once every fired rule is merged. A new effect is one
//! variant of [`Act`], its arm in [`Act::compile_all`] and its arm in [`Act::apply`], all in
//! this file.
//!
//! This is the decision only: rendering a scripted status, breach or malformed body, and
//! delivering it, is the `/updateInventory` call's.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ScenarioError, duration};

/// What a rule does. `fail` makes it an item rule; every other field shapes the answer of the
/// whole request, and they combine (e.g. a delay and a status).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Effect {
    /// Item effect: each matching item fails with this message (the other items still apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Answer with this HTTP status instead of processing the request (nothing is applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<u16>,
    /// The body sent with `status`: a JSON value, or a string sent as it is. Default: a
    /// contract-shaped body naming the rule (the update's FAILED body; a catalog call's
    /// error body, with its message member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// A `Retry-After` header, in seconds (typically with status 429 or 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Wait before answering: `"250ms"`, or a distribution `{p50 = "80ms", p99 = "1s"}` /
    /// `{median = "80ms", sigma = 0.9}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Add a random extra wait between 0 and this (seeded draw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// Close the connection without answering (nothing is applied).
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    /// Process the request, then send a broken JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<Malformed>,
    /// Process the request, then answer with this Content-Type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Process the request, then answer a body that breaks the contract on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_contract: Option<Breach>,
    /// Send the answer slowly, a few bytes at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip: Option<Drip>,
    /// A catalog call's answer broken the way a client's catalog sync must survive (rules
    /// with `call = "productsCount"` or `call = "products"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_listing: Option<ListingBreak>,
}

/// How a catalog call's answer is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListingBreak {
    /// `productsCount`: one more than the variants the listing holds.
    WrongCount,
    /// `productsCount`: 0 although the listing holds variants (the caller stops there).
    ZeroCount,
    /// `products`: the page starts one product early, with the previous page's last product
    /// (listed twice), and ends one early (the product it should end with is on no page
    /// unless the next page overlaps too).
    Overlap,
    /// `products`: the page starts one product late (the product that should open it is on
    /// no page) and ends one late (its last product opens the next page too).
    Skip,
    /// `products`: a page past the end answers HTTP 500 with a message instead of an empty
    /// page.
    PastEndError,
    /// `products`: a page past the end repeats the last page instead of being empty, so a
    /// client that reads until an empty page never stops.
    PastEndRepeats,
    /// `products`: each variant shows the catalog's stock, not the stock updates set.
    StaleInventory,
    /// `products`: the first variant of each product has no `variantId`.
    MissingVariantId,
}

impl ListingBreak {
    /// Whether the break is the count call's (else the listing's).
    pub(crate) fn is_count(self) -> bool {
        matches!(self, ListingBreak::WrongCount | ListingBreak::ZeroCount)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a malformed body is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Malformed {
    /// The correct body cut in half.
    Truncated,
    /// Text that is not JSON at all.
    InvalidJson,
    /// No body (Content-Length 0).
    Empty,
}

/// A deliberate contract violation, to test a client's defensive code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Breach {
    /// Status SUCCESS with failed entries.
    SuccessWithFailures,
    /// A status value the contract does not allow (`OK`).
    UnknownStatus,
    /// No status member.
    MissingStatus,
    /// A failed entry for an item that was never sent.
    PhantomFailure,
    /// Status PARTIAL_SUCCESS with no failed entry.
    PartialWithoutFailures,
    /// The same failed entry twice.
    DuplicateFailure,
    /// A failed entry with an empty message.
    EmptyMessage,
    /// `failedProductList` is an object instead of an array.
    ListNotArray,
}

/// Drip-feed the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drip {
    /// Bytes per chunk.
    #[schemars(range(min = 1))]
    pub chunk: usize,
    /// Pause between chunks (`"100ms"`).
    pub interval: String,
}

/// A delay: fixed (`"250ms"`), or drawn from a log-normal distribution given by its
/// percentiles (`{p50 = "80ms", p99 = "1.2s"}`) or by its parameters
/// (`{median = "80ms", sigma = 0.9}`). Distributions are capped at `max` (default 10 × p99).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Delay {
    /// Always this long.
    Fixed(String),
    /// Log-normal with this median and 99th percentile.
    Percentiles(DelayPercentiles),
    /// Log-normal with this median and σ (of the logarithm).
    LogNormal(DelayLogNormal),
}

/// `{p50, p99, max?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayPercentiles {
    /// The median delay.
    pub p50: String,
    /// The 99th percentile (at least the median).
    pub p99: String,
    /// No delay longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// `{median, sigma, max?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayLogNormal {
    /// The median delay (e^μ).
    pub median: String,
    /// σ of the delay's logarithm (0 = always the median).
    pub sigma: f64,
    /// No delay longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// A compiled delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DelayDist {
    /// Always this long.
    Fixed(Duration),
    /// e^(mu + sigma·z) seconds, z standard normal, capped.
    LogNormal { mu: f64, sigma: f64, max: Duration },
}

/// One compiled effect. A new effect is a variant here, an arm in [`Act::compile_all`] and an
/// arm in [`Act::apply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    /// Item effect: matching items fail with this message.
    Fail(String),
    /// Answer this status (with this body) instead of processing.
    Status(u16, Option<serde_json::Value>),
    /// A `Retry-After` header, in seconds.
    RetryAfter(u64),
    /// An extra response header.
    Header(String, String),
    /// Wait before answering.
    Delay(DelayDist),
    /// A random extra wait between 0 and this.
    Jitter(Duration),
    /// Close the connection without answering.
    Close,
    /// Send a broken body.
    Malformed(Malformed),
    /// Answer with this Content-Type.
    ContentType(String),
    /// Break the contract on purpose.
    Break(Breach),
    /// Drip-feed the answer: bytes per chunk, pause between chunks.
    Drip(usize, Duration),
    /// Break a catalog call's answer.
    BreakListing(ListingBreak),
}

impl Act {
    /// Checks an effect and compiles it into acts, in a fixed order.
    pub(super) fn compile_all(
        e: &Effect,
        err: &dyn Fn(String) -> ScenarioError,
    ) -> Result<Vec<Act>, ScenarioError> {
        let mut acts = Vec::new();
        if let Some(s) = e.status {
            if !(100..=599).contains(&s) {
                return Err(err(format!("status must be 100 to 599, got {s}")));
            }
            acts.push(Act::Status(s, e.body.clone()));
        } else if e.body.is_some() {
            return Err(err("`body` needs a `status`".into()));
        }
        if let Some(r) = e.retry_after {
            acts.push(Act::RetryAfter(r));
        }
        for (k, v) in &e.headers {
            if hyper::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(v).is_err()
            {
                return Err(err(format!("header `{k}: {v}` is not a valid HTTP header")));
            }
            acts.push(Act::Header(k.clone(), v.clone()));
        }
        if let Some(d) = &e.delay {
            acts.push(Act::Delay(delay_dist(d, err)?));
        }
        if let Some(j) = &e.jitter {
            acts.push(Act::Jitter(duration(j, "jitter", err)?));
        }
        if e.close {
            acts.push(Act::Close);
        }
        if let Some(m) = e.malformed {
            acts.push(Act::Malformed(m));
        }
        if let Some(ct) = &e.content_type {
            if hyper::header::HeaderValue::from_str(ct).is_err() {
                return Err(err(format!(
                    "contentType `{ct}` is not a valid header value"
                )));
            }
            acts.push(Act::ContentType(ct.clone()));
        }
        if let Some(b) = e.break_contract {
            acts.push(Act::Break(b));
        }
        if let Some(d) = &e.drip {
            if d.chunk == 0 {
                return Err(err("drip.chunk must be at least 1".into()));
            }
            acts.push(Act::Drip(
                d.chunk,
                duration(&d.interval, "drip.interval", err)?,
            ));
        }
        if let Some(b) = e.break_listing {
            acts.push(Act::BreakListing(b));
        }
        match &e.fail {
            Some(_) if !acts.is_empty() => Err(err(
                "`fail` (an item effect) cannot be combined with answer effects; write two rules"
                    .into(),
            )),
            Some(m) => Ok(vec![Act::Fail(m.clone())]),
            None if acts.is_empty() => Err(err("the effect is empty".into())),
            None => Ok(acts),
        }
    }

    /// Whether the act draws random numbers.
    pub(super) fn is_random(&self) -> bool {
        matches!(
            self,
            Act::Jitter(_) | Act::Delay(DelayDist::LogNormal { .. })
        )
    }

    /// Applies an answer act (the first rule that sets a field wins; delays add up); says
    /// what it did, or `None` when an earlier rule already decided. `u` is this act's random
    /// draw, in [0, 1).
    pub(super) fn apply(
        &self,
        a: &mut AnswerEffects,
        rule: &str,
        u: &mut dyn FnMut() -> f64,
    ) -> Option<String> {
        match self {
            Act::Fail(_) => None,
            Act::Status(s, body) => a.status.is_none().then(|| {
                a.status = Some((*s, body.clone(), rule.to_string()));
                format!("status {s}")
            }),
            Act::RetryAfter(r) => a.retry_after.is_none().then(|| {
                a.retry_after = Some(*r);
                format!("retry-after {r}s")
            }),
            Act::Header(k, v) => {
                a.headers.push((k.clone(), v.clone()));
                Some(format!("header {k}"))
            }
            Act::Delay(d) => {
                let d = d.sample(u);
                a.delay += d;
                Some(format!("delay {}", humantime::format_duration(round_ms(d))))
            }
            Act::Jitter(max) => {
                let d = Duration::from_nanos((u() * max.as_nanos() as f64) as u64);
                a.delay += d;
                Some(format!("delay {}", humantime::format_duration(round_ms(d))))
            }
            Act::Close => (!a.close).then(|| {
                a.close = true;
                "close connection".into()
            }),
            Act::Malformed(m) => a.malformed.is_none().then(|| {
                a.malformed = Some(*m);
                format!("malformed body ({})", kebab(m))
            }),
            Act::ContentType(ct) => a.content_type.is_none().then(|| {
                a.content_type = Some(ct.clone());
                format!("content-type {ct}")
            }),
            Act::Break(b) => a.breach.is_none().then(|| {
                a.breach = Some(*b);
                format!("break contract ({})", kebab(b))
            }),
            Act::BreakListing(b) => a.listing.is_none().then(|| {
                a.listing = Some(*b);
                format!("break listing ({})", kebab(b))
            }),
            Act::Drip(chunk, every) => a.drip.is_none().then(|| {
                a.drip = Some((*chunk, *every));
                format!(
                    "drip {chunk} bytes every {}",
                    humantime::format_duration(*every)
                )
            }),
        }
    }
}

/// A duration rounded down to whole milliseconds, for messages.
pub(super) fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// z of the 99th percentile of the standard normal distribution.
pub(super) const Z99: f64 = 2.326_347_874;

fn delay_dist(
    d: &Delay,
    err: &dyn Fn(String) -> ScenarioError,
) -> Result<DelayDist, ScenarioError> {
    let cap = |max: &Option<String>, default: Duration| {
        max.as_deref()
            .map(|m| duration(m, "delay.max", err))
            .transpose()
            .map(|m| m.unwrap_or(default))
    };
    let positive = |d: Duration, f: &str| {
        if d.is_zero() {
            Err(err(format!("{f} must be longer than 0s")))
        } else {
            Ok(d.as_secs_f64())
        }
    };
    Ok(match d {
        Delay::Fixed(t) => DelayDist::Fixed(duration(t, "delay", err)?),
        Delay::Percentiles(p) => {
            let p50 = duration(&p.p50, "delay.p50", err)?;
            let p99 = duration(&p.p99, "delay.p99", err)?;
            if p99 < p50 {
                return Err(err(format!(
                    "delay.p99 ({}) is shorter than delay.p50 ({})",
                    p.p99, p.p50
                )));
            }
            let (m, n) = (positive(p50, "delay.p50")?, positive(p99, "delay.p99")?);
            DelayDist::LogNormal {
                mu: m.ln(),
                sigma: (n.ln() - m.ln()) / Z99,
                max: cap(&p.max, p99 * 10)?,
            }
        }
        Delay::LogNormal(l) => {
            let median = duration(&l.median, "delay.median", err)?;
            if !(l.sigma.is_finite() && l.sigma >= 0.0) {
                return Err(err(format!(
                    "delay.sigma must be 0 or more, got {}",
                    l.sigma
                )));
            }
            let m = positive(median, "delay.median")?;
            DelayDist::LogNormal {
                mu: m.ln(),
                sigma: l.sigma,
                max: cap(
                    &l.max,
                    Duration::from_secs_f64((m * (Z99 * l.sigma).exp() * 10.0).min(3600.0)),
                )?,
            }
        }
    })
}

impl DelayDist {
    /// A delay; `u` gives uniform draws in [0, 1).
    fn sample(&self, u: &mut dyn FnMut() -> f64) -> Duration {
        match *self {
            DelayDist::Fixed(d) => d,
            DelayDist::LogNormal { mu, sigma, max } => {
                // Box–Muller: two uniforms give one standard normal.
                let (u1, u2) = (u().max(f64::MIN_POSITIVE), u());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let secs = (mu + sigma * z).exp();
                Duration::from_secs_f64(secs.min(max.as_secs_f64()).max(0.0))
            }
        }
    }
}

/// The answer effects of a request after merging every fired rule.
#[derive(Debug, Default, Clone)]
pub(crate) struct AnswerEffects {
    pub status: Option<(u16, Option<serde_json::Value>, String)>,
    pub retry_after: Option<u64>,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
    pub close: bool,
    pub malformed: Option<Malformed>,
    pub content_type: Option<String>,
    pub breach: Option<Breach>,
    pub drip: Option<(usize, Duration)>,
    pub listing: Option<ListingBreak>,
}

/// The kebab-case name of a serializable unit enum value.
pub(crate) fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
