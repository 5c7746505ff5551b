//! Observing the partner's state, for the auth check's "changes nothing" half. A partner that
//! exposes the stockwire-mock admin ledger (`GET /__admin/ledger`) can be observed; for any
//! other, that half of the check is skipped and the report says so.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::http::{Client, HttpRequest, Outcome};

/// A boxed future, as returned by [`Observer::snapshot`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can read the partner's state before and after a request.
pub trait Observer: Send + Sync {
    /// A snapshot of the state (compared for equality), or `None` if it cannot be read now.
    fn snapshot(&self) -> BoxFuture<'_, Option<Value>>;
    /// What is observed, for the report.
    fn describe(&self) -> String;
}

/// The environment variable holding the mock's admin token, sent on ledger reads.
pub const ADMIN_TOKEN_ENV: &str = "STOCKWIRE_ADMIN_TOKEN";

/// Reads `GET {base}/__admin/ledger` (stockwire-mock's admin API), with the admin token from
/// `STOCKWIRE_ADMIN_TOKEN` when it is set.
#[derive(Debug, Clone)]
pub struct LedgerObserver {
    client: Client,
    url: String,
    token: Option<String>,
}

impl LedgerObserver {
    /// Probes `base` for a ledger; `Some` when it answers 200 with `{"items": [...]}`.
    pub async fn probe(client: &Client, base: &str) -> Option<LedgerObserver> {
        let o = LedgerObserver {
            client: client.clone(),
            url: format!("{}/__admin/ledger", base.trim_end_matches('/')),
            token: std::env::var(ADMIN_TOKEN_ENV)
                .ok()
                .filter(|t| !t.is_empty()),
        };
        o.read().await.map(|_| o)
    }

    async fn read(&self) -> Option<Value> {
        let req = HttpRequest {
            method: "GET".into(),
            url: self.url.clone(),
            headers: self
                .token
                .iter()
                .map(|t| crate::http::Header {
                    name: "authorization".into(),
                    value: format!("Bearer {t}"),
                })
                .collect(),
            body: String::new(),
        };
        match self.client.send(&req).await {
            Outcome::Response(r) if r.status == 200 => {
                let v: Value = serde_json::from_str(&r.body).ok()?;
                v.get("items")?.as_array()?;
                Some(v)
            }
            _ => None,
        }
    }
}

impl Observer for LedgerObserver {
    fn snapshot(&self) -> BoxFuture<'_, Option<Value>> {
        Box::pin(self.read())
    }
    fn describe(&self) -> String {
        format!("ledger at {}", self.url)
    }
}
