//! Scenario files: ordered rules, each a match and an effect, that script how the mock
//! misbehaves. The file format (TOML, YAML or JSON) is [`Scenario`]; its JSON Schema is
//! [`json_schema`] (committed as `schemas/scenario.schema.json`).
//!
//! Evaluation ([`Engine`]) is deterministic and independent of arrival order: a rule's random
//! draw is a hash of the seed, the rule and the request's own content (the seller and the
//! items; for an item rule, that item and how many times it was sent before), so concurrent
//! clients touching disjoint items see the same failures on every run.
//!
//! Effects are compiled into [`Act`]s: a new effect is one variant, its `compile` arm and its
//! `apply` arm, all in this file.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stockwire_schema::exchange::field;

use crate::clock::DailyWindow;
use crate::ratelimit::{Limiter, RateLimit};
use crate::tokens::{TokenLifetime, TokenRule};

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

/// One rule: when it matches, and what it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name, used in the journal and in answers (default `rule-N`, 1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The conditions, all of which must hold (an empty match matches every request).
    #[serde(rename = "match", default)]
    pub when: Match,
    /// Fire at most this many times (requests), then never again until a reset: sequences
    /// such as "the first two requests get 503, then normal".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub times: Option<u64>,
    /// What the rule does.
    pub effect: Effect,
}

/// The conditions of a rule. Item conditions (productId, variantId, facilityCode, inventory)
/// select items for a `fail` rule; for an answer rule they hold when any item of the request
/// satisfies all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
    /// The item's productId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Pattern>,
    /// The item's variantId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<Pattern>,
    /// The item's facilityCode (an item without one never matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_code: Option<Pattern>,
    /// The item's inventory count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Range>,
    /// The seller the apiKey belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<Pattern>,
    /// Number of items in the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<Range>,
    /// The 1-based number of the `/updateInventory` request since start or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestMatch>,
    /// Time since start or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<Elapsed>,
    /// A daily UTC window, such as `{from = "02:00", to = "02:15"}` (end exclusive; a window
    /// whose end is before its start wraps past midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Daily>,
    /// Probability (0 to 1) that the rule fires when everything else matches. The draw
    /// depends on the seed and the request's content (per item for `fail` rules), never on
    /// arrival order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: Option<f64>,
}

/// A text condition: an exact string, `{glob = "SKU-*"}` or `{regex = "^SKU-[0-9]+$"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Pattern {
    /// Equal to this string.
    Exact(String),
    /// A glob (`*`, `?`, `[abc]`).
    Glob(GlobPattern),
    /// A regular expression (unanchored unless you anchor it).
    Regex(RegexPattern),
}

/// `{glob = "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobPattern {
    /// The glob.
    pub glob: String,
}

/// `{regex = "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexPattern {
    /// The regular expression.
    pub regex: String,
}

/// A number condition: an exact value or `{min, max}` (both inclusive, both optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Range {
    /// Exactly this value.
    Exact(u64),
    /// Between bounds.
    Bounds(Bounds),
}

/// Inclusive bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Smallest value that matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Largest value that matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// Which requests: the n-th (`3`), every k-th (`{every = 3}`, optionally shifted by
/// `offset`), or a range (`{from = 1, to = 4}`, inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RequestMatch {
    /// Only the n-th request.
    Nth(u64),
    /// Every k-th request: n where (n - offset) is a positive multiple of k.
    Every(EveryN),
    /// Requests from..=to.
    Between(Between),
}

/// `{every = k, offset = o}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EveryN {
    /// The period.
    #[schemars(range(min = 1))]
    pub every: u64,
    /// Shift: with offset 1, every = 3 matches requests 4, 7, 10, …
    #[serde(default)]
    pub offset: u64,
}

/// `{from = a, to = b}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Between {
    /// First request that matches (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// Last request that matches (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
}

/// A time window since start or reset, as durations like `"10s"` or `"1m 30s"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Elapsed {
    /// Matches from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Matches until this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// `{from = "02:00", to = "02:15"}`: a daily window in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Daily {
    /// Start, `HH:MM` or `HH:MM:SS` UTC (inclusive).
    pub from: String,
    /// End, `HH:MM` or `HH:MM:SS` UTC (exclusive).
    pub to: String,
}

/// A delay: fixed (`"250ms"`), or drawn from a log-normal distribution given by its
/// percentiles (`{p50 = "80ms", p99 = "1.2s"}`) or by its parameters
/// (`{median = "80ms", sigma = 0.9}`). Distributions are capped at `max` (default 10 × p99).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Delay {
    /// Always this long.
    Fixed(String),
    /// Log-normal with this median and 99th percentile.
    Percentiles(DelayPercentiles),
    /// Log-normal with this median and σ (of the logarithm).
    LogNormal(DelayLogNormal),
}

/// `{p50, p99, max?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayPercentiles {
    /// The median delay.
    pub p50: String,
    /// The 99th percentile (at least the median).
    pub p99: String,
    /// No delay longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// `{median, sigma, max?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayLogNormal {
    /// The median delay (e^μ).
    pub median: String,
    /// σ of the delay's logarithm (0 = always the median).
    pub sigma: f64,
    /// No delay longer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// What a rule does. `fail` makes it an item rule; every other field shapes the answer of the
/// whole request, and they combine (e.g. a delay and a status).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Effect {
    /// Item effect: each matching item fails with this message (the other items still apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Answer with this HTTP status instead of processing the request (nothing is applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<u16>,
    /// The body sent with `status`: a JSON value, or a string sent as it is. Default: a
    /// contract-shaped FAILED body naming the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// A `Retry-After` header, in seconds (typically with status 429 or 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Wait before answering: `"250ms"`, or a distribution `{p50 = "80ms", p99 = "1s"}` /
    /// `{median = "80ms", sigma = 0.9}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Add a random extra wait between 0 and this (seeded draw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// Close the connection without answering (nothing is applied).
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    /// Process the request, then send a broken JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<Malformed>,
    /// Process the request, then answer with this Content-Type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Process the request, then answer a body that breaks the contract on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_contract: Option<Breach>,
    /// Send the answer slowly, a few bytes at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip: Option<Drip>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a malformed body is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Malformed {
    /// The correct body cut in half.
    Truncated,
    /// Text that is not JSON at all.
    InvalidJson,
    /// No body (Content-Length 0).
    Empty,
}

