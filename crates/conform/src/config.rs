//! Run settings: the options of one run ([`RunOptions`]: target, credentials, budget, check
//! selection, read-back) and the `stockwire.toml` run-config file with its merge rules (flags
//! override the file). The policies (where real partners legitimately differ) are plain data
//! shared with the checks and the report: they are defined in `model::policies` and re-exported
//! here, their public home.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stockwire_schema::{Catalog, CatalogEntry, Profile};

use crate::client::http::{ClientOptions, ExtraHeader};
use crate::error::ConformError;
pub use crate::model::policies::{
    BatchLimit, BatchRejection, Dur, FailOn, InventorySpelling, ListOnSuccess, Policies,
    RejectionStatus, parse_duration,
};

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

/// Who the runner is when it calls the partner.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No apiKey (auth checks are skipped).
    #[default]
    None,
    /// A token to send in the `apiKey` header.
    ApiKey(String),
    /// Seller credentials for `/authToken`.
    Login {
        /// Username.
        username: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::ApiKey(_) => f.write_str("ApiKey([REDACTED])"),
            Credentials::Login { username, .. } => write!(f, "Login({username}, [REDACTED])"),
        }
    }
}

impl Credentials {
    /// The secrets to redact from every output.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Credentials::None => vec![],
            Credentials::ApiKey(k) => vec![k.clone()],
            Credentials::Login { password, .. } => vec![password.clone()],
        }
    }
}

/// Default number of cases: enough to cover every probe a few times over and still finish in a
/// few seconds against a fast local partner.
pub const DEFAULT_CASES: u64 = 200;

/// Everything a run needs. The runner knows only URLs: starting a mock is the caller's job.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Base URL; the runner appends the contract's paths (`/updateInventory`, `/authToken`).
    pub target: String,
    /// How the target is named in reports (defaults to the URL).
    pub target_label: Option<String>,
    /// Credentials.
    pub credentials: Credentials,
    /// Contract version.
    pub profile: Profile,
    /// The partner's test seller's known items.
    pub catalog: Catalog,
    /// Only catalog entries of this seller (entries without a seller always count).
    pub seller: Option<String>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Case budget (used when `duration` is not set).
    pub cases: u64,
    /// Time budget; when set, cases are generated until it runs out.
    pub duration: Option<Duration>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests per second ceiling.
    pub rate: Option<f64>,
    /// Per-request time-out.
    pub timeout: Duration,
    /// Connect time-out.
    pub connect_timeout: Duration,
    /// Response size cap in bytes.
    pub max_response_bytes: usize,
    /// Only these checks (empty: all).
    pub checks: Vec<String>,
    /// Not these checks.
    pub skip_checks: Vec<String>,
    /// Policies.
    pub policies: Policies,
    /// Which violations fail the run.
    pub fail_on: FailOn,
    /// Set every catalog item back to its stated stock at the end.
    pub restore: bool,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Without a probe, read stored stock from the target's `/__admin/ledger` when it has one.
    pub observe: bool,
    /// A command (`sh -c`) that prints one item's stored stock ([`crate::readers::probe`]).
    pub stock_probe: Option<String>,
    /// The admin token of a stockwire mock started with `--admin-token`, sent on ledger reads.
    pub admin_token: Option<String>,
    /// How long one probe call may take.
    pub stock_probe_timeout: Duration,
    /// How long an asynchronous partner gets to apply an update before a mismatch counts.
    pub stock_settle: Duration,
    /// Which cases have their stored stock read back (`None`: [`DEFAULT_PROBE_SAMPLE`] with a
    /// probe, [`DEFAULT_LEDGER_SAMPLE`] through a mock's ledger).
    pub stock_sample: Option<StockSample>,
    /// Requests the shrinker may spend on one failing case.
    pub shrink_requests: u32,
    /// Extra request headers sent with every request (`--header`).
    pub extra_headers: Vec<ExtraHeader>,
    /// PEM file of CA certificates trusted in addition to the built-in roots (`--cacert`).
    pub cacert: Option<PathBuf>,
}

