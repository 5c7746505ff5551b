//! `count-agrees`: the count equals the published variants the listing shows.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "count-agrees",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "Uniware sizes its pull by the count; a count that disagrees with the pages means items it never sees, or pulls it cannot finish.",
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

/// Judges the count against a complete pull.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    let count = f.count_value?;
    if !f.complete_pull() {
        return None;
    }
    let variants = f.distinct_pairs().len() as u64;
    if count == variants {
        return Some(Verdict::pass(CHECK.id));
    }
    let products: std::collections::HashSet<String> =
        f.distinct_pairs().into_iter().map(|(p, _)| p).collect();
    let hint = if count == products.len() as u64 {
        " (it equals the products listed: the count must count variants)"
    } else {
        ""
    };
    let v = Verdict::fail(
        CHECK.id,
        format!(
            "the count is {count}, but the {} listing page(s) show {variants} published variant(s){hint}",
            f.pages.len()
        ),
    );
    Some(super::catalog_facts::shown_by(
        v,
        f.count.iter().chain(f.pages.first().map(|p| &p.answer)),
    ))
}
