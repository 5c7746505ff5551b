//! The scenario engine: scenario files (ordered rules, each a match and an effect, that script
//! how the mock misbehaves), compiled and evaluated per request.
//!
//! It owns the file format ([`Scenario`], TOML, YAML or JSON; its JSON Schema is
//! [`json_schema`], committed as `schemas/scenario.schema.json`), rules and sequences
//! (`times`), matches, effects, the seeded order-independent draws, the scenario's other parts
//! ([`tokens`]: token lifetimes; [`ratelimit`]: rate limits and the Retry-After watch) and the
//! [`Engine`] that runs them.
//!
//! It decides and does not answer: it knows nothing of HTTP, the journal, the token store or
//! the mock's state. The calls turn its verdicts (a throttle, item failures, answer effects)
//! into answers.
//!
//! Layering inside: `error` and `pattern` at the bottom; `matches`, `effects`, `tokens` and
//! `ratelimit` on them; `rules` on matches and effects; `file` on rules and the parts; `engine`
//! on everything.

mod draw;
mod effects;
mod engine;
mod error;
mod file;
mod matches;
mod pattern;
pub mod ratelimit;
mod rules;
pub mod tokens;

pub(crate) use draw::mix;
pub(crate) use effects::{AnswerEffects, kebab};
pub use effects::{
    Breach, Delay, DelayLogNormal, DelayPercentiles, Drip, Effect, ListingBreak, Malformed,
};
pub use engine::{Engine, Fired};
pub use error::ScenarioError;
pub use file::{Format, Scenario, ScenarioLimits, json_schema};
pub use matches::{Between, Bounds, Daily, Elapsed, EveryN, Match, Range, RequestMatch};
pub(crate) use matches::{ItemFacts, RequestFacts};
pub use pattern::{GlobPattern, Pattern, RegexPattern};
pub use rules::Rule;
