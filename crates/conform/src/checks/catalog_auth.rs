//! `catalog-auth`: `/productsCount` and `/products` refuse a request without the right apiKey.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "catalog-auth",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "An open listing leaks the seller's catalog, prices and stock to anyone.",
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

/// Judges the requests sent without the right apiKey: any 4xx is a refusal (its code is the
/// partner's choice); an answer that counts or lists is a leak.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if f.key_probes.is_empty() {
        return None;
    }
    let leaks: Vec<_> = f
        .key_probes
        .iter()
        .filter(|k| {
            let refused = k.answer.status.is_some_and(|s| (400..500).contains(&s));
            !refused && (k.answer.status == Some(200) || k.listed > 0)
        })
        .collect();
    let problems: Vec<String> = leaks
        .iter()
        .map(|k| {
            format!(
                "{} sent {} was answered {}{}",
                k.path,
                k.how,
                k.answer.shown(),
                if k.listed > 0 {
                    format!(", listing {} variant(s)", k.listed)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    Some(super::catalog_facts::shown_by(
        super::catalog_facts::verdict_of(CHECK.id, &problems),
        leaks.iter().map(|k| &k.answer),
    ))
}
