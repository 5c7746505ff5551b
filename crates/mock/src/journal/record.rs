//! Recording one exchange into the journal: an entry under construction, and the redaction of
//! credentials: nothing the journal keeps or `--log-requests` prints shows a password, an
//! apiKey, a bearer token or an issued access token in clear.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use hyper::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use stockwire_schema::borrowed::is_credential_name;

use super::entry::{Headers, JournalEntry};
use super::ring::Journal;
use crate::clock::{Clock, Uptime};

/// What a redacted value reads.
pub(crate) const REDACTED: &str = "***";

/// Headers as journaled: credentials redacted (an `Authorization` value keeps its scheme).
pub(crate) fn redacted_headers(h: &HeaderMap) -> Headers {
    Headers::from_pairs(|| {
        h.iter()
            .map(|(k, v)| (k.as_str(), shown_value(k.as_str(), v)))
    })
}

/// A header's value as journaled.
fn shown_value<'v>(name: &str, v: &'v HeaderValue) -> Cow<'v, str> {
    if is_credential_name(name) {
        match v.to_str().ok().and_then(|s| s.split_once(' ')) {
            Some((scheme, _)) if name.ends_with("authorization") => {
                Cow::Owned(format!("{scheme} {REDACTED}"))
            }
            _ => Cow::Borrowed(REDACTED),
        }
    } else {
        String::from_utf8_lossy(v.as_bytes())
    }
}

/// A method's name, without an allocation for the standard ones.
fn method_name(m: &Method) -> Cow<'static, str> {
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ];
    const NAMES: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    match known.iter().position(|k| k == m) {
        Some(i) => Cow::Borrowed(NAMES[i]),
        None => Cow::Owned(m.as_str().to_string()),
    }
}

/// A query string with the values of credential parameters redacted.
pub(crate) fn redacted_query(q: &str) -> String {
    // A query with nothing to decode, no empty pair, no name without `=` and no credential
    // is what the decoding below would write back: kept as it is (every listing request).
    let as_is = !q.contains(['%', '+'])
        && q.split('&').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, _)| !k.is_empty() && !is_credential_name(k))
        });
    if as_is {
        return q.to_string();
    }
    decoded_redacted(q)
}

/// The query's pairs, decoded, credential values redacted, joined with `&`.
fn decoded_redacted(q: &str) -> String {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| {
            let v = if is_credential_name(&k) {
                REDACTED.into()
            } else {
                v
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces, at any depth, the value of every member that carries a credential.
pub(crate) fn redact_json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if is_credential_name(k) {
                    *x = Value::String(REDACTED.into());
                } else {
                    redact_json(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// A JSON body with its credentials redacted (a body that is not JSON is kept as sent: it
/// cannot name a credential member).
pub(crate) fn redacted_body(b: &Bytes) -> Bytes {
    match serde_json::from_slice::<Value>(b) {
        Ok(mut v) => {
            redact_json(&mut v);
            Bytes::from(v.to_string())
        }
        Err(_) => b.clone(),
    }
}

/// A journal entry under construction.
pub(crate) struct Record {
    t0: Instant,
    /// The wall-clock time the request arrived (the injectable clock's).
    pub now: Duration,
    /// The entry.
    pub e: JournalEntry,
}

impl Record {
    /// Starts an entry for a request (headers redacted), at the time `clock` reads, `uptime`
    /// after start or reset.
    pub fn new(
        clock: &dyn Clock,
        uptime: &Uptime,
        method: &Method,
        path: Cow<'static, str>,
        query: Option<String>,
        h: &HeaderMap,
    ) -> Self {
        let t0 = Instant::now();
        let now = clock.now();
        Record {
            t0,
            now,
            e: JournalEntry {
                id: 0,
                at_ms: now.as_millis() as u64,
                elapsed_ms: uptime.elapsed_at(t0).as_millis() as u64,
                method: method_name(method),
                path,
                call: None,
                query,
                seller: None,
                request_number: None,
                headers: redacted_headers(h),
                body: Bytes::new(),
                status: 0,
                response_body: Bytes::new(),
                effects: Vec::new(),
                applied: 0,
                failed_items: Vec::new(),
                notes: Vec::new(),
                duration_us: 0,
                clipped: false,
            },
        }
    }

    /// Completes the entry with the status and the body answered (as journaled: callers pass
    /// a redacted copy when the answer carries a credential), logs it when `log_requests`, and
    /// pushes it to `journal`.
    pub fn finish(mut self, journal: &Journal, log_requests: bool, status: u16, body: &Bytes) {
        self.e.status = status;
        self.e.response_body = body.clone();
        self.e.duration_us = self.t0.elapsed().as_micros() as u64;
        if log_requests {
            tracing::info!(
                target: "stockwire_mock::requests",
                "{} {} seller={} → {} {}{}{}",
                self.e.method,
                self.e.path,
                self.e.seller.as_deref().unwrap_or("-"),
                if status == 0 { "closed".to_string() } else { status.to_string() },
                String::from_utf8_lossy(&body[..body.len().min(160)]),
                if self.e.effects.is_empty() {
                    String::new()
                } else {
                    format!(
                        " rules: {}",
                        self.e
                            .effects
                            .iter()
                            .map(|f| format!("{} ({})", f.rule, f.effect))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
                if self.e.notes.is_empty() {
                    String::new()
                } else {
                    format!(" notes: {}", self.e.notes.join("; "))
                }
            );
        }
        journal.push(self.e);
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn credentials_are_redacted_in_headers_queries_and_bodies() {
        let mut h = HeaderMap::new();
        h.insert("apikey", HeaderValue::from_static("swk-demo-1"));
        h.insert("authorization", HeaderValue::from_static("Bearer abc.def"));
        h.insert("x-trace", HeaderValue::from_static("t1"));
        let journaled = redacted_headers(&h);
        let shown: Vec<(String, String)> = journaled
            .iter()
            .map(|x| (x.name.to_string(), x.value.to_string()))
            .collect();
        assert_eq!(
            shown,
            [
                ("apikey".to_string(), "***".to_string()),
                ("authorization".into(), "Bearer ***".into()),
                ("x-trace".into(), "t1".into())
            ]
        );
        assert_eq!(
            redacted_query("username=u&password=secret"),
            "username=u&password=***"
        );
        // Kept as it is only where decoding would write it back unchanged.
        for q in [
            "pageNumber=2&pageSize=50&publishedStatus=PUBLISHED",
            "skus=A%2CB&pageSize=50",
            "skus=A+B",
            "a=1&&b=2",
            "flag&a=1",
            "=v",
            "",
            "password=x&a=1",
            "APIKEY=k",
            "a=b=c",
        ] {
            assert_eq!(redacted_query(q), decoded_redacted(q), "{q}");
        }
        let b = redacted_body(&Bytes::from(
            json!({"status": "SUCCESS", "accessToken": "swk-1", "nested": [{"password": "p"}]})
                .to_string(),
        ));
        let text = String::from_utf8_lossy(&b);
        assert!(!text.contains("swk-1") && !text.contains("\"p\""), "{text}");
    }
}
