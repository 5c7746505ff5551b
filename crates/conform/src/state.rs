//! Read-back: what the partner stored after a case, judged by the state checks
//! (`stored-value`, `stored-per-item`, `refused-not-stored`, `auth-no-effect`).
//!
//! The [`Tracker`] keeps, per item, the last value read (so "unchanged" has a before without a
//! second read), locks the items a case touches until its read-back is done (the runner's own
//! concurrency never races a read), re-reads a mismatch until the settle time is up, stops after
//! repeated probe errors, and remembers each item's first reading for `--restore`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stockwire_schema::{CatalogEntry, ItemKey};
use tokio::sync::Notify;

use crate::cases::UNKNOWN_PREFIX;
use crate::checks::{self, Exchange, Verdict};
use crate::classify::{AuthUse, ItemVerdict};
use crate::observe::StockReader;

/// Probe errors after which the state checks are skipped for the rest of the run.
pub const MAX_ERRORS: u64 = 3;

/// Items read back per case: every item of a case up to this many, else a spread of this many.
pub const READS_PER_CASE: usize = 10;

/// What an item must hold after a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Reported applied with this count: `stored-value`.
    Value(i64),
    /// Sent more than once in one request and reported applied: one of these counts.
    OneOf(Vec<i64>),
    /// Refused (why): nothing may change (`refused-not-stored`, or `auth-no-effect` for an
    /// auth refusal).
    Unchanged(String, &'static str),
    /// Not in the request: another item's update must not touch it (`stored-per-item`).
    Neighbor(String),
    /// The answer says nothing certain (no response, 5xx, duplicates): only re-learned.
    Unknown,
}

/// Folds one exchange into the per-item expectations of its case (later exchanges win).
pub fn expect_from(x: &Exchange<'_>, out: &mut BTreeMap<ItemKey, Expect>) {
    let outcomes = checks::item_outcomes(x);
    let status = x.status();
    for item in x.class.items() {
        let Some(key) = item.key.clone() else {
            continue;
        };
        let applied = outcomes.as_ref().and_then(|m| m.get(&key)).copied();
        let e = if item.duplicate && x.class.auth == AuthUse::Valid {
            match (applied, item.count) {
                (Some(true), Some(n)) => match out.get(&key) {
                    Some(Expect::OneOf(v)) if !v.contains(&i64::from(n)) => {
                        let mut v = v.clone();
                        v.push(i64::from(n));
                        Expect::OneOf(v)
                    }
                    Some(Expect::OneOf(v)) => Expect::OneOf(v.clone()),
                    _ => Expect::OneOf(vec![i64::from(n)]),
                },
                _ => Expect::Unknown,
            }
        } else if x.class.auth != AuthUse::Valid {
            let how = if x.class.auth == AuthUse::Missing {
                "sent without an apiKey"
            } else {
                "sent with a wrong apiKey"
            };
            Expect::Unchanged(how.into(), checks::auth_no_effect::CHECK.id)
        } else {
            match &item.verdict {
                ItemVerdict::Invalid(_) => {
                    Expect::Unchanged("invalid data".into(), checks::refused_not_stored::CHECK.id)
                }
                ItemVerdict::Unknown => Expect::Unchanged(
                    "not in the seller's catalog".into(),
                    checks::refused_not_stored::CHECK.id,
                ),
                ItemVerdict::Valid | ItemVerdict::Tolerated(_) => {
                    match (outcomes.as_ref().and_then(|m| m.get(&key)), item.count) {
                        (Some(true), Some(n)) => Expect::Value(i64::from(n)),
                        (Some(false), _) => {
                            let why = if x.failed_keys().contains(&key) {
                                "reported failed".to_string()
                            } else {
                                format!(
                                    "the whole request was refused: HTTP {}, {}",
                                    status.unwrap_or(0),
                                    checks::describe_body(x)
                                )
                            };
                            Expect::Unchanged(why, checks::refused_not_stored::CHECK.id)
                        }
                        _ => Expect::Unknown,
                    }
                }
            }
        };
        let e = match (out.get(&key), e) {
            // A refusal after an unknown outcome leaves the value unknown.
            (Some(Expect::Unknown), Expect::Unchanged(..)) => Expect::Unknown,
            // A refusal after an applied update expects that update's value.
            (Some(Expect::Value(n)), Expect::Unchanged(..)) => Expect::Value(*n),
            (Some(Expect::OneOf(v)), Expect::Unchanged(..)) => Expect::OneOf(v.clone()),
            (_, e) => e,
        };
        out.insert(key, e);
    }
}

