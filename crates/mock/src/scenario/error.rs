//! Why a scenario cannot be used, and the parsing of duration fields every scenario part
//! shares.

use std::path::PathBuf;
use std::time::Duration;

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a valid scenario in its format.
    #[error("{origin}: {message}")]
    Syntax {
        /// File name or `request body`.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// The scenario is past one of its caps ([`crate::scenario::ScenarioLimits`]).
    #[error("{origin}: {what} (the cap is {limit}; {flag} raises it)")]
    TooLarge {
        /// File name or `request body`.
        origin: String,
        /// What is too large, with its size.
        what: String,
        /// The cap, in words.
        limit: String,
        /// The flag that sets the cap.
        flag: &'static str,
    },
    /// A rule is inconsistent (bad glob, bad duration, conflicting effects, …).
    #[error("{origin}: rule {rule}: {message}")]
    Rule {
        /// File name or `request body`.
        origin: String,
        /// The rule's name or 1-based number.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

/// A duration field (`"250ms"`, `"1m 30s"`), or the scenario's error naming it.
pub(super) fn duration(
    text: &str,
    field: &str,
    err: &dyn Fn(String) -> ScenarioError,
) -> Result<Duration, ScenarioError> {
    humantime::parse_duration(text).map_err(|e| {
        err(format!(
            "{field}: `{text}` is not a duration like \"250ms\" ({e})"
        ))
    })
}
