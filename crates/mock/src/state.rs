//! Shared state of a running mock: what every connection's call handlers, the admin API and
//! the server share (sellers and tokens, catalog index, ledger, journal, scenario engine,
//! counters, limits). Everything here is behind cheap locks; the ledger applies one request
//! under one lock.
//!
//! This is the upper layer's meeting point: only the calls, the admin API and the server take
//! `&Shared`. The parts it holds (journal, engine, tokens, ledger, body budget, recorder)
//! know nothing of it; their methods take only what they need.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use stockwire_schema::{ItemKey, Profile};

use crate::family::Family;
use crate::family::ValueKind;
use crate::http::{BodyBudget, Limits};
use crate::journal::Journal;
use crate::ledger::catalog::CatalogIndex;
use crate::ledger::stock::{self, Ledger, StockRow, ValueRow, pair_key};
use crate::ledger::tokens::{Credentials, Tokens};
use crate::scenario::Engine;
use crate::scenario::ratelimit::RetryWatch;

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
    /// Stable and issued tokens and revocations (`crate::ledger::tokens`).
    pub tokens: Tokens,
    /// The wall clock (injectable for tests).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Retry-After advice given and requests that came too soon (`crate::scenario::ratelimit`).
    pub retry_watch: RetryWatch,
    /// Record mode: forward to a real partner (`crate::recording`).
    pub recorder: Option<crate::recording::Recorder>,
    pub auth: bool,
    /// The calls served: routes, and what each update call's pipeline needs.
    pub family: Family,
    /// The ledgers of count-valued update calls (`UpdateCall::ledger` indexes them).
    pub count_ledgers: Vec<Mutex<Ledger>>,
    /// The ledgers of number-valued update calls.
    pub number_ledgers: Vec<Mutex<Ledger<f64>>>,
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
    pub body_budget: BodyBudget,
    /// Connections closed or refused at the cap.
    pub conn_stats: ConnStats,
    /// The token `/__admin/*` requires (`GET /__admin/health` excepted), if any.
    pub admin_token: Option<String>,
    /// Caps on a scenario given to the running mock.
    pub scenario_limits: crate::scenario::ScenarioLimits,
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

    /// The inventory push's ledger (the stock).
    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.count_ledger(self.family.inventory().ledger)
    }

    /// A count ledger by index.
    pub fn count_ledger(&self, i: usize) -> std::sync::MutexGuard<'_, Ledger> {
        match self.count_ledgers.get(i) {
            Some(l) => l.lock().unwrap_or_else(|p| p.into_inner()),
            // The family numbers the ledgers and start() makes one per number: never reached.
            None => self.count_ledgers[0]
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// A number ledger by index.
    pub fn number_ledger(&self, i: usize) -> Option<std::sync::MutexGuard<'_, Ledger<f64>>> {
        self.number_ledgers
            .get(i)
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Forgets every value set by requests, in every update call's ledger.
    pub fn clear_ledgers(&self) {
        for l in &self.count_ledgers {
            l.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        for l in &self.number_ledgers {
            l.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
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
                self.ledger().get(seller).and_then(|m| m.key(k))
            }
        }
    }

    /// Every known stock, sorted.
    pub fn rows(&self, seller: Option<&str>) -> Vec<StockRow> {
        let ledger = self.ledger().clone();
        stock::rows(ledger, self.catalog.as_ref(), &self.sellers, seller)
    }

    /// Every value the update call `call` set (of `seller`, all when `None`); `None` when no
    /// update call has that id.
    pub fn value_rows(&self, call: &str, seller: Option<&str>) -> Option<Vec<ValueRow>> {
        let u = self.family.update(call)?;
        let cat = self.catalog.as_ref();
        Some(match u.kind {
            ValueKind::Count => {
                let l = self.count_ledger(u.ledger).clone();
                stock::value_rows(&l, cat, seller, |v| Some(v.into()))
            }
            ValueKind::Number => match self.number_ledger(u.ledger) {
                Some(g) => {
                    let l = g.clone();
                    drop(g);
                    stock::value_rows(&l, cat, seller, serde_json::Number::from_f64)
                }
                None => Vec::new(),
            },
        })
    }

    /// Clears journal, ledger, request counter, rule counters and the clock.
    pub fn reset(&self) {
        self.journal.clear();
        self.clear_ledgers();
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
