//! Run settings: every option defined once ([`settings`]: one field gives a flag, a
//! `stockwire.toml` key, its schema entry, its help and its default), the layers they come from
//! and the one place they merge ([`layers`]: defaults < file < environment < flags), and the
//! options of one run as the runner takes them, resolved and typed ([`RunOptions`]: target,
//! credentials, budget, check selection, read-back). The policies (where real partners
//! legitimately differ) are plain data shared with the checks and the report: they are defined
//! in `model::policies` and re-exported here, their public home.

mod layers;
mod settings;
mod values;

use std::path::PathBuf;
use std::time::Duration;

use stockwire_schema::{Catalog, Profile};

use crate::client::http::{ClientOptions, ExtraHeader};
use crate::error::ConformError;
pub use crate::model::policies::{
    BatchLimit, BatchRejection, Dur, FailOn, InventorySpelling, ListOnSuccess, Policies,
    RejectionStatus, StockFrom, parse_dur, parse_duration,
};
pub use layers::{CommandLine, Layers, ReplayCommandLine};
pub use settings::{
    AuthConfig, BudgetConfig, CASES, CHECKS, ChecksConfig, ConfigFile, DEFAULT_CASES, POLICIES,
    PoliciesConfig, READ_BACK, REPORTS, SellerConfig, TARGET,
};
pub use values::{AuthMethod, DEFAULT_LEDGER_SAMPLE, DEFAULT_PROBE_SAMPLE, KnownItem, StockSample};

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

/// Everything a run needs. The runner knows only URLs: starting a mock is the caller's job.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Base URL; the runner appends the contract's paths (`/updateInventory`, `/authToken`).
    pub target: String,
    /// How the target is named in reports (defaults to the URL).
    pub target_label: Option<String>,
    /// Credentials.
    pub credentials: Credentials,
    /// A second seller's credentials, for `seller-isolation` (`Credentials::None`: one seller).
    pub second_seller: Credentials,
    /// How to call `/authToken` (`None`: GET, then POST when GET does not hand out a token).
    pub auth_method: Option<AuthMethod>,
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
    /// Total time the run may wait for a throttling partner (429, or 503 with Retry-After).
    pub throttle_budget: Duration,
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
    /// Never set stock back, not even after a run with discovery (`--no-restore`).
    pub no_restore: bool,
    /// Discover the seller's catalog through `/productsCount` and `/products` before the
    /// update cases (`--no-discovery` turns it off).
    pub discovery: bool,
    /// The most listing pages discovery reads, however the partner answers.
    pub max_pages: u64,
    /// Where stored stock is read from (`None`: the probe when given, else a stockwire
    /// mock's ledger, else the listing).
    pub stock_from: Option<StockFrom>,
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
    /// The command line that repeats this run, recorded in the report (the caller knows it).
    pub repeat_command: Option<String>,
}

impl RunOptions {
    /// The defaults (the settings' own, [`ConfigFile::defaults`]) for `target`.
    pub fn new(target: impl Into<String>) -> Self {
        ConfigFile::defaults().typed(target.into())
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
            throttle_budget: opts.throttle_budget,
        }
    }
}

/// A report to write: `json=PATH`, `junit=PATH`, `html=PATH` or `catalog=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSpec {
    /// The JSON report.
    Json(PathBuf),
    /// JUnit XML.
    Junit(PathBuf),
    /// The self-contained HTML page.
    Html(PathBuf),
    /// The catalog the update cases used (the discovered one, unless items were given), in
    /// the catalog format, to reuse with `--catalog` or edit.
    Catalog(PathBuf),
}

impl std::str::FromStr for ReportSpec {
    type Err = ConformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |m: &str| ConformError::Setting {
            name: "report".into(),
            message: format!(
                "`{s}`: {m} (expected json=PATH, junit=PATH, html=PATH or catalog=PATH)"
            ),
        };
        let (kind, path) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        if path.is_empty() {
            return Err(bad("empty path"));
        }
        match kind.trim() {
            "json" => Ok(ReportSpec::Json(PathBuf::from(path))),
            "junit" => Ok(ReportSpec::Junit(PathBuf::from(path))),
            "html" => Ok(ReportSpec::Html(PathBuf::from(path))),
            "catalog" => Ok(ReportSpec::Catalog(PathBuf::from(path))),
            other => Err(bad(&format!("unknown format `{other}`"))),
        }
    }
}

