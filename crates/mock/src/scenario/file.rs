//! The scenario file: [`Scenario`] (a seed, token lifetimes, rate limits and ordered rules),
//! its formats (TOML, YAML, JSON) and its JSON Schema (committed as
//! `schemas/scenario.schema.json`).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::pattern::Pattern;
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

/// Caps on a scenario given to the mock (a file, `PUT /__admin/scenario`, `mock check`): a
/// scenario is configuration, but the admin API listens on the served port, so a hostile or
/// careless one must not stall or exhaust the mock. Each cap has a flag of `stockwire mock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioLimits {
    /// Largest scenario text (default 1 MiB; `--max-scenario-bytes`).
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects (default 32; `--max-scenario-depth`): a YAML text
    /// nested 100,000 deep took 21 s to parse, the cost grows with the square of the depth.
    pub max_depth: usize,
    /// Most rules, token lifetimes and rate limits together (default 10,000;
    /// `--max-scenario-rules`).
    pub max_rules: usize,
    /// Largest compiled regex of one pattern (default 1 MiB; `--max-pattern-bytes`): a 16 MB
    /// alternation took 1.94 GB to compile.
    pub max_pattern_bytes: usize,
}

impl Default for ScenarioLimits {
    fn default() -> Self {
        ScenarioLimits {
            max_bytes: 1024 * 1024,
            max_depth: 32,
            max_rules: 10_000,
            max_pattern_bytes: 1024 * 1024,
        }
    }
}

/// The deepest nesting of `[`/`{` in a scenario text, outside quoted strings: a linear scan
/// that stops as soon as `max` is passed.
fn nesting_depth(text: &str, max: usize) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for b in text.bytes() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q == b'"' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                    if deepest > max {
                        return deepest;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        // A line break ends a quote left open by a stray apostrophe (`don't` in a YAML plain
        // text), so one cannot hide the rest of the text from the scan.
        if b == b'\n' && quote == Some(b'\'') {
            quote = None;
        }
    }
    deepest
}

