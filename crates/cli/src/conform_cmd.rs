//! `stockwire conform`: check a partner's /updateInventory against the contract, or (with no
//! target) the embedded reference mock; `conform replay` re-sends an earlier report's failures.
//! Parsing and rendering only: the work is `stockwire-conform`'s.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use stockwire_conform::config::{
    AuthConfig, BatchLimit, BatchRejection, BudgetConfig, ChecksConfig, ConfigFile, Dur,
    InventorySpelling, KnownItem, ListOnSuccess, PoliciesConfig, RejectionStatus, StockSample,
    parse_duration,
};
use stockwire_conform::console::{ConsoleSink, summary};
use stockwire_conform::http::ExtraHeader;
use stockwire_conform::replay::ReplayStatus;
use stockwire_conform::{ConformError, FailOn, Report, ReportSpec, RunOptions};
use stockwire_mock::MockMarketplace;
use stockwire_schema::Profile;

use crate::{OutputFormat, exit_codes};

const EXIT_HELP: &str = "Exit codes:\n  0  no violation\n  1  violations found (any severity; --fail-on must counts only MUST checks)\n  2  usage or configuration error\n  3  target unreachable or authentication failed";

/// Arguments of `stockwire conform`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXIT_HELP)]
pub struct ConformArgs {
    /// `replay REPORT.json` instead of a run.
    #[command(subcommand)]
    pub cmd: Option<ConformSub>,
    /// Run settings.
    #[command(flatten)]
    pub run: Box<RunArgs>,
}

/// Subcommands of `stockwire conform`.
#[derive(Debug, Subcommand)]
pub enum ConformSub {
    /// Re-send only the failing cases of an earlier JSON report; say per case fixed or still failing.
    #[command(after_help = EXIT_HELP)]
    Replay(ReplayArgs),
}

/// Where to send requests and as whom (shared by a run and a replay).
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Partner base URL; the runner appends /updateInventory. Without it: the embedded mock.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Run against the embedded mock with this scenario file (e.g. to watch a scripted defect).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    pub target_scenario: Option<PathBuf>,
    /// Token for the apiKey header.
    #[arg(
        long,
        env = "STOCKWIRE_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Seller username for /authToken (with --password).
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    /// Seller password for /authToken.
    #[arg(
        long,
        env = "STOCKWIRE_PASSWORD",
        hide_env_values = true,
        requires = "username"
    )]
    pub password: Option<String>,
    /// Run config file (stockwire.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Per-request time-out, e.g. 5s.
    #[arg(long, value_parser = parse_dur)]
    pub timeout: Option<Dur>,
    /// Accept any TLS certificate (a warning is printed).
    #[arg(long)]
    pub insecure: bool,
    // --- issue 11: client options ---
    /// Extra request header 'Name: value' (repeatable). Values of credential-like names
    /// (authorization, cookie, *key*, *token*, *secret*, *password*) are redacted everywhere.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Like --header, and the value is always redacted from every output.
    #[arg(long = "secret-header", value_name = "NAME: VALUE")]
    pub secret_headers: Vec<String>,
    /// PEM file of CA certificates to trust as well (a partner's internal staging CA).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    // --- end issue 11 ---
}

