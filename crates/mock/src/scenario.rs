//! Scenario files: ordered rules, each a match and an effect, that script how the mock
//! misbehaves. The file format (TOML, YAML or JSON) is [`Scenario`]; its JSON Schema is
//! [`json_schema`] (committed as `schemas/scenario.schema.json`).
//!
//! Evaluation ([`Engine`]) is deterministic: rule counters and a seeded ChaCha RNG, so the same
//! seed and the same sequence of requests give the same run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stockwire_schema::exchange::field;

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
    /// Seed of the random draws (`probability`, `jitter`): the same seed and the same requests
    /// give the same run.
    #[serde(default)]
    pub seed: u64,
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
    /// Probability (0 to 1) that the rule fires when everything else matches, drawn from the
    /// scenario's seeded RNG (once per request, or per item for `fail` rules).
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
    /// Wait this long before answering (`"250ms"`, `"2s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Add a random extra wait between 0 and this (seeded RNG).
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
    Glob(globset::GlobMatcher, String),
    Regex(regex::Regex),
}

impl CPattern {
    fn compile(
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
            ),
            Pattern::Regex(r) => CPattern::Regex(
                regex::Regex::new(&r.regex)
                    .map_err(|e| err(format!("{field}: bad regex `{}`: {e}", r.regex)))?,
            ),
        })
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            CPattern::Exact(e) => e == s,
            CPattern::Glob(g, _) => g.is_match(s),
            CPattern::Regex(r) => r.is_match(s),
        }
    }

    fn describe(&self) -> String {
        match self {
            CPattern::Exact(e) => format!("`{e}`"),
            CPattern::Glob(_, g) => format!("glob `{g}`"),
            CPattern::Regex(r) => format!("regex `{}`", r.as_str()),
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
    probability: Option<f64>,
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct CRule {
    pub name: String,
    when: CMatch,
    times: Option<u64>,
    pub effect: Effect,
    pub delay: Duration,
    pub jitter: Duration,
    pub drip: Option<(usize, Duration)>,
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
        let when = CMatch {
            product: pat(&m.product_id, field::PRODUCT_ID)?,
            variant: pat(&m.variant_id, field::VARIANT_ID)?,
            facility: pat(&m.facility_code, field::FACILITY_CODE)?,
            inventory: m.inventory.as_ref().map(bounds),
            seller: pat(&m.seller, "seller")?,
            batch: m.batch_size.as_ref().map(bounds),
            request: m.request.clone(),
            elapsed,
            probability: m.probability,
        };
        let e = &r.effect;
        let answer_set = e.status.is_some()
            || e.body.is_some()
            || e.retry_after.is_some()
            || !e.headers.is_empty()
            || e.delay.is_some()
            || e.jitter.is_some()
            || e.close
            || e.malformed.is_some()
            || e.content_type.is_some()
            || e.break_contract.is_some()
            || e.drip.is_some();
        if e.fail.is_some() && answer_set {
            return Err(err(
                "`fail` (an item effect) cannot be combined with answer effects; write two rules"
                    .into(),
            ));
        }
        if e.fail.is_none() && !answer_set {
            return Err(err("the effect is empty".into()));
        }
        if let Some(s) = e.status
            && !(100..=599).contains(&s)
        {
            return Err(err(format!("status must be 100 to 599, got {s}")));
        }
        if e.body.is_some() && e.status.is_none() {
            return Err(err("`body` needs a `status`".into()));
        }
        for (k, v) in &e.headers {
            if hyper::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(v).is_err()
            {
                return Err(err(format!("header `{k}: {v}` is not a valid HTTP header")));
            }
        }
        if let Some(ct) = &e.content_type
            && hyper::header::HeaderValue::from_str(ct).is_err()
        {
            return Err(err(format!(
                "contentType `{ct}` is not a valid header value"
            )));
        }
        let delay = e
            .delay
            .as_deref()
            .map(|t| duration(t, "delay", &err))
            .transpose()?
            .unwrap_or_default();
        let jitter = e
            .jitter
            .as_deref()
            .map(|t| duration(t, "jitter", &err))
            .transpose()?
            .unwrap_or_default();
        let drip = match &e.drip {
            None => None,
            Some(d) if d.chunk == 0 => return Err(err("drip.chunk must be at least 1".into())),
            Some(d) => Some((d.chunk, duration(&d.interval, "drip.interval", &err)?)),
        };
        Ok(CRule {
            name,
            when,
            times: r.times,
            effect: e.clone(),
            delay,
            jitter,
            drip,
        })
    }

    fn is_item_rule(&self) -> bool {
        self.effect.fail.is_some()
    }

    fn has_item_conditions(&self) -> bool {
        let w = &self.when;
        w.product.is_some() || w.variant.is_some() || w.facility.is_some() || w.inventory.is_some()
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
    /// Per item: the failure message a rule gave it.
    pub item_failures: Vec<Option<String>>,
    pub answer: AnswerEffects,
    pub fired: Vec<Fired>,
    /// When rules exist and none fired: why the nearest one did not.
    pub explain: Option<String>,
}

/// A compiled scenario with its run-time state (rule counters and RNG).
#[derive(Debug)]
pub struct Engine {
    scenario: Scenario,
    rules: Vec<CRule>,
    fired_counts: Vec<AtomicU64>,
    rng: Mutex<ChaCha8Rng>,
}

impl Engine {
    /// Compiles a scenario.
    pub fn new(scenario: Scenario) -> Result<Engine, ScenarioError> {
        let rules = scenario.compile("scenario")?;
        Ok(Engine {
            fired_counts: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(scenario.seed)),
            rules,
            scenario,
        })
    }

    /// The scenario this engine runs.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Clears rule counters and reseeds the RNG.
    pub fn reset(&self) {
        for c in &self.fired_counts {
            c.store(0, Ordering::SeqCst);
        }
        if let Ok(mut r) = self.rng.lock() {
            *r = ChaCha8Rng::seed_from_u64(self.scenario.seed);
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

    fn draw(&self, p: f64) -> bool {
        match self.rng.lock() {
            Ok(mut r) => r.random_bool(p.clamp(0.0, 1.0)),
            Err(_) => false,
        }
    }

    fn draw_duration(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        match self.rng.lock() {
            Ok(mut r) => Duration::from_nanos(r.random_range(0..=max.as_nanos() as u64)),
            Err(_) => Duration::ZERO,
        }
    }

    /// Evaluates every rule against a request.
    pub(crate) fn evaluate(&self, req: &RequestFacts<'_>) -> Verdict {
        let mut v = Verdict {
            item_failures: vec![None; req.items.len()],
            ..Verdict::default()
        };
        if self.rules.is_empty() {
            return v;
        }
        // Answer rules first: an answer that replaces processing (status, close) leaves the
        // item rules unfired, so the journal only names rules that shaped the answer.
        for item_pass in [false, true] {
            if item_pass && (v.answer.status.is_some() || v.answer.close) {
                break;
            }
            self.pass(req, item_pass, &mut v);
        }
        if v.fired.is_empty() {
            v.explain = Some(self.explain(req));
        }
        v
    }

    fn pass(&self, req: &RequestFacts<'_>, item_pass: bool, v: &mut Verdict) {
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
            if rule.is_item_rule() {
                let msg = rule.effect.fail.clone().unwrap_or_default();
                let mut hits = 0usize;
                for (i, item) in req.items.iter().enumerate() {
                    if !item.eligible || v.item_failures[i].is_some() {
                        continue;
                    }
                    if item_conditions(&rule.when, item)
                        && rule.when.probability.is_none_or(|p| self.draw(p))
                    {
                        v.item_failures[i] = Some(msg.clone());
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
            if let Some(p) = rule.when.probability
                && !self.draw(p)
            {
                continue;
            }
            self.fired_counts[idx].fetch_add(1, Ordering::SeqCst);
            let extra = if rule.jitter.is_zero() {
                Duration::ZERO
            } else {
                self.draw_duration(rule.jitter)
            };
            v.fired.push(Fired {
                rule: rule.name.clone(),
                effect: merge(&mut v.answer, rule, extra),
            });
        }
    }

    /// Why no rule fired: the rule with the most conditions met and the first one it missed.
    fn explain(&self, req: &RequestFacts<'_>) -> String {
        let mut best: Option<(usize, &CRule, String)> = None;
        for (idx, rule) in self.rules.iter().enumerate() {
            let (met, missed) = audit(rule, req);
            let missed = match missed {
                Some(m) => m,
                None => match rule.times {
                    Some(t) if self.fired_counts[idx].load(Ordering::SeqCst) >= t => {
                        format!("it already fired {t} time(s) (times = {t})")
                    }
                    _ => match rule.when.probability {
                        Some(p) => format!("its probability draw ({p}) missed"),
                        None => "the items it matches had already failed".into(),
                    },
                },
            };
            if best.as_ref().is_none_or(|(m, _, _)| met > *m) {
                best = Some((met, rule, missed));
            }
        }
        match best {
            Some((_, rule, why)) => {
                format!(
                    "no rule fired; nearest: `{}`, not fired because {why}",
                    rule.name
                )
            }
            None => "no rule fired".into(),
        }
    }
}

fn merge(a: &mut AnswerEffects, rule: &CRule, jitter: Duration) -> String {
    let e = &rule.effect;
    let mut did = Vec::new();
    if let Some(s) = e.status
        && a.status.is_none()
    {
        a.status = Some((s, e.body.clone(), rule.name.clone()));
        did.push(format!("status {s}"));
    }
    if let Some(r) = e.retry_after
        && a.retry_after.is_none()
    {
        a.retry_after = Some(r);
        did.push(format!("retry-after {r}s"));
    }
    for (k, v) in &e.headers {
        a.headers.push((k.clone(), v.clone()));
        did.push(format!("header {k}"));
    }
    if !rule.delay.is_zero() || !jitter.is_zero() {
        let d = rule.delay + jitter;
        a.delay += d;
        did.push(format!("delay {}", humantime::format_duration(d)));
    }
    if e.close && !a.close {
        a.close = true;
        did.push("close connection".into());
    }
    if let Some(m) = e.malformed
        && a.malformed.is_none()
    {
        a.malformed = Some(m);
        did.push(format!("malformed body ({})", kebab(&m)));
    }
    if let Some(ct) = &e.content_type
        && a.content_type.is_none()
    {
        a.content_type = Some(ct.clone());
        did.push(format!("content-type {ct}"));
    }
    if let Some(b) = e.break_contract
        && a.breach.is_none()
    {
        a.breach = Some(b);
        did.push(format!("break contract ({})", kebab(&b)));
    }
    if let Some(d) = rule.drip
        && a.drip.is_none()
    {
        a.drip = Some(d);
        did.push(format!(
            "drip {} bytes every {}",
            d.0,
            humantime::format_duration(d.1)
        ));
    }
    if did.is_empty() {
        "nothing (overridden by an earlier rule)".into()
    } else {
        did.join(", ")
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
fn audit(rule: &CRule, r: &RequestFacts<'_>) -> (usize, Option<String>) {
    let m = &rule.when;
    let mut a = Audit::default();
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
    if rule.has_item_conditions() && a.missed.is_none() {
        a.check(any(&|i| item_conditions(m, i)), &|| {
            "no single item meets all its item conditions".into()
        });
    }
    (a.met, a.missed)
}

#[derive(Default)]
struct Audit {
    met: usize,
    missed: Option<String>,
}

impl Audit {
    fn check(&mut self, ok: bool, why: &dyn Fn() -> String) {
        if ok {
            self.met += 1;
        } else if self.missed.is_none() {
            self.missed = Some(why());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
