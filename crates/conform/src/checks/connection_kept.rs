//! `connection-kept`: the connection is not dropped before a complete response.

use stockwire_schema::Severity;

use super::check::{Check, Kind, Verdict};
use super::exchange::Exchange;
use crate::client::http::{FailureKind, Outcome};
use crate::model::vocabulary::Category;

/// The check.
pub const CHECK: Check = Check {
    id: "connection-kept",
    severity: Severity::Must,
    category: Category::Robustness,
    kind: Kind::Exchange,
    rationale: "A connection closed without a response leaves the caller unable to tell whether the stock was set.",
    needs: &[],
};

pub(crate) fn evaluate(x: &Exchange<'_>, out: &mut Vec<Verdict>) {
    match x.outcome {
        Outcome::Failure {
            failure: FailureKind::Dropped | FailureKind::Connect,
            message,
            ..
        } => out.push(Verdict::fail(
            CHECK.id,
            format!("connection dropped without a complete response: {message}"),
        )),
        Outcome::Failure {
            failure: FailureKind::TooLarge,
            message,
            ..
        } => {
            out.push(Verdict::pass(CHECK.id));
            out.push(Verdict::fail(super::json_body::CHECK.id, message.clone()));
        }
        _ => out.push(Verdict::pass(CHECK.id)),
    }
}
