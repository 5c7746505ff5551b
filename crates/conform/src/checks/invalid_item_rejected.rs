//! `invalid-item-rejected`: an item whose data the contract forbids is not reported as applied.

use serde_json::Value;
use stockwire_schema::{Severity, Status, exchange};

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::{AuthUse, ItemVerdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "invalid-item-rejected",
    severity: Severity::Must,
    category: Category::Outcome,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "Negative, fractional, out-of-range or missing data cannot be real stock; applying it corrupts the listing.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Catalog,
        loss: Loss::Weakened,
        why: "invalid data is sent only on items the partner does not hold, so a refusal does not show that the data was checked",
    }],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    if x.class.auth != AuthUse::Valid || x.status().is_none() {
        return;
    }
    let rejected = x.rejected_whole();
    let failed = x.failed_keys();
    let items = x.class.items();
    for item in items {
        let ItemVerdict::Invalid(violations) = &item.verdict else {
            continue;
        };
        let why = violations
            .first()
            .map_or(String::new(), |v| format!("{} [{}]", v.pointer, v.keyword));
        let at = violations
            .first()
            .map_or(String::new(), |v| v.pointer.clone());
        // The value as sent (`1e3`, not the `1000.0` a parsed number shows).
        let value = super::exchange::raw_at(&x.request.body, &at)
            .map(str::to_string)
            .or_else(|| {
                x.class
                    .json
                    .as_ref()
                    .and_then(|j| j.pointer(&at))
                    .map(Value::to_string)
            })
            .map(|v| super::exchange::snippet(&v))
            .unwrap_or_else(|| "(missing)".into());
        match &item.key {
            Some(key) => {
                // A pair also sent with data the partner may apply is ambiguous.
                let ambiguous = item.duplicate
                    && items.iter().any(|o| {
                        o.key.as_ref() == Some(key)
                            && !matches!(o.verdict, ItemVerdict::Invalid(_) | ItemVerdict::Unknown)
                    });
                if ambiguous {
                    continue;
                }
                let status = x.status().unwrap_or(0);
                if (300..400).contains(&status) {
                    // A redirect is never an answer: neither applied nor refused.
                    out.verdicts.push(Verdict::fail(
                        CHECK.id,
                        format!(
                            "item {} with invalid data ({why}: {value}) was answered with a redirect (HTTP {status}), not refused",
                            super::exchange::short_key(key),
                        ),
                    ));
                } else if rejected || failed.contains(key) {
                    out.verdicts.push(Verdict::pass(CHECK.id));
                } else {
                    out.verdicts.push(Verdict::fail(
                        CHECK.id,
                        format!(
                            "item {} with invalid data ({why}: {value}) was reported applied (HTTP {}, {})",
                            super::exchange::short_key(key),
                            x.status().unwrap_or(0),
                            super::exchange::describe_body(x)
                        ),
                    ));
                }
            }
            None => {
                let named = match (
                    &x.response,
                    x.class
                        .json
                        .as_ref()
                        .and_then(|j| j.pointer(&exchange::pointer::item(item.index))),
                ) {
                    (Some(resp), Some(it)) => resp.names_item(it),
                    _ => false,
                };
                let status = x.status().unwrap_or(0);
                if (300..400).contains(&status) {
                    out.verdicts.push(Verdict::fail(
                        CHECK.id,
                        format!("item #{} with invalid data ({why}: {value}) was answered with a redirect (HTTP {status}), not refused", item.index),
                    ));
                } else if !rejected && !named && x.body_status_is(&Status::Success) {
                    out.verdicts.push(Verdict::fail(
                        CHECK.id,
                        format!("item #{} with invalid data ({why}: {value}) was accepted: the response is SUCCESS", item.index),
                    ));
                } else {
                    out.verdicts.push(Verdict::pass(CHECK.id));
                }
            }
        }
    }
}
