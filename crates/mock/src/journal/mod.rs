//! The request journal: a bounded ring buffer of what was asked and answered, and why.
//!
//! It owns the entries ([`JournalEntry`], with headers as journaled), the bounded ring
//! ([`Journal`]: a number of entries and a budget of body bytes, filters, pages, counts) and
//! the recording of one exchange into it (`record`: an entry under construction, with every
//! credential redacted, pushed once the answer is known).
//!
//! It does not decide answers (the calls hand an entry their status, body, effects and notes),
//! keep time (the clock and the uptime are passed in) or know the mock's state.

mod entry;
mod record;
mod ring;

pub use entry::{Header, Headers, JournalEntry};
pub(crate) use record::{Record, redact_json, redacted_body, redacted_query};
pub use ring::{DEFAULT_BYTE_BUDGET, DEFAULT_CAP, Filter, Journal, JournalStats, PAGE_BYTES, Page};
