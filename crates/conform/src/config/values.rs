//! The values of options that are more than a word or a number: which cases are read back
//! ([`StockSample`]), a known item given without a catalog file ([`KnownItem`]) and how to log
//! in ([`AuthMethod`]), each read alike from a flag and from `stockwire.toml`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stockwire_schema::CatalogEntry;

/// How the runner calls `/authToken`: GET first, POST when GET is not built (404/405) or
/// broken (a violation then), unless one is forced.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// Only GET with a query string (the documented call).
    Get,
    /// Only POST with a JSON body.
    Post,
}

/// Which cases have their stored stock read back: up to N cases of each kind (`valid-batch`,
/// `missing-apikey`, `negative`, …) within about N probe calls per 5 cases sent (auth refusals,
/// valid catalog items and a large batch's spread are read whatever the budget), or every
/// case. Written `2` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockSample {
    /// Every case.
    All,
    /// The first N cases of each kind (N ≥ 1).
    PerKind(u32),
}

/// The default with a stock probe (each read a process): the first case of each kind.
pub const DEFAULT_PROBE_SAMPLE: StockSample = StockSample::PerKind(1);

/// The default when a stockwire mock's ledger is read (one cheap call per read-back): every case.
pub const DEFAULT_LEDGER_SAMPLE: StockSample = StockSample::All;

impl std::str::FromStr for StockSample {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(StockSample::All),
            t => match t.parse::<u32>() {
                Ok(n) if n > 0 => Ok(StockSample::PerKind(n)),
                _ => Err(format!(
                    "`{s}` is not a sample: give the cases of each kind to read back (1 or more), or `all`"
                )),
            },
        }
    }
}

impl std::fmt::Display for StockSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StockSample::All => f.write_str("all"),
            StockSample::PerKind(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for StockSample {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StockSample::All => s.serialize_str("all"),
            StockSample::PerKind(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for StockSample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
            Other(serde::de::IgnoredAny),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .map(StockSample::PerKind)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{n} is not a sample: give 1 or more cases of each kind, or \"all\""
                    ))
                }),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Other(_) => Err(serde::de::Error::custom(
                "not a sample: give 1 or more cases of each kind, or \"all\"",
            )),
        }
    }
}

impl JsonSchema for StockSample {
    fn schema_name() -> Cow<'static, str> {
        "StockSample".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Cases of each kind whose stored stock is read back (1 or more), or `all`.",
            "oneOf": [
                {"type": "integer", "minimum": 1},
                {"const": "all"}
            ],
            "examples": [1, "all"]
        })
    }
}

/// A known item given without a catalog file (`--item`, or `items` in `stockwire.toml`): one
/// catalog entry, `{"productId", "variantId", "stock"?, "seller"?}`, read and checked by the
/// schema crate's catalog format. Such items add to the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownItem(pub CatalogEntry);

impl std::str::FromStr for KnownItem {
    type Err = String;
    /// Reads the JSON text of one entry; errors name a JSON pointer into it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CatalogEntry::from_json_text(s)
            .map(KnownItem)
            .map_err(|e| e.to_string())
    }
}

impl Serialize for KnownItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for KnownItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        CatalogEntry::from_json_value(&v)
            .map(KnownItem)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for KnownItem {
    fn schema_name() -> Cow<'static, str> {
        "KnownItem".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::try_from(stockwire_schema::catalog::entry_schema()).unwrap_or_default()
    }
}
