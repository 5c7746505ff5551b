//! Shared state of a running mock: sellers and tokens, catalog index, ledger, journal,
//! scenario engine and counters. Everything here is behind cheap locks; the ledger applies one
//! request under one lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stockwire_schema::{Catalog, CatalogEntry, ItemKey, Profile};

use crate::journal::Journal;
use crate::scenario::Engine;

/// The maps looked up per item of a request (catalog index, ledger): foldhash, seeded per
/// map, instead of SipHash, which was about a tenth of the CPU at 1,000-item requests.
pub(crate) type HashMap<K, V> = foldhash::HashMap<K, V>;

/// A seller's login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Seller name (what catalog entries' `seller` and scenario `seller` match).
    pub seller: String,
    /// Username for `/authToken`.
    pub username: String,
    /// Password for `/authToken`.
    pub password: String,
}

impl Credentials {
    /// Credentials from their three parts.
    pub fn new(
        seller: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Credentials {
            seller: seller.into(),
            username: username.into(),
            password: password.into(),
        }
    }

    /// The token `/authToken` issues for these credentials: stable across restarts, so a
    /// printed curl example keeps working.
    pub fn token(&self) -> String {
        // FNV-1a: a mock's token only has to be unique per seller and stable.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self
            .seller
            .bytes()
            .chain([0])
            .chain(self.username.bytes())
            .chain([0])
            .chain(self.password.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        let name: String = self
            .seller
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("swk-{name}-{h:016x}")
    }
}

/// Limits that protect the mock; each has a clear answer when exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted (default 16 MiB); larger → 413.
    pub max_body_bytes: usize,
    /// Time allowed to send the request headers (default 10 s); then the connection closes.
    pub header_read_timeout: Duration,
    /// Time allowed to send the request body (default 30 s); then 408.
    pub body_read_timeout: Duration,
    /// Most items per request (default: no limit); more → 413.
    pub max_items: Option<usize>,
    /// Deepest JSON nesting accepted (default 64); deeper → 400.
    pub max_depth: usize,
    /// Most open connections (default 1024); more are answered 503 and closed.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests (default 10 s).
    pub drain_timeout: Duration,
    /// Bodies at least this large (default 256 KiB, about 3,000 items) are processed on the
    /// blocking pool, at most one per core at a time, so that large requests do not starve
    /// small ones. Smaller bodies are processed in place (about a millisecond at most): the
    /// hand-off to another thread cost more than that saved.
    pub inline_body_bytes: usize,
    /// After refusing a body (413) or a connection (503 at the cap), how long the rest of what
    /// the client sends is read and discarded before closing (default 2 s), so that a client
    /// that writes its whole request before reading still reads the status.
    pub linger: Duration,
    /// The most bytes read and discarded while lingering (default 32 MiB).
    pub linger_bytes: u64,
    /// Most `/updateInventory` body bytes held at once, from reading until the answer is
    /// rendered (default 4 MiB). A body waits for room before it is read (TCP holds its
    /// sender back meanwhile); one larger than the budget waits for all of it. A body that
    /// finds no room within `body_read_timeout` is answered 503. Bodies under 64 KiB take no
    /// room, so a small request never queues behind large ones.
    pub body_bytes_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_items: None,
            max_depth: 64,
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
            inline_body_bytes: 256 * 1024,
            linger: Duration::from_secs(2),
            linger_bytes: 32 * 1024 * 1024,
            body_bytes_in_flight: 4 * 1024 * 1024,
        }
    }
}

/// Writes the ledger and catalog key of (product, variant) into `buf`: the product's length,
/// `:`, then both ids. Unambiguous for any ids, and a lookup reuses one buffer instead of
/// allocating an [`ItemKey`] per item.
pub(crate) fn pair_key<'b>(buf: &'b mut String, product: &str, variant: &str) -> &'b str {
    buf.clear();
    // The length's digits without the formatting machinery (this runs twice per item).
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = product.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        buf.push(char::from(d));
    }
    buf.push(':');
    buf.push_str(product);
    buf.push_str(variant);
    buf
}

/// The (product, variant) of a key written by [`pair_key`].
pub(crate) fn split_pair_key(k: &str) -> Option<(&str, &str)> {
    let (n, rest) = k.split_once(':')?;
    let n: usize = n.parse().ok()?;
    Some((rest.get(..n)?, rest.get(n..)?))
}

/// Neighbours on each side of a key in the sorted catalog that a suggestion looks at.
const NEIGHBOURS: usize = 8;
/// Variants of one product a suggestion looks at.
const SAME_PRODUCT: usize = 64;