/// A deliberate contract violation, to test a client's defensive code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Breach {
    /// Status SUCCESS with failed entries.
    SuccessWithFailures,
    /// A status value the contract does not allow (`OK`).
    UnknownStatus,
    /// No status member.
    MissingStatus,
    /// A failed entry for an item that was never sent.
    PhantomFailure,
    /// Status PARTIAL_SUCCESS with no failed entry.
    PartialWithoutFailures,
    /// The same failed entry twice.
    DuplicateFailure,
    /// A failed entry with an empty message.
    EmptyMessage,
    /// `failedProductList` is an object instead of an array.
    ListNotArray,
}

/// Drip-feed the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drip {
    /// Bytes per chunk.
    #[schemars(range(min = 1))]
    pub chunk: usize,
    /// Pause between chunks (`"100ms"`).
    pub interval: String,
}

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

fn duration(
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

#[derive(Debug)]
pub(crate) enum CPattern {
    Exact(String),
    /// The matcher, the glob as written, and the literal text every match starts with.
    Glob(globset::GlobMatcher, String, Box<str>),
    /// The regex and the literal text every match starts with.
    Regex(regex::Regex, Box<str>),
}

/// The literal text every string a glob matches starts with: what comes before its first
/// special character (`*`, `?`, `[`, `{`, `\`).
fn glob_prefix(glob: &str) -> Box<str> {
    let end = glob.find(['*', '?', '[', '{', '\\']).unwrap_or(glob.len());
    glob[..end].into()
}

/// The literal text every string a regex matches starts with, when the regex is anchored with
/// a leading `^` and has no alternation; empty (no prefilter) otherwise. A character followed
/// by a quantifier is not part of it.
fn regex_prefix(re: &str) -> Box<str> {
    let Some(rest) = re.strip_prefix('^') else {
        return "".into();
    };
    if re.contains('|') {
        return "".into();
    }
    const SPECIAL: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
    ];
    let end = rest.find(SPECIAL).unwrap_or(rest.len());
    let mut lit = &rest[..end];
    if rest[end..].starts_with(['*', '?', '{', '+'])
        && let Some((i, _)) = lit.char_indices().next_back()
    {
        lit = &lit[..i];
    }
    lit.into()
}

impl CPattern {
    pub(crate) fn compile(
        p: &Pattern,
        field: &str,
        err: &dyn Fn(String) -> ScenarioError,
    ) -> Result<Self, ScenarioError> {
        Ok(match p {
            Pattern::Exact(s) => CPattern::Exact(s.clone()),
            Pattern::Glob(g) => CPattern::Glob(
                globset::Glob::new(&g.glob)
                    .map_err(|e| err(format!("{field}: bad glob `{}`: {e}", g.glob)))?
                    .compile_matcher(),
                g.glob.clone(),
                glob_prefix(&g.glob),
            ),
            Pattern::Regex(r) => CPattern::Regex(
                regex::Regex::new(&r.regex)
                    .map_err(|e| err(format!("{field}: bad regex `{}`: {e}", r.regex)))?,
                regex_prefix(&r.regex),
            ),
        })
    }

    /// Whether `s` matches. A string without the pattern's literal start is rejected before
    /// the matcher runs: item rules test every item of every request, and a regex match
    /// (which borrows a cache from a shared pool) cost more than the rest of the rule.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            CPattern::Exact(e) => e == s,
            CPattern::Glob(g, _, pre) => s.starts_with(&**pre) && g.is_match(s),
            CPattern::Regex(r, pre) => s.starts_with(&**pre) && r.is_match(s),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            CPattern::Exact(e) => format!("`{e}`"),
            CPattern::Glob(_, g, _) => format!("glob `{g}`"),
            CPattern::Regex(r, _) => format!("regex `{}`", r.as_str()),
        }
    }
}

fn bounds(r: &Range) -> (u64, u64) {
    match r {
        Range::Exact(n) => (*n, *n),
        Range::Bounds(b) => (b.min.unwrap_or(0), b.max.unwrap_or(u64::MAX)),
    }
}

