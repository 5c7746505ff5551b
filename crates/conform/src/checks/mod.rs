//! The check registry: every check with its stable id, severity, category and rationale, and the
//! evaluation of one exchange against the checks that look at single exchanges.
//!
//! Each check lives in its own module; the contract's semantic rules come from
//! [`stockwire_schema::rules`] and keep their ids and severities there ([`semantic`]).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use stockwire_schema::{ResponseView, Severity, Status};

use crate::checks::classify::Classified;
use crate::client::http::{HttpRequest, Outcome};
use crate::model::policies::Policies;
pub use crate::model::vocabulary::{Category, Loss, Need, Resource};

pub mod auth_no_effect;
pub mod auth_refused;
pub mod auth_token_response;
pub mod batch_independent;
pub mod classify;
pub mod connection_kept;
pub mod extra_fields_tolerated;
pub mod http_200;
pub mod idempotent;
pub mod invalid_input_refused;
pub mod invalid_item_rejected;
pub mod json_body;
pub mod latency_budget;
pub mod no_server_error;
pub mod no_timeout;
pub mod order_independent;
pub mod refused_not_stored;
pub mod response_schema;
pub mod semantic;
pub mod stored_per_item;
pub mod stored_value;
pub mod unknown_item_rejected;
pub mod valid_item_accepted;
pub mod zero_inventory_accepted;

/// What a check judges, which decides where the runner evaluates it. Two kinds are equal when
/// they are the same kind (a state check's judge is not compared).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One exchange on its own ([`evaluate`]).
    Exchange,
    /// A relation between the exchanges of one case (order, batch, repetition).
    Relation,
    /// What the partner stored, read back after a case ([`crate::readers::state`]): the function judges
    /// one item read back, and returns nothing for an item outside the check's scope.
    State(StateJudge),
    /// The run as a whole (latency, the token call).
    Run,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
    }
}

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

/// Every state check with its judge, in registry order.
pub fn state_judges() -> impl Iterator<Item = (&'static Check, StateJudge)> {
    registry().iter().filter_map(|c| match c.kind {
        Kind::State(j) => Some((c, j)),
        _ => None,
    })
}

/// A check's identity: stable id, severity, category, kind, a one-line rationale, and what it
/// needs from the run beyond a reachable target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable id used in reports, configs and `--checks`.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub severity: Severity,
    /// What the check looks at.
    pub category: Category,
    /// Where the runner evaluates it.
    pub kind: Kind,
    /// Why it holds, in one line.
    pub rationale: &'static str,
    /// What the check loses when the run lacks something (empty: nothing).
    pub needs: &'static [Need],
}

/// What the run has, to decide which [`Need`]s are unmet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Available {
    /// Known items of the seller under test.
    pub catalog: bool,
    /// A stock probe (an observation endpoint).
    pub stock_probe: bool,
    /// An apiKey or seller credentials.
    pub credentials: bool,
    /// Seller credentials for `/authToken`.
    pub login: bool,
}

impl Available {
    /// Whether the run has `r`.
    pub fn has(&self, r: Resource) -> bool {
        match r {
            Resource::Catalog => self.catalog,
            Resource::StockProbe => self.stock_probe,
            Resource::Credentials => self.credentials,
            Resource::Login => self.login,
        }
    }
}

/// A check whose needs the run does not meet, with the unmet needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The check.
    pub check: &'static Check,
    /// The worst loss among `unmet`.
    pub loss: Loss,
    /// Its needs the run does not meet, in declaration order.
    pub unmet: Vec<Need>,
}

/// The checks of the registry that `enabled` keeps and whose needs `available` does not meet,
/// in registry order. Derived from each check's [`Check::needs`]: nothing here names a check.
pub fn gaps(available: &Available, enabled: impl Fn(&str) -> bool) -> Vec<Gap> {
    registry()
        .iter()
        .filter(|c| enabled(c.id))
        .filter_map(|c| {
            let unmet: Vec<Need> = c
                .needs
                .iter()
                .filter(|n| !available.has(n.resource))
                .copied()
                .collect();
            let loss = unmet.iter().map(|n| n.loss).max()?;
            Some(Gap {
                check: c,
                loss,
                unmet,
            })
        })
        .collect()
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

/// Every check, in report order.
pub fn registry() -> &'static [Check] {
    static ALL: LazyLock<Vec<Check>> = LazyLock::new(|| {
        let mut v = vec![http_200::CHECK, json_body::CHECK, response_schema::CHECK];
        v.extend(semantic::checks());
        v.extend([
            valid_item_accepted::CHECK,
            zero_inventory_accepted::CHECK,
            unknown_item_rejected::CHECK,
            invalid_item_rejected::CHECK,
            extra_fields_tolerated::CHECK,
            no_server_error::CHECK,
            no_timeout::CHECK,
            connection_kept::CHECK,
            invalid_input_refused::CHECK,
            auth_token_response::CHECK,
            auth_refused::CHECK,
            auth_no_effect::CHECK,
            order_independent::CHECK,
            batch_independent::CHECK,
            idempotent::CHECK,
            stored_value::CHECK,
            stored_per_item::CHECK,
            refused_not_stored::CHECK,
            latency_budget::CHECK,
        ]);
        v
    });
    &ALL
}