/// Arguments of a run.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Contract version: v1 (integer inventory) or v2 (digit-string inventory).
    #[arg(long)]
    pub profile: Option<Profile>,
    /// The test seller's known items: JSON array or CSV of productId, variantId, stock?, seller?.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// A known item, added to the catalog (repeatable), e.g.
    /// '{"productId":"54353","variantId":"54353-2","stock":5,"seller":"s1"}'.
    #[arg(long, value_name = "JSON")]
    pub item: Vec<KnownItem>,
    /// Use only the catalog entries of this seller.
    #[arg(long)]
    pub seller: Option<String>,
    /// Seed of every random choice (same seed, same cases in the same order). Default: random.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of cases (probes count toward it). Default 200.
    #[arg(long, conflicts_with = "duration")]
    pub cases: Option<u64>,
    /// Time budget instead of a case count, e.g. 60s.
    #[arg(long, value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Requests in flight at once. Default 4.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per second ceiling.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Only these checks (comma-separated ids; see --list-checks).
    #[arg(long, value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Not these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub skip_checks: Vec<String>,
    /// Which violations make the exit code 1: any (default) or must.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Write a report: json=PATH, junit=PATH or html=PATH (repeatable). Written also when the
    /// run cannot start (exit 2 or 3), with the error recorded.
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// At the end, set stock back: with --stock-probe, to what each item held before the run
    /// first touched it (also after Ctrl-C or an error); without, to the catalog's stated stock.
    #[arg(long)]
    pub restore: bool,
    /// A command (run with sh -c) that prints one item's stored stock, or nothing if never set.
    /// Ids arrive as env vars STOCKWIRE_PRODUCT_ID, STOCKWIRE_VARIANT_ID, STOCKWIRE_SELLER,
    /// STOCKWIRE_FACILITY_CODE, as {productId}-style placeholders (one shell-quoted word; leave
    /// them unquoted) and as {productId:url} (URL-encoded).
    #[arg(long, value_name = "COMMAND")]
    pub stock_probe: Option<String>,
    /// Time one probe call may take (default 5s).
    #[arg(long, value_parser = parse_dur)]
    pub stock_probe_timeout: Option<Dur>,
    /// The admin token of a stockwire mock started with --admin-token, sent on its ledger reads.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "STOCKWIRE_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Time an asynchronous partner gets to apply an update before a read-back mismatch counts
    /// (default 2s).
    #[arg(long, value_parser = parse_dur)]
    pub stock_settle: Option<Dur>,
    /// Which cases have their stored stock read back: N reads back up to N cases of each kind
    /// (valid-batch, missing-apikey, …), spending about N probe calls per 5 cases (auth
    /// refusals, valid catalog items and a large batch's spread always); `all` reads back every
    /// case. Default: 1 with --stock-probe (each read is a process), all through a stockwire
    /// mock's ledger.
    #[arg(long, value_name = "N|all")]
    pub stock_sample: Option<StockSample>,
    /// Policy: how a whole-request refusal must be answered: any (default), http-4xx, http-200-failed.
    #[arg(long, value_enum)]
    pub rejection_status: Option<RejectionStatus>,
    /// Policy: failedProductList on SUCCESS: any (default) or required.
    #[arg(long, value_enum)]
    pub failed_list_on_success: Option<ListOnSuccess>,
    /// Policy: one bad item may fail the batch: any (default) or per-item.
    #[arg(long, value_enum)]
    pub batch_rejection: Option<BatchRejection>,
    /// Policy: inventory spelling: both (default) or profile.
    #[arg(long, value_enum)]
    pub inventory_spelling: Option<InventorySpelling>,
    /// Policy: a partner's own batch limit (413): tolerate (default) or forbid.
    #[arg(long, value_enum)]
    pub batch_limit: Option<BatchLimit>,
    /// Policy: p99 latency budget for 1,000 items (default 2s).
    #[arg(long, value_parser = parse_dur)]
    pub latency_budget: Option<Dur>,
    /// List the checks (id, severity, rationale) and exit.
    #[arg(long)]
    pub list_checks: bool,
    /// Output format of --list-checks: text or json (schema: schemas/list-checks.schema.json).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `conform replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The JSON report of an earlier run.
    pub report: PathBuf,
    /// Write the replay's report: json=PATH, junit=PATH or html=PATH (repeatable); same formats
    /// as a run's.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
}

impl TargetArgs {
    fn overlay(&self) -> ConfigFile {
        let auth = if self.api_key.is_some() || self.username.is_some() {
            Some(AuthConfig {
                api_key: self.api_key.clone(),
                username: self.username.clone(),
                password: self.password.clone(),
                ..AuthConfig::default()
            })
        } else {
            None
        };
        ConfigFile {
            target: self.target.clone(),
            target_scenario: self.target_scenario.clone(),
            auth,
            budget: self.timeout.map(|t| BudgetConfig {
                timeout: Some(t),
                ..BudgetConfig::default()
            }),
            insecure: self.insecure.then_some(true),
            ..ConfigFile::default()
        }
    }

    fn config(&self, extra: ConfigFile) -> Result<(ConfigFile, Vec<String>)> {
        let (base, warnings) = match &self.config {
            Some(p) => ConfigFile::load(p)?,
            None => (ConfigFile::default(), Vec::new()),
        };
        Ok((base.overlay(self.overlay()).overlay(extra), warnings))
    }
}

