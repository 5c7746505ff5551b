//! The contract's semantic rules (`stockwire_schema::rules`), one check each, with the rule's own
//! id, severity and rationale.

use serde_json::Value;
use stockwire_schema::RULES;

use super::{Category, Check, Exchange, Verdict};

/// One check per semantic rule.
pub fn checks() -> impl Iterator<Item = Check> {
    RULES.iter().map(|r| Check {
        id: r.id,
        severity: r.severity,
        category: Category::Semantic,
        rationale: r.rationale,
    })
}

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    if x.status() != Some(200) {
        return;
    }
    let Some(body) = &x.json else { return };
    let request = name_keyless_items(x.class.json.clone().unwrap_or(Value::Null), body);
    let violations = stockwire_schema::check_exchange(&request, body);
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

/// An item without a usable productId or variantId (missing, not a string) cannot be named
/// exactly in `failedProductList`. (The rules already read a missing id as `""`; this also
/// covers ids of the wrong JSON type, which the rules read as their JSON text.) A failed entry that names it by the id it does have, with
/// the other id empty, is the partner's best effort: the rules see that pair as sent, so the
/// entry is not reported as naming an item that was never sent.
fn name_keyless_items(mut request: Value, response: &Value) -> Value {
    let entries: Vec<(String, String)> = response
        .get("failedProductList")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|e| {
                    Some((
                        e.get("productId")?.as_str()?.to_string(),
                        e.get("variantId")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(items) = request
        .get_mut("inventoryList")
        .and_then(Value::as_array_mut)
    else {
        return request;
    };
    for item in items.iter_mut() {
        let named = keyless_entry(item, &entries).cloned();
        let Some(m) = item.as_object_mut() else {
            continue;
        };
        if let Some((ep, ev)) = named {
            m.insert("productId".into(), Value::String(ep.clone()));
            m.insert("variantId".into(), Value::String(ev.clone()));
        }
    }
    request
}

fn keyless_entry<'a>(
    item: &Value,
    entries: &'a [(String, String)],
) -> Option<&'a (String, String)> {
    let text = |k: &str| item.get(k).and_then(Value::as_str);
    match (text("productId"), text("variantId")) {
        (Some(_), Some(_)) => None,
        (None, Some(v)) => entries.iter().find(|(ep, ev)| ev == v && ep.is_empty()),
        (Some(p), None) => entries.iter().find(|(ep, ev)| ep == p && ev.is_empty()),
        (None, None) => entries
            .iter()
            .find(|(ep, ev)| ep.is_empty() && ev.is_empty()),
    }
}

/// Whether `response` lists the keyless request item `item` by the id it has (see
/// [`name_keyless_items`]).
pub(crate) fn names_keyless(item: &Value, response: &Value) -> bool {
    let entries: Vec<(String, String)> = response
        .get("failedProductList")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|e| {
                    Some((
                        e.get("productId")?.as_str()?.to_string(),
                        e.get("variantId")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    keyless_entry(item, &entries).is_some()
}
