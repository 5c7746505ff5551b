//! One view of a finished run ([`RunView`]), computed once from its [`Report`]: every text a
//! person reads (the heading and totals, each check's result, the causes, each failure's
//! headline, case line with its shrink, request, response and curl reproducer, the coverage,
//! the partner's choices, the latency rows, the read-back and restore summaries, the warnings,
//! the verdict and the result line) is formatted here and nowhere else. The console, JUnit and
//! HTML writers lay the view out and escape it for their medium; the JSON report is the report
//! the view is computed from.
//!
//! The texts are unescaped: a partner's words reach each writer as sent.

use crate::model::report::{
    CheckStatus, CoverageGap, LatencyRow, ReadBackSummary, Report, RestoreResult,
};
use crate::model::vocabulary::{Category, Loss, Resource};
use crate::text::{one_line, outcome_parts};

/// A finished run as people read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// `stockwire conform`, or `stockwire conform replay` for a replay's report.
    pub title: &'static str,
    /// What was checked: the target's label or URL.
    pub target: String,
    /// Contract version.
    pub profile: String,
    /// The seed.
    pub seed: u64,
    /// `stockwire conform: TARGET (profile P, seed S)`.
    pub heading: String,
    /// `N cases, N requests in T s (R cases/s, R requests/s)`.
    pub totals: String,
    /// Cases run.
    pub cases: u64,
    /// Requests sent.
    pub requests: u64,
    /// Wall-clock time in milliseconds.
    pub duration_ms: u64,
    /// `T s`: the run's duration in seconds.
    pub seconds: String,
    /// The verdict: passed, failed or not run, in words.
    pub verdict: Verdict,
    /// The exit code the run maps to.
    pub exit_code: u8,
    /// Why the run could not be carried out: the error's kind and message.
    pub error: Option<(String, String)>,
    /// Set for a replay's report: `replay of PATH: only its failing cases were re-sent`.
    pub replay_of: Option<(String, &'static str)>,
    /// Every check's row, in registry order.
    pub checks: Vec<CheckRow>,
    /// `Causes (N failed checks from M causes):`, when failures share causes.
    pub causes_heading: Option<String>,
    /// The causes.
    pub causes: Vec<CauseView>,
    /// Each failed check's minimal failing case.
    pub failures: Vec<FailureView>,
    /// Checks this run could not carry out in full.
    pub coverage: CoverageView,
    /// The calls of the family exercised and not certified, and the ids discovered, one line
    /// each (empty for a report without them).
    pub calls: Vec<String>,
    /// The partner's choices where the contract allows several.
    pub choices: Vec<ChoiceRow>,
    /// Latency per batch size.
    pub latency: Vec<LatencyView>,
    /// The raw latency rows (the HTML chart plots them).
    pub latency_rows: Vec<LatencyRow>,
    /// What the read-back saw.
    pub read_back: Option<ReadBackView>,
    /// What `--restore` did.
    pub restore: Option<RestoreView>,
    /// Why the run may be weaker than it looks.
    pub warnings: Vec<String>,
    /// `Result: N checks failed (M MUST), P passed, S skipped; exit code E. Repeat with --seed S.`
    pub result: String,
    /// The command line that repeats the run.
    pub repeat_command: Option<String>,
    /// The producing tools: name, version, schema version, report format.
    pub tool: (String, String, String, u32),
}

/// How the run ended, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    /// No check failed.
    Pass,
    /// Some check failed.
    Fail,
    /// The run could not be carried out.
    Error,
}

/// The verdict line: its kind and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Passed, failed or not run.
    pub kind: VerdictKind,
    /// `No violation found`, `2 checks failed (1 MUST)` or `Not run: …`.
    pub text: String,
}