fn describe_bounds((lo, hi): (u64, u64)) -> String {
    match (lo, hi) {
        (a, b) if a == b => format!("{a}"),
        (0, b) => format!("at most {b}"),
        (a, u64::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

#[derive(Debug)]
pub(crate) struct CMatch {
    product: Option<CPattern>,
    variant: Option<CPattern>,
    facility: Option<CPattern>,
    inventory: Option<(u64, u64)>,
    seller: Option<CPattern>,
    batch: Option<(u64, u64)>,
    request: Option<RequestMatch>,
    elapsed: Option<(Duration, Duration)>,
    daily: Option<DailyWindow>,
    probability: Option<f64>,
}

/// A compiled delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DelayDist {
    /// Always this long.
    Fixed(Duration),
    /// e^(mu + sigma·z) seconds, z standard normal, capped.
    LogNormal { mu: f64, sigma: f64, max: Duration },
}

/// One compiled effect. A new effect is a variant here, an arm in [`Act::compile_all`] and an
/// arm in [`Act::apply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    /// Item effect: matching items fail with this message.
    Fail(String),
    /// Answer this status (with this body) instead of processing.
    Status(u16, Option<serde_json::Value>),
    /// A `Retry-After` header, in seconds.
    RetryAfter(u64),
    /// An extra response header.
    Header(String, String),
    /// Wait before answering.
    Delay(DelayDist),
    /// A random extra wait between 0 and this.
    Jitter(Duration),
    /// Close the connection without answering.
    Close,
    /// Send a broken body.
    Malformed(Malformed),
    /// Answer with this Content-Type.
    ContentType(String),
    /// Break the contract on purpose.
    Break(Breach),
    /// Drip-feed the answer: bytes per chunk, pause between chunks.
    Drip(usize, Duration),
}

impl Act {
    /// Checks an effect and compiles it into acts, in a fixed order.
    fn compile_all(
        e: &Effect,
        err: &dyn Fn(String) -> ScenarioError,
    ) -> Result<Vec<Act>, ScenarioError> {
        let mut acts = Vec::new();
        if let Some(s) = e.status {
            if !(100..=599).contains(&s) {
                return Err(err(format!("status must be 100 to 599, got {s}")));
            }
            acts.push(Act::Status(s, e.body.clone()));
        } else if e.body.is_some() {
            return Err(err("`body` needs a `status`".into()));
        }
        if let Some(r) = e.retry_after {
            acts.push(Act::RetryAfter(r));
        }
        for (k, v) in &e.headers {
            if hyper::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(v).is_err()
            {
                return Err(err(format!("header `{k}: {v}` is not a valid HTTP header")));
            }
            acts.push(Act::Header(k.clone(), v.clone()));
        }
        if let Some(d) = &e.delay {
            acts.push(Act::Delay(delay_dist(d, err)?));
        }
        if let Some(j) = &e.jitter {
            acts.push(Act::Jitter(duration(j, "jitter", err)?));
        }
        if e.close {
            acts.push(Act::Close);
        }
        if let Some(m) = e.malformed {
            acts.push(Act::Malformed(m));
        }
        if let Some(ct) = &e.content_type {
            if hyper::header::HeaderValue::from_str(ct).is_err() {
                return Err(err(format!(
                    "contentType `{ct}` is not a valid header value"
                )));
            }
            acts.push(Act::ContentType(ct.clone()));
        }
        if let Some(b) = e.break_contract {
            acts.push(Act::Break(b));
        }
        if let Some(d) = &e.drip {
            if d.chunk == 0 {
                return Err(err("drip.chunk must be at least 1".into()));
            }
            acts.push(Act::Drip(
                d.chunk,
                duration(&d.interval, "drip.interval", err)?,
            ));
        }
        match &e.fail {
            Some(_) if !acts.is_empty() => Err(err(
                "`fail` (an item effect) cannot be combined with answer effects; write two rules"
                    .into(),
            )),
            Some(m) => Ok(vec![Act::Fail(m.clone())]),
            None if acts.is_empty() => Err(err("the effect is empty".into())),
            None => Ok(acts),
        }
    }

    /// Whether the act draws random numbers.
    fn is_random(&self) -> bool {
        matches!(
            self,
            Act::Jitter(_) | Act::Delay(DelayDist::LogNormal { .. })
        )
    }

    /// Applies an answer act (the first rule that sets a field wins; delays add up); says
    /// what it did, or `None` when an earlier rule already decided. `u` is this act's random
    /// draw, in [0, 1).
    fn apply(
        &self,
        a: &mut AnswerEffects,
        rule: &str,
        u: &mut dyn FnMut() -> f64,
    ) -> Option<String> {
        match self {
            Act::Fail(_) => None,
            Act::Status(s, body) => a.status.is_none().then(|| {
                a.status = Some((*s, body.clone(), rule.to_string()));
                format!("status {s}")
            }),
            Act::RetryAfter(r) => a.retry_after.is_none().then(|| {
                a.retry_after = Some(*r);
                format!("retry-after {r}s")
            }),
            Act::Header(k, v) => {
                a.headers.push((k.clone(), v.clone()));
                Some(format!("header {k}"))
            }
            Act::Delay(d) => {
                let d = d.sample(u);
                a.delay += d;
                Some(format!("delay {}", humantime::format_duration(round_ms(d))))
            }
            Act::Jitter(max) => {
                let d = Duration::from_nanos((u() * max.as_nanos() as f64) as u64);
                a.delay += d;
                Some(format!("delay {}", humantime::format_duration(round_ms(d))))
            }
            Act::Close => (!a.close).then(|| {
                a.close = true;
                "close connection".into()
            }),
            Act::Malformed(m) => a.malformed.is_none().then(|| {
                a.malformed = Some(*m);
                format!("malformed body ({})", kebab(m))
            }),
            Act::ContentType(ct) => a.content_type.is_none().then(|| {
                a.content_type = Some(ct.clone());
                format!("content-type {ct}")
            }),
            Act::Break(b) => a.breach.is_none().then(|| {
                a.breach = Some(*b);
                format!("break contract ({})", kebab(b))
            }),
            Act::Drip(chunk, every) => a.drip.is_none().then(|| {
                a.drip = Some((*chunk, *every));
                format!(
                    "drip {chunk} bytes every {}",
                    humantime::format_duration(*every)
                )
            }),
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// z of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874;

fn delay_dist(
    d: &Delay,
    err: &dyn Fn(String) -> ScenarioError,
) -> Result<DelayDist, ScenarioError> {
    let cap = |max: &Option<String>, default: Duration| {
        max.as_deref()
            .map(|m| duration(m, "delay.max", err))
            .transpose()
            .map(|m| m.unwrap_or(default))
    };
    let positive = |d: Duration, f: &str| {
        if d.is_zero() {
            Err(err(format!("{f} must be longer than 0s")))
        } else {
            Ok(d.as_secs_f64())
        }
    };
    Ok(match d {
        Delay::Fixed(t) => DelayDist::Fixed(duration(t, "delay", err)?),
        Delay::Percentiles(p) => {
            let p50 = duration(&p.p50, "delay.p50", err)?;
            let p99 = duration(&p.p99, "delay.p99", err)?;
            if p99 < p50 {
                return Err(err(format!(
                    "delay.p99 ({}) is shorter than delay.p50 ({})",
                    p.p99, p.p50
                )));
            }
            let (m, n) = (positive(p50, "delay.p50")?, positive(p99, "delay.p99")?);
            DelayDist::LogNormal {
                mu: m.ln(),
                sigma: (n.ln() - m.ln()) / Z99,
                max: cap(&p.max, p99 * 10)?,
            }
        }
        Delay::LogNormal(l) => {
            let median = duration(&l.median, "delay.median", err)?;
            if !(l.sigma.is_finite() && l.sigma >= 0.0) {
                return Err(err(format!(
                    "delay.sigma must be 0 or more, got {}",
                    l.sigma
                )));
            }
            let m = positive(median, "delay.median")?;
            DelayDist::LogNormal {
                mu: m.ln(),
                sigma: l.sigma,
                max: cap(
                    &l.max,
                    Duration::from_secs_f64((m * (Z99 * l.sigma).exp() * 10.0).min(3600.0)),
                )?,
            }
        }
    })
}

impl DelayDist {
    /// A delay; `u` gives uniform draws in [0, 1).
    fn sample(&self, u: &mut dyn FnMut() -> f64) -> Duration {
        match *self {
            DelayDist::Fixed(d) => d,
            DelayDist::LogNormal { mu, sigma, max } => {
                // Box–Muller: two uniforms give one standard normal.
                let (u1, u2) = (u().max(f64::MIN_POSITIVE), u());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let secs = (mu + sigma * z).exp();
                Duration::from_secs_f64(secs.min(max.as_secs_f64()).max(0.0))
            }
        }
    }
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct CRule {
    pub name: String,
    when: CMatch,
    times: Option<u64>,
    pub acts: Vec<Act>,
}

impl CRule {
    fn compile(i: usize, r: &Rule, origin: &str) -> Result<CRule, ScenarioError> {
        let name = r.name.clone().unwrap_or_else(|| format!("rule-{}", i + 1));
        let err = |message: String| ScenarioError::Rule {
            origin: origin.to_string(),
            rule: name.clone(),
            message,
        };
        let m = &r.when;
        let pat = |p: &Option<Pattern>, f: &str| {
            p.as_ref()
                .map(|p| CPattern::compile(p, f, &err))
                .transpose()
        };
        if let Some(p) = m.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(err(format!("probability must be between 0 and 1, got {p}")));
        }
        if let Some(RequestMatch::Every(e)) = &m.request
            && e.every == 0
        {
            return Err(err("request.every must be at least 1".into()));
        }
        if r.times == Some(0) {
            return Err(err("times must be at least 1".into()));
        }
        let elapsed = match &m.elapsed {
            None => None,
            Some(e) => Some((
                e.after
                    .as_deref()
                    .map(|t| duration(t, "elapsed.after", &err))
                    .transpose()?
                    .unwrap_or(Duration::ZERO),
                e.before
                    .as_deref()
                    .map(|t| duration(t, "elapsed.before", &err))
                    .transpose()?
                    .unwrap_or(Duration::MAX),
            )),
        };
        let daily = m
            .daily
            .as_ref()
            .map(|d| DailyWindow::parse(&d.from, &d.to).map_err(|e| err(format!("daily: {e}"))))
            .transpose()?;
        let when = CMatch {
            product: pat(&m.product_id, field::PRODUCT_ID)?,
            variant: pat(&m.variant_id, field::VARIANT_ID)?,
            facility: pat(&m.facility_code, field::FACILITY_CODE)?,
            inventory: m.inventory.as_ref().map(bounds),
            seller: pat(&m.seller, "seller")?,
            batch: m.batch_size.as_ref().map(bounds),
            request: m.request.clone(),
            elapsed,
            daily,
            probability: m.probability,
        };
        let acts = Act::compile_all(&r.effect, &err)?;
        Ok(CRule {
            name,
            when,
            times: r.times,
            acts,
        })
    }

    fn fail_message(&self) -> Option<&str> {
        match self.acts.first() {
            Some(Act::Fail(m)) => Some(m),
            _ => None,
        }
    }

    fn is_item_rule(&self) -> bool {
        self.fail_message().is_some()
    }

    fn has_item_conditions(&self) -> bool {
        let w = &self.when;
        w.product.is_some() || w.variant.is_some() || w.facility.is_some() || w.inventory.is_some()
    }

    fn is_random(&self) -> bool {
        self.when.probability.is_some() || self.acts.iter().any(Act::is_random)
    }
}

/// What the engine sees of one item.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ItemFacts<'a> {
    pub product: Option<&'a str>,
    pub variant: Option<&'a str>,
    pub facility: Option<&'a str>,
    pub inventory: Option<u64>,
    /// False when the item already failed (validation, catalog): item rules skip it.
    pub eligible: bool,
}

/// What the engine sees of one request.
#[derive(Debug)]
pub(crate) struct RequestFacts<'a> {
    pub seller: &'a str,
    pub n: u64,
    pub elapsed: Duration,
    /// Wall-clock time (since the epoch) from the mock's clock.
    pub wall: Duration,
    pub items: &'a [ItemFacts<'a>],
}

/// A rule that fired, as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    /// The rule's name.
    pub rule: String,
    /// What it did (`fail 2 items: Mismatch`, `status 503`, `delay 250ms`, …).
    pub effect: String,
}

