//! `page-size`: a page holds at most the page size asked (50) of products.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "page-size",
    severity: Severity::Should,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "The page size is fixed at 50; larger pages strain the caller and suggest the partner ignores pageSize.",
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

/// Judges the size of each page.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if !f.listed() {
        return None;
    }
    let large: Vec<_> = f
        .pages
        .iter()
        .filter(|p| p.product_count() > f.page_size)
        .collect();
    let problems: Vec<String> = large
        .iter()
        .map(|p| {
            format!(
                "page {} holds {} products, more than the page size of {}",
                p.number,
                p.product_count(),
                f.page_size
            )
        })
        .collect();
    Some(super::catalog_facts::shown_by(
        super::catalog_facts::verdict_of(CHECK.id, &problems),
        large.iter().map(|p| &p.answer),
    ))
}
