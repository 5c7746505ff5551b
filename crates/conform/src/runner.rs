//! The engine: authenticates, draws cases, sends them with bounded concurrency under a rate
//! ceiling, judges every exchange, shrinks each failed check's first failing case to a minimal
//! one (re-judging every candidate from scratch), runs the exclusive probes, and builds the
//! [`Report`]. It emits [`Event`]s and knows only URLs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use proptest::strategy::ValueTree;
use serde_json::Value;
use stockwire_schema::exchange;
use stockwire_schema::{AuthTokenRequest, CatalogEntry, Inventory, ItemKey, contract};
use tokio::task::JoinSet;

use crate::cases::{CaseSpec, CaseTree, GenContext, Generator, Transport};
use crate::checks::{self, Exchange, Observation, Verdict};
use crate::classify::{AuthUse, ClassifyContext, ItemVerdict, classify};
use crate::config::{BatchRejection, Credentials, FailOn, RunOptions};
use crate::error::ConformError;
use crate::events::{Event, EventSink};
use crate::http::{Client, ClientOptions, FailureKind, HttpRequest, Outcome, Redactor};
use crate::observe::{LedgerObserver, Observer};
use crate::report::*;

/// One exchange judged for a probe: per-item outcomes, signature, whole-batch refusal tolerated.
type Judged = (Option<BTreeMap<ItemKey, bool>>, String, bool);

/// Everything a case needs, shared by the tasks that send cases.
pub(crate) struct Engine {
    pub(crate) client: Client,
    pub(crate) cases_ctx: GenContext,
    pub(crate) cls: ClassifyContext,
    pub(crate) opts_policies: crate::config::Policies,
    pub(crate) enabled: HashSet<&'static str>,
}

/// One case's requests, verdicts and observations.
#[derive(Debug, Clone)]
pub(crate) struct CaseRun {
    pub(crate) exchanges: Vec<(HttpRequest, Outcome)>,
    pub(crate) verdicts: Vec<Verdict>,
    pub(crate) observations: Vec<Observation>,
    pub(crate) requests: u32,
    pub(crate) latency: Vec<(usize, f64)>,
    pub(crate) auth_401: u32,
    pub(crate) authed: u32,
    pub(crate) timeouts: u32,
    pub(crate) connect_failures: u32,
}

impl CaseRun {
    pub(crate) fn fails(&self, check: &str) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.check == check && v.failure.is_some())
    }
}

impl Engine {
    pub(crate) fn new(
        client: Client,
        opts: &RunOptions,
        catalog: Vec<CatalogEntry>,
        auth: bool,
        url: String,
    ) -> Engine {
        let cases_ctx = GenContext::new(opts.profile, catalog.clone(), auth, url);
        let cls = ClassifyContext {
            profile: opts.profile,
            catalog,
            auth_configured: auth,
            policies: opts.policies.clone(),
        };
        let enabled = checks::registry()
            .iter()
            .map(|c| c.id)
            .filter(|id| {
                (opts.checks.is_empty() || opts.checks.iter().any(|c| c == id))
                    && !opts.skip_checks.iter().any(|c| c == id)
            })
            .collect();
        Engine {
            client,
            cases_ctx,
            cls,
            opts_policies: opts.policies.clone(),
            enabled,
        }
    }