impl ConfigFile {
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

    /// The effective policies: each as set, else the lenient default.
    pub fn policies(&self) -> Policies {
        let d = Policies::default();
        let p = self.policies.clone().unwrap_or_default();
        Policies {
            rejection_status: p.rejection_status.unwrap_or(d.rejection_status),
            failed_list_on_success: p.failed_list_on_success.unwrap_or(d.failed_list_on_success),
            batch_rejection: p.batch_rejection.unwrap_or(d.batch_rejection),
            inventory_spelling: p.inventory_spelling.unwrap_or(d.inventory_spelling),
            batch_limit: p.batch_limit.unwrap_or(d.batch_limit),
            latency_budget: p.latency_budget.unwrap_or(d.latency_budget),
        }
    }

    /// The reports to write.
    pub fn report_specs(&self) -> Result<Vec<ReportSpec>, ConformError> {
        self.reports.iter().map(|r| r.parse()).collect()
    }

    /// The second seller's credentials (`Credentials::None` when not given), reading
    /// environment variables through `env`.
    pub fn second_seller(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, ConformError> {
        let listed = || match self.sellers.get(1) {
            Some(s) => seller_credentials(s, 2, &env),
            None => Ok(Credentials::None),
        };
        let Some(a) = &self.auth else {
            return listed();
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
        let api_key = match &a.second_seller_api_key {
            Some(k) => Some(k.clone()),
            None => from_env(
                &a.second_seller_api_key_env,
                "auth.second-seller-api-key-env",
            )?,
        };
        if let Some(k) = api_key {
            return Ok(Credentials::ApiKey(k));
        }
        let password = match &a.second_seller_password {
            Some(p) => Some(p.clone()),
            None => from_env(
                &a.second_seller_password_env,
                "auth.second-seller-password-env",
            )?,
        };
        match (a.second_seller_username.clone(), password) {
            (Some(username), Some(password)) => Ok(Credentials::Login { username, password }),
            (None, None) => listed(),
            _ => Err(ConformError::Setting {
                name: "auth".into(),
                message: "second-seller-username and its password go together".into(),
            }),
        }
    }

    /// Credentials, reading environment variables through `env`.
    pub fn credentials(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, ConformError> {
        let listed = || match self.sellers.first() {
            Some(s) => seller_credentials(s, 1, &env),
            None => Ok(Credentials::None),
        };
        let Some(a) = &self.auth else {
            return listed();
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
            (None, None) => listed(),
            _ => Err(ConformError::Setting {
                name: "auth".into(),
                message: "username and password go together".into(),
            }),
        }
    }

    /// Builds run options for `target` (the URL the caller resolved: the file's, a flag's or an
    /// embedded mock's) from these settings over the defaults, reading the catalog and the
    /// environment variables the file names through `env`, and checking the values.
    pub fn run_options(
        &self,
        target: String,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RunOptions, ConformError> {
        let s = ConfigFile::defaults().overlay(self.clone());
        let bad = |name: &str, message: &str| ConformError::Setting {
            name: name.into(),
            message: message.into(),
        };
        let budget = s.budget.clone().unwrap_or_default();
        if budget.concurrency == Some(0) {
            return Err(bad("concurrency", "must be at least 1"));
        }
        if budget.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err(bad(
                "rate",
                "must be a positive number of requests per second",
            ));
        }
        if s.stock_probe.as_ref().is_some_and(|p| p.trim().is_empty()) {
            return Err(bad(
                "stock-probe",
                "is empty; give a command that prints one item's stock",
            ));
        }
        if s.stock_from == Some(StockFrom::Listing) && s.stock_probe.is_some() {
            return Err(bad(
                "stock-from",
                "`listing` reads stock through the partner's listing; it cannot be combined with --stock-probe (use --stock-from probe, or drop the probe)",
            ));
        }
        if s.stock_from == Some(StockFrom::Probe) && s.stock_probe.is_none() {
            return Err(bad("stock-from", "`probe` needs --stock-probe COMMAND"));
        }
        if s.max_pages == Some(0) {
            return Err(bad("max-pages", "must be at least 1"));
        }
        if s.stock_probe_timeout.is_some_and(|t| t.0.is_zero()) {
            return Err(bad("stock-probe-timeout", "must be longer than 0"));
        }
        let mut o = s.typed(target);
        if s.sellers.len() > 2 {
            return Err(bad(
                "sellers",
                &format!(
                    "{} [[sellers]] given; at most two: the seller under test and a second one",
                    s.sellers.len()
                ),
            ));
        }
        o.credentials = s.credentials(&env)?;
        o.second_seller = s.second_seller(&env)?;
        if let Some(c) = &s.catalog {
            o.catalog = Catalog::read(c)?;
        }
        s.add_items(&mut o.catalog)?;
        for id in o.checks.iter().chain(&o.skip_checks) {
            if crate::checks::find(id).is_none() {
                return Err(bad(
                    "checks",
                    &format!("unknown check id `{id}` (see --list-checks)"),
                ));
            }
        }
        for (h, secret) in s
            .headers
            .iter()
            .map(|h| (h, false))
            .chain(s.secret_headers.iter().map(|h| (h, true)))
        {
            o.extra_headers.push(ExtraHeader::parse(h, secret)?);
        }
        Ok(o)
    }

    /// The values as the runner takes them, without reading or checking anything: a value no
    /// layer gave (the defaults are merged below every run's settings) is the type's zero.
    fn typed(&self, target: String) -> RunOptions {
        let b = self.budget.clone().unwrap_or_default();
        let c = self.checks.clone().unwrap_or_default();
        let dur = |d: Option<Dur>| d.map(|d| d.0).unwrap_or_default();
        RunOptions {
            target,
            target_label: None,
            credentials: Credentials::None,
            second_seller: Credentials::None,
            auth_method: self.auth.as_ref().and_then(|a| a.auth_method),
            profile: self.profile.unwrap_or_default(),
            catalog: Catalog::default(),
            seller: self.seller.clone(),
            seed: self.seed.unwrap_or_default(),
            cases: b.cases.unwrap_or_default(),
            duration: b.duration.map(|d| d.0),
            concurrency: b.concurrency.unwrap_or_default(),
            rate: b.rate,
            throttle_budget: dur(b.throttle_budget),
            timeout: dur(b.timeout),
            connect_timeout: dur(b.connect_timeout),
            max_response_bytes: b.max_response_bytes.unwrap_or_default(),
            checks: c.only,
            skip_checks: c.skip,
            policies: self.policies(),
            fail_on: c.fail_on.unwrap_or_default(),
            restore: self.restore.unwrap_or_default(),
            no_restore: self.no_restore.unwrap_or_default(),
            discovery: !self.no_discovery.unwrap_or_default(),
            max_pages: self.max_pages.unwrap_or_default(),
            stock_from: self.stock_from,
            insecure: self.insecure.unwrap_or_default(),
            observe: true,
            stock_probe: self.stock_probe.clone(),
            admin_token: self.admin_token.clone(),
            stock_probe_timeout: dur(self.stock_probe_timeout),
            stock_settle: dur(self.stock_settle),
            stock_sample: self.stock_sample,
            shrink_requests: b.shrink_requests.unwrap_or_default(),
            extra_headers: Vec::new(),
            cacert: self.cacert.clone(),
            repeat_command: None,
        }
    }
}

/// The JSON Schema of `stockwire.toml` (committed as `schemas/stockwire-toml.schema.json`).
pub fn config_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default()
}

/// The credentials of the `n`th `[[sellers]]` entry, reading its environment variables.
fn seller_credentials(
    s: &SellerConfig,
    n: usize,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, ConformError> {
    let read = |var: &Option<String>, key: &str| -> Result<Option<String>, ConformError> {
        match var {
            None => Ok(None),
            Some(v) => env(v).map(Some).ok_or_else(|| ConformError::MissingEnv {
                var: v.clone(),
                key: format!("sellers[{n}].{key}"),
            }),
        }
    };
    if let Some(k) = read(&s.api_key_env, "api-key-env")? {
        return Ok(Credentials::ApiKey(k));
    }
    let username = match &s.username {
        Some(u) => Some(u.clone()),
        None => read(&s.username_env, "username-env")?,
    };
    match (username, read(&s.password_env, "password-env")?) {
        (Some(username), Some(password)) => Ok(Credentials::Login { username, password }),
        (None, None) => Ok(Credentials::None),
        _ => Err(ConformError::Setting {
            name: "sellers".into(),
            message: format!("[[sellers]] entry {n}: a username and its password go together"),
        }),
    }
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
