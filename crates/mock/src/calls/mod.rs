//! The calls: one module per marketplace endpoint, each turning a request into an answer and a
//! journal entry.
//!
//! It owns `/authToken` (`auth`), the pipeline of every update call, `/updateInventory` and any
//! other call of the update's shape (`update`; `render`, its last step: scripted statuses,
//! breaches of the contract, malformed bodies, and delivery with the scripted headers and
//! drip), and the catalog calls, `/productsCount` and `/products` (`listing`). Each handler
//! serves a shape: the call it is given supplies the members.
//!
//! It does not own routing or connections (`crate::server`), HTTP plumbing (`crate::http`) or
//! any decision it answers: the contract is `stockwire-schema`'s, the scripted behaviour and the
//! rate limits the scenario engine's, stock and tokens the ledger's. With the admin API and the
//! server, the calls are the upper layer: the only code that takes `&Shared`.

mod auth;
mod listing;
mod render;
mod update;

pub(crate) use auth::auth_token;
pub(crate) use listing::{Reply, count, listing};
pub(crate) use update::update;