impl RunArgs {
    fn overlay(&self) -> ConfigFile {
        let budget = BudgetConfig {
            cases: self.cases,
            duration: self.duration,
            concurrency: self.concurrency,
            rate: self.rate,
            ..BudgetConfig::default()
        };
        let policies = PoliciesConfig {
            rejection_status: self.rejection_status,
            failed_list_on_success: self.failed_list_on_success,
            batch_rejection: self.batch_rejection,
            inventory_spelling: self.inventory_spelling,
            batch_limit: self.batch_limit,
            latency_budget: self.latency_budget,
        };
        ConfigFile {
            profile: self.profile,
            catalog: self.catalog.clone(),
            items: self.item.clone(),
            seller: self.seller.clone(),
            seed: self.seed,
            budget: Some(budget),
            policies: Some(policies),
            checks: Some(ChecksConfig {
                only: self.checks.clone(),
                skip: self.skip_checks.clone(),
                fail_on: self.fail_on,
            }),
            reports: self.report.clone(),
            restore: self.restore.then_some(true),
            stock_probe: self.stock_probe.clone(),
            stock_probe_timeout: self.stock_probe_timeout,
            stock_settle: self.stock_settle,
            stock_sample: self.stock_sample,
            ..ConfigFile::default()
        }
    }
}

/// Runs `stockwire conform` and returns its exit code.
pub fn run(args: ConformArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match args.cmd {
        Some(ConformSub::Replay(r)) => runtime.block_on(replay(r)),
        None if args.run.list_checks => list_checks(args.run.format),
        None => runtime.block_on(run_checks(*args.run)),
    }
}

fn list_checks(format: OutputFormat) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let list: Vec<serde_json::Value> = stockwire_conform::checks::registry()
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "severity": c.severity.to_string(),
                    "category": c.category.as_str(),
                    "rationale": c.rationale,
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "checks": list }))?
        )?;
        return Ok(exit_codes::OK);
    }
    for c in stockwire_conform::checks::registry() {
        writeln!(
            out,
            "{:<26} {:<6} {:<13} {}",
            c.id,
            c.severity.to_string(),
            c.category.as_str(),
            c.rationale
        )?;
    }
    Ok(exit_codes::OK)
}

fn error_code(e: &ConformError) -> u8 {
    match e {
        ConformError::Unreachable { .. } | ConformError::AuthFailed { .. } => {
            exit_codes::UNREACHABLE
        }
        _ => exit_codes::USAGE,
    }
}

/// Starts the embedded mock when the config names no target; returns options for the run.
async fn resolve(cfg: &ConfigFile) -> Result<(RunOptions, Option<MockMarketplace>), ConformError> {
    let env = |v: &str| std::env::var(v).ok();
    if let Some(t) = &cfg.target {
        return Ok((cfg.run_options(t.clone(), env)?, None));
    }
    let profile: Profile = cfg.profile.unwrap_or_default();
    let mut builder = MockMarketplace::builder().profile(profile);
    let mut catalog = match &cfg.catalog {
        Some(c) => stockwire_schema::Catalog::read(c)?,
        None => stockwire_mock::demo::catalog(),
    };
    // The embedded mock holds the known items too.
    cfg.add_items(&mut catalog)?;
    builder = builder.catalog(catalog.clone());
    let mut label = "embedded stockwire-mock".to_string();
    if let Some(s) = &cfg.target_scenario {
        let scenario = stockwire_mock::Scenario::read(s).map_err(|e| ConformError::Setting {
            name: "target-scenario".into(),
            message: e.to_string(),
        })?;
        builder = builder.scenario(scenario);
        label = format!("embedded stockwire-mock (scenario {})", s.display());
    }
    let mock = builder.start().await.map_err(|e| ConformError::Setting {
        name: "embedded mock".into(),
        message: e.to_string(),
    })?;
    let mut opts = cfg.run_options(mock.url(), env)?;
    opts.catalog = catalog;
    opts.target_label = Some(label);
    if matches!(opts.credentials, stockwire_conform::Credentials::None) {
        opts.seller = opts.seller.or(Some(stockwire_mock::demo::SELLER.into()));
        opts.credentials = stockwire_conform::Credentials::Login {
            username: stockwire_mock::demo::USERNAME.into(),
            password: stockwire_mock::demo::PASSWORD.into(),
        };
    }
    Ok((opts, Some(mock)))
}

