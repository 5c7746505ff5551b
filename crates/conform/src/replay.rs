//! Replaying an earlier report: re-sends only the failing cases and says, per case, whether it
//! is fixed or still failing. Requests are re-judged from scratch (classified as sent).

use serde::{Deserialize, Serialize};
use stockwire_schema::{CatalogEntry, Profile};

use crate::cases::Probe;
use crate::config::{Credentials, RunOptions};
use crate::error::ConformError;
use crate::http::{Client, ClientOptions, HttpRequest, Outcome, Redactor};
use crate::report::Report;
use crate::runner::Engine;

/// The verdict on one replayed failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayStatus {
    /// The check no longer fails.
    Fixed,
    /// The check still fails.
    StillFailing,
    /// This failure cannot be replayed (performance, observation-based, no recorded request).
    NotReplayable,
}

/// One replayed failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResult {
    /// Check id.
    pub check: String,
    /// Case kind.
    pub case_kind: String,
    /// Verdict.
    pub status: ReplayStatus,
    /// The current failure message, or why it cannot be replayed.
    pub message: String,
}

fn rebase(url: &str, old_base: &str, new_base: &str) -> String {
    match url.strip_prefix(old_base.trim_end_matches('/')) {
        Some(rest) if !old_base.is_empty() => format!("{}{rest}", new_base.trim_end_matches('/')),
        _ => url.to_string(),
    }
}

/// Re-sends the failing cases of `report` to `opts.target` (the report's URLs are moved to it)
/// with `opts`' credentials, and judges them again.
pub async fn replay(report: &Report, opts: &RunOptions) -> Result<Vec<ReplayResult>, ConformError> {
    let profile: Profile =
        report
            .profile
            .parse()
            .map_err(
                |e: stockwire_schema::UnknownProfile| ConformError::Setting {
                    name: "profile".into(),
                    message: e.to_string(),
                },
            )?;
    let mut client = Client::new(
        ClientOptions {
            timeout: opts.timeout,
            connect_timeout: opts.connect_timeout,
            max_response_bytes: opts.max_response_bytes,
            insecure: opts.insecure,
            rate: opts.rate,
            max_idle: 2,
        },
        None,
        Redactor::new(opts.credentials.secrets()),
    )?;
    let auth = !matches!(opts.credentials, Credentials::None);
    match &opts.credentials {
        Credentials::ApiKey(k) => client.set_api_key(Some(k.clone())),
        Credentials::Login { username, password } => {
            let mut o = opts.clone();
            o.profile = profile;
            let token =
                crate::runner::fetch_token(&client, &opts.target, &o, username, password).await?;
            client.set_api_key(Some(token));
        }
        Credentials::None => {}
    }
    let old_base = report
        .url
        .strip_suffix(stockwire_schema::contract(profile).inventory_path())
        .unwrap_or(&report.target)
        .to_string();
    let catalog: Vec<CatalogEntry> = report
        .catalog
        .iter()
        .map(|c| CatalogEntry {
            product_id: c.product_id.clone(),
            variant_id: c.variant_id.clone(),
            stock: c.stock,
            seller: None,
        })
        .collect();
    let mut o = opts.clone();
    o.profile = profile;
    o.policies = report.settings.policies.clone();
    o.checks = Vec::new();
    o.skip_checks = Vec::new();
    let url = format!(
        "{}{}",
        opts.target.trim_end_matches('/'),
        stockwire_schema::contract(profile).inventory_path()
    );
    let engine = Engine::new(client, &o, catalog, auth, url);
    let mut out = Vec::new();
    for f in &report.failures {
        if f.exchanges.is_empty()
            || matches!(
                f.check.as_str(),
                "latency-budget" | "auth-no-effect" | "auth-token-response"
            )
        {
            out.push(ReplayResult {
                check: f.check.clone(),
                case_kind: f.case_kind.clone(),
                status: ReplayStatus::NotReplayable,
                message: "judged over the whole run or by observation; run the suite again".into(),
            });
            continue;
        }
        let requests: Vec<HttpRequest> = f
            .exchanges
            .iter()
            .map(|e| HttpRequest {
                url: rebase(&e.request.url, &old_base, &opts.target),
                ..e.request.clone()
            })
            .collect();
        let probe = match f.case_kind.as_str() {
            "idempotence" => Probe::Repeat,
            "reorder" => Probe::Reorder(0),
            "split-batch" => Probe::Split,
            _ => Probe::Single,
        };
        let run = engine.execute_requests(&requests, &probe).await;
        if run.connect_failures > 0 {
            let message = run
                .exchanges
                .iter()
                .find_map(|(_, o)| match o {
                    Outcome::Failure { message, .. } => Some(message.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            return Err(ConformError::Unreachable {
                url: opts.target.clone(),
                message,
            });
        }
        let failure = run
            .verdicts
            .iter()
            .find(|v| v.check == f.check && v.failure.is_some())
            .and_then(|v| v.failure.clone());
        let (status, message) = match failure {
            Some(m) => (ReplayStatus::StillFailing, m),
            None => (ReplayStatus::Fixed, "no longer fails".into()),
        };
        out.push(ReplayResult {
            check: f.check.clone(),
            case_kind: f.case_kind.clone(),
            status,
            message,
        });
    }
    Ok(out)
}
