//! The contract's semantic rules: what must hold between a request and its response, or between
//! a response's status and its list, beyond the shape the schema checks.
//!
//! Each rule has a stable id (used in reports and configs), a severity — MUST when the spec
//! states it, SHOULD when it is our reading of the spec — and a one-line rationale.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::call::{INVENTORY_MEMBERS, UpdateMembers};
use crate::model::{InventoryRequest, InventoryResponse};

/// How binding a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Stated by the spec.
    Must,
    /// Our reading of the spec.
    Should,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Must => "MUST",
            Severity::Should => "SHOULD",
        })
    }
}

/// A semantic rule's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id, e.g. `status-allowed`.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub severity: Severity,
    /// Why the rule holds, in one line.
    pub rationale: &'static str,
}

/// `status` is one of the values the response table allows.
pub const STATUS_ALLOWED: Rule = Rule {
    id: "status-allowed",
    severity: Severity::Must,
    rationale: "The response table allows only SUCCESS, FAILED and PARTIAL_SUCCESS.",
};
/// SUCCESS ⇒ no failed entries.
pub const SUCCESS_WITHOUT_FAILURES: Rule = Rule {
    id: "success-without-failures",
    severity: Severity::Must,
    rationale: "failedProductList lists items whose update failed; a SUCCESS that lists any hides failures from the caller.",
};
/// PARTIAL_SUCCESS ⇒ at least one failed and at least one not failed.
pub const PARTIAL_SUCCESS_MIXED: Rule = Rule {
    id: "partial-success-mixed",
    severity: Severity::Should,
    rationale: "PARTIAL_SUCCESS means some items applied and some failed: it needs at least one of each.",
};
/// FAILED ⇒ no item succeeded (every sent item listed, or a request-level failure with none).
pub const FAILED_NOTHING_APPLIED: Rule = Rule {
    id: "failed-nothing-applied",
    severity: Severity::Should,
    rationale: "FAILED tells the caller nothing was applied; listing only some items means the rest did apply (PARTIAL_SUCCESS).",
};
/// Every failed entry names a pair that was in the request.
pub const FAILED_ENTRY_WAS_SENT: Rule = Rule {
    id: "failed-entry-was-sent",
    severity: Severity::Must,
    rationale: "A failed entry names a product of this request; an unknown pair cannot be reconciled by the caller.",
};
/// No pair is listed more often than the request contained it.
pub const FAILED_ENTRY_UNIQUE: Rule = Rule {
    id: "failed-entry-unique",
    severity: Severity::Should,
    rationale: "One failure per item sent: a pair listed more often than the request contained it leaves the caller with extra reasons and double counts.",
};
/// Failure messages are not empty.
pub const FAILED_MESSAGE_NONEMPTY: Rule = Rule {
    id: "failed-message-nonempty",
    severity: Severity::Should,
    rationale: "message is mandatory and is the only reason a seller sees; an empty one explains nothing.",
};

/// Every semantic rule, in report order.
pub const RULES: [Rule; 7] = [
    STATUS_ALLOWED,
    SUCCESS_WITHOUT_FAILURES,
    PARTIAL_SUCCESS_MIXED,
    FAILED_NOTHING_APPLIED,
    FAILED_ENTRY_WAS_SENT,
    FAILED_ENTRY_UNIQUE,
    FAILED_MESSAGE_NONEMPTY,
];

/// Finds a rule by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One broken semantic rule in one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The rule's id.
    pub rule: String,
    /// The rule's severity.
    pub severity: Severity,
    /// JSON pointer into the response.
    pub pointer: String,
    /// What is wrong in this exchange.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(response)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{at}: [{} {}] {}",
            self.severity, self.rule, self.message
        )
    }
}

fn violation(rule: &Rule, pointer: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        rule: rule.id.to_string(),
        severity: rule.severity,
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// The text of an id field: strings as they are, other scalars as JSON text.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn pair(m: &UpdateMembers, v: &Value) -> Option<(String, String)> {
    Some((id_text(v.get(m.product_id))?, id_text(v.get(m.variant_id))?))
}

