//! One journal entry: a request and its answer as journaled (credentials redacted), with the
//! rules that fired and the notes that explain the answer.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Serialize, Serializer};
use serde_json::Value;
use stockwire_schema::borrowed::parse_request;

use crate::scenario::Fired;

fn lossy<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

/// One request header as journaled (credentials redacted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Header<'a> {
    /// Lower-case name.
    pub name: &'a str,
    /// Value (lossy UTF-8; `***` for a credential).
    pub value: &'a str,
}

/// Request headers as journaled, credentials redacted, kept in one buffer of `name: value`
/// lines (one allocation per request, not two per header); serialized as a list of
/// [`Header`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: Box<str>,
}

impl Headers {
    /// Builds the buffer from `(name, value)` pairs. Names never hold `:` (HTTP tokens) and
    /// values never hold a line break (hyper refuses both), so the lines split back exactly.
    /// `pairs` is called twice: once to size the buffer, once to fill it.
    pub fn from_pairs<K, V, I>(pairs: impl Fn() -> I) -> Headers
    where
        K: AsRef<str>,
        V: AsRef<str>,
        I: Iterator<Item = (K, V)>,
    {
        let len: usize = pairs()
            .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 3)
            .sum();
        let mut text = String::with_capacity(len);
        for (k, v) in pairs() {
            text.push_str(k.as_ref());
            text.push_str(": ");
            text.push_str(v.as_ref());
            text.push('\n');
        }
        Headers {
            text: text.into_boxed_str(),
        }
    }

    /// The headers in the order they were sent.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> {
        self.text.lines().map(|l| {
            let (name, value) = l.split_once(": ").unwrap_or((l, ""));
            Header { name, value }
        })
    }

    /// The value of the first header named `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.text.lines().count()
    }

    /// No headers at all.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Sequence number, from 1, never reused (not even after a reset).
    pub id: u64,
    /// Wall-clock time of arrival, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Milliseconds since start or reset.
    pub elapsed_ms: u64,
    /// HTTP method.
    pub method: Cow<'static, str>,
    /// Path.
    pub path: Cow<'static, str>,
    /// The id of the call the request was routed to (`updateInventory`, `products`, …); none
    /// for a path no call has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<&'static str>,
    /// Query string (password redacted), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The seller the apiKey (or credentials) belong to, if known.
    pub seller: Option<Arc<str>>,
    /// The 1-based number of this `/updateInventory` request (what `request` rules match on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_number: Option<u64>,
    /// Request headers, credentials redacted.
    pub headers: Headers,
    /// Request body as received (lossy UTF-8).
    #[serde(serialize_with = "lossy")]
    pub body: Bytes,
    /// HTTP status answered; 0 when the connection was closed without an answer.
    pub status: u16,
    /// Body answered (lossy UTF-8), before any drip or delay.
    #[serde(serialize_with = "lossy")]
    pub response_body: Bytes,
    /// Rules that fired and what each did.
    pub effects: Vec<Fired>,
    /// Number of items whose stock was set.
    pub applied: usize,
    /// Indexes (in inventoryList) of the items that failed.
    pub failed_items: Vec<usize>,
    /// Why the answer is what it is: auth problems, violations, the nearest rule when none
    /// fired, unknown items.
    pub notes: Vec<String>,
    /// Time spent producing the answer, in microseconds (scripted delays included).
    pub duration_us: u64,
    /// True when this copy shows only the start of the bodies (a journal page has a byte
    /// budget; see [`crate::journal::Journal::page`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clipped: bool,
}

impl JournalEntry {
    /// The request body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The answered body as JSON, if it is JSON.
    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.response_body).ok()
    }

    /// Whether the rule named `rule` fired for this request.
    pub fn fired(&self, rule: &str) -> bool {
        self.effects.iter().any(|f| f.rule == rule)
    }

    /// What the entry weighs against the journal's byte budget.
    pub(super) fn weight(&self) -> usize {
        self.body.len() + self.response_body.len() + 256
    }

    /// The (productId, variantId, inventory) of each item whose stock this request set, read
    /// from the raw body when asked.
    pub fn applied_items(&self) -> Vec<(String, String, Value)> {
        if self.applied == 0 {
            return Vec::new();
        }
        let Ok(req) = parse_request(&self.body, usize::MAX) else {
            return Vec::new();
        };
        let failed: HashSet<usize> = self.failed_items.iter().copied().collect();
        req.items()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter(|(i, _)| !failed.contains(i))
            .filter_map(|(_, it)| {
                Some((
                    it.product()?.to_string(),
                    it.variant()?.to_string(),
                    it.value.as_ref()?.to_value(),
                ))
            })
            .collect()
    }

    /// Whether the request body names `product_id` in one of its items.
    pub fn mentions_product(&self, product_id: &str) -> bool {
        parse_request(&self.body, usize::MAX).is_ok_and(|r| {
            r.items()
                .unwrap_or(&[])
                .iter()
                .any(|i| i.product() == Some(product_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_order_and_values_in_one_buffer_and_serialize_as_a_list() {
        let h = Headers::from_pairs(|| {
            [
                ("content-type", "application/json"),
                ("x-note", "a: b"),
                ("x-empty", ""),
            ]
            .into_iter()
        });
        let pairs: Vec<(&str, &str)> = h.iter().map(|x| (x.name, x.value)).collect();
        assert_eq!(
            pairs,
            [
                ("content-type", "application/json"),
                ("x-note", "a: b"),
                ("x-empty", "")
            ]
        );
        assert_eq!(h.get("X-Note"), Some("a: b"));
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!([
                {"name": "content-type", "value": "application/json"},
                {"name": "x-note", "value": "a: b"},
                {"name": "x-empty", "value": ""}
            ])
        );
        assert!(Headers::default().is_empty());
    }
}
