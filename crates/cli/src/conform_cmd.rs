//! `stockwire conform`: check a partner's /updateInventory against the contract, or (with no
//! target) the embedded reference mock; `conform replay` re-sends an earlier report's failures.
//! Parsing and rendering only: the work is `stockwire-conform`'s.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use stockwire_conform::config::{CommandLine, ConfigFile, ReplayCommandLine};
use stockwire_conform::console::ConsoleSink;
use stockwire_conform::events::{EventSink, ReportFile, Tee, finish};
use stockwire_conform::http::ExtraHeader;
use stockwire_conform::replay::ReplayStatus;
use stockwire_conform::{ConformError, Report, ReportSpec, RunOptions};
use stockwire_mock::MockMarketplace;
use stockwire_schema::Profile;

use crate::{OutputFormat, exit_codes};

const EXIT_HELP: &str = "Exit codes:\n  0  no violation\n  1  violations found (any severity; --fail-on must counts only MUST checks)\n  2  usage or configuration error\n  3  unreachable, authentication failed, or nothing could be certified: the seller lists no published items and none were given, or most requests with a valid key were refused, answered 5xx or throttled past --throttle-budget";

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

/// Arguments of a run: every run option (defined once, in `stockwire_conform::config`, with its
/// `stockwire.toml` key and help), and what only the command line does.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run's options, by source (flags and environment).
    #[command(flatten)]
    pub settings: CommandLine,
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
    /// The replay's options (target, credentials, client, reports), by source.
    #[command(flatten)]
    pub settings: ReplayCommandLine,
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
        ConformError::Unreachable { .. }
        | ConformError::AuthFailed { .. }
        | ConformError::NothingToCertify { .. } => exit_codes::UNREACHABLE,
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
    // With discovery the run finds the demo seller's items through the mock's listing, as it
    // would at a partner; given items (or --no-discovery) are used as they are.
    if !opts.discovery || cfg.catalog.is_some() || !cfg.items.is_empty() {
        opts.catalog = catalog;
    }
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
    let mut layers = args.settings.0;
    let warnings = match layers.read_file() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::USAGE);
        }
    };
    let cfg = layers.merged();
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
    let mut files: Vec<ReportFile> = specs.into_iter().map(ReportFile::new).collect();
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
        o.repeat_command = Some(repeat.clone());
        o
    };
    let (mut opts, mock) = match resolve(&cfg).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            let code = error_code(&e);
            return Ok(write_errored(&fallback(), &e, code, None, &mut files));
        }
    };
    opts.seed = seed;
    opts.repeat_command = Some(repeat);
    if opts.insecure {
        eprintln!("warning: --insecure: TLS certificates are not verified");
    }
    let mut console = ConsoleSink::new(args.quiet);
    let mut sinks: Vec<&mut dyn EventSink> = vec![&mut console];
    sinks.extend(files.iter_mut().map(|f| f as &mut dyn EventSink));
    let result = stockwire_conform::run(opts.clone(), &mut Tee(sinks)).await;
    drop(mock);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            let code = error_code(&e);
            return Ok(write_errored(&opts, &e, code, None, &mut files));
        }
    };
    let written = report_outcome(&files);
    if let Some(e) = console.error {
        return Err(e.into());
    }
    Ok(written.unwrap_or(report.summary.exit_code))
}

// --- issue 11: reports on every exit, client options, repeat command ---

/// Writes the report of a run that could not be carried out (`replay_of` for a replay's) to
/// every report file; returns the exit code (2 when a file cannot be written).
fn write_errored(
    opts: &RunOptions,
    e: &ConformError,
    code: u8,
    replay_of: Option<String>,
    files: &mut [ReportFile],
) -> u8 {
    let mut report = Report::errored(opts, e, code);
    report.replay_of = replay_of;
    let sinks: Vec<&mut dyn EventSink> =
        files.iter_mut().map(|f| f as &mut dyn EventSink).collect();
    finish(&report, &mut Tee(sinks));
    report_outcome(files).unwrap_or(code)
}

/// Says which report files were written; `Some(2)` when one could not be.
fn report_outcome(files: &[ReportFile]) -> Option<u8> {
    for f in files {
        match &f.written {
            Some(Ok(p)) => eprintln!("wrote {}", p.display()),
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return Some(exit_codes::USAGE);
            }
            None => {}
        }
    }
    None
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
    let mut layers = args.settings.0;
    if let Err(e) = layers.read_file() {
        eprintln!("error: {e}");
        return Ok(exit_codes::USAGE);
    }
    let mut cfg = layers.merged();
    // Only the reports named on this command line: a run's reports in the file would be
    // overwritten by the replay's.
    let specs: Vec<ReportSpec> = match layers.flags.reports.iter().map(|r| r.parse()).collect() {
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
    let mut files: Vec<ReportFile> = specs.into_iter().map(ReportFile::new).collect();
    let mut errored = |opts: &RunOptions, e: &ConformError| {
        write_errored(opts, e, error_code(e), Some(source.clone()), &mut files)
    };
    let (opts, mock) = match resolve(&cfg).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            let mut o =
                RunOptions::new(cfg.target.clone().unwrap_or_else(|| report.target.clone()));
            o.seed = report.seed;
            return Ok(errored(&o, &e));
        }
    };
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
    let sinks: Vec<&mut dyn EventSink> =
        files.iter_mut().map(|f| f as &mut dyn EventSink).collect();
    finish(&replayed, &mut Tee(sinks));
    Ok(report_outcome(&files).unwrap_or(code))
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use serde::Serialize;
    use stockwire_conform::config::{
        BatchLimit, BatchRejection, FailOn, InventorySpelling, ListOnSuccess, RejectionStatus,
    };

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
        let flags = cli.run.settings.0.flags;
        let policies = flags.policies.unwrap_or_default();
        assert_eq!(policies.rejection_status, Some(RejectionStatus::Http4xx));
        assert_eq!(flags.profile, Some(Profile::V2));
        assert!(Cli::try_parse_from(["x", "--batch-limit", "maybe"]).is_err());
    }
}
