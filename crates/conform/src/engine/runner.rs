//! The run: authenticates, draws cases, sends them with bounded concurrency under a rate
//! ceiling, each run and judged as one case by the engine (`execute`: each exchange, the
//! relation between a case's exchanges, what the partner stored), shrinks each failed check's
//! first failing case to a minimal one (`shrink`), judges the run as a whole, restores stock,
//! and builds the [`Report`]. It emits [`Event`]s and knows only URLs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use stockwire_schema::exchange;
use stockwire_schema::{AuthTokenRequest, CatalogEntry, contract};
use tokio::task::JoinSet;

use crate::checks::{self, Kind, RunFact, Verdict};
use crate::client::http::{Client, ClientOptions, FailureKind, HttpRequest, Outcome, Redactor};
use crate::config::{Credentials, FailOn, RunOptions, StockFrom, StockSample};
use crate::engine::cases::{Base, CaseSpec, CaseTree, Envelope, Generator, Transport};
use crate::engine::discovery::{self, Discovered};
use crate::engine::execute::{CaseRun, Engine};
use crate::engine::shrink::shrink;
use crate::error::ConformError;
use crate::readers::listing::ListingReader;
use crate::readers::observe::StockReader;
use crate::readers::probe::StockProbe;
use crate::readers::restore;
use crate::readers::state::{NEIGHBOR_CASES, ReadPlan, Tracker};
use crate::reports::events::{Event, EventSink};
use crate::reports::report::*;

/// The largest token the runner uses (16 KiB). A token is sent as the `apiKey` header of every
/// request and every spelling of it is redacted from every output, so a larger one (seen: a
/// partner answering a 1 MB token) would cost memory and time out of all proportion; real
/// tokens are a few hundred bytes, and servers refuse headers of more than 8 to 16 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The exit code of a run that certified nothing (the partner unreachable, authentication
/// failed, or nothing could be exercised), as the command's own exit code 3.
pub const EXIT_NOTHING_CERTIFIED: u8 = 3;

/// Fetches a token from `/authToken` for the given credentials: GET with a query string, or
/// POST with a JSON body when GET answers 404 or 405, a 5xx or no token (unless
/// `opts.auth_method` forces one).
pub async fn fetch_token(
    client: &Client,
    base: &str,
    opts: &RunOptions,
    username: &str,
    password: &str,
) -> Result<String, ConformError> {
    login(client, base, opts, username, password)
        .await
        .map(|l| l.token)
}

/// What logging in gave: the token, the whole-run checks' verdicts on the answers, the
/// partner's choices seen (POST only) and the calls made.
struct Login {
    token: String,
    verdicts: Vec<Verdict>,
    observations: Vec<checks::Observation>,
    /// `/authToken` calls made.
    requests: u64,
}

/// One `/authToken` answer read: its status, body and token.
struct TokenAnswer {
    status: u16,
    body: String,
    json: Option<Value>,
}

impl TokenAnswer {
    fn token(&self) -> Option<String> {
        self.json.as_ref().and_then(exchange::access_token)
    }
}

/// Sends one `/authToken` request; a transport failure is the run's error.
async fn token_call(
    client: &Client,
    req: &HttpRequest,
    auth_url: &str,
) -> Result<TokenAnswer, ConformError> {
    match client.send(req).await {
        Outcome::Response(r) => Ok(TokenAnswer {
            status: r.status,
            json: serde_json::from_str(&r.body).ok(),
            body: r.body,
        }),
        Outcome::Failure {
            failure: FailureKind::Connect,
            message,
            ..
        } => Err(ConformError::Unreachable {
            url: auth_url.into(),
            message,
        }),
        Outcome::Failure { message, .. } => Err(ConformError::AuthFailed {
            url: auth_url.into(),
            message,
        }),
    }
}

/// [`fetch_token`], also returning the whole-run checks' verdicts on the answers and the
/// partner's choices. GET is the documented call: a 404/405 means the partner built only POST
/// (its choice); a 5xx or an answer without a token violates `auth-token-response`, and the run
/// logs in with POST to certify the rest. A 401/403 refuses the credentials.
async fn login(
    client: &Client,
    base: &str,
    opts: &RunOptions,
    username: &str,
    password: &str,
) -> Result<Login, ConformError> {
    let path = contract(opts.profile).auth_path();
    let auth_url = format!("{}{path}", base.trim_end_matches('/'));
    let mut url = url::Url::parse(&auth_url).map_err(|e| ConformError::BadTarget {
        url: base.into(),
        message: e.to_string(),
    })?;
    let credentials = AuthTokenRequest::new(username, password);
    for (name, value) in credentials.query_pairs() {
        url.query_pairs_mut().append_pair(name, value);
    }
    let get = HttpRequest {
        method: "GET".into(),
        url: url.to_string(),
        headers: vec![crate::client::http::Header {
            name: "Accept".into(),
            value: "application/json".into(),
        }],
        body: String::new(),
    };
    let post = HttpRequest {
        method: "POST".into(),
        url: auth_url.clone(),
        headers: vec![crate::client::http::Header {
            name: "Content-Type".into(),
            value: "application/json".into(),
        }],
        body: credentials.to_body().to_string(),
    };
    let judge = |a: &TokenAnswer| {
        checks::judge_run(&RunFact::TokenAnswer {
            profile: opts.profile,
            status: a.status,
            body: a.json.as_ref(),
        })
    };
    let mut verdicts = Vec::new();
    let mut observations = Vec::new();
    let mut requests = 1u64;
    let answer = if opts.auth_method == Some(crate::config::AuthMethod::Post) {
        let a = token_call(client, &post, &auth_url).await?;
        verdicts.extend(judge(&a));
        a
    } else {
        let a = token_call(client, &get, &auth_url).await?;
        let may_post = opts.auth_method.is_none();
        let refused = matches!(a.status, 401 | 403);
        if may_post && matches!(a.status, 404 | 405) {
            observations.push(checks::Observation {
                topic: "auth-method",
                choice: format!("POST only (GET /authToken answered {})", a.status),
            });
            requests += 1;
            let p = token_call(client, &post, &auth_url).await?;
            verdicts.extend(judge(&p));
            p
        } else if may_post && !refused && (a.status >= 500 || a.token().is_none()) {
            verdicts.push(Verdict::fail(
                crate::checks::auth_token_response::CHECK.id,
                format!(
                    "GET /authToken (the documented call) answered HTTP {} without a token: {}; the run logged in with POST instead",
                    a.status,
                    crate::text::elide(&checks::snippet(&a.body), 120)
                ),
            ));
            requests += 1;
            token_call(client, &post, &auth_url).await?
        } else {
            verdicts.extend(judge(&a));
            a
        }
    };
    match answer.token() {
        Some(t) if t.len() > MAX_TOKEN_BYTES => Err(ConformError::AuthFailed {
            url: auth_url,
            message: format!(
                "the accessToken is {} bytes, more than the {} KiB a header value can carry \
                 (it is sent as apiKey on every request); the run stops here",
                t.len(),
                MAX_TOKEN_BYTES / 1024
            ),
        }),
        Some(token) => Ok(Login {
            token,
            verdicts,
            observations,
            requests,
        }),
        None => Err(ConformError::AuthFailed {
            url: auth_url,
            message: format!("HTTP {}: {}", answer.status, checks::snippet(&answer.body)),
        }),
    }
}

