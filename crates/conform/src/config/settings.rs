//! The run's options, each defined once, as one field: its flag (clap), its `stockwire.toml` key
//! (serde), its JSON Schema entry (schemars), its help text and schema description (the field's
//! doc comment), its default (the field's `default_value`) and how layers merge it (the field's
//! type, or its `merge` strategy). Groups of keys are tables in the file (`[auth]`, `[budget]`,
//! `[policies]`, `[checks]`) and flattened on the command line, where the help groups options by
//! heading. Options only a command line gives (`--config`, headers, the CA file, the admin
//! token) are skipped by serde, so neither the file nor its schema know them; keys only the file
//! gives (`connect-timeout`, …) are skipped by clap.
//!
//! Every value is optional: a layer (the defaults, the file, the environment, the flags) sets
//! what it sets, and `layers` merges them in one place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser};
use merge::Merge;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stockwire_schema::Profile;

use super::values::{AuthMethod, KnownItem, StockSample};
use crate::error::ConformError;
use crate::model::policies::{
    BatchLimit, BatchRejection, Dur, FailOn, InventorySpelling, ListOnSuccess, Policies,
    RejectionStatus, StockFrom, parse_dur,
};

/// Help heading of the options that say where requests go and as whom: a run's and a replay's.
pub const TARGET: &str = "Target";
/// Help heading of the options that say what is sent and how much.
pub const CASES: &str = "Cases and budget";
/// Help heading of the check selection.
pub const CHECKS: &str = "Checks";
/// Help heading of the policies (where real partners legitimately differ).
pub const POLICIES: &str = "Policies (where partners legitimately differ)";
/// Help heading of the read-back of stored stock and the restore.
pub const READ_BACK: &str = "Stored stock";
/// Help heading of the reports: a run's and a replay's.
pub const REPORTS: &str = "Reports";

/// Default number of cases: enough to cover every probe a few times over and still finish in a
/// few seconds against a fast local partner.
pub const DEFAULT_CASES: u64 = 200;

/// A default value's text for clap, computed once from the typed value it shows (clap keeps a
/// `&'static str`), so the value is written only where it is defined.
macro_rules! shown {
    ($value:expr) => {{
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        TEXT.get_or_init(|| $value.to_string()).as_str()
    }};
}

