//! The run's result: one [`Report`] with the seed and versions (so a run can be repeated), a
//! summary, one entry per check, the minimal failing exchange of each failed check with a curl
//! reproducer, the partner's choices, latency percentiles and warnings. Serialized as the JSON
//! report (schema: `schemas/report.schema.json`).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks::{Category, Loss, Resource};
use crate::client::http::{HttpRequest, Outcome};
use crate::config::{FailOn, Policies};
use crate::error::ConformError;

/// Version of the report format.
pub const REPORT_FORMAT: u32 = 1;

/// A check's result over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Exercised, never failed.
    Passed,
    /// Failed at least once.
    Failed,
    /// Not exercised (disabled, or nothing to judge; see `skip_reason`).
    Skipped,
}

/// The tools that produced the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    /// `stockwire-conform`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Version of the contract crate (`stockwire-schema`).
    pub schema_version: String,
}

impl ToolInfo {
    /// This build of stockwire-conform.
    pub fn this() -> ToolInfo {
        ToolInfo {
            name: "stockwire-conform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            schema_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The settings the run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Settings {
    /// Case budget (ignored when `duration_ms` is set).
    pub cases: u64,
    /// Time budget in milliseconds.
    pub duration_ms: Option<u64>,
    /// Requests in flight.
    pub concurrency: usize,
    /// Requests per second ceiling.
    pub rate: Option<f64>,
    /// Per-request time-out in milliseconds.
    pub timeout_ms: u64,
    /// Policies.
    pub policies: Policies,
    /// Only these checks (empty: all).
    pub checks: Vec<String>,
    /// Skipped checks.
    pub skip_checks: Vec<String>,
    /// Which violations fail the run.
    pub fail_on: FailOn,
    /// Whether certificates were verified.
    pub insecure: bool,
}

impl Settings {
    /// The settings a run was given, as the report records them.
    pub fn of(opts: &crate::config::RunOptions) -> Settings {
        Settings {
            cases: opts.cases,
            duration_ms: opts.duration.map(|d| d.as_millis() as u64),
            concurrency: opts.concurrency,
            rate: opts.rate,
            timeout_ms: opts.timeout.as_millis() as u64,
            policies: opts.policies.clone(),
            checks: opts.checks.clone(),
            skip_checks: opts.skip_checks.clone(),
            fail_on: opts.fail_on,
            insecure: opts.insecure,
        }
    }
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Cases run (probes included).
    pub cases: u64,
    /// Requests sent (shrinking and controls included).
    pub requests: u64,
    /// Failed check evaluations.
    pub violations: u64,
    /// Checks that failed.
    pub failed_checks: u64,
    /// MUST checks that failed.
    pub failed_must: u64,
    /// Wall-clock time in milliseconds.
    pub duration_ms: u64,
    /// Cases per second.
    pub cases_per_sec: f64,
    /// Requests per second.
    pub requests_per_sec: f64,
    /// The exit code the run maps to (0 clean, 1 violations).
    pub exit_code: u8,
}

/// One check over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// Stable id.
    pub id: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// Category.
    pub category: Category,
    /// Why it holds.
    pub rationale: String,
    /// Passed, failed or skipped.
    pub status: CheckStatus,
    /// Evaluations that passed.
    pub passed: u64,
    /// Evaluations that failed.
    pub failed: u64,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
}

/// Why a check is skipped or weakened: one resource the run lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CoverageReason {
    /// What the run lacks (`catalog`, `stock-probe`, `credentials`, `login`).
    pub missing: Resource,
    /// What the check loses without it.
    pub effect: Loss,
    /// Why, in one line.
    pub why: String,
    /// How to provide it.
    pub remedy: String,
}

/// A check the run cannot carry out in full, decided at the start of the run from the checks'
/// declared needs and what the run has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CoverageGap {
    /// Check id.
    pub check: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// `skipped` (it cannot run) or `weakened` (it runs but proves less).
    pub effect: Loss,
    /// Each resource it lacks, in the check's order.
    pub reasons: Vec<CoverageReason>,
}

impl From<&crate::checks::Gap> for CoverageGap {
    fn from(g: &crate::checks::Gap) -> Self {
        CoverageGap {
            check: g.check.id.into(),
            severity: g.check.severity.to_string(),
            effect: g.loss,
            reasons: g
                .unmet
                .iter()
                .map(|n| CoverageReason {
                    missing: n.resource,
                    effect: n.loss,
                    why: n.why.into(),
                    remedy: n.resource.remedy().into(),
                })
                .collect(),
        }
    }
}

