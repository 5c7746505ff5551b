//! `pages-complete`: nothing is skipped between pages. Every page before the last is full (50
//! products, or 50 variants: a partner choice); the pages show every variant the count tells
//! when the count is met nowhere else; and a page boundary read again, unfiltered, shows the
//! same products on either side of it and nothing the pull did not list.

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
    rationale: "A short page before the end, or a boundary that shows other products when read again, means the pages skip listings: Uniware never learns their ids and never pushes their stock.",
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

/// Judges the pages before the last, against the count, and the boundaries read again; not a
/// listing that never ended (where it should have ended is unknown: `past-end` reports it).
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if !f.listed() || f.cut {
        return None;
    }
    let size = f.page_size;
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    let last = f.pages.len().saturating_sub(1);
    for page in f.pages.iter().take(last) {
        let (p, v) = (page.product_count(), page.variant_count());
        if p < size && v < size {
            shown.push(&page.answer);
            problems.push(format!(
                "page {} holds {p} product(s) and {v} variant(s), fewer than a full page of {size}, yet page {} follows with more: listings are skipped between pages",
                page.number,
                page.number + 1
            ));
        }
    }
    // Against the count: the listing entries (a variant listed twice counted twice) reach the
    // count, yet fewer distinct variants were listed: a repeat hides a skipped listing. (A
    // count the entries do not reach either is `count-agrees`'s to report.)
    if let Some(count) = f.count_value.filter(|_| f.complete_pull()) {
        let entries: u64 = f.pages.iter().map(|p| p.variant_count() as u64).sum();
        let distinct = f.distinct_pairs().len() as u64;
        if entries >= count && distinct < count {
            shown.extend(f.count.iter());
            problems.push(format!(
                "the pages hold {entries} listing(s) for a count of {count}, but only {distinct} distinct variant(s): a repeated listing takes the place of {} skipped one(s)",
                count - distinct
            ));
        }
    }
    for b in &f.boundaries {
        if let Some(p) = b.problem() {
            problems.push(p);
            shown.extend(b.answers.iter());
        }
    }
    Some(super::catalog_facts::shown_by(
        super::catalog_facts::verdict_of(CHECK.id, &problems),
        shown,
    ))
}