    /// Classifies `req` as sent and hands the exchange with `outcome` to `judge`.
    fn judged<R>(
        &self,
        req: &HttpRequest,
        outcome: &Outcome,
        judge: impl FnOnce(&Exchange<'_>) -> R,
    ) -> R {
        let class = classify(req, &self.cls);
        judge(
            &Exchange::new(self.cases_ctx.profile, req, &class, outcome)
                .with_catalog(!self.cls.catalog.is_empty()),
        )
    }

    /// Sends one request and judges it on its own.
    pub(crate) async fn exchange(
        &self,
        req: &HttpRequest,
        run: &mut CaseRun,
    ) -> (Vec<Verdict>, Option<BTreeMap<ItemKey, bool>>, String, bool) {
        let outcome = self.client.send(req).await;
        run.requests += 1;
        let class = classify(req, &self.cls);
        let x = Exchange::new(self.cases_ctx.profile, req, &class, &outcome)
            .with_catalog(!self.cls.catalog.is_empty());
        let (verdicts, obs) = checks::evaluate(&x, &self.opts_policies);
        let outcomes = checks::item_outcomes(&x);
        let sig = checks::signature(&x);
        let refusable_whole = x.rejected_whole()
            && class.has_refusable()
            && self.opts_policies.batch_rejection == BatchRejection::Any;
        match &outcome {
            Outcome::Response(r) => {
                run.latency.push((class.batch_size(), r.elapsed_ms));
                if class.auth == AuthUse::Valid {
                    run.authed += 1;
                    if matches!(r.status, 401 | 403) {
                        run.auth_401 += 1;
                    }
                }
            }
            Outcome::Failure {
                failure: FailureKind::Timeout,
                ..
            } => run.timeouts += 1,
            Outcome::Failure {
                failure: FailureKind::Connect,
                ..
            } => run.connect_failures += 1,
            _ => {}
        }
        run.observations.extend(obs);
        run.exchanges.push((req.clone(), outcome));
        (verdicts, outcomes, sig, refusable_whole)
    }

    /// Runs a case: its requests in order, the single-exchange checks on each, the relation
    /// its probe tests, and controls that confirm zero/extra-field failures.
    pub(crate) async fn execute(&self, spec: &CaseSpec) -> CaseRun {
        let requests = self.cases_ctx.render(spec);
        self.execute_requests(&requests, &spec.probe).await
    }

    /// Runs already-rendered requests as one case with the relation `probe` tests (replay
    /// uses this with the requests of a report).
    pub(crate) async fn execute_requests(
        &self,
        requests: &[HttpRequest],
        probe: &crate::cases::Probe,
    ) -> CaseRun {
        let mut run = CaseRun {
            exchanges: vec![],
            verdicts: vec![],
            observations: vec![],
            requests: 0,
            latency: vec![],
            auth_401: 0,
            authed: 0,
            timeouts: 0,
            connect_failures: 0,
        };
        let mut per: Vec<Judged> = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            let (mut verdicts, outcomes, sig, tolerated) = self.exchange(req, &mut run).await;
            self.confirm_item_failures(req, &mut verdicts, &mut run)
                .await;
            run.verdicts.extend(verdicts);
            per.push((outcomes, sig, tolerated));
            // Stop a multi-request probe at the first transport failure.
            if i == 0 && run.exchanges[0].1.response().is_none() {
                break;
            }
        }
        match probe {
            crate::cases::Probe::Repeat
                if per.len() == 2 && per[0].0.is_some() && per[1].0.is_some() =>
            {
                run.verdicts
                    .push(checks::idempotent::evaluate(&per[0].1, &per[1].1));
            }
            crate::cases::Probe::Reorder(_) if per.len() == 2 => {
                if let (Some(a), Some(b)) = (&per[0].0, &per[1].0) {
                    if !(per[0].2 || per[1].2) {
                        run.verdicts.push(checks::order_independent::evaluate(a, b));
                    }
                }
            }
            crate::cases::Probe::Split if per.len() > 1 => {
                if let Some(batch) = &per[0].0 {
                    let mut alone = BTreeMap::new();
                    let mut complete = true;
                    for p in &per[1..] {
                        match &p.0 {
                            Some(m) => alone.extend(m.clone()),
                            None => complete = false,
                        }
                    }
                    if complete && !per[0].2 {
                        run.verdicts
                            .push(checks::batch_independent::evaluate(batch, &alone));
                    }
                }
            }
            _ => {}
        }
        run.verdicts.retain(|v| self.enabled.contains(v.check));
        run
    }

