//! The runner's event stream. Sinks (the console progress bar, tests) consume it; the JSON and
//! JUnit reports are written from the final [`crate::Report`] the stream ends with.

use crate::model::report::{CoverageGap, Report};

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
    /// The run is over.
    Finished(&'a Report),
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
    /// Progress events seen.
    pub progress: u64,
}

impl EventSink for Recorder {
    fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::Warning(w) => self.warnings.push(w.to_string()),
            Event::Phase(p) => self.phases.push(p.to_string()),
            Event::Progress { .. } => self.progress += 1,
            _ => {}
        }
    }
}