impl CoverageGap {
    /// The reasons as one line: "without a catalog: …; without a stock probe: …".
    pub fn reason_line(&self) -> String {
        self.reasons
            .iter()
            .map(|r| format!("{}: {}", r.missing.missing(), r.why))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One request and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordedExchange {
    /// The request (apiKey as `$APIKEY`).
    pub request: HttpRequest,
    /// The response or transport failure.
    pub outcome: Outcome,
}

/// How a failing case was reduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShrinkInfo {
    /// Candidates that still failed and were kept.
    pub steps: u32,
    /// Requests spent shrinking.
    pub requests: u32,
    /// Items in the original request.
    pub original_items: usize,
    /// Items in the reported request.
    pub final_items: usize,
}

/// A failed check, with its minimal failing case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// Check id.
    pub check: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// What is wrong, judged on the minimal request.
    pub message: String,
    /// The probe that found it, e.g. `negative:inventory`.
    pub case_kind: String,
    /// Index of the case in the run (same seed, same index).
    pub case_index: u64,
    /// How many evaluations of this check failed in the run.
    pub occurrences: u64,
    /// Shrinking.
    pub shrink: Option<ShrinkInfo>,
    /// The exchanges of the minimal case, in order.
    pub exchanges: Vec<RecordedExchange>,
    /// One curl command per request, apiKey as `$APIKEY`.
    pub curl: Vec<String>,
}

/// A choice the partner made where the contract allows several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Choice {
    /// Which difference (`rejection-style`, `failed-list-on-success`, `batch-rejection`,
    /// `inventory-spelling`, `batch-limit`, `auth-refusal`).
    pub topic: String,
    /// The choice seen.
    pub choice: String,
    /// How often.
    pub count: u64,
}

/// Latency percentiles for one batch-size bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyRow {
    /// Batch sizes, e.g. `2-10`.
    pub batch_sizes: String,
    /// Responses measured.
    pub count: u64,
    /// Median in ms.
    pub p50_ms: f64,
    /// 90th percentile in ms.
    pub p90_ms: f64,
    /// 99th percentile in ms.
    pub p99_ms: f64,
    /// Maximum in ms.
    pub max_ms: f64,
    /// The p99 budget for this bucket in ms.
    pub budget_ms: f64,
}

/// A catalog item the run used (for replay and restore).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// Stated stock.
    pub stock: Option<u32>,
}

/// What `--restore` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreResult {
    /// Where the values set back came from: `catalog` (stated stock) or `read-back` (the stock
    /// probe's reading before the run first touched the item).
    #[serde(default)]
    pub source: String,
    /// Items set back.
    pub restored: u64,
    /// Items the partner did not accept.
    pub failed: u64,
    /// Items without a stated stock (left alone).
    pub without_stock: u64,
    /// Items that could not be restored (`productId/variantId: why`).
    #[serde(default)]
    pub not_restored: Vec<String>,
    /// Items that had never been set before the run and were set by it: `/updateInventory`
    /// cannot unset them.
    #[serde(default)]
    pub never_set: Vec<String>,
}

/// What the read-back saw (`--stock-probe`, or the mock's ledger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReadBackSummary {
    /// What was read (`stock probe `…``, or the ledger URL).
    pub reader: String,
    /// Probe calls (or ledger reads) made.
    pub reads: u64,
    /// Cases whose stored stock was read back.
    #[serde(default)]
    pub cases_read: u64,
    /// Which cases were read back: the first N of each kind, or `all` (`--stock-sample`).
    #[serde(default)]
    pub sample: String,
    /// The kinds of case read back (with a sample), in the order first read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Settle time allowed, in milliseconds.
    pub settle_ms: u64,
    /// Longest time a value took to settle, in milliseconds.
    pub settle_max_ms: f64,
    /// Probe errors.
    pub errors: u64,
    /// Whether repeated errors stopped the read-back.
    pub stopped: bool,
}

impl ReadBackSummary {
    /// Which cases were read back, in words (console and HTML report).
    pub fn selection(&self) -> String {
        if self.sample == "all" {
            "every case".to_string()
        } else {
            format!(
                "sampled: up to {} per kind, about one probe call per {} cases; --stock-sample all reads every case",
                self.sample,
                crate::readers::state::CASES_PER_READ
            )
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "stockwire conform report")]
pub struct Report {
    /// Report format version.
    pub format: u32,
    /// Producing tools and versions.
    pub tool: ToolInfo,
    /// The seed: `--seed` with it repeats the same cases in the same order.
    pub seed: u64,
    /// Contract version.
    pub profile: String,
    /// Target base URL (or `embedded stockwire-mock`).
    pub target: String,
    /// The inventory URL requests went to.
    pub url: String,
    /// Settings.
    pub settings: Settings,
    /// Totals.
    pub summary: Summary,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// Each failed check's minimal failing case.
    pub failures: Vec<Failure>,
    /// The partner's choices where the contract allows several.
    pub choices: Vec<Choice>,
    /// Latency per batch size.
    pub latency: Vec<LatencyRow>,
    /// Why the run may be weaker than it looks.
    pub warnings: Vec<String>,
    /// The checks skipped or weakened for lack of a catalog, credentials or a stock probe
    /// (shown at the start of the run).
    #[serde(default)]
    pub coverage: Vec<CoverageGap>,
    /// Catalog items used.
    pub catalog: Vec<CatalogItem>,
    /// Seller whose catalog entries were used.
    pub seller: Option<String>,
    /// What `--restore` did.
    pub restore: Option<RestoreResult>,
    /// What the read-back saw, when stored stock could be read.
    #[serde(default)]
    pub read_back: Option<ReadBackSummary>,
    /// Why the run stopped before judging anything (target unreachable, authentication failed,
    /// bad setting); absent when the run completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// Failures grouped by probable cause: failed checks that come from the same exchanges, with
    /// a hint when a known defect pattern fits.
    #[serde(default)]
    pub causes: Vec<Cause>,
    /// The command line that repeats this run (secrets left as environment variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_command: Option<String>,
    /// Set when this report comes from `conform replay`: the report that was replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
}

/// Why a run could not be carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunError {
    /// `unreachable`, `auth-failed` or `setting`.
    pub kind: String,
    /// The error as printed.
    pub message: String,
}

