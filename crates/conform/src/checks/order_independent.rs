//! `order-independent`: an item's outcome does not depend on its position in the batch.

use std::collections::BTreeMap;

use stockwire_schema::{ItemKey, Severity};

use super::check::{Case, Check, Eval, Relation, Verdict};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "order-independent",
    severity: Severity::Should,
    category: Category::Metamorphic,
    eval: Eval::Relation(judge),
    rationale: "The caller batches changed items in no particular order; an outcome that depends on order is a latent defect.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: super::check::NEEDS_KNOWN_ITEM_TO_COMPARE,
};

/// Judges a case that sent a batch and a reordering of it, when both exchanges tell per-item
/// outcomes and neither was a whole-batch refusal the policies tolerate.
pub fn judge(case: &Case<'_>) -> Option<Verdict> {
    match (case.relation, case.answers) {
        (Relation::Reorder, [a, b]) => match (&a.outcomes, &b.outcomes) {
            (Some(first), Some(reordered))
                if !(a.whole_refusal_tolerated || b.whole_refusal_tolerated) =>
            {
                Some(evaluate(first, reordered))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Compares per-item outcomes (true = applied) of the batch and of a reordering of it.
pub fn evaluate(first: &BTreeMap<ItemKey, bool>, reordered: &BTreeMap<ItemKey, bool>) -> Verdict {
    match super::exchange::first_difference(first, reordered) {
        None => Verdict::pass(CHECK.id),
        Some((k, a, b)) => Verdict::fail(
            CHECK.id,
            format!(
                "item {} was {} in one order and {} in another",
                super::exchange::short_key(k),
                super::exchange::applied(a),
                super::exchange::applied(b)
            ),
        ),
    }
}
