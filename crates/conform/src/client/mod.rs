//! The HTTP client: the request model that never holds a secret, the outcome of sending it, the
//! client itself (hyper + rustls, time-outs, size cap, rate ceiling, extra headers, CA bundle)
//! and curl reproducers ([`http`]), reaching partners through `HTTP(S)_PROXY` ([`proxy`]), and
//! secrets kept out of every output ([`redact`]), a throttling partner honoured within
//! bounds ([`throttle`]), and the run's apiKey with a new login when a token expires ([`key`]).
//!
//! It knows nothing of the contract, the checks or the run: it sends what it is given and says
//! what came back. It uses only `error`, so every other layer may use it (a run's transport
//! settings are built from the run options in `config`, which uses the client, not the
//! reverse). Inside: `http` uses `key`, `proxy`, `redact` and `throttle`; `key` uses `redact`;
//! the others use nothing.

pub mod http;
pub mod key;
pub mod proxy;
pub mod redact;
pub mod throttle;