/// The name a value list gives a value (`any`, `http-4xx`, …), for a default's text.
fn name_of<T: clap::ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// `stockwire.toml`, and every other layer of a run's settings (the defaults, the environment,
/// the flags): one field per option. Every key is optional; flags override the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(
    title = "stockwire.toml",
    description = "Run configuration of `stockwire conform`."
)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct ConfigFile {
    /// Partner base URL; the runner appends /updateInventory. Without it: the embedded mock.
    #[arg(long, value_name = "URL", help_heading = TARGET)]
    pub target: Option<String>,
    /// Run against the embedded mock with this scenario file (e.g. to watch a scripted defect)
    /// instead of a target.
    #[arg(long, value_name = "FILE", conflicts_with = "target", help_heading = TARGET)]
    pub target_scenario: Option<PathBuf>,
    /// Contract version: v1 (integer inventory) or v2 (digit-string inventory).
    #[arg(long, default_value = shown!(Profile::default()), help_heading = CASES)]
    pub profile: Option<Profile>,
    /// The test seller's known items: JSON array or CSV of productId, variantId, stock?, seller?.
    #[arg(long, value_name = "FILE", help_heading = CASES)]
    pub catalog: Option<PathBuf>,
    /// Known items added to the catalog, each `{"productId", "variantId", "stock"?, "seller"?}`
    /// (repeatable; the file's and the flags' add up; the same pair twice is an error), e.g.
    /// '{"productId":"54353","variantId":"54353-2","stock":5,"seller":"s1"}'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[arg(long = "item", value_name = "JSON", help_heading = CASES)]
    #[merge(strategy = merge::vec::prepend)]
    pub items: Vec<KnownItem>,
    /// Use only the catalog entries of this seller.
    #[arg(long, help_heading = CASES)]
    pub seller: Option<String>,
    /// Seed of every random choice (same seed, same cases in the same order). Default: random.
    #[arg(long, help_heading = CASES)]
    pub seed: Option<u64>,
    /// Credentials.
    #[command(flatten)]
    #[merge(strategy = merge::option::recurse)]
    pub auth: Option<AuthConfig>,
    /// The sellers of one account, each by environment-variable name (`[[sellers]]`): the first
    /// is the seller under test (when `[auth]` gives no credentials), the second the one
    /// `seller-isolation` keeps apart from it (when `[auth]` gives no second seller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[arg(skip)]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub sellers: Vec<SellerConfig>,
    /// Budget: how much to send and how fast.
    #[command(flatten)]
    #[merge(strategy = merge::option::recurse)]
    pub budget: Option<BudgetConfig>,
    /// Policies: where real partners legitimately differ.
    #[command(flatten)]
    #[merge(strategy = merge::option::recurse)]
    pub policies: Option<PoliciesConfig>,
    /// Check selection.
    #[command(flatten)]
    #[merge(strategy = merge::option::recurse)]
    pub checks: Option<ChecksConfig>,
    /// Write a report: json=PATH, junit=PATH or html=PATH (repeatable), also when the run cannot
    /// start (exit 2 or 3), with the error recorded; catalog=PATH writes the catalog the cases
    /// used (the discovered one) in the catalog format.
    #[serde(default)]
    #[arg(long = "report", value_name = "FORMAT=PATH", help_heading = REPORTS)]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub reports: Vec<String>,
    /// Accept any TLS certificate (a warning is printed).
    #[arg(long, action = clap::ArgAction::SetTrue, help_heading = TARGET)]
    pub insecure: Option<bool>,
    /// At the end, set stock back: with a stock probe, to what each item held before the run
    /// first touched it (also after Ctrl-C or an error); without, to the catalog's stated stock
    /// (with discovery: the listed stock). On by default with discovery.
    #[arg(long, action = clap::ArgAction::SetTrue, help_heading = READ_BACK)]
    pub restore: Option<bool>,
    /// Never set stock back (a run with discovery restores the listed stock by default).
    #[arg(long, action = clap::ArgAction::SetTrue, conflicts_with = "restore", help_heading = READ_BACK)]
    pub no_restore: Option<bool>,
    /// Do not discover the catalog through /productsCount and /products (for partners that have
    /// not built them yet): the update cases use only --catalog/--item, and the catalog calls
    /// are not certified.
    #[arg(long, action = clap::ArgAction::SetTrue, help_heading = CASES)]
    pub no_discovery: Option<bool>,
    /// The most listing pages discovery reads, however the partner answers (it also stops at
    /// the count divided by 50 plus a few pages).
    #[arg(long, value_name = "N", default_value = "10000", help_heading = CASES)]
    pub max_pages: Option<u64>,
    /// Where stored stock is read back from: listing (the partner's /products?skus=…), probe
    /// (--stock-probe), ledger (a stockwire mock's) or none. Default: probe with --stock-probe,
    /// else the ledger of a stockwire mock, else the listing.
    #[arg(long, value_enum, value_name = "READER", help_heading = READ_BACK)]
    pub stock_from: Option<StockFrom>,
    /// A command (run with sh -c) that prints one item's stored stock, or nothing if never set.
    /// Ids arrive as env vars STOCKWIRE_PRODUCT_ID, STOCKWIRE_VARIANT_ID, STOCKWIRE_SELLER,
    /// STOCKWIRE_FACILITY_CODE, as {productId}-style placeholders (one shell-quoted word; leave
    /// them unquoted) and as {productId:url} (URL-encoded).
    #[arg(long, value_name = "COMMAND", help_heading = READ_BACK)]
    pub stock_probe: Option<String>,
    /// Time one probe call may take.
    #[arg(
        long,
        value_parser = parse_dur,
        default_value = shown!(Dur(crate::readers::probe::DEFAULT_TIMEOUT)),
        help_heading = READ_BACK
    )]
    pub stock_probe_timeout: Option<Dur>,
    /// Time an asynchronous partner gets to apply an update before a read-back mismatch counts.
    #[arg(long, value_parser = parse_dur, default_value = "2s", help_heading = READ_BACK)]
    pub stock_settle: Option<Dur>,
    /// Which cases have their stored stock read back: N reads back up to N cases of each kind
    /// (valid-batch, missing-apikey, …), spending about N probe calls per 5 cases (auth
    /// refusals, valid catalog items and a large batch's spread always); `all` reads back every
    /// case. Default: 1 with a stock probe (each read is a process), all through a stockwire
    /// mock's ledger.
    #[arg(long, value_name = "N|all", help_heading = READ_BACK)]
    pub stock_sample: Option<StockSample>,
    /// The run config file (stockwire.toml); the environment and flags override it.
    #[serde(skip)]
    #[arg(long, value_name = "FILE", help_heading = TARGET)]
    pub config: Option<PathBuf>,
    /// Extra request header 'Name: value' (repeatable). Values of credential-like names
    /// (authorization, cookie, *key*, *token*, *secret*, *password*) are redacted everywhere.
    #[serde(skip)]
    #[arg(long = "header", value_name = "NAME: VALUE", help_heading = TARGET)]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub headers: Vec<String>,
    /// Like --header, and the value is always redacted from every output.
    #[serde(skip)]
    #[arg(long = "secret-header", value_name = "NAME: VALUE", help_heading = TARGET)]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub secret_headers: Vec<String>,
    /// PEM file of CA certificates to trust as well (a partner's internal staging CA).
    #[serde(skip)]
    #[arg(long, value_name = "FILE", help_heading = TARGET)]
    pub cacert: Option<PathBuf>,
    /// The admin token of a stockwire mock started with --admin-token, sent on its ledger reads.
    #[serde(skip)]
    #[arg(
        long,
        value_name = "TOKEN",
        env = "STOCKWIRE_ADMIN_TOKEN",
        hide_env_values = true,
        help_heading = READ_BACK
    )]
    pub admin_token: Option<String>,
}

