//! `no-timeout`: every request is answered within the time-out.

use stockwire_schema::Severity;

use super::check::{Check, Kind, Verdict};
use super::exchange::Exchange;
use crate::client::http::{FailureKind, Outcome};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "no-timeout",
    severity: Severity::Must,
    category: Category::Robustness,
    kind: Kind::Exchange,
    rationale: "The caller pushes every few minutes; a request left hanging blocks the next push for that seller.",
    needs: &[],
};

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    match x.outcome {
        Outcome::Failure {
            failure: FailureKind::Timeout,
            message,
            ..
        } => out.push(Verdict::fail(CHECK.id, message.clone())),
        _ => out.push(Verdict::pass(CHECK.id)),
    }
}
