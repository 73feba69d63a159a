//! The `faultline` command line: `serve` (also what no command means),
//! and the client commands `search`, `groups` and `report`.

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
}

/// Parses the command line and runs the command; what `main` returns.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => crate::server::run(args),
        Command::Search(args) => crate::cli::search(args),
        Command::Groups(args) => crate::cli::groups(args),
        Command::Report(args) => crate::cli::report(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