/// `[auth]`: credentials; in the file, by environment-variable name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct AuthConfig {
    /// Environment variable holding the apiKey.
    #[arg(skip)]
    pub api_key_env: Option<String>,
    /// Seller username for /authToken (with a password; not a secret).
    #[arg(long, requires = "password", help_heading = TARGET)]
    pub username: Option<String>,
    /// Environment variable holding the username.
    #[arg(skip)]
    pub username_env: Option<String>,
    /// Environment variable holding the password.
    #[arg(skip)]
    pub password_env: Option<String>,
    /// Token for the apiKey header (in a file a literal key draws a warning: use `api-key-env`).
    #[arg(
        long,
        env = "STOCKWIRE_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = TARGET
    )]
    pub api_key: Option<String>,
    /// Seller password for /authToken (in a file a literal password draws a warning: use
    /// `password-env`).
    #[arg(
        long,
        env = "STOCKWIRE_PASSWORD",
        hide_env_values = true,
        requires = "username",
        help_heading = TARGET
    )]
    pub password: Option<String>,
    /// How to call /authToken: `get` or `post` only. Default: GET, then POST when GET answers
    /// 404/405 (a partner choice) or 5xx / no token (an auth-token-response violation).
    #[arg(long, value_enum, help_heading = TARGET)]
    pub auth_method: Option<AuthMethod>,
    /// A second seller's username for /authToken (with its password): `seller-isolation` checks
    /// that neither seller's updates change the other's stock.
    #[arg(long, requires = "second_seller_password", help_heading = TARGET)]
    pub second_seller_username: Option<String>,
    /// Environment variable holding the second seller's password.
    #[arg(skip)]
    pub second_seller_password_env: Option<String>,
    /// Environment variable holding the second seller's apiKey.
    #[arg(skip)]
    pub second_seller_api_key_env: Option<String>,
    /// The second seller's password for /authToken (in a file a literal password draws a
    /// warning: use `second-seller-password-env`).
    #[arg(
        long,
        env = "STOCKWIRE_SECOND_SELLER_PASSWORD",
        hide_env_values = true,
        requires = "second_seller_username",
        help_heading = TARGET
    )]
    pub second_seller_password: Option<String>,
    /// A second seller's token for the apiKey header, instead of its username and password (in
    /// a file a literal key draws a warning: use `second-seller-api-key-env`).
    #[arg(
        long,
        env = "STOCKWIRE_SECOND_SELLER_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = TARGET
    )]
    pub second_seller_api_key: Option<String>,
}