impl RunError {
    /// The record of `e`.
    pub fn from_error(e: &ConformError) -> Self {
        let kind = match e {
            ConformError::Unreachable { .. } => "unreachable",
            ConformError::AuthFailed { .. } => "auth-failed",
            _ => "setting",
        };
        RunError {
            kind: kind.into(),
            message: e.to_string(),
        }
    }
}

/// Several failed checks explained by one defect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cause {
    /// 1-based number of the cause in the report.
    pub id: u32,
    /// The checks this cause makes fail (the first is the one shown as headline).
    pub checks: Vec<String>,
    /// The most severe of the checks: MUST or SHOULD.
    pub severity: String,
    /// The headline: the first check's message.
    pub message: String,
    /// Known defect patterns that fit the exchanges (may be empty).
    pub hints: Vec<String>,
}

impl Report {
    /// The report of a run that could not be carried out: every check skipped, the error recorded,
    /// `exit_code` the command's exit code (2 or 3).
    pub fn errored(
        opts: &crate::config::RunOptions,
        error: &ConformError,
        exit_code: u8,
    ) -> Report {
        let reason = format!("not run: {error}");
        let checks = crate::checks::registry()
            .iter()
            .map(|c| CheckResult {
                id: c.id.into(),
                severity: c.severity.to_string(),
                category: c.category,
                rationale: c.rationale.into(),
                status: CheckStatus::Skipped,
                passed: 0,
                failed: 0,
                skip_reason: Some(reason.clone()),
            })
            .collect();
        let base = opts.target.trim_end_matches('/');
        Report {
            format: REPORT_FORMAT,
            tool: ToolInfo::this(),
            seed: opts.seed,
            profile: opts.profile.to_string(),
            target: opts
                .target_label
                .clone()
                .unwrap_or_else(|| base.to_string()),
            url: format!(
                "{base}{}",
                stockwire_schema::contract(opts.profile).inventory_path()
            ),
            settings: Settings::of(opts),
            summary: Summary {
                cases: 0,
                requests: 0,
                violations: 0,
                failed_checks: 0,
                failed_must: 0,
                duration_ms: 0,
                cases_per_sec: 0.0,
                requests_per_sec: 0.0,
                exit_code,
            },
            checks,
            failures: Vec::new(),
            choices: Vec::new(),
            latency: Vec::new(),
            warnings: Vec::new(),
            catalog: Vec::new(),
            seller: opts.seller.clone(),
            restore: None,
            read_back: None,
            error: Some(RunError::from_error(error)),
            causes: Vec::new(),
            // Nothing ran: every check is already skipped with the error as its reason.
            coverage: Vec::new(),
            repeat_command: None,
            replay_of: None,
        }
    }

    /// Checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
    }

    /// Reads a JSON report.
    pub fn read(path: &Path) -> Result<Report, ConformError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConformError::ReportFile {
            file: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| ConformError::ReportFile {
            file: path.to_path_buf(),
            message: format!("not a stockwire conform report: {e}"),
        })
    }

    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the JSON report.
    pub fn write_json(&self, path: &Path) -> Result<(), ConformError> {
        write_file(path, &self.to_json())
    }
}

/// Completes a report built by the engine: failures grouped by cause, extra headers added to the
/// curl reproducers.
pub fn finish(mut report: Report, opts: &crate::config::RunOptions) -> Report {
    for f in &mut report.failures {
        for c in &mut f.curl {
            *c = crate::client::http::curl_with_headers(c, &opts.extra_headers);
        }
    }
    crate::reports::causes::with_causes(report)
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), ConformError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| ConformError::ReportFile {
            file: path.to_path_buf(),
            message: format!("cannot create folder: {e}"),
        })?;
    }
    std::fs::write(path, text).map_err(|e| ConformError::ReportFile {
        file: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    })
}

/// The JSON Schema of the JSON report (committed as `schemas/report.schema.json`).
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}
