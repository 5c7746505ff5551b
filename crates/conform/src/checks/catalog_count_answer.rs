//! `count-answer`: `/productsCount` answers 200 with a body valid against its schema, a whole count.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "count-answer",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "Uniware asks /productsCount first and stops at 0: without a valid count it never pulls the listing.",
    shrink: false,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: NEEDS,
};

/// Without discovery the catalog calls are not made.
const NEEDS: &[Need] = &[Need {
    resource: Resource::Discovery,
    loss: Loss::Skipped,
    why: "the catalog calls are made only by discovery",
}];

/// Judges what discovery saw; nothing for other facts.
pub fn judge(fact: &RunFact<'_>) -> Option<Verdict> {
    match *fact {
        RunFact::Catalog(f) => evaluate(f),
        _ => None,
    }
}

/// Judges the count's answer.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    let a = f.count.as_ref()?;
    let path = stockwire_schema::contract(f.profile)
        .count()
        .path()
        .to_string();
    let v = match (a.status, &a.body) {
        (Some(200), Some(body)) => {
            let problems: Vec<String> = stockwire_schema::contract(f.profile)
                .count()
                .validate(stockwire_schema::Part::Response, body)
                .into_iter()
                .map(|v| v.to_string())
                .collect();
            match (problems.is_empty(), f.count_value) {
                (true, Some(_)) => Verdict::pass(CHECK.id),
                (true, None) => Verdict::fail(
                    CHECK.id,
                    format!("{path} answered without a whole count: {}", a.text),
                ),
                (false, _) => Verdict::fail(CHECK.id, format!("{path}: {}", problems.join("; "))),
            }
        }
        (Some(404 | 405), _) => Verdict::fail(
            CHECK.id,
            format!(
                "{path} is not built ({}): the call is mandatory for go-live",
                a.shown()
            ),
        ),
        _ => Verdict::fail(CHECK.id, format!("{} answered {}", a.request, a.shown())),
    };
    Some(super::catalog_facts::shown_by(v, [a]))
}
