//! # stockwire-mock
//!
//! A mock marketplace for the partner API an order-management system calls (`/authToken`,
//! `/productsCount`, `/products`, `/updateInventory`, and any call of a known shape added with
//! [`Builder::call`]), to run locally, in CI (`stockwire mock`) or embedded in Rust tests. Without a scenario it behaves like a correct
//! partner; a scenario scripts the partial failures, errors and misbehaviour real partners
//! produce.
//!
//! It owns: the HTTP server (hyper 1 + tokio, [`server`]-style accept loop with a connection
//! cap, time-outs and graceful drain), routing by the call definitions (a call is a value: the
//! handler of its shape serves it), the handling of each shape (login, count, paged listing,
//! update with a per-seller ledger per update call), the bounded request [`journal`], the [`scenario`] engine (matches,
//! effects, sequences, seeded randomness), the admin API ([`admin`]) and [`verify`].
//!
//! It does not own the contract: every decision about what a valid request or a correct
//! answer is comes from `stockwire-schema` (`contract(profile)`, `InventoryResponse::for_outcome`,
//! the shared `Catalog` format). Checking a *real* partner is `stockwire-conform`'s job.
//!
//! The source follows a request's way, top to bottom; a module uses only modules on lower
//! lines (never one on its own line, never one above):
//!
//! | layer | modules |
//! |---|---|
//! | server | `server/` (accept loop, connection cap, routing by the call definitions) |
//! | upper layer: the only code that takes `&Shared` | `calls/` (one handler per shape: `/authToken`; the update pipeline and its rendering; `/productsCount` and `/products`), [`admin`] (endpoints, [`verify`]) |
//! | shared state | `state.rs` (`Shared`: what connections share) |
//! | parts the state holds | `family.rs` (the calls served: routes, update calls' rules, value kinds and ledgers), [`recording`] (record mode), [`journal`] (entries, ring, recording an exchange), `ledger/` (catalog index with the listing, value ledgers, token store) |
//! | the scenario engine | [`scenario`] (rules, matches, effects, token lifetimes, rate limits, the engine) |
//! | leaves | [`clock`], `http/` (limits, body reading and its budget, answer building blocks) |
//!
//! [`demo`] (built-in catalog, seller and scenario) uses the scenario and the ledger.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use stockwire_mock::{MockMarketplace, demo};
//!
//! let m = MockMarketplace::builder().catalog(demo::catalog()).start().await?;
//! assert!(m.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(m.stock("demo", "MUG-002", "MUG-002-WHITE"), Some(5));
//! assert!(m.token("demo").is_some());
//! m.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod admin;
mod calls;
pub mod clock;
pub mod demo;
mod family;
mod http;
pub mod journal;
mod ledger;
pub mod recording;
pub mod scenario;
mod server;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use stockwire_schema::{Call, Catalog, CatalogError, ItemKey, Profile, contract};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use admin::verify;
pub use http::{DEFAULT_MAX_ITEMS, DEFAULT_MAX_SKUS, Limits};
pub use journal::{Filter, JournalEntry, JournalStats};
pub use ledger::stock::{StockRow, ValueRow};
pub use ledger::tokens::Credentials;
pub use scenario::{Fired, Scenario, ScenarioError, ratelimit, tokens};
pub use verify::{Expectation, VerifyReport};

use crate::clock::{Clock, SystemClock};
use crate::journal::Journal;
use crate::ledger::catalog::CatalogIndex;
use crate::ledger::tokens::Tokens;
use crate::scenario::Engine;
use crate::scenario::ratelimit::RetryWatch;
use crate::state::Shared;