    /// A zero-inventory or extra-field failure is only that when the same item is applied at
    /// inventory 1 / without the extra members; otherwise it is a plain valid-item failure.
    async fn confirm_item_failures(
        &self,
        req: &HttpRequest,
        verdicts: &mut [Verdict],
        run: &mut CaseRun,
    ) {
        let zero = checks::zero_inventory_accepted::CHECK.id;
        let extra = checks::extra_fields_tolerated::CHECK.id;
        let valid = checks::valid_item_accepted::CHECK.id;
        if !verdicts
            .iter()
            .any(|v| (v.check == zero || v.check == extra) && v.failure.is_some())
        {
            return;
        }
        let class = classify(req, &self.cls);
        let names: Vec<String> = contract(self.cases_ctx.profile)
            .item_fields()
            .into_iter()
            .map(|f| f.name)
            .collect();
        let Some(list) = class
            .json
            .as_ref()
            .and_then(|j| j.get(exchange::field::INVENTORY_LIST))
            .and_then(Value::as_array)
        else {
            return;
        };
        let mut generic = false;
        for item in class.items() {
            if item.verdict != ItemVerdict::Valid
                || item.duplicate
                || !(item.has_extra || item.count == Some(0))
            {
                continue;
            }
            let Some(Value::Object(m)) = list.get(item.index) else {
                continue;
            };
            let mut m = m.clone();
            m.retain(|k, _| names.iter().any(|n| n == k));
            if item.count == Some(0) {
                if let Ok(v) =
                    serde_json::to_value(Inventory::for_profile(self.cases_ctx.profile, 1))
                {
                    m.insert(exchange::field::INVENTORY.into(), v);
                }
            }
            let control = self.cases_ctx.control(Value::Object(m));
            // A control that meets a 5xx or no response says nothing: try again (twice at most).
            let mut outcome = self.client.send(&control).await;
            run.requests += 1;
            for _ in 0..2 {
                if matches!(outcome.response().map(|r| r.status), Some(s) if s < 500) {
                    break;
                }
                outcome = self.client.send(&control).await;
                run.requests += 1;
            }
            let (cv, _) = self.judged(&control, &outcome, |x| {
                checks::evaluate(x, &self.opts_policies)
            });
            if cv.iter().any(|v| v.check == valid && v.failure.is_some()) {
                generic = true;
            }
        }
        if generic {
            for v in verdicts.iter_mut() {
                if (v.check == zero || v.check == extra) && v.failure.is_some() {
                    v.check = valid;
                    if let Some(m) = &mut v.failure {
                        m.push_str(
                            " (the same item is refused at inventory 1 without extra fields too)",
                        );
                    }
                }
            }
        }
    }
}

/// Fetches a token from `/authToken` for the given credentials: GET with a query string, or
/// POST with a JSON body when GET answers 404 or 405.
pub async fn fetch_token(
    client: &Client,
    base: &str,
    opts: &RunOptions,
    username: &str,
    password: &str,
) -> Result<String, ConformError> {
    login(client, base, opts, username, password)
        .await
        .map(|(t, _)| t)
}

/// [`fetch_token`], also returning the verdict of `auth-token-response`.
async fn login(
    client: &Client,
    base: &str,
    opts: &RunOptions,
    username: &str,
    password: &str,
) -> Result<(String, Verdict), ConformError> {
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
        headers: vec![crate::http::Header {
            name: "Accept".into(),
            value: "application/json".into(),
        }],
        body: String::new(),
    };
    let mut outcome = client.send(&get).await;
    if matches!(outcome.response().map(|r| r.status), Some(404 | 405)) {
        let post = HttpRequest {
            method: "POST".into(),
            url: auth_url.clone(),
            headers: vec![crate::http::Header {
                name: "Content-Type".into(),
                value: "application/json".into(),
            }],
            body: credentials.to_body().to_string(),
        };
        outcome = client.send(&post).await;
    }
    let r = match outcome {
        Outcome::Response(r) => r,
        Outcome::Failure {
            failure: FailureKind::Connect,
            message,
            ..
        } => {
            return Err(ConformError::Unreachable {
                url: auth_url,
                message,
            });
        }
        Outcome::Failure { message, .. } => {
            return Err(ConformError::AuthFailed {
                url: auth_url,
                message,
            });
        }
    };
    let body: Option<Value> = serde_json::from_str(&r.body).ok();
    let verdict = checks::auth_token_response::evaluate(opts.profile, r.status, body.as_ref());
    let token = body.as_ref().and_then(exchange::access_token);
    match token {
        Some(t) => Ok((t, verdict)),
        None => Err(ConformError::AuthFailed {
            url: auth_url,
            message: format!("HTTP {}: {}", r.status, checks::snippet(&r.body)),
        }),
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
    timeouts: u64,
    exchanges: u64,
}

