//! The layers of a run's settings and the one place they merge: defaults < `stockwire.toml` <
//! environment (`STOCKWIRE_API_KEY`, `STOCKWIRE_PASSWORD`, `STOCKWIRE_ADMIN_TOKEN`) < flags.
//! Each layer is the same typed [`ConfigFile`]: the defaults come from the fields' own defaults
//! ([`ConfigFile::defaults`]), the file from serde, and the environment and the flags from one
//! parse of the command line, split by where clap found each value ([`CommandLine`],
//! [`ReplayCommandLine`]).

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use merge::Merge;

use super::settings::{ConfigFile, REPORTS, TARGET};
use crate::error::ConformError;

/// A run's settings by source, lowest first (the defaults are added by [`Layers::merged`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layers {
    /// `stockwire.toml`, when `--config` names one.
    pub file: ConfigFile,
    /// The environment variables the options read.
    pub env: ConfigFile,
    /// The flags.
    pub flags: ConfigFile,
}

impl Layers {
    /// Reads the file the flags name (`--config`), returning its warnings (literal secrets).
    pub fn read_file(&mut self) -> Result<Vec<String>, ConformError> {
        match &self.flags.config {
            Some(p) => {
                let (file, warnings) = ConfigFile::load(p)?;
                self.file = file;
                Ok(warnings)
            }
            None => Ok(Vec::new()),
        }
    }

    /// The settings of the run: each layer over the one below it, the defaults lowest.
    pub fn merged(&self) -> ConfigFile {
        ConfigFile::defaults()
            .overlay(self.file.clone())
            .overlay(self.env.clone())
            .overlay(self.flags.clone())
    }
}

impl ConfigFile {
    /// `self` with every key that `over`, a higher layer, sets replaced (lists of known items
    /// add up, the lower layer's first). An option that excludes another also drops the other
    /// from the lower layers: a target drops a target scenario and the other way round, a case
    /// count drops a time budget, and an apiKey drops the login.
    pub fn overlay(mut self, mut over: ConfigFile) -> ConfigFile {
        if over.target.is_some() && over.target_scenario.is_none() {
            self.target_scenario = None;
        }
        if over.target_scenario.is_some() && over.target.is_none() {
            self.target = None;
        }
        if let (Some(b), Some(lower)) = (&over.budget, &mut self.budget) {
            if b.cases.is_some() && b.duration.is_none() {
                lower.duration = None;
            }
        }
        if let (Some(a), Some(lower)) = (&over.auth, &mut self.auth) {
            if a.api_key.is_some() || a.api_key_env.is_some() {
                lower.username = None;
                lower.username_env = None;
                lower.password = None;
                lower.password_env = None;
            }
            if a.second_seller_api_key.is_some() || a.second_seller_api_key_env.is_some() {
                lower.second_seller_username = None;
                lower.second_seller_password = None;
                lower.second_seller_password_env = None;
            }
        }
        over.merge(self);
        over
    }
}

/// Whether a replay takes the option: where to send and as whom, and the reports to write.
fn in_replay(arg: &clap::Arg) -> bool {
    matches!(
        arg.get_help_heading(),
        Some(h) if h == TARGET || h == REPORTS
    )
}

/// The ids of the settings' arguments.
fn ids(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .map(|a| a.get_id().to_string())
        .collect()
}

/// The layer of `source`: the settings with every value found elsewhere left out.
fn layer(m: &ArgMatches, ids: &[String], source: ValueSource) -> Result<ConfigFile, clap::Error> {
    let mut m = m.clone();
    for id in ids {
        if m.value_source(id) != Some(source) {
            // Only ids of this command are asked, so clearing cannot fail.
            let _ = m.try_clear_id(id);
        }
    }
    ConfigFile::from_arg_matches_mut(&mut m)
}

/// Splits parsed settings into the environment's layer and the flags' (clap's defaults are
/// left out: [`ConfigFile::defaults`] is the lowest layer, below the file).
fn split(m: &ArgMatches) -> Result<Layers, clap::Error> {
    let ids = ids(&ConfigFile::augment_args(Command::new("settings")));
    Ok(Layers {
        file: ConfigFile::default(),
        env: layer(m, &ids, ValueSource::EnvVariable)?,
        flags: layer(m, &ids, ValueSource::CommandLine)?,
    })
}

/// A run's command line: every option of [`ConfigFile`], as flags and environment variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandLine(pub Layers);

