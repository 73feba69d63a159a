//! `faultline`: the server (`faultline serve`) and its command-line client
//! (`faultline search`, `faultline groups`, `faultline report`).

mod alert_admin;
mod alerting;
mod alerts_api;
mod api;
mod checks;
mod checks_api;
mod cli;
mod config;
mod health_api;
mod metrics;
mod otlp_grpc;
mod otlp_http;
mod pipeline;
mod report;
mod report_api;
mod server;
mod ui;

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
    serve: config::ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: OTLP receivers, query API and storage (the default).
    Serve(config::ServeArgs),
    /// Search error events on a running server.
    Search(cli::SearchArgs),
    /// List groups (issues) on a running server.
    Groups(cli::GroupsArgs),
    /// Report on a period (new issues, top issues, service health, uptime) vs the one before.
    Report(cli::ReportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => server::run(args),
        Command::Search(args) => cli::search(args),
        Command::Groups(args) => cli::groups(args),
        Command::Report(args) => cli::report(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
