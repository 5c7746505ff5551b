//! Rate limits: the `[[rateLimits]]` section of a scenario (a token bucket per seller, and
//! optionally per client IP), and the watch on `Retry-After` advice that lets `verify` tell
//! whether a client honoured it.
//!
//! Both cost nothing when unused: without `[[rateLimits]]` there is no limiter, and the
//! Retry-After watch is one relaxed atomic load until some answer carried `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::pattern::{CPattern, Pattern};

/// The name the journal gives throttling (as the rule that fired): filter with `rule=rate-limit`.
pub const RULE: &str = "rate-limit";

/// Runs the Retry-After watch and the rate limit (the scenario's, if any) for one
/// `/updateInventory` request of `seller`; `Some` when it must be throttled (the caller answers).
pub(crate) fn gate(
    watch: &RetryWatch,
    limiter: Option<&Limiter>,
    seller: &str,
    ip: Option<IpAddr>,
    now: Duration,
    request: u64,
) -> Option<Throttle> {
    watch.arrived(seller, now, request);
    let t = limiter?.admit(seller, ip, now)?;
    watch.advise(seller, now, t.retry_after);
    Some(t)
}

/// Most buckets kept; beyond this, full (idle) buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;
/// Most early requests remembered for `verify` messages (all are counted).
const MAX_EARLY: usize = 100;

fn default_answer() -> u16 {
    429
}

/// `[[rateLimits]]`: a token bucket for the matching sellers (the first entry whose `seller`
/// matches applies). A request that finds the bucket empty is answered `answer` with a
/// `Retry-After` header, and nothing is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    /// The sellers this applies to (default: every seller), each with its own bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<Pattern>,
    /// Requests per second the bucket refills.
    pub rate: f64,
    /// Bucket size: requests allowed at once after a quiet period (default: the rate, at
    /// least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub burst: Option<u32>,
    /// One bucket per seller and client IP instead of per seller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_ip: bool,
    /// The HTTP status of a throttled answer: 429 (default) or 503.
    #[serde(default = "default_answer")]
    pub answer: u16,
}

impl RateLimit {
    /// `rate` requests per second for every seller, bursts of the rate, answered 429.
    pub fn per_second(rate: f64) -> RateLimit {
        RateLimit {
            seller: None,
            rate,
            burst: None,
            per_ip: false,
            answer: default_answer(),
        }
    }

    /// The bucket size.
    pub fn burst(mut self, n: u32) -> RateLimit {
        self.burst = Some(n);
        self
    }

    /// Only for this seller.
    pub fn for_seller(mut self, seller: impl Into<String>) -> RateLimit {
        self.seller = Some(Pattern::Exact(seller.into()));
        self
    }

    /// One bucket per seller and client IP.
    pub fn per_ip(mut self) -> RateLimit {
        self.per_ip = true;
        self
    }

    /// Answer 503 instead of 429.
    pub fn answer_503(mut self) -> RateLimit {
        self.answer = 503;
        self
    }
}

#[derive(Debug)]
struct Limit {
    seller: Option<CPattern>,
    rate: f64,
    burst: f64,
    per_ip: bool,
    answer: u16,
}

/// Which bucket: the limit's position, the seller, and the client IP when `perIp`.
type BucketKey = (usize, String, Option<IpAddr>);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Duration,
}

/// A throttled request: the answer to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Throttle {
    /// 429 or 503.
    pub status: u16,
    /// Whole seconds to wait (rounded up, at least 1): by then the bucket has a token.
    pub retry_after: u64,
    /// A sentence for the body and the journal.
    pub message: String,
}

/// The compiled `[[rateLimits]]` and their buckets.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Vec<Limit>,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

