//! `unknown-item-rejected`: a pair the partner cannot know is not reported as applied.

use stockwire_schema::Severity;

use super::check::{Check, Ctx, Eval, Out, Stage, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::{AuthUse, ItemVerdict};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "unknown-item-rejected",
    severity: Severity::Must,
    category: Category::Outcome,
    eval: Eval::Exchange {
        stage: Stage::Authenticated,
        judge: evaluate,
    },
    rationale: "An item the marketplace does not have cannot be updated; reporting success hides a mapping error from the seller.",
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[],
};

fn evaluate(x: &Exchange<'_>, _: &Ctx<'_>, out: &mut Out) {
    if x.class.auth != AuthUse::Valid || x.status().is_none() {
        return;
    }
    let rejected = x.rejected_whole();
    let failed = x.failed_keys();
    for item in x.class.items() {
        if item.verdict != ItemVerdict::Unknown {
            continue;
        }
        let Some(key) = &item.key else { continue };
        let status = x.status().unwrap_or(0);
        if (300..400).contains(&status) {
            out.verdicts.push(Verdict::fail(
                CHECK.id,
                format!(
                    "unknown item {} was answered with a redirect (HTTP {status}), not refused",
                    super::exchange::short_key(key)
                ),
            ));
        } else if rejected || failed.contains(key) {
            out.verdicts.push(Verdict::pass(CHECK.id));
        } else {
            out.verdicts.push(Verdict::fail(
                CHECK.id,
                format!(
                    "unknown item {} was reported applied (HTTP {}, {}, not in failedProductList)",
                    super::exchange::short_key(key),
                    x.status().unwrap_or(0),
                    super::exchange::describe_body(x)
                ),
            ));
        }
    }
}