/// Finds a check by id.
pub fn find(id: &str) -> Option<&'static Check> {
    registry().iter().find(|c| c.id == id)
}

/// The outcome of one check on one exchange (or probe).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The check's id.
    pub check: &'static str,
    /// `None` when it passed, else what is wrong.
    pub failure: Option<String>,
}

impl Verdict {
    /// A pass.
    pub fn pass(check: &'static str) -> Self {
        Verdict {
            check,
            failure: None,
        }
    }
    /// A failure with a message.
    pub fn fail(check: &'static str, message: impl Into<String>) -> Self {
        Verdict {
            check,
            failure: Some(message.into()),
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

/// Everything one exchange is judged with.
pub struct Exchange<'a> {
    /// Contract version.
    pub profile: stockwire_schema::Profile,
    /// The request as sent (apiKey as placeholder).
    pub request: &'a HttpRequest,
    /// What the request is, by the contract.
    pub class: &'a Classified,
    /// What came back.
    pub outcome: &'a Outcome,
    /// The response body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// The same body read as an `/updateInventory` response (status, failed entries as sent).
    pub response: Option<ResponseView>,
    /// Whether the run knows any item of the seller (without, no item can be classified
    /// valid, so what the partner does with valid items cannot be told).
    pub has_catalog: bool,
}

impl<'a> Exchange<'a> {
    /// The exchange of `request` (classified as `class`) and `outcome`; parses the body once.
    pub fn new(
        profile: stockwire_schema::Profile,
        request: &'a HttpRequest,
        class: &'a Classified,
        outcome: &'a Outcome,
    ) -> Self {
        let json: Option<serde_json::Value> = outcome
            .response()
            .and_then(|r| serde_json::from_str(&r.body).ok());
        let response = json.as_ref().map(ResponseView::parse);
        Exchange {
            profile,
            request,
            class,
            outcome,
            json,
            response,
            has_catalog: true,
        }
    }

    /// The same exchange, judged by a run that does (or does not) know catalog items.
    pub fn with_catalog(mut self, has_catalog: bool) -> Self {
        self.has_catalog = has_catalog;
        self
    }

    /// HTTP status, when a response came back.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Response(r) => Some(r.status),
            Outcome::Failure { .. } => None,
        }
    }

    /// The `status` of a JSON body, as text.
    pub fn body_status(&self) -> Option<&str> {
        self.response.as_ref()?.status_text()
    }

    /// Whether the body's `status` is `s`.
    pub fn body_status_is(&self, s: &Status) -> bool {
        self.response.as_ref().is_some_and(|r| r.status_is(s))
    }

    /// Whether the request as a whole was refused: a 4xx, or a body with status FAILED
    /// (FAILED tells the caller nothing was applied).
    pub fn rejected_whole(&self) -> bool {
        matches!(self.status(), Some(400..=499)) || self.body_status_is(&Status::Failed)
    }

    /// The (productId, variantId) pairs the response lists as failed.
    pub fn failed_keys(&self) -> BTreeSet<stockwire_schema::ItemKey> {
        self.response
            .as_ref()
            .map(|r| r.failed_keys().into_iter().collect())
            .unwrap_or_default()
    }
}

