//! Token lifetimes: the `[[tokens]]` section of a scenario and its compiled rules (how long
//! the tokens of the matching sellers live). The store of issued tokens, which applies them, is
//! the ledger's.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::pattern::{CPattern, Pattern};

/// `[[tokens]]`: how long the tokens of the matching sellers live (the first entry whose
/// `seller` matches applies). Set `lifetime`, `requests`, or both (whichever ends first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenLifetime {
    /// The sellers this applies to (default: every seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<Pattern>,
    /// A token expires this long after it was issued (`"15m"`, `"1h"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<String>,
    /// A token is good for this many `/updateInventory` requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub requests: Option<u64>,
}

impl TokenLifetime {
    /// Tokens of every seller expire this long after they were issued.
    pub fn duration(d: Duration) -> TokenLifetime {
        TokenLifetime {
            lifetime: Some(humantime::format_duration(d).to_string()),
            ..TokenLifetime::default()
        }
    }

    /// Tokens of every seller are good for `n` `/updateInventory` requests.
    pub fn requests(n: u64) -> TokenLifetime {
        TokenLifetime {
            requests: Some(n),
            ..TokenLifetime::default()
        }
    }

    /// Only for this seller.
    pub fn for_seller(mut self, seller: impl Into<String>) -> TokenLifetime {
        self.seller = Some(Pattern::Exact(seller.into()));
        self
    }
}

/// A lifetime: a duration, a number of requests, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Life {
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
}

impl Life {
    /// `15m or 100 requests`.
    pub(crate) fn describe(&self) -> String {
        let mut s = Vec::new();
        if let Some(d) = self.duration {
            s.push(humantime::format_duration(d).to_string());
        }
        if let Some(n) = self.requests {
            s.push(format!("{n} request{}", if n == 1 { "" } else { "s" }));
        }
        s.join(" or ")
    }
}

/// A compiled `[[tokens]]` entry.
#[derive(Debug)]
pub(crate) struct TokenRule {
    seller: Option<CPattern>,
    life: Life,
}

impl TokenRule {
    pub fn compile(i: usize, t: &TokenLifetime, origin: &str) -> Result<TokenRule, ScenarioError> {
        let err = |message: String| ScenarioError::Rule {
            origin: origin.to_string(),
            rule: format!("tokens[{i}]"),
            message,
        };
        let seller = t
            .seller
            .as_ref()
            .map(|p| CPattern::compile(p, "seller", &err))
            .transpose()?;
        let duration = t
            .lifetime
            .as_deref()
            .map(|l| {
                humantime::parse_duration(l).map_err(|e| {
                    err(format!(
                        "lifetime: `{l}` is not a duration like \"15m\" ({e})"
                    ))
                })
            })
            .transpose()?;
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(err("lifetime must be longer than 0s".into()));
        }
        if t.requests == Some(0) {
            return Err(err("requests must be at least 1".into()));
        }
        if duration.is_none() && t.requests.is_none() {
            return Err(err(
                "give a `lifetime` (a duration), `requests` (a count), or both".into(),
            ));
        }
        Ok(TokenRule {
            seller,
            life: Life {
                duration,
                requests: t.requests,
            },
        })
    }

    /// `seller demo: 15m`.
    pub fn describe(&self) -> String {
        format!(
            "tokens of {} live {}",
            self.seller
                .as_ref()
                .map_or("every seller".into(), |p| format!(
                    "seller {}",
                    p.describe()
                )),
            self.life.describe()
        )
    }
}

/// The lifetime of `seller`'s tokens: the first rule whose `seller` matches.
pub(crate) fn life_for(rules: &[TokenRule], seller: &str) -> Option<Life> {
    rules
        .iter()
        .find(|r| r.seller.as_ref().is_none_or(|p| p.is_match(seller)))
        .map(|r| r.life)
}
