//! Replaying an earlier report: re-sends only the failing cases and says, per case, whether it
//! is fixed or still failing. Requests are re-judged from scratch (classified as sent).

use serde::{Deserialize, Serialize};
use stockwire_schema::{CatalogEntry, Profile};

use crate::client::http::{Client, ClientOptions, HttpRequest, Outcome, Redactor};
use crate::config::{Credentials, RunOptions};
use crate::engine::cases::Probe;
use crate::engine::execute::Engine;
use crate::error::ConformError;
use crate::reports::report::{CheckStatus, Failure, RecordedExchange, Report};

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
    /// The exchanges of the replay (empty when not replayable).
    #[serde(default)]
    pub exchanges: Vec<RecordedExchange>,
}

/// The report of a replay, in the same format as a run's (so the same JSON, JUnit and HTML
/// writers apply): replayed checks are failed (still failing, with the new exchanges) or passed
/// (fixed); the others are skipped with the reason. `source` names the replayed report.
pub fn replay_report(
    original: &Report,
    results: &[ReplayResult],
    source: &str,
    extra_headers: &[crate::client::http::ExtraHeader],
) -> Report {
    let mut r = original.clone();
    r.replay_of = Some(source.to_string());
    r.choices.clear();
    r.latency.clear();
    r.restore = None;
    r.error = None;
    r.failures = original
        .failures
        .iter()
        .filter_map(|f| {
            let res = results
                .iter()
                .find(|x| x.check == f.check && x.case_kind == f.case_kind)?;
            (res.status == ReplayStatus::StillFailing).then(|| Failure {
                message: res.message.clone(),
                occurrences: 1,
                shrink: None,
                curl: res
                    .exchanges
                    .iter()
                    .map(|e| {
                        crate::client::http::curl_with_headers(&e.request.curl(), extra_headers)
                    })
                    .collect(),
                exchanges: res.exchanges.clone(),
                ..f.clone()
            })
        })
        .collect();
    for c in &mut r.checks {
        let mine: Vec<&ReplayResult> = results.iter().filter(|x| x.check == c.id).collect();
        let (status, reason) = if mine.is_empty() {
            (
                CheckStatus::Skipped,
                Some("not failing in the replayed report: not re-sent".to_string()),
            )
        } else if mine.iter().any(|x| x.status == ReplayStatus::StillFailing) {
            (CheckStatus::Failed, None)
        } else if mine.iter().all(|x| x.status == ReplayStatus::Fixed) {
            (CheckStatus::Passed, None)
        } else {
            (
                CheckStatus::Skipped,
                mine.iter()
                    .find(|x| x.status == ReplayStatus::NotReplayable)
                    .map(|x| x.message.clone()),
            )
        };
        c.passed = mine
            .iter()
            .filter(|x| x.status == ReplayStatus::Fixed)
            .count() as u64;
        c.failed = mine
            .iter()
            .filter(|x| x.status == ReplayStatus::StillFailing)
            .count() as u64;
        c.status = status;
        c.skip_reason = reason;
    }
    let (failed, failed_must) = r.failed_checks().fold((0u64, 0u64), |(n, m), c| {
        (n + 1, m + u64::from(c.severity == "MUST"))
    });
    r.summary.failed_checks = failed;
    r.summary.failed_must = failed_must;
    r.summary.violations = r.checks.iter().map(|c| c.failed).sum();
    r.summary.cases = results.len() as u64;
    r.summary.requests = results.iter().map(|x| x.exchanges.len() as u64).sum();
    r.summary.exit_code = u8::from(r.summary.failed_checks > 0);
    crate::reports::causes::with_causes(r)
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
        ClientOptions::from_run(opts, 2),
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
                crate::engine::runner::fetch_token(&client, &opts.target, &o, username, password)
                    .await?;
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
            ..CatalogEntry::default()
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
        let replayable = crate::checks::find(&f.check).is_some_and(|c| c.replayable);
        if f.exchanges.is_empty() || !replayable {
            out.push(ReplayResult {
                check: f.check.clone(),
                case_kind: f.case_kind.clone(),
                status: ReplayStatus::NotReplayable,
                message: "judged over the whole run or by observation; run the suite again".into(),
                exchanges: Vec::new(),
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
        let run = engine
            .execute_requests(&requests, &probe, crate::readers::state::ReadPlan::FULL)
            .await;
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
            exchanges: run
                .exchanges
                .iter()
                .map(|(request, outcome)| RecordedExchange {
                    request: request.clone(),
                    outcome: outcome.clone(),
                })
                .collect(),
        });
    }
    Ok(out)
}