/// The names a failed entry may give a request item's id: a string id by itself; a number or
/// boolean by its JSON text or by `""` (a partner cannot always read an id of the wrong type);
/// a missing, null or structured id only by `""`.
fn id_names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Number(_) | Value::Bool(_)) => {
            vec![id_text(v).unwrap_or_default(), String::new()]
        }
        _ => vec![String::new()],
    }
}

/// Whether the failed entry `entry` names the request item `item` (see the id rules of
/// [`check_exchange`]). Both are raw JSON; an entry without string ids names nothing.
pub fn entry_names_item(entry: &Value, item: &Value) -> bool {
    entry_names_item_of(&INVENTORY_MEMBERS, entry, item)
}

/// [`entry_names_item`] for an update call with members `m`.
pub fn entry_names_item_of(m: &UpdateMembers, entry: &Value, item: &Value) -> bool {
    let (Some(ep), Some(ev)) = (
        entry.get(m.product_id).and_then(Value::as_str),
        entry.get(m.variant_id).and_then(Value::as_str),
    ) else {
        return false;
    };
    id_names(item.get(m.product_id)).iter().any(|p| p == ep)
        && id_names(item.get(m.variant_id)).iter().any(|v| v == ev)
}

/// How many times a response may list `entry` as failed for `request`: once for each request
/// item it names ([`entry_names_item`]), and at least once (an entry naming nothing the request
/// contained is `failed-entry-was-sent`'s to report, not a duplicate).
pub fn listings_allowed(request: &Value, entry: &Value) -> usize {
    listings_allowed_of(&INVENTORY_MEMBERS, request, entry)
}

/// [`listings_allowed`] for an update call with members `m`.
pub fn listings_allowed_of(m: &UpdateMembers, request: &Value, entry: &Value) -> usize {
    request
        .get(m.list)
        .and_then(Value::as_array)
        .map_or(0, |items| {
            items
                .iter()
                .filter(|item| item.is_object() && entry_names_item_of(m, entry, item))
                .count()
        })
        .max(1)
}

/// Checks a response against the request it answers. Both are taken as raw JSON so that a
/// response the schema rejects is still checked wherever the rules can be applied; shape
/// problems themselves are the schema's to report.
///
/// A pair the request contained several times may be listed as failed once per occurrence
/// (a partner that reports every item it refused does so); only more listings than that are
/// a `failed-entry-unique` violation.
///
/// A failed entry names a request item by its ids. An item sent with an id that is not a
/// string (a number, `true`, nothing at all) cannot always be named back exactly, so such an id
/// may be named by its JSON text or by `""` ([`entry_names_item`]).
pub fn check_exchange(request: &Value, response: &Value) -> Vec<Violation> {
    check_update(&INVENTORY_MEMBERS, request, response)
}