impl RunOptions {
    /// Defaults for `target`.
    pub fn new(target: impl Into<String>) -> Self {
        RunOptions {
            target: target.into(),
            target_label: None,
            credentials: Credentials::None,
            profile: Profile::V1,
            catalog: Catalog::default(),
            seller: None,
            seed: 0,
            cases: DEFAULT_CASES,
            duration: None,
            concurrency: 4,
            rate: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 16 * 1024 * 1024,
            checks: Vec::new(),
            skip_checks: Vec::new(),
            policies: Policies::default(),
            fail_on: FailOn::Any,
            restore: false,
            insecure: false,
            observe: true,
            stock_probe: None,
            admin_token: None,
            stock_probe_timeout: crate::readers::probe::DEFAULT_TIMEOUT,
            stock_settle: Duration::from_secs(2),
            stock_sample: None,
            shrink_requests: 48,
            extra_headers: Vec::new(),
            cacert: None,
        }
    }
}

impl ClientOptions {
    /// The transport settings of a run.
    pub fn from_run(opts: &RunOptions, max_idle: usize) -> Self {
        ClientOptions {
            timeout: opts.timeout,
            connect_timeout: opts.connect_timeout,
            max_response_bytes: opts.max_response_bytes,
            insecure: opts.insecure,
            rate: opts.rate,
            max_idle,
            extra_headers: opts.extra_headers.clone(),
            cacert: opts.cacert.clone(),
        }
    }
}

/// `[auth]`: credentials, by environment-variable name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AuthConfig {
    /// Environment variable holding the apiKey.
    pub api_key_env: Option<String>,
    /// Seller username (not a secret).
    pub username: Option<String>,
    /// Environment variable holding the username.
    pub username_env: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// A literal apiKey (discouraged: draws a warning; use `api-key-env`).
    pub api_key: Option<String>,
    /// A literal password (discouraged: draws a warning; use `password-env`).
    pub password: Option<String>,
}

/// `[budget]`: how much to send and how fast.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BudgetConfig {
    /// Number of cases (probes count toward it).
    pub cases: Option<u64>,
    /// Time budget instead of a case count.
    pub duration: Option<Dur>,
    /// Requests in flight at once.
    pub concurrency: Option<usize>,
    /// Requests per second ceiling.
    pub rate: Option<f64>,
    /// Per-request time-out.
    pub timeout: Option<Dur>,
    /// Connect time-out.
    pub connect_timeout: Option<Dur>,
    /// Response size cap in bytes.
    pub max_response_bytes: Option<usize>,
    /// Requests the shrinker may spend on one failing case.
    pub shrink_requests: Option<u32>,
}

/// `[checks]`: which checks run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChecksConfig {
    /// Only these check ids (empty: all).
    #[serde(default)]
    pub only: Vec<String>,
    /// Not these check ids.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Which violations fail the run.
    pub fail_on: Option<FailOn>,
}

/// Policies as written in a file: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PoliciesConfig {
    /// See [`Policies::rejection_status`].
    pub rejection_status: Option<RejectionStatus>,
    /// See [`Policies::failed_list_on_success`].
    pub failed_list_on_success: Option<ListOnSuccess>,
    /// See [`Policies::batch_rejection`].
    pub batch_rejection: Option<BatchRejection>,
    /// See [`Policies::inventory_spelling`].
    pub inventory_spelling: Option<InventorySpelling>,
    /// See [`Policies::batch_limit`].
    pub batch_limit: Option<BatchLimit>,
    /// See [`Policies::latency_budget`].
    pub latency_budget: Option<Dur>,
}

/// `stockwire.toml`: a named, versioned suite. Every key is optional; flags override it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(
    title = "stockwire.toml",
    description = "Run configuration of `stockwire conform`."
)]
pub struct ConfigFile {
    /// Partner base URL (the runner appends /updateInventory); absent: the embedded mock.
    pub target: Option<String>,
    /// A mock scenario file to run the embedded mock with (instead of `target`).
    pub target_scenario: Option<PathBuf>,
    /// Contract version.
    pub profile: Option<Profile>,
    /// Catalog file (JSON array or CSV of productId, variantId, stock?, seller?).
    pub catalog: Option<PathBuf>,
    /// Known items added to the catalog, each `{productId, variantId, stock?, seller?}` (the
    /// catalog format's names); `--item` adds more. The same pair twice is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KnownItem>,
    /// Seller whose catalog entries to use.
    pub seller: Option<String>,
    /// Seed.
    pub seed: Option<u64>,
    /// Credentials.
    pub auth: Option<AuthConfig>,
    /// Budget.
    pub budget: Option<BudgetConfig>,
    /// Policies.
    pub policies: Option<PoliciesConfig>,
    /// Check selection.
    pub checks: Option<ChecksConfig>,
    /// Reports to write, e.g. `["json=out/report.json", "junit=out/junit.xml"]`.
    #[serde(default)]
    pub reports: Vec<String>,
    /// Accept any TLS certificate (warned about).
    pub insecure: Option<bool>,
    /// Restore every catalog item's stock at the end (with a stock probe: the stock read before
    /// the run first touched it; without: the catalog's stated stock).
    pub restore: Option<bool>,
    /// A command run through `sh -c` that prints one item's stored stock, or nothing if never
    /// set. Ids arrive as `STOCKWIRE_PRODUCT_ID`, `STOCKWIRE_VARIANT_ID`, `STOCKWIRE_SELLER`,
    /// `STOCKWIRE_FACILITY_CODE`, as `{productId}`-style placeholders (one shell-quoted word) and
    /// as `{productId:url}` (URL-encoded).
    pub stock_probe: Option<String>,
    /// Time one probe call may take (default 5s).
    pub stock_probe_timeout: Option<Dur>,
    /// Time an asynchronous partner gets to apply an update before a read-back mismatch is
    /// reported (default 2s).
    pub stock_settle: Option<Dur>,
    /// Cases of each kind whose stored stock is read back, within about that many probe calls
    /// per 5 cases (default 1 with a probe; every case through a stockwire mock's ledger), or
    /// `all` for every case.
    pub stock_sample: Option<StockSample>,
}

