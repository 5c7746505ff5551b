//! One case: its requests sent in order, each exchange judged through the check registry, the
//! relation its probe tests, controls that confirm a zero-inventory or extra-field failure, and
//! (with a read-back) what the partner stored, held, read and judged. The [`Engine`] holds
//! what every case needs and is shared by the tasks that send them; the runner, the shrinker,
//! replay and restore run cases or requests through it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use stockwire_schema::exchange;
use stockwire_schema::{CatalogEntry, Inventory, ItemKey, Profile, contract};

use crate::checks::classify::{AuthUse, ClassifyContext, ItemVerdict, classify};
use crate::checks::{self, Answer, Case, Exchange, Fact, Observation, Relation, Verdict};
use crate::client::http::{Client, FailureKind, HttpRequest, Outcome};
use crate::config::{BatchRejection, RunOptions};
use crate::engine::cases::{CaseSpec, GenContext, Probe};
use crate::readers::restore::StockWriter;
use crate::readers::state::{Alias, ReadPlan, Tracker};

/// Everything a case needs, shared by the tasks that send cases.
pub(crate) struct Engine {
    pub(crate) client: Client,
    pub(crate) cases_ctx: GenContext,
    pub(crate) cls: ClassifyContext,
    pub(crate) opts_policies: crate::config::Policies,
    pub(crate) enabled: HashSet<&'static str>,
    /// The read-back, when stored stock can be read and a state check is enabled.
    pub(crate) state: Option<Arc<Tracker>>,
    /// `--restore` with a probe: every item's first value is read before the run touches it.
    pub(crate) restore: bool,
}

/// The items of a case, as the read-back sees them.
#[derive(Debug, Default)]
struct CaseItems {
    /// Distinct keys in request order.
    order: Vec<ItemKey>,
    /// Keys some request may refuse (see [`crate::readers::state::may_refuse`]).
    refusable: HashSet<ItemKey>,
    /// Valid keys refused only if the partner rejects a whole batch for one bad item.
    batch_refusable: HashSet<ItemKey>,
    /// Catalog items the case does not name, read to see that nothing spilled onto them.
    neighbors: Vec<ItemKey>,
    /// Unknown pairs that share an id with a catalog item the case does not name, read to see
    /// whether a partner keying items by one id applied the update to that item.
    aliases: Vec<Alias>,
}

/// One case's requests, verdicts and observations.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaseRun {
    pub(crate) exchanges: Vec<(HttpRequest, Outcome)>,
    pub(crate) verdicts: Vec<Verdict>,
    pub(crate) observations: Vec<Observation>,
    pub(crate) requests: u32,
    pub(crate) latency: Vec<(usize, f64)>,
    pub(crate) auth_401: u32,
    pub(crate) authed: u32,
    /// Responses 5xx to requests sent with the run's apiKey.
    pub(crate) server_errors: u32,
    /// Requests the partner was still throttling when re-sends or the wait budget ran out.
    pub(crate) throttled: u32,
    /// Requests answered 401 after the run's key had worked and stopped (see
    /// [`crate::client::key`]).
    pub(crate) expired: u32,
    pub(crate) timeouts: u32,
    pub(crate) connect_failures: u32,
    /// What the case did to each item it names (read-back only; `None`: not certain).
    pub(crate) expect: BTreeMap<ItemKey, Option<Fact>>,
    /// Whether the case's stored stock was read back.
    pub(crate) read_back: bool,
    /// Read-back calls made.
    pub(crate) reads: u64,
    /// How long the read-back waited for values to settle, in ms.
    pub(crate) settle_ms: f64,
}

impl CaseRun {
    pub(crate) fn fails(&self, check: &str) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.check == check && v.failure.is_some())
    }
}

