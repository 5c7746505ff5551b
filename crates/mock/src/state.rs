//! Shared state of a running mock: sellers and tokens, catalog index, ledger, journal,
//! scenario engine and counters. Everything here is behind cheap locks; the ledger applies one
//! request under one lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stockwire_schema::{Catalog, CatalogEntry, ItemKey, Profile};

use crate::journal::Journal;
use crate::scenario::Engine;

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
        }
    }
}

/// The catalog with a hash index by item key.
#[derive(Debug)]
pub(crate) struct CatalogIndex {
    pub catalog: Catalog,
    index: HashMap<ItemKey, Vec<usize>>,
}

impl CatalogIndex {
    pub fn new(catalog: Catalog) -> Self {
        let mut index: HashMap<ItemKey, Vec<usize>> = HashMap::new();
        for (i, e) in catalog.entries.iter().enumerate() {
            index.entry(e.key()).or_default().push(i);
        }
        CatalogIndex { catalog, index }
    }

    /// The entry for `key` that belongs to `seller` (the shared format's rule).
    pub fn find(&self, seller: &str, key: &ItemKey) -> Option<&CatalogEntry> {
        self.index.get(key).and_then(|ix| {
            ix.iter()
                .map(|&i| &self.catalog.entries[i])
                .find(|e| e.belongs_to(seller))
        })
    }

    /// The seller's catalog item whose `productId/variantId` is closest to `key`.
    pub fn nearest(&self, seller: &str, key: &ItemKey) -> Option<ItemKey> {
        if self.catalog.len() > 20_000 {
            return None;
        }
        let want = format!("{}/{}", key.product_id, key.variant_id);
        self.catalog
            .for_seller(seller)
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

/// Current stock by seller, then item. Holds only values set by requests; reads fall back to
/// the catalog's `stock`.
pub(crate) type Ledger = HashMap<String, HashMap<ItemKey, u32>>;

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
    pub recorder: Option<crate::record::Recorder>,
    pub auth: bool,
    pub ledger: Mutex<Ledger>,
    pub journal: Journal,
    pub engine: RwLock<Arc<Engine>>,
    pub counter: AtomicU64,
    pub started: Mutex<Instant>,
    pub limits: Limits,
    pub log_requests: bool,
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
        if let Some(v) = self.ledger().get(seller).and_then(|m| m.get(key)) {
            return Some(*v);
        }
        self.catalog
            .as_ref()
            .and_then(|c| c.find(seller, key))
            .and_then(|e| e.stock)
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
            for (k, v) in items {
                rows.insert((s.clone(), k), v);
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
            ix.nearest("x", &ItemKey::new("SKU-3", "V1")),
            Some(ItemKey::new("SKU-1", "V1"))
        );
        assert!(ix.find("x", &ItemKey::new("SKU-2", "V1")).is_some());
    }

    #[test]
    fn tokens_are_stable_and_per_seller() {
        let a = Credentials::new("demo", "u", "p");
        assert_eq!(a.token(), Credentials::new("demo", "u", "p").token());
        assert_ne!(a.token(), Credentials::new("other", "u", "p").token());
        assert!(a.token().starts_with("swk-demo-"));
    }
}