/// Evaluates every single-exchange check that applies to `x`. Checks that do not apply give no
/// verdict; the caller filters out disabled checks.
pub fn evaluate(x: &Exchange<'_>, policies: &Policies) -> (Vec<Verdict>, Vec<Observation>) {
    let mut v = Vec::new();
    let mut obs = Vec::new();
    no_timeout::evaluate(x, &mut v);
    connection_kept::evaluate(x, &mut v);
    if x.status().is_none() {
        return (v, obs);
    }
    no_server_error::evaluate(x, &mut v);
    if matches!(x.status(), Some(500..=599)) {
        // A crash says nothing about the contract beyond itself.
        return (v, obs);
    }
    if auth_refused::evaluate(x, &mut v, &mut obs) {
        // An unauthenticated request is judged only on its refusal.
        return (v, obs);
    }
    http_200::evaluate(x, &mut v, policies);
    json_body::evaluate(x, &mut v);
    response_schema::evaluate(x, &mut v, policies, &mut obs);
    semantic::evaluate(x, &mut v);
    invalid_input_refused::evaluate(x, &mut v, policies, &mut obs);
    valid_item_accepted::evaluate_items(x, &mut v, policies, &mut obs);
    unknown_item_rejected::evaluate(x, &mut v);
    invalid_item_rejected::evaluate(x, &mut v, &mut obs);
    (v, obs)
}

/// A short description of a response body for messages.
pub(crate) fn describe_body(x: &Exchange<'_>) -> String {
    match (&x.json, x.outcome.response()) {
        (Some(_), _) if x.body_status().is_some() => {
            let n = x.failed_keys().len();
            format!(
                "status {}, {n} failed entr{}",
                x.body_status().unwrap_or(""),
                if n == 1 { "y" } else { "ies" }
            )
        }
        (Some(j), _) => format!("body {}", snippet(&j.to_string())),
        (None, Some(r)) if r.body.is_empty() => "empty body".into(),
        (None, Some(r)) => format!("body {}", snippet(&r.body)),
        (None, None) => "no response".into(),
    }
}

/// The first 120 characters of a text.
pub(crate) fn snippet(s: &str) -> String {
    let t: String = s.chars().take(120).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// An item key for messages, shortened when an id is very long.
pub(crate) fn short_key(k: &stockwire_schema::ItemKey) -> String {
    let short = |s: &str| {
        let t: String = s.chars().take(40).collect();
        if t.len() < s.len() {
            format!("{t}…({} chars)", s.chars().count())
        } else {
            t
        }
    };
    format!("{:?}/{:?}", short(&k.product_id), short(&k.variant_id))
}

/// The failure message the response gives for `key`.
pub(crate) fn failure_message(x: &Exchange<'_>, key: &stockwire_schema::ItemKey) -> Option<String> {
    x.response
        .as_ref()?
        .failure_message(key)
        .map(str::to_string)
}

/// Whether a large batch was refused the way a partner's own batch limit is (413, or 400 for
/// a batch of 1,000 items or more).
pub(crate) fn batch_limited(x: &Exchange<'_>) -> bool {
    let n = x.class.batch_size();
    match x.status() {
        Some(413) => n > 1,
        Some(400) => n >= 1000,
        _ => false,
    }
}

/// Per-item outcome of an answered request: true when the item was applied. `None` when the
/// exchange says nothing about items (no response, 5xx).
pub fn item_outcomes(
    x: &Exchange<'_>,
) -> Option<std::collections::BTreeMap<stockwire_schema::ItemKey, bool>> {
    let status = x.status()?;
    if status >= 500 {
        return None;
    }
    let rejected = x.rejected_whole() || !(200..300).contains(&status);
    let failed = x.failed_keys();
    Some(
        x.class
            .items()
            .iter()
            .filter_map(|i| i.key.clone())
            .map(|k| {
                let ok = !rejected && !failed.contains(&k);
                (k, ok)
            })
            .collect(),
    )
}

/// A compact signature of an answer: HTTP status, body status and failed pairs.
pub fn signature(x: &Exchange<'_>) -> String {
    match x.status() {
        None => "no response".into(),
        Some(s) => {
            let failed: Vec<String> = x.failed_keys().iter().map(short_key).collect();
            format!(
                "HTTP {s} {} [{}]",
                x.body_status().unwrap_or("-"),
                failed.join(", ")
            )
        }
    }
}

fn first_difference<'a>(
    a: &'a std::collections::BTreeMap<stockwire_schema::ItemKey, bool>,
    b: &std::collections::BTreeMap<stockwire_schema::ItemKey, bool>,
) -> Option<(&'a stockwire_schema::ItemKey, bool, bool)> {
    a.iter().find_map(|(k, va)| match b.get(k) {
        Some(vb) if vb != va => Some((k, *va, *vb)),
        _ => None,
    })
}

fn applied(b: bool) -> &'static str {
    if b { "applied" } else { "refused" }
}
