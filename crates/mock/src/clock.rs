//! The mock's wall clock, injectable so that tests of time-based behaviour (token lifetimes,
//! rate limits, daily windows, the journal's timestamps) never depend on real time; and the
//! time since start or reset (the journal's `elapsedMs`, `elapsed` rules).

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of wall-clock time, as a duration since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// The current time since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The operating system's clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// A clock that only moves when told to: [`ManualClock::advance`] and [`ManualClock::set`].
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `since_epoch`.
    pub fn new(since_epoch: Duration) -> ManualClock {
        ManualClock {
            nanos: AtomicU64::new(since_epoch.as_nanos() as u64),
        }
    }

    /// A clock standing at a UTC time of day on 2026-01-01 (`hour`, `minute`), handy for daily windows.
    pub fn at_utc(hour: u64, minute: u64) -> ManualClock {
        // 2026-01-01T00:00:00Z.
        const DAY0: u64 = 1_767_225_600;
        ManualClock::new(Duration::from_secs(DAY0 + hour * 3600 + minute * 60))
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }

    /// Puts the clock at a time since the epoch.
    pub fn set(&self, since_epoch: Duration) {
        self.nanos
            .store(since_epoch.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// Time since the mock started or was last reset, read without a lock.
#[derive(Debug)]
pub(crate) struct Uptime {
    /// When the process's mock started; `restarted` counts from it.
    base: Instant,
    /// Nanoseconds from `base` to the start or the last reset.
    restarted: AtomicU64,
}

impl Uptime {
    /// Starts counting now.
    pub fn new() -> Uptime {
        Uptime {
            base: Instant::now(),
            restarted: AtomicU64::new(0),
        }
    }

    /// Time since start or reset.
    pub fn elapsed(&self) -> Duration {
        self.elapsed_at(Instant::now())
    }

    /// Time from start or reset to `t`.
    pub fn elapsed_at(&self, t: Instant) -> Duration {
        let since_base = t.saturating_duration_since(self.base);
        since_base.saturating_sub(Duration::from_nanos(self.restarted.load(Ordering::Relaxed)))
    }

    /// Counts from now on (a reset).
    pub fn restart(&self) {
        let since_base = self.base.elapsed().as_nanos();
        self.restarted.store(
            u64::try_from(since_base).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// A daily UTC window `from..to` (seconds of the day); `to < from` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DailyWindow {
    pub from: u64,
    pub to: u64,
}

impl DailyWindow {
    /// Parses `"HH:MM"` or `"HH:MM:SS"` bounds.
    pub fn parse(from: &str, to: &str) -> Result<DailyWindow, String> {
        Ok(DailyWindow {
            from: time_of_day(from)?,
            to: time_of_day(to)?,
        })
    }

    /// Whether `now` (since the epoch) falls inside the window (start inclusive, end exclusive).
    pub fn contains(&self, now: Duration) -> bool {
        let s = now.as_secs() % 86_400;
        if self.from <= self.to {
            s >= self.from && s < self.to
        } else {
            s >= self.from || s < self.to
        }
    }

    /// `02:00–02:15 UTC`.
    pub fn describe(&self) -> String {
        let f = |s: u64| format!("{:02}:{:02}", s / 3600, (s % 3600) / 60);
        format!("{}–{} UTC", f(self.from), f(self.to))
    }
}

fn time_of_day(t: &str) -> Result<u64, String> {
    let bad = || format!("`{t}` is not a UTC time of day like \"02:15\"");
    let parts: Vec<&str> = t.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let num = |s: &str, max: u64| {
        s.parse::<u64>()
            .ok()
            .filter(|n| *n <= max && s.len() == 2)
            .ok_or_else(bad)
    };
    let h = num(parts[0], 24)?;
    let m = num(parts[1], 59)?;
    let s = parts.get(2).map(|s| num(s, 59)).transpose()?.unwrap_or(0);
    let total = h * 3600 + m * 60 + s;
    if total > 86_400 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_windows_wrap_past_midnight() {
        let w = DailyWindow::parse("02:00", "02:15").unwrap();
        assert!(w.contains(ManualClock::at_utc(2, 0).now()));
        assert!(w.contains(ManualClock::at_utc(2, 14).now()));
        assert!(!w.contains(ManualClock::at_utc(2, 15).now()));
        assert!(!w.contains(ManualClock::at_utc(1, 59).now()));
        let night = DailyWindow::parse("23:30", "00:30").unwrap();
        assert!(night.contains(ManualClock::at_utc(0, 10).now()));
        assert!(!night.contains(ManualClock::at_utc(12, 0).now()));
        assert!(DailyWindow::parse("2:00", "03:00").is_err());
        assert!(DailyWindow::parse("25:00", "03:00").is_err());
        assert_eq!(w.describe(), "02:00–02:15 UTC");
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let c = ManualClock::at_utc(0, 0);
        let t = c.now();
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now() - t, Duration::from_millis(1500));
    }
}