impl Scenario {
    /// Reads and checks a scenario file (format from its extension), within the default caps.
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::read_with(path, &ScenarioLimits::default())
    }

    /// Reads and checks a scenario file within `limits`; a file over the size cap is not read
    /// past it.
    pub fn read_with(path: &Path, limits: &ScenarioLimits) -> Result<Scenario, ScenarioError> {
        use std::io::Read;
        let io = |source| ScenarioError::Io {
            file: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(limits.max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let origin = path.display().to_string();
        if bytes.len() > limits.max_bytes {
            return Err(too_large_text(&origin, limits));
        }
        let text = String::from_utf8(bytes).map_err(|e| ScenarioError::Syntax {
            origin: origin.clone(),
            message: format!("not UTF-8 text ({e})"),
        })?;
        Scenario::parse_with(&text, Format::from_path(path), &origin, limits)
    }

    /// Parses and checks a scenario text within the default caps; `origin` names it in errors.
    pub fn parse(text: &str, format: Format, origin: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_with(text, format, origin, &ScenarioLimits::default())
    }

    /// Parses and checks a scenario text within `limits`: the size and the nesting are
    /// checked before parsing, the number of rules before compiling, and each pattern is
    /// compiled within its cap.
    pub fn parse_with(
        text: &str,
        format: Format,
        origin: &str,
        limits: &ScenarioLimits,
    ) -> Result<Scenario, ScenarioError> {
        if text.len() > limits.max_bytes {
            return Err(too_large_text(origin, limits));
        }
        let depth = nesting_depth(text, limits.max_depth);
        if depth > limits.max_depth {
            return Err(ScenarioError::TooLarge {
                origin: origin.to_string(),
                what: format!("the text nests more than {} levels deep", limits.max_depth),
                limit: format!("{} levels", limits.max_depth),
                flag: "--max-scenario-depth",
            });
        }
        let syntax = |message: String| ScenarioError::Syntax {
            origin: origin.to_string(),
            message,
        };
        let s: Scenario = match format {
            Format::Toml => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
            Format::Yaml => serde_norway::from_str(text).map_err(|e| syntax(e.to_string()))?,
            Format::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?,
        };
        let parts = s.rules.len() + s.tokens.len() + s.rate_limits.len();
        if parts > limits.max_rules {
            return Err(ScenarioError::TooLarge {
                origin: origin.to_string(),
                what: format!("{parts} rules, token lifetimes and rate limits"),
                limit: format!("{} in all", limits.max_rules),
                flag: "--max-scenario-rules",
            });
        }
        s.check_patterns(origin, limits.max_pattern_bytes)?;
        s.compile(origin)?;
        Ok(s)
    }

    /// Compiles every regex pattern within `max` bytes of compiled size.
    fn check_patterns(&self, origin: &str, max: usize) -> Result<(), ScenarioError> {
        let matches = self.rules.iter().flat_map(|r| {
            let m = &r.when;
            [&m.product_id, &m.variant_id, &m.facility_code, &m.seller]
        });
        let sellers = self
            .tokens
            .iter()
            .map(|t| &t.seller)
            .chain(self.rate_limits.iter().map(|r| &r.seller));
        for p in matches.chain(sellers).flatten() {
            if let Pattern::Regex(r) = p
                && let Err(e) = regex::RegexBuilder::new(&r.regex).size_limit(max).build()
                && matches!(e, regex::Error::CompiledTooBig(_))
            {
                return Err(ScenarioError::TooLarge {
                    origin: origin.to_string(),
                    what: format!(
                        "regex `{}` compiles to more than {max} bytes",
                        clip(&r.regex, 60)
                    ),
                    limit: format!("{max} bytes per pattern"),
                    flag: "--max-pattern-bytes",
                });
            }
        }
        Ok(())
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

fn too_large_text(origin: &str, limits: &ScenarioLimits) -> ScenarioError {
    ScenarioError::TooLarge {
        origin: origin.to_string(),
        what: format!("the scenario is larger than {} bytes", limits.max_bytes),
        limit: format!("{} bytes", limits.max_bytes),
        flag: "--max-scenario-bytes",
    }
}

/// The first `n` characters of `s`, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
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

    #[test]
    fn every_cap_is_an_error_that_names_it() {
        let small = ScenarioLimits {
            max_bytes: 4096,
            max_depth: 8,
            max_rules: 3,
            max_pattern_bytes: 20 * 1024,
        };
        let parse = |t: &str, f: Format| {
            Scenario::parse_with(t, f, "s", &small)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let big = format!("description = \"{}\"\n", "x".repeat(5000));
        assert_eq!(
            parse(&big, Format::Toml),
            Err("s: the scenario is larger than 4096 bytes (the cap is 4096 bytes; --max-scenario-bytes raises it)".into())
        );
        // 100,000 levels deep (a YAML that stalled the mock for 21 s): refused by a linear
        // scan that stops at the cap, before any parser sees it.
        let deep = format!("rules: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = Scenario::parse_with(&deep, Format::Yaml, "s", &ScenarioLimits::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nests more than 32 levels deep") && e.contains("--max-scenario-depth"),
            "{e}"
        );
        // Brackets inside quotes do not count.
        let quoted = "[[rules]]\nname = \"[[[[[[[[[[[[\"\nmatch = { productId = { regex = '^[[[a]]]$' } }\neffect = { status = 503 }\n";
        assert_eq!(parse(quoted, Format::Toml), Ok(()));
        let rules = "[[rules]]\neffect = { status = 503 }\n".repeat(4);
        let e = parse(&rules, Format::Toml).unwrap_err();
        assert!(
            e.contains("4 rules, token lifetimes and rate limits")
                && e.contains("--max-scenario-rules"),
            "{e}"
        );
        // An alternation of 300 words compiles to more than 20 KiB.
        let words: Vec<String> = (0..300).map(|i| format!("word{i:04}")).collect();
        let alt = format!(
            "[[rules]]\nmatch = {{ productId = {{ regex = '^({})$' }} }}\neffect = {{ status = 503 }}\n",
            words.join("|")
        );
        let e = parse(&alt, Format::Toml).unwrap_err();
        assert!(
            e.contains("compiles to more than 20480 bytes") && e.contains("--max-pattern-bytes"),
            "{e}"
        );
    }

    #[test]
    fn a_file_over_the_size_cap_is_not_read_past_it() {
        let dir = std::env::temp_dir().join(format!("sw-scen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.toml");
        // 8 MiB of text under a 1 MiB cap: refused after reading 1 MiB and one byte.
        std::fs::write(&path, "# x\n".repeat(2 * 1024 * 1024)).unwrap();
        let e = Scenario::read(&path).unwrap_err().to_string();
        assert!(e.contains("larger than 1048576 bytes"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