/// The catalog with a hash index by item key and the indexes suggestions are drawn from. Every
/// lookup and suggestion looks at a bounded number of entries, whatever the catalog's size.
#[derive(Debug)]
pub(crate) struct CatalogIndex {
    pub catalog: Catalog,
    index: HashMap<Box<str>, Holders>,
    /// `product/variant` of every entry, sorted (neighbours in spelling order).
    sorted: Vec<(Box<str>, u32)>,
    /// Entries by productId (other variants of a product).
    by_product: HashMap<Box<str>, Vec<u32>>,
    /// Entries by lower-cased `product/variant` (a difference of case only).
    folded: HashMap<Box<str>, Vec<u32>>,
}

impl CatalogIndex {
    pub fn new(catalog: Catalog) -> Self {
        let mut index: HashMap<Box<str>, Holders> = HashMap::default();
        let mut by_product: HashMap<Box<str>, Vec<u32>> = HashMap::default();
        let mut folded: HashMap<Box<str>, Vec<u32>> = HashMap::default();
        let mut sorted = Vec::with_capacity(catalog.entries.len());
        let mut buf = String::new();
        for (i, e) in catalog.entries.iter().enumerate() {
            let i = i as u32;
            let all = e.seller.is_none();
            index
                .entry(pair_key(&mut buf, &e.product_id, &e.variant_id).into())
                .and_modify(|h| h.add(i))
                .or_insert(Holders::One { entry: i, all });
            by_product
                .entry(e.product_id.as_str().into())
                .or_default()
                .push(i);
            let shown = format!("{}/{}", e.product_id, e.variant_id);
            folded
                .entry(shown.to_lowercase().into())
                .or_default()
                .push(i);
            sorted.push((shown.into_boxed_str(), i));
        }
        sorted.sort();
        CatalogIndex {
            catalog,
            index,
            sorted,
            by_product,
            folded,
        }
    }

    fn entry(&self, i: u32) -> &CatalogEntry {
        &self.catalog.entries[i as usize]
    }

    /// The index of the entry for (product, variant) that belongs to `seller` (the shared
    /// format's rule: the first in file order); `buf` is scratch space for the key. One hash
    /// probe; the entry itself is only read when the key has an entry of a named seller.
    pub fn find_index(
        &self,
        seller: &str,
        product: &str,
        variant: &str,
        buf: &mut String,
    ) -> Option<u32> {
        match self.index.get(pair_key(buf, product, variant))? {
            Holders::One { entry, all: true } => Some(*entry),
            Holders::One { entry, all: false } => {
                self.entry(*entry).belongs_to(seller).then_some(*entry)
            }
            Holders::Many(ix) => ix
                .iter()
                .copied()
                .find(|&i| self.entry(i).belongs_to(seller)),
        }
    }

    /// The entry for `key` that belongs to `seller`.
    #[cfg(test)]
    pub fn find(&self, seller: &str, key: &ItemKey) -> Option<&CatalogEntry> {
        self.find_index(seller, &key.product_id, &key.variant_id, &mut String::new())
            .map(|i| self.entry(i))
    }

    /// The seller's catalog item whose `productId/variantId` is closest to the given ids, among
    /// a bounded set of candidates: the same ids in another case, other variants of the same
    /// product, and the neighbours in spelling order.
    pub fn nearest(&self, seller: &str, product: &str, variant: &str) -> Option<ItemKey> {
        let want = format!("{product}/{variant}");
        let mut candidates: Vec<u32> = Vec::new();
        if let Some(ix) = self.folded.get(want.to_lowercase().as_str()) {
            candidates.extend(ix.iter().take(SAME_PRODUCT));
        }
        if let Some(ix) = self.by_product.get(product) {
            candidates.extend(ix.iter().take(SAME_PRODUCT));
        }
        let at = self
            .sorted
            .partition_point(|(k, _)| k.as_ref() < want.as_str());
        let lo = at.saturating_sub(NEIGHBOURS);
        let hi = (at + NEIGHBOURS).min(self.sorted.len());
        candidates.extend(self.sorted[lo..hi].iter().map(|(_, i)| *i));
        candidates
            .into_iter()
            .map(|i| self.entry(i))
            .filter(|e| e.belongs_to(seller))
            .map(|e| {
                let k = e.key();
                (
                    distance(&want, &format!("{}/{}", k.product_id, k.variant_id)),
                    k,
                )
            })
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
            .map(|(_, k)| k)
    }
}

/// Levenshtein distance (by chars).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The catalog entries one item key has, in file order: most keys have one, held inline with
/// whether it belongs to every seller, so a lookup reads neither a list nor the entry.
#[derive(Debug)]
enum Holders {
    One { entry: u32, all: bool },
    Many(Vec<u32>),
}

impl Holders {
    fn add(&mut self, i: u32) {
        match self {
            Holders::One { entry, .. } => *self = Holders::Many(vec![*entry, i]),
            Holders::Many(v) => v.push(i),
        }
    }
}

