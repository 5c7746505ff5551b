//! `batch-independent`: an item's outcome does not depend on the other items of its batch.

use std::collections::BTreeMap;

use stockwire_schema::{ItemKey, Severity};

use super::check::{Case, Check, Eval, Relation, Verdict};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "batch-independent",
    severity: Severity::Should,
    category: Category::Metamorphic,
    eval: Eval::Relation(judge),
    rationale: "Which other items changed in the same interval is chance; an item's outcome must not depend on them.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: super::check::NEEDS_KNOWN_ITEM_TO_COMPARE,
};

/// Judges a case that sent a batch and then each of its items alone, when every exchange tells
/// per-item outcomes and the batch was not a whole-batch refusal the policies tolerate.
pub fn judge(case: &Case<'_>) -> Option<Verdict> {
    let per = case.answers;
    if case.relation != Relation::Split || per.len() <= 1 {
        return None;
    }
    let batch = per[0].outcomes.as_ref()?;
    let mut alone = BTreeMap::new();
    for p in &per[1..] {
        alone.extend(p.outcomes.as_ref()?.clone());
    }
    if per[0].whole_refusal_tolerated {
        return None;
    }
    Some(evaluate(batch, &alone))
}

/// Compares per-item outcomes (true = applied) in the batch with the outcomes sent alone.
pub fn evaluate(batch: &BTreeMap<ItemKey, bool>, alone: &BTreeMap<ItemKey, bool>) -> Verdict {
    match super::exchange::first_difference(batch, alone) {
        None => Verdict::pass(CHECK.id),
        Some((k, a, b)) => Verdict::fail(
            CHECK.id,
            format!(
                "item {} was {} in a batch of {} but {} when sent alone",
                super::exchange::short_key(k),
                super::exchange::applied(a),
                batch.len(),
                super::exchange::applied(b)
            ),
        ),
    }
}