/// Why a mock could not start or take a new scenario.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The given listener could not be used.
    #[error("cannot use the listener: {0}")]
    Listener(#[source] std::io::Error),
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Record mode could not start or write its recording.
    #[error(transparent)]
    Record(#[from] recording::RecordError),
    /// The scenario file cannot be watched.
    #[error("cannot watch {path}: {source}")]
    Watch {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: notify::Error,
    },
    /// Two sellers share a name or a username.
    #[error("seller `{0}` is configured twice (seller names and usernames must be unique)")]
    DuplicateSeller(String),
    /// A call cannot be served (its id, or its method and path, clash with another call's;
    /// or its value is of a type the mock does not store).
    #[error("{0}")]
    Call(String),
    /// The catalog file cannot be used.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Configures and starts a [`MockMarketplace`].
#[derive(Debug, Default)]
pub struct Builder {
    profile: Profile,
    catalog: Option<Catalog>,
    catalog_file: Option<PathBuf>,
    calls: Vec<Arc<Call>>,
    scenario: Option<Scenario>,
    sellers: Vec<Credentials>,
    no_auth: bool,
    journal_cap: Option<usize>,
    journal_bytes: Option<usize>,
    limits: Limits,
    bind: Option<SocketAddr>,
    listener: Option<std::net::TcpListener>,
    log_requests: bool,
    clock: Option<Arc<dyn Clock>>,
    record: Option<(String, PathBuf)>,
    token_lifetimes: Vec<tokens::TokenLifetime>,
    rate_limits: Vec<ratelimit::RateLimit>,
    admin_token: Option<String>,
    scenario_limits: scenario::ScenarioLimits,
}

impl Builder {
    /// Adds a token lifetime to the scenario (as its `[[tokens]]` section would), e.g.
    /// `TokenLifetime::duration(Duration::from_secs(900)).for_seller("demo")`.
    /// They come after the scenario's own entries, whatever the call order.
    pub fn token_lifetime(mut self, t: tokens::TokenLifetime) -> Self {
        self.token_lifetimes.push(t);
        self
    }

    /// Adds a rate limit to the scenario (as its `[[rateLimits]]` section would), e.g.
    /// `RateLimit::per_second(5.0).burst(10)`.
    /// They come after the scenario's own entries, whatever the call order.
    pub fn rate_limit(mut self, r: ratelimit::RateLimit) -> Self {
        self.rate_limits.push(r);
        self
    }

    /// Record mode: forward every request to the partner at `from` and answer with its reply;
    /// [`MockMarketplace::finish_recording`] writes a scenario and a catalog into `to` that
    /// replay what was seen (see [`recording`]).
    pub fn record(mut self, from: impl Into<String>, to: impl Into<PathBuf>) -> Self {
        self.record = Some((from.into(), to.into()));
        self
    }

    /// The wall clock the mock reads for token lifetimes, rate limits, daily windows and the
    /// journal's timestamps (default: the system clock). Tests pass a
    /// [`clock::ManualClock`] to move time by hand.
    pub fn clock(mut self, c: Arc<dyn Clock>) -> Self {
        self.clock = Some(c);
        self
    }

    /// The contract version to enforce (default v1).
    pub fn profile(mut self, p: Profile) -> Self {
        self.profile = p;
        self
    }

    /// The items that exist (default: none given, every item exists).
    pub fn catalog(mut self, c: Catalog) -> Self {
        self.catalog = Some(c);
        self.catalog_file = None;
        self
    }

    /// The items that exist, read from a JSON or CSV catalog file entry by entry when the mock
    /// starts (no whole `Catalog` is held: the index is built as the file is read). An item or
    /// a SKU code given twice for one seller makes `start` fail with the format's message.
    pub fn catalog_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.catalog_file = Some(path.into());
        self.catalog = None;
        self
    }

    /// Serves another call besides the profile's contract (a call of a known shape compiled
    /// with `stockwire_schema::Call::from_page`): routed by its page's method and path to the
    /// handler of its shape, with no code of its own. `start` fails when its id, or its method
    /// and path, are another call's.
    pub fn call(mut self, c: Arc<Call>) -> Self {
        self.calls.push(c);
        self
    }

    /// The scripted behaviour (default: none, a correct partner).
    pub fn scenario(mut self, s: Scenario) -> Self {
        self.scenario = Some(s);
        self
    }

    /// Adds a seller (default when none is added: the demo seller).
    pub fn seller(mut self, c: Credentials) -> Self {
        self.sellers.push(c);
        self
    }

    /// Accepts `/updateInventory` without an apiKey (requests count as the first seller's, or
    /// the seller of a known apiKey when one is sent).
    pub fn no_auth(mut self) -> Self {
        self.no_auth = true;
        self
    }

    /// Most journal entries kept (default [`journal::DEFAULT_CAP`]).
    pub fn journal_cap(mut self, n: usize) -> Self {
        self.journal_cap = Some(n);
        self
    }

    /// Most body bytes the journal keeps (default [`journal::DEFAULT_BYTE_BUDGET`]).
    pub fn journal_bytes(mut self, n: usize) -> Self {
        self.journal_bytes = Some(n);
        self
    }

    /// Limits (body size, time-outs, items, depth, connections).
    pub fn limits(mut self, l: Limits) -> Self {
        self.limits = l;
        self
    }

    /// Address to bind (default `127.0.0.1:0`, any free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// An already-bound listener to serve on (takes precedence over [`Builder::bind`]).
    pub fn listener(mut self, l: std::net::TcpListener) -> Self {
        self.listener = Some(l);
        self
    }

    /// Logs one line per request (tracing target `stockwire_mock::requests`, level INFO).
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on `/__admin/*` (`GET /__admin/health` stays
    /// open). Without one the admin API is open to whoever reaches the port, and starting on
    /// an address other than loopback logs a warning.
    pub fn admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Caps on the scenarios the running mock accepts (`PUT /__admin/scenario`, reloads of a
    /// watched file); default [`scenario::ScenarioLimits::default`].
    pub fn scenario_limits(mut self, l: scenario::ScenarioLimits) -> Self {
        self.scenario_limits = l;
        self
    }

    /// The demo: demo catalog and demo scenario, unless already set (the demo seller is the
    /// default seller anyway).
    pub fn demo(mut self) -> Self {
        if self.catalog.is_none() && self.catalog_file.is_none() {
            self.catalog = Some(demo::catalog());
        }
        if self.scenario.is_none() {
            self.scenario = Some(demo::scenario());
        }
        self
    }

    /// Binds (unless given a listener) and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<MockMarketplace, MockError> {
        let t0 = Instant::now();
        let _ = contract(self.profile);
        let family = family::Family::new(self.profile, &self.calls).map_err(MockError::Call)?;
        let mut scenario = self.scenario.unwrap_or_default();
        scenario.tokens.extend(self.token_lifetimes);
        scenario.rate_limits.extend(self.rate_limits);
        let engine = Engine::new(scenario)?;
        let mut sellers = self.sellers;
        if sellers.is_empty() {
            sellers.push(demo::credentials());
        }
        for (i, s) in sellers.iter().enumerate() {
            let dup = sellers[..i]
                .iter()
                .any(|o| o.seller == s.seller || o.username == s.username);
            if dup {
                return Err(MockError::DuplicateSeller(s.seller.clone()));
            }
        }
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let tokens = Tokens::new(&sellers, clock.now(), self.limits.max_tokens_per_seller);
        let recorder = self
            .record
            .map(|(from, to)| {
                recording::Recorder::new(&from, to, self.limits.record_bytes_in_flight)
            })
            .transpose()?;
        let listener = match self.listener {
            Some(l) => {
                l.set_nonblocking(true).map_err(MockError::Listener)?;
                tokio::net::TcpListener::from_std(l).map_err(MockError::Listener)?
            }
            None => {
                let addr = self
                    .bind
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| MockError::Bind { addr, source })?
            }
        };
        let addr = listener.local_addr().map_err(MockError::Listener)?;
        if self.admin_token.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(
                "listening on {addr} without an admin token: anyone who reaches this port can read the journal and rewrite the scenario (set --admin-token or STOCKWIRE_ADMIN_TOKEN)"
            );
        }
        let mut catalog = match (self.catalog_file, self.catalog) {
            (Some(path), _) => Some(CatalogIndex::read(&path)?),
            (None, Some(c)) => Some(CatalogIndex::new(c)),
            (None, None) => None,
        };
        if let Some(c) = &mut catalog {
            let names: Vec<&str> = sellers.iter().map(|s| s.seller.as_str()).collect();
            c.prepare_listings(&names);
        }
        let body_budget = http::BodyBudget::new(self.limits.body_bytes_in_flight);
        let heavy_jobs = self.limits.heavy_jobs.max(1);
        let shared = Arc::new(Shared {
            profile: self.profile,
            catalog,
            seller_names: sellers
                .iter()
                .map(|c| Arc::from(c.seller.as_str()))
                .collect(),
            sellers,
            tokens,
            clock,
            retry_watch: RetryWatch::default(),
            recorder,
            auth: !self.no_auth,
            count_ledgers: (0..family.count_ledgers)
                .map(|_| Mutex::new(Default::default()))
                .collect(),
            number_ledgers: (0..family.number_ledgers)
                .map(|_| Mutex::new(Default::default()))
                .collect(),
            family,
            journal: Journal::new(
                self.journal_cap.unwrap_or(journal::DEFAULT_CAP),
                self.journal_bytes.unwrap_or(journal::DEFAULT_BYTE_BUDGET),
            ),
            engine: RwLock::new(Arc::new(engine)),
            counter: AtomicU64::new(0),
            uptime: clock::Uptime::new(),
            limits: self.limits,
            log_requests: self.log_requests,
            heavy: Arc::new(tokio::sync::Semaphore::new(heavy_jobs)),
            body_budget,
            admin_token: self.admin_token,
            scenario_limits: self.scenario_limits,
            conn_stats: Default::default(),
        });
        state::return_startup_memory();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, shared.clone(), async move {
            let _ = stopped.await;
        }));
        tracing::debug!("mock marketplace on {addr}, ready in {:?}", t0.elapsed());
        Ok(MockMarketplace {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
            closed: tokio::sync::watch::Sender::new(false),
        })
    }
}

