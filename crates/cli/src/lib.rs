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
                  3 target unreachable or authentication failed."
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
    Conform(conform_cmd::ConformArgs),
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
        Command::Conform(args) => conform_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_codes::USAGE)
        }
    }
}
