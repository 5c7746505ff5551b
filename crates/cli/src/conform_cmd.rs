//! `stockwire conform`: being built (see the conform issue); replaced by the full command.

use anyhow::Result;
use clap::Args;

/// Arguments of `stockwire conform` (being built).
#[derive(Debug, Args)]
pub struct ConformArgs {}

/// Runs `stockwire conform`.
pub fn run(_args: ConformArgs) -> Result<u8> {
    anyhow::bail!("stockwire conform is not built yet")
}
