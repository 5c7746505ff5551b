//! `no-server-error`: no input makes the partner answer 5xx.

use stockwire_schema::Severity;

use super::check::{Check, Kind, Verdict};
use super::exchange::Exchange;
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "no-server-error",
    severity: Severity::Must,
    category: Category::Robustness,
    kind: Kind::Exchange,
    rationale: "A 5xx is a crash, not an answer: invalid input must be refused with 4xx or a FAILED body.",
    needs: &[],
};

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    match x.status() {
        Some(s @ 500..=599) => out.push(Verdict::fail(
            CHECK.id,
            format!("HTTP {s} ({})", super::exchange::describe_body(x)),
        )),
        Some(_) => out.push(Verdict::pass(CHECK.id)),
        None => {}
    }
}