/// What a ledger slot holds when no request set the item.
const UNSET: u32 = u32::MAX;

/// One seller's stock set by requests.
#[derive(Debug, Default, Clone)]
pub(crate) struct SellerStock {
    /// By catalog entry index ([`UNSET`] where nothing was set): an item found in the catalog
    /// is set without a second hash lookup. Grows to the highest entry set, once per seller.
    by_entry: Vec<u32>,
    /// Items without a catalog (every item exists then), by [`pair_key`].
    by_key: HashMap<Box<str>, u32>,
}

impl SellerStock {
    /// Sets the stock of catalog entry `i`.
    pub fn set_entry(&mut self, i: u32, n: u32) {
        let i = i as usize;
        if i >= self.by_entry.len() {
            self.by_entry.resize(i + 1, UNSET);
        }
        self.by_entry[i] = n;
    }

    /// Sets the stock of an item without a catalog entry (`key` from [`pair_key`]).
    pub fn set_key(&mut self, key: &str, n: u32) {
        match self.by_key.get_mut(key) {
            Some(v) => *v = n,
            None => {
                self.by_key.insert(key.into(), n);
            }
        }
    }

    fn entry(&self, i: u32) -> Option<u32> {
        self.by_entry
            .get(i as usize)
            .copied()
            .filter(|&v| v != UNSET)
    }
}

/// Current stock by seller, then item. Holds only values set by requests; reads fall back to
/// the catalog's `stock`.
pub(crate) type Ledger = HashMap<String, SellerStock>;

/// One row of the ledger as the admin API and [`crate::MockMarketplace::ledger`] show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockRow {
    /// Seller.
    pub seller: String,
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// Current stock.
    pub stock: u32,
}

/// What happened at the connection cap.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    /// Idle connections closed to serve a new client.
    pub evicted: AtomicU64,
    /// New clients answered 503 because every connection was busy.
    pub refused: AtomicU64,
}

/// Everything a running mock shares between connections.
#[derive(Debug)]
pub(crate) struct Shared {
    pub profile: Profile,
    pub catalog: Option<CatalogIndex>,
    pub sellers: Vec<Credentials>,
    /// Stable and issued tokens, lifetimes and revocations (`crate::tokens`).
    pub tokens: crate::tokens::Tokens,
    /// The wall clock (injectable for tests).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Retry-After advice given and requests that came too soon (`crate::ratelimit`).
    pub retry_watch: crate::ratelimit::RetryWatch,
    /// Record mode: forward to a real partner (`crate::record`).
    pub recorder: Option<crate::recording::Recorder>,
    pub auth: bool,
    pub ledger: Mutex<Ledger>,
    pub journal: Journal,
    pub engine: RwLock<Arc<Engine>>,
    pub counter: AtomicU64,
    pub started: Mutex<Instant>,
    pub limits: Limits,
    pub log_requests: bool,
    /// Permits to process a large body on the blocking pool (one per core).
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// Body bytes in flight, in KiB ([`Limits::body_bytes_in_flight`]).
    pub body_budget: crate::body::BodyBudget,
    /// Connections closed or refused at the cap.
    pub conn_stats: ConnStats,
    /// The token `/__admin/*` requires (`GET /__admin/health` excepted), if any.
    pub admin_token: Option<String>,
}

impl Shared {
    pub fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(e) => e.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_engine(&self, e: Engine) {
        match self.engine.write() {
            Ok(mut g) => *g = Arc::new(e),
            Err(p) => *p.into_inner() = Arc::new(e),
        }
    }

    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn elapsed(&self) -> Duration {
        self.started.lock().map(|s| s.elapsed()).unwrap_or_default()
    }

    /// Current stock of an item for a seller: the last value set, else the catalog's.
    pub fn stock(&self, seller: &str, key: &ItemKey) -> Option<u32> {
        let mut buf = String::new();
        let found = self.catalog.as_ref().and_then(|c| {
            c.find_index(seller, &key.product_id, &key.variant_id, &mut buf)
                .map(|i| (c, i))
        });
        match found {
            Some((c, i)) => {
                let set = self.ledger().get(seller).and_then(|m| m.entry(i));
                set.or(c.entry(i).stock)
            }
            None => {
                let k = pair_key(&mut buf, &key.product_id, &key.variant_id);
                self.ledger()
                    .get(seller)
                    .and_then(|m| m.by_key.get(k).copied())
            }
        }
    }