/// [`check_exchange`] for any update call, named by its members: the rules are the update
/// shape's, whatever the call.
pub fn check_update(m: &UpdateMembers, request: &Value, response: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    // Each item's canonical pair, and every name by which a failed entry may refer to it.
    let mut sent: Vec<(String, String)> = Vec::new();
    let mut names: HashMap<(String, String), (String, String)> = HashMap::new();
    // How many request items each name can refer to: how often it may be listed.
    let mut times_sent: HashMap<(String, String), usize> = HashMap::new();
    for item in request
        .get(m.list)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|item| item.is_object())
    {
        let canonical = (
            id_text(item.get(m.product_id)).unwrap_or_default(),
            id_text(item.get(m.variant_id)).unwrap_or_default(),
        );
        for p in id_names(item.get(m.product_id)) {
            for v in id_names(item.get(m.variant_id)) {
                *times_sent.entry((p.clone(), v.clone())).or_default() += 1;
                names
                    .entry((p.clone(), v))
                    .or_insert_with(|| canonical.clone());
            }
        }
        sent.push(canonical);
    }
    let sent_set: HashSet<&(String, String)> = sent.iter().collect();

    let failed: &[Value] = response
        .get(m.failures)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut listed: HashMap<(String, String), usize> = HashMap::new();
    let mut failed_sent: HashSet<(String, String)> = HashSet::new();
    for (i, entry) in failed.iter().enumerate() {
        let at = format!("/{}/{i}", m.failures);
        if let Some(p) = pair(m, entry) {
            if let Some(item) = names.get(&p) {
                failed_sent.insert(item.clone());
            } else {
                out.push(violation(
                    &FAILED_ENTRY_WAS_SENT,
                    &at,
                    format!(
                        "failed entry for {} `{}` / {} `{}`, which the request did not contain",
                        m.product_id, p.0, m.variant_id, p.1
                    ),
                ));
            }
            let times = listed.entry(p.clone()).or_default();
            *times += 1;
            let allowed = times_sent.get(&p).copied().unwrap_or(0);
            // A pair the request did not contain is reported by `failed-entry-was-sent`; it
            // counts as a duplicate only from its second listing on.
            if *times > allowed.max(1) {
                let message = if allowed <= 1 {
                    format!(
                        "{} `{}` / {} `{}` is listed more than once",
                        m.product_id, p.0, m.variant_id, p.1
                    )
                } else {
                    format!(
                        "{} `{}` / {} `{}` is listed {} times, but the request contained it only {allowed} times",
                        m.product_id, p.0, m.variant_id, p.1, *times
                    )
                };
                out.push(violation(&FAILED_ENTRY_UNIQUE, &at, message));
            }
        }
        if let Some(Value::String(text)) = entry.get(m.message)
            && text.trim().is_empty()
        {
            out.push(violation(
                &FAILED_MESSAGE_NONEMPTY,
                format!("{at}/{}", m.message),
                "failure message is empty",
            ));
        }
    }

    let status_at = format!("/{}", m.status);
    let status = response.get(m.status);
    let Some(status) = status.and_then(Value::as_str) else {
        let got = status.map_or("nothing".to_string(), |v| v.to_string());
        out.push(violation(
            &STATUS_ALLOWED,
            &status_at,
            format!("status must be SUCCESS, FAILED or PARTIAL_SUCCESS, got {got}"),
        ));
        return out;
    };
    match status {
        "SUCCESS" => {
            if !failed.is_empty() {
                out.push(violation(
                    &SUCCESS_WITHOUT_FAILURES,
                    &status_at,
                    format!(
                        "status SUCCESS but {} has {} entr{} (PARTIAL_SUCCESS or FAILED expected)",
                        m.failures,
                        failed.len(),
                        if failed.len() == 1 { "y" } else { "ies" }
                    ),
                ));
            }
        }
        "PARTIAL_SUCCESS" => {
            if failed_sent.is_empty() {
                out.push(violation(
                    &PARTIAL_SUCCESS_MIXED,
                    &status_at,
                    format!(
                        "status PARTIAL_SUCCESS but {} names no item of the request as failed",
                        m.failures
                    ),
                ));
            } else if !sent_set.is_empty() && failed_sent.len() >= sent_set.len() {
                out.push(violation(
                    &PARTIAL_SUCCESS_MIXED,
                    &status_at,
                    format!(
                        "status PARTIAL_SUCCESS but all {} items sent are listed as failed (FAILED expected)",
                        sent_set.len()
                    ),
                ));
            }
        }
        "FAILED" => {
            if !failed.is_empty() && failed_sent.len() < sent_set.len() {
                out.push(violation(
                    &FAILED_NOTHING_APPLIED,
                    &status_at,
                    format!(
                        "status FAILED but only {} of the {} items sent are listed as failed, so the others were applied (PARTIAL_SUCCESS expected)",
                        failed_sent.len(),
                        sent_set.len()
                    ),
                ));
            }
        }
        other => out.push(violation(
            &STATUS_ALLOWED,
            &status_at,
            format!("status must be SUCCESS, FAILED or PARTIAL_SUCCESS, got `{other}`"),
        )),
    }
    out
}