/// The answer effects of a request after merging every fired rule.
#[derive(Debug, Default, Clone)]
pub(crate) struct AnswerEffects {
    pub status: Option<(u16, Option<serde_json::Value>, String)>,
    pub retry_after: Option<u64>,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
    pub close: bool,
    pub malformed: Option<Malformed>,
    pub content_type: Option<String>,
    pub breach: Option<Breach>,
    pub drip: Option<(usize, Duration)>,
}

/// The outcome of evaluating the scenario for one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Per item: the failure message a rule gave it; empty when no rule failed an item.
    pub item_failures: Vec<Option<String>>,
    pub answer: AnswerEffects,
    pub fired: Vec<Fired>,
    /// When rules exist and none fired: why the nearest one did not.
    pub explain: Option<String>,
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any 64-bit input.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over byte strings separated by a 0xff byte (which UTF-8 never contains).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain([0xffu8].iter()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// A uniform draw in [0, 1) from a key.
fn unit(key: u64) -> f64 {
    (mix(key) >> 11) as f64 / (1u64 << 53) as f64
}

/// The identity of one request's content for the random draws: the seller and, per item,
/// its ids and how many times the seller sent it before.
struct DrawKeys {
    request: u64,
    items: Vec<u64>,
}

/// Most (seller, item) send counts remembered; past this the counts start afresh.
const MAX_SEND_COUNTS: usize = 1_000_000;

/// A compiled scenario with its run-time state (rule counters, per-item send counts, token
/// rules and rate-limit buckets).
#[derive(Debug)]
pub struct Engine {
    scenario: Scenario,
    rules: Vec<CRule>,
    fired_counts: Vec<AtomicU64>,
    /// Whether any rule draws random numbers (only then are send counts kept).
    random: bool,
    /// How many times each (seller, item) was sent, keyed by a hash of both.
    sent: Mutex<HashMap<u64, u32>>,
    pub(crate) token_rules: Vec<TokenRule>,
    pub(crate) limiter: Option<Limiter>,
}

impl Engine {
    /// Compiles a scenario.
    pub fn new(scenario: Scenario) -> Result<Engine, ScenarioError> {
        let rules = scenario.compile("scenario")?;
        let token_rules = scenario
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenRule::compile(i, t, "scenario"))
            .collect::<Result<Vec<_>, _>>()?;
        let limiter = Limiter::compile(&scenario.rate_limits, "scenario")?;
        Ok(Engine {
            fired_counts: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            random: rules.iter().any(CRule::is_random),
            sent: Mutex::new(HashMap::new()),
            rules,
            token_rules,
            limiter,
            scenario,
        })
    }

    /// The scenario this engine runs.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Clears rule counters, send counts and rate-limit buckets.
    pub fn reset(&self) {
        for c in &self.fired_counts {
            c.store(0, Ordering::SeqCst);
        }
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clear();
        if let Some(l) = &self.limiter {
            l.reset();
        }
    }

    /// How many times each rule fired, by name.
    pub fn fire_counts(&self) -> Vec<(String, u64)> {
        self.rules
            .iter()
            .zip(&self.fired_counts)
            .map(|(r, c)| (r.name.clone(), c.load(Ordering::SeqCst)))
            .collect()
    }

    /// Whether the scenario has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// One line per rule, token lifetime and rate limit, for `stockwire mock check`.
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let mut when = Vec::new();
                if let Some(d) = r.when.daily {
                    when.push(format!("daily {}", d.describe()));
                }
                if let Some(p) = r.when.probability {
                    when.push(format!("probability {p}"));
                }
                let acts: Vec<String> = r
                    .acts
                    .iter()
                    .map(|a| match a {
                        Act::Fail(m) => format!("fail `{m}`"),
                        Act::Delay(DelayDist::LogNormal { mu, sigma, max }) => format!(
                            "delay p50 {} p99 {} (max {})",
                            humantime::format_duration(round_ms(Duration::from_secs_f64(mu.exp()))),
                            humantime::format_duration(round_ms(Duration::from_secs_f64(
                                (mu + Z99 * sigma).exp().min(max.as_secs_f64())
                            ))),
                            humantime::format_duration(*max)
                        ),
                        other => {
                            let mut a = AnswerEffects::default();
                            other
                                .apply(&mut a, &r.name, &mut || 0.5)
                                .unwrap_or_default()
                        }
                    })
                    .collect();
                format!(
                    "rule {}{}: {}",
                    r.name,
                    if when.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", when.join(", "))
                    },
                    acts.join(", ")
                )
            })
            .collect();
        out.extend(self.token_rules.iter().map(TokenRule::describe));
        if let Some(l) = &self.limiter {
            out.extend(l.describe().into_iter().map(|d| format!("rate limit {d}")));
        }
        out
    }

    /// Counts this request's items as sent and derives the keys of its draws.
    fn draw_keys(&self, req: &RequestFacts<'_>) -> DrawKeys {
        let seed = self.scenario.seed;
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if sent.len() > MAX_SEND_COUNTS {
            sent.clear();
        }
        let mut bump = |k: u64| {
            let c = sent.entry(k).or_insert(0);
            *c += 1;
            u64::from(*c)
        };
        let seller = req.seller.as_bytes();
        let items: Vec<u64> = req
            .items
            .iter()
            .map(|i| {
                let id = fnv(&[
                    seller,
                    i.product.unwrap_or("").as_bytes(),
                    i.variant.unwrap_or("").as_bytes(),
                ]);
                mix(seed ^ mix(id ^ mix(bump(id))))
            })
            .collect();
        let mut request = mix(seed ^ fnv(&[seller]));
        for k in &items {
            request = mix(request ^ k);
        }
        if items.is_empty() {
            // An empty request has no items to count: count the seller's empty requests.
            request = mix(request ^ bump(fnv(&[seller, b"<empty>"])));
        }
        DrawKeys { request, items }
    }

    /// Evaluates every rule against a request.
    pub(crate) fn evaluate(&self, req: &RequestFacts<'_>) -> Verdict {
        // `item_failures` stays empty (no allocation) until an item rule fails an item.
        let mut v = Verdict::default();
        if self.rules.is_empty() {
            return v;
        }
        let keys = self.random.then(|| self.draw_keys(req));
        // Answer rules first: an answer that replaces processing (status, close) leaves the
        // item rules unfired, so the journal only names rules that shaped the answer.
        for item_pass in [false, true] {
            if item_pass && (v.answer.status.is_some() || v.answer.close) {
                break;
            }
            self.pass(req, keys.as_ref(), item_pass, &mut v);
        }
        if v.fired.is_empty() {
            v.explain = Some(self.explain(req));
        }
        v
    }

    fn pass(
        &self,
        req: &RequestFacts<'_>,
        keys: Option<&DrawKeys>,
        item_pass: bool,
        v: &mut Verdict,
    ) {
        for (idx, rule) in self.rules.iter().enumerate() {
            if rule.is_item_rule() != item_pass {
                continue;
            }
            if let Some(t) = rule.times
                && self.fired_counts[idx].load(Ordering::SeqCst) >= t
            {
                continue;
            }
            if !request_conditions(&rule.when, req) {
                continue;
            }
            // Each rule draws from its own stream, keyed by its position.
            let rule_salt = mix(idx as u64 + 1);
            if let Some(msg) = rule.fail_message() {
                let mut hits = 0usize;
                for (i, item) in req.items.iter().enumerate() {
                    if !item.eligible || v.item_failures.get(i).is_some_and(Option::is_some) {
                        continue;
                    }
                    let drawn = || {
                        let k = keys.and_then(|k| k.items.get(i)).copied().unwrap_or(0);
                        unit(k ^ rule_salt)
                    };
                    if item_conditions(&rule.when, item)
                        && rule.when.probability.is_none_or(|p| drawn() < p)
                    {
                        if v.item_failures.is_empty() {
                            v.item_failures = vec![None; req.items.len()];
                        }
                        v.item_failures[i] = Some(msg.to_string());
                        hits += 1;
                    }
                }
                if hits > 0 {
                    self.fired_counts[idx].fetch_add(1, Ordering::SeqCst);
                    v.fired.push(Fired {
                        rule: rule.name.clone(),
                        effect: format!(
                            "fail {hits} item{}: {msg}",
                            if hits == 1 { "" } else { "s" }
                        ),
                    });
                }
                continue;
            }
            if rule.has_item_conditions()
                && !req.items.iter().any(|i| item_conditions(&rule.when, i))
            {
                continue;
            }
            let base = keys.map_or(0, |k| k.request) ^ rule_salt;
            if let Some(p) = rule.when.probability
                && unit(base) >= p
            {
                continue;
            }
            self.fired_counts[idx].fetch_add(1, Ordering::SeqCst);
            let mut n = 0u64;
            let mut u = || {
                n += 1;
                unit(base ^ mix(n))
            };
            let did: Vec<String> = rule
                .acts
                .iter()
                .filter_map(|a| a.apply(&mut v.answer, &rule.name, &mut u))
                .collect();
            v.fired.push(Fired {
                rule: rule.name.clone(),
                effect: if did.is_empty() {
                    "nothing (overridden by an earlier rule)".into()
                } else {
                    did.join(", ")
                },
            });
        }
    }

    /// Why no rule fired: the rule with the most conditions met and the first one it missed.
    fn explain(&self, req: &RequestFacts<'_>) -> String {
        // Every rule is scored without writing anything; only the nearest one's reason is
        // written (this runs on every request that fires nothing).
        let mut best: Option<(usize, usize, &CRule, bool)> = None;
        for (idx, rule) in self.rules.iter().enumerate() {
            let a = audit(rule, req, false);
            if best.as_ref().is_none_or(|(_, m, _, _)| a.met > *m) {
                best = Some((idx, a.met, rule, a.failed));
            }
        }
        let Some((idx, _, rule, failed)) = best else {
            return "no rule fired".into();
        };
        let why = match audit(rule, req, true).missed {
            Some(m) if failed => m,
            _ => match rule.times {
                Some(t) if self.fired_counts[idx].load(Ordering::SeqCst) >= t => {
                    format!("it already fired {t} time(s) (times = {t})")
                }
                _ => match rule.when.probability {
                    Some(p) => format!("its probability draw ({p}) missed"),
                    None => "the items it matches had already failed".into(),
                },
            },
        };
        format!(
            "no rule fired; nearest: `{}`, not fired because {why}",
            rule.name
        )
    }
}
/// The kebab-case name of a serializable unit enum value.
pub(crate) fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn request_matches(m: &RequestMatch, n: u64) -> bool {
    match m {
        RequestMatch::Nth(k) => n == *k,
        RequestMatch::Every(e) => n > e.offset && (n - e.offset) % e.every.max(1) == 0,
        RequestMatch::Between(b) => n >= b.from.unwrap_or(1) && n <= b.to.unwrap_or(u64::MAX),
    }
}