impl Tally {
    fn add(&mut self, index: usize, run: &CaseRun) {
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
        self.timeouts += run.timeouts as u64;
        self.exchanges += run.exchanges.len() as u64;
    }
    fn add_verdict(&mut self, v: &Verdict) {
        let run = CaseRun {
            exchanges: vec![],
            verdicts: vec![v.clone()],
            observations: vec![],
            requests: 0,
            latency: vec![],
            auth_401: 0,
            authed: 0,
            timeouts: 0,
            connect_failures: 0,
        };
        self.add(usize::MAX, &run);
    }
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

/// Runs the conformance checks against `opts.target` and returns the report.
pub async fn run(opts: RunOptions, sink: &mut dyn EventSink) -> Result<Report, ConformError> {
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
    let mut client = Client::new(client_opts, None, redactor)?;
    let mut tally = Tally::default();
    let mut warnings: Vec<String> = Vec::new();
    let mut skip_reasons: HashMap<&'static str, String> = HashMap::new();
    let mut pre_failures: Vec<Failure> = Vec::new();
    let enabled_probe = |id: &str| {
        (opts.checks.is_empty() || opts.checks.iter().any(|c| c == id))
            && !opts.skip_checks.iter().any(|c| c == id)
    };

    let auth = match &opts.credentials {
        Credentials::None => false,
        Credentials::ApiKey(k) => {
            client.set_api_key(Some(k.clone()));
            true
        }
        Credentials::Login { username, password } => {
            let (token, verdict) = login(&client, &base, &opts, username, password).await?;
            tally.requests += 1;
            if enabled_probe(verdict.check) {
                tally.add_verdict(&verdict);
                if let Some(m) = &verdict.failure {
                    let request = HttpRequest {
                        method: "GET".into(),
                        url: format!(
                            "{base}{}?username={username}&password=$PASSWORD",
                            contract(opts.profile).auth_path()
                        ),
                        headers: vec![],
                        body: String::new(),
                    };
                    pre_failures.push(Failure {
                        check: verdict.check.into(),
                        severity: "MUST".into(),
                        message: m.clone(),
                        case_kind: "auth-token".into(),
                        case_index: 0,
                        occurrences: 1,
                        shrink: None,
                        curl: vec![request.curl()],
                        exchanges: vec![],
                    });
                }
            }
            client.set_api_key(Some(token));
            true
        }
    };
    let seller = opts.seller.clone();
    let catalog: Vec<CatalogEntry> = match &seller {
        Some(s) => opts.catalog.for_seller(s).cloned().collect(),
        None => opts.catalog.entries.clone(),
    };
    // ---- Coverage (issue 10): which checks this run cannot carry out in full, derived from
    // each check's declared needs and what the run has; shown before the first case.
    let wants_probe = checks::registry().iter().any(|c| {
        enabled_probe(c.id)
            && c.needs
                .iter()
                .any(|n| n.resource == checks::Resource::StockProbe)
    });
    let observer = if wants_probe && opts.observe {
        LedgerObserver::probe(&client, &base).await
    } else {
        None
    };
    let available = checks::Available {
        catalog: !catalog.is_empty(),
        stock_probe: observer.is_some(),
        credentials: auth,
        login: matches!(opts.credentials, Credentials::Login { .. }),
    };
    let coverage: Vec<CoverageGap> = checks::gaps(&available, enabled_probe)
        .iter()
        .map(CoverageGap::from)
        .collect();
    for g in coverage
        .iter()
        .filter(|g| g.effect == checks::Loss::Skipped)
    {
        if let Some(c) = checks::find(&g.check) {
            skip_reasons.insert(c.id, g.reason_line());
        }
    }
    if catalog.is_empty() {
        warnings.push(format!("no catalog items: {} checks skipped or weakened (give --catalog FILE or --item JSON with the test seller's known items)", coverage.iter().filter(|g| g.reasons.iter().any(|r| r.missing == checks::Resource::Catalog)).count()));
    }
    sink.event(&Event::Started {
        target: &label,
        seed: opts.seed,
        cases: opts.duration.is_none().then_some(opts.cases),
        coverage: &coverage,
    });
    // ---- end coverage
    let engine = Arc::new(Engine::new(
        client.clone(),
        &opts,
        catalog.clone(),
        auth,
        url.clone(),
    ));

    // Main phase.
    let mut generator = Generator::new(&engine.cases_ctx, opts.seed);
    let budget = opts.cases.max(1);
    let deadline = opts.duration.map(|d| started + d);
    let mut trees: Vec<Option<CaseTree>> = Vec::new();
    let mut runs: Vec<Option<(CaseSpec, CaseRun)>> = Vec::new();
    let mut set: JoinSet<(usize, CaseSpec, CaseRun)> = JoinSet::new();
    let mut dispatched = 0usize;
    let mut done = 0u64;
    let mut consecutive_timeouts = 0u32;
    let mut stalled = false;
    let concurrency = opts.concurrency.max(1);
    loop {
        let more = |dispatched: usize| match deadline {
            Some(d) => Instant::now() < d,
            None => (dispatched as u64) < budget,
        };
        // The first case runs alone: it tells an unreachable target from a weak one.
        let limit = if dispatched == 0 || done > 0 {
            concurrency
        } else {
            1
        };
        while set.len() < limit && more(dispatched) && !stalled {
            let Some(tree) = generator.next_case() else {
                break;
            };
            let spec = tree.current();
            trees.push(Some(tree));
            runs.push(None);
            let e = engine.clone();
            let index = dispatched;
            set.spawn(async move {
                let run = e.execute(&spec).await;
                (index, spec, run)
            });
            dispatched += 1;
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let Ok((index, spec, run)) = joined else {
            continue;
        };
        if done == 0
            && run.connect_failures > 0
            && run.exchanges.len() == run.connect_failures as usize
        {
            set.abort_all();
            let message = match run.exchanges.first().map(|e| &e.1) {
                Some(Outcome::Failure { message, .. }) => message.clone(),
                _ => "connection failed".into(),
            };
            return Err(ConformError::Unreachable {
                url: url.clone(),
                message,
            });
        }
        if run.timeouts > 0 && run.timeouts as usize == run.exchanges.len() {
            consecutive_timeouts += 1;
            if consecutive_timeouts >= 3 && !stalled {
                stalled = true;
                warnings.push(format!("the partner stalls: {consecutive_timeouts} cases in a row timed out; stopped sending new cases"));
            }
        } else {
            consecutive_timeouts = 0;
        }
        tally.add(index, &run);
        done += 1;
        runs[index] = Some((spec, run));
        sink.event(&Event::Progress {
            cases: done,
            requests: tally.requests,
            violations: tally.violations,
        });
    }

    // Shrinking: each failed check's first failing case, reduced while it still fails it.
    let failing: Vec<(&'static str, usize)> = checks::registry()
        .iter()
        .filter_map(|c| tally.first_fail.get(c.id).map(|i| (c.id, *i)))
        .collect();
    let mut failures = pre_failures;
    if !failing.is_empty() {
        sink.event(&Event::Phase("shrinking failing cases"));
    }
    let mut shrink_requests_total = 0u64;
    for (check, index) in failing {
        if index == usize::MAX {
            continue;
        }
        let Some((spec, run)) = runs.get(index).and_then(|r| r.clone()) else {
            continue;
        };
        let tree = match trees.get_mut(index).and_then(Option::take) {
            Some(t) => Some(t),
            None => {
                let mut g = Generator::new(&engine.cases_ctx, opts.seed);
                let mut t = None;
                for _ in 0..=index {
                    t = g.next_case();
                }
                t
            }
        };
        let shrinkable = !matches!(check, "no-timeout" | "latency-budget");
        let (final_spec, final_run, info) = match tree {
            Some(tree) if shrinkable => {
                shrink(&engine, tree, check, spec, run, opts.shrink_requests).await
            }
            _ => {
                let n = spec.items.len();
                (
                    spec,
                    run,
                    ShrinkInfo {
                        steps: 0,
                        requests: 0,
                        original_items: n,
                        final_items: n,
                    },
                )
            }
        };
        shrink_requests_total += info.requests as u64;
        let message = final_run
            .verdicts
            .iter()
            .find(|v| v.check == check && v.failure.is_some())
            .and_then(|v| v.failure.clone())
            .unwrap_or_default();
        let exchanges: Vec<RecordedExchange> = final_run
            .exchanges
            .iter()
            .map(|(request, outcome)| RecordedExchange {
                request: request.clone(),
                outcome: outcome.clone(),
            })
            .collect();
        failures.push(Failure {
            check: check.into(),
            severity: checks::find(check).map_or("MUST".into(), |c| c.severity.to_string()),
            message,
            case_kind: final_spec.kind.clone(),
            case_index: index as u64,
            occurrences: tally.failed.get(check).copied().unwrap_or(0),
            shrink: Some(info),
            curl: exchanges.iter().map(|e| e.request.curl()).collect(),
            exchanges,
        });
    }
    tally.requests += shrink_requests_total;

    // Exclusive probes: does a refused request change anything?
    let no_effect = checks::auth_no_effect::CHECK.id;
    if auth && enabled_probe(no_effect) && !catalog.is_empty() {
        sink.event(&Event::Phase("auth probes"));
        // Without an observer, the coverage section says why this is skipped.
        if let Some(observer) = &observer {
            for transport in [Transport::NoKey, Transport::WrongKey] {
                let what = if transport == Transport::NoKey {
                    "without an apiKey"
                } else {
                    "with a wrong apiKey"
                };
                let stock = catalog[0].stock.unwrap_or(0);
                let spec = CaseSpec {
                    kind: format!(
                        "auth-no-effect:{}",
                        if transport == Transport::NoKey {
                            "missing"
                        } else {
                            "wrong"
                        }
                    ),
                    items: vec![crate::cases::ItemSpec {
                        base: crate::cases::Base::Catalog(0),
                        count: stock.wrapping_add(4321) % 1_000_000,
                        edits: vec![],
                    }],
                    envelope: crate::cases::Envelope::List,
                    transport,
                    probe: crate::cases::Probe::Single,
                };
                let before = observer.snapshot().await;
                let run = engine.execute(&spec).await;
                let after = observer.snapshot().await;
                done += 1;
                tally.requests += run.requests as u64 + 2;
                if let (Some(b), Some(a)) = (before, after) {
                    let v = checks::auth_no_effect::evaluate(what, &b, &a);
                    let failed = v.failure.is_some();
                    tally.add_verdict(&v);
                    if failed && !failures.iter().any(|f: &Failure| f.check == no_effect) {
                        let exchanges: Vec<RecordedExchange> = run
                            .exchanges
                            .iter()
                            .map(|(request, outcome)| RecordedExchange {
                                request: request.clone(),
                                outcome: outcome.clone(),
                            })
                            .collect();
                        failures.push(Failure {
                            check: no_effect.into(),
                            severity: "MUST".into(),
                            message: format!(
                                "{} (observed: {})",
                                v.failure.unwrap_or_default(),
                                observer.describe()
                            ),
                            case_kind: spec.kind.clone(),
                            case_index: done - 1,
                            occurrences: 1,
                            shrink: None,
                            curl: exchanges.iter().map(|e| e.request.curl()).collect(),
                            exchanges,
                        });
                    }
                }
            }
        }
    }

    // Latency per batch size.
    let mut latency = Vec::new();
    let per_thousand = opts.policies.latency_budget.0;
    for (lo, hi, label) in BUCKETS {
        let mut xs: Vec<f64> = tally
            .latency
            .iter()
            .filter(|(n, _)| *n >= lo && *n <= hi)
            .map(|(_, ms)| *ms)
            .collect();
        if xs.is_empty() {
            continue;
        }
        xs.sort_by(|a, b| a.total_cmp(b));
        let budget = checks::latency_budget::budget_for(
            per_thousand,
            if hi == usize::MAX { 10_000 } else { hi },
        );
        let p99 = percentile(&xs, 99.0);
        let row = LatencyRow {
            batch_sizes: label.into(),
            count: xs.len() as u64,
            p50_ms: percentile(&xs, 50.0),
            p90_ms: percentile(&xs, 90.0),
            p99_ms: p99,
            max_ms: *xs.last().unwrap_or(&0.0),
            budget_ms: budget.as_secs_f64() * 1000.0,
        };
        if enabled_probe(checks::latency_budget::CHECK.id) {
            let v = checks::latency_budget::evaluate(label, p99, budget);
            if let Some(m) = &v.failure {
                failures.push(Failure {
                    check: v.check.into(),
                    severity: "SHOULD".into(),
                    message: m.clone(),
                    case_kind: format!("batches of {label} items"),
                    case_index: 0,
                    occurrences: 1,
                    shrink: None,
                    exchanges: vec![],
                    curl: vec![],
                });
            }
            tally.add_verdict(&v);
        }
        latency.push(row);
    }

    // Restore.
    let restore = if opts.restore {
        sink.event(&Event::Phase("restoring catalog stock"));
        Some(restore_stock(&engine, &catalog, &mut tally).await)
    } else {
        None
    };

    // Warnings about the run's strength.
    if tally.authed >= 3 && tally.auth_401 * 2 > tally.authed {
        warnings.push(format!("{} of {} authenticated requests were answered 401/403: the credentials are probably wrong, so most checks saw only refusals", tally.auth_401, tally.authed));
    }
    let valid_ids = [
        checks::valid_item_accepted::CHECK.id,
        checks::zero_inventory_accepted::CHECK.id,
        checks::extra_fields_tolerated::CHECK.id,
    ];
    let valid_pass: u64 = valid_ids
        .iter()
        .map(|i| tally.passed.get(i).copied().unwrap_or(0))
        .sum();
    let valid_fail: u64 = valid_ids
        .iter()
        .map(|i| tally.failed.get(i).copied().unwrap_or(0))
        .sum();
    if valid_fail >= 3 && valid_pass == 0 {
        warnings.push("every catalog item sent was reported failed: the catalog or seller is probably not the partner's (check --catalog and --seller)".into());
    }
    if tally.exchanges >= 3 && tally.timeouts * 2 > tally.exchanges {
        warnings.push(format!(
            "{} of {} requests timed out: most checks could not judge anything",
            tally.timeouts, tally.exchanges
        ));
    }
    for w in &warnings {
        sink.event(&Event::Warning(w));
    }

    // Checks table.
    let mut check_results = Vec::new();
    for c in checks::registry() {
        let passed = tally.passed.get(c.id).copied().unwrap_or(0);
        let failed = tally.failed.get(c.id).copied().unwrap_or(0);
        let disabled = !enabled_probe(c.id);
        let (status, skip_reason) = if disabled {
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
        FailOn::Any if failed_checks > 0 => 1,
        FailOn::Must if failed_must > 0 => 1,
        _ => 0,
    };
    let elapsed = started.elapsed();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let report = Report {
        format: REPORT_FORMAT,
        tool: ToolInfo {
            name: "stockwire-conform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            schema_version: env!("CARGO_PKG_VERSION").into(),
        },
        seed: opts.seed,
        profile: opts.profile.to_string(),
        target: label,
        url,
        settings: Settings {
            cases: opts.cases,
            duration_ms: opts.duration.map(|d| d.as_millis() as u64),
            concurrency: opts.concurrency,
            rate: opts.rate,
            timeout_ms: opts.timeout.as_millis() as u64,
            policies: opts.policies.clone(),
            checks: opts.checks.clone(),
            skip_checks: opts.skip_checks.clone(),
            fail_on: opts.fail_on,
            insecure: opts.insecure,
        },
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
            })
            .collect(),
        seller,
        restore,
        error: None,
        causes: Vec::new(),
        repeat_command: None,
        replay_of: None,
    };
    let report = crate::report::finish(report, &opts);
    sink.event(&Event::Finished(&report));
    Ok(report)
}

/// Reduces a failing case while it still fails `check`, re-judging every candidate afresh.
async fn shrink(
    engine: &Engine,
    mut tree: CaseTree,
    check: &'static str,
    spec: CaseSpec,
    run: CaseRun,
    budget: u32,
) -> (CaseSpec, CaseRun, ShrinkInfo) {
    let original_items = spec.items.len();
    let mut best = (spec, run);
    let mut steps = 0u32;
    let mut spent = 0u32;
    if tree.simplify() {
        while spent < budget {
            let cand = tree.current();
            let r = engine.execute(&cand).await;
            spent += r.requests;
            if r.fails(check) {
                steps += 1;
                best = (cand, r);
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    } else if best.0.items.len() > 1 {
        // Fixed cases (the 1,000- and 10,000-item batches) have no value tree: bisect on the
        // batch size instead, keeping a prefix of the same items, to find the smallest batch
        // that still fails (a partner that breaks from some size on is reported at that size).
        let (mut passes, mut fails) = (0usize, best.0.items.len());
        while fails - passes > 1 && spent < budget {
            let mid = passes + (fails - passes) / 2;
            let mut cand = best.0.clone();
            cand.items.truncate(mid);
            let r = engine.execute(&cand).await;
            spent += r.requests;
            if r.fails(check) {
                steps += 1;
                fails = mid;
                best = (cand, r);
            } else {
                passes = mid;
            }
        }
    }
    let final_items = best.0.items.len();
    (
        best.0,
        best.1,
        ShrinkInfo {
            steps,
            requests: spent,
            original_items,
            final_items,
        },
    )
}

async fn restore_stock(
    engine: &Engine,
    catalog: &[CatalogEntry],
    tally: &mut Tally,
) -> RestoreResult {
    let with_stock: Vec<&CatalogEntry> = catalog.iter().filter(|e| e.stock.is_some()).collect();
    let mut result = RestoreResult {
        restored: 0,
        failed: 0,
        without_stock: (catalog.len() - with_stock.len()) as u64,
    };
    for chunk in with_stock.chunks(100) {
        let items: Vec<Value> = chunk
            .iter()
            .filter_map(|e| {
                serde_json::to_value(stockwire_schema::InventoryItem::new(
                    engine.cases_ctx.profile,
                    &e.product_id,
                    &e.variant_id,
                    e.stock.unwrap_or(0),
                ))
                .ok()
            })
            .collect();
        let mut req = engine.cases_ctx.control(Value::Null);
        req.body = exchange::request_with_list(Value::Array(items)).to_string();
        let outcome = engine.client.send(&req).await;
        tally.requests += 1;
        match engine.judged(&req, &outcome, checks::item_outcomes) {
            Some(m) => {
                let ok = m.values().filter(|v| **v).count() as u64;
                result.restored += ok;
                result.failed += chunk.len() as u64 - ok;
            }
            None => result.failed += chunk.len() as u64,
        }
    }
    result
}
