//! The server: the accept loop with its connection cap, time-outs and graceful drain
//! (`accept`), and routing each request to the admin API, record mode or a call (`route`).
//!
//! It owns connections and paths, not answers: the calls, the admin API and record mode answer,
//! and the HTTP plumbing they share (body reading and its budget, answer building blocks) is
//! `crate::http`, below the calls. The server is the top of the crate: nothing else uses it
//! but `MockMarketplace`, which starts it.

mod accept;
mod route;

pub(crate) use accept::serve;