/// One check's row.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    /// Stable id.
    pub id: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// What the check looks at.
    pub category: Category,
    /// The call it judges (`authentication`, `count`, `listing`, `update`).
    pub call: String,
    /// Passed, failed or skipped.
    pub status: CheckStatus,
    /// Evaluations that passed.
    pub passed: u64,
    /// Evaluations that failed.
    pub failed: u64,
    /// `passed`, `passed (weakened without a catalog)`, `FAILED` or `skipped: why`.
    pub result: String,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
    /// `F of N evaluations failed`.
    pub evaluations: String,
}

/// One cause: failed checks from the same exchanges.
#[derive(Debug, Clone, PartialEq)]
pub struct CauseView {
    /// 1-based number.
    pub number: u32,
    /// The most severe of its checks.
    pub severity: String,
    /// The headline.
    pub message: String,
    /// Its checks, the headline's first.
    pub checks: Vec<String>,
    /// Known defect patterns that fit.
    pub hints: Vec<String>,
}

/// One failed check's minimal failing case.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureView {
    /// Check id.
    pub check: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// `case 3 (unknown-items)`.
    pub case: String,
    /// `shrunk from 5 to 2 items in 4 steps`, when shrinking changed anything.
    pub shrink: Option<String>,
    /// `case 3 (unknown-items), shrunk from 5 to 2 items in 4 steps; 8 failure(s) in the run`.
    pub case_line: String,
    /// The exchanges of the minimal case, in order.
    pub exchanges: Vec<ExchangeView>,
    /// Every failing case kept in the report, as sent (the HTML lists them collapsed).
    pub cases: Vec<CaseView>,
    /// Failing cases beyond those kept.
    pub more_cases: u64,
}

/// One failing case of a check, as the run sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// `case 12 (negative:inventory): what is wrong`.
    pub title: String,
    /// Its exchanges.
    pub exchanges: Vec<ExchangeView>,
}

/// One request and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeView {
    /// `POST URL`.
    pub request: String,
    /// The request body.
    pub body: String,
    /// The response's head (`HTTP 200 application/json`) or the transport failure.
    pub response: String,
    /// The response body, when there is a response.
    pub response_body: Option<String>,
    /// The curl command that repeats the request (secrets as variables).
    pub curl: Option<String>,
}

impl ExchangeView {
    /// The response on one line, for plain text: escaped, the body clipped.
    pub fn response_line(&self) -> String {
        one_line(&self.response, self.response_body.as_deref())
    }
}

/// The checks a run could not carry out in full, grouped by what it lacks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageView {
    /// `coverage of this run against TARGET:`.
    pub heading: String,
    /// One group per missing resource.
    pub groups: Vec<CoverageGroup>,
}

/// The checks one missing resource skips or weakens.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageGroup {
    /// `without a catalog`.
    pub missing: &'static str,
    /// How to provide it.
    pub remedy: &'static str,
    /// Each check it skips or weakens.
    pub rows: Vec<CoverageRow>,
}

/// One check a missing resource skips or weakens.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    /// Check id.
    pub check: String,
    /// MUST or SHOULD.
    pub severity: String,
    /// `skipped` or `weakened`.
    pub effect: &'static str,
    /// Why.
    pub why: String,
}

/// One choice the partner made.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRow {
    /// Which difference.
    pub topic: String,
    /// The choice seen.
    pub choice: String,
    /// How often.
    pub count: u64,
}

/// One batch-size bucket's latency, in milliseconds as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyView {
    /// Batch sizes, e.g. `2-10`.
    pub batch_sizes: String,
    /// Responses measured.
    pub count: u64,
    /// Median.
    pub p50: String,
    /// 90th percentile.
    pub p90: String,
    /// 99th percentile.
    pub p99: String,
    /// Maximum.
    pub max: String,
    /// The p99 budget.
    pub budget: String,
}

