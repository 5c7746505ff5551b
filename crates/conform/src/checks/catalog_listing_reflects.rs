//! `listing-reflects-update`: after an update reported applied, the listed `inventory` shows the
//! value sent within the settle time (or `inventory` + `blockedInventory` does, when the listing
//! shows the stock left after blocked units: a partner choice); after an update refused for its
//! apiKey, it is unchanged.

use stockwire_schema::Severity;

use super::catalog_facts::ReflectProbe;
use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "listing-reflects-update",
    severity: Severity::Must,
    category: Category::Catalog,
    eval: Eval::Run(judge),
    rationale: "Uniware reads the listing to see what the marketplace holds; a listing that does not show an applied update (or shows a refused one) misleads every later push.",
    shrink: false,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: &[Need {
        resource: Resource::Discovery,
        loss: Loss::Skipped,
        why: "the listing is read only for items discovery found",
    }],
};

/// Judges the update read back through the listing; nothing for other facts.
pub fn judge(fact: &RunFact<'_>) -> Option<Verdict> {
    match *fact {
        RunFact::ListingReflects(p) => evaluate(p),
        _ => None,
    }
}

/// Whether the listing shows `sent`: as `inventory`, or as `inventory` + `blockedInventory`.
pub fn shows(listed: Option<(u32, Option<u32>)>, sent: u32) -> bool {
    match listed {
        Some((v, blocked)) => {
            v == sent || blocked.is_some_and(|b| b > 0 && v.saturating_add(b) == sent)
        }
        None => false,
    }
}

/// Judges one probe: nothing when the update was not reported applied.
pub fn evaluate(p: &ReflectProbe) -> Option<Verdict> {
    if !p.applied {
        return None;
    }
    let shown = |l: Option<(u32, Option<u32>)>| match l {
        Some((v, Some(b))) => format!("inventory {v} (blockedInventory {b})"),
        Some((v, None)) => format!("inventory {v}"),
        None => "nothing for it".to_string(),
    };
    if !shows(p.listed, p.sent) {
        return Some(Verdict::fail(
            CHECK.id,
            format!(
                "item {} (sku {}) was reported applied with inventory {}, but the listing shows {} ({})",
                p.item,
                p.sku,
                p.sent,
                shown(p.listed),
                p.settle
            ),
        ));
    }
    if p.refused && !shows(p.refused_listed, p.sent) {
        return Some(Verdict::fail(
            CHECK.id,
            format!(
                "after an update of item {} to {} sent with a wrong apiKey and refused, the listing shows {} instead of {}",
                p.item,
                p.refused_sent,
                shown(p.refused_listed),
                p.sent
            ),
        ));
    }
    Some(Verdict::pass(CHECK.id))
}
