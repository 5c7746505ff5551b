//! Helpers shared by the integration tests: paths into the workspace and a wrapper around the
//! built `stockwire` binary.
#![warn(missing_docs)]

pub mod http;
pub mod partner_kit;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The `stockwire` binary, built (once per test process) with the cargo that runs the tests.
///
/// Cargo only builds a binary for the integration tests of its own package, so this crate asks
/// cargo for it; when it is already up to date this is a no-op of a fraction of a second.
pub fn stockwire_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "stockwire-cli",
                "--bin",
                "stockwire",
            ])
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cargo build of the stockwire binary failed: {status}"
            ));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        Ok(target
            .join("debug")
            .join(format!("stockwire{}", std::env::consts::EXE_SUFFIX)))
    });
    match built {
        Ok(p) => p.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// The result of running the CLI.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `stockwire ARGS` from the workspace root.
pub fn stockwire(args: &[&str]) -> Run {
    let bin = stockwire_bin();
    match Command::new(&bin).args(args).current_dir(root()).output() {
        Ok(o) => o.into(),
        Err(e) => Run {
            code: -1,
            stdout: String::new(),
            stderr: format!(
                "cannot run {}: {e} (is the stockwire binary built?)",
                bin.display()
            ),
        },
    }
}
