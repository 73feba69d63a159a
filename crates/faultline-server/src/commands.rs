//! The `faultline` command line: `serve` (also what no command means),
//! and the client commands `search`, `groups`, `report` and `token`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "faultline",
    version,
    about = "Self-hosted error tracking and API health for OpenTelemetry",
    // Plain `faultline [serve flags]` is `faultline serve [serve flags]`.
    args_conflicts_with_subcommands = true
)]
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
}

/// Parses the command line and runs the command; what `main` returns.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let token = cli.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => crate::server::run(args),
        Command::Search(args) => crate::cli::search(args, token),
        Command::Groups(args) => crate::cli::groups(args, token),
        Command::Report(args) => crate::cli::report(args, token),
        Command::Token(args) => crate::cli::token(args, token),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
