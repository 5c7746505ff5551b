//! The console: a live progress bar (an [`EventSink`]) and the end-of-run summary text. The
//! helpers that show a partner's text safely ([`escape`], [`outcome_line`]) are defined below the
//! console, where the stock probe and the restore use them too, and re-exported here.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::report::{CheckStatus, CoverageGap, Report};
use crate::model::vocabulary::{Loss, Resource};
use crate::reports::events::{Event, EventSink};
use crate::text::clip;
pub use crate::text::{escape, outcome_line};

/// Progress bar on standard error (hidden when it is not a terminal).
#[derive(Debug, Default)]
pub struct ConsoleSink {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl ConsoleSink {
    /// A sink; `quiet` hides the bar.
    pub fn new(quiet: bool) -> Self {
        ConsoleSink { bar: None, quiet }
    }
}

impl EventSink for ConsoleSink {
    fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::Started {
                target,
                cases,
                coverage,
                ..
            } => {
                // Coverage comes first, quiet or not: a run that cannot check something must
                // say so before any result is read.
                let text = coverage_lines(target, coverage);
                if !text.is_empty() {
                    eprint!("{text}");
                }
                if self.quiet {
                    return;
                }
                let bar = match cases {
                    Some(n) => {
                        ProgressBar::with_draw_target(Some(*n), ProgressDrawTarget::stderr())
                    }
                    None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                };
                let style = ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cases · {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bar = Some(bar);
            }
            Event::Progress {
                cases,
                requests,
                violations,
            } => {
                if let Some(b) = &self.bar {
                    b.set_position(*cases);
                    b.set_message(format!("{requests} requests · {violations} violations"));
                }
            }
            Event::Phase(p) => {
                if let Some(b) = &self.bar {
                    b.set_message(p.to_string());
                }
            }
            Event::Warning(_) => {}
            Event::Finished(_) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}

/// The coverage lines printed at the start of a run: per missing resource, how to provide it,
/// then each check it skips or weakens and why. Empty when the run can carry out every check.
pub fn coverage_lines(target: &str, coverage: &[CoverageGap]) -> String {
    let mut s = String::new();
    if coverage.is_empty() {
        return s;
    }
    let mut resources: Vec<Resource> = coverage
        .iter()
        .flat_map(|g| g.reasons.iter().map(|r| r.missing))
        .collect();
    resources.sort();
    resources.dedup();
    let _ = writeln!(s, "coverage of this run against {target}:");
    for r in resources {
        let _ = writeln!(s, "  {} ({}):", r.missing(), r.remedy());
        for g in coverage {
            for reason in g.reasons.iter().filter(|x| x.missing == r) {
                let word = match reason.effect {
                    Loss::Skipped => "skipped ",
                    Loss::Weakened => "weakened",
                };
                let _ = writeln!(s, "    {word} {:<26} {}", g.check, reason.why);
            }
        }
    }
    s
}

/// The end-of-run summary: per-check table, each failure with its minimal request, response and
/// curl reproducer, the partner's choices, latency and warnings.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "stockwire conform: {} (profile {}, seed {})",
        report.target, report.profile, report.seed
    );
    let sm = &report.summary;
    let _ = writeln!(
        s,
        "{} cases, {} requests in {:.1} s ({:.0} cases/s, {:.0} requests/s)\n",
        sm.cases,
        sm.requests,
        sm.duration_ms as f64 / 1000.0,
        sm.cases_per_sec,
        sm.requests_per_sec
    );
    let _ = writeln!(
        s,
        "{:<27} {:<6} {:>7} {:>7}  RESULT",
        "CHECK", "SEV", "PASSED", "FAILED"
    );
    for c in &report.checks {
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
            CheckStatus::Skipped => format!("skipped: {}", c.skip_reason.as_deref().unwrap_or("")),
        };
        let _ = writeln!(
            s,
            "{:<27} {:<6} {:>7} {:>7}  {result}",
            c.id, c.severity, c.passed, c.failed
        );
    }
    if !report.causes.is_empty() {
        let _ = writeln!(
            s,
            "\nCauses ({} failed checks from {} causes):",
            report.failures.len(),
            report.causes.len()
        );
        for c in &report.causes {
            let _ = writeln!(s, "  {}. [{}] {}", c.id, c.severity, c.message);
            let _ = writeln!(s, "     checks: {}", c.checks.join(", "));
            for h in &c.hints {
                let _ = writeln!(s, "     hint: {h}");
            }
        }
    }
    if !report.failures.is_empty() {
        let _ = writeln!(s, "\nFailures (minimal requests):");
    }
    for f in &report.failures {
        let _ = writeln!(
            s,
            "\n✗ [{}] {}: {}",
            f.severity,
            f.check,
            escape(&f.message)
        );
        let shrink = f
            .shrink
            .as_ref()
            .filter(|i| i.steps > 0)
            .map(|i| {
                format!(
                    ", shrunk from {} to {} items in {} steps",
                    i.original_items, i.final_items, i.steps
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  case {} ({}){shrink}; {} failure(s) in the run",
            f.case_index, f.case_kind, f.occurrences
        );
        for (e, curl) in f.exchanges.iter().zip(&f.curl) {
            let _ = writeln!(
                s,
                "  request:   {} {}",
                e.request.method,
                escape(&e.request.url)
            );
            let _ = writeln!(s, "             {}", clip(&e.request.body, 600));
            let _ = writeln!(s, "  response:  {}", outcome_line(&e.outcome));
            let _ = writeln!(s, "  reproduce: {}", clip(curl, 800));
        }
    }
    if !report.choices.is_empty() {
        let _ = writeln!(
            s,
            "\nPartner choices (allowed differences, not violations):"
        );
        for c in &report.choices {
            let _ = writeln!(s, "  {:<24} {} ({}×)", c.topic, escape(&c.choice), c.count);
        }
    }
    if !report.latency.is_empty() {
        let _ = writeln!(s, "\nLatency by batch size (ms):");
        let _ = writeln!(
            s,
            "  {:<10} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "ITEMS", "N", "p50", "p90", "p99", "max", "budget"
        );
        for l in &report.latency {
            let _ = writeln!(
                s,
                "  {:<10} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.0}",
                l.batch_sizes, l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.budget_ms
            );
        }
    }
    if let Some(b) = &report.read_back {
        let _ = writeln!(
            s,
            "\nRead-back: {} of {} cases ({}), {} reads through {}; longest settle {:.0} ms (--stock-settle {} ms){}",
            b.cases_read,
            report.summary.cases,
            b.selection(),
            b.reads,
            escape(&b.reader),
            b.settle_max_ms,
            b.settle_ms,
            if b.errors > 0 {
                format!("; {} probe error(s)", b.errors)
            } else {
                String::new()
            }
        );
    }
    if let Some(b) = report.read_back.as_ref().filter(|b| !b.kinds.is_empty()) {
        let _ = writeln!(s, "  kinds read back: {}", escape(&b.kinds.join(", ")));
    }
    if let Some(r) = &report.restore {
        let what = if r.source == "read-back" {
            "the stock read before the run touched them"
        } else {
            "their stated stock"
        };
        let _ = writeln!(
            s,
            "\nRestore: {} items set back to {what}, {} refused, {} without a stated stock",
            r.restored, r.failed, r.without_stock
        );
        for i in &r.not_restored {
            let _ = writeln!(s, "  not restored: {}", escape(i));
        }
        for i in &r.never_set {
            let _ = writeln!(
                s,
                "  never set before the run (cannot be unset through /updateInventory): {}",
                escape(i)
            );
        }
    }
    for w in &report.warnings {
        let _ = writeln!(s, "\nwarning: {}", escape(w));
    }
    let passed = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Passed)
        .count();
    let skipped = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Skipped)
        .count();
    let _ = writeln!(
        s,
        "\nResult: {} checks failed ({} MUST), {passed} passed, {skipped} skipped; exit code {}. Repeat with --seed {}.",
        sm.failed_checks, sm.failed_must, sm.exit_code, report.seed
    );
    s
}
