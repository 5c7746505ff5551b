//! The readers: what the partner stored, read back after its answer. The stock probe
//! ([`probe`]: the user's command), the stockwire-mock ledger and the one interface over both
//! ([`observe`]), the read-back of each case judged by the state checks ([`state`]), and setting
//! stock back at the end of a run ([`restore`]), and the listing reader ([`listing`]: what the
//! marketplace shows, by SKU code).
//!
//! It does not own the state checks' verdicts (each state check judges one item in `checks`),
//! the choice of which cases are read back (the engine decides), nor how warnings are shown: a
//! reader reports errors as values (a probe's [`probe::ProbeError`], the read-back's error
//! list), and the engine turns them into warnings that the report and console render.
//!
//! It uses `checks`, `model`, `text` and `client`, never the engine nor the reports: restoring
//! sends through the [`restore::StockWriter`] it defines and the engine implements. Inside:
//! `restore` uses `state`, `state` uses `observe`, `observe` uses `probe` and `listing`.

pub mod listing;
pub mod observe;
pub mod probe;
pub mod restore;
pub mod state;
