//! # stockwire-conform
//!
//! The conformance runner: it tells a marketplace team whether its `POST /updateInventory`
//! keeps the contract, and if not, exactly which minimal request breaks which check.
//!
//! The source is grouped by role, each folder with a `mod.rs` that says what it owns:
//! - `engine/`: the catalog flow that discovers the seller's items ([`discovery`]), case
//!   generation from the contract of a profile and the catalog ([`cases`]), driven by one seeded
//!   proptest runner, with shrinking; the run itself ([`runner`]) and [`replay`]; and the
//!   calls of the update's shape beyond the inventory push, run from their definition alone
//!   ([`family`]);
//! - `checks/`: the classification of a request as sent ([`classify`]) and the checks
//!   ([`checks`]), each in its own module with a stable id, severity and rationale (the semantic
//!   rules come from `stockwire-schema`);
//! - `readers/`: what the partner stored, read back through the `--stock-probe` ([`probe`]),
//!   the partner's listing ([`listing`]) or the mock's ledger ([`observe`]), judged per case
//!   ([`state`]), and `--restore` ([`restore`]);
//! - `client/`: the HTTP client (hyper + rustls, time-outs, size cap, rate ceiling, extra
//!   headers, CA bundle) and curl reproducers ([`http`]), reaching partners through
//!   HTTP(S)_PROXY ([`proxy`]), secrets redacted ([`redact`]);
//! - `reports/`: the event stream and its sinks ([`events`]), the report ([`report`]), the
//!   grouping of failures by cause ([`causes`]), the one view of a finished run ([`view`]) and
//!   the writers that render it ([`console`], [`junit`], [`html`]);
//! - `model/`: the plain data several layers share (the policies, the words a check is
//!   described with, the report's data types);
//! - `config/`: every run option defined once, the layers they come from and where they merge,
//!   and the resolved [`RunOptions`] ([`config`]);
//! - single files: errors ([`error`]) and `text` (a partner's text shown safely).
//!
//! Layers, each using only layers after it in this order (never one before it): `engine`,
//! `reports`, [`config`], `readers`, `checks`, `model`, `text`, `client`, [`error`].
//!
//! The folders are private; each module keeps its public path at the crate root
//! (`stockwire_conform::runner`, `stockwire_conform::console`, …).
//!
//! It does not own the contract (that is `stockwire-schema`) nor a marketplace: it knows only
//! URLs. The CLI starts the embedded `stockwire-mock` when no target is given.
//!
//! ```no_run
//! # async fn demo() -> Result<(), stockwire_conform::ConformError> {
//! use stockwire_conform::{RunOptions, Credentials, events::NoSink};
//!
//! let mut opts = RunOptions::new("http://127.0.0.1:8080");
//! opts.credentials = Credentials::ApiKey("token".into());
//! opts.seed = 7;
//! opts.cases = 100;
//! let report = stockwire_conform::run(opts, &mut NoSink).await?;
//! for failure in &report.failures {
//!     println!("{}: {}\n  {}", failure.check, failure.message, failure.curl[0]);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod checks;
mod client;
pub mod config;
mod engine;
pub mod error;
mod model;
mod readers;
mod reports;
mod text;

pub use checks::classify;
pub use client::{http, key, proxy, redact, throttle};
pub use engine::{cases, discovery, family, replay, runner};
pub use readers::{listing, observe, probe, restore, state};
pub use reports::{causes, console, events, html, junit, report, view};

pub use config::{ConfigFile, Credentials, FailOn, Policies, ReportSpec, RunOptions};
pub use error::ConformError;
pub use report::Report;
pub use runner::run;
