//! The contract's semantic rules (`stockwire_schema::rules`), one check each, with the rule's own
//! id, severity and rationale.

use stockwire_schema::RULES;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::model::vocabulary::Category;

/// One check per semantic rule, each judged on its own rule by the same function.
pub fn checks() -> impl Iterator<Item = Check> {
    RULES.iter().map(|r| Check {
        id: r.id,
        severity: r.severity,
        category: Category::Semantic,
        eval: Eval::Exchange {
            stage: Stage::Authenticated,
            judge: evaluate,
        },
        rationale: r.rationale,
        shrink: true,
        replayable: true,
        confirm: None,
        catalog_evidence: false,
        needs: &[],
    })
}

/// Judges a 200 response with a JSON body by the rule of the entry evaluated (its id is the
/// rule's). The rules are checked once per exchange ([`Exchange::semantic_violations`]); each
/// rule's check reports the violations of its own rule.
fn evaluate(x: &Exchange<'_>, cx: &Ctx<'_>, out: &mut Out) {
    if x.status() != Some(200) || x.json.is_none() {
        return;
    }
    let mine: Vec<String> = x
        .semantic_violations()
        .iter()
        .filter(|v| v.rule == cx.check.id)
        .map(|v| v.to_string())
        .collect();
    out.verdicts.push(Verdict {
        check: cx.check.id,
        failure: (!mine.is_empty()).then(|| mine.join("; ")),
        shown_by: Vec::new(),
    });
}
