//! The policies: the expectations where real partners legitimately differ (FACTS.md), with
//! lenient defaults that a config file or flag can tighten, and the duration type they are
//! written with. Plain data shared by the classification, the checks, the settings and the
//! report; it uses nothing else of the crate.

use std::borrow::Cow;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the humantime way (`500ms`, `2s`, `1m 30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as `500ms`, `2s` or `1m 30s`.",
            "examples": ["2s", "500ms"]
        })
    }
}

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// [`parse_duration`] as a [`Dur`], for flags.
pub fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
}

/// Parses `500ms`, `2s`, `1m`… (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>() {
        if n.is_finite() && n >= 0.0 {
            return Ok(Duration::from_secs_f64(n));
        }
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{s}` is not a duration ({e}); e.g. 500ms, 2s, 1m"))
}

/// How a request refused as a whole (invalid JSON, empty list, bad key) must be answered.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum RejectionStatus {
    /// A 4xx, or 200 with a FAILED body (default: both are in use).
    #[default]
    Any,
    /// Only a 4xx.
    #[serde(rename = "http-4xx", alias = "http4xx")]
    #[value(name = "http-4xx")]
    Http4xx,
    /// Only HTTP 200 with a FAILED body.
    #[serde(rename = "http-200-failed", alias = "http200-failed")]
    #[value(name = "http-200-failed")]
    Http200Failed,
}

/// Whether `failedProductList` must be present (empty) on SUCCESS.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ListOnSuccess {
    /// Absent or empty (default).
    #[default]
    Any,
    /// Present (and empty).
    Required,
}

/// How one invalid item in a batch may be handled.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum BatchRejection {
    /// Per item, or the whole batch refused (default).
    #[default]
    Any,
    /// Only the invalid items may fail; the valid ones must be applied.
    PerItem,
}

/// Which spellings of `inventory` an item may use.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum InventorySpelling {
    /// The other version's spelling (integer vs digit string) may be accepted or refused (default).
    #[default]
    Both,
    /// Only the profile's spelling is valid; the other must be refused.
    Profile,
}

/// Whether a partner may refuse a large batch with 413 (or 400) as its own limit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum BatchLimit {
    /// Report the limit found, not a defect (default).
    #[default]
    Tolerate,
    /// Every batch the runner sends must be processed.
    Forbid,
}

/// Where stored stock is read back from (`--stock-from`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum StockFrom {
    /// The partner's own listing: `/products?skus=…` (what Uniware sees).
    Listing,
    /// The `--stock-probe` command.
    Probe,
    /// A stockwire mock's ledger.
    Ledger,
    /// No read-back: the state checks are skipped.
    None,
}

impl std::fmt::Display for StockFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StockFrom::Listing => "listing",
            StockFrom::Probe => "probe",
            StockFrom::Ledger => "ledger",
            StockFrom::None => "none",
        })
    }
}

/// Which violations make the exit code 1.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Any violation, MUST or SHOULD (default).
    #[default]
    Any,
    /// Only violations of MUST checks.
    Must,
}

/// The expectations where real partners legitimately differ (FACTS.md): lenient defaults that
/// a config file or flag can tighten. The report says which choice the partner made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Policies {
    /// How a request refused as a whole must be answered.
    pub rejection_status: RejectionStatus,
    /// Whether `failedProductList` must be present on SUCCESS.
    pub failed_list_on_success: ListOnSuccess,
    /// Whether one invalid item may fail the whole batch.
    pub batch_rejection: BatchRejection,
    /// Whether the other version's inventory spelling is tolerated.
    pub inventory_spelling: InventorySpelling,
    /// Whether a partner's own batch limit (413/400 on a large batch) is tolerated.
    pub batch_limit: BatchLimit,
    /// p99 latency budget for a batch of 1,000 items (scaled up for larger batches).
    pub latency_budget: Dur,
}

impl Policies {
    /// The p99 latency budget for batches of up to `max_items`: the 1,000-item budget, scaled
    /// up linearly beyond.
    pub fn latency_budget_for(&self, max_items: usize) -> Duration {
        let per_thousand = self.latency_budget.0;
        if max_items <= 1000 {
            per_thousand
        } else {
            per_thousand.mul_f64(max_items as f64 / 1000.0)
        }
    }
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            rejection_status: RejectionStatus::Any,
            failed_list_on_success: ListOnSuccess::Any,
            batch_rejection: BatchRejection::Any,
            inventory_spelling: InventorySpelling::Both,
            batch_limit: BatchLimit::Tolerate,
            latency_budget: Dur(Duration::from_secs(2)),
        }
    }
}
