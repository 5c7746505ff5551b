//! `pages-complete`: every page before the last is full (50 products, or 50 variants: a partner choice), so nothing is skipped between pages.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "pages-complete",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "A short page before the end means the pages skip listings: Uniware never learns their ids and never pushes their stock.",
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

/// Judges the pages before the last; not a listing that never ended (where it should have
/// ended is unknown: `past-end` reports it).
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if !f.listed() || f.cut {
        return None;
    }
    let size = f.page_size;
    let mut problems = Vec::new();
    let last = f.pages.len().saturating_sub(1);
    for page in f.pages.iter().take(last) {
        let (p, v) = (page.product_count(), page.variant_count());
        if p < size && v < size {
            problems.push(format!(
                "page {} holds {p} product(s) and {v} variant(s), fewer than a full page of {size}, yet page {} follows with more: listings are skipped between pages",
                page.number,
                page.number + 1
            ));
        }
    }
    Some(super::catalog_facts::verdict_of(CHECK.id, &problems))
}
