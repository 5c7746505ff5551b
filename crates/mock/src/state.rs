//! Shared state of a running mock: sellers and tokens, catalog index, ledger, journal,
//! scenario engine and counters. Everything here is behind cheap locks; the ledger applies one
//! request under one lock.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stockwire_schema::{Catalog, ItemKey, Profile};

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
    /// Bodies at least this large (default 32 KiB, about 400 items) are processed on the
    /// blocking pool, at most [`Limits::heavy_jobs`] at a time, so that large requests never
    /// hold up the thread that serves every connection. Smaller bodies are processed in place
    /// (about 50 µs at most): handing them to another thread would cost more than it saves.
    pub inline_body_bytes: usize,
    /// Most large bodies processed at once on the blocking pool (default: twice the cores,
    /// so that the cores stay busy while the next bodies are read).
    pub heavy_jobs: usize,
    /// After refusing a body (413) or a connection (503 at the cap), how long the rest of what
    /// the client sends is read and discarded before closing (default 2 s), so that a client
    /// that writes its whole request before reading still reads the status.
    pub linger: Duration,
    /// The most bytes read and discarded while lingering (default 32 MiB).
    pub linger_bytes: u64,
    /// Most `/updateInventory` body bytes held at once, from reading until the answer is
    /// rendered (default 3 MiB: three 10,000-item bodies, two processed on two cores while
    /// the next is read; more would only wait in memory). A body waits for room before it is read (TCP
    /// holds its sender back meanwhile); one larger than the budget waits for all of it. A body that
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
            inline_body_bytes: 32 * 1024,
            heavy_jobs: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            linger: Duration::from_secs(2),
            linger_bytes: 32 * 1024 * 1024,
            body_bytes_in_flight: 3 * 1024 * 1024,
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

/// The catalog, compacted, with a hash index by item key and the orders suggestions are drawn
/// from. Every lookup and suggestion looks at a bounded number of entries, whatever the
/// catalog's size.
///
/// About 70 bytes per entry (a `Catalog` and maps of boxed keys took about 770): the ids live
/// in one arena, the index holds arena offsets, and the suggestion orders are entry numbers.
#[derive(Debug)]
pub(crate) struct CatalogIndex {
    /// Per entry: the product id's length and the variant id's length (LEB128), then both ids.
    ids: Vec<u8>,
    /// Where each entry starts in `ids`.
    at: Vec<usize>,
    /// Each entry's `stock` ([`UNSET`] when the file gives none).
    stock: Vec<u32>,
    /// Each entry's seller as an index into `owners` ([`EVERY_SELLER`]); empty when no entry
    /// names a seller.
    owner: Vec<u32>,
    /// The sellers entries name, each once.
    owners: Vec<Box<str>>,
    /// One slot per item key: its first entry in file order.
    index: hashbrown::HashTable<Slot>,
    /// Keys held by more than one entry (other sellers'): every entry, in file order, by the
    /// first one.
    shared: HashMap<u32, Vec<u32>>,
    hasher: foldhash::fast::RandomState,
    /// Entries in the spelling order of `product/variant` (neighbours of a typo).
    sorted: Vec<u32>,
    /// Entries by productId, then file order (other variants of a product).
    by_product: Vec<u32>,
    /// Entries by lower-cased `product/variant`, then file order (a difference of case only).
    folded: Vec<u32>,
}

/// An index slot: where the key's first entry starts in the arena, and the entry.
#[derive(Debug, Clone, Copy)]
struct Slot {
    at: usize,
    /// The entry number; [`SHARED_KEY`] set when the key has other entries or the entry names
    /// a seller (the lookup must then check the seller).
    entry: u32,
}