async fn run_checks(args: RunArgs) -> Result<u8> {
    let (cfg, warnings) = match args.target.config(args.overlay()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit_codes::USAGE);
        }
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let specs: Vec<ReportSpec> = match cfg.report_specs() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::USAGE);
        }
    };
    let seed = cfg.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    let repeat = repeat_command(seed);
    // What an errored report says about the run when the options could not even be resolved.
    let fallback = || {
        let mut o = RunOptions::new(
            cfg.target
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1".into()),
        );
        if cfg.target.is_none() {
            o.target_label = Some("embedded stockwire-mock".into());
        }
        o.profile = cfg.profile.unwrap_or_default();
        o.seed = seed;
        o
    };
    let (mut opts, mock) = match resolve(&cfg).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            let code = error_code(&e);
            let mut report = Report::errored(&fallback(), &e, code);
            report.repeat_command = Some(repeat);
            return Ok(write_reports(&report, &specs).unwrap_or(code));
        }
    };
    opts.seed = seed;
    if args.admin_token.is_some() {
        opts.admin_token = args.admin_token.clone();
    }
    if let Err(e) = args.target.client_options(&mut opts) {
        eprintln!("error: {e}");
        return Ok(exit_codes::USAGE);
    }
    if opts.insecure {
        eprintln!("warning: --insecure: TLS certificates are not verified");
    }
    let mut sink = ConsoleSink::new(args.quiet);
    let mut report = match stockwire_conform::run(opts.clone(), &mut sink).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            let code = error_code(&e);
            let mut report = Report::errored(&opts, &e, code);
            report.repeat_command = Some(repeat);
            return Ok(write_reports(&report, &specs).unwrap_or(code));
        }
    };
    drop(mock);
    report.repeat_command = Some(repeat);
    write!(std::io::stdout().lock(), "{}", summary(&report))?;
    Ok(write_reports(&report, &specs).unwrap_or(report.summary.exit_code))
}

// --- issue 11: reports on every exit, client options, repeat command ---

/// Writes every requested report; `Some(2)` when one cannot be written.
fn write_reports(report: &Report, specs: &[ReportSpec]) -> Option<u8> {
    for spec in specs {
        let written = match spec {
            ReportSpec::Json(p) => report.write_json(p).map(|_| p),
            ReportSpec::Junit(p) => stockwire_conform::junit::write_junit(report, p).map(|_| p),
            ReportSpec::Html(p) => stockwire_conform::html::write_html(report, p).map(|_| p),
        };
        match written {
            Ok(p) => eprintln!("wrote {}", p.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return Some(exit_codes::USAGE);
            }
        }
    }
    None
}

