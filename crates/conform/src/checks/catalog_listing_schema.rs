//! `listing-schema`: every page of `/products` answers 200 with a body valid against the derived schema, a non-empty product id, and a variantId and sku on every variant, no (id, variantId) twice on a page.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "listing-schema",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "Uniware maps each listed id, variantId and sku to its own SKU codes; a page it cannot read leaves those items out of every push.",
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

/// Judges every page read.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    let first = f.pages.first().or(f.end.as_ref())?;
    if first.number == 1 && first.answer.status != Some(200) {
        let path = stockwire_schema::contract(f.profile)
            .listing()
            .path()
            .to_string();
        let why = match first.answer.status {
            Some(404 | 405) => "the call is mandatory for go-live".to_string(),
            _ => "Uniware cannot pull the catalog".to_string(),
        };
        return Some(super::catalog_facts::shown_by(
            Verdict::fail(
                CHECK.id,
                format!("{path} page 1 answered {}: {why}", first.answer.shown()),
            ),
            [&first.answer],
        ));
    }
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    for page in &f.pages {
        let before = problems.len();
        problems.extend(page.problems.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        for pair in page.pairs.clone() {
            if !pair.0.is_empty() && !pair.1.is_empty() && !seen.insert(pair.clone()) {
                problems.push(format!(
                    "page {}: product {} variant {} is listed twice",
                    page.number, pair.0, pair.1
                ));
            }
        }
        if problems.len() > before {
            shown.push(&page.answer);
        }
    }
    Some(super::catalog_facts::shown_by(
        super::catalog_facts::verdict_of(CHECK.id, &problems),
        shown,
    ))
}
