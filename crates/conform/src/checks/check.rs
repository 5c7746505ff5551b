//! What a check is: its identity (stable id, severity, category, rationale, needs) and its
//! evaluation ([`Eval`]: when the runner asks it, and the function that judges), the verdicts and
//! observations it gives, and what each kind of judge is given: one exchange ([`Ctx`], [`Out`]),
//! the exchanges of one case ([`Case`]), one item read back ([`Stored`]) or a fact about the
//! whole run ([`RunFact`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use stockwire_schema::{ItemKey, Profile, Severity};

use super::classify::AuthUse;
use super::exchange::Exchange;
use crate::model::policies::Policies;
use crate::model::report::RecordedExchange;
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// What a check judges, which decides where the runner evaluates it (derived from its
/// [`Eval`], see [`Check::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One exchange on its own ([`crate::checks::evaluate`]).
    Exchange,
    /// A relation between the exchanges of one case (order, batch, repetition).
    Relation,
    /// What the partner stored, read back after a case (`readers::state`).
    State,
    /// The run as a whole (latency, the token call).
    Run,
}

/// How and when a check is evaluated: the registry's dispatch reads this, so nothing names a
/// check to evaluate it. Two evaluations are equal when they are of the same variant with the
/// same stage or source (the judging functions are not compared).
#[derive(Debug, Clone, Copy)]
pub enum Eval {
    /// On each exchange that reaches `stage`, by `judge`.
    Exchange {
        /// Which exchanges it applies to.
        stage: Stage,
        /// Judges one exchange; it may give verdicts of other checks too (see [`Eval::JudgedBy`]).
        judge: ExchangeJudge,
    },
    /// On each exchange, by the judge of the check with this id, which gives this check's
    /// verdicts in the same pass (one pass over a request's items judges several checks).
    JudgedBy(&'static str),
    /// On the exchanges of one case: the judge gives a verdict when the case's relation is the
    /// one it compares, else nothing.
    Relation(RelationJudge),
    /// On each item read back after a case: the judge returns nothing for an item outside the
    /// check's scope.
    State(StateJudge),
    /// On facts about the whole run: the judge gives a verdict on the facts it judges, else
    /// nothing.
    Run(RunJudge),
}

impl PartialEq for Eval {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Eval::Exchange { stage: a, .. }, Eval::Exchange { stage: b, .. }) => a == b,
            (Eval::JudgedBy(a), Eval::JudgedBy(b)) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for Eval {}

/// Which exchanges a single-exchange check applies to. The runner evaluates the stages in this
/// order, and within a stage the checks in registry order; an exchange that does not reach a
/// stage is not judged by its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Every exchange, answered or not (time-outs, dropped connections).
    Every,
    /// An exchange that got a response, whatever its status.
    Answered,
    /// A response other than a 5xx (a crash says nothing about the contract beyond itself) to a
    /// request refused for its apiKey (sent without one, or with a wrong one): such a request
    /// is judged on its refusal alone.
    Unauthenticated,
    /// A response other than a 5xx to a request sent with the run's apiKey (or in a run
    /// without credentials): the contract's checks.
    Authenticated,
}

impl Stage {
    /// The stages, in evaluation order.
    pub const ORDER: [Stage; 4] = [
        Stage::Every,
        Stage::Answered,
        Stage::Unauthenticated,
        Stage::Authenticated,
    ];

    /// Whether `x` reaches this stage.
    pub fn admits(self, x: &Exchange<'_>) -> bool {
        let judged = || matches!(x.status(), Some(s) if !(500..=599).contains(&s));
        match self {
            Stage::Every => true,
            Stage::Answered => x.status().is_some(),
            Stage::Unauthenticated => judged() && x.class.auth != AuthUse::Valid,
            Stage::Authenticated => judged() && x.class.auth == AuthUse::Valid,
        }
    }
}

/// What the run gives a single-exchange judge besides the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The registry entry being evaluated (a judge shared by several entries, like the
    /// semantic rules', tells them apart by it).
    pub check: &'a Check,
    /// The run's policies.
    pub policies: &'a Policies,
}

