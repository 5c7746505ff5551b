//! HTTP plumbing every endpoint shares: the [`Limits`] that protect the mock, reading a request
//! body within them (and lingering after a refusal so that the client reads the status), the
//! budget of body bytes in flight, and the building blocks of answers (JSON answers, the
//! contract-shaped FAILED body, drip-fed bodies).
//!
//! It owns no endpoint (the calls, the admin API and record mode use it), neither the accept
//! loop nor routing (`crate::server`), and knows nothing of the mock's state: everything takes
//! the limits or the budget it reads.

mod answer;
mod body;
mod budget;
mod limits;

pub(crate) use answer::{
    Body, CloseConnection, DripBody, closing, failed_body, failed_body_of, full, held,
    json_response, violation,
};
pub(crate) use body::{json_content_type, read_body, read_body_within};
pub(crate) use budget::{BodyBudget, BudgetHeld};
pub use limits::{DEFAULT_MAX_ITEMS, DEFAULT_MAX_SKUS, Limits};
