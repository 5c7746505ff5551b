//! The checks: the classification of a request as sent ([`classify`]), what a check is and
//! what its judge is given ([`check`]), one exchange as the checks see it ([`exchange`]), the
//! registry of every check with the dispatch of every evaluation ([`registry`]), and one module
//! per check, each with its stable id, severity, category, rationale, needs and evaluation (a
//! judge and when it applies). The contract's semantic rules come from
//! [`stockwire_schema::rules`] and keep their ids and severities there ([`semantic`]).
//!
//! It does not send requests, read stored stock, decide which cases run or write reports: the
//! engine, the readers, the settings and the reports use the checks, and the checks use none of
//! them, only `model` (policies, vocabulary) and the client's request and outcome types.
//! Inside: every check module uses `check` and `exchange` (which use `classify`), `registry`
//! uses every check module, and this file only declares and re-exports (and gives the checks'
//! unit tests `judge_answer`), so no check reaches the registry that lists it.

pub mod auth_no_effect;
pub mod auth_refused;
pub mod auth_token_response;
pub mod batch_independent;
pub mod catalog_auth;
pub mod catalog_count_agrees;
pub mod catalog_count_answer;
pub mod catalog_facts;
pub mod catalog_listing_reflects;
pub mod catalog_listing_schema;
pub mod catalog_page_size;
pub mod catalog_pages_complete;
pub mod catalog_pages_disjoint;
pub mod catalog_past_end;
pub mod catalog_sku_filter;
pub mod check;
pub mod classify;
pub mod connection_kept;
pub mod duplicate_last_wins;
pub mod error_body_json;
pub mod exchange;
pub mod extra_fields_tolerated;
pub mod http_200;
pub mod idempotent;
pub mod invalid_input_refused;
pub mod invalid_item_rejected;
pub mod json_body;
pub mod latency_budget;
pub mod no_server_error;
pub mod no_stack_trace;
pub mod no_timeout;
pub mod order_independent;
pub mod refused_not_stored;
pub mod registry;
pub mod response_schema;
pub mod seller_isolation;
pub mod semantic;
pub mod stored_per_item;
pub mod stored_value;
pub mod unknown_item_rejected;
pub mod valid_item_accepted;
pub mod zero_inventory_accepted;

pub use crate::model::vocabulary::{Category, Loss, Need, Resource};
pub use check::{
    Answer, Case, Check, Ctx, Eval, ExchangeJudge, Fact, Kind, Observation, Out, Relation,
    RelationJudge, RunFact, RunJudge, Stage, StateJudge, Stored, Verdict,
};
pub use exchange::{Exchange, item_outcomes, signature};
pub(crate) use exchange::{describe_body, short_key, snippet};
pub use registry::{
    Available, Gap, call_groups, call_of, confirmed_by_control, evaluate, find, gaps,
    judge_relation, judge_run, registry, state_judges,
};

/// The verdicts `check`'s exchange judge gives on one answer to a plain v1 update (for the
/// checks' unit tests).
#[cfg(test)]
pub(crate) fn judge_answer(
    check: &Check,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Vec<Verdict> {
    use crate::client::http::{HttpRequest, HttpResponse, Outcome};
    use crate::model::policies::Policies;
    use classify::{ClassifyContext, classify};
    use stockwire_schema::Profile;

    let Eval::Exchange { judge, .. } = check.eval else {
        panic!("{} is not judged on an exchange", check.id);
    };
    let request = HttpRequest::post("http://x/updateInventory", vec![], String::new());
    let class = classify(
        &request,
        &ClassifyContext {
            profile: Profile::V1,
            catalog: Vec::new(),
            auth_configured: false,
            policies: Policies::default(),
        },
    );
    let outcome = Outcome::Response(HttpResponse {
        status,
        content_type: content_type.map(str::to_string),
        body: body.into(),
        elapsed_ms: 1.0,
        throttled: false,
        expired: false,
    });
    let x = Exchange::new(Profile::V1, &request, &class, &outcome);
    let mut out = Out::default();
    let cx = Ctx {
        check,
        policies: &Policies::default(),
    };
    judge(&x, &cx, &mut out);
    out.verdicts
}