/// Logs in again with the run's seller credentials when a token expires (see
/// [`crate::client::key`]).
struct LoginAgain {
    client: Client,
    base: String,
    opts: RunOptions,
    username: String,
    password: String,
}

impl crate::client::key::Relogin for LoginAgain {
    fn login(&self) -> crate::client::key::LoginFuture<'_> {
        Box::pin(async move {
            login(
                &self.client,
                &self.base,
                &self.opts,
                &self.username,
                &self.password,
            )
            .await
            .map(|l| l.token)
            .map_err(|e| e.to_string())
        })
    }
}

#[derive(Default)]
struct Tally {
    passed: HashMap<&'static str, u64>,
    failed: HashMap<&'static str, u64>,
    first_fail: HashMap<&'static str, usize>,
    observations: BTreeMap<(String, String), u64>,
    latency: Vec<(usize, f64)>,
    requests: u64,
    violations: u64,
    authed: u64,
    auth_401: u64,
    server_errors: u64,
    throttled: u64,
    timeouts: u64,
    exchanges: u64,
    read_back: u64,
    /// The first case with a request refused 401/403 although sent with the run's key.
    first_refused_case: Option<usize>,
}

impl Tally {
    fn add(&mut self, index: usize, run: &CaseRun) {
        if run.auth_401 > 0 && index != usize::MAX {
            let first = self.first_refused_case.get_or_insert(index);
            *first = (*first).min(index);
        }
        for v in &run.verdicts {
            if v.failure.is_some() {
                *self.failed.entry(v.check).or_default() += 1;
                self.violations += 1;
                let e = self.first_fail.entry(v.check).or_insert(index);
                *e = (*e).min(index);
            } else {
                *self.passed.entry(v.check).or_default() += 1;
            }
        }
        for o in &run.observations {
            *self
                .observations
                .entry((o.topic.to_string(), o.choice.clone()))
                .or_default() += 1;
        }
        self.latency.extend(run.latency.iter().copied());
        self.requests += run.requests as u64;
        self.authed += run.authed as u64;
        self.auth_401 += run.auth_401 as u64;
        self.server_errors += run.server_errors as u64;
        self.throttled += run.throttled as u64;
        self.timeouts += run.timeouts as u64;
        self.exchanges += run.exchanges.len() as u64;
        self.read_back += u64::from(run.read_back);
    }
    fn add_verdict(&mut self, v: &Verdict) {
        let run = CaseRun {
            verdicts: vec![v.clone()],
            ..CaseRun::default()
        };
        self.add(usize::MAX, &run);
    }
}

/// A failure of `check` found outside a shrinkable case (run-level checks, the token call).
fn plain_failure(
    check: &str,
    message: String,
    case_kind: String,
    exchanges: Vec<RecordedExchange>,
) -> Failure {
    Failure {
        check: check.into(),
        severity: severity_of(check),
        message,
        case_kind,
        case_index: 0,
        occurrences: 1,
        shrink: None,
        curl: exchanges.iter().map(|e| e.request.curl()).collect(),
        exchanges,
        cases: Vec::new(),
        more_cases: 0,
    }
}

/// Every case of `runs` that failed `check`, in case order: the first [`MAX_CASES_KEPT`], with
/// their bodies within [`CASE_BODY_BUDGET`] bytes (a body beyond it clipped, with its size), and
/// how many more failed.
fn failing_cases(runs: &[Option<(CaseSpec, CaseRun)>], check: &str) -> (Vec<FailingCase>, u64) {
    let mut kept = Vec::new();
    let mut more = 0u64;
    let mut budget = CASE_BODY_BUDGET;
    for (index, (spec, run)) in runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| (i, r)))
    {
        let Some(message) = run
            .verdicts
            .iter()
            .find(|v| v.check == check)
            .and_then(|v| v.failure.clone())
        else {
            continue;
        };
        if kept.len() >= MAX_CASES_KEPT {
            more += 1;
            continue;
        }
        let exchanges: Vec<RecordedExchange> = recorded(run);
        let curl = exchanges.iter().map(|e| e.request.curl()).collect();
        let exchanges = exchanges
            .into_iter()
            .map(|mut e| {
                clip_body(&mut e.request.body, &mut budget);
                if let Outcome::Response(r) = &mut e.outcome {
                    clip_body(&mut r.body, &mut budget);
                }
                e
            })
            .collect();
        kept.push(FailingCase {
            case_index: index as u64,
            case_kind: spec.kind.clone(),
            message,
            exchanges,
            curl,
        });
    }
    (kept, more)
}

/// Takes `body` out of `budget`, clipping it (with its size) when the budget is short.
fn clip_body(body: &mut String, budget: &mut usize) {
    if body.len() <= *budget {
        *budget -= body.len();
        return;
    }
    let mut at = *budget;
    while at > 0 && !body.is_char_boundary(at) {
        at -= 1;
    }
    let size = body.len();
    body.truncate(at);
    body.push_str(&format!(
        "… (clipped: {size} bytes in all; this check's {} KiB of case bodies is spent)",
        CASE_BODY_BUDGET / 1024
    ));
    *budget = 0;
}

/// A check's severity, from its own definition.
fn severity_of(check: &str) -> String {
    checks::find(check).map_or_else(|| "MUST".into(), |c| c.severity.to_string())
}

fn recorded(run: &CaseRun) -> Vec<RecordedExchange> {
    run.exchanges
        .iter()
        .map(|(request, outcome)| RecordedExchange {
            request: request.clone(),
            outcome: outcome.clone(),
        })
        .collect()
}

/// Everything a run accumulates between its phases.
struct Session<'s> {
    opts: RunOptions,
    sink: &'s mut dyn EventSink,
    started: Instant,
    base: String,
    url: String,
    label: String,
    client: Client,
    auth: bool,
    catalog: Vec<CatalogEntry>,
    engine: Option<Arc<Engine>>,
    tally: Tally,
    warnings: Vec<String>,
    skip_reasons: HashMap<&'static str, String>,
    failures: Vec<Failure>,
    runs: Vec<Option<(CaseSpec, CaseRun)>>,
    trees: Vec<Option<CaseTree>>,
    done: u64,
    interrupted: bool,
    latency: Vec<LatencyRow>,
    restore: Option<RestoreResult>,
    coverage: Vec<CoverageGap>,
    /// The kinds of case read back, in the order first read (sampled read-back).
    read_kinds: Vec<String>,
    /// What discovery found, when it ran.
    discovered: Option<Discovered>,
    /// Why the run certified nothing (most requests with the run's apiKey refused, answered
    /// 5xx or throttled away): the run then exits 3 with this as its reason.
    certified_nothing: Option<String>,
    /// Whether the listing was seen to show the stock left after `blockedInventory` (the
    /// restore then adds the blocked units back).
    lists_available: bool,
}

