//! The reports: the run's event stream ([`events`]), the console (progress bar and end-of-run
//! summary, [`console`]), the JSON report ([`report`]) with failures grouped by cause
//! ([`causes`]), JUnit XML ([`junit`]) and the self-contained HTML page ([`html`]).
//!
//! It does not run or judge anything: it renders a finished report, or the events of a running
//! one.

pub mod causes;
pub mod console;
pub mod events;
pub mod html;
pub mod junit;
pub mod report;
