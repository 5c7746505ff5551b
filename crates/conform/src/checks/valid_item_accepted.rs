//! `valid-item-accepted`: a catalog item with valid data is not reported failed. Also feeds
//! [`super::zero_inventory_accepted`] and [`super::extra_fields_tolerated`], which judge the
//! items those checks are about.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Observation, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::{AuthUse, ItemVerdict};
use crate::model::policies::{BatchLimit, BatchRejection};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "valid-item-accepted",
    severity: Severity::Must,
    category: Category::Outcome,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate_items,
    },
    rationale: "A known item with valid data must be applied; reporting it failed leaves stale stock and oversells.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: true,
    needs: super::check::NEEDS_KNOWN_ITEM,
};

/// The topic of the partner's choice between per-item and whole-batch rejection.
pub const BATCH_REJECTION: &str = "batch-rejection";
/// Valid, known items were refused together with a bad one.
pub const WHOLE_BATCH: &str = "whole batch refused for a bad item";
/// Valid, known items were applied while a bad one was refused.
pub const PER_ITEM: &str = "per item";
/// No catalog: no item sent is known to be valid, so the two cannot be told apart.
pub const UNDETERMINED: &str =
    "not determined: without a catalog no item sent is known to be valid";

/// What a request with a bad item (invalid, unknown or duplicated) tells about how the partner
/// rejects batches. Only a request that also holds a valid, known item tells anything: refusing
/// every item of a batch whose items are all bad is what a per-item partner does too.
fn batch_rejection_choice(x: &Exchange<'_>, rejected: bool) -> Option<&'static str> {
    let items = x.class.items();
    let bad = items.iter().any(|i| {
        matches!(i.verdict, ItemVerdict::Invalid(_) | ItemVerdict::Unknown) || i.duplicate
    });
    if !bad || items.len() < 2 {
        return None;
    }
    if !x.has_catalog {
        return Some(UNDETERMINED);
    }
    let failed = x.failed_keys();
    let mut good = items
        .iter()
        .filter(|i| i.verdict == ItemVerdict::Valid && !i.duplicate)
        .filter_map(|i| i.key.as_ref())
        .peekable();
    good.peek()?;
    if rejected || good.all(|k| failed.contains(k)) {
        Some(WHOLE_BATCH)
    } else {
        Some(PER_ITEM)
    }
}

/// Whether `key` was refused: listed as failed, or the whole request refused.
fn listed_or_rejected(
    failed: &std::collections::BTreeSet<stockwire_schema::ItemKey>,
    key: &stockwire_schema::ItemKey,
    rejected: bool,
) -> bool {
    rejected || failed.contains(key)
}

/// Judges every valid, tolerated item of the request (valid, zero and extra-field checks).
fn evaluate_items(x: &Exchange<'_>, cx: &Ctx<'_>, out: &mut Out) {
    let p = cx.policies;
    let items = x.class.items();
    if items.is_empty() || x.class.auth != AuthUse::Valid {
        return;
    }
    let Some(status) = x.status() else { return };
    let n = x.class.batch_size();
    if super::exchange::batch_limited(x) {
        out.observations.push(Observation {
            topic: "batch-limit",
            choice: format!("refused a batch of {n} items with HTTP {status}"),
        });
        if p.batch_limit == BatchLimit::Tolerate {
            return;
        }
    }
    if !x.class.json_content_type {
        // A request with the wrong Content-Type may be refused as a whole.
        return;
    }
    if (300..400).contains(&status) {
        // A redirect is never an answer that applied anything (`http-200` reports it).
        return;
    }
    let rejected = x.rejected_whole();
    let failed = x.failed_keys();
    let refusable = x.class.has_refusable();
    if let Some(choice) = batch_rejection_choice(x, rejected) {
        out.observations.push(Observation {
            topic: BATCH_REJECTION,
            choice: choice.into(),
        });
    }
    let whole_tolerated = rejected && refusable && p.batch_rejection == BatchRejection::Any;
    for item in items {
        let Some(key) = &item.key else { continue };
        if item.duplicate {
            // A valid item named twice: refusing it is a partner choice (what an applied one
            // holds is `duplicate-last-wins`'s); told once, at its last copy.
            let last = items.iter().rposition(|o| o.key.as_ref() == Some(key)) == Some(item.index);
            if last
                && item.verdict == ItemVerdict::Valid
                && (listed_or_rejected(&failed, key, rejected))
            {
                out.observations.push(Observation {
                    topic: super::duplicate_last_wins::TOPIC,
                    choice: "refused (an item named twice in one batch)".into(),
                });
            }
            continue;
        }
        let listed = failed.contains(key);
        match item.verdict {
            ItemVerdict::Tolerated(what) => {
                if !rejected {
                    let choice = if listed {
                        "profile spelling only"
                    } else {
                        "both spellings accepted"
                    };
                    out.observations.push(Observation {
                        topic: "inventory-spelling",
                        choice: choice.into(),
                    });
                }
                let _ = what;
            }
            ItemVerdict::Valid => {
                let check = if item.has_extra {
                    super::extra_fields_tolerated::CHECK.id
                } else if item.count == Some(0) {
                    super::zero_inventory_accepted::CHECK.id
                } else {
                    CHECK.id
                };
                if whole_tolerated {
                    // One bad item may fail the whole batch (policy batch-rejection = any).
                    continue;
                }
                if !listed && !rejected {
                    out.verdicts.push(Verdict::pass(check));
                    continue;
                }
                let why = if listed {
                    let msg = super::exchange::failure_message(x, key).unwrap_or_default();
                    format!("listed in failedProductList with message {msg:?}")
                } else {
                    format!(
                        "the whole request was refused (HTTP {status}, {})",
                        super::exchange::describe_body(x)
                    )
                };
                let count = item.count.map_or("?".to_string(), |c| c.to_string());
                let extra = if item.has_extra {
                    " with an unknown extra field"
                } else {
                    ""
                };
                out.verdicts.push(Verdict::fail(
                    check,
                    format!("catalog item {key} (inventory {count}){extra} was not applied: {why}"),
                ));
            }
            _ => {}
        }
    }
}