impl Limiter {
    /// Compiles the entries; `None` when there are none.
    pub fn compile(entries: &[RateLimit], origin: &str) -> Result<Option<Limiter>, ScenarioError> {
        if entries.is_empty() {
            return Ok(None);
        }
        let mut limits = Vec::new();
        for (i, r) in entries.iter().enumerate() {
            let err = |message: String| ScenarioError::Rule {
                origin: origin.to_string(),
                rule: format!("rateLimits[{i}]"),
                message,
            };
            if !(r.rate.is_finite() && r.rate > 0.0) {
                return Err(err(format!(
                    "rate must be a positive number of requests per second, got {}",
                    r.rate
                )));
            }
            if r.burst == Some(0) {
                return Err(err("burst must be at least 1".into()));
            }
            if r.answer != 429 && r.answer != 503 {
                return Err(err(format!("answer must be 429 or 503, got {}", r.answer)));
            }
            limits.push(Limit {
                seller: r
                    .seller
                    .as_ref()
                    .map(|p| CPattern::compile(p, "seller", &err))
                    .transpose()?,
                rate: r.rate,
                burst: f64::from(r.burst.unwrap_or(r.rate.ceil().max(1.0) as u32)),
                per_ip: r.per_ip,
                answer: r.answer,
            });
        }
        Ok(Some(Limiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }))
    }

    /// Takes a token from the request's bucket, or says how to throttle it.
    pub fn admit(&self, seller: &str, ip: Option<IpAddr>, now: Duration) -> Option<Throttle> {
        let (i, l) = self
            .limits
            .iter()
            .enumerate()
            .find(|(_, l)| l.seller.as_ref().is_none_or(|p| p.is_match(seller)))?;
        let key = (i, seller.to_string(), if l.per_ip { ip } else { None });
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&key) {
            buckets.retain(|(j, _, _), b| {
                let rate = self.limits.get(*j).map_or(1.0, |l| l.rate);
                b.tokens + now.saturating_sub(b.last).as_secs_f64() * rate < l.burst
            });
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: l.burst,
            last: now,
        });
        let refill = now.saturating_sub(b.last).as_secs_f64() * l.rate;
        b.tokens = (b.tokens + refill).min(l.burst);
        b.last = now.max(b.last);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return None;
        }
        let wait = (1.0 - b.tokens) / l.rate;
        let retry_after = (wait.ceil() as u64).max(1);
        Some(Throttle {
            status: l.answer,
            retry_after,
            message: format!(
                "rate limit: seller `{seller}`{} may send {} request{}/s (burst {}); retry after {retry_after} s",
                match (l.per_ip, ip) {
                    (true, Some(ip)) => format!(" from {ip}"),
                    _ => String::new(),
                },
                l.rate,
                if l.rate == 1.0 { "" } else { "s" },
                l.burst
            ),
        })
    }

    /// Refills every bucket.
    pub fn reset(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// One line per limit, for `stockwire mock check`.
    pub fn describe(&self) -> Vec<String> {
        self.limits
            .iter()
            .map(|l| {
                format!(
                    "{}: {} req/s, burst {}{}, answer {} with Retry-After",
                    l.seller.as_ref().map_or("every seller".into(), |p| format!(
                        "seller {}",
                        p.describe()
                    )),
                    l.rate,
                    l.burst,
                    if l.per_ip { ", per client IP" } else { "" },
                    l.answer
                )
            })
            .collect()
    }
}

/// A request that came before the time a `Retry-After` had advised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlyRequest {
    /// The seller.
    pub seller: String,
    /// The `/updateInventory` request number of the early request.
    pub request: u64,
    /// The `Retry-After` advertised, in seconds.
    pub retry_after: u64,
    /// How long after the advice the request came, in milliseconds.
    pub after_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Advice {
    said_at: Duration,
    secs: u64,
}

#[derive(Debug, Default)]
struct WatchState {
    advice: HashMap<String, Advice>,
    early: Vec<EarlyRequest>,
    early_by_seller: HashMap<String, u64>,
}

/// Remembers, per seller, the last `Retry-After` given, and every request that came too soon.
#[derive(Debug, Default)]
pub(crate) struct RetryWatch {
    on: AtomicBool,
    state: Mutex<WatchState>,
    advised: AtomicU64,
}