/// One `[[sellers]]` entry: a seller's credentials, by environment-variable name (a literal
/// `username` is not a secret).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SellerConfig {
    /// The seller's username for /authToken.
    pub username: Option<String>,
    /// Environment variable holding the username.
    pub username_env: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Environment variable holding the apiKey (instead of a username and password).
    pub api_key_env: Option<String>,
}

/// `[budget]`: how much to send and how fast.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct BudgetConfig {
    /// Number of cases (probes count toward it).
    #[arg(long, conflicts_with = "duration", default_value = shown!(DEFAULT_CASES), help_heading = CASES)]
    pub cases: Option<u64>,
    /// Time budget instead of a case count, e.g. 60s.
    #[arg(long, value_parser = parse_dur, help_heading = CASES)]
    pub duration: Option<Dur>,
    /// Requests in flight at once.
    #[arg(long, default_value = "4", help_heading = CASES)]
    pub concurrency: Option<usize>,
    /// Requests per second ceiling.
    #[arg(long, help_heading = CASES)]
    pub rate: Option<f64>,
    /// Total time the run may wait for a throttling partner (429, or 503 with Retry-After; at
    /// most 5 re-sends per request). Past it, the run ends with exit 3.
    #[arg(long, value_parser = parse_dur, default_value = "60s", help_heading = CASES)]
    pub throttle_budget: Option<Dur>,
    /// Per-request time-out, e.g. 5s.
    #[arg(long, value_parser = parse_dur, default_value = "10s", help_heading = TARGET)]
    pub timeout: Option<Dur>,
    /// Connect time-out.
    #[arg(skip)]
    pub connect_timeout: Option<Dur>,
    /// Response size cap in bytes.
    #[arg(skip)]
    pub max_response_bytes: Option<usize>,
    /// Requests the shrinker may spend on one failing case.
    #[arg(skip)]
    pub shrink_requests: Option<u32>,
}

impl BudgetConfig {
    /// The defaults of the keys only the file sets (no flag, so no clap default carries them).
    fn file_only_defaults() -> BudgetConfig {
        BudgetConfig {
            connect_timeout: Some(Dur(Duration::from_secs(5))),
            max_response_bytes: Some(16 * 1024 * 1024),
            shrink_requests: Some(48),
            ..BudgetConfig::default()
        }
    }
}

/// `[checks]`: which checks run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChecksConfig {
    /// Only these checks (comma-separated ids; see --list-checks; empty: all).
    #[serde(default)]
    #[arg(
        long = "checks",
        value_name = "CHECKS",
        value_delimiter = ',',
        help_heading = CHECKS
    )]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub only: Vec<String>,
    /// Not these checks (comma-separated ids).
    #[serde(default)]
    #[arg(
        long = "skip-checks",
        value_name = "SKIP_CHECKS",
        value_delimiter = ',',
        help_heading = CHECKS
    )]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub skip: Vec<String>,
    /// Which violations make the exit code 1: any or must.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(FailOn::default())),
        help_heading = CHECKS
    )]
    #[merge(strategy = merge::option::overwrite_none)]
    pub fail_on: Option<FailOn>,
}