fn describe_request(m: &RequestMatch) -> String {
    match m {
        RequestMatch::Nth(k) => format!("request {k}"),
        RequestMatch::Every(e) if e.offset == 0 => format!("every {}th request", e.every),
        RequestMatch::Every(e) => format!("every {}th request after {}", e.every, e.offset),
        RequestMatch::Between(b) => format!(
            "requests {} to {}",
            b.from.unwrap_or(1),
            b.to.map_or("the end".to_string(), |t| t.to_string())
        ),
    }
}

fn request_conditions(m: &CMatch, r: &RequestFacts<'_>) -> bool {
    m.seller.as_ref().is_none_or(|p| p.is_match(r.seller))
        && m.batch
            .is_none_or(|(lo, hi)| (lo..=hi).contains(&(r.items.len() as u64)))
        && m.request.as_ref().is_none_or(|q| request_matches(q, r.n))
        && m.elapsed
            .is_none_or(|(a, b)| r.elapsed >= a && r.elapsed <= b)
        && m.daily.is_none_or(|d| d.contains(r.wall))
}

fn opt_match(p: &Option<CPattern>, v: Option<&str>) -> bool {
    match p {
        None => true,
        Some(p) => v.is_some_and(|v| p.is_match(v)),
    }
}

fn item_conditions(m: &CMatch, i: &ItemFacts<'_>) -> bool {
    opt_match(&m.product, i.product)
        && opt_match(&m.variant, i.variant)
        && opt_match(&m.facility, i.facility)
        && m.inventory
            .is_none_or(|(lo, hi)| i.inventory.is_some_and(|n| (lo..=hi).contains(&n)))
}