/// The items read back for a case of `keys` (in request order): all of a small case, else a
/// spread with the first, the last and positions across the batch.
pub fn spread(keys: &[ItemKey]) -> Vec<ItemKey> {
    if keys.len() <= READS_PER_CASE {
        return keys.to_vec();
    }
    let n = keys.len();
    let mut picked = BTreeSet::new();
    for i in 0..READS_PER_CASE {
        picked.insert(i * (n - 1) / (READS_PER_CASE - 1));
    }
    picked.into_iter().map(|i| keys[i].clone()).collect()
}

/// One catalog item the case does not name, to see that an update changes only its own item:
/// another variant of the first named product when the catalog has one, else another product.
/// Only cases naming at most two catalog items get one: a neighbor is held (and so kept from
/// other cases) until the read-back, and one per small case keeps the run's concurrency.
pub fn neighbors(catalog: &[CatalogEntry], named: &HashSet<ItemKey>) -> Vec<ItemKey> {
    let in_case: Vec<&CatalogEntry> = catalog
        .iter()
        .filter(|e| named.contains(&e.key()))
        .collect();
    let Some(first) = in_case.first() else {
        return vec![];
    };
    if in_case.len() > 2 {
        return vec![];
    }
    let free = |e: &&CatalogEntry| !named.contains(&e.key());
    catalog
        .iter()
        .filter(free)
        .find(|e| e.product_id == first.product_id)
        .or_else(|| {
            catalog
                .iter()
                .filter(free)
                .find(|e| e.product_id != first.product_id)
        })
        .map(|e| vec![e.key()])
        .unwrap_or_default()
}

/// What the read-back of one case did.
#[derive(Debug, Clone, Default)]
pub struct ReadBack {
    /// State-check verdicts.
    pub verdicts: Vec<Verdict>,
    /// Probe calls (or ledger reads) made.
    pub reads: u64,
    /// Longest wait for a value to settle, in ms.
    pub settle_ms: f64,
}

/// Read-back state shared by every case of a run.
#[derive(Debug)]
pub struct Tracker {
    reader: StockReader,
    settle: Duration,
    catalog: Vec<CatalogEntry>,
    held: Mutex<HashSet<ItemKey>>,
    released: Notify,
    known: Mutex<HashMap<ItemKey, Option<i64>>>,
    originals: Mutex<BTreeMap<ItemKey, Option<i64>>>,
    errors: Mutex<Vec<String>>,
    error_count: AtomicU64,
    disabled: AtomicBool,
    reads: AtomicU64,
    settle_max_us: AtomicU64,
}

/// Items a case holds until its read-back is done; released on drop.
pub struct Held<'a> {
    tracker: &'a Tracker,
    keys: Vec<ItemKey>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Ok(mut h) = self.tracker.held.lock() {
            for k in &self.keys {
                h.remove(k);
            }
        }
        self.tracker.released.notify_waiters();
    }
}

impl Tracker {
    /// A tracker reading through `reader`, giving asynchronous partners `settle` to apply.
    pub fn new(reader: StockReader, settle: Duration, catalog: Vec<CatalogEntry>) -> Self {
        Tracker {
            reader,
            settle,
            catalog,
            held: Mutex::default(),
            released: Notify::new(),
            known: Mutex::default(),
            originals: Mutex::default(),
            errors: Mutex::default(),
            error_count: AtomicU64::new(0),
            disabled: AtomicBool::new(false),
            reads: AtomicU64::new(0),
            settle_max_us: AtomicU64::new(0),
        }
    }

    /// What is read.
    pub fn describe(&self) -> String {
        self.reader.describe()
    }

    /// Whether repeated errors stopped the read-back.
    pub fn disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The longest settling wait so far.
    pub fn settle_max(&self) -> Duration {
        Duration::from_micros(self.settle_max_us.load(Ordering::Relaxed))
    }

    /// The configured settle time.
    pub fn settle(&self) -> Duration {
        self.settle
    }

    /// The probe errors seen (first few), and how many there were.
    pub fn errors(&self) -> (Vec<String>, u64) {
        (
            self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            self.error_count.load(Ordering::Relaxed),
        )
    }