/// What a case's probe relates between its exchanges, for the relation checks.
fn relation(probe: &Probe) -> Relation {
    match probe {
        Probe::Single => Relation::Single,
        Probe::Repeat => Relation::Repeat,
        Probe::Reorder(_) => Relation::Reorder,
        Probe::Split => Relation::Split,
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
            state: None,
            restore: false,
        }
    }

    /// Classifies `req` as sent and hands the exchange with `outcome` to `judge`.
    pub(crate) fn judged<R>(
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

    /// Sends one request and judges it on its own; returns its verdicts and what the relation
    /// checks compare of it.
    pub(crate) async fn exchange(
        &self,
        req: &HttpRequest,
        run: &mut CaseRun,
    ) -> (Vec<Verdict>, Answer) {
        let outcome = self.client.send(req).await;
        run.requests += 1;
        let class = classify(req, &self.cls);
        let x = Exchange::new(self.cases_ctx.profile, req, &class, &outcome)
            .with_catalog(!self.cls.catalog.is_empty());
        // A partner still throttling when the re-sends or the wait budget ran out: its right,
        // never a violation, and nothing is known of what it did to the items.
        if outcome.response().is_some_and(|r| r.throttled) {
            run.throttled += 1;
            if class.auth == AuthUse::Valid {
                run.authed += 1;
            }
            for k in class.items().iter().filter_map(|i| i.key.clone()) {
                run.expect.insert(k, None);
            }
            run.exchanges.push((req.clone(), outcome));
            let answer = Answer {
                outcomes: None,
                signature: "throttled".into(),
                whole_refusal_tolerated: true,
            };
            return (vec![], answer);
        }
        // The run's key stopped working and no new login was possible (an apiKey alone): the
        // partner's right; counted as refused (so a run mostly refused certifies nothing),
        // judged by no check, and nothing is known of the items.
        if outcome.response().is_some_and(|r| r.expired) {
            run.expired += 1;
            run.authed += 1;
            run.auth_401 += 1;
            for k in class.items().iter().filter_map(|i| i.key.clone()) {
                run.expect.insert(k, None);
            }
            run.exchanges.push((req.clone(), outcome));
            let answer = Answer {
                outcomes: None,
                signature: "key expired".into(),
                whole_refusal_tolerated: true,
            };
            return (vec![], answer);
        }
        let (verdicts, obs) = checks::evaluate(&x, &self.opts_policies);
        let outcomes = checks::item_outcomes(&x);
        let signature = checks::signature(&x);
        let whole_refusal_tolerated = x.rejected_whole()
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
                    if (500..600).contains(&r.status) {
                        run.server_errors += 1;
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
        if let Some(t) = &self.state {
            t.learn(crate::readers::state::expect_from(&x, &mut run.expect));
        }
        run.exchanges.push((req.clone(), outcome));
        let answer = Answer {
            outcomes,
            signature,
            whole_refusal_tolerated,
        };
        (verdicts, answer)
    }

    /// Runs a case: its requests in order, the single-exchange checks on each, the relation
    /// its probe tests, and controls that confirm zero/extra-field failures. With `read_back`
    /// (and a stock reader), what the partner stored is read back and judged afterwards.
    pub(crate) async fn execute(&self, spec: &CaseSpec, plan: ReadPlan) -> CaseRun {
        let requests = self.cases_ctx.render(spec);
        self.execute_requests(&requests, &spec.probe, plan).await
    }

    /// Runs already-rendered requests as one case with the relation `probe` tests (replay
    /// uses this with the requests of a report).
    pub(crate) async fn execute_requests(
        &self,
        requests: &[HttpRequest],
        probe: &Probe,
        plan: ReadPlan,
    ) -> CaseRun {
        let mut run = CaseRun::default();
        // Every case holds the items it names until it is done (and a read-back case its
        // neighbors too), so no case reads an item another one is changing.
        let tracker = self.state.as_ref().filter(|t| !t.disabled());
        let read = plan.read && tracker.is_some();
        let items = match tracker {
            Some(_) => self.case_items(requests, read && plan.neighbor),
            None => CaseItems::default(),
        };
        let _held = match tracker {
            Some(t) => {
                let mut all = items.order.clone();
                all.extend(items.neighbors.iter().cloned());
                // An alias's catalog item may take the update (a partner keying by one id).
                for a in &items.aliases {
                    if !all.contains(&a.target) {
                        all.push(a.target.clone());
                    }
                }
                let held = t.hold(all).await;
                // Before-values: only for what may be refused (a value reported applied is
                // judged against what was sent); with --restore every first touch is read.
                let batch = t.batch_may_be_refused();
                let mut before: Vec<ItemKey> = if read {
                    crate::readers::state::plan(&items.order, &items.neighbors)
                        .into_iter()
                        .filter(|k| {
                            items.refusable.contains(k)
                                || items.neighbors.contains(k)
                                || (batch && items.batch_refusable.contains(k))
                        })
                        .collect()
                } else {
                    vec![]
                };
                if read {
                    before.extend(items.aliases.iter().map(|a| a.target.clone()));
                }
                if self.restore {
                    before.extend(items.order.iter().cloned());
                }
                run.reads += t.before(&before, self.restore).await;
                Some(held)
            }
            None => None,
        };
        let mut answers: Vec<Answer> = Vec::new();
        for (i, req) in requests.iter().enumerate() {
            let (mut verdicts, answer) = self.exchange(req, &mut run).await;
            self.confirm_item_failures(req, &mut verdicts, &mut run)
                .await;
            run.verdicts.extend(verdicts);
            answers.push(answer);
            // Stop a multi-request probe at the first transport failure.
            if i == 0 && run.exchanges[0].1.response().is_none() {
                break;
            }
        }
        // A throttled answer, or one to a key that stopped working, compares with nothing.
        if run.throttled == 0 && run.expired == 0 {
            run.verdicts.extend(checks::judge_relation(&Case {
                relation: relation(probe),
                answers: &answers,
            }));
        }
        if let Some(t) = tracker {
            if read {
                let rb = t
                    .after(
                        &items.order,
                        &items.neighbors,
                        &items.aliases,
                        &run.expect,
                        &self.enabled,
                    )
                    .await;
                run.verdicts.extend(rb.verdicts);
                run.reads += rb.reads;
                run.settle_ms = rb.settle_ms;
                run.read_back = true;
            } else {
                let mut touched = items.order.clone();
                touched.extend(items.aliases.iter().map(|a| a.target.clone()));
                t.forget(&touched, &run.expect);
            }
        }
        run.verdicts.retain(|v| self.enabled.contains(v.check));
        run
    }

    /// The distinct item keys the requests name, in order; those a request may refuse; and,
    /// with `neighbor`, when some item may be applied, a catalog neighbor.
    fn case_items(&self, requests: &[HttpRequest], neighbor: bool) -> CaseItems {
        let mut items = CaseItems::default();
        let mut seen = HashSet::new();
        let mut appliable = false;
        for req in requests {
            let class = classify(req, &self.cls);
            appliable |= class.auth == AuthUse::Valid
                && class
                    .items()
                    .iter()
                    .any(|i| matches!(i.verdict, ItemVerdict::Valid | ItemVerdict::Tolerated(_)));
            for item in class.items() {
                if let Some(k) = &item.key {
                    match crate::readers::state::may_refuse(&class, item) {
                        Some(true) => {
                            items.refusable.insert(k.clone());
                        }
                        Some(false) => {
                            items.batch_refusable.insert(k.clone());
                        }
                        None => {}
                    }
                    if seen.insert(k.clone()) {
                        items.order.push(k.clone());
                    }
                }
            }
        }
        if appliable && neighbor {
            items.neighbors = crate::readers::state::neighbors(&self.cls.catalog, &seen);
        }
        items.aliases = self.aliases(requests, &seen);
        items
    }

    /// The unknown pairs sent with the run's apiKey and a valid count whose variantId names a
    /// catalog item (by its variantId or its SKU) the case does not name: a partner that finds
    /// items by that id alone applies the update to that item.
    fn aliases(&self, requests: &[HttpRequest], named: &HashSet<ItemKey>) -> Vec<Alias> {
        let skus = stockwire_schema::catalog::default_skus(self.cls.catalog.len(), |i| {
            let e = &self.cls.catalog[i];
            (&e.product_id, &e.variant_id, e.sku.as_deref())
        });
        let mut out: Vec<Alias> = Vec::new();
        for req in requests {
            let class = classify(req, &self.cls);
            if class.auth != AuthUse::Valid {
                continue;
            }
            for item in class.items() {
                let (Some(key), Some(count), ItemVerdict::Unknown) =
                    (&item.key, item.count, &item.verdict)
                else {
                    continue;
                };
                let target = self.cls.catalog.iter().zip(&skus).find_map(|(e, sku)| {
                    let by_variant = e.variant_id == key.variant_id;
                    let by_sku = sku.as_ref() == key.variant_id.as_str();
                    (by_variant || by_sku).then(|| (e.key(), !by_variant))
                });
                let Some((target, by_sku)) = target else {
                    continue;
                };
                if named.contains(&target) || out.iter().any(|a| a.target == target) {
                    continue;
                }
                out.push(Alias {
                    sent: key.clone(),
                    target,
                    count: i64::from(count),
                    by_sku,
                });
            }
        }
        out
    }

    /// A failure of a check confirmed by a control request ([`checks::Check::confirm`]: inventory
    /// 0, extra members) is only that when the same item is applied as a plain valid item
    /// (inventory 1, without the extra members); otherwise it is reported as the check the
    /// entry names (the item is simply refused).
    async fn confirm_item_failures(
        &self,
        req: &HttpRequest,
        verdicts: &mut [Verdict],
        run: &mut CaseRun,
    ) {
        let instead_of = |check: &str| {
            checks::confirmed_by_control()
                .find(|(id, _)| *id == check)
                .map(|(_, instead)| instead)
        };
        let instead: Vec<&'static str> = verdicts
            .iter()
            .filter(|v| v.failure.is_some())
            .filter_map(|v| instead_of(v.check))
            .collect();
        if instead.is_empty() {
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
                if self.state.is_some() {
                    crate::readers::state::expect_from(x, &mut run.expect);
                }
                checks::evaluate(x, &self.opts_policies)
            });
            if cv
                .iter()
                .any(|v| instead.contains(&v.check) && v.failure.is_some())
            {
                generic = true;
            }
        }
        if generic {
            for v in verdicts.iter_mut() {
                if let Some(other) = instead_of(v.check).filter(|_| v.failure.is_some()) {
                    v.check = other;
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

/// Restoring sends through the engine's client and judges with its classification.
impl StockWriter for Engine {
    fn profile(&self) -> Profile {
        self.cases_ctx.profile
    }

    fn request(&self, body: String) -> HttpRequest {
        let mut req = self.cases_ctx.control(Value::Null);
        req.body = body;
        req
    }

    async fn send(&self, req: &HttpRequest) -> Outcome {
        self.client.send(req).await
    }

    fn applied(&self, req: &HttpRequest, outcome: &Outcome) -> Option<BTreeMap<ItemKey, bool>> {
        self.judged(req, outcome, checks::item_outcomes)
    }
}
