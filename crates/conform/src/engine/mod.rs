//! The engine: it draws cases ([`cases`]), sends them with bounded concurrency, has every
//! exchange judged through the check registry, shrinks each failed check's first failing case,
//! drives the read-back and the restore, and assembles the run's report ([`runner`]). Replaying
//! an earlier report ([`replay`]) lives here too: it re-runs recorded requests through the same
//! engine.
//!
//! It does not own what a check judges (`checks`), how stored stock is read (`readers`), how
//! requests travel (`client`) nor how a report is written (`reports`): it uses them all, and none
//! of them uses it.

pub mod cases;
pub mod replay;
pub mod runner;
