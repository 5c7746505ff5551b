//! `extra-fields-tolerated`: an otherwise valid item with an unknown member (e.g. facilityCode
//! under v1) is still applied. Judged in the pass of `valid-item-accepted`
//! ([`super::valid_item_accepted`]) over the request's items; the runner confirms each failure
//! with the extra members removed.

use stockwire_schema::Severity;

use super::check::{Check, Eval};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "extra-fields-tolerated",
    severity: Severity::Should,
    category: Category::Outcome,
    eval: Eval::JudgedBy("valid-item-accepted"),
    rationale: "The page is edited in place (facilityCode was added later); a partner must not break when the caller sends a newer field.",
    shrink: true,
    replayable: true,
    confirm: Some(super::valid_item_accepted::CHECK.id),
    catalog_evidence: true,
    needs: super::check::NEEDS_KNOWN_ITEM,
};