impl Args for CommandLine {
    fn augment_args(cmd: Command) -> Command {
        ConfigFile::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        ConfigFile::augment_args_for_update(cmd)
    }
}

impl FromArgMatches for CommandLine {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        split(m).map(CommandLine)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// A replay's command line: the options under the [`TARGET`] and [`REPORTS`] headings. The
/// others are defined (hidden) so that one definition serves both commands, and refused when
/// given: a replay re-sends recorded requests, so what to send does not apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayCommandLine(pub Layers);

impl Args for ReplayCommandLine {
    fn augment_args(cmd: Command) -> Command {
        ConfigFile::augment_args(cmd).mut_args(|a| if in_replay(&a) { a } else { a.hide(true) })
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ReplayCommandLine {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let cmd = ConfigFile::augment_args(Command::new("settings"));
        for arg in cmd.get_arguments().filter(|a| !in_replay(a)) {
            if m.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
                let flag = arg.get_long().unwrap_or_else(|| arg.get_id().as_str());
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::UnknownArgument,
                    format!(
                        "unexpected argument '--{flag}' found: a replay re-sends the recorded requests and takes only target, credential, client and report options\n"
                    ),
                ));
            }
        }
        split(m).map(ReplayCommandLine)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;
    use crate::config::{AuthConfig, BudgetConfig, Dur};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: CommandLine,
    }

    #[derive(Parser)]
    struct ReplayCli {
        #[command(flatten)]
        settings: ReplayCommandLine,
    }

    fn flags(args: &[&str]) -> ConfigFile {
        Cli::try_parse_from(args.iter().copied())
            .map(|c| c.settings.0.flags)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The flags' layer holds what the command line says, not clap's defaults (those are the
    /// lowest layer, below the file).
    #[test]
    fn the_flags_layer_holds_only_the_flags_given() {
        let f = flags(&["x", "--cases", "5", "--restore"]);
        let budget = f.budget.clone().unwrap_or_default();
        assert_eq!(budget.cases, Some(5));
        assert_eq!(budget.concurrency, None);
        assert_eq!(budget.timeout, None);
        assert_eq!(f.restore, Some(true));
        assert_eq!(f.insecure, None);
        assert_eq!(f.profile, None);
        assert_eq!(flags(&["x"]).restore, None);
    }

    /// defaults < file < environment < flags, and an option that excludes another drops it
    /// from the layers below.
    #[test]
    fn layers_merge_in_order_and_exclusions_cross_layers() {
        let file = ConfigFile {
            target_scenario: Some(PathBuf::from("s.toml")),
            seed: Some(1),
            auth: Some(AuthConfig {
                username: Some("u".into()),
                password_env: Some("PW".into()),
                ..AuthConfig::default()
            }),
            budget: Some(BudgetConfig {
                duration: Some(Dur(std::time::Duration::from_secs(60))),
                concurrency: Some(8),
                ..BudgetConfig::default()
            }),
            ..ConfigFile::default()
        };
        let env = ConfigFile {
            auth: Some(AuthConfig {
                api_key: Some("k".into()),
                ..AuthConfig::default()
            }),
            ..ConfigFile::default()
        };
        let layers = Layers {
            file,
            env,
            flags: flags(&["x", "--target", "http://h", "--cases", "7", "--seed", "2"]),
        };
        let m = layers.merged();
        assert_eq!(m.target.as_deref(), Some("http://h"));
        assert_eq!(m.target_scenario, None);
        assert_eq!(m.seed, Some(2));
        let b = m.budget.clone().unwrap_or_default();
        assert_eq!(
            (b.cases, b.duration, b.concurrency),
            (Some(7), None, Some(8))
        );
        let a = m.auth.clone().unwrap_or_default();
        assert_eq!(a.api_key.as_deref(), Some("k"));
        assert_eq!((a.username, a.password_env), (None, None));
        // The defaults fill what no layer gave.
        assert_eq!(b.timeout, Some(Dur(std::time::Duration::from_secs(10))));
    }

    /// A replay takes the target, credential, client and report options, and refuses the
    /// others by name.
    #[test]
    fn a_replay_refuses_run_only_options() {
        let ok = ReplayCli::try_parse_from(["x", "--target", "http://h", "--timeout", "3s"]);
        assert!(ok.is_ok());
        let err = ReplayCli::try_parse_from(["x", "--cases", "3"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("'--cases'"), "{err}");
    }
}