impl TargetArgs {
    /// Puts --header, --secret-header and --cacert into the run options.
    fn client_options(&self, opts: &mut RunOptions) -> Result<(), ConformError> {
        for h in &self.headers {
            opts.extra_headers.push(ExtraHeader::parse(h, false)?);
        }
        for h in &self.secret_headers {
            opts.extra_headers.push(ExtraHeader::parse(h, true)?);
        }
        if let Some(c) = &self.cacert {
            opts.cacert = Some(c.clone());
        }
        Ok(())
    }
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else if s.starts_with('$')
        && s[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command line that repeats this run: the process's own arguments with secrets replaced
/// by environment variables and `--seed` pinned.
pub fn repeat_command(seed: u64) -> String {
    repeat_command_from(std::env::args().skip(1), seed)
}

/// [`repeat_command`] for given arguments (without the program name).
pub fn repeat_command_from(args: impl IntoIterator<Item = String>, seed: u64) -> String {
    let mut out = vec!["stockwire".to_string()];
    let mut it = args.into_iter().peekable();
    let mut has_seed = false;
    let secret_value = |flag: &str, value: &str| -> Option<String> {
        match flag {
            "--api-key" => Some("$STOCKWIRE_API_KEY".into()),
            "--password" => Some("$STOCKWIRE_PASSWORD".into()),
            "--header" | "--secret-header" => {
                let h = ExtraHeader::parse(value, flag == "--secret-header").ok()?;
                h.secret.then(|| format!("{}: {}", h.name, h.shell_var()))
            }
            _ => None,
        }
    };
    while let Some(a) = it.next() {
        if a == "--seed" || a.starts_with("--seed=") {
            has_seed = true;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let takes_secret = matches!(
            flag.as_str(),
            "--api-key" | "--password" | "--header" | "--secret-header"
        );
        if !takes_secret {
            out.push(shell_word(&a));
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().unwrap_or_default(),
        };
        out.push(flag.clone());
        match secret_value(&flag, &value) {
            // Double quotes: the shell expands the variable.
            Some(v) => out.push(format!("\"{v}\"")),
            None => out.push(shell_word(&value)),
        }
    }
    if !has_seed {
        out.push("--seed".into());
        out.push(seed.to_string());
    }
    out.join(" ")
}

// --- end issue 11 ---

async fn replay(args: ReplayArgs) -> Result<u8> {
    let report = match Report::read(&args.report) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::USAGE);
        }
    };
    let (mut cfg, _) = match args.target.config(ConfigFile::default()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit_codes::USAGE);
        }
    };
    let specs: Vec<ReportSpec> = match args.reports.iter().map(|r| r.parse()).collect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::USAGE);
        }
    };
    cfg.profile = report.profile.parse::<Profile>().ok();
    if cfg.target.is_none() && !report.target.starts_with("embedded") {
        cfg.target = Some(report.target.clone());
    }
    let source = args.report.display().to_string();
    let errored = |opts: &RunOptions, e: &ConformError| {
        let code = error_code(e);
        let mut r = Report::errored(opts, e, code);
        r.replay_of = Some(source.clone());
        write_reports(&r, &specs).unwrap_or(code)
    };
    let (mut opts, mock) = match resolve(&cfg).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            let mut o =
                RunOptions::new(cfg.target.clone().unwrap_or_else(|| report.target.clone()));
            o.seed = report.seed;
            return Ok(errored(&o, &e));
        }
    };
    if let Err(e) = args.target.client_options(&mut opts) {
        eprintln!("error: {e}");
        return Ok(exit_codes::USAGE);
    }
    let results = match stockwire_conform::replay::replay(&report, &opts).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(errored(&opts, &e));
        }
    };
    drop(mock);
    let mut out = std::io::stdout().lock();
    let mut still = 0;
    for r in &results {
        let word = match r.status {
            ReplayStatus::Fixed => "fixed",
            ReplayStatus::StillFailing => {
                still += 1;
                "still failing"
            }
            ReplayStatus::NotReplayable => "not replayable",
        };
        writeln!(
            out,
            "{:<14} {:<26} {:<28} {}",
            word, r.check, r.case_kind, r.message
        )?;
    }
    writeln!(
        out,
        "{} failing case(s) replayed: {} still failing",
        results.len(),
        still
    )?;
    let replayed =
        stockwire_conform::replay::replay_report(&report, &results, &source, &opts.extra_headers);
    let code = if still > 0 {
        exit_codes::VIOLATIONS
    } else {
        exit_codes::OK
    };
    Ok(write_reports(&replayed, &specs).unwrap_or(code))
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use serde::Serialize;

    use super::*;

    /// The values the CLI accepts are the config file's spellings of the same enums.
    fn same_spellings<T: ValueEnum + Serialize>() {
        for v in T::value_variants() {
            let cli = v.to_possible_value().map(|p| p.get_name().to_string());
            let serde = serde_json::to_value(v)
                .ok()
                .and_then(|j| j.as_str().map(str::to_string));
            assert_eq!(cli, serde);
        }
    }

    #[test]
    fn cli_policy_values_are_the_config_values() {
        same_spellings::<RejectionStatus>();
        same_spellings::<ListOnSuccess>();
        same_spellings::<BatchRejection>();
        same_spellings::<InventorySpelling>();
        same_spellings::<BatchLimit>();
        same_spellings::<FailOn>();
    }

    #[test]
    fn http_4xx_policy_is_read_as_documented() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            run: RunArgs,
        }
        let cli = Cli::try_parse_from(["x", "--rejection-status", "http-4xx", "--profile", "v2"])
            .unwrap();
        assert_eq!(cli.run.rejection_status, Some(RejectionStatus::Http4xx));
        assert_eq!(cli.run.profile, Some(Profile::V2));
        assert!(Cli::try_parse_from(["x", "--batch-limit", "maybe"]).is_err());
    }
}