/// Counts the conditions a rule meets for a request and names the first it misses.
fn audit(rule: &CRule, r: &RequestFacts<'_>, render: bool) -> Audit {
    let m = &rule.when;
    let mut a = Audit {
        render,
        ..Audit::default()
    };
    let mut check = |ok: bool, why: &dyn Fn() -> String| a.check(ok, why);
    let sellers = r.seller;
    if let Some(p) = &m.seller {
        check(p.is_match(sellers), &|| {
            format!("seller: wanted {}, got `{sellers}`", p.describe())
        });
    }
    if let Some(b) = m.batch {
        let n = r.items.len() as u64;
        check((b.0..=b.1).contains(&n), &|| {
            format!("batchSize: wanted {}, got {n}", describe_bounds(b))
        });
    }
    if let Some(q) = &m.request {
        check(request_matches(q, r.n), &|| {
            format!(
                "request: wanted {}, this was request {}",
                describe_request(q),
                r.n
            )
        });
    }
    if let Some((a, b)) = m.elapsed {
        check(r.elapsed >= a && r.elapsed <= b, &|| {
            format!(
                "elapsed: {} since start is outside the window",
                humantime::format_duration(Duration::from_millis(r.elapsed.as_millis() as u64))
            )
        });
    }
    if let Some(d) = m.daily {
        check(d.contains(r.wall), &|| {
            let s = r.wall.as_secs() % 86_400;
            format!(
                "daily: {:02}:{:02} UTC is outside {}",
                s / 3600,
                (s % 3600) / 60,
                d.describe()
            )
        });
    }
    let first = r.items.first().copied().unwrap_or_default();
    let any = |f: &dyn Fn(&ItemFacts<'_>) -> bool| r.items.iter().any(f);
    if let Some(p) = &m.product {
        check(any(&|i| opt_match(&m.product, i.product)), &|| {
            format!(
                "productId: wanted {}, got `{}`{}",
                p.describe(),
                first.product.unwrap_or(""),
                if r.items.len() > 1 { ", …" } else { "" }
            )
        });
    }
    if let Some(p) = &m.variant {
        check(any(&|i| opt_match(&m.variant, i.variant)), &|| {
            format!(
                "variantId: wanted {}, got `{}`{}",
                p.describe(),
                first.variant.unwrap_or(""),
                if r.items.len() > 1 { ", …" } else { "" }
            )
        });
    }
    if let Some(p) = &m.facility {
        check(any(&|i| opt_match(&m.facility, i.facility)), &|| {
            format!(
                "facilityCode: wanted {}, got {}",
                p.describe(),
                first.facility.map_or("none".into(), |f| format!("`{f}`"))
            )
        });
    }
    if let Some(b) = m.inventory {
        check(
            any(&|i| i.inventory.is_some_and(|n| (b.0..=b.1).contains(&n))),
            &|| {
                format!(
                    "inventory: wanted {}, got {}",
                    describe_bounds(b),
                    first.inventory.map_or("none".into(), |n| n.to_string())
                )
            },
        );
    }
    if rule.has_item_conditions() && !a.failed {
        a.check(any(&|i| item_conditions(m, i)), &|| {
            "no single item meets all its item conditions".into()
        });
    }
    a
}

/// How near a rule came to firing: conditions met, and the first one missed.
#[derive(Default)]
struct Audit {
    met: usize,
    /// A condition was missed.
    failed: bool,
    /// Write why (only for the rule an explanation names).
    render: bool,
    /// The first condition missed, written when `render`.
    missed: Option<String>,
}

impl Audit {
    fn check(&mut self, ok: bool, why: &dyn Fn() -> String) {
        if ok {
            self.met += 1;
        } else if !self.failed {
            self.failed = true;
            if self.render {
                self.missed = Some(why());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_starts_never_change_what_a_pattern_matches() {
        let err = |message: String| ScenarioError::Rule {
            origin: "t".into(),
            rule: "t".into(),
            message,
        };
        let globs = [
            "DISCONTINUED-*",
            "SKU-?",
            "a[bc]*",
            "x{1,2}",
            "\\*lit",
            "*",
            "",
            "PLAIN",
        ];
        let regexes = [
            "^X-[0-9]+$",
            "^ab*c",
            "^ab?",
            "^ab{2}",
            "^ab+",
            "^a|b",
            "^(?i)abc",
            "X-",
            "^é-[0-9]",
            "^\\d+",
            "^abc.*",
            "^",
            "^[ab]c",
        ];
        let texts = [
            "",
            "X-12",
            "X-",
            "x-12",
            "DISCONTINUED-1",
            "discontinued-1",
            "SKU-1",
            "ac",
            "abc",
            "abbc",
            "a",
            "b",
            "ABC",
            "é-1",
            "12",
            "abcd",
            "lit",
            "*lit",
            "x1",
            "bc",
            "PLAIN",
        ];
        for g in globs {
            let c = CPattern::compile(&Pattern::Glob(GlobPattern { glob: g.into() }), "t", &err)
                .unwrap();
            let plain = globset::Glob::new(g).unwrap().compile_matcher();
            for t in texts {
                assert_eq!(c.is_match(t), plain.is_match(t), "glob {g:?} on {t:?}");
            }
        }
        for r in regexes {
            let c = CPattern::compile(&Pattern::Regex(RegexPattern { regex: r.into() }), "t", &err)
                .unwrap();
            let plain = regex::Regex::new(r).unwrap();
            for t in texts {
                assert_eq!(c.is_match(t), plain.is_match(t), "regex {r:?} on {t:?}");
            }
        }
        assert_eq!(&*regex_prefix("^X-[0-9]+$"), "X-");
        assert_eq!(&*glob_prefix("DISCONTINUED-*"), "DISCONTINUED-");
    }

    fn engine(toml: &str) -> Engine {
        Engine::new(Scenario::parse(toml, Format::Toml, "t").unwrap()).unwrap()
    }

    fn item<'a>(p: &'a str, v: &'a str, inv: u64) -> ItemFacts<'a> {
        ItemFacts {
            product: Some(p),
            variant: Some(v),
            facility: None,
            inventory: Some(inv),
            eligible: true,
        }
    }

    fn run(e: &Engine, n: u64, items: &[ItemFacts<'_>]) -> Verdict {
        e.evaluate(&RequestFacts {
            seller: "demo",
            n,
            elapsed: Duration::from_secs(1),
            wall: Duration::from_secs(1_767_225_600),
            items,
        })
    }

    #[test]
    fn item_rules_fail_matching_items_only() {
        let e = engine(
            r#"
            [[rules]]
            name = "x"
            match = { productId = { glob = "SKU-X*" } }
            effect = { fail = "Mismatch" }
            "#,
        );
        let v = run(&e, 1, &[item("SKU-X1", "A", 1), item("SKU-Y", "A", 1)]);
        assert_eq!(v.item_failures, vec![Some("Mismatch".into()), None]);
        assert_eq!(v.fired[0].effect, "fail 1 item: Mismatch");
    }

    #[test]
    fn every_third_request_and_sequences() {
        let e = engine(
            r#"
            [[rules]]
            match = { request = { every = 3 } }
            effect = { status = 503 }
            [[rules]]
            name = "first-two"
            times = 2
            effect = { status = 500 }
            "#,
        );
        let statuses: Vec<Option<u16>> = (1..=7)
            .map(|n| run(&e, n, &[item("P", "V", 1)]).answer.status.map(|s| s.0))
            .collect();
        assert_eq!(
            statuses,
            [Some(500), Some(500), Some(503), None, None, Some(503), None]
        );
    }

    #[test]
    fn same_seed_same_draws() {
        let text =
            "seed = 9\n[[rules]]\nmatch = { probability = 0.5 }\neffect = { status = 502 }\n";
        let draws = |e: &Engine| -> Vec<bool> {
            (1..=40)
                .map(|n| run(e, n, &[]).answer.status.is_some())
                .collect()
        };
        let a = draws(&engine(text));
        assert_eq!(a, draws(&engine(text)));
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
        let e = engine(text);
        let first = draws(&e);
        e.reset();
        assert_eq!(first, draws(&e));
    }

    #[test]
    fn explains_the_nearest_rule() {
        let e = engine(
            r#"
            [[rules]]
            name = "sku-x"
            match = { productId = "SKU-X", seller = "demo" }
            effect = { fail = "Mismatch" }
            [[rules]]
            name = "late"
            match = { request = 100 }
            effect = { status = 503 }
            "#,
        );
        let v = run(&e, 1, &[item("SKU-Y", "V", 1)]);
        let why = v.explain.unwrap();
        assert!(
            why.contains("`sku-x`") && why.contains("wanted `SKU-X`, got `SKU-Y`"),
            "{why}"
        );
    }

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
    fn item_draws_do_not_depend_on_arrival_order() {
        let text =
            "seed = 4\n[[rules]]\nmatch = { probability = 0.5 }\neffect = { fail = 'Flaky' }\n";
        let ids: Vec<String> = (0..40).map(|i| format!("P{i}")).collect();
        // Each item is sent three times; the arrival order differs between the two runs.
        let outcome = |order: &[usize]| {
            let e = engine(text);
            let mut seen: BTreeMap<(usize, u32), bool> = BTreeMap::new();
            let mut sends: BTreeMap<usize, u32> = BTreeMap::new();
            for &i in order {
                let v = run(&e, 1, &[item(&ids[i], "V", 1)]);
                let k = sends.entry(i).or_insert(0);
                *k += 1;
                seen.insert(
                    (i, *k),
                    v.item_failures.first().is_some_and(Option::is_some),
                );
            }
            seen
        };
        let forward: Vec<usize> = (0..3).flat_map(|_| 0..40).collect();
        let backward: Vec<usize> = (0..3).flat_map(|_| (0..40).rev()).collect();
        let a = outcome(&forward);
        assert_eq!(a, outcome(&backward));
        let failed = a.values().filter(|f| **f).count();
        assert!((30..=90).contains(&failed), "{failed} of 120 failed");
        // A retry of the same item gets a fresh draw: not every item fails all three times.
        assert!((0..40).any(|i| a[&(i, 1)] != a[&(i, 2)] || a[&(i, 2)] != a[&(i, 3)]));
    }

    #[test]
    fn daily_windows_use_the_wall_clock() {
        let e = engine(
            "[[rules]]\nname = 'nightly'\nmatch = { daily = { from = '02:00', to = '02:15' } }\neffect = { status = 503 }\n",
        );
        let at = |h: u64, m: u64| {
            e.evaluate(&RequestFacts {
                seller: "demo",
                n: 1,
                elapsed: Duration::ZERO,
                wall: crate::clock::Clock::now(&crate::clock::ManualClock::at_utc(h, m)),
                items: &[],
            })
        };
        assert_eq!(at(2, 5).answer.status.map(|s| s.0), Some(503));
        let v = at(3, 0);
        assert!(v.answer.status.is_none());
        assert!(
            v.explain
                .unwrap()
                .contains("03:00 UTC is outside 02:00–02:15 UTC")
        );
    }

    #[test]
    fn delays_follow_their_distribution() {
        let e = engine(
            "seed = 1\n[[rules]]\nmatch = { batchSize = 1 }\neffect = { delay = { p50 = '100ms', p99 = '1s' } }\n",
        );
        let mut d: Vec<Duration> = (0..2000)
            .map(|i| {
                let p = format!("P{i}");
                run(&e, 1, &[item(&p, "V", 1)]).answer.delay
            })
            .collect();
        d.sort();
        let (p50, p99) = (d[1000], d[1980]);
        assert!(
            p50 > Duration::from_millis(85) && p50 < Duration::from_millis(115),
            "{p50:?}"
        );
        assert!(
            p99 > Duration::from_millis(700) && p99 < Duration::from_millis(1400),
            "{p99:?}"
        );
        assert!(d[1999] <= Duration::from_secs(10));
        let err = Scenario::parse(
            "[[rules]]\neffect = { delay = { p50 = '1s', p99 = '10ms' } }",
            Format::Toml,
            "s",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("delay.p99"), "{err}");
    }

    #[test]
    fn effects_compile_to_acts_in_order() {
        let r = CRule::compile(
            0,
            &Rule {
                effect: Effect {
                    status: Some(429),
                    retry_after: Some(3),
                    delay: Some(Delay::Fixed("10ms".into())),
                    ..Effect::default()
                },
                ..Rule::default()
            },
            "t",
        )
        .unwrap();
        assert_eq!(
            r.acts,
            vec![
                Act::Status(429, None),
                Act::RetryAfter(3),
                Act::Delay(DelayDist::Fixed(Duration::from_millis(10)))
            ]
        );
    }
}
