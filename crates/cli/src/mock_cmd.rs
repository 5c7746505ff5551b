//! `stockwire mock`: being built (see the mock issue); replaced by the full command.

use anyhow::Result;
use clap::Args;

/// Arguments of `stockwire mock` (being built).
#[derive(Debug, Args)]
pub struct MockArgs {}

/// Runs `stockwire mock`.
pub fn run(_args: MockArgs) -> Result<u8> {
    anyhow::bail!("stockwire mock is not built yet")
}
