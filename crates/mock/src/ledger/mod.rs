//! The ledger and tokens: what the mock knows of each seller's items and logins.
//!
//! It owns the compact catalog index ([`catalog`]: lookups and suggestions), the stock ledger
//! ([`stock`]: stock set by requests, and the rows the admin API shows) and the token store
//! ([`tokens`]: credentials, stable and issued tokens, revocations).
//!
//! It does not own how long tokens live (the scenario's `[[tokens]]` section, compiled by the
//! scenario engine and passed in as rules), the lock the ledger sits behind (the shared state
//! above holds it), or any HTTP answer: a refused token or an unknown item is answered by the
//! call that asked.

pub(crate) mod catalog;
pub(crate) mod stock;
pub(crate) mod tokens;