    /// Each item's first reading, before the run touched it (for `--restore`).
    pub fn originals(&self) -> BTreeMap<ItemKey, Option<i64>> {
        self.originals.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The last value read for each item.
    pub fn known(&self) -> HashMap<ItemKey, Option<i64>> {
        self.known.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Waits until none of `keys` is held by another case, then holds them all.
    pub async fn hold(&self, keys: Vec<ItemKey>) -> Held<'_> {
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut h = match self.held.lock() {
                    Ok(h) => h,
                    Err(p) => p.into_inner(),
                };
                if keys.iter().all(|k| !h.contains(k)) {
                    h.extend(keys.iter().cloned());
                    return Held {
                        tracker: self,
                        keys,
                    };
                }
            }
            notified.await;
        }
    }

    fn record_error(&self, e: String) {
        let n = self.error_count.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut errs) = self.errors.lock() {
            if errs.len() < 5 {
                errs.push(e);
            }
        }
        if n >= MAX_ERRORS {
            self.disabled.store(true, Ordering::Relaxed);
        }
    }

    /// Reads `keys` once; records errors (and, on a `first` read, each item's original value);
    /// returns a value per key (`None` on error).
    async fn read(&self, keys: &[ItemKey], first: bool) -> Vec<Option<Option<i64>>> {
        if keys.is_empty() || self.disabled() {
            return vec![None; keys.len()];
        }
        self.reads.fetch_add(keys.len() as u64, Ordering::Relaxed);
        let got = self.reader.read_many(keys).await;
        let mut out = Vec::with_capacity(keys.len());
        for (k, r) in keys.iter().zip(got) {
            match r {
                Ok(v) => {
                    if !first {
                        out.push(Some(v));
                        continue;
                    }
                    if let Ok(mut o) = self.originals.lock() {
                        o.entry(k.clone()).or_insert(v);
                    }
                    out.push(Some(v));
                }
                Err(e) => {
                    self.record_error(e);
                    out.push(None);
                }
            }
        }
        out
    }

    /// Makes sure every catalog-like key has a known value before a case touches it: reads
    /// those never read. Ids the generator invented are taken as never set. Returns reads made.
    pub async fn before(&self, keys: &[ItemKey]) -> u64 {
        let unknown: Vec<ItemKey> = {
            let known = match self.known.lock() {
                Ok(k) => k,
                Err(p) => p.into_inner(),
            };
            keys.iter()
                .filter(|k| !known.contains_key(*k) && !invented(k))
                .filter(|k| !k.product_id.contains('\0') && !k.variant_id.contains('\0'))
                .cloned()
                .collect()
        };
        let values = self.read(&unknown, true).await;
        if let Ok(mut known) = self.known.lock() {
            for (k, v) in unknown.iter().zip(values) {
                if let Some(v) = v {
                    known.insert(k.clone(), v);
                }
            }
        }
        unknown.len() as u64
    }

    fn known_value(&self, k: &ItemKey) -> Option<Option<i64>> {
        let known = self.known.lock().ok()?;
        match known.get(k) {
            Some(v) => Some(*v),
            None if invented(k) => Some(None),
            None => None,
        }
    }

    /// Reads back `expect`'s items (a spread of `order` plus the neighbors), re-reading a
    /// mismatch until the settle time is up, and judges each.
    pub async fn after(
        &self,
        order: &[ItemKey],
        neighbors: &[ItemKey],
        expect: &BTreeMap<ItemKey, Expect>,
    ) -> ReadBack {
        let mut rb = ReadBack::default();
        let mut keys = spread(order);
        keys.extend(neighbors.iter().cloned());
        // An id with a NUL byte cannot reach a command (nor an environment variable).
        keys.retain(|k| !k.product_id.contains('\0') && !k.variant_id.contains('\0'));
        // Before-values, then targets.
        let mut wanted: Vec<(ItemKey, Option<i64>, Expect)> = Vec::new();
        for k in &keys {
            let e = expect.get(k).cloned().unwrap_or_else(|| {
                if neighbors.contains(k) {
                    Expect::Neighbor("not named in the request".into())
                } else {
                    Expect::Unknown
                }
            });
            let before = self.known_value(k);
            let target = match &e {
                Expect::Value(n) => Some(Some(*n)),
                Expect::OneOf(v) => v.first().map(|n| Some(*n)),
                Expect::Unchanged(..) | Expect::Neighbor(_) => before,
                Expect::Unknown => None,
            };
            match target {
                Some(t) => wanted.push((k.clone(), t, e)),
                None => wanted.push((k.clone(), None, Expect::Unknown)),
            }
        }
        let all: Vec<ItemKey> = wanted.iter().map(|w| w.0.clone()).collect();
        let started = Instant::now();
        let mut values = self.read(&all, false).await;
        rb.reads += all.len() as u64;
        let holds = |w: &(ItemKey, Option<i64>, Expect), got: &Option<i64>| match &w.2 {
            Expect::OneOf(v) => got.is_some_and(|g| v.contains(&g)),
            _ => *got == w.1,
        };
        let mismatch = |w: &(ItemKey, Option<i64>, Expect), v: &Option<Option<i64>>| {
            !matches!(w.2, Expect::Unknown) && matches!(v, Some(got) if !holds(w, got))
        };
        let mut pause = Duration::from_millis(25);
        loop {
            let pending: Vec<usize> = (0..wanted.len())
                .filter(|i| mismatch(&wanted[*i], &values[*i]))
                .collect();
            if pending.is_empty() || started.elapsed() >= self.settle || self.disabled() {
                break;
            }
            let left = self.settle.saturating_sub(started.elapsed());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(400));
            let again: Vec<ItemKey> = pending.iter().map(|i| wanted[*i].0.clone()).collect();
            let fresh = self.read(&again, false).await;
            rb.reads += again.len() as u64;
            for (i, v) in pending.iter().zip(fresh) {
                if v.is_some() {
                    values[*i] = v;
                }
            }
            if !pending.iter().any(|i| mismatch(&wanted[*i], &values[*i])) {
                let waited = started.elapsed();
                rb.settle_ms = waited.as_secs_f64() * 1000.0;
                self.settle_max_us
                    .fetch_max(waited.as_micros() as u64, Ordering::Relaxed);
            }
        }
        let settle_note = |waited: Duration| {
            format!(
                "read back after {:.1} s of settling (--stock-settle {})",
                waited.as_secs_f64(),
                humantime::format_duration(self.settle)
            )
        };
        for (w, v) in wanted.iter().zip(&values) {
            let Some(got) = v else { continue };
            let (key, target, e) = w;
            let k = checks::short_key(key);
            let shown =
                |x: &Option<i64>| x.map_or("nothing (never set)".to_string(), |n| n.to_string());
            let ok = holds(w, got);
            match e {
                Expect::OneOf(sent) => rb.verdicts.push(if ok {
                    Verdict::pass(checks::stored_value::CHECK.id)
                } else {
                    let sent: Vec<String> = sent.iter().map(i64::to_string).collect();
                    Verdict::fail(
                        checks::stored_value::CHECK.id,
                        format!(
                            "item {k}, sent more than once with inventory {} and reported applied, holds {} ({})",
                            sent.join(" / "),
                            shown(got),
                            settle_note(started.elapsed())
                        ),
                    )
                }),
                Expect::Value(n) => rb.verdicts.push(if ok {
                    Verdict::pass(checks::stored_value::CHECK.id)
                } else {
                    checks::stored_value::fail(&k, *n, &shown(got), &settle_note(started.elapsed()))
                }),
                Expect::Unchanged(why, check) => rb.verdicts.push(if ok {
                    Verdict::pass(check)
                } else {
                    Verdict::fail(
                        check,
                        format!(
                            "item {k} ({why}) changed from {} to {}",
                            shown(target),
                            shown(got)
                        ),
                    )
                }),
                Expect::Neighbor(_) => rb.verdicts.push(if ok {
                    Verdict::pass(checks::stored_per_item::CHECK.id)
                } else {
                    checks::stored_per_item::fail(&k, &shown(target), &shown(got))
                }),
                Expect::Unknown => {}
            }
        }
        if let Ok(mut known) = self.known.lock() {
            for ((key, _, _), v) in wanted.iter().zip(&values) {
                match v {
                    Some(got) => {
                        known.insert(key.clone(), *got);
                    }
                    None => {
                        known.remove(key);
                    }
                }
            }
            // Items of a large case that were not read: the value reported applied, or
            // unchanged when refused; unknown otherwise (read again before the next touch).
            for k in order {
                if all.contains(k) {
                    continue;
                }
                match expect.get(k) {
                    Some(Expect::Value(n)) => {
                        known.insert(k.clone(), Some(*n));
                    }
                    Some(Expect::Unchanged(..)) => {}
                    _ => {
                        known.remove(k);
                    }
                }
            }
        }
        rb
    }

    /// Catalog entries of the run.
    pub fn catalog(&self) -> &[CatalogEntry] {
        &self.catalog
    }
}

/// Whether the generator made the id up (it cannot be stored unless the partner is wrong).
fn invented(k: &ItemKey) -> bool {
    k.product_id.starts_with(UNKNOWN_PREFIX) || k.variant_id.starts_with(UNKNOWN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_has_first_last_and_positions_across() {
        let keys: Vec<ItemKey> = (0..1000)
            .map(|i| ItemKey::new(format!("P{i}"), "V"))
            .collect();
        let s = spread(&keys);
        assert_eq!(s.len(), READS_PER_CASE);
        assert_eq!(s[0], keys[0]);
        assert_eq!(s[READS_PER_CASE - 1], keys[999]);
        assert!(s.iter().any(|k| k.product_id == "P444"));
        assert_eq!(spread(&keys[..7]).len(), 7);
    }
}
