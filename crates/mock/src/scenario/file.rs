//! The scenario file: [`Scenario`] (a seed, token lifetimes, rate limits and ordered rules),
//! its formats (TOML, YAML, JSON) and its JSON Schema (committed as
//! `schemas/scenario.schema.json`).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::ratelimit::RateLimit;
use super::rules::{CRule, Rule};
use super::tokens::TokenLifetime;

/// A scenario: a seed and ordered rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "stockwire mock scenario",
    description = "Ordered rules that script the stockwire mock marketplace. Each rule has a `match` and an `effect`; see docs/mock.md."
)]
pub struct Scenario {
    /// What this scenario is for (shown by the admin API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed of the random draws (`probability`, `jitter`, delay distributions): the same seed
    /// and the same requests give the same run, whatever their arrival order.
    #[serde(default)]
    pub seed: u64,
    /// Token lifetimes per seller (default: tokens never expire).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenLifetime>,
    /// Rate limits per seller (default: none).
    #[serde(default, rename = "rateLimits", skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimit>,
    /// The rules, in order. Item rules (`fail`): the first matching rule decides an item's
    /// failure. Answer rules: every matching rule fires, and for each effect field the first
    /// rule that sets it wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// The format of a scenario text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

impl Format {
    /// The format a file name implies (`.yaml`/`.yml`, `.json`, anything else TOML).
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => Format::Toml,
        }
    }

    /// Guesses the format of a text: `{` → JSON, a TOML-looking first line → TOML, else YAML.
    pub fn sniff(text: &str) -> Format {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        if first.starts_with('{') {
            Format::Json
        } else if first.starts_with('[') || (first.contains(" = ") || first.contains("=")) {
            Format::Toml
        } else {
            Format::Yaml
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file (format from its extension).
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(&text, Format::from_path(path), &path.display().to_string())
    }

    /// Parses and checks a scenario text; `origin` names it in errors.
    pub fn parse(text: &str, format: Format, origin: &str) -> Result<Scenario, ScenarioError> {
        let syntax = |message: String| ScenarioError::Syntax {
            origin: origin.to_string(),
            message,
        };
        let s: Scenario = match format {
            Format::Toml => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
            Format::Yaml => serde_norway::from_str(text).map_err(|e| syntax(e.to_string()))?,
            Format::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?,
        };
        s.compile(origin)?;
        Ok(s)
    }

    /// Checks the rules and compiles their patterns.
    pub(crate) fn compile(&self, origin: &str) -> Result<Vec<CRule>, ScenarioError> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| CRule::compile(i, r, origin))
            .collect()
    }
}

/// The JSON Schema of scenario files.
pub fn json_schema() -> serde_json::Value {
    let s = schemars::schema_for!(Scenario);
    serde_json::to_value(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rules_are_refused_with_their_name() {
        let err = |t: &str| {
            Scenario::parse(t, Format::Toml, "s.toml")
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("[[rules]]\nname='a'\neffect = { fail = 'x', status = 500 }")
                .contains("rule a: `fail`")
        );
        assert!(err("[[rules]]\neffect = { delay = 'soon' }").contains("rule rule-1: delay"));
        assert!(
            err("[[rules]]\nmatch = { productId = { regex = '(' } }\neffect = { status = 500 }")
                .contains("bad regex")
        );
        assert!(
            err("[[rules]]\nmatch = { prodId = 'x' }\neffect = { status = 500 }")
                .contains("unknown field")
        );
        assert!(err("[[rules]]\neffect = {}").contains("empty"));
    }

    #[test]
    fn formats_are_sniffed() {
        assert_eq!(Format::sniff("{\"rules\": []}"), Format::Json);
        assert_eq!(Format::sniff("# c\nseed = 1"), Format::Toml);
        assert_eq!(Format::sniff("[[rules]]"), Format::Toml);
        assert_eq!(
            Format::sniff("rules:\n  - effect: {status: 500}"),
            Format::Yaml
        );
    }
}