/// `[policies]`: where real partners legitimately differ; every key optional, the default
/// lenient.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct PoliciesConfig {
    /// How a whole-request refusal must be answered: any, http-4xx or http-200-failed.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(Policies::default().rejection_status)),
        help_heading = POLICIES
    )]
    pub rejection_status: Option<RejectionStatus>,
    /// failedProductList on SUCCESS: any (absent or empty) or required.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(Policies::default().failed_list_on_success)),
        help_heading = POLICIES
    )]
    pub failed_list_on_success: Option<ListOnSuccess>,
    /// Whether one bad item may fail the whole batch: any or per-item.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(Policies::default().batch_rejection)),
        help_heading = POLICIES
    )]
    pub batch_rejection: Option<BatchRejection>,
    /// Inventory spelling: both (the other version's may be accepted or refused) or profile.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(Policies::default().inventory_spelling)),
        help_heading = POLICIES
    )]
    pub inventory_spelling: Option<InventorySpelling>,
    /// A partner's own batch limit (413): tolerate or forbid.
    #[arg(
        long,
        value_enum,
        default_value = shown!(name_of(Policies::default().batch_limit)),
        help_heading = POLICIES
    )]
    pub batch_limit: Option<BatchLimit>,
    /// p99 latency budget for 1,000 items (scaled up linearly for larger batches).
    #[arg(
        long,
        value_parser = parse_dur,
        default_value = shown!(Policies::default().latency_budget),
        help_heading = POLICIES
    )]
    pub latency_budget: Option<Dur>,
}

/// The command line of [`ConfigFile::defaults`]: the settings alone.
#[derive(Parser)]
#[command(name = "stockwire-defaults")]
struct DefaultsOnly {
    #[command(flatten)]
    settings: ConfigFile,
}

impl ConfigFile {
    /// Every option's default: what clap gives an empty command line (each field's
    /// `default_value`; the environment is not read), and the defaults of the keys only the file
    /// sets. The lowest layer of every run.
    pub fn defaults() -> ConfigFile {
        let mut d = Self::clap_defaults().unwrap_or_default();
        let budget = d.budget.get_or_insert_with(BudgetConfig::default);
        budget.merge(BudgetConfig::file_only_defaults());
        d
    }

