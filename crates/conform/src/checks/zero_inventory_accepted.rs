//! `zero-inventory-accepted`: inventory 0 is a valid stock count. Judged in the pass of
//! `valid-item-accepted` ([`super::valid_item_accepted`]) over the request's items; the runner
//! confirms each failure with the same item at inventory 1 and reports `valid-item-accepted`
//! when that fails too.

use stockwire_schema::Severity;

use super::check::{Check, Eval};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "zero-inventory-accepted",
    severity: Severity::Must,
    category: Category::Outcome,
    eval: Eval::JudgedBy("valid-item-accepted"),
    rationale: "0 is the most frequent value pushed (items going out of stock); refusing it keeps selling what is gone.",
    shrink: true,
    replayable: true,
    confirm: Some(super::valid_item_accepted::CHECK.id),
    catalog_evidence: true,
    needs: super::check::NEEDS_KNOWN_ITEM,
};