/// [`check_exchange`] for typed models.
pub fn check_models(request: &InventoryRequest, response: &InventoryResponse) -> Vec<Violation> {
    match (
        serde_json::to_value(request),
        serde_json::to_value(response),
    ) {
        (Ok(req), Ok(resp)) => check_exchange(&req, &resp),
        // Both models serialize infallibly (string keys, no custom errors).
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn req() -> Value {
        json!({"inventoryList": [
            {"productId": "P1", "variantId": "V1", "inventory": 1},
            {"productId": "P2", "variantId": "V2", "inventory": 0},
        ]})
    }

    fn ids(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|x| x.rule.as_str()).collect()
    }

    fn f(p: &str, v: &str, m: &str) -> Value {
        json!({"productId": p, "variantId": v, "message": m})
    }

    #[test]
    fn consistent_exchanges_pass() {
        for resp in [
            json!({"status": "SUCCESS"}),
            json!({"status": "SUCCESS", "failedProductList": []}),
            json!({"status": "PARTIAL_SUCCESS", "failedProductList": [f("P1", "V1", "Mismatch")]}),
            json!({"status": "FAILED", "failedProductList": [f("P1", "V1", "x"), f("P2", "V2", "y")]}),
            json!({"status": "FAILED", "failedProductList": []}),
            json!({"status": "FAILED"}),
        ] {
            assert!(check_exchange(&req(), &resp).is_empty(), "{resp}");
        }
    }

    #[test]
    fn status_must_be_allowed() {
        let v = check_exchange(&req(), &json!({"status": "OK"}));
        assert_eq!(ids(&v), ["status-allowed"]);
        assert_eq!(v[0].severity, Severity::Must);
        assert!(v[0].message.contains("`OK`"));
        assert_eq!(ids(&check_exchange(&req(), &json!({}))), ["status-allowed"]);
        assert_eq!(
            ids(&check_exchange(&req(), &json!({"status": 1}))),
            ["status-allowed"]
        );
    }

    #[test]
    fn success_with_failures_is_flagged() {
        let v = check_exchange(
            &req(),
            &json!({"status": "SUCCESS", "failedProductList": [f("P1", "V1", "Mismatch")]}),
        );
        assert_eq!(ids(&v), ["success-without-failures"]);
        assert_eq!(v[0].pointer, "/status");
    }

    #[test]
    fn partial_success_needs_both_kinds() {
        let v = check_exchange(
            &req(),
            &json!({"status": "PARTIAL_SUCCESS", "failedProductList": []}),
        );
        assert_eq!(ids(&v), ["partial-success-mixed"]);
        let v = check_exchange(
            &req(),
            &json!({"status": "PARTIAL_SUCCESS", "failedProductList": [f("P1", "V1", "a"), f("P2", "V2", "b")]}),
        );
        assert_eq!(ids(&v), ["partial-success-mixed"]);
        assert!(v[0].message.contains("all 2 items"));
    }

    #[test]
    fn failed_with_some_listed_means_others_applied() {
        let v = check_exchange(
            &req(),
            &json!({"status": "FAILED", "failedProductList": [f("P1", "V1", "a")]}),
        );
        assert_eq!(ids(&v), ["failed-nothing-applied"]);
    }

    #[test]
    fn failed_entries_must_name_sent_pairs_once_with_a_message() {
        let v = check_exchange(
            &req(),
            &json!({"status": "PARTIAL_SUCCESS", "failedProductList": [f("P9", "V9", "x"), f("P1", "V1", " "), f("P1", "V1", "again")]}),
        );
        assert_eq!(
            ids(&v),
            [
                "failed-entry-was-sent",
                "failed-message-nonempty",
                "failed-entry-unique"
            ]
        );
        assert_eq!(v[0].pointer, "/failedProductList/0");
        assert_eq!(v[1].pointer, "/failedProductList/1/message");
        assert_eq!(v[2].pointer, "/failedProductList/2");
        // Mixed pair: P1 with V2 was never sent even though both ids were.
        let v = check_exchange(
            &req(),
            &json!({"status": "PARTIAL_SUCCESS", "failedProductList": [f("P1", "V2", "x")]}),
        );
        assert_eq!(ids(&v), ["failed-entry-was-sent", "partial-success-mixed"]);
    }

    /// A request holding one pair `sent` times (plus another item), answered FAILED with that
    /// pair listed `listed` times.
    fn duplicate_exchange(sent: usize, listed: usize) -> (Value, Value) {
        let mut items = vec![json!({"productId": "P2", "variantId": "V2", "inventory": 0})];
        items.extend(
            (0..sent).map(|i| json!({"productId": "P1", "variantId": "V1", "inventory": i})),
        );
        let mut failed = vec![f("P2", "V2", "Variant not found")];
        failed.extend((0..listed).map(|_| f("P1", "V1", "Variant not found")));
        (
            json!({"inventoryList": items}),
            json!({"status": "FAILED", "failedProductList": failed}),
        )
    }

    #[test]
    fn a_pair_may_be_listed_as_often_as_the_request_contained_it() {
        for sent in 1..=3 {
            for listed in 0..=4 {
                let (req, resp) = duplicate_exchange(sent, listed);
                let v = check_exchange(&req, &resp);
                let unique: Vec<&Violation> = v
                    .iter()
                    .filter(|x| x.rule == FAILED_ENTRY_UNIQUE.id)
                    .collect();
                // Every listing beyond the request's count is flagged, each at its own entry.
                let extra = listed.saturating_sub(sent);
                assert_eq!(unique.len(), extra, "sent {sent}, listed {listed}: {v:?}");
                for (k, x) in unique.iter().enumerate() {
                    assert_eq!(x.pointer, format!("/failedProductList/{}", 1 + sent + k));
                }
                // Listing it not at all under FAILED is a different rule's concern.
                let others: Vec<&str> = ids(&v)
                    .into_iter()
                    .filter(|r| *r != FAILED_ENTRY_UNIQUE.id)
                    .collect();
                let expect: &[&str] = if listed == 0 {
                    &["failed-nothing-applied"]
                } else {
                    &[]
                };
                assert_eq!(others, expect, "sent {sent}, listed {listed}");
                assert_eq!(
                    listings_allowed(&req, &f("P1", "V1", "x")),
                    sent,
                    "sent {sent}"
                );
            }
        }
        let (req, resp) = duplicate_exchange(2, 3);
        let v = check_exchange(&req, &resp);
        assert!(
            v[0].message
                .contains("listed 3 times, but the request contained it only 2 times"),
            "{v:?}"
        );
        // An entry naming nothing sent may still be listed once (reported as not sent).
        assert_eq!(listings_allowed(&req, &f("P9", "V9", "x")), 1);
    }

    #[test]
    fn an_item_sent_without_an_id_may_be_named_back_with_an_empty_one() {
        let req = json!({"inventoryList": [
            {"productId": "P1", "inventory": 1},
            {"productId": "P2", "variantId": "V2", "inventory": 1},
        ]});
        let resp = json!({"status": "PARTIAL_SUCCESS", "failedProductList": [f("P1", "", "variantId is required")]});
        assert!(check_exchange(&req, &resp).is_empty());
    }

    #[test]
    fn ids_of_the_wrong_type_may_be_named_by_their_text_or_empty() {
        let req = json!({"inventoryList": [
            {"productId": 12345, "variantId": "V1", "inventory": 1},
            {"productId": "P2", "variantId": true, "inventory": 1},
            {"productId": "P3", "variantId": "V3", "inventory": 1},
        ]});
        for (a, b) in [
            (f("12345", "V1", "x"), f("P2", "true", "y")),
            (f("", "V1", "x"), f("P2", "", "y")),
        ] {
            let resp = json!({"status": "PARTIAL_SUCCESS", "failedProductList": [a, b]});
            assert!(check_exchange(&req, &resp).is_empty(), "{resp}");
        }
        assert!(entry_names_item(
            &f("", "V1", "x"),
            &req["inventoryList"][0]
        ));
        assert!(!entry_names_item(
            &f("", "V1", "x"),
            &req["inventoryList"][2]
        ));
        assert!(!entry_names_item(
            &json!({"productId": 12345, "variantId": "V1"}),
            &req["inventoryList"][0]
        ));
    }

    #[test]
    fn every_rule_has_a_unique_id_and_rationale() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id));
            assert!(!r.rationale.is_empty());
            assert_eq!(rule(r.id), Some(&r));
        }
    }
}
