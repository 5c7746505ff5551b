//! The console: a live progress bar (an [`EventSink`]) and the end-of-run summary text. The
//! helpers that show a partner's text safely ([`escape`], [`outcome_line`]) are defined below the
//! console, where the stock probe and the restore use them too, and re-exported here.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::report::{CoverageGap, Report};
use crate::reports::events::{Event, EventSink};
use crate::reports::view::{CoverageView, RunView};
use crate::text::{clip, elide_strings};

/// Values longer than this many characters are elided in the console.
const LONG: usize = 100;
pub use crate::text::{escape, outcome_line};

/// The console: coverage and a progress bar on standard error (the bar hidden when it is not a
/// terminal), and the end-of-run summary on standard output.
#[derive(Debug, Default)]
pub struct ConsoleSink {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// Why the summary could not be printed (a closed pipe, for one).
    pub error: Option<std::io::Error>,
}

impl ConsoleSink {
    /// A sink; `quiet` hides the bar.
    pub fn new(quiet: bool) -> Self {
        ConsoleSink {
            bar: None,
            quiet,
            error: None,
        }
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
            Event::Notice(n) => {
                if self.quiet {
                    return;
                }
                let line = crate::text::escape(n);
                match &self.bar {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Event::Finished { view, .. } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                let mut out = std::io::stdout().lock();
                if let Err(e) = out
                    .write_all(render(view).as_bytes())
                    .and_then(|_| out.flush())
                {
                    self.error = Some(e);
                }
            }
        }
    }
}

/// The coverage lines printed at the start of a run: per missing resource, how to provide it,
/// then each check it skips or weakens and why. Empty when the run can carry out every check.
pub fn coverage_lines(target: &str, coverage: &[CoverageGap]) -> String {
    render_coverage(&CoverageView::of(target, coverage))
}

fn render_coverage(c: &CoverageView) -> String {
    let mut s = String::new();
    if c.groups.is_empty() {
        return s;
    }
    let _ = writeln!(s, "{}", c.heading);
    for g in &c.groups {
        let _ = writeln!(s, "  {} ({}):", g.missing, g.remedy);
        for r in &g.rows {
            let _ = writeln!(s, "    {:<8} {:<26} {}", r.effect, r.check, r.why);
        }
    }
    s
}

/// The end-of-run summary of `report` (see [`render`]).
pub fn summary(report: &Report) -> String {
    render(&RunView::of(report))
}

/// The end-of-run summary: per-check table, each failure with its minimal request, response and
/// curl reproducer, the partner's choices, latency and warnings; a partner's text escaped and
/// long bodies clipped.
pub fn render(v: &RunView) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", v.heading);
    let _ = writeln!(s, "{}\n", v.totals);
    let _ = writeln!(
        s,
        "{:<27} {:<6} {:>7} {:>7}  RESULT",
        "CHECK", "SEV", "PASSED", "FAILED"
    );
    let mut call = "";
    for c in &v.checks {
        if c.call != call {
            call = &c.call;
            let _ = writeln!(s, "{call}:");
        }
        let _ = writeln!(
            s,
            "  {:<25} {:<6} {:>7} {:>7}  {}",
            c.id, c.severity, c.passed, c.failed, c.result
        );
    }
    if let Some(heading) = &v.causes_heading {
        let _ = writeln!(s, "\n{heading}");
        for c in &v.causes {
            // A cause's words may quote a partner: shown escaped, like the failure blocks.
            let _ = writeln!(s, "  {}. [{}] {}", c.number, c.severity, escape(&c.message));
            let _ = writeln!(s, "     checks: {}", c.checks.join(", "));
            for h in &c.hints {
                let _ = writeln!(s, "     hint: {}", escape(h));
            }
        }
    }
    if !v.failures.is_empty() {
        let _ = writeln!(s, "\nFailures (minimal requests):");
    }
    for f in &v.failures {
        let _ = writeln!(
            s,
            "\n✗ [{}] {}: {}",
            f.severity,
            f.check,
            escape(&f.message)
        );
        let _ = writeln!(s, "  {}", f.case_line);
        for e in &f.exchanges {
            let Some(curl) = &e.curl else { continue };
            let _ = writeln!(s, "  request:   {}", escape(&e.request));
            // Long values elided (`"xxxx…" (3,117 chars)`); the reports keep them whole.
            let _ = writeln!(
                s,
                "             {}",
                clip(&elide_strings(&e.body, LONG), 600)
            );
            let _ = writeln!(s, "  response:  {}", e.response_line());
            let shown = elide_strings(curl, LONG);
            let _ = writeln!(s, "  reproduce: {}", clip(&shown, 800));
            if shown.len() != curl.len() {
                let _ = writeln!(
                    s,
                    "             (long values elided; the JSON and HTML reports keep them whole)"
                );
            }
        }
    }
    if !v.calls.is_empty() {
        let _ = writeln!(s, "\nCalls:");
        for l in &v.calls {
            let _ = writeln!(s, "  {}", escape(l));
        }
    }
    if !v.choices.is_empty() {
        let _ = writeln!(
            s,
            "\nPartner choices (allowed differences, not violations):"
        );
        for c in &v.choices {
            let _ = writeln!(s, "  {:<24} {} ({}×)", c.topic, escape(&c.choice), c.count);
        }
    }
    if !v.latency.is_empty() {
        let _ = writeln!(s, "\nLatency by batch size (ms):");
        let _ = writeln!(
            s,
            "  {:<10} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "ITEMS", "N", "p50", "p90", "p99", "max", "budget"
        );
        for l in &v.latency {
            let _ = writeln!(
                s,
                "  {:<10} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
                l.batch_sizes, l.count, l.p50, l.p90, l.p99, l.max, l.budget
            );
        }
    }
    if let Some(b) = &v.read_back {
        let _ = writeln!(s, "\n{}", escape(&b.line));
        if !b.kinds.is_empty() {
            let _ = writeln!(s, "  kinds read back: {}", escape(&b.kinds.join(", ")));
        }
        for w in &b.stopped_waiting {
            let _ = writeln!(s, "  settle stopped: {}", escape(w));
        }
    }
    if let Some(r) = &v.restore {
        let _ = writeln!(s, "\n{}", r.line);
        for i in &r.not_restored {
            let _ = writeln!(s, "  not restored: {}", escape(i));
        }
        for i in &r.never_set {
            let _ = writeln!(s, "  {}: {}", r.never_set_label, escape(i));
        }
    }
    for w in &v.warnings {
        let _ = writeln!(s, "\nwarning: {}", escape(w));
    }
    // A run that completed but certified nothing says so above its result (exit 3).
    if v.error
        .as_ref()
        .is_some_and(|(kind, _)| kind == "nothing-exercised")
    {
        let _ = writeln!(s, "\n{}", escape(&v.verdict.text));
    }
    let _ = writeln!(s, "\n{}", v.result);
    s
}