/// What the read-back saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBackView {
    /// What was read (the probe command or the ledger URL).
    pub reader: String,
    /// `6 of 60 cases (sampled: …)`.
    pub cases: String,
    /// Reads made.
    pub reads: u64,
    /// The kinds of case read back, with a sample.
    pub kinds: Vec<String>,
    /// `0 ms (--stock-settle 2000 ms)`.
    pub settle: String,
    /// Probe errors.
    pub errors: u64,
    /// `Read-back: 6 of 60 cases (…), 114 reads through …; longest settle 0 ms (…)`.
    pub line: String,
    /// Why later mismatches were not waited for: a line per check whose violation was proven.
    pub stopped_waiting: Vec<String>,
}

/// What `--restore` did.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreView {
    /// `Restore: N items set back to …, N refused, N without a stated stock`.
    pub line: String,
    /// Items that could not be restored.
    pub not_restored: Vec<String>,
    /// Items that had never been set before the run.
    pub never_set: Vec<String>,
    /// What a never-set item is, in words.
    pub never_set_label: &'static str,
}

impl RunView {
    /// The view of `report`.
    pub fn of(report: &Report) -> RunView {
        let sm = &report.summary;
        let seconds = format!("{:.1} s", sm.duration_ms as f64 / 1000.0);
        let count = |s: CheckStatus| report.checks.iter().filter(|c| c.status == s).count();
        RunView {
            title: if report.replay_of.is_some() {
                "stockwire conform replay"
            } else {
                "stockwire conform"
            },
            target: report.target.clone(),
            profile: report.profile.clone(),
            seed: report.seed,
            heading: format!(
                "stockwire conform: {} (profile {}, seed {})",
                report.target, report.profile, report.seed
            ),
            totals: format!(
                "{} cases, {} requests in {seconds} ({:.0} cases/s, {:.0} requests/s)",
                sm.cases, sm.requests, sm.cases_per_sec, sm.requests_per_sec
            ),
            cases: sm.cases,
            requests: sm.requests,
            duration_ms: sm.duration_ms,
            seconds,
            verdict: verdict(report),
            exit_code: sm.exit_code,
            error: report
                .error
                .as_ref()
                .map(|e| (e.kind.clone(), e.message.clone())),
            replay_of: report
                .replay_of
                .clone()
                .map(|of| (of, "only its failing cases were re-sent")),
            checks: check_rows(report),
            causes_heading: (!report.causes.is_empty()).then(|| {
                format!(
                    "Causes ({} failed checks from {} causes):",
                    report.failures.len(),
                    report.causes.len()
                )
            }),
            causes: report
                .causes
                .iter()
                .map(|c| CauseView {
                    number: c.id,
                    severity: c.severity.clone(),
                    message: c.message.clone(),
                    checks: c.checks.clone(),
                    hints: c.hints.clone(),
                })
                .collect(),
            failures: report.failures.iter().map(failure_view).collect(),
            coverage: CoverageView::of(&report.target, &report.coverage),
            calls: call_lines(&report.calls),
            choices: report
                .choices
                .iter()
                .map(|c| ChoiceRow {
                    topic: c.topic.clone(),
                    choice: c.choice.clone(),
                    count: c.count,
                })
                .collect(),
            latency: report.latency.iter().map(latency_view).collect(),
            latency_rows: report.latency.clone(),
            read_back: report
                .read_back
                .as_ref()
                .map(|b| read_back_view(b, sm.cases)),
            restore: report.restore.as_ref().map(restore_view),
            warnings: report.warnings.clone(),
            result: format!(
                "Result: {} checks failed ({} MUST), {} passed, {} skipped; exit code {}. Repeat with --seed {}.",
                sm.failed_checks,
                sm.failed_must,
                count(CheckStatus::Passed),
                count(CheckStatus::Skipped),
                sm.exit_code,
                report.seed
            ),
            repeat_command: report.repeat_command.clone(),
            tool: (
                report.tool.name.clone(),
                report.tool.version.clone(),
                report.tool.schema_version.clone(),
                report.format,
            ),
        }
    }
}

