//! The contract's semantic rules (`stockwire_schema::rules`), one check each, with the rule's own
//! id, severity and rationale.

use serde_json::Value;
use stockwire_schema::RULES;

use super::check::{Check, Kind, Verdict};
use super::exchange::Exchange;
use crate::model::vocabulary::Category;

/// One check per semantic rule.
pub fn checks() -> impl Iterator<Item = Check> {
    RULES.iter().map(|r| Check {
        id: r.id,
        severity: r.severity,
        category: Category::Semantic,
        kind: Kind::Exchange,
        rationale: r.rationale,
        needs: &[],
    })
}

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    if x.status() != Some(200) {
        return;
    }
    let Some(body) = &x.json else { return };
    let null = Value::Null;
    let request = x.class.json.as_ref().unwrap_or(&null);
    let violations = stockwire_schema::check_exchange(request, body);
    for rule in RULES.iter() {
        let mine: Vec<String> = violations
            .iter()
            .filter(|v| v.rule == rule.id)
            .map(|v| v.to_string())
            .collect();
        out.push(Verdict {
            check: rule.id,
            failure: (!mine.is_empty()).then(|| mine.join("; ")),
        });
    }
}
