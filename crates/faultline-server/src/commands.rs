//! The `faultline` command line: `serve` (also what no command means),
//! the client commands `search`, `groups`, `report`, `token` and `backup`,
//! `compact`, which works on a stopped data directory, `migrate`, which
//! copies a stopped one into PostgreSQL, and `config check`
//! and `demo`.

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

/// What `--version` prints after the program name: the release and the
/// storage format it writes (what a data directory's `FORMAT` file says),
/// so an operator can tell which builds open which data.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{} (storage format {})", env!("CARGO_PKG_VERSION"), faultline_store::STORAGE_FORMAT)
});

#[derive(Debug, Parser)]
#[command(name = "faultline", version = VERSION.as_str(), about = "Self-hosted error tracking and API health for OpenTelemetry")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The flags of `serve`, for when no command is given.
    #[command(flatten)]
    serve: crate::config::ServeArgs,
    /// Access token for the client commands, sent as `Authorization: Bearer`.
    #[arg(long, env = "FAULTLINE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: OTLP receivers, query API and storage (the default).
    Serve(crate::config::ServeArgs),
    /// Search error events on a running server.
    Search(crate::cli::SearchArgs),
    /// List groups (issues) on a running server.
    Groups(crate::cli::GroupsArgs),
    /// Report on a period (new issues, top issues, service health, uptime) vs the one before.
    Report(crate::cli::ReportArgs),
    /// Create, list and revoke access tokens on a running server.
    Token(crate::cli::TokenArgs),
    /// Copy the store into a new data directory: through a running server
    /// (admin token), or from a stopped data directory with --data-dir.
    Backup(crate::cli::BackupArgs),
    /// Give the space of deleted events back to the file system (server stopped).
    Compact(crate::cli::CompactArgs),
    /// Copy a stopped data directory into PostgreSQL (resumable; counts checked at the end).
    Migrate(crate::cli::MigrateArgs),
    /// Check a configuration file without starting (`faultline config check FILE`).
    Config(crate::config_check::ConfigArgs),
    /// Run the server on a temporary data directory with made-up traffic
    /// from a small shop, to see a populated Faultline in one command.
    Demo(crate::demo::DemoArgs),
}

/// The command line, parsed; exits with clap's message when it is wrong.
///
/// Plain `faultline [serve flags]` is `faultline serve [serve flags]`, so
/// the serve flags also sit at the top; they may not come with another
/// command. clap's `args_conflicts_with_subcommands` would say so, but it
/// would also refuse the global `--token` before a command
/// (`faultline --token X groups`), so the check is made here instead.
fn parse<I, T>(argv: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(argv).unwrap_or_else(|e| e.exit());
    if let Some((name, _)) = matches.subcommand() {
        if let Some(flag) = top_level_serve_flag(&command, &matches) {
            command
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("--{flag} is a flag of `serve`; it cannot be used with `{name}`"),
                )
                .exit();
        }
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// A serve flag given on the command line before the command, if any
/// (from the environment they are fine: they are simply not used). Only
/// the top level's own arguments are asked about: `ids()` also lists
/// those of the subcommand, which `value_source` does not know here.
fn top_level_serve_flag(command: &clap::Command, matches: &ArgMatches) -> Option<String> {
    command
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .filter(|id| *id != "token")
        .find(|id| {
            matches!(matches.try_contains_id(id), Ok(true))
                && matches.value_source(id) == Some(ValueSource::CommandLine)
        })
        .map(|id| id.replace('_', "-"))
}

/// Parses the command line and runs the command; what `main` returns.
pub fn main() -> std::process::ExitCode {
    let cli = parse(std::env::args_os());
    let token = cli.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => crate::server::run(args),
        Command::Search(args) => crate::cli::search(args, token),
        Command::Groups(args) => crate::cli::groups(args, token),
        Command::Report(args) => crate::cli::report(args, token),
        Command::Token(args) => crate::cli::token(args, token),
        Command::Backup(args) => crate::cli::backup(args, token),
        Command::Compact(args) => crate::cli::compact(args),
        Command::Migrate(args) => crate::cli::migrate(args),
        Command::Config(args) => return crate::config_check::run(args),
        Command::Demo(args) => crate::demo::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_token_goes_before_or_after_the_command() {
        for argv in [
            ["faultline", "--token", "t1", "groups"],
            ["faultline", "groups", "--token", "t1"],
            ["faultline", "--token=t1", "groups", "--limit=3"],
        ]
        .iter()
        .map(|a| a.to_vec())
        {
            let cli = parse(argv.clone());
            assert_eq!(cli.token.as_deref(), Some("t1"), "{argv:?}");
            assert!(matches!(cli.command, Some(Command::Groups(_))), "{argv:?}");
        }
    }

    #[test]
    fn serve_flags_at_the_top_still_mean_serve() {
        let cli = parse(["faultline", "--data-dir", "/tmp/x"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.data_dir.as_deref(), Some(std::path::Path::new("/tmp/x")));
        let command = Cli::command();
        let matches =
            command.clone().try_get_matches_from(["faultline", "--data-dir", "/x", "groups"]).unwrap();
        assert_eq!(top_level_serve_flag(&command, &matches).as_deref(), Some("data-dir"));
        // Flags of the command itself are not serve flags.
        let matches =
            command.clone().try_get_matches_from(["faultline", "groups", "--server", "http://x"]).unwrap();
        assert_eq!(top_level_serve_flag(&command, &matches), None);
        let matches = command.clone().try_get_matches_from(["faultline", "--token", "t", "groups"]).unwrap();
        assert_eq!(top_level_serve_flag(&command, &matches), None);
    }
}
