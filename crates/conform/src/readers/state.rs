//! Read-back: what the partner stored after a case, judged by the state checks
//! (`stored-value`, `stored-per-item`, `refused-not-stored`, `auth-no-effect`).
//!
//! The [`Tracker`] keeps, per item, the last value read (so "unchanged" has a before without a
//! second read), locks the items a case touches until its read-back is done (the runner's own
//! concurrency never races a read), re-reads a mismatch until the settle time is up, stops after
//! repeated probe errors, and remembers each item's first reading for `--restore`.
//!
//! The settle time is spent once per violation, not once per item: once a state check's
//! violation is proven (a mismatch outlived a whole settle), later mismatches of that check are
//! judged on their first read and still counted, and read-backs waiting on that check stop
//! waiting when the proof comes ([`Tracker::proven`]). A broken partner then costs a few settle
//! times in all, however many cases are read back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stockwire_schema::{CatalogEntry, ItemKey};
use tokio::sync::Notify;

use crate::checks::classify::{AuthUse, ItemVerdict};
use crate::checks::{self, Exchange, Fact, Stored, Verdict};
use crate::model::ids::UNKNOWN_PREFIX;
use crate::readers::observe::{ReadError, StockReader};

/// Probe errors after which the state checks are skipped for the rest of the run.
pub const MAX_ERRORS: u64 = 3;

/// Items read back per case: every item of a case up to this many, else a spread of this many.
pub const READS_PER_CASE: usize = 10;

/// What one exchange showed of the partner's batch policy: in a request with an invalid or
/// unknown item, were the valid ones applied (per item) or refused with it (whole batch)?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchEvidence {
    /// A valid item was applied next to a refused invalid or unknown one.
    pub per_item: bool,
    /// A valid item was refused next to an invalid or unknown one.
    pub whole_batch: bool,
}

/// Folds one exchange into what the case did to each item it names (later exchanges win; `None`:
/// the answers say nothing certain, e.g. no response, a 5xx, or a duplicate without a clear
/// outcome, so the item is only re-learned), and returns what it showed of the batch policy.
pub fn expect_from(x: &Exchange<'_>, out: &mut BTreeMap<ItemKey, Option<Fact>>) -> BatchEvidence {
    let mixed = x.class.auth == AuthUse::Valid
        && x.class
            .items()
            .iter()
            .any(|i| matches!(i.verdict, ItemVerdict::Invalid(_) | ItemVerdict::Unknown));
    let mut evidence = BatchEvidence::default();
    let outcomes = checks::item_outcomes(x);
    let status = x.status();
    // Counts of an item named more than once in this request: any of them may be the one stored.
    let mut repeated: HashSet<ItemKey> = HashSet::new();
    for item in x.class.items() {
        let Some(key) = item.key.clone() else {
            continue;
        };
        let applied = outcomes.as_ref().and_then(|m| m.get(&key)).copied();
        let fact = if x.class.auth != AuthUse::Valid {
            let why = if x.class.auth == AuthUse::Missing {
                "sent without an apiKey"
            } else {
                "sent with a wrong apiKey"
            };
            Some(Fact::Refused {
                why: why.into(),
                auth: true,
            })
        } else if item.duplicate {
            match (applied, item.count) {
                (Some(true), Some(n)) => {
                    let mut sent = match out.get(&key) {
                        Some(Some(Fact::Applied(v))) if repeated.contains(&key) => v.clone(),
                        _ => vec![],
                    };
                    // In the order sent, the last value last (`duplicate-last-wins`).
                    sent.retain(|&v| v != i64::from(n));
                    sent.push(i64::from(n));
                    repeated.insert(key.clone());
                    Some(Fact::Applied(sent))
                }
                _ => None,
            }
        } else {
            let refused = |why: String| Some(Fact::Refused { why, auth: false });
            let valid =
                |applied: Option<bool>, count: Option<u32>, key: &ItemKey| match (applied, count) {
                    (Some(true), Some(n)) => Some(Fact::Applied(vec![i64::from(n)])),
                    (Some(false), _) if x.failed_keys().contains(key) => {
                        refused("reported failed".into())
                    }
                    (Some(false), _) => refused(format!(
                        "the whole request was refused: HTTP {}, {}",
                        status.unwrap_or(0),
                        checks::describe_body(x)
                    )),
                    _ => None,
                };
            match &item.verdict {
                ItemVerdict::Invalid(_) => refused("invalid data".into()),
                ItemVerdict::Unknown => refused("not in the seller's catalog".into()),
                ItemVerdict::Valid | ItemVerdict::Tolerated(_) if mixed => {
                    match applied {
                        Some(true) => evidence.per_item = true,
                        Some(false) => evidence.whole_batch = true,
                        None => {}
                    }
                    valid(applied, item.count, &key)
                }
                ItemVerdict::Valid | ItemVerdict::Tolerated(_) => valid(applied, item.count, &key),
            }
        };

        let fact = match (out.get(&key), fact) {
            // A refusal after an unknown outcome leaves the value unknown.
            (Some(None), Some(Fact::Refused { .. })) => None,
            // A refusal after an applied update expects that update's value.
            (Some(Some(Fact::Applied(v))), Some(Fact::Refused { .. })) => {
                Some(Fact::Applied(v.clone()))
            }
            (_, f) => f,
        };
        out.insert(key, fact);
    }
    evidence
}

