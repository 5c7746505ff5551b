//! # stockwire-conform
//!
//! The conformance runner: it tells a marketplace team whether its `POST /updateInventory`
//! keeps the contract, and if not, exactly which minimal request breaks which check.
//!
//! It owns:
//! - case generation from the contract of a profile and the partner's catalog ([`cases`]),
//!   driven by one seeded proptest runner, with shrinking;
//! - classification of a request as sent ([`classify`]) and the checks ([`checks`]), each in its
//!   own module with a stable id, severity and rationale (the semantic rules come from
//!   `stockwire-schema`);
//! - the HTTP client (hyper + rustls, time-outs, size cap, rate ceiling, extra headers, CA
//!   bundle) and curl reproducers ([`http`]), reaching partners through HTTP(S)_PROXY ([`proxy`]);
//! - the engine ([`runner`]), its event stream ([`events`]), the report ([`report`]), the
//!   grouping of failures by cause ([`causes`]) and the report writers ([`console`], [`junit`],
//!   [`html`]), run configuration ([`config`]) and [`replay`].
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

pub mod cases;
pub mod causes;
pub mod checks;
pub mod classify;
pub mod config;
pub mod console;
pub mod error;
pub mod events;
pub mod html;
pub mod http;
pub mod junit;
pub mod observe;
pub mod probe;
pub mod proxy;
pub mod redact;
pub mod replay;
pub mod report;
pub mod restore;
pub mod runner;
pub mod state;

pub use config::{ConfigFile, Credentials, FailOn, Policies, ReportSpec, RunOptions};
pub use error::ConformError;
pub use report::Report;
pub use runner::run;