/// In [`Slot::entry`]: the seller must be checked.
const SHARED_KEY: u32 = 1 << 31;
/// In [`CatalogIndex::owner`]: the entry belongs to every seller.
const EVERY_SELLER: u32 = u32::MAX;

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn read_len(b: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&x) = b.get(*at) {
        *at += 1;
        n |= usize::from(x & 0x7f) << shift;
        if x & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

/// The ids of the entry starting at `at` in the arena.
fn ids_at(ids: &[u8], mut at: usize) -> (&[u8], &[u8]) {
    let p = read_len(ids, &mut at);
    let v = read_len(ids, &mut at);
    let prod = ids.get(at..at + p).unwrap_or_default();
    let var = ids.get(at + p..at + p + v).unwrap_or_default();
    (prod, var)
}

/// `product/variant` of two ids, compared with `want` byte by byte (no copy).
fn cmp_shown(p: &[u8], v: &[u8], want: &str) -> std::cmp::Ordering {
    p.iter().chain(b"/").chain(v).copied().cmp(want.bytes())
}

impl CatalogIndex {
    pub fn new(catalog: Catalog) -> Self {
        let n = catalog.entries.len();
        let hasher = foldhash::fast::RandomState::default();
        let mut ids = Vec::with_capacity(
            catalog
                .entries
                .iter()
                .map(|e| e.product_id.len() + e.variant_id.len() + 2)
                .sum(),
        );
        let mut at = Vec::with_capacity(n);
        let mut stock = Vec::with_capacity(n);
        let mut owner = Vec::new();
        let mut owners: Vec<Box<str>> = Vec::new();
        let mut index: hashbrown::HashTable<Slot> = hashbrown::HashTable::with_capacity(n);
        let mut shared: HashMap<u32, Vec<u32>> = HashMap::default();
        for (i, e) in catalog.entries.iter().enumerate() {
            let i = i as u32;
            let start = ids.len();
            push_len(&mut ids, e.product_id.len());
            push_len(&mut ids, e.variant_id.len());
            ids.extend_from_slice(e.product_id.as_bytes());
            ids.extend_from_slice(e.variant_id.as_bytes());
            at.push(start);
            stock.push(e.stock.unwrap_or(UNSET));
            if let Some(s) = &e.seller {
                if owner.is_empty() {
                    owner.resize(i as usize, EVERY_SELLER);
                }
                let o = match owners.iter().position(|x| **x == **s) {
                    Some(o) => o,
                    None => {
                        owners.push(s.as_str().into());
                        owners.len() - 1
                    }
                };
                owner.push(o as u32);
            } else if !owner.is_empty() {
                owner.push(EVERY_SELLER);
            }
            let (p, v) = (e.product_id.as_bytes(), e.variant_id.as_bytes());
            let h = hasher.hash_one((p, v));
            let named = if e.seller.is_some() { SHARED_KEY } else { 0 };
            let arena = &ids;
            match index.find_mut(h, |s| ids_at(arena, s.at) == (p, v)) {
                Some(slot) => {
                    let first = slot.entry & !SHARED_KEY;
                    slot.entry |= SHARED_KEY;
                    shared.entry(first).or_insert_with(|| vec![first]).push(i);
                }
                None => {
                    index.insert_unique(
                        h,
                        Slot {
                            at: start,
                            entry: i | named,
                        },
                        |s| {
                            let (p, v) = ids_at(arena, s.at);
                            hasher.hash_one((p, v))
                        },
                    );
                }
            }
        }
        let mut me = CatalogIndex {
            ids,
            at,
            stock,
            owner,
            owners,
            index,
            shared,
            hasher,
            sorted: Vec::new(),
            by_product: Vec::new(),
            folded: Vec::new(),
        };
        drop(catalog);
        let all: Vec<u32> = (0..n as u32).collect();
        let mut sorted = all.clone();
        sorted.sort_by(|&a, &b| {
            let (pa, va) = me.ids_of(a);
            let (pb, vb) = me.ids_of(b);
            pa.iter()
                .chain(b"/")
                .chain(va)
                .cmp(pb.iter().chain(b"/").chain(vb))
        });
        let mut by_product = all.clone();
        by_product.sort_by(|&a, &b| me.ids_of(a).0.cmp(me.ids_of(b).0));
        let mut keyed: Vec<(Box<str>, u32)> = all
            .into_iter()
            .map(|i| (me.shown(i).to_lowercase().into_boxed_str(), i))
            .collect();
        keyed.sort();
        me.folded = keyed.into_iter().map(|(_, i)| i).collect();
        me.sorted = sorted;
        me.by_product = by_product;
        me
    }

    /// Bytes the index holds on the heap (capacities, not lengths).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.ids.capacity()
            + self.at.capacity() * size_of::<usize>()
            + (self.stock.capacity() + self.owner.capacity()) * size_of::<u32>()
            + self
                .owners
                .iter()
                .map(|o| o.len() + size_of::<Box<str>>())
                .sum::<usize>()
            + self.index.capacity() * (size_of::<Slot>() + 1)
            + self
                .shared
                .values()
                .map(|v| v.capacity() * 4 + 32)
                .sum::<usize>()
            + (self.sorted.capacity() + self.by_product.capacity() + self.folded.capacity())
                * size_of::<u32>()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    fn ids_of(&self, i: u32) -> (&[u8], &[u8]) {
        self.at
            .get(i as usize)
            .map_or((&[][..], &[][..]), |&a| ids_at(&self.ids, a))
    }

    /// The (productId, variantId) of entry `i`.
    pub fn key_of(&self, i: u32) -> (&str, &str) {
        let (p, v) = self.ids_of(i);
        (
            std::str::from_utf8(p).unwrap_or_default(),
            std::str::from_utf8(v).unwrap_or_default(),
        )
    }

    fn shown(&self, i: u32) -> String {
        let (p, v) = self.key_of(i);
        format!("{p}/{v}")
    }

    /// The `stock` entry `i` was given in the catalog.
    pub fn stock_of(&self, i: u32) -> Option<u32> {
        self.stock.get(i as usize).copied().filter(|&s| s != UNSET)
    }

    /// Whether entry `i` belongs to `seller` (entries without a seller belong to all).
    pub fn belongs_to(&self, i: u32, seller: &str) -> bool {
        match self.owner.get(i as usize) {
            None | Some(&EVERY_SELLER) => true,
            Some(&o) => self.owners.get(o as usize).is_some_and(|s| **s == *seller),
        }
    }

    /// The index of the entry for (product, variant) that belongs to `seller` (the shared
    /// format's rule: the first in file order). One hash probe; the seller is only checked
    /// when the key has an entry of a named seller.
    pub fn find_index(&self, seller: &str, product: &str, variant: &str) -> Option<u32> {
        let (p, v) = (product.as_bytes(), variant.as_bytes());
        let h = self.hasher.hash_one((p, v));
        let slot = self.index.find(h, |s| ids_at(&self.ids, s.at) == (p, v))?;
        if slot.entry & SHARED_KEY == 0 {
            return Some(slot.entry);
        }
        let first = slot.entry & !SHARED_KEY;
        match self.shared.get(&first) {
            Some(all) => all.iter().copied().find(|&i| self.belongs_to(i, seller)),
            None => self.belongs_to(first, seller).then_some(first),
        }
    }

    /// The entry for `key` that belongs to `seller`.
    #[cfg(test)]
    pub fn find(&self, seller: &str, key: &ItemKey) -> Option<u32> {
        self.find_index(seller, &key.product_id, &key.variant_id)
    }

    /// The seller's catalog item whose `productId/variantId` is closest to the given ids, among
    /// a bounded set of candidates: the same ids in another case, other variants of the same
    /// product, and the neighbours in spelling order.
    pub fn nearest(&self, seller: &str, product: &str, variant: &str) -> Option<ItemKey> {
        let want = format!("{product}/{variant}");
        let lower = want.to_lowercase();
        let mut candidates: Vec<u32> = Vec::new();
        let f = self
            .folded
            .partition_point(|&i| self.shown(i).to_lowercase() < lower);
        candidates.extend(
            self.folded[f..]
                .iter()
                .take(SAME_PRODUCT)
                .take_while(|&&i| self.shown(i).to_lowercase() == lower),
        );
        let b = self
            .by_product
            .partition_point(|&i| self.ids_of(i).0 < product.as_bytes());
        candidates.extend(
            self.by_product[b..]
                .iter()
                .take(SAME_PRODUCT)
                .take_while(|&&i| self.ids_of(i).0 == product.as_bytes()),
        );
        let at = self.sorted.partition_point(|&i| {
            let (p, v) = self.ids_of(i);
            cmp_shown(p, v, &want).is_lt()
        });
        let lo = at.saturating_sub(NEIGHBOURS);
        let hi = (at + NEIGHBOURS).min(self.sorted.len());
        candidates.extend(&self.sorted[lo..hi]);
        candidates
            .into_iter()
            .filter(|&i| self.belongs_to(i, seller))
            .map(|i| {
                let (p, v) = self.key_of(i);
                (distance(&want, &format!("{p}/{v}")), ItemKey::new(p, v))
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
    /// Each seller's name, shared (a journal entry holds one without copying it).
    pub seller_names: Vec<Arc<str>>,
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
    /// Time since start or reset (read without a lock).
    pub uptime: crate::clock::Uptime,
    pub limits: Limits,
    pub log_requests: bool,
    /// Permits to process a large body on the blocking pool ([`Limits::heavy_jobs`]).
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

    /// Current stock of an item for a seller: the last value set, else the catalog's.
    pub fn stock(&self, seller: &str, key: &ItemKey) -> Option<u32> {
        let mut buf = String::new();
        let found = self.catalog.as_ref().and_then(|c| {
            c.find_index(seller, &key.product_id, &key.variant_id)
                .map(|i| (c, i))
        });
        match found {
            Some((c, i)) => {
                let set = self.ledger().get(seller).and_then(|m| m.entry(i));
                set.or(c.stock_of(i))
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
                for i in 0..c.len() as u32 {
                    if c.belongs_to(i, &s.seller)
                        && let Some(st) = c.stock_of(i)
                    {
                        let (p, v) = c.key_of(i);
                        rows.insert((s.seller.clone(), ItemKey::new(p, v)), st);
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
                    if v != UNSET && i < c.len() {
                        let (p, var) = c.key_of(i as u32);
                        rows.insert((s.clone(), ItemKey::new(p, var)), v);
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
        self.uptime.restart();
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

/// Returns to the system what start-up (reading and indexing the catalog) freed: glibc keeps
/// freed memory below the top of its heap otherwise. Changes no allocator setting (the
/// `stockwire` binary chooses those for its own process); harmless to repeat; a no-op off
/// glibc.
pub(crate) fn return_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own allocator state; it takes no pointers and is
    // thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockwire_schema::CatalogEntry;

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
    fn the_catalog_index_is_compact() {
        // The bound the peer benchmark's RSS depends on: about 70 bytes per entry for ids like
        // the benchmark's (`P01234`/`P01234-V1`), against about 770 before.
        let n = 20_000;
        let ix = CatalogIndex::new(Catalog {
            entries: (0..n)
                .map(|i| CatalogEntry {
                    product_id: format!("P{i:05}"),
                    variant_id: format!("P{i:05}-V1"),
                    stock: Some(3),
                    seller: None,
                })
                .collect(),
        });
        let per_entry = ix.heap_bytes() / n;
        assert!(per_entry <= 100, "{per_entry} bytes per entry");
        assert_eq!(ix.len(), n);
        assert_eq!(ix.key_of(123), ("P00123", "P00123-V1"));
        assert_eq!(ix.stock_of(123), Some(3));
    }

    #[test]
    fn a_key_held_by_several_sellers_finds_each_sellers_entry() {
        let entry = |p: &str, v: &str, seller: Option<&str>| CatalogEntry {
            product_id: p.into(),
            variant_id: v.into(),
            stock: None,
            seller: seller.map(Into::into),
        };
        let ix = CatalogIndex::new(Catalog {
            entries: vec![
                entry("A", "1", Some("s1")),
                entry("A", "1", Some("s2")),
                entry("B", "1", None),
                entry("C", "1", Some("s2")),
            ],
        });
        assert_eq!(ix.find("s1", &ItemKey::new("A", "1")), Some(0));
        assert_eq!(ix.find("s2", &ItemKey::new("A", "1")), Some(1));
        assert_eq!(ix.find("s3", &ItemKey::new("A", "1")), None);
        assert_eq!(ix.find("s3", &ItemKey::new("B", "1")), Some(2));
        assert_eq!(ix.find("s1", &ItemKey::new("C", "1")), None);
        assert_eq!(ix.find("s2", &ItemKey::new("C", "1")), Some(3));
        // Ids whose concatenations agree are still different keys.
        assert_eq!(ix.find("s1", &ItemKey::new("A1", "")), None);
        assert!(ix.belongs_to(2, "anyone") && !ix.belongs_to(0, "s2"));
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
