//! The failures a user of the runner can meet, one variant each.

use std::path::PathBuf;

/// Why a run (or a replay) could not be carried out. Violations are not errors: they are the
/// run's result, in the [`crate::Report`].
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    /// The target URL cannot be parsed or uses a scheme other than http/https.
    #[error("invalid target URL `{url}`: {message}")]
    BadTarget {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// Nothing answered at the target (connection refused, DNS, TLS handshake, connect time-out).
    #[error("target unreachable: {url}: {message}")]
    Unreachable {
        /// The URL that was tried (never carries a secret).
        url: String,
        /// The transport error.
        message: String,
    },
    /// `/authToken` did not hand out a token for the configured credentials.
    #[error("authentication failed at {url}: {message}")]
    AuthFailed {
        /// The auth URL, without the query (which holds the password).
        url: String,
        /// What the partner answered, with secrets redacted.
        message: String,
    },
    /// The seller lists nothing (`/productsCount` answered 0) and no items were given: nothing
    /// can be certified, as Uniware would stop here too.
    #[error("{message}")]
    NothingToCertify {
        /// What was seen, and what to do.
        message: String,
    },
    /// The TLS client could not be configured.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A configuration file cannot be read or parsed, or holds an invalid value.
    #[error("{}: {message}", file.display())]
    Config {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the key it concerns.
        message: String,
    },
    /// A setting is invalid (bad duration, unknown check id, bad report spec, …).
    #[error("invalid setting `{name}`: {message}")]
    Setting {
        /// The flag or config key.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An environment variable named in the configuration is not set.
    #[error("environment variable `{var}` (named by `{key}`) is not set")]
    MissingEnv {
        /// The variable.
        var: String,
        /// The config key that names it.
        key: String,
    },
    /// The catalog file cannot be used.
    #[error(transparent)]
    Catalog(#[from] stockwire_schema::CatalogError),
    /// A report file cannot be written or read.
    #[error("{}: {message}", file.display())]
    ReportFile {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
}