/// What single-exchange judges give back, in the order they give it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Out {
    /// Verdicts, of the judged check or of the checks it judges in the same pass.
    pub verdicts: Vec<Verdict>,
    /// The partner's choices seen where the contract allows several.
    pub observations: Vec<Observation>,
}

/// Judges one exchange (see [`Eval::Exchange`]).
pub type ExchangeJudge = fn(&Exchange<'_>, &Ctx<'_>, &mut Out);

/// What the requests of a case relate, from the probe that made the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// One request: nothing to relate.
    Single,
    /// The same request twice.
    Repeat,
    /// A batch, then the same batch in another order.
    Reorder,
    /// A batch, then each of its items alone.
    Split,
}

/// One exchange of a case, as the relation checks compare it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Per-item outcome (true: applied); `None` when the exchange says nothing about items.
    pub outcomes: Option<BTreeMap<ItemKey, bool>>,
    /// HTTP status, body status and failed pairs ([`crate::checks::signature`]).
    pub signature: String,
    /// The request was refused as a whole in a way the policies tolerate (one bad item may fail
    /// the whole batch), so its per-item outcomes compare with nothing.
    pub whole_refusal_tolerated: bool,
}

/// The exchanges of one case, for the relation checks.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// What the case's requests relate.
    pub relation: Relation,
    /// Its exchanges, in the order sent (a case stops at the first transport failure).
    pub answers: &'a [Answer],
}