    /// What clap gives an empty command line, the environment left out.
    fn clap_defaults() -> Result<ConfigFile, clap::Error> {
        let cmd = DefaultsOnly::command().mut_args(|a| a.env(None::<&str>));
        let m = cmd.try_get_matches_from(["stockwire-defaults"])?;
        let mut d = DefaultsOnly::from_arg_matches(&m)?.settings;
        // clap leaves out a table none of whose flags is given: its defaults are read alone.
        d.auth.get_or_insert(AuthConfig::from_arg_matches(&m)?);
        d.budget.get_or_insert(BudgetConfig::from_arg_matches(&m)?);
        d.policies
            .get_or_insert(PoliciesConfig::from_arg_matches(&m)?);
        d.checks.get_or_insert(ChecksConfig::from_arg_matches(&m)?);
        Ok(d)
    }

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
            if a.second_seller_api_key.is_some() || a.second_seller_password.is_some() {
                warnings.push(format!(
                    "{}: [auth] holds the second seller's literal secret; use second-seller-api-key-env or second-seller-password-env",
                    path.display()
                ));
            }
        }
        Ok((cfg, warnings))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    /// Text as clap shows it and as the schema carries it, compared alike: lines joined, no
    /// final period.
    fn norm(text: &str) -> String {
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        joined.trim_end_matches('.').to_string()
    }

    /// Every key of the schema with its description, the tables' keys included.
    fn described(schema: &Value) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut tables = vec![&schema["properties"]];
        for table in ["auth", "budget", "policies", "checks"] {
            let reference = schema["properties"][table]["anyOf"][0]["$ref"]
                .as_str()
                .unwrap_or_default();
            let name = reference.trim_start_matches("#/$defs/");
            tables.push(&schema["$defs"][name]["properties"]);
        }
        for t in tables {
            for (k, v) in t.as_object().into_iter().flatten() {
                if let Some(d) = v["description"].as_str() {
                    out.insert(k.clone(), d.to_string());
                }
            }
        }
        out
    }

    /// One doc comment per option is both its help and its schema description; an option the
    /// file does not know is refused by the file (only a command line gives it).
    #[test]
    fn every_flag_is_a_key_with_the_same_text_or_a_flag_only_option() {
        let schema = described(&crate::config::config_schema());
        let cmd = DefaultsOnly::command();
        for arg in cmd.get_arguments() {
            let key = arg.get_id().as_str().replace('_', "-");
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(!help.is_empty(), "--{key} has no help");
            match schema.get(&key) {
                Some(d) => assert_eq!(norm(d), norm(&help), "{key}"),
                None => {
                    let e = toml::from_str::<ConfigFile>(&format!("{key} = \"x\""))
                        .expect_err(&key)
                        .to_string();
                    assert!(e.contains("unknown field"), "{key}: {e}");
                }
            }
        }
    }

    /// The defaults are the fields' own, so the resolved options need no list of them.
    #[test]
    fn the_defaults_parse() {
        assert!(ConfigFile::clap_defaults().is_ok());
    }

    #[test]
    fn run_options_take_the_fields_defaults() {
        let o = crate::config::RunOptions::new("http://127.0.0.1:1");
        assert_eq!(o.profile, Profile::V1);
        assert_eq!(o.cases, DEFAULT_CASES);
        assert_eq!(o.concurrency, 4);
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.connect_timeout, Duration::from_secs(5));
        assert_eq!(o.max_response_bytes, 16 * 1024 * 1024);
        assert_eq!(o.shrink_requests, 48);
        assert_eq!(o.stock_settle, Duration::from_secs(2));
        assert_eq!(
            o.stock_probe_timeout,
            crate::readers::probe::DEFAULT_TIMEOUT
        );
        assert_eq!(o.policies, Policies::default());
        assert_eq!(o.fail_on, FailOn::Any);
        assert!(!o.restore && !o.insecure && o.duration.is_none() && o.stock_sample.is_none());
    }

    /// A stand-in for one more option, written as a field of [`ConfigFile`] is: the field is
    /// all it takes to have a flag with its help and default, a key, a schema entry with the
    /// same text, and a place in the layers.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, Args, Merge)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    #[merge(strategy = merge::option::overwrite_none)]
    struct OneMore {
        /// Pause between two cases.
        #[arg(long, value_parser = parse_dur, default_value = "0s", help_heading = CASES)]
        pause_between: Option<Dur>,
    }

    #[derive(Parser)]
    struct OneMoreCli {
        #[command(flatten)]
        one: OneMore,
    }

    #[test]
    fn a_new_option_is_one_field() {
        let cmd = OneMoreCli::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some("pause-between"))
            .expect("flag");
        assert_eq!(
            arg.get_help().map(|h| h.to_string()).as_deref(),
            Some("Pause between two cases")
        );
        assert_eq!(arg.get_default_values(), ["0s"]);
        let schema = serde_json::to_value(schemars::schema_for!(OneMore)).unwrap_or_default();
        assert_eq!(
            schema["properties"]["pause-between"]["description"],
            "Pause between two cases."
        );
        let file: OneMore = toml::from_str("pause-between = \"3s\"").unwrap_or_default();
        let mut flags = OneMoreCli::try_parse_from(["x", "--pause-between", "1s"])
            .map(|c| c.one)
            .unwrap_or_default();
        flags.merge(file);
        assert_eq!(flags.pause_between, Some(Dur(Duration::from_secs(1))));
    }
}
