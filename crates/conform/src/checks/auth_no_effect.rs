//! `auth-no-effect`: a request refused for its apiKey (missing or wrong) changes nothing. Judged
//! through the read-back ([`crate::state`]): the `--stock-probe`, or the mock's ledger.

use stockwire_schema::Severity;

use super::{Category, Check, Kind, Need};

/// The check.
pub const CHECK: Check = Check {
    id: "auth-no-effect",
    severity: Severity::Must,
    category: Category::Auth,
    kind: Kind::State,
    needs: &[Need::Credentials, Need::StateReader],
    rationale: "Stock set by an unauthenticated call can be anyone's; a refusal that still applies the update is a breach.",
};
