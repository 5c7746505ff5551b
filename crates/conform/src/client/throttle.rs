//! Throttling, a partner's right: a 429, or a 503 with `Retry-After`, is honoured by waiting as
//! advised (a 429 without `Retry-After` backs off exponentially) and re-sending, and the pace
//! of the rest of the run is lowered. Bounded twice: at most [`MAX_RESENDS`] re-sends per
//! request, and a total wait budget for the run; once the budget would be passed, nothing more
//! is waited for and the run is told ([`Throttle::exhausted`]) so it can stop.
//!
//! It owns the waiting and its accounting; what a throttled answer means for the checks (never
//! a violation) is the engine's. It uses nothing else of the crate.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Re-sends of one request after throttled answers.
pub const MAX_RESENDS: u32 = 5;

/// The first back-off after a 429 without `Retry-After`; each next one doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The slowest pace the run settles at after throttling: one request per this interval.
pub const SLOWEST_INTERVAL: Duration = Duration::from_millis(500);

/// Whether an answer is the partner throttling: 429, or 503 with `Retry-After`.
pub fn is_throttled(status: u16, retry_after: bool) -> bool {
    status == 429 || (status == 503 && retry_after)
}

/// `Retry-After` as a wait: delay-seconds (`120`), or `None` when absent or not a number of
/// seconds (an HTTP date is rare from an API; the exponential back-off applies then).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    let secs: f64 = v.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

/// What throttling cost the run, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ThrottleStats {
    /// Throttled answers seen.
    pub throttled: u64,
    /// Time waited for them, in total.
    pub waited: Duration,
    /// Requests given up while still throttled (re-sends or budget spent).
    pub gave_up: u64,
    /// Whether the wait budget was spent.
    pub exhausted: bool,
    /// The request rate the run settled at (requests per second), when it was lowered.
    pub settled_rate: Option<f64>,
}

/// The run's throttling state, shared by every request of a client.
#[derive(Debug)]
pub struct Throttle {
    budget: Duration,
    waited_us: AtomicU64,
    throttled: AtomicU64,
    gave_up: AtomicU64,
    exhausted: AtomicBool,
    /// The spacing between requests since the partner throttled (zero: none).
    interval_us: AtomicU64,
    next: Mutex<Option<Instant>>,
}

impl Throttle {
    /// A throttle with a total wait budget.
    pub fn new(budget: Duration) -> Self {
        Throttle {
            budget,
            waited_us: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
            exhausted: AtomicBool::new(false),
            interval_us: AtomicU64::new(0),
            next: Mutex::new(None),
        }
    }

    /// Whether the wait budget is spent: the run should stop sending.
    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// What throttling cost so far.
    pub fn stats(&self) -> ThrottleStats {
        let interval = self.interval_us.load(Ordering::Relaxed);
        ThrottleStats {
            throttled: self.throttled.load(Ordering::Relaxed),
            waited: Duration::from_micros(self.waited_us.load(Ordering::Relaxed)),
            gave_up: self.gave_up.load(Ordering::Relaxed),
            exhausted: self.exhausted(),
            settled_rate: (interval > 0).then(|| 1e6 / interval as f64),
        }
    }

    /// Notes a throttled answer to the `attempt`-th send (0: the first) of a request and
    /// returns how long to wait before re-sending it, or `None` to give up (re-sends or budget
    /// spent; the budget is then marked spent). Lowers the pace of the run.
    pub fn on_throttled(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.slow_down();
        if attempt >= MAX_RESENDS || self.exhausted() {
            self.gave_up.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let wait =
            retry_after.unwrap_or_else(|| FIRST_BACKOFF.saturating_mul(1 << attempt.min(16)));
        let wait_us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let budget_us = u64::try_from(self.budget.as_micros()).unwrap_or(u64::MAX);
        let taken = self
            .waited_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                let total = w.saturating_add(wait_us);
                (total <= budget_us).then_some(total)
            });
        if taken.is_err() {
            self.exhausted.store(true, Ordering::Relaxed);
            self.gave_up.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(wait)
    }

    /// Doubles the spacing between requests (from 50 ms, at most [`SLOWEST_INTERVAL`]).
    fn slow_down(&self) {
        let floor = 50_000u64;
        let ceiling = SLOWEST_INTERVAL.as_micros() as u64;
        let _ = self
            .interval_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                Some((i.saturating_mul(2)).clamp(floor, ceiling))
            });
    }

    /// Waits for this request's slot under the lowered pace (nothing before any throttling).
    pub async fn pace(&self) {
        let interval = self.interval_us.load(Ordering::Relaxed);
        if interval == 0 {
            return;
        }
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + Duration::from_micros(interval));
            slot
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_sends_and_the_budget_are_bounded() {
        let t = Throttle::new(Duration::from_secs(1));
        // Exponential back-off without Retry-After: 100, 200, 400 ms fit, 800 ms does not.
        assert_eq!(t.on_throttled(0, None), Some(Duration::from_millis(100)));
        assert_eq!(t.on_throttled(1, None), Some(Duration::from_millis(200)));
        assert_eq!(t.on_throttled(2, None), Some(Duration::from_millis(400)));
        assert_eq!(t.on_throttled(3, None), None);
        assert!(t.exhausted());
        let s = t.stats();
        assert_eq!((s.throttled, s.gave_up), (4, 1));
        assert!(s.settled_rate.is_some());
        // An endless Retry-After is never waited for.
        let t = Throttle::new(Duration::from_secs(60));
        assert_eq!(t.on_throttled(0, Some(Duration::from_secs(86_400))), None);
        assert!(t.exhausted());
        // At most MAX_RESENDS re-sends of one request.
        let t = Throttle::new(Duration::from_secs(3600));
        assert_eq!(t.on_throttled(MAX_RESENDS, Some(Duration::ZERO)), None);
        assert!(!t.exhausted());
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(parse_retry_after(Some(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(Some("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(None), None);
        assert!(is_throttled(429, false) && is_throttled(503, true));
        assert!(!is_throttled(503, false) && !is_throttled(500, true));
    }
}