fn verdict(report: &Report) -> Verdict {
    let sm = &report.summary;
    match (&report.error, sm.failed_checks) {
        (Some(e), _) if e.kind == "nothing-exercised" => Verdict {
            kind: VerdictKind::Error,
            text: format!("Nothing certified: {}", e.message),
        },
        (Some(e), _) => Verdict {
            kind: VerdictKind::Error,
            text: format!("Not run: {}", e.message),
        },
        (None, 0) => Verdict {
            kind: VerdictKind::Pass,
            text: "No violation found".into(),
        },
        (None, n) => Verdict {
            kind: VerdictKind::Fail,
            text: format!(
                "{n} check{} failed ({} MUST)",
                if n == 1 { "" } else { "s" },
                sm.failed_must
            ),
        },
    }
}

/// The calls exercised, those not certified, and what discovery found, one line each.
fn call_lines(c: &crate::model::report::CallCoverage) -> Vec<String> {
    let mut out = Vec::new();
    if c.exercised.is_empty() {
        return out;
    }
    out.push(format!("calls exercised: {}", c.exercised.join(", ")));
    for n in &c.not_certified {
        out.push(format!("not certified: {n}"));
    }
    if c.pages > 0 || c.count.is_some() {
        let count = c
            .count
            .map_or_else(|| "no valid count".to_string(), |n| format!("count {n}"));
        out.push(format!(
            "discovered: {} products, {} variants, {} pages ({count})",
            c.products, c.variants, c.pages
        ));
    }
    out
}

fn check_rows(report: &Report) -> Vec<CheckRow> {
    let mut rows = report
        .checks
        .iter()
        .map(|c| {
            let weakened = report
                .coverage
                .iter()
                .find(|g| g.check == c.id && g.effect == Loss::Weakened);
            let result = match c.status {
                CheckStatus::Passed => match weakened {
                    Some(g) => format!(
                        "passed (weakened {})",
                        g.reasons
                            .iter()
                            .map(|r| r.missing.missing())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "passed".to_string(),
                },
                CheckStatus::Failed => "FAILED".to_string(),
                CheckStatus::Skipped => {
                    format!("skipped: {}", c.skip_reason.as_deref().unwrap_or(""))
                }
            };
            CheckRow {
                id: c.id.clone(),
                severity: c.severity.clone(),
                category: c.category,
                call: if c.call.is_empty() {
                    crate::checks::find(&c.id)
                        .map_or("", crate::checks::call_of)
                        .to_string()
                } else {
                    c.call.clone()
                },
                status: c.status,
                passed: c.passed,
                failed: c.failed,
                result,
                skip_reason: c.skip_reason.clone(),
                evaluations: format!("{} of {} evaluations failed", c.failed, c.failed + c.passed),
            }
        })
        .collect::<Vec<CheckRow>>();
    // Grouped by call, in the order of Uniware's flow; registry order within a call.
    let groups = crate::checks::call_groups();
    rows.sort_by_key(|r| {
        groups
            .iter()
            .position(|g| *g == r.call)
            .unwrap_or(groups.len())
    });
    rows
}

fn failure_view(f: &crate::model::report::Failure) -> FailureView {
    let case = format!("case {} ({})", f.case_index, f.case_kind);
    let shrink = f.shrink.as_ref().filter(|i| i.steps > 0).map(|i| {
        format!(
            "shrunk from {} to {} items in {} steps",
            i.original_items, i.final_items, i.steps
        )
    });
    let case_line = format!(
        "{case}{}; {} failure(s) in the run",
        shrink
            .as_deref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default(),
        f.occurrences
    );
    FailureView {
        check: f.check.clone(),
        severity: f.severity.clone(),
        message: f.message.clone(),
        case,
        shrink,
        case_line,
        exchanges: exchange_views(&f.exchanges, &f.curl),
        cases: f
            .cases
            .iter()
            .map(|c| CaseView {
                title: format!("case {} ({}): {}", c.case_index, c.case_kind, c.message),
                exchanges: exchange_views(&c.exchanges, &c.curl),
            })
            .collect(),
        more_cases: f.more_cases,
    }
}

fn exchange_views(
    exchanges: &[crate::model::report::RecordedExchange],
    curl: &[String],
) -> Vec<ExchangeView> {
    exchanges
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let (response, body) = outcome_parts(&e.outcome);
            ExchangeView {
                request: format!("{} {}", e.request.method, e.request.url),
                body: e.request.body.clone(),
                response,
                response_body: body.map(str::to_string),
                curl: curl.get(k).cloned(),
            }
        })
        .collect()
}

