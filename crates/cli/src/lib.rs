//! # stockwire (command line)
//!
//! Argument parsing and rendering for the `stockwire` binary. Each subcommand lives in its own
//! module and calls the library crate that owns the work: `schema` → `stockwire-schema`,
//! `mock` → `stockwire-mock`, `conform` → `stockwire-conform`. This crate owns no contract
//! logic; it turns library results into output and an exit code ([`exit_codes`]).
#![warn(missing_docs)]

pub mod conform_cmd;
pub mod exit_codes;
pub mod mock_cmd;
pub mod schema_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Prove that a marketplace's inventory-update endpoint keeps the contract.
#[derive(Debug, Parser)]
#[command(
    name = "stockwire",
    version,
    about = "Prove that a marketplace's /updateInventory endpoint keeps the contract",
    long_about = "stockwire derives the inventory-update contract from its documentation tables, \
                  runs a scriptable mock marketplace, and fuzzes a real partner endpoint for \
                  contract violations.",
    after_help = "Exit codes: 0 nothing found, 1 violations found, 2 usage or configuration error, \
                  3 target unreachable, authentication failed, or nothing could be certified."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Derive, inspect and validate against the contract's JSON Schemas.
    #[command(subcommand)]
    Schema(schema_cmd::SchemaCommand),
    /// Run the mock marketplace (see `stockwire mock --help`).
    Mock(Box<mock_cmd::MockArgs>),
    /// Check a partner endpoint against the contract (see `stockwire conform --help`).
    Conform(Box<conform_cmd::ConformArgs>),
    /// Print a shell completion script: `stockwire completions bash > /etc/bash_completion.d/stockwire`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `stockwire man | man -l -`.
    Man,
}

/// Output style of commands that print something a machine may read (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON document (each has a published schema under `schemas/`).
    Json,
}

/// Parses the process arguments, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(cli)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Schema(cmd) => schema_cmd::run(cmd),
        Command::Mock(args) => mock_cmd::run(*args),
        Command::Conform(args) => conform_cmd::run(*args),
        Command::Completions { shell } => completions(shell),
        Command::Man => man_page(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A reader that went away (`stockwire … | head -1`) is not an error: end quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit_codes::OK),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_codes::USAGE)
        }
    }
}

/// Whether an error comes from writing to a closed pipe (anywhere in its chain).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "stockwire", &mut buf);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &buf)?;
    Ok(exit_codes::OK)
}

fn man_page() -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &buf)?;
    Ok(exit_codes::OK)
}