/// Whether a request may leave its items unchanged (refused), so that judging them needs the
/// values they held before: `Some(true)` for every item of a request sent without the right
/// apiKey; for a request with an invalid or unknown item, `Some(true)` for those items and
/// `Some(false)` for the valid ones (refused only by a partner that rejects whole batches);
/// `None` otherwise.
pub fn may_refuse(
    class: &crate::checks::classify::Classified,
    item: &crate::checks::classify::ItemClass,
) -> Option<bool> {
    let bad = |i: &crate::checks::classify::ItemClass| {
        matches!(i.verdict, ItemVerdict::Invalid(_) | ItemVerdict::Unknown)
    };
    if class.auth != AuthUse::Valid || bad(item) {
        Some(true)
    } else if class.items().iter().any(bad) {
        Some(false)
    } else {
        None
    }
}

/// The items read back for a case of `keys` (in request order): all of a small case, else a
/// spread with the first, the last and positions across the batch.
pub fn spread<T: Clone>(keys: &[T]) -> Vec<T> {
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

/// An unknown pair a case sent whose variantId names a catalog item it does not name (by that
/// item's variantId, or its SKU): a partner that finds items by that id alone applies the
/// update to the catalog item, which is read before and after to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The pair as sent (unknown to the partner).
    pub sent: ItemKey,
    /// The catalog item it shares the id with.
    pub target: ItemKey,
    /// The inventory sent for it.
    pub count: i64,
    /// Shared through the catalog item's SKU rather than its variantId.
    pub by_sku: bool,
}

impl Alias {
    /// The defect in a partner's words, when the target changed to the value sent.
    pub fn words(&self, before: Option<i64>) -> String {
        let short = |s: &str| crate::text::elide(s, 40);
        let what = if self.by_sku {
            format!(
                "productId is ignored and variantId is read as a SKU: an update for ({}, {}) was applied to the stock of SKU {}",
                short(&self.sent.product_id),
                short(&self.sent.variant_id),
                short(&self.sent.variant_id)
            )
        } else {
            format!(
                "productId is ignored: an update for ({}, {}) was applied to {}'s stock",
                short(&self.sent.product_id),
                short(&self.sent.variant_id),
                short(&self.sent.variant_id)
            )
        };
        format!(
            "{what} (item {} changed from {} to {})",
            checks::short_key(&self.target),
            Stored::shown(before),
            self.count
        )
    }
}

/// Whether a case is read back, and whether it also reads a neighbor (an item it does not
/// name) for `stored-per-item`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// Read back what the case's items hold.
    pub read: bool,
    /// Also read a neighbor before and after.
    pub neighbor: bool,
}

impl ReadPlan {
    /// Read everything: the items and a neighbor.
    pub const FULL: ReadPlan = ReadPlan {
        read: true,
        neighbor: true,
    };
    /// Read nothing.
    pub const NONE: ReadPlan = ReadPlan {
        read: false,
        neighbor: false,
    };
}

