//! `sku-filter`: the listing filtered by one SKU code shows exactly that variant, under its product.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "sku-filter",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "Uniware reads stock back by SKU; a filter that returns other variants, or none, shows it the wrong stock.",
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

/// Judges the one-code filter.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    let probe = f.filter.as_ref()?;
    let page = &probe.page;
    if !page.is_list() {
        return Some(super::catalog_facts::shown_by(
            Verdict::fail(
                CHECK.id,
                format!("{} answered {}", page.answer.request, page.answer.shown()),
            ),
            [&page.answer],
        ));
    }
    let pairs = page.pairs.clone();
    let (p, v) = &probe.expected;
    let v = match pairs.as_slice() {
        [one] if one.0 == *p && one.1 == *v => Verdict::pass(CHECK.id),
        [] => Verdict::fail(
            CHECK.id,
            format!(
                "the filter by sku {} shows no variant; the unfiltered listing shows it as product {p} variant {v}",
                probe.sku
            ),
        ),
        other => Verdict::fail(
            CHECK.id,
            format!(
                "the filter by sku {} shows {} variant(s) ({}), not exactly product {p} variant {v}",
                probe.sku,
                other.len(),
                other
                    .iter()
                    .take(3)
                    .map(|(a, b)| format!("{a}/{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    Some(super::catalog_facts::shown_by(v, [&page.answer]))
}