    /// Every known stock, sorted.
    pub fn rows(&self, seller: Option<&str>) -> Vec<StockRow> {
        let ledger = self.ledger().clone();
        let mut rows = std::collections::BTreeMap::new();
        for s in &self.sellers {
            if seller.is_some_and(|x| x != s.seller) {
                continue;
            }
            if let Some(c) = &self.catalog {
                for e in c.catalog.for_seller(&s.seller) {
                    if let Some(st) = e.stock {
                        rows.insert((s.seller.clone(), e.key()), st);
                    }
                }
            }
        }
        for (s, items) in ledger {
            if seller.is_some_and(|x| x != s) {
                continue;
            }
            if let Some(c) = &self.catalog {
                for (i, &v) in items.by_entry.iter().enumerate() {
                    if v != UNSET
                        && let Some(e) = c.catalog.entries.get(i)
                    {
                        rows.insert((s.clone(), e.key()), v);
                    }
                }
            }
            for (k, v) in items.by_key {
                if let Some((p, var)) = split_pair_key(&k) {
                    rows.insert((s.clone(), ItemKey::new(p, var)), v);
                }
            }
        }
        rows.into_iter()
            .map(|((seller, k), stock)| StockRow {
                seller,
                product_id: k.product_id,
                variant_id: k.variant_id,
                stock,
            })
            .collect()
    }

    /// Clears journal, ledger, request counter, rule counters and the clock.
    pub fn reset(&self) {
        self.journal.clear();
        self.ledger().clear();
        self.counter.store(0, Ordering::SeqCst);
        self.engine().reset();
        self.tokens.reset(self.clock.now());
        self.retry_watch.reset();
        if let Ok(mut s) = self.started.lock() {
            *s = Instant::now();
        }
    }

    /// The seller (index) with these credentials.
    pub fn login(&self, username: &str, password: &str) -> Option<usize> {
        self.sellers
            .iter()
            .position(|c| c.username == username && c.password == password)
    }

    /// The index of a seller by name.
    pub fn seller_index(&self, seller: &str) -> Option<usize> {
        self.sellers.iter().position(|c| c.seller == seller)
    }
}

/// glibc keeps memory freed by a thread in that thread's arena (up to eight per core) and
/// rarely gives it back: with large bodies processed on several threads, the peak resident
/// memory was several times what was live. Two arenas bound that; `malloc_trim` returns what
/// start-up (reading the catalog) freed. Process-wide and harmless to repeat; a no-op off
/// glibc.
pub(crate) fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt and malloc_trim only change and walk glibc's own allocator state; they
    // take no pointers and are thread-safe.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_item_is_the_closest_spelling() {
        let c = Catalog {
            entries: ["SKU-1/V1", "SKU-2/V1", "OTHER/V9"]
                .iter()
                .map(|s| {
                    let (p, v) = s.split_once('/').unwrap();
                    CatalogEntry {
                        product_id: p.into(),
                        variant_id: v.into(),
                        stock: None,
                        seller: None,
                    }
                })
                .collect(),
        };
        let ix = CatalogIndex::new(c);
        assert_eq!(
            ix.nearest("x", "SKU-3", "V1"),
            Some(ItemKey::new("SKU-1", "V1"))
        );
        assert_eq!(
            ix.nearest("x", "sku-2", "v1"),
            Some(ItemKey::new("SKU-2", "V1"))
        );
        assert!(ix.find("x", &ItemKey::new("SKU-2", "V1")).is_some());
    }

    #[test]
    fn suggestions_look_at_a_bounded_number_of_entries() {
        // 20,000 items: a typo in the middle of the catalog still finds its neighbour, and
        // the candidates examined stay within the bounds whatever the catalog size.
        let c = Catalog {
            entries: (0..20_000)
                .map(|i| CatalogEntry {
                    product_id: format!("P{i:05}"),
                    variant_id: "V1".into(),
                    stock: None,
                    seller: None,
                })
                .collect(),
        };
        let ix = CatalogIndex::new(c);
        assert_eq!(
            ix.nearest("x", "P12345", "V2"),
            Some(ItemKey::new("P12345", "V1"))
        );
        assert_eq!(
            ix.nearest("x", "P1234x", "V1")
                .map(|k| k.product_id[..5].to_string()),
            Some("P1234".to_string())
        );
    }

    #[test]
    fn pair_keys_split_back_whatever_the_ids_hold() {
        let mut b = String::new();
        for (p, v) in [("a:b", "c"), ("", "x"), ("12", "3:4"), ("\0", "")] {
            let k = pair_key(&mut b, p, v).to_string();
            assert_eq!(split_pair_key(&k), Some((p, v)));
        }
        assert_ne!(
            pair_key(&mut b, "ab", "c").to_string(),
            pair_key(&mut String::new(), "a", "bc")
        );
    }

    #[test]
    fn tokens_are_stable_and_per_seller() {
        let a = Credentials::new("demo", "u", "p");
        assert_eq!(a.token(), Credentials::new("demo", "u", "p").token());
        assert_ne!(a.token(), Credentials::new("other", "u", "p").token());
        assert!(a.token().starts_with("swk-demo-"));
    }
}