/// Probe calls the sampled read-back may spend before the first case (see [`read_budget`]).
pub const READS_FLOOR: u64 = 12;

/// Cases sent per probe call the sampled read-back may spend.
pub const CASES_PER_READ: u64 = 5;

/// The probe calls a sampled read-back may have spent once `dispatched` cases are sent: the
/// cost of reading stays a fixed share of the run's own, whatever its length.
pub fn read_budget(dispatched: u64) -> u64 {
    READS_FLOOR + dispatched / CASES_PER_READ
}

/// Read-back cases that also read a neighbor, per case of each kind read back: a handful of
/// cases shows a spill onto other items; every case would double the probe calls.
pub const NEIGHBOR_CASES: u32 = 4;

/// What the read-back of one case did.
#[derive(Debug, Clone, Default)]
pub struct ReadBack {
    /// State-check verdicts.
    pub verdicts: Vec<Verdict>,
    /// Probe calls (or ledger reads) made.
    pub reads: u64,
    /// Longest wait for a value to settle, in ms.
    pub settle_ms: f64,
    /// Whether this read-back waited for values to settle (re-read a mismatch).
    pub waited: bool,
}

/// A state check whose violation a read-back proved: a mismatch that outlived the whole settle
/// time. Later mismatches of the check are judged on one read (and still counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The check.
    pub check: &'static str,
    /// The item whose mismatch outlived the settle time, shown short.
    pub item: String,
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
    /// Values a case that was not read back sent and saw reported applied, per item: an
    /// asynchronous partner may still be applying them when a later case reads the item.
    pending: Mutex<HashMap<ItemKey, Vec<i64>>>,
    /// The partner was seen applying valid items next to refused ones.
    per_item: AtomicBool,
    /// The partner was seen refusing valid items with an invalid one.
    whole_batch: AtomicBool,
    originals: Mutex<BTreeMap<ItemKey, Option<i64>>>,
    /// Items read holding a number that is no valid stock, in words, until a read-back of the
    /// case holding them reports it (`stored-value`).
    invalid: Mutex<BTreeMap<ItemKey, String>>,
    errors: Mutex<Vec<String>>,
    error_count: AtomicU64,
    disabled: AtomicBool,
    reads: AtomicU64,
    /// Reads of items the reader could not see (unknown, not errors).
    unseen: AtomicU64,
    settle_max_us: AtomicU64,
    /// Read-backs that waited for values to settle.
    settle_waits: AtomicU64,
    /// Checks whose violation is proven, in the order proven.
    proven: Mutex<Vec<Proven>>,
    /// Mismatches judged on one read because their check was proven.
    unsettled: AtomicU64,
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
            pending: Mutex::default(),
            per_item: AtomicBool::new(false),
            whole_batch: AtomicBool::new(false),
            originals: Mutex::default(),
            invalid: Mutex::default(),
            errors: Mutex::default(),
            error_count: AtomicU64::new(0),
            disabled: AtomicBool::new(false),
            reads: AtomicU64::new(0),
            unseen: AtomicU64::new(0),
            settle_max_us: AtomicU64::new(0),
            settle_waits: AtomicU64::new(0),
            proven: Mutex::default(),
            unsettled: AtomicU64::new(0),
        }
    }

    /// Read-backs that waited for values to settle: at most one per check proven, plus those
    /// that settled and those already waiting when the proof came.
    pub fn settle_waits(&self) -> u64 {
        self.settle_waits.load(Ordering::Relaxed)
    }

    /// The checks whose violation a read-back proved (a mismatch outlived the settle time):
    /// later mismatches of these were judged on one read.
    pub fn proven(&self) -> Vec<Proven> {
        self.proven.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Mismatches judged on one read because their check's violation was already proven.
    pub fn unsettled(&self) -> u64 {
        self.unsettled.load(Ordering::Relaxed)
    }

    fn is_proven(&self, check: &str) -> bool {
        self.proven
            .lock()
            .map(|p| p.iter().any(|x| x.check == check))
            .unwrap_or(false)
    }

    fn prove(&self, check: &'static str, item: &str) {
        if let Ok(mut p) = self.proven.lock()
            && !p.iter().any(|x| x.check == check)
        {
            p.push(Proven {
                check,
                item: item.to_string(),
            });
        }
    }

    /// Whether stock is read through the partner's listing.
    pub fn reads_listing(&self) -> bool {
        matches!(self.reader, StockReader::Listing(_))
    }

    /// The reader of stored stock.
    pub fn reader(&self) -> &StockReader {
        &self.reader
    }

    /// What is read.
    pub fn describe(&self) -> String {
        self.reader.describe()
    }

    /// Takes note of what an exchange showed of the partner's batch policy.
    pub fn learn(&self, e: BatchEvidence) {
        if e.per_item {
            self.per_item.store(true, Ordering::Relaxed);
        }
        if e.whole_batch {
            self.whole_batch.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the valid items of a batch with an invalid one need a read before: not once
    /// the partner was seen applying such items, and never refusing them.
    pub fn batch_may_be_refused(&self) -> bool {
        !self.per_item.load(Ordering::Relaxed) || self.whole_batch.load(Ordering::Relaxed)
    }

    /// Whether repeated errors stopped the read-back.
    pub fn disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Items the reader could not see when asked (unknown: their state checks were skipped).
    pub fn unseen(&self) -> u64 {
        self.unseen.load(Ordering::Relaxed)
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
                Err(ReadError::Unknown(_)) => {
                    self.unseen.fetch_add(1, Ordering::Relaxed);
                    out.push(None);
                }
                Err(ReadError::Invalid(words)) => {
                    if let Ok(mut inv) = self.invalid.lock() {
                        inv.insert(k.clone(), words);
                    }
                    out.push(None);
                }
                Err(ReadError::Failed(e)) => {
                    self.record_error(e);
                    out.push(None);
                }
            }
        }
        out
    }

    /// Reads those of `keys` whose value is not known, so that an item a case may leave
    /// unchanged has a before (an id the generator invented is read too: a partner that keys
    /// items by one id may find a stored item under it, so "never set" is never assumed). With `restore`,
    /// also reads every key the run has not read yet, for its original value. Returns reads
    /// made.
    pub async fn before(&self, keys: &[ItemKey], restore: bool) -> u64 {
        let unknown: Vec<ItemKey> = {
            let known = match self.known.lock() {
                Ok(k) => k,
                Err(p) => p.into_inner(),
            };
            let originals = match self.originals.lock() {
                Ok(o) => o,
                Err(p) => p.into_inner(),
            };
            keys.iter()
                .filter(|k| readable(k) && self.reader.can_read(k))
                .filter(|k| !known.contains_key(*k) || (restore && !originals.contains_key(*k)))
                .cloned()
                .collect()
        };
        let values = self.read(&unknown, true).await;
        self.landed(&unknown, &values);
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
        known.get(k).copied()
    }

    /// After a case that is not read back: what its items hold is no longer known (a partner
    /// may not have done what it answered), so the next case that needs one reads it again;
    /// values reported applied are remembered as pending (see [`Tracker::after`]).
    pub fn forget(&self, keys: &[ItemKey], facts: &BTreeMap<ItemKey, Option<Fact>>) {
        if let Ok(mut known) = self.known.lock() {
            for k in keys {
                known.remove(k);
            }
        }
        if let Ok(mut pending) = self.pending.lock() {
            for k in keys {
                if let Some(Some(Fact::Applied(v))) = facts.get(k) {
                    pending.insert(k.clone(), v.clone());
                }
            }
        }
    }

    /// Forgets the pending values that reads show have landed.
    fn landed(&self, keys: &[ItemKey], values: &[Option<Option<i64>>]) {
        if let Ok(mut p) = self.pending.lock() {
            for (k, v) in keys.iter().zip(values) {
                if let Some(Some(v)) = v {
                    if p.get(k).is_some_and(|sent| sent.contains(v)) {
                        p.remove(k);
                    }
                }
            }
        }
    }

    /// Whether `v` is a value an earlier case sent to `k` and that may still be on its way.
    fn is_pending(&self, k: &ItemKey, v: Option<i64>) -> bool {
        let Some(v) = v else { return false };
        self.pending
            .lock()
            .map(|p| p.get(k).is_some_and(|sent| sent.contains(&v)))
            .unwrap_or(false)
    }

    /// Judges `item` by every enabled state check.
    fn judge(item: &Stored<'_>, enabled: &HashSet<&'static str>) -> Vec<Verdict> {
        checks::state_judges()
            .filter(|(c, _)| enabled.contains(c.id))
            .filter_map(|(_, j)| j(item))
            .collect()
    }

    /// Reads back a spread of `order` plus the `neighbors`, re-reading a value some enabled
    /// state check rejects until the settle time is up, and judges each item by them.
    pub async fn after(
        &self,
        order: &[ItemKey],
        neighbors: &[ItemKey],
        aliases: &[Alias],
        facts: &BTreeMap<ItemKey, Option<Fact>>,
        enabled: &HashSet<&'static str>,
    ) -> ReadBack {
        let mut rb = ReadBack::default();
        let mut keys = plan(order, neighbors);
        for a in aliases {
            if readable(&a.target) && !keys.contains(&a.target) {
                keys.push(a.target.clone());
            }
        }
        // Ids the generator invented are never shown: only a known item out of sight counts.
        let unseen = keys
            .iter()
            .filter(|k| !invented(k) && !self.reader.can_read(k))
            .count();
        keys.retain(|k| self.reader.can_read(k));
        self.unseen.fetch_add(unseen as u64, Ordering::Relaxed);
        // What the case did to each item read, and what it held before.
        let wanted: Vec<(ItemKey, Option<Fact>, Option<Option<i64>>)> = keys
            .iter()
            .map(|k| {
                let fact = match facts.get(k) {
                    Some(f) => f.clone(),
                    None if neighbors.contains(k) => Some(Fact::NotNamed),
                    None => None,
                };
                (k.clone(), fact, self.known_value(k))
            })
            .collect();
        let shorts: Vec<String> = keys.iter().map(checks::short_key).collect();
        let verdicts = |i: usize, got: Option<i64>, settle: &str| -> Vec<Verdict> {
            let Some(fact) = &wanted[i].1 else {
                return vec![];
            };
            // An item that must be unchanged but now holds what an earlier case (not read
            // back) sent: that update may have landed late, so this case cannot tell.
            let before = match fact {
                Fact::Applied(_) => wanted[i].2,
                _ if wanted[i].2 != Some(got) && self.is_pending(&wanted[i].0, got) => None,
                _ => wanted[i].2,
            };
            Self::judge(
                &Stored {
                    key: &shorts[i],
                    fact,
                    before,
                    after: got,
                    settle,
                },
                enabled,
            )
        };
        // The checks a value read fails (none: accepted, or not read).
        let failing = |i: usize, v: &Option<Option<i64>>| -> Vec<&'static str> {
            match v {
                Some(got) => verdicts(i, *got, "")
                    .into_iter()
                    .filter(|v| v.failure.is_some())
                    .map(|v| v.check)
                    .collect(),
                None => vec![],
            }
        };
        let rejected = |i: usize, v: &Option<Option<i64>>| !failing(i, v).is_empty();
        // A mismatch is waited for only while one of its checks is not proven yet.
        let worth_waiting =
            |i: usize, v: &Option<Option<i64>>| failing(i, v).iter().any(|c| !self.is_proven(c));
        let started = Instant::now();
        let mut values = self.read(&keys, false).await;
        rb.reads += keys.len() as u64;
        let mut pause = Duration::from_millis(25);
        let mut cut_short = false;
        loop {
            let pending: Vec<usize> = (0..wanted.len())
                .filter(|i| rejected(*i, &values[*i]))
                .collect();
            if pending.is_empty() || started.elapsed() >= self.settle || self.disabled() {
                break;
            }
            if !pending.iter().any(|i| worth_waiting(*i, &values[*i])) {
                cut_short = true;
                break;
            }
            if !rb.waited {
                rb.waited = true;
                self.settle_waits.fetch_add(1, Ordering::Relaxed);
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
            if !pending.iter().any(|i| rejected(*i, &values[*i])) {
                let waited = started.elapsed();
                rb.settle_ms = waited.as_secs_f64() * 1000.0;
                self.settle_max_us
                    .fetch_max(waited.as_micros() as u64, Ordering::Relaxed);
            }
        }
        // A mismatch that outlived the whole settle time proves its checks' violations.
        if rb.waited && !cut_short && started.elapsed() >= self.settle && !self.disabled() {
            for (i, v) in values.iter().enumerate() {
                for c in failing(i, v) {
                    self.prove(c, &shorts[i]);
                }
            }
        }
        let settle = if cut_short {
            let n = (0..wanted.len())
                .filter(|i| rejected(*i, &values[*i]))
                .count();
            self.unsettled.fetch_add(n as u64, Ordering::Relaxed);
            format!(
                "read back after {:.1} s; not waited for further: the check's violation was already proven by a mismatch that outlived the whole --stock-settle {}",
                started.elapsed().as_secs_f64(),
                humantime::format_duration(self.settle)
            )
        } else {
            format!(
                "read back after {:.1} s of settling (--stock-settle {})",
                started.elapsed().as_secs_f64(),
                humantime::format_duration(self.settle)
            )
        };
        // A partner keying items by one id: the catalog item an unknown pair shares its
        // variantId with took the value sent. One cause in the partner's words; what the same
        // update showed on the pair as read (a probe may read by that id too) and on the item as
        // a neighbor is that cause, not another.
        let position = |k: &ItemKey| keys.iter().position(|x| x == k);
        let mut explained: HashSet<usize> = HashSet::new();
        let check = crate::checks::refused_not_stored::CHECK.id;
        for a in aliases {
            let Some(t) = position(&a.target) else {
                continue;
            };
            let (Some(before), Some(after)) = (wanted[t].2, values[t]) else {
                continue;
            };
            if after == Some(a.count) && before != after {
                explained.insert(t);
                explained.extend(position(&a.sent));
                if enabled.contains(check) {
                    rb.verdicts.push(Verdict::fail(check, a.words(before)));
                }
            }
        }
        // A number that is no valid stock: the partner stored an invalid value, once per item.
        let stored = crate::checks::stored_value::CHECK.id;
        if let Ok(mut inv) = self.invalid.lock() {
            for k in &keys {
                if let Some(words) = inv.remove(k)
                    && enabled.contains(stored)
                {
                    rb.verdicts.push(Verdict::fail(
                        stored,
                        format!("{words}: the partner stored an invalid value"),
                    ));
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(got) = v {
                let mut vs = verdicts(i, *got, &settle);
                if explained.contains(&i) {
                    vs.retain(|v| v.failure.is_none());
                }
                rb.verdicts.extend(vs);
            }
        }
        self.landed(&keys, &values);
        if let Ok(mut known) = self.known.lock() {
            for (key, v) in keys.iter().zip(&values) {
                match v {
                    Some(got) => {
                        known.insert(key.clone(), *got);
                    }
                    None => {
                        known.remove(key);
                    }
                }
            }
            // Items of a large case that were not read: no longer known.
            for k in order.iter().filter(|k| !keys.contains(k)) {
                known.remove(k);
            }
        }
        rb
    }

    /// Catalog entries of the run.
    pub fn catalog(&self) -> &[CatalogEntry] {
        &self.catalog
    }
}

/// The items read back after a case: a spread of `order` and the neighbors, without ids that
/// cannot reach a command.
pub fn plan(order: &[ItemKey], neighbors: &[ItemKey]) -> Vec<ItemKey> {
    let mut keys = spread(order);
    keys.extend(neighbors.iter().cloned());
    keys.retain(readable);
    keys
}

/// Whether an id can reach a command (an id with a NUL byte cannot, nor an environment
/// variable).
fn readable(k: &ItemKey) -> bool {
    !k.product_id.contains('\0') && !k.variant_id.contains('\0')
}

/// Whether the generator made the id up: no listing shows it, so a listing reader that cannot
/// see it does not count it as a known item out of sight.
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
