//! The registry: every check in report order, lookup by id, the coverage a run loses for what
//! it lacks, and the dispatch of every evaluation: one exchange ([`evaluate`]), the exchanges of
//! a case ([`judge_relation`]), an item read back ([`state_judges`]) and a fact about the whole
//! run ([`judge_run`]). The dispatch reads each entry's [`Eval`] and names no check; what the
//! runner does with a check's failures (shrink, replay, confirm, warn) reads the entry's fields
//! too, so only the list itself names a check.

use std::sync::LazyLock;

use super::check::{
    Case, Check, Ctx, Eval, ExchangeJudge, Observation, Out, RunFact, Stage, StateJudge, Verdict,
};
use super::exchange::Exchange;
use super::{
    auth_no_effect, auth_refused, auth_token_response, batch_independent, connection_kept,
    duplicate_last_wins, error_body_json, extra_fields_tolerated, http_200, idempotent,
    invalid_input_refused, invalid_item_rejected, json_body, latency_budget, no_server_error,
    no_stack_trace, no_timeout, order_independent, refused_not_stored, response_schema,
    seller_isolation, semantic, stored_per_item, stored_value, unknown_item_rejected,
    valid_item_accepted, zero_inventory_accepted,
};
use super::{
    catalog_auth, catalog_count_agrees, catalog_count_answer, catalog_listing_reflects,
    catalog_listing_schema, catalog_page_size, catalog_pages_complete, catalog_pages_disjoint,
    catalog_past_end, catalog_sku_filter,
};
use crate::model::policies::Policies;
use crate::model::vocabulary::{Loss, Need, Resource};

/// Every state check with its judge, in registry order.
pub fn state_judges() -> impl Iterator<Item = (&'static Check, StateJudge)> {
    registry().iter().filter_map(|c| match c.eval {
        Eval::State(j) => Some((c, j)),
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
    /// The catalog calls were made (discovery).
    pub discovery: bool,
    /// A second seller's credentials (`seller-isolation`).
    pub second_seller: bool,
}

impl Available {
    /// Whether the run has `r`.
    pub fn has(&self, r: Resource) -> bool {
        match r {
            Resource::Catalog => self.catalog,
            Resource::StockProbe => self.stock_probe,
            Resource::Credentials => self.credentials,
            Resource::Login => self.login,
            Resource::Discovery => self.discovery,
            Resource::SecondSeller => self.second_seller,
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
            error_body_json::CHECK,
            no_stack_trace::CHECK,
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
            seller_isolation::CHECK,
            duplicate_last_wins::CHECK,
            latency_budget::CHECK,
        ]);
        v.extend(catalog_checks());
        v
    });
    &ALL
}

/// The checks on the catalog calls, in the order the caller's flow makes them.
fn catalog_checks() -> [Check; 10] {
    [
        catalog_count_answer::CHECK,
        catalog_listing_schema::CHECK,
        catalog_count_agrees::CHECK,
        catalog_pages_disjoint::CHECK,
        catalog_pages_complete::CHECK,
        catalog_past_end::CHECK,
        catalog_page_size::CHECK,
        catalog_sku_filter::CHECK,
        catalog_auth::CHECK,
        catalog_listing_reflects::CHECK,
    ]
}

/// The call of the family `c` judges, by the group a report files it under
/// (`authentication`, `count`, `listing`, `update`: each call's [`stockwire_schema::Shape`]).
pub fn call_of(c: &Check) -> &'static str {
    use stockwire_schema::call;
    let def = if c.category == crate::model::vocabulary::Category::Catalog {
        if c.id == catalog_count_answer::CHECK.id || c.id == catalog_count_agrees::CHECK.id {
            &call::PRODUCTS_COUNT
        } else {
            &call::PRODUCTS
        }
    } else if c.id == auth_token_response::CHECK.id {
        &call::AUTH_TOKEN
    } else {
        &call::UPDATE_INVENTORY
    };
    def.shape.group()
}

