//! `past-end`: the page after the last answers 200 with an empty list (a 4xx with a message is a partner choice); a 5xx, a page that repeats an earlier one, or a listing that never ends is a violation.

use stockwire_schema::Severity;

use super::catalog_facts::CatalogFacts;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "past-end",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "The caller pulls until a page comes back empty; an error, a repeated page or an endless listing makes the pull fail or never end.",
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

/// Judges how the pull ended.
pub fn evaluate(f: &CatalogFacts) -> Option<Verdict> {
    if !f.listed() {
        return None;
    }
    if f.cut {
        let v = Verdict::fail(
            CHECK.id,
            format!(
                "the listing never ended: {} pages read, none empty, cut at the bound of {} pages (the count divided by the page size, plus a few; or --max-pages)",
                f.pages.len(),
                f.page_bound
            ),
        );
        return Some(super::catalog_facts::shown_by(
            v,
            f.pages.last().map(|p| &p.answer),
        ));
    }
    let end = f.end.as_ref()?;
    if f.end_repeats {
        let v = Verdict::fail(
            CHECK.id,
            format!(
                "page {} past the end repeats an earlier page instead of coming back empty: a caller pulling until an empty page never stops",
                end.number
            ),
        );
        return Some(super::catalog_facts::shown_by(v, [&end.answer]));
    }
    let v = match end.answer.status {
        Some(200) if end.is_list() => Verdict::pass(CHECK.id),
        Some(200) => Verdict::fail(
            CHECK.id,
            format!(
                "page {} past the end answered 200 without a list of products: {}",
                end.number, end.answer.text
            ),
        ),
        Some(s) if (400..500).contains(&s) => Verdict::pass(CHECK.id),
        _ => Verdict::fail(
            CHECK.id,
            format!(
                "page {} past the end answered {}",
                end.number,
                end.answer.shown()
            ),
        ),
    };
    Some(super::catalog_facts::shown_by(v, [&end.answer]))
}
