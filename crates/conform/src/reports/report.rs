//! The JSON report: the run's result as one [`Report`] (its data types are defined in
//! `model::report` and re-exported here, their public home), the report of a run that could
//! not be carried out, the finishing touches the engine's report gets (failures grouped by
//! cause, extra headers in the curl reproducers), reading and writing it, and its JSON Schema
//! (`schemas/report.schema.json`).

use std::path::Path;

use crate::checks::Gap;
use crate::config::RunOptions;
use crate::error::ConformError;
pub use crate::model::report::{
    CASE_BODY_BUDGET, CatalogItem, Cause, CheckResult, CheckStatus, Choice, CoverageGap,
    CoverageReason, FailingCase, Failure, LatencyRow, MAX_CASES_KEPT, ProvenViolation,
    REPORT_FORMAT, ReadBackSummary, RecordedExchange, Report, RestoreResult, RunError, Settings,
    ShrinkInfo, Summary, ToolInfo,
};

impl Settings {
    /// The settings a run was given, as the report records them.
    pub fn of(opts: &RunOptions) -> Settings {
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

impl From<&Gap> for CoverageGap {
    fn from(g: &Gap) -> Self {
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

/// The catalog a run used, in the catalog format (`--report catalog=PATH`): each item's ids,
/// the stock it held before the run (the listed stock, with discovery), its SKU code and the
/// seller.
pub fn catalog_file(report: &Report) -> String {
    let entries = report
        .catalog
        .iter()
        .map(|c| stockwire_schema::CatalogEntry {
            stock: c.stock,
            sku: c.sku.clone(),
            seller: report.seller.clone(),
            ..stockwire_schema::CatalogEntry::new(&c.product_id, &c.variant_id)
        })
        .collect();
    let catalog = stockwire_schema::Catalog { entries };
    serde_json::to_string_pretty(&catalog).unwrap_or_else(|_| "[]".into()) + "\n"
}

impl Report {
    /// The report of a run that could not be carried out: every check skipped, the error recorded,
    /// `exit_code` the command's exit code (2 or 3).
    pub fn errored(opts: &RunOptions, error: &ConformError, exit_code: u8) -> Report {
        let reason = format!("not run: {error}");
        let checks = crate::checks::registry()
            .iter()
            .map(|c| CheckResult {
                id: c.id.into(),
                severity: c.severity.to_string(),
                category: c.category,
                call: crate::checks::call_of(c).into(),
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
            calls: Default::default(),
            seller: opts.seller.clone(),
            restore: None,
            read_back: None,
            error: Some(RunError::from_error(error)),
            causes: Vec::new(),
            // Nothing ran: every check is already skipped with the error as its reason.
            coverage: Vec::new(),
            repeat_command: opts.repeat_command.clone(),
            replay_of: None,
        }
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
pub fn finish(mut report: Report, opts: &RunOptions) -> Report {
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