/// Runs the conformance checks against `opts.target` and returns the report.
pub async fn run(opts: RunOptions, sink: &mut dyn EventSink) -> Result<Report, ConformError> {
    let mut s = Session::open(opts, sink)?;
    s.authenticate().await?;
    s.discover().await?;
    s.select_catalog();
    s.start_engine().await;
    s.announce_coverage();
    let sent = s.send_cases().await;
    if sent.is_ok() && !s.interrupted {
        s.shrink_failures().await;
        s.judge_run();
        s.reflect_listing().await;
        s.isolate_sellers().await;
    }
    s.restore_stock().await;
    sent?;
    s.warn_about_strength();
    Ok(s.report())
}

impl<'s> Session<'s> {
    /// Checks the target URL and builds the client.
    fn open(opts: RunOptions, sink: &'s mut dyn EventSink) -> Result<Self, ConformError> {
        let started = Instant::now();
        let base = opts.target.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|e| ConformError::BadTarget {
            url: opts.target.clone(),
            message: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConformError::BadTarget {
                url: opts.target.clone(),
                message: "scheme must be http or https".into(),
            });
        }
        let url = format!("{base}{}", contract(opts.profile).inventory_path());
        let label = opts.target_label.clone().unwrap_or_else(|| base.clone());
        let redactor = Redactor::new(opts.credentials.secrets());
        let client_opts = ClientOptions::from_run(&opts, opts.concurrency);
        let client = Client::new(client_opts, None, redactor)?;
        Ok(Session {
            opts,
            sink,
            started,
            base,
            url,
            label,
            client,
            auth: false,
            catalog: vec![],
            engine: None,
            tally: Tally::default(),
            warnings: vec![],
            skip_reasons: HashMap::new(),
            failures: vec![],
            runs: vec![],
            trees: vec![],
            done: 0,
            interrupted: false,
            latency: vec![],
            restore: None,
            coverage: vec![],
            read_kinds: vec![],
            discovered: None,
            certified_nothing: None,
            lists_available: false,
        })
    }

    /// Which cases are read back: as set, else every case through a mock's ledger (cheap) and
    /// a sample through a probe (a process per read).
    fn sample(&self) -> StockSample {
        self.opts
            .stock_sample
            .unwrap_or(match self.opts.stock_probe {
                Some(_) => crate::config::DEFAULT_PROBE_SAMPLE,
                // Each listing read is a request to the partner: sampled like a probe.
                None if self.reads_listing() => crate::config::DEFAULT_PROBE_SAMPLE,
                None => crate::config::DEFAULT_LEDGER_SAMPLE,
            })
    }

    /// Whether stored stock is read through the partner's listing.
    fn reads_listing(&self) -> bool {
        self.engine
            .as_ref()
            .and_then(|e| e.state.as_ref())
            .is_some_and(|t| t.reads_listing())
    }

    fn enabled(&self, id: &str) -> bool {
        (self.opts.checks.is_empty() || self.opts.checks.iter().any(|c| c == id))
            && !self.opts.skip_checks.iter().any(|c| c == id)
    }

    /// Sets the apiKey, or fetches a token (judging `auth-token-response`).
    async fn authenticate(&mut self) -> Result<(), ConformError> {
        match self.opts.credentials.clone() {
            Credentials::None => {}
            Credentials::ApiKey(k) if k.len() > MAX_TOKEN_BYTES => {
                return Err(ConformError::Setting {
                    name: "api-key".into(),
                    message: format!(
                        "the key is {} bytes; at most {} KiB are sent as a header",
                        k.len(),
                        MAX_TOKEN_BYTES / 1024
                    ),
                });
            }
            Credentials::ApiKey(k) => {
                self.client.set_api_key(Some(k));
                self.auth = true;
            }
            Credentials::Login { username, password } => {
                let Login {
                    token,
                    verdicts,
                    observations,
                    requests,
                } = login(&self.client, &self.base, &self.opts, &username, &password).await?;
                self.tally.requests += requests;
                for o in observations {
                    *self
                        .tally
                        .observations
                        .entry((o.topic.to_string(), o.choice))
                        .or_default() += 1;
                }
                for verdict in &verdicts {
                    if !self.enabled(verdict.check) {
                        continue;
                    }
                    self.tally.add_verdict(verdict);
                    if let Some(m) = &verdict.failure {
                        let request = HttpRequest {
                            method: "GET".into(),
                            url: format!(
                                "{}{}?username={username}&password=$PASSWORD",
                                self.base,
                                contract(self.opts.profile).auth_path()
                            ),
                            headers: vec![],
                            body: String::new(),
                        };
                        let mut f =
                            plain_failure(verdict.check, m.clone(), "auth-token".into(), vec![]);
                        f.curl = vec![request.curl()];
                        self.failures.push(f);
                    }
                }
                self.client.set_api_key(Some(token));
                // A token that expires is a partner's right: log in again, once per request.
                self.client.set_relogin(Arc::new(LoginAgain {
                    client: self.client.without_key(),
                    base: self.base.clone(),
                    opts: self.opts.clone(),
                    username,
                    password,
                }));
                self.auth = true;
            }
        }
        Ok(())
    }

    /// The seller's catalog entries: the given items (`--catalog`, `--item`) when there are
    /// any, else the discovered ones.
    fn select_catalog(&mut self) {
        let given: Vec<CatalogEntry> = match &self.opts.seller {
            Some(s) => self.opts.catalog.for_seller(s).cloned().collect(),
            None => self.opts.catalog.entries.clone(),
        };
        let found = self.discovered.as_ref().map_or(&[][..], |d| &d.entries[..]);
        self.catalog = discovery::catalog_of(given, found);
    }

    /// The catalog flow (`--no-discovery` skips it): the count, the pages, the catalog checks'
    /// verdicts and the partner's choices. A count of 0 with no given items ends the run.
    async fn discover(&mut self) -> Result<(), ConformError> {
        if self.opts.no_restore {
            self.opts.restore = false;
        }
        if !self.opts.discovery {
            let c = contract(self.opts.profile);
            self.warnings.push(format!(
                "--no-discovery: {} and {} were not called, so they are not certified",
                c.count().path(),
                c.listing().path()
            ));
            return Ok(());
        }
        self.sink.event(&Event::Phase("discovering the catalog"));
        let d = discovery::discover(
            &self.client,
            &self.base,
            self.opts.profile,
            self.opts.max_pages,
        )
        .await;
        self.tally.requests += d.requests;
        for v in checks::judge_run(&RunFact::Catalog(&d.facts)) {
            if !self.enabled(v.check) {
                continue;
            }
            self.tally.add_verdict(&v);
            if let Some(m) = &v.failure {
                self.failures.push(plain_failure(
                    v.check,
                    m.clone(),
                    "catalog".into(),
                    v.shown_by.clone(),
                ));
            }
        }
        for o in &d.observations {
            *self
                .tally
                .observations
                .entry((o.topic.to_string(), o.choice.clone()))
                .or_default() += 1;
        }
        let given = !self.opts.catalog.entries.is_empty();
        if !d.missing.is_empty() {
            self.warnings.push(format!(
                "{} not built (404/405): the catalog calls are mandatory for go-live; the run goes on as --no-discovery{}",
                d.missing.join(" and "),
                if given { ", on the given items" } else { "" }
            ));
        } else if d.facts.count_value == Some(0) && !given {
            return Err(ConformError::NothingToCertify {
                message: format!(
                    "{} answered 0: the seller has no published listings; Uniware would stop here too, so nothing could be certified (publish a listing for the test seller, or give --catalog/--item)",
                    contract(self.opts.profile).count().path()
                ),
            });
        }
        let lines = discovery::summary(&d, given, !self.opts.no_restore);
        for line in &lines {
            self.sink.event(&Event::Notice(line));
        }
        if !d.entries.is_empty() && !self.opts.no_restore {
            self.opts.restore = true;
        }
        self.discovered = Some(d);
        Ok(())
    }

    /// The engine, with the read-back when stored stock can be read.
    async fn start_engine(&mut self) {
        let mut engine = Engine::new(
            self.client.clone(),
            &self.opts,
            self.catalog.clone(),
            self.auth,
            self.url.clone(),
        );
        let wants_state = checks::registry()
            .iter()
            .any(|c| needs_stock_reader(c) && self.enabled(c.id))
            || self.opts.restore;
        let reader = if wants_state {
            self.choose_reader().await
        } else {
            None
        };
        engine.restore = self.opts.restore && self.opts.stock_probe.is_some();
        match reader {
            Some(r) => {
                engine.state = Some(Arc::new(Tracker::new(
                    r,
                    self.opts.stock_settle,
                    self.catalog.clone(),
                )));
            }
            None if self.opts.stock_from == Some(StockFrom::None) => {
                for c in checks::registry() {
                    if needs_stock_reader(c) {
                        self.skip_reasons
                            .insert(c.id, "no read-back (--stock-from none)".into());
                    }
                }
            }
            None if !self.opts.observe && self.opts.stock_probe.is_none() => {
                for c in checks::registry() {
                    if needs_stock_reader(c) {
                        self.skip_reasons
                            .insert(c.id, "observation disabled and no --stock-probe".into());
                    }
                }
            }
            None => {}
        }
        self.engine = Some(Arc::new(engine));
    }

    /// The reader of stored stock: as `--stock-from` says, else the probe when given, else a
    /// stockwire mock's ledger, else the partner's listing (when an item has a SKU code).
    async fn choose_reader(&self) -> Option<StockReader> {
        let probe = |cmd: &String| StockReader::Probe {
            probe: Arc::new(StockProbe::new(cmd.clone(), self.opts.stock_probe_timeout)),
            seller: self.opts.seller.clone().unwrap_or_default(),
        };
        let ledger = || {
            StockReader::ledger(
                &self.client,
                &self.base,
                self.opts.seller.clone(),
                self.opts.admin_token.clone(),
            )
        };
        let listing = || {
            let takes_list = self
                .discovered
                .as_ref()
                .is_some_and(|d| d.filter_takes_list);
            let l = ListingReader::new(
                &self.client,
                &self.base,
                self.opts.profile,
                &self.catalog,
                takes_list,
            );
            (l.readable() > 0).then(|| StockReader::Listing(Box::new(l)))
        };
        match (self.opts.stock_from, &self.opts.stock_probe) {
            (Some(StockFrom::None), _) => None,
            (Some(StockFrom::Probe) | None, Some(cmd)) => Some(probe(cmd)),
            (Some(StockFrom::Probe), None) => None,
            (Some(StockFrom::Ledger), _) => ledger().await,
            (Some(StockFrom::Listing), _) => listing(),
            (None, None) => {
                let found = if self.opts.observe {
                    ledger().await
                } else {
                    None
                };
                found.or_else(listing)
            }
        }
    }

    /// Which checks this run cannot carry out in full, derived from each check's declared
    /// needs and what the run has; shown before the first case and kept for the report.
    fn announce_coverage(&mut self) {
        let available = checks::Available {
            catalog: !self.catalog.is_empty(),
            stock_probe: self.engine.as_ref().is_some_and(|e| e.state.is_some()),
            credentials: self.auth,
            login: matches!(self.opts.credentials, Credentials::Login { .. }),
            discovery: self.discovered.is_some(),
            second_seller: !matches!(self.opts.second_seller, Credentials::None),
        };
        let coverage: Vec<CoverageGap> = checks::gaps(&available, |id| self.enabled(id))
            .iter()
            .map(CoverageGap::from)
            .collect();
        for g in coverage
            .iter()
            .filter(|g| g.effect == checks::Loss::Skipped)
        {
            if let Some(c) = checks::find(&g.check) {
                // A more specific reason set earlier (observation disabled) stays.
                self.skip_reasons
                    .entry(c.id)
                    .or_insert_with(|| g.reason_line());
            }
        }
        // A second seller is an extra, not something a run lacks: `seller-isolation` says it
        // was skipped with one seller (its skip reason, set above), and the coverage shown before
        // the first case and kept in the report leaves that reason out.
        let coverage: Vec<CoverageGap> = coverage
            .into_iter()
            .filter_map(|mut g| {
                g.reasons
                    .retain(|r| r.missing != checks::Resource::SecondSeller);
                (!g.reasons.is_empty()).then_some(g)
            })
            .collect();
        if self.catalog.is_empty() {
            let weakened = coverage
                .iter()
                .filter(|g| {
                    g.reasons
                        .iter()
                        .any(|r| r.missing == checks::Resource::Catalog)
                })
                .count();
            self.warnings.push(format!("no catalog items: {weakened} checks skipped or weakened (give --catalog FILE or --item JSON with the test seller's known items)"));
        }
        self.sink.event(&Event::Started {
            target: &self.label,
            seed: self.opts.seed,
            cases: self.opts.duration.is_none().then_some(self.opts.cases),
            coverage: &coverage,
        });
        self.coverage = coverage;
    }

    /// Main phase: draws cases and runs them with bounded concurrency; each case is judged by
    /// the exchange, relation and state checks.
    async fn send_cases(&mut self) -> Result<(), ConformError> {
        let Some(engine) = self.engine.clone() else {
            return Ok(());
        };
        let mut generator = Generator::new(&engine.cases_ctx, self.opts.seed);
        let budget = self.opts.cases.max(1);
        let deadline = self.opts.duration.map(|d| self.started + d);
        let mut set: JoinSet<(usize, CaseSpec, CaseRun)> = JoinSet::new();
        let mut dispatched = 0usize;
        let mut consecutive_timeouts = 0u32;
        let mut stalled = false;
        let concurrency = self.opts.concurrency.max(1);
        // Which cases are read back: decided here, in case order, so a seed reads back the
        // same cases however the concurrent cases finish.
        let mut sampled: HashMap<String, u32> = HashMap::new();
        let sample = self.sample();
        let mut neighbor_cases = match sample {
            StockSample::All => u32::MAX,
            StockSample::PerKind(n) => NEIGHBOR_CASES.saturating_mul(n),
        };
        let mut read_spent = 0u64;
        let mut probe_stopped = false;
        // With --restore, Ctrl-C stops sending and still restores.
        let watch_interrupt = self.opts.restore;
        let interrupt = async {
            if watch_interrupt {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(interrupt);
        loop {
            let more = |dispatched: usize| match deadline {
                Some(d) => Instant::now() < d,
                None => (dispatched as u64) < budget,
            };
            // The first case runs alone: it tells an unreachable target from a weak one.
            let limit = if dispatched == 0 || self.done > 0 {
                concurrency
            } else {
                1
            };
            if !stalled && engine.client.throttle().exhausted() {
                stalled = true;
            }
            while set.len() < limit && more(dispatched) && !stalled {
                let Some(tree) = generator.next_case() else {
                    break;
                };
                let spec = tree.current();
                self.trees.push(Some(tree));
                self.runs.push(None);
                // A kind is read back while fewer than N of its cases were, and the reads
                // spent so far (estimated from the case) are within the run's budget.
                let family = spec.kind.split(':').next().unwrap_or_default().to_string();
                let read = match sample {
                    StockSample::All => true,
                    StockSample::PerKind(n) => {
                        readable_case(&spec)
                            && sampled.get(&family).copied().unwrap_or(0) < n
                            && (core_state_case(&spec)
                                || read_spent
                                    < crate::readers::state::read_budget(dispatched as u64)
                                        .saturating_mul(u64::from(n)))
                    }
                };
                // A neighbor for cases that send a catalog item as it is (likely applied).
                let neighbor = read
                    && neighbor_cases > 0
                    && spec.transport == Transport::Normal
                    && spec
                        .items
                        .iter()
                        .any(|i| matches!(i.base, Base::Catalog(_)) && i.edits.is_empty());
                if read {
                    if sample != StockSample::All && !sampled.contains_key(&family) {
                        self.read_kinds.push(family.clone());
                    }
                    *sampled.entry(family).or_default() += 1;
                    neighbor_cases -= u32::from(neighbor);
                    read_spent += estimated_reads(&spec, neighbor);
                }
                let plan = ReadPlan { read, neighbor };
                let e = engine.clone();
                let index = dispatched;
                set.spawn(async move {
                    let run = e.execute(&spec, plan).await;
                    (index, spec, run)
                });
                dispatched += 1;
            }
            let joined = tokio::select! {
                j = set.join_next() => j,
                _ = &mut interrupt => {
                    set.abort_all();
                    self.interrupted = true;
                    self.warnings.push(format!(
                        "interrupted (Ctrl-C) after {} cases: no shrinking; stock restored",
                        self.done
                    ));
                    None
                }
            };
            let Some(joined) = joined else {
                break;
            };
            let Ok((index, spec, run)) = joined else {
                continue;
            };
            if self.done == 0
                && run.connect_failures > 0
                && run.exchanges.len() == run.connect_failures as usize
            {
                set.abort_all();
                let message = match run.exchanges.first().map(|e| &e.1) {
                    Some(Outcome::Failure { message, .. }) => message.clone(),
                    _ => "connection failed".into(),
                };
                return Err(ConformError::Unreachable {
                    url: self.url.clone(),
                    message,
                });
            }
            if run.timeouts > 0 && run.timeouts as usize == run.exchanges.len() {
                consecutive_timeouts += 1;
                if consecutive_timeouts >= 3 && !stalled {
                    stalled = true;
                    self.warnings.push(format!("the partner stalls: {consecutive_timeouts} cases in a row timed out; stopped sending new cases"));
                }
            } else {
                consecutive_timeouts = 0;
            }
            self.tally.add(index, &run);
            self.done += 1;
            // Repeated probe errors stop the state checks: say so when it happens.
            if !probe_stopped && let Some(t) = engine.state.as_ref().filter(|t| t.disabled()) {
                probe_stopped = true;
                let (errors, count) = t.errors();
                let w = format!(
                    "{count} stock probe errors: the state checks are skipped from now on (not a partner violation); first: {}",
                    errors.first().map_or("", String::as_str)
                );
                self.sink.event(&Event::Warning(&w));
            }
            self.runs[index] = Some((spec, run));
            self.sink.event(&Event::Progress {
                cases: self.done,
                requests: self.tally.requests,
                violations: self.tally.violations,
            });
        }
        Ok(())
    }

    /// Shrinking: each failed check's first failing case, reduced while it still fails it.
    async fn shrink_failures(&mut self) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let failing: Vec<(&'static str, usize)> = checks::registry()
            .iter()
            .filter_map(|c| self.tally.first_fail.get(c.id).map(|i| (c.id, *i)))
            .collect();
        if !failing.is_empty() {
            self.sink.event(&Event::Phase("shrinking failing cases"));
        }
        let mut shrink_requests_total = 0u64;
        for (check, index) in failing {
            let Some((spec, run)) = self.runs.get(index).and_then(|r| r.clone()) else {
                continue;
            };
            let tree = match self.trees.get_mut(index).and_then(Option::take) {
                Some(t) => Some(t),
                None => {
                    let mut g = Generator::new(&engine.cases_ctx, self.opts.seed);
                    let mut t = None;
                    for _ in 0..=index {
                        t = g.next_case();
                    }
                    t
                }
            };
            let shrinkable = checks::find(check).is_some_and(|c| c.shrink);
            let (final_spec, final_run, info) = match tree {
                Some(tree) if shrinkable => {
                    shrink(&engine, tree, check, spec, run, self.opts.shrink_requests).await
                }
                _ => {
                    let n = spec.items.len();
                    let info = ShrinkInfo {
                        steps: 0,
                        requests: 0,
                        original_items: n,
                        final_items: n,
                        smaller_value_passed: false,
                    };
                    (spec, run, info)
                }
            };
            shrink_requests_total += info.requests as u64;
            let message = final_run
                .verdicts
                .iter()
                .find(|v| v.check == check && v.failure.is_some())
                .and_then(|v| v.failure.clone())
                .unwrap_or_default();
            let exchanges = recorded(&final_run);
            let (cases, more_cases) = failing_cases(&self.runs, check);
            self.failures.push(Failure {
                check: check.into(),
                severity: severity_of(check),
                message,
                case_kind: final_spec.kind.clone(),
                case_index: index as u64,
                occurrences: self.tally.failed.get(check).copied().unwrap_or(0),
                shrink: Some(info),
                curl: exchanges.iter().map(|e| e.request.curl()).collect(),
                exchanges,
                cases,
                more_cases,
            });
        }
        self.tally.requests += shrink_requests_total;
    }

    /// The whole-run checks: latency per batch size.
    fn judge_run(&mut self) {
        for (lo, hi, label) in BUCKETS {
            let mut xs: Vec<f64> = self
                .tally
                .latency
                .iter()
                .filter(|(n, _)| *n >= lo && *n <= hi)
                .map(|(_, ms)| *ms)
                .collect();
            if xs.is_empty() {
                continue;
            }
            xs.sort_by(|a, b| a.total_cmp(b));
            let budget =
                self.opts
                    .policies
                    .latency_budget_for(if hi == usize::MAX { 10_000 } else { hi });
            let p99 = percentile(&xs, 99.0);
            self.latency.push(LatencyRow {
                batch_sizes: label.into(),
                count: xs.len() as u64,
                p50_ms: percentile(&xs, 50.0),
                p90_ms: percentile(&xs, 90.0),
                p99_ms: p99,
                max_ms: *xs.last().unwrap_or(&0.0),
                budget_ms: budget.as_secs_f64() * 1000.0,
            });
            let fact = RunFact::Latency {
                bucket: label,
                p99_ms: p99,
                budget,
            };
            for v in checks::judge_run(&fact) {
                if !self.enabled(v.check) {
                    continue;
                }
                if let Some(m) = &v.failure {
                    self.failures.push(plain_failure(
                        v.check,
                        m.clone(),
                        format!("batches of {label} items"),
                        vec![],
                    ));
                }
                self.tally.add_verdict(&v);
            }
        }
    }

    /// `listing-reflects-update`: one update read back through the listing (with discovery),
    /// and the partner's choice of listed stock (stored, or left after blocked units).
    async fn reflect_listing(&mut self) {
        let check = checks::catalog_listing_reflects::CHECK.id;
        if self.discovered.is_none() || !self.enabled(check) {
            return;
        }
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let Some(p) = discovery::reflect(
            &engine,
            &self.client,
            &self.base,
            self.opts.profile,
            &self.catalog,
            self.opts.stock_settle,
        )
        .await
        else {
            return;
        };
        self.tally.requests += 4;
        for v in checks::judge_run(&RunFact::ListingReflects(&p)) {
            self.tally.add_verdict(&v);
            if let Some(m) = &v.failure {
                self.failures
                    .push(plain_failure(v.check, m.clone(), "catalog".into(), vec![]));
            }
        }
        let choice = match p.listed {
            Some((v, Some(b))) if b > 0 && v == p.sent => Some("the stored stock"),
            Some((v, Some(b))) if b > 0 && v.saturating_add(b) == p.sent => {
                Some("the stock left after blockedInventory")
            }
            _ => None,
        };
        self.lists_available = choice == Some("the stock left after blockedInventory");
        if let Some(c) = choice {
            *self
                .tally
                .observations
                .entry(("listed-inventory".into(), c.into()))
                .or_default() += 1;
        }
    }

    /// `seller-isolation`: with a second seller's credentials, each seller's updates read back
    /// on the other's stock (see `engine::sellers`); B's catalog through B's own listing.
    async fn isolate_sellers(&mut self) {
        let check = checks::seller_isolation::CHECK.id;
        let second = self.opts.second_seller.clone();
        if !self.enabled(check) || matches!(second, Credentials::None) {
            return;
        }
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let Some(tracker) = engine.state.clone().filter(|t| !t.disabled()) else {
            return;
        };
        self.sink.event(&Event::Phase("checking seller isolation"));
        let skip = |s: &mut Self, why: String| {
            s.warnings.push(format!("{check} skipped: {why}"));
            s.skip_reasons.insert(check, why);
        };
        let mut client = match Client::new(
            ClientOptions::from_run(&self.opts, 1),
            None,
            Redactor::new(second.secrets()),
        ) {
            Ok(c) => c,
            Err(e) => return skip(self, format!("no client for the second seller: {e}")),
        };
        let name = match &second {
            Credentials::ApiKey(k) => {
                client.set_api_key(Some(k.clone()));
                None
            }
            Credentials::Login { username, password } => {
                match fetch_token(&client, &self.base, &self.opts, username, password).await {
                    Ok(t) => client.set_api_key(Some(t)),
                    Err(e) => {
                        return skip(self, format!("the second seller could not log in: {e}"));
                    }
                }
                self.tally.requests += 1;
                Some(username.clone())
            }
            Credentials::None => None,
        };
        // B's items: the given ones of its name, and what its own listing shows.
        let given: Vec<CatalogEntry> = match &name {
            Some(n) => self.opts.catalog.for_seller(n).cloned().collect(),
            None => vec![],
        };
        let mut takes_list = false;
        let found = if self.opts.discovery {
            let d =
                discovery::discover(&client, &self.base, self.opts.profile, self.opts.max_pages)
                    .await;
            self.tally.requests += d.requests;
            takes_list = d.filter_takes_list;
            d.entries
        } else {
            vec![]
        };
        let catalog_b = discovery::catalog_of(given, &found);
        let reader_b = match tracker.reader() {
            StockReader::Probe { probe, .. } => Some(StockReader::Probe {
                probe: probe.clone(),
                seller: name.clone().unwrap_or_default(),
            }),
            StockReader::Ledger {
                url, admin_token, ..
            } if name.is_some() => Some(StockReader::Ledger {
                client: Box::new(client.clone()),
                url: url.clone(),
                seller: name.clone(),
                admin_token: admin_token.clone(),
            }),
            _ => {
                let l = ListingReader::new(
                    &client,
                    &self.base,
                    self.opts.profile,
                    &catalog_b,
                    takes_list,
                );
                (l.readable() > 0).then(|| StockReader::Listing(Box::new(l)))
            }
        };
        let Some(reader_b) = reader_b else {
            return skip(
                self,
                "the second seller's stock cannot be read: its listing shows no item with a SKU code".into(),
            );
        };
        let a = crate::engine::sellers::Seller {
            name: "A",
            client: &self.client,
            reader: tracker.reader(),
            catalog: &self.catalog,
        };
        let b = crate::engine::sellers::Seller {
            name: "B",
            client: &client,
            reader: &reader_b,
            catalog: &catalog_b,
        };
        let found = crate::engine::sellers::probe(&engine, &a, &b, self.opts.restore).await;
        self.tally.requests += found.requests;
        match checks::judge_run(&RunFact::SellerIsolation(&found.facts))
            .into_iter()
            .find(|v| v.check == check)
        {
            Some(v) => {
                self.tally.add_verdict(&v);
                if let Some(m) = &v.failure {
                    self.failures
                        .push(plain_failure(check, m.clone(), "sellers".into(), vec![]));
                }
            }
            None => skip(
                self,
                "no item of either seller could be read before and after the other's update".into(),
            ),
        }
        if !found.restored.is_empty() {
            let line = format!(
                "seller-isolation set back what its probes changed: {}",
                found.restored.join(", ")
            );
            self.sink.event(&Event::Notice(&line));
        }
        if !found.not_restored.is_empty() {
            self.warnings.push(format!(
                "seller-isolation changed stock it could not set back: {}",
                found.not_restored.join("; ")
            ));
        }
    }

    /// `--restore`: with a read-back, each item's stock before the run first touched it;
    /// without, the catalog's stated stock.
    async fn restore_stock(&mut self) {
        if !self.opts.restore {
            return;
        }
        let Some(engine) = self.engine.clone() else {
            return;
        };
        self.sink.event(&Event::Phase("restoring stock"));
        // Only a probe reads the partner's own state; without one, the catalog's stock.
        let result = match &engine.state {
            Some(t) if self.opts.stock_probe.is_some() => {
                restore::from_read_back(&*engine, t).await
            }
            _ => restore::from_catalog(&*engine, &self.catalog, self.lists_available).await,
        };
        self.tally.requests += result.1;
        self.restore = Some(result.0);
    }

    /// Warnings about the run's strength (wrong credentials, foreign catalog, time-outs,
    /// probe errors).
    fn warn_about_strength(&mut self) {
        let t = &self.tally;
        if t.authed >= 3 && t.auth_401 * 2 > t.authed {
            self.warnings.push(format!("{} of {} authenticated requests were answered 401/403: the credentials are probably wrong, so most checks saw only refusals", t.auth_401, t.authed));
        }
        if t.authed >= 3 && t.server_errors * 2 > t.authed {
            self.warnings.push(format!("{} of {} requests sent with the run's apiKey were answered 5xx: the partner seems down, so most checks saw only server errors", t.server_errors, t.authed));
        }
        self.note_key();
        let throttle = self.client.throttle().stats();
        if throttle.throttled > 0 {
            let rate = throttle.settled_rate.map_or(String::new(), |r| {
                format!("; the run settled at {r:.1} requests/s")
            });
            *self
                .tally
                .observations
                .entry((
                    "throttling".into(),
                    format!(
                        "429 / 503 + Retry-After honoured, {:.1} s waited{rate}",
                        throttle.waited.as_secs_f64()
                    ),
                ))
                .or_default() += throttle.throttled;
        }
        let t = &self.tally;
        // Most requests sent with a valid key got no answer a check can judge, or the
        // partner throttled past the wait budget: the run certified nothing, whatever passed.
        let unjudged = t.auth_401 + t.server_errors + t.throttled;
        let reason = if throttle.exhausted {
            Some(format!(
                "nothing could be exercised: the partner throttled {} times and the wait budget (--throttle-budget {}) was spent after {} cases; stopped sending",
                throttle.throttled,
                humantime::format_duration(self.opts.throttle_budget),
                self.done
            ))
        } else if t.authed >= 3 && unjudged * 2 > t.authed {
            Some(format!(
                "nothing could be exercised: {unjudged} of {} requests sent with the run's apiKey were refused (401/403), answered 5xx or throttled",
                t.authed
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            if throttle.exhausted {
                self.warnings.push(reason.clone());
            }
            let why = format!("not exercised: {reason}");
            for c in checks::registry() {
                let judged = t.passed.contains_key(c.id) || t.failed.contains_key(c.id);
                if !judged {
                    self.skip_reasons.insert(c.id, why.clone());
                }
            }
            self.certified_nothing = Some(reason);
        }
        let sum = |m: &HashMap<&'static str, u64>| {
            checks::registry()
                .iter()
                .filter(|c| c.catalog_evidence)
                .map(|c| m.get(c.id).copied().unwrap_or(0))
                .sum::<u64>()
        };
        if sum(&t.failed) >= 3 && sum(&t.passed) == 0 {
            self.warnings.push("every catalog item sent was reported failed: the catalog or seller is probably not the partner's (check --catalog and --seller)".into());
        }
        if t.exchanges >= 3 && t.timeouts * 2 > t.exchanges {
            self.warnings.push(format!(
                "{} of {} requests timed out: most checks could not judge anything",
                t.timeouts, t.exchanges
            ));
        }
        if let Some(tr) = self.engine.as_ref().and_then(|e| e.state.clone()) {
            let (errors, count) = tr.errors();
            if let Some(first) = errors.first() {
                self.warnings.push(format!(
                    "{count} stock probe error(s){}; first: {first}",
                    if tr.disabled() {
                        ", so the state checks were skipped from then on"
                    } else {
                        ""
                    }
                ));
            }
            if tr.unseen() > 0 {
                self.warnings.push(format!(
                    "{} read(s) of items the listing does not show (or shows without a SKU code): their stock is unknown, so their state checks were skipped",
                    tr.unseen()
                ));
            }
            if tr.disabled() {
                for c in checks::registry() {
                    if c.kind() == Kind::State {
                        self.skip_reasons.insert(
                            c.id,
                            format!("the stock probe failed {count} times (see the warning); not a partner violation"),
                        );
                    }
                }
            }
        }
        for w in &self.warnings {
            self.sink.event(&Event::Warning(w));
        }
    }

    /// What happened to the run's key: tokens that expired (a partner choice, with the
    /// lifetime seen), a new login that failed, or an apiKey that stopped working.
    fn note_key(&mut self) {
        let keys = self.client.key_stats();
        self.tally.requests += u64::from(keys.relogins);
        if let Some(first) = keys.expiries.first() {
            let choice = format!(
                "tokens expire: the first stopped working {:.1} s and {} request(s) after login; the run logged in again{}",
                first.after.as_secs_f64(),
                first.requests,
                if keys.expiries.len() > 1 {
                    format!(" ({} times)", keys.expiries.len())
                } else {
                    String::new()
                }
            );
            *self
                .tally
                .observations
                .entry(("token-lifetime".into(), choice))
                .or_default() += keys.expiries.len() as u64;
        }
        if let Some(why) = &keys.relogin_failed {
            self.warnings.push(format!(
                "a token expired and logging in again failed ({why}): later requests with it were refused"
            ));
        }
        if keys.capped {
            self.warnings.push(format!(
                "tokens expired more than {} times: the run logged in no more, and later requests were refused",
                crate::client::key::MAX_RELOGINS
            ));
        }
        if let Some(n) = keys.stopped_at {
            let case = self
                .tally
                .first_refused_case
                .map_or(String::new(), |c| format!(", case {c}"));
            self.warnings.push(format!(
                "the apiKey stopped working from request {n} on{case}: it had worked before, and later requests with it were answered 401 (give --username/--password to let the run log in again when a token expires)"
            ));
        }
    }

    /// The check table, the summary and the report.
    fn report(self) -> Report {
        let sample = self.sample();
        let Session {
            opts,
            sink,
            started,
            url,
            label,
            catalog,
            engine,
            tally,
            warnings,
            skip_reasons,
            mut failures,
            done,
            latency,
            restore,
            coverage,
            read_kinds,
            discovered,
            certified_nothing,
            ..
        } = self;
        let calls = discovery::coverage(&opts, discovered.as_ref());
        let enabled = |id: &str| {
            (opts.checks.is_empty() || opts.checks.iter().any(|c| c == id))
                && !opts.skip_checks.iter().any(|c| c == id)
        };
        let tracker = engine.as_ref().and_then(|e| e.state.clone());
        let read_back = tracker.as_ref().map(|t| {
            let (_, errors) = t.errors();
            ReadBackSummary {
                reader: t.describe(),
                reads: t.reads(),
                cases_read: tally.read_back,
                kinds: read_kinds.clone(),
                sample: sample.to_string(),
                settle_ms: t.settle().as_millis() as u64,
                settle_max_ms: t.settle_max().as_secs_f64() * 1000.0,
                errors,
                stopped: t.disabled(),
                settle_waits: t.settle_waits(),
                proven: t
                    .proven()
                    .into_iter()
                    .map(|p| ProvenViolation {
                        check: p.check.into(),
                        item: p.item,
                    })
                    .collect(),
                unsettled: t.unsettled(),
            }
        });
        let mut check_results = Vec::new();
        for c in checks::registry() {
            let passed = tally.passed.get(c.id).copied().unwrap_or(0);
            let failed = tally.failed.get(c.id).copied().unwrap_or(0);
            let (status, skip_reason) = if !enabled(c.id) {
                (
                    CheckStatus::Skipped,
                    Some("disabled (--checks / --skip-checks)".to_string()),
                )
            } else if failed > 0 {
                (CheckStatus::Failed, None)
            } else if passed > 0 {
                (CheckStatus::Passed, None)
            } else {
                (
                    CheckStatus::Skipped,
                    Some(
                        skip_reasons
                            .get(c.id)
                            .cloned()
                            .unwrap_or_else(|| "no case exercised it within the budget".into()),
                    ),
                )
            };
            check_results.push(CheckResult {
                id: c.id.into(),
                severity: c.severity.to_string(),
                category: c.category,
                call: crate::checks::call_of(c).into(),
                rationale: c.rationale.into(),
                status,
                passed,
                failed,
                skip_reason,
            });
        }
        // Keep failures in registry order.
        let order: HashMap<&str, usize> = checks::registry()
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        failures.sort_by_key(|f| order.get(f.check.as_str()).copied().unwrap_or(usize::MAX));
        let failed_checks = check_results
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
            .count() as u64;
        let failed_must = check_results
            .iter()
            .filter(|c| c.status == CheckStatus::Failed && c.severity == "MUST")
            .count() as u64;
        let exit_code = match opts.fail_on {
            _ if certified_nothing.is_some() => EXIT_NOTHING_CERTIFIED,
            FailOn::Any if failed_checks > 0 => 1,
            FailOn::Must if failed_must > 0 => 1,
            _ => 0,
        };
        let elapsed = started.elapsed();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let report = Report {
            format: REPORT_FORMAT,
            tool: ToolInfo::this(),
            seed: opts.seed,
            profile: opts.profile.to_string(),
            target: label,
            url,
            settings: Settings::of(&opts),
            summary: Summary {
                cases: done,
                requests: tally.requests,
                violations: tally.violations,
                failed_checks,
                failed_must,
                duration_ms: elapsed.as_millis() as u64,
                cases_per_sec: done as f64 / secs,
                requests_per_sec: tally.requests as f64 / secs,
                exit_code,
            },
            checks: check_results,
            failures,
            choices: tally
                .observations
                .iter()
                .map(|((t, c), n)| Choice {
                    topic: t.clone(),
                    choice: c.clone(),
                    count: *n,
                })
                .collect(),
            latency,
            warnings,
            coverage,
            catalog: catalog
                .iter()
                .map(|e| CatalogItem {
                    product_id: e.product_id.clone(),
                    variant_id: e.variant_id.clone(),
                    stock: e.stock,
                    sku: e.sku.clone(),
                })
                .collect(),
            calls,
            seller: opts.seller.clone(),
            restore,
            read_back,
            error: certified_nothing.map(|message| RunError {
                kind: "nothing-exercised".into(),
                message,
            }),
            causes: Vec::new(),
            repeat_command: opts.repeat_command.clone(),
            replay_of: None,
        };
        let report = crate::reports::report::finish(report, &opts);
        crate::reports::events::finish(&report, sink);
        report
    }
}

/// Whether `c` can only be judged by reading stored stock back.
fn needs_stock_reader(c: &checks::Check) -> bool {
    c.needs
        .iter()
        .any(|n| n.resource == checks::Resource::StockProbe)
}

/// Whether a case names items a read can find: items in an `inventoryList`, in a body that
/// is JSON.
fn readable_case(spec: &CaseSpec) -> bool {
    !spec.items.is_empty()
        && spec.envelope == Envelope::List
        && !matches!(spec.transport, Transport::Malformed(_))
}

/// A case whose read-back is at the core of the state checks, read back whatever the budget:
/// one sent with a missing or wrong apiKey (`auth-no-effect`), a small batch of catalog items
/// as they are (`stored-value`, `stored-per-item`), or a large batch (its spread).
fn core_state_case(spec: &CaseSpec) -> bool {
    match spec.transport {
        Transport::NoKey | Transport::WrongKey => true,
        Transport::Normal => {
            spec.items.len() > crate::readers::state::READS_PER_CASE
                || spec
                    .items
                    .iter()
                    .all(|i| matches!(i.base, Base::Catalog(_)) && i.edits.is_empty())
        }
        _ => false,
    }
}

/// The probe calls reading back `spec` will likely make: its items (a spread of a large
/// batch), twice when some may be refused (read before and after), and a neighbor twice.
fn estimated_reads(spec: &CaseSpec, neighbor: bool) -> u64 {
    let read = spec.items.len().min(crate::readers::state::READS_PER_CASE);
    let refusable = spec.transport != Transport::Normal
        || spec
            .items
            .iter()
            .any(|i| !matches!(i.base, Base::Catalog(_)) || !i.edits.is_empty());
    // Every item that may be refused is read before, invented ids too (never assumed unset).
    let before = if refusable {
        crate::readers::state::spread(&spec.items).len()
    } else {
        0
    };
    (read + before) as u64 + if neighbor { 2 } else { 0 }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

const BUCKETS: [(usize, usize, &str); 5] = [
    (0, 1, "0-1"),
    (2, 10, "2-10"),
    (11, 100, "11-100"),
    (101, 1000, "101-1000"),
    (1001, usize::MAX, "1001+"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::http::HttpResponse;
    use crate::engine::cases::{Envelope, Probe};

    fn failing_run(check: &'static str, body: &str) -> (CaseSpec, CaseRun) {
        let spec = CaseSpec {
            kind: "valid-single".into(),
            items: vec![],
            envelope: Envelope::List,
            transport: Transport::Normal,
            probe: Probe::Single,
        };
        let request = HttpRequest::post("http://p/updateInventory", vec![], body.to_string());
        let outcome = Outcome::Response(HttpResponse {
            status: 200,
            content_type: None,
            body: body.to_string(),
            elapsed_ms: 1.0,
            throttled: false,
            expired: false,
        });
        let run = CaseRun {
            exchanges: vec![(request, outcome)],
            verdicts: vec![Verdict::fail(check, "broke")],
            ..CaseRun::default()
        };
        (spec, run)
    }

    #[test]
    fn every_failing_case_is_kept_up_to_the_cap_within_the_body_budget() {
        // 150 failing cases of 16 KiB each way: 100 kept, 50 counted; the bodies stop at the
        // 1 MiB budget and the rest are clipped with their size.
        let body = "x".repeat(16 * 1024);
        let mut runs: Vec<Option<(CaseSpec, CaseRun)>> = (0..150)
            .map(|_| Some(failing_run("http-200", &body)))
            .collect();
        runs.insert(3, Some(failing_run("json-body", "{}")));
        runs.insert(5, None);
        let (cases, more) = failing_cases(&runs, "http-200");
        assert_eq!((cases.len(), more), (MAX_CASES_KEPT, 50));
        assert_eq!(cases[3].case_index, 4);
        let held: usize = cases
            .iter()
            .flat_map(|c| &c.exchanges)
            .map(|e| {
                let response = e.outcome.response().map_or(0, |r| r.body.len());
                e.request.body.len() + response
            })
            .sum();
        assert!(
            held <= CASE_BODY_BUDGET + 2 * MAX_CASES_KEPT * 120,
            "{held}"
        );
        let last = &cases[MAX_CASES_KEPT - 1].exchanges[0];
        assert!(last.request.body.contains("clipped: 16384 bytes in all"));
        // The curl stays whole.
        assert!(cases[MAX_CASES_KEPT - 1].curl[0].len() > 16 * 1024);
    }
}
