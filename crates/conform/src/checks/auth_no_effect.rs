//! `auth-no-effect`: a refused request (missing or wrong apiKey) changes nothing, where the
//! partner can be observed ([`crate::observe`]).

use stockwire_schema::Severity;

use super::{Category, Check, Verdict};

/// The check.
pub const CHECK: Check = Check {
    id: "auth-no-effect",
    severity: Severity::Must,
    category: Category::Auth,
    rationale: "Stock set by an unauthenticated call can be anyone's; a refusal that still applies the update is a breach.",
    needs: &[
        super::Need {
            resource: super::Resource::Credentials,
            loss: super::Loss::Skipped,
            why: "a missing or wrong apiKey can only be sent when the run has a right one to compare with",
        },
        super::Need {
            resource: super::Resource::Catalog,
            loss: super::Loss::Skipped,
            why: "the probe tries to set a known item's stock with a refused request",
        },
        super::Need {
            resource: super::Resource::StockProbe,
            loss: super::Loss::Skipped,
            why: "whether a refused request changed anything shows only by reading stock before and after it",
        },
    ],
};

/// Compares the partner's observable state before and after an unauthenticated request.
pub fn evaluate(what: &str, before: &serde_json::Value, after: &serde_json::Value) -> Verdict {
    if before == after {
        Verdict::pass(CHECK.id)
    } else {
        Verdict::fail(
            CHECK.id,
            format!(
                "a request {what} changed the partner's stock ({})",
                diff_summary(before, after)
            ),
        )
    }
}

/// One entry of the stockwire-mock admin ledger (`GET /__admin/ledger`): the admin API's own
/// format, read by its serde names.
#[derive(Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerEntry {
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    variant_id: Option<String>,
    #[serde(default)]
    stock: Option<serde_json::Value>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Ledger {
    #[serde(default)]
    items: Vec<LedgerEntry>,
}

fn diff_summary(before: &serde_json::Value, after: &serde_json::Value) -> String {
    let items = |v: &serde_json::Value| {
        serde_json::from_value::<Ledger>(v.clone())
            .unwrap_or_default()
            .items
    };
    let (b, a) = (items(before), items(after));
    let changed: Vec<String> = a
        .iter()
        .filter(|x| !b.contains(x))
        .take(3)
        .map(|x| {
            format!(
                "{}/{} now {}",
                x.product_id.as_deref().unwrap_or("?"),
                x.variant_id.as_deref().unwrap_or("?"),
                x.stock.as_ref().map(|v| v.to_string()).unwrap_or_default()
            )
        })
        .collect();
    if changed.is_empty() {
        "ledger differs".into()
    } else {
        changed.join(", ")
    }
}
