//! `unknown-item-rejected`: a pair the partner cannot know is not reported as applied.

use stockwire_schema::Severity;

use super::check::{Check, Kind, Verdict};
use super::exchange::Exchange;
use crate::checks::classify::{AuthUse, ItemVerdict};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "unknown-item-rejected",
    severity: Severity::Must,
    category: Category::Outcome,
    kind: Kind::Exchange,
    rationale: "An item the marketplace does not have cannot be updated; reporting success hides a mapping error from the seller.",
    needs: &[],
};

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
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
            out.push(Verdict::fail(
                CHECK.id,
                format!(
                    "unknown item {} was answered with a redirect (HTTP {status}), not refused",
                    super::exchange::short_key(key)
                ),
            ));
        } else if rejected || failed.contains(key) {
            out.push(Verdict::pass(CHECK.id));
        } else {
            out.push(Verdict::fail(
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