/// Judges the exchanges of one case (see [`Eval::Relation`]).
pub type RelationJudge = fn(&Case<'_>) -> Option<Verdict>;

/// A fact about the whole run, for the whole-run checks.
#[derive(Debug, Clone, Copy)]
pub enum RunFact<'a> {
    /// What `/authToken` answered to the run's seller credentials.
    TokenAnswer {
        /// Contract version.
        profile: Profile,
        /// HTTP status.
        status: u16,
        /// The body, when it is JSON.
        body: Option<&'a Value>,
    },
    /// What discovery saw of the catalog calls (`/productsCount`, `/products`).
    Catalog(&'a super::catalog_facts::CatalogFacts),
    /// An update read back through the listing (`listing-reflects-update`).
    ListingReflects(&'a super::catalog_facts::ReflectProbe),
    /// Each seller's writes and the other seller's stock (`seller-isolation`).
    SellerIsolation(&'a super::seller_isolation::IsolationFacts),
    /// The latency of one batch-size bucket.
    Latency {
        /// The bucket's batch sizes, e.g. `2-10`.
        bucket: &'a str,
        /// Its p99 latency in ms.
        p99_ms: f64,
        /// Its p99 budget (see [`Policies::latency_budget_for`]).
        budget: Duration,
    },
}

/// Judges a fact about the whole run (see [`Eval::Run`]).
pub type RunJudge = fn(&RunFact<'_>) -> Option<Verdict>;

/// Judges one item read back after a case (see [`Stored`]).
pub type StateJudge = fn(&Stored<'_>) -> Option<Verdict>;

/// What a case did to one item, as far as its answers tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// Reported applied with one of these counts (more than one when the request named the
    /// item more than once).
    Applied(Vec<i64>),
    /// Refused (why); `auth` when the request was refused for its apiKey.
    Refused {
        /// Why, e.g. "reported failed" or "sent without an apiKey".
        why: String,
        /// Refused for its apiKey (missing or wrong).
        auth: bool,
    },
    /// Not named by the case: a neighbor of an item that was.
    NotNamed,
}

/// One item read back after a case: what the case did to it, what it held before (when known)
/// and what it holds now.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The item, as `productId/variantId`.
    pub key: &'a str,
    /// What the case did to it.
    pub fact: &'a Fact,
    /// What it held before the case: `None` when not known, `Some(None)` when never set.
    pub before: Option<Option<i64>>,
    /// What it holds now (`None`: never set).
    pub after: Option<i64>,
    /// How long the read-back waited for the value to settle, as words for a message.
    pub settle: &'a str,
}

impl Stored<'_> {
    /// A stock value in words.
    pub fn shown(v: Option<i64>) -> String {
        v.map_or("nothing (never set)".to_string(), |n| n.to_string())
    }

    /// The verdict of `check` on an item that must hold what it held before: `None` when the
    /// before is not known.
    pub fn unchanged(&self, check: &'static str, what: &str) -> Option<Verdict> {
        let before = self.before?;
        Some(if before == self.after {
            Verdict::pass(check)
        } else {
            Verdict::fail(
                check,
                format!(
                    "item {} ({what}) changed from {} to {}",
                    self.key,
                    Self::shown(before),
                    Self::shown(self.after)
                ),
            )
        })
    }
}

/// A registry entry: a check's identity (stable id, severity, category, a one-line rationale,
/// what it needs from the run beyond a reachable target) and its evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable id used in reports, configs and `--checks`.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub severity: Severity,
    /// What the check looks at.
    pub category: Category,
    /// Why it holds, in one line.
    pub rationale: &'static str,
    /// What the check loses when the run lacks something (empty: nothing).
    pub needs: &'static [Need],
    /// When the runner evaluates it, and by which function.
    pub eval: Eval,
    /// Whether the runner shrinks its first failing case to a minimal one: not when every
    /// candidate would wait out the time-out (`no-timeout`), nor for a whole-run check, which
    /// has no case to shrink.
    pub shrink: bool,
    /// Whether `conform replay` can judge a failure again by re-sending its recorded requests:
    /// not when it was judged over the whole run or by watching stock around a refused request.
    pub replayable: bool,
    /// `Some(id)`: a failure stands only when a control request (the same item as a plain valid
    /// item: inventory 1, no extra members) is applied; when the control is refused too, the
    /// item is simply refused and the failure is reported as check `id` instead.
    pub confirm: Option<&'static str>,
    /// Whether its verdicts show that known catalog items are applied: when such checks fail
    /// three times or more and never pass, the run warns that the catalog or seller is probably
    /// not the partner's.
    pub catalog_evidence: bool,
}

impl Check {
    /// What it judges, from its evaluation.
    pub fn kind(&self) -> Kind {
        match self.eval {
            Eval::Exchange { .. } | Eval::JudgedBy(_) => Kind::Exchange,
            Eval::Relation(_) => Kind::Relation,
            Eval::State(_) => Kind::State,
            Eval::Run(_) => Kind::Run,
        }
    }
}

/// The catalog need of the checks that judge whether a valid item is applied.
pub(crate) const NEEDS_KNOWN_ITEM: &[Need] = &[Need {
    resource: Resource::Catalog,
    loss: Loss::Skipped,
    why: "no item is known to exist at the partner, so none can show that a valid update is applied",
}];

/// The catalog need of the checks that compare per-item outcomes across requests.
pub(crate) const NEEDS_KNOWN_ITEM_TO_COMPARE: &[Need] = &[Need {
    resource: Resource::Catalog,
    loss: Loss::Skipped,
    why: "every item sent is unknown to the partner, so every batch is refused and no outcome can differ",
}];

/// The outcome of one check on one exchange (or probe).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The check's id.
    pub check: &'static str,
    /// `None` when it passed, else what is wrong.
    pub failure: Option<String>,
    /// For a failure judged outside an exchange (a whole-run check, like the catalog's): the
    /// exchanges that show it, each reported with its curl. Empty otherwise.
    pub shown_by: Vec<RecordedExchange>,
}

impl Verdict {
    /// A pass.
    pub fn pass(check: &'static str) -> Self {
        Verdict {
            check,
            failure: None,
            shown_by: Vec::new(),
        }
    }
    /// A failure with a message.
    pub fn fail(check: &'static str, message: impl Into<String>) -> Self {
        Verdict {
            check,
            failure: Some(message.into()),
            shown_by: Vec::new(),
        }
    }
}

/// A choice the partner made where the contract allows several (FACTS.md, "differences a
/// checking tool must tolerate").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observation {
    /// Which difference, e.g. `rejection-style`.
    pub topic: &'static str,
    /// The choice seen, e.g. `HTTP 400`.
    pub choice: String,
}
