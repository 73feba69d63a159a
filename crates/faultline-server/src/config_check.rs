//! `faultline config check FILE`: reads and validates a configuration file
//! exactly as `faultline serve --config FILE` would (listen addresses,
//! limits, alert rules and channels, checks, grouping rules, TLS files),
//! without binding a port or opening the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{Config, ServeArgs};

/// Arguments of `faultline config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file as `serve` would, without starting: prints
    /// `FILE: OK` (exit 0) or the error and where it is (exit 1; 2 when
    /// the file cannot be read).
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Exit status of a file that does not validate.
const INVALID: u8 = 1;
/// Exit status of a file that cannot be read at all.
const UNREADABLE: u8 = 2;

pub fn run(args: ConfigArgs) -> ExitCode {
    match args.command {
        ConfigCommand::Check { file } => check(&file),
    }
}

fn check(file: &Path) -> ExitCode {
    if let Err(e) = std::fs::read(file) {
        eprintln!("error: cannot read config file {}: {e}", file.display());
        return ExitCode::from(UNREADABLE);
    }
    match validate(file) {
        Ok(()) => {
            println!("{}: OK", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The same words `serve` would stop with.
            eprintln!("error: {e:#}");
            ExitCode::from(INVALID)
        }
    }
}

/// What `serve` checks before it binds or opens anything, plus the TLS
/// files it reads when it starts serving.
fn validate(file: &Path) -> anyhow::Result<()> {
    let config = Config::load(&ServeArgs { config: Some(file.to_path_buf()), ..ServeArgs::default() })?;
    crate::server::open_tls(&config)?;
    Ok(())
}