impl RetryWatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An answer told `seller` to wait `secs` seconds from `now`.
    pub fn advise(&self, seller: &str, now: Duration, secs: u64) {
        self.on.store(true, Ordering::Relaxed);
        self.advised.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .advice
            .insert(seller.to_string(), Advice { said_at: now, secs });
    }

    /// A request of `seller` arrived at `now`: note it when it came too early.
    pub fn arrived(&self, seller: &str, now: Duration, request: u64) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        let mut st = self.lock();
        let Some(a) = st.advice.get(seller).copied() else {
            return;
        };
        if now >= a.said_at + Duration::from_secs(a.secs) {
            st.advice.remove(seller);
            return;
        }
        *st.early_by_seller.entry(seller.to_string()).or_default() += 1;
        if st.early.len() < MAX_EARLY {
            st.early.push(EarlyRequest {
                seller: seller.to_string(),
                request,
                retry_after: a.secs,
                after_ms: now.saturating_sub(a.said_at).as_millis() as u64,
            });
        }
    }

    /// Answers with Retry-After given so far, and the early requests of a seller (all when
    /// `None`): their count and the first few.
    pub fn report(&self, seller: Option<&str>) -> (u64, u64, Vec<EarlyRequest>) {
        let st = self.lock();
        let n = match seller {
            Some(s) => st.early_by_seller.get(s).copied().unwrap_or(0),
            None => st.early_by_seller.values().sum(),
        };
        let list = st
            .early
            .iter()
            .filter(|e| seller.is_none_or(|s| e.seller == s))
            .cloned()
            .collect();
        (self.advised.load(Ordering::Relaxed), n, list)
    }

    /// Forgets everything.
    pub fn reset(&self) {
        let mut st = self.lock();
        *st = WatchState::default();
        self.advised.store(0, Ordering::Relaxed);
        self.on.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: u32, per_ip: bool) -> Limiter {
        Limiter::compile(
            &[RateLimit {
                seller: None,
                rate,
                burst: Some(burst),
                per_ip,
                answer: 429,
            }],
            "t",
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let l = limiter(2.0, 3, false);
        let t = Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(l.admit("demo", None, t), None);
        }
        let th = l.admit("demo", None, t).unwrap();
        assert_eq!((th.status, th.retry_after), (429, 1));
        assert!(
            th.message.contains("2 requests/s (burst 3)"),
            "{}",
            th.message
        );
        // Half a second later one token is back, and only one.
        let t = t + Duration::from_millis(500);
        assert_eq!(l.admit("demo", None, t), None);
        assert!(l.admit("demo", None, t).is_some());
        // Other sellers have their own bucket.
        assert_eq!(l.admit("other", None, t), None);
    }

    #[test]
    fn per_ip_buckets_and_slow_rates() {
        let l = limiter(0.25, 1, true);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        let t = Duration::from_secs(1);
        assert_eq!(l.admit("demo", a, t), None);
        assert_eq!(l.admit("demo", b, t), None);
        assert_eq!(l.admit("demo", a, t).unwrap().retry_after, 4);
    }

    #[test]
    fn bad_limits_are_refused() {
        let bad = |r: RateLimit| Limiter::compile(&[r], "s").unwrap_err().to_string();
        let ok = RateLimit {
            seller: None,
            rate: 1.0,
            burst: None,
            per_ip: false,
            answer: 429,
        };
        assert!(
            bad(RateLimit {
                rate: 0.0,
                ..ok.clone()
            })
            .contains("rateLimits[0]: rate")
        );
        assert!(
            bad(RateLimit {
                answer: 500,
                ..ok.clone()
            })
            .contains("429 or 503")
        );
        assert!(
            bad(RateLimit {
                burst: Some(0),
                ..ok
            })
            .contains("burst")
        );
    }

    #[test]
    fn early_requests_are_counted_per_seller() {
        let w = RetryWatch::default();
        let t = Duration::from_secs(10);
        w.arrived("demo", t, 1);
        assert_eq!(w.report(None).1, 0);
        w.advise("demo", t, 2);
        w.arrived("demo", t + Duration::from_millis(300), 2);
        w.arrived("other", t + Duration::from_millis(300), 3);
        w.arrived("demo", t + Duration::from_secs(2), 4);
        w.arrived("demo", t + Duration::from_secs(2), 5);
        let (advised, n, list) = w.report(Some("demo"));
        assert_eq!((advised, n), (1, 1));
        assert_eq!(list[0].request, 2);
        assert_eq!(list[0].after_ms, 300);
    }
}
