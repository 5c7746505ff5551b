//! The registry: every check in report order, lookup by id, the coverage a run loses for what
//! it lacks, and the evaluation of one exchange against the checks that look at single
//! exchanges.

use std::sync::LazyLock;

use super::check::{Check, Kind, Observation, StateJudge, Verdict};
use super::exchange::Exchange;
use super::{
    auth_no_effect, auth_refused, auth_token_response, batch_independent, connection_kept,
    extra_fields_tolerated, http_200, idempotent, invalid_input_refused, invalid_item_rejected,
    json_body, latency_budget, no_server_error, no_timeout, order_independent, refused_not_stored,
    response_schema, semantic, stored_per_item, stored_value, unknown_item_rejected,
    valid_item_accepted, zero_inventory_accepted,
};
use crate::model::policies::Policies;
use crate::model::vocabulary::{Loss, Need, Resource};

/// Every state check with its judge, in registry order.
pub fn state_judges() -> impl Iterator<Item = (&'static Check, StateJudge)> {
    registry().iter().filter_map(|c| match c.kind {
        Kind::State(j) => Some((c, j)),
        _ => None,
    })
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
