//! The reports: the run's event stream and its sinks ([`events`]), the one view of a finished
//! run that every writer renders ([`view`]), the console (progress bar and end-of-run summary,
//! [`console`]), the JSON report ([`report`]) with failures grouped by cause ([`causes`]),
//! JUnit XML ([`junit`]) and the self-contained HTML page ([`html`]).
//!
//! It does not run or judge anything: it renders a finished report, or the events of a running
//! one. The report's data types are plain data in `model::report`, re-exported by [`report`].
//!
//! It uses `config` (a report records the run's settings; a report file is named by its
//! spec), `readers` (the read-back's sampling words), `checks` (the registry, for a run that
//! could not be carried out), `model`, `text`, `client` and `error`; never the engine, which
//! emits the events and hands over the report. Inside: `report` uses `causes`; `view` uses only
//! the model and `text`; `console`, `junit` and `html` render the `view` (and the console reads
//! `events`); `events` ends a stream with the `view` and writes report files through the
//! writers; `causes` uses only the model.

pub mod causes;
pub mod console;
pub mod events;
pub mod html;
pub mod junit;
pub mod report;
pub mod view;
