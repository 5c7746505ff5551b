//! The runner's event stream, and its sinks: the console ([`crate::console::ConsoleSink`]), the
//! report files ([`ReportFile`]: JSON, JUnit, HTML), tests ([`Recorder`]). Every writer renders
//! the one view of the finished run ([`RunView`]) that the stream ends with, computed once.

use std::path::PathBuf;

use crate::config::ReportSpec;
use crate::error::ConformError;
use crate::model::report::{CoverageGap, Report};
use crate::reports::view::RunView;

/// Something that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// The run starts.
    Started {
        /// Target label.
        target: &'a str,
        /// Seed.
        seed: u64,
        /// Case budget, when counted in cases.
        cases: Option<u64>,
        /// Checks skipped or weakened for lack of a catalog, credentials or a stock probe.
        coverage: &'a [CoverageGap],
    },
    /// A case finished.
    Progress {
        /// Cases done.
        cases: u64,
        /// Requests sent so far.
        requests: u64,
        /// Failed check evaluations so far.
        violations: u64,
    },
    /// A phase begins (shrinking, auth probes, restore).
    Phase(&'a str),
    /// A warning about the run's strength.
    Warning(&'a str),
    /// Something the user must know as it happens (the discovered catalog's size, that the run
    /// changes stock, that state checks stop after repeated probe errors): one line, printed
    /// as given (a warning starts with `warning:`) unless the run is quiet.
    Notice(&'a str),
    /// The run is over (or could not be carried out): its report and the view of it.
    Finished {
        /// The report.
        report: &'a Report,
        /// The view every writer renders.
        view: &'a RunView,
    },
}

/// Ends a stream: builds the view of `report` once and hands both to `sink`.
pub fn finish(report: &Report, sink: &mut dyn EventSink) {
    let view = RunView::of(report);
    sink.event(&Event::Finished {
        report,
        view: &view,
    });
}

/// A consumer of events.
pub trait EventSink {
    /// Handles one event.
    fn event(&mut self, e: &Event<'_>);
}

/// A sink that ignores everything.
#[derive(Debug, Default)]
pub struct NoSink;

impl EventSink for NoSink {
    fn event(&mut self, _: &Event<'_>) {}
}

/// A sink that keeps a copy of every warning and phase (for tests and embedding).
#[derive(Debug, Default)]
pub struct Recorder {
    /// Warnings seen.
    pub warnings: Vec<String>,
    /// Phases seen.
    pub phases: Vec<String>,
    /// Notices seen.
    pub notices: Vec<String>,
    /// Progress events seen.
    pub progress: u64,
}

impl EventSink for Recorder {
    fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::Warning(w) => self.warnings.push(w.to_string()),
            Event::Phase(p) => self.phases.push(p.to_string()),
            Event::Notice(n) => self.notices.push(n.to_string()),
            Event::Progress { .. } => self.progress += 1,
            _ => {}
        }
    }
}

/// Several sinks, each given every event in turn.
pub struct Tee<'a>(pub Vec<&'a mut dyn EventSink>);

impl EventSink for Tee<'_> {
    fn event(&mut self, e: &Event<'_>) {
        for sink in &mut self.0 {
            sink.event(e);
        }
    }
}

/// A report file, written when the stream ends.
#[derive(Debug)]
pub struct ReportFile {
    /// Which format, and where.
    pub spec: ReportSpec,
    /// The path written, or why it could not be; `None` until the stream ends.
    pub written: Option<Result<PathBuf, ConformError>>,
}

impl ReportFile {
    /// A report file to write.
    pub fn new(spec: ReportSpec) -> Self {
        ReportFile {
            spec,
            written: None,
        }
    }
}

impl EventSink for ReportFile {
    fn event(&mut self, e: &Event<'_>) {
        let Event::Finished { report, view } = e else {
            return;
        };
        let (path, text) = match &self.spec {
            ReportSpec::Json(p) => (p, report.to_json()),
            ReportSpec::Junit(p) => (p, crate::reports::junit::render(view)),
            ReportSpec::Html(p) => (p, crate::reports::html::render(view)),
            ReportSpec::Catalog(p) => (p, crate::reports::report::catalog_file(report)),
        };
        self.written = Some(crate::reports::report::write_file(path, &text).map(|_| path.clone()));
    }
}