impl CoverageView {
    /// The coverage of a run against `target`: per missing resource, how to provide it, then
    /// each check it skips or weakens and why. No groups when the run can carry out every check.
    pub fn of(target: &str, coverage: &[CoverageGap]) -> CoverageView {
        let mut resources: Vec<Resource> = coverage
            .iter()
            .flat_map(|g| g.reasons.iter().map(|r| r.missing))
            .collect();
        resources.sort();
        resources.dedup();
        CoverageView {
            heading: format!("coverage of this run against {target}:"),
            groups: resources
                .into_iter()
                .map(|r| CoverageGroup {
                    missing: r.missing(),
                    remedy: r.remedy(),
                    rows: coverage
                        .iter()
                        .flat_map(|g| {
                            g.reasons
                                .iter()
                                .filter(move |x| x.missing == r)
                                .map(move |x| CoverageRow {
                                    check: g.check.clone(),
                                    severity: g.severity.clone(),
                                    effect: match x.effect {
                                        Loss::Skipped => "skipped",
                                        Loss::Weakened => "weakened",
                                    },
                                    why: x.why.clone(),
                                })
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn latency_view(l: &LatencyRow) -> LatencyView {
    LatencyView {
        batch_sizes: l.batch_sizes.clone(),
        count: l.count,
        p50: format!("{:.1}", l.p50_ms),
        p90: format!("{:.1}", l.p90_ms),
        p99: format!("{:.1}", l.p99_ms),
        max: format!("{:.1}", l.max_ms),
        budget: format!("{:.0}", l.budget_ms),
    }
}

fn read_back_view(b: &ReadBackSummary, cases: u64) -> ReadBackView {
    let cases = format!("{} of {cases} cases ({})", b.cases_read, b.selection());
    let settle = format!(
        "{:.0} ms (--stock-settle {} ms)",
        b.settle_max_ms, b.settle_ms
    );
    let errors = if b.errors > 0 {
        format!("; {} probe error(s)", b.errors)
    } else {
        String::new()
    };
    ReadBackView {
        line: format!(
            "Read-back: {cases}, {} reads through {}; longest settle {settle}{errors}",
            b.reads, b.reader
        ),
        reader: b.reader.clone(),
        cases,
        reads: b.reads,
        kinds: b.kinds.clone(),
        settle,
        errors: b.errors,
        stopped_waiting: b
            .proven
            .iter()
            .map(|p| {
                format!(
                    "{}: proven when {} kept its value through the whole settle time; later mismatches of it were judged on one read, not waited for ({} in all, still counted)",
                    p.check, p.item, b.unsettled
                )
            })
            .collect(),
    }
}

fn restore_view(r: &RestoreResult) -> RestoreView {
    let what = match r.source.as_str() {
        "read-back" => "the stock read before the run touched them",
        "listing-plus-blocked" => {
            "their listed stock plus its blocked units (the listing shows the stock left after blockedInventory)"
        }
        _ => "their stated stock",
    };
    RestoreView {
        line: format!(
            "Restore: {} items set back to {what}, {} refused, {} without a stated stock",
            r.restored, r.failed, r.without_stock
        ),
        not_restored: r.not_restored.clone(),
        never_set: r.never_set.clone(),
        never_set_label: "never set before the run (cannot be unset through /updateInventory)",
    }
}