/// A running mock marketplace. Shuts down when dropped (connections are told to close once
/// their in-flight request is answered); [`MockMarketplace::shutdown`] also waits for that.
#[derive(Debug)]
pub struct MockMarketplace {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Tells helper tasks (the scenario watcher) that the mock is gone.
    closed: tokio::sync::watch::Sender<bool>,
}

impl MockMarketplace {
    /// A builder with defaults: profile v1, no catalog, no scenario, the demo seller.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The base URL, `http://IP:PORT` without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The profile enforced.
    pub fn profile(&self) -> Profile {
        self.shared.profile
    }

    /// The stable token of `seller` (what `/authToken` issues when no lifetime applies).
    pub fn token(&self, seller: &str) -> Option<String> {
        self.shared
            .sellers
            .iter()
            .find(|s| s.seller == seller)
            .map(Credentials::token)
    }

    /// Revokes every token of `seller` (what `POST /__admin/tokens/revoke` does); returns how
    /// many were live, or `None` for an unknown seller.
    pub fn revoke_tokens(&self, seller: &str) -> Option<usize> {
        let i = self.shared.seller_index(seller)?;
        Some(self.shared.tokens.revoke(i))
    }

    /// In record mode: writes the recording (scenario and catalog) of everything forwarded so
    /// far; `None` when not recording.
    pub fn finish_recording(
        &self,
    ) -> Option<Result<recording::RecordSummary, recording::RecordError>> {
        self.shared
            .recorder
            .as_ref()
            .map(recording::Recorder::write)
    }