/// The groups of [`call_of`], in the order of Uniware's flow.
pub fn call_groups() -> [&'static str; 4] {
    use stockwire_schema::call;
    call::FAMILY.map(|d| d.shape.group())
}

/// Finds a check by id.
pub fn find(id: &str) -> Option<&'static Check> {
    registry().iter().find(|c| c.id == id)
}

/// Every single-exchange check with a judge of its own, in evaluation order: by stage, then in
/// registry order.
fn exchange_judges() -> &'static [(Stage, &'static Check, ExchangeJudge)] {
    static ALL: LazyLock<Vec<(Stage, &'static Check, ExchangeJudge)>> = LazyLock::new(|| {
        let mut v: Vec<(Stage, &'static Check, ExchangeJudge)> = registry()
            .iter()
            .filter_map(|c| match c.eval {
                Eval::Exchange { stage, judge } => Some((stage, c, judge)),
                _ => None,
            })
            .collect();
        // A stable sort: registry order within a stage.
        v.sort_by_key(|(stage, _, _)| *stage);
        v
    });
    &ALL
}

/// Evaluates every single-exchange check that applies to `x`: the stages `x` reaches, in
/// order, and in each the judges of its checks in registry order. Checks that do not apply give
/// no verdict; the caller filters out disabled checks.
pub fn evaluate(x: &Exchange<'_>, policies: &Policies) -> (Vec<Verdict>, Vec<Observation>) {
    let mut out = Out::default();
    for (stage, check, judge) in exchange_judges() {
        if stage.admits(x) {
            judge(x, &Ctx { check, policies }, &mut out);
        }
    }
    (out.verdicts, out.observations)
}

/// The relation checks' verdicts on the exchanges of one case, in registry order.
pub fn judge_relation(case: &Case<'_>) -> Vec<Verdict> {
    registry()
        .iter()
        .filter_map(|c| match c.eval {
            Eval::Relation(judge) => judge(case),
            _ => None,
        })
        .collect()
}

/// The whole-run checks' verdicts on one fact about the run, in registry order.
pub fn judge_run(fact: &RunFact<'_>) -> Vec<Verdict> {
    registry()
        .iter()
        .filter_map(|c| match c.eval {
            Eval::Run(judge) => judge(fact),
            _ => None,
        })
        .collect()
}

/// The checks whose failures are confirmed by a control request, each with the check a refused
/// control reports instead ([`Check::confirm`]).
pub fn confirmed_by_control() -> impl Iterator<Item = (&'static str, &'static str)> {
    registry()
        .iter()
        .filter_map(|c| c.confirm.map(|instead| (c.id, instead)))
}

#[cfg(test)]
mod tests {
    use super::super::check::Kind;
    use super::*;

    /// A check judged in another check's pass names an exchange check that has a judge.
    #[test]
    fn judged_by_names_an_exchange_check_with_a_judge() {
        for c in registry() {
            if let Eval::JudgedBy(id) = c.eval {
                let by = find(id).map(|b| b.eval);
                assert!(
                    matches!(by, Some(Eval::Exchange { .. })),
                    "{} is judged by {id}, which has no exchange judge",
                    c.id
                );
            }
        }
    }

    /// A whole-run check has no case to shrink; a check a control request confirms names a
    /// check of the registry that is not confirmed itself.
    #[test]
    fn handling_fields_are_consistent() {
        for c in registry() {
            assert!(!(c.kind() == Kind::Run && c.shrink), "{} shrinks", c.id);
            if let Some(instead) = c.confirm {
                assert!(
                    find(instead).is_some_and(|i| i.confirm.is_none()),
                    "{} is confirmed as {instead}",
                    c.id
                );
            }
        }
    }

    /// Ids are unique, and every kind is dispatched.
    #[test]
    fn ids_are_unique_and_every_kind_is_present() {
        let mut ids: Vec<&str> = registry().iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), registry().len());
        for k in [Kind::Exchange, Kind::Relation, Kind::State, Kind::Run] {
            assert!(registry().iter().any(|c| c.kind() == k), "{k:?}");
        }
    }
}
