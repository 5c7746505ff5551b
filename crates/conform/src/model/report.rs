//! The report's data: one [`Report`] with the seed and versions (so a run can be repeated), a
//! summary, one entry per check, the minimal failing exchange of each failed check with a curl
//! reproducer, the partner's choices, latency percentiles and warnings, as the JSON report
//! serializes them (schema: `schemas/report.schema.json`).
//!
//! Plain data: the engine fills it, replay rewrites it, the report writers render it. Building an
//! errored report, finishing, reading and writing one are the JSON report's (`report::finish`,
//! `Report::errored`, `Report::write_json`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::http::{HttpRequest, Outcome};
use crate::error::ConformError;
use crate::model::policies::{FailOn, Policies};
use crate::model::vocabulary::{Category, Loss, Resource};

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
    /// The exit code the run maps to (0 clean, 1 violations, 3 nothing certified).
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
    /// The call of the family it judges, as reports group checks: `authentication`, `count`,
    /// `listing` or `update`.
    #[serde(default)]
    pub call: String,
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
    /// Whether a candidate of one item with a smaller inventory than the reported one was seen
    /// to pass: the only evidence for a value-range hint (kept out of the report file).
    #[serde(skip)]
    pub smaller_value_passed: bool,
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
    /// Every case of the run that failed this check, as sent (not shrunk), in case order: at
    /// most [`MAX_CASES_KEPT`]; their bodies share [`CASE_BODY_BUDGET`] bytes, and a body
    /// beyond it is clipped with its size.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<FailingCase>,
    /// Failing cases of this check beyond those kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_cases: u64,
}

/// Failing cases kept per check in the report.
pub const MAX_CASES_KEPT: usize = 100;

/// Bytes of request and response bodies the kept failing cases of one check may hold (1 MiB).
pub const CASE_BODY_BUDGET: usize = 1024 * 1024;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One case that failed a check, as the run sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailingCase {
    /// Index of the case in the run.
    pub case_index: u64,
    /// The probe that made it, e.g. `negative:inventory`.
    pub case_kind: String,
    /// What is wrong in this case.
    pub message: String,
    /// Its exchanges, in order (bodies clipped past the check's budget).
    pub exchanges: Vec<RecordedExchange>,
    /// One curl command per request, apiKey as `$APIKEY` (whole, even when a body is clipped).
    pub curl: Vec<String>,
}

/// A choice the partner made where the contract allows several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Choice {
    /// Which difference (`rejection-style`, `failed-list-on-success`, `batch-rejection`,
    /// `inventory-spelling`, `batch-limit`, `auth-refusal`, `duplicate-items`).
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
    /// The seller's SKU code, as the listing shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

/// The calls of the family this run exercised, and what discovery found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CallCoverage {
    /// The calls made, by path, in the order of Uniware's flow.
    pub exercised: Vec<String>,
    /// The calls of the family not certified by this run, each with why.
    pub not_certified: Vec<String>,
    /// The count `/productsCount` answered, when it answered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Products discovered.
    pub products: u64,
    /// Variants discovered (the catalog of the update cases unless items were given).
    pub variants: u64,
    /// Listing pages read.
    pub pages: u64,
}

/// What `--restore` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreResult {
    /// Where the values set back came from: `catalog` (stated stock), `listing-plus-blocked`
    /// (the listed stock plus the blocked units, when the listing shows the stock left after
    /// `blockedInventory`) or `read-back` (the stock probe's reading before the run first
    /// touched the item).
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
    /// Read-backs that waited for a mismatch to settle.
    #[serde(default)]
    pub settle_waits: u64,
    /// State checks whose violation a mismatch proved by outliving the whole settle time:
    /// later mismatches of these were judged on one read, not waited for (and still counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proven: Vec<ProvenViolation>,
    /// Mismatches judged on one read because their check's violation was already proven.
    #[serde(default)]
    pub unsettled: u64,
}

/// A state check whose violation a read-back proved; later reads stopped waiting for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProvenViolation {
    /// The check.
    pub check: String,
    /// The item whose mismatch outlived the settle time.
    pub item: String,
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
    /// The calls exercised and the ids discovered.
    #[serde(default)]
    pub calls: CallCoverage,
    /// Seller whose catalog entries were used.
    pub seller: Option<String>,
    /// What `--restore` did.
    pub restore: Option<RestoreResult>,
    /// What the read-back saw, when stored stock could be read.
    #[serde(default)]
    pub read_back: Option<ReadBackSummary>,
    /// Why the run certified nothing: it stopped before judging anything (target unreachable,
    /// authentication failed, bad setting), or it completed but nothing could be exercised;
    /// absent otherwise.
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
    /// `unreachable`, `auth-failed`, `nothing-to-certify` (no published listing and no items
    /// given), `nothing-exercised` (the run completed, but most requests with the run's apiKey
    /// were refused, answered 5xx or throttled away) or `setting`.
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
            ConformError::NothingToCertify { .. } => "nothing-to-certify",
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
    /// Checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
    }
}
