//! `pages-disjoint`: no variant is listed on two pages.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "pages-disjoint",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "A variant on two pages means the pages overlap, so some other variant falls between them and is never pulled.",
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

/// Judges the pages against each other.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if f.pages.len() < 2 {
        return f.listed().then(|| Verdict::pass(CHECK.id));
    }
    let mut first_page: std::collections::HashMap<(String, String), u64> = Default::default();
    let mut problems = Vec::new();
    // The pages of the first repeat seen (the earlier page, then the later one).
    let mut shown: Vec<u64> = Vec::new();
    for page in &f.pages {
        let mine: std::collections::HashSet<(String, String)> =
            page.pairs.clone().into_iter().collect();
        for pair in mine {
            if pair.0.is_empty() || pair.1.is_empty() {
                continue;
            }
            match first_page.get(&pair) {
                Some(earlier) => {
                    if shown.is_empty() {
                        shown = vec![*earlier, page.number];
                    }
                    problems.push(format!(
                        "product {} variant {} is on page {earlier} and on page {}",
                        pair.0, pair.1, page.number
                    ))
                }
                None => {
                    first_page.insert(pair, page.number);
                }
            }
        }
    }
    problems.sort();
    Some(super::catalog_facts::shown_by(
        super::catalog_facts::verdict_of(CHECK.id, &problems),
        shown
            .iter()
            .filter_map(|n| f.pages.iter().find(|p| p.number == *n))
            .map(|p| &p.answer),
    ))
}