/// A report to write: `json=PATH` or `junit=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSpec {
    /// The JSON report.
    Json(PathBuf),
    /// JUnit XML.
    Junit(PathBuf),
    /// The self-contained HTML page.
    Html(PathBuf),
}

impl std::str::FromStr for ReportSpec {
    type Err = ConformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |m: &str| ConformError::Setting {
            name: "report".into(),
            message: format!("`{s}`: {m} (expected json=PATH, junit=PATH or html=PATH)"),
        };
        let (kind, path) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        if path.is_empty() {
            return Err(bad("empty path"));
        }
        match kind.trim() {
            "json" => Ok(ReportSpec::Json(PathBuf::from(path))),
            "junit" => Ok(ReportSpec::Junit(PathBuf::from(path))),
            "html" => Ok(ReportSpec::Html(PathBuf::from(path))),
            other => Err(bad(&format!("unknown format `{other}`"))),
        }
    }
}

impl ConfigFile {
    /// Reads a config file; returns it with warnings (literal secrets). Relative paths in it
    /// are resolved against the file's folder.
    pub fn load(path: &Path) -> Result<(ConfigFile, Vec<String>), ConformError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConformError::Config {
            file: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg: ConfigFile = toml::from_str(&text).map_err(|e| ConformError::Config {
            file: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let rebase = |p: &mut Option<PathBuf>| {
            if let Some(x) = p {
                if x.is_relative() {
                    *x = base.join(&*x);
                }
            }
        };
        rebase(&mut cfg.catalog);
        rebase(&mut cfg.target_scenario);
        cfg.reports = cfg
            .reports
            .iter()
            .map(|r| match r.split_once('=') {
                Some((k, p)) if Path::new(p).is_relative() => {
                    format!("{k}={}", base.join(p).display())
                }
                _ => r.clone(),
            })
            .collect();
        let mut warnings = Vec::new();
        if let Some(a) = &cfg.auth {
            if a.api_key.is_some() {
                warnings.push(format!(
                    "{}: [auth] api-key holds a literal secret; keep it out of version control and use api-key-env",
                    path.display()
                ));
            }
            if a.password.is_some() {
                warnings.push(format!(
                    "{}: [auth] password holds a literal secret; use password-env",
                    path.display()
                ));
            }
        }
        Ok((cfg, warnings))
    }

    /// `self` with every key that `over` sets replaced (flags override the file).
    pub fn overlay(mut self, over: ConfigFile) -> ConfigFile {
        macro_rules! take {
            ($($f:ident),*) => { $( if over.$f.is_some() { self.$f = over.$f.clone(); } )* };
        }
        let (has_target, has_scenario) = (over.target.is_some(), over.target_scenario.is_some());
        take!(
            target,
            target_scenario,
            profile,
            catalog,
            seller,
            seed,
            insecure,
            restore,
            stock_probe,
            stock_probe_timeout,
            stock_settle,
            stock_sample
        );
        if has_target && !has_scenario {
            self.target_scenario = None;
        }
        if has_scenario && !has_target {
            self.target = None;
        }
        if let Some(a) = over.auth {
            let mut base = self.auth.take().unwrap_or_default();
            macro_rules! takea { ($($f:ident),*) => { $( if a.$f.is_some() { base.$f = a.$f.clone(); } )* }; }
            takea!(
                api_key_env,
                username,
                username_env,
                password_env,
                api_key,
                password
            );
            if a.api_key.is_some() || a.api_key_env.is_some() {
                // An explicit key wins over login credentials from the file.
                base.username = a.username.clone();
                base.username_env = a.username_env.clone();
                base.password = a.password.clone();
                base.password_env = a.password_env.clone();
            }
            self.auth = Some(base);
        }
        if let Some(b) = over.budget {
            let mut base = self.budget.take().unwrap_or_default();
            macro_rules! takeb { ($($f:ident),*) => { $( if b.$f.is_some() { base.$f = b.$f; } )* }; }
            takeb!(
                cases,
                duration,
                concurrency,
                rate,
                timeout,
                connect_timeout,
                max_response_bytes,
                shrink_requests
            );
            if b.cases.is_some() && b.duration.is_none() {
                base.duration = None;
            }
            self.budget = Some(base);
        }
        if let Some(p) = over.policies {
            let mut base = self.policies.take().unwrap_or_default();
            macro_rules! takep { ($($f:ident),*) => { $( if p.$f.is_some() { base.$f = p.$f; } )* }; }
            takep!(
                rejection_status,
                failed_list_on_success,
                batch_rejection,
                inventory_spelling,
                batch_limit,
                latency_budget
            );
            self.policies = Some(base);
        }
        if let Some(c) = over.checks {
            let mut base = self.checks.take().unwrap_or_default();
            if !c.only.is_empty() {
                base.only = c.only;
            }
            if !c.skip.is_empty() {
                base.skip = c.skip;
            }
            if c.fail_on.is_some() {
                base.fail_on = c.fail_on;
            }
            self.checks = Some(base);
        }
        if !over.reports.is_empty() {
            self.reports = over.reports;
        }
        // Known items add up (the file's, then the flags'); duplicates are refused later.
        self.items.extend(over.items);
        self
    }

    /// Adds the known items (`items`, `--item`) to `catalog`; the same pair twice (among them
    /// or with the catalog file) is an error naming it.
    pub fn add_items(&self, catalog: &mut Catalog) -> Result<(), ConformError> {
        for item in &self.items {
            catalog
                .add(item.0.clone())
                .map_err(|e| ConformError::Setting {
                    name: "item".into(),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// The effective policies.
    pub fn policies(&self) -> Policies {
        let mut p = Policies::default();
        if let Some(c) = &self.policies {
            if let Some(x) = c.rejection_status {
                p.rejection_status = x;
            }
            if let Some(x) = c.failed_list_on_success {
                p.failed_list_on_success = x;
            }
            if let Some(x) = c.batch_rejection {
                p.batch_rejection = x;
            }
            if let Some(x) = c.inventory_spelling {
                p.inventory_spelling = x;
            }
            if let Some(x) = c.batch_limit {
                p.batch_limit = x;
            }
            if let Some(x) = c.latency_budget {
                p.latency_budget = x;
            }
        }
        p
    }

    /// The reports to write.
    pub fn report_specs(&self) -> Result<Vec<ReportSpec>, ConformError> {
        self.reports.iter().map(|r| r.parse()).collect()
    }

    /// Credentials, reading environment variables through `env`.
    pub fn credentials(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, ConformError> {
        let Some(a) = &self.auth else {
            return Ok(Credentials::None);
        };
        let from_env = |var: &Option<String>, key: &str| -> Result<Option<String>, ConformError> {
            match var {
                None => Ok(None),
                Some(v) => env(v).map(Some).ok_or_else(|| ConformError::MissingEnv {
                    var: v.clone(),
                    key: key.into(),
                }),
            }
        };
        let api_key = match &a.api_key {
            Some(k) => Some(k.clone()),
            None => from_env(&a.api_key_env, "auth.api-key-env")?,
        };
        if let Some(k) = api_key {
            return Ok(Credentials::ApiKey(k));
        }
        let username = match &a.username {
            Some(u) => Some(u.clone()),
            None => from_env(&a.username_env, "auth.username-env")?,
        };
        let password = match &a.password {
            Some(p) => Some(p.clone()),
            None => from_env(&a.password_env, "auth.password-env")?,
        };
        match (username, password) {
            (Some(username), Some(password)) => Ok(Credentials::Login { username, password }),
            (None, None) => Ok(Credentials::None),
            _ => Err(ConformError::Setting {
                name: "auth".into(),
                message: "username and password go together".into(),
            }),
        }
    }

    /// Builds run options for `target` (the URL the caller resolved: the file's, a flag's or an
    /// embedded mock's), reading the catalog and environment.
    pub fn run_options(
        &self,
        target: String,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RunOptions, ConformError> {
        let mut o = RunOptions::new(target);
        o.credentials = self.credentials(env)?;
        if let Some(p) = self.profile {
            o.profile = p;
        }
        if let Some(c) = &self.catalog {
            o.catalog = Catalog::read(c)?;
        }
        self.add_items(&mut o.catalog)?;
        o.seller = self.seller.clone();
        if let Some(s) = self.seed {
            o.seed = s;
        }
        if let Some(b) = &self.budget {
            if let Some(c) = b.cases {
                o.cases = c;
            }
            o.duration = b.duration.map(|d| d.0);
            if let Some(c) = b.concurrency {
                if c == 0 {
                    return Err(ConformError::Setting {
                        name: "concurrency".into(),
                        message: "must be at least 1".into(),
                    });
                }
                o.concurrency = c;
            }
            if let Some(r) = b.rate {
                if r.is_nan() || r <= 0.0 {
                    return Err(ConformError::Setting {
                        name: "rate".into(),
                        message: "must be a positive number of requests per second".into(),
                    });
                }
                o.rate = Some(r);
            }
            if let Some(t) = b.timeout {
                o.timeout = t.0;
            }
            if let Some(t) = b.connect_timeout {
                o.connect_timeout = t.0;
            }
            if let Some(m) = b.max_response_bytes {
                o.max_response_bytes = m;
            }
            if let Some(s) = b.shrink_requests {
                o.shrink_requests = s;
            }
        }
        o.policies = self.policies();
        if let Some(c) = &self.checks {
            o.checks = c.only.clone();
            o.skip_checks = c.skip.clone();
            if let Some(f) = c.fail_on {
                o.fail_on = f;
            }
        }
        for id in o.checks.iter().chain(&o.skip_checks) {
            if crate::checks::find(id).is_none() {
                return Err(ConformError::Setting {
                    name: "checks".into(),
                    message: format!("unknown check id `{id}` (see --list-checks)"),
                });
            }
        }
        o.insecure = self.insecure.unwrap_or(false);
        o.restore = self.restore.unwrap_or(false);
        if let Some(p) = &self.stock_probe {
            if p.trim().is_empty() {
                return Err(ConformError::Setting {
                    name: "stock-probe".into(),
                    message: "is empty; give a command that prints one item's stock".into(),
                });
            }
            o.stock_probe = Some(p.clone());
        }
        if let Some(t) = self.stock_probe_timeout {
            if t.0.is_zero() {
                return Err(ConformError::Setting {
                    name: "stock-probe-timeout".into(),
                    message: "must be longer than 0".into(),
                });
            }
            o.stock_probe_timeout = t.0;
        }
        if let Some(t) = self.stock_settle {
            o.stock_settle = t.0;
        }
        if let Some(n) = self.stock_sample {
            o.stock_sample = Some(n);
        }
        Ok(o)
    }
}

/// The JSON Schema of `stockwire.toml` (committed as `schemas/stockwire-toml.schema.json`).
pub fn config_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_in(toml_text: &str) -> Result<Option<StockSample>, String> {
        toml::from_str::<ConfigFile>(toml_text)
            .map(|c| c.stock_sample)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn stock_sample_reads_a_count_or_all_and_names_a_bad_value() {
        assert_eq!(
            sample_in("stock-sample = 3"),
            Ok(Some(StockSample::PerKind(3)))
        );
        assert_eq!(
            sample_in("stock-sample = \"all\""),
            Ok(Some(StockSample::All))
        );
        assert_eq!(sample_in(""), Ok(None));
        for bad in [
            "stock-sample = 0",
            "stock-sample = \"most\"",
            "stock-sample = -2",
        ] {
            let e = sample_in(bad).unwrap_err();
            assert!(e.contains("stock-sample"), "{bad}: {e}");
            assert!(e.contains("all"), "{bad}: {e}");
        }
        assert_eq!("all".parse::<StockSample>(), Ok(StockSample::All));
        assert_eq!("2".parse::<StockSample>(), Ok(StockSample::PerKind(2)));
        assert!("0".parse::<StockSample>().is_err());
        assert_eq!(StockSample::PerKind(2).to_string(), "2");
    }
}