    /// In record mode: the most partner answer bytes held at once since start (never more
    /// than [`Limits::record_bytes_in_flight`]).
    pub fn record_peak_bytes(&self) -> Option<usize> {
        self.shared
            .recorder
            .as_ref()
            .map(recording::Recorder::peak_bytes)
    }

    /// In record mode: the partner's URL (without credentials) and the recording directory.
    pub fn recording(&self) -> Option<(String, PathBuf)> {
        self.shared
            .recorder
            .as_ref()
            .map(|r| (r.partner(), r.dir().to_path_buf()))
    }

    /// How many times `seller` obtained a token from `/authToken` since start or reset.
    pub fn authentications(&self, seller: &str) -> u64 {
        self.shared
            .seller_index(seller)
            .map_or(0, |i| self.shared.tokens.authentications(i))
    }

    /// Every seller's credentials.
    pub fn credentials(&self) -> Vec<Credentials> {
        self.shared.sellers.clone()
    }

    /// Every journal entry held, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.list(&Filter::default())
    }

    /// The journal entries a filter keeps.
    pub fn journal_filtered(&self, f: &Filter) -> Vec<JournalEntry> {
        self.shared.journal.list(f)
    }

    /// Journal counts (held, dropped, bounds).
    pub fn journal_stats(&self) -> JournalStats {
        self.shared.journal.stats()
    }

    /// Current stock of an item for a seller: the last value set, else the catalog's `stock`.
    pub fn stock(&self, seller: &str, product_id: &str, variant_id: &str) -> Option<u32> {
        self.shared
            .stock(seller, &ItemKey::new(product_id, variant_id))
    }

    /// The whole ledger (what `GET /__admin/ledger` shows).
    pub fn ledger(&self) -> Vec<StockRow> {
        self.shared.rows(None)
    }

    /// Every value an update call set, for any update call the mock serves (what
    /// `GET /__admin/ledger?call=ID` shows); `None` when no update call has that id.
    pub fn values(&self, call: &str) -> Option<Vec<ValueRow>> {
        self.shared.value_rows(call, None)
    }

    /// Number of catalog entries, when the mock has a catalog.
    pub fn catalog_items(&self) -> Option<usize> {
        self.shared.catalog.as_ref().map(|c| c.len())
    }

    /// Number of `/updateInventory` requests since start or reset.
    pub fn request_count(&self) -> u64 {
        self.shared
            .counter
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Clears journal, ledger, request counter, rule counters, RNG and clock.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Replaces the scenario (rule counters and RNG start afresh).
    pub fn set_scenario(&self, s: Scenario) -> Result<(), MockError> {
        self.shared.set_engine(Engine::new(s)?);
        Ok(())
    }

    /// The active scenario.
    pub fn scenario(&self) -> Scenario {
        self.shared.engine().scenario().clone()
    }

    /// Answers expectations from the ledger and the journal.
    pub fn verify(&self, expect: &[Expectation]) -> VerifyReport {
        verify::verify(&self.shared, expect)
    }

    /// Reloads `path` whenever the operating system reports a change to it (inotify,
    /// FSEvents, ReadDirectoryChangesW; the folder is watched, so an editor that replaces the
    /// file is seen too). A file that does not parse leaves the active scenario in place and is
    /// logged. Stops when the mock is dropped or shut down.
    pub fn watch_scenario_file(&self, path: PathBuf) -> Result<(), MockError> {
        use notify::Watcher;
        let watch_err = |source| MockError::Watch {
            path: path.clone(),
            source,
        };
        let name = path.file_name().map(|n| n.to_os_string());
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res
                && !matches!(ev.kind, notify::EventKind::Access(_))
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            {
                let _ = tx.send(());
            }
        })
        .map_err(watch_err)?;
        watcher
            .watch(&dir, notify::RecursiveMode::NonRecursive)
            .map_err(watch_err)?;
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let mut closed = self.closed.subscribe();
        tokio::spawn(async move {
            let _watcher = watcher;
            loop {
                tokio::select! {
                    ev = rx.recv() => if ev.is_none() { return },
                    _ = closed.changed() => return,
                }
                // An editor's save is several events (truncate, write, close): let them settle
                // and read the file once.
                tokio::time::sleep(Duration::from_millis(30)).await;
                while rx.try_recv().is_ok() {}
                let Some(sh) = weak.upgrade() else { return };
                // Read and compiled off the thread that serves connections; the old scenario
                // serves until the new one is ready.
                let limits = sh.scenario_limits;
                let file = path.clone();
                let built = tokio::task::spawn_blocking(move || {
                    Scenario::read_with(&file, &limits).and_then(Engine::new)
                })
                .await;
                let Ok(built) = built else { continue };
                match built {
                    Ok(e) => {
                        let n = e.fire_counts().len();
                        sh.set_engine(e);
                        tracing::info!("reloaded {} ({n} rules)", path.display());
                    }
                    Err(e) => tracing::warn!("kept the previous scenario: {e}"),
                }
            }
        });
        Ok(())
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain time-out) and returns.
    pub async fn shutdown(mut self) {
        let _ = self.closed.send(true);
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for MockMarketplace {
    fn drop(&mut self) {
        let _ = self.closed.send(true);
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
