//! `faultline token create|list|revoke`: access tokens through the running
//! server's admin API. `create` prints the secret alone on stdout (so
//! `TOKEN=$(faultline token create …)` works) and what it is on stderr.

use anyhow::Context;
use serde_json::{json, Value};

use super::table::{Column, Table};
use super::{api_url, send, text};

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[arg(long, env = "FAULTLINE_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, on stdout.
    Create {
        /// What the token is for ("checkout-prod", "ci", "alice").
        #[arg(long)]
        name: String,
        /// ingest (send telemetry), read (API, pages, /metrics) or admin (read and change everything).
        #[arg(long)]
        scope: String,
        /// Ingest tokens: a service it may send for (repeat for more); none means any.
        #[arg(long = "service", value_name = "SERVICE")]
        services: Vec<String>,
        /// Ingest tokens: error events per second it may send (fair use),
        /// instead of the server's limits.events_per_second_per_token.
        #[arg(long, value_name = "N")]
        events_per_second: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id: it stops working at once.
    Revoke { id: String },
}

pub fn token(args: TokenArgs, token: Option<&str>) -> anyhow::Result<()> {
    let client = super::http_client()?;
    let url = api_url(&args.server, "/api/v1/tokens");
    match args.command {
        TokenCommand::Create { name, scope, services, events_per_second, json } => {
            let body = json!({
                "name": name,
                "scope": scope,
                "services": services,
                "events_per_second": events_per_second,
            });
            let answer = send(&args.server, token, client.post(&url).json(&body))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
                return Ok(());
            }
            let secret = answer["secret"].as_str().context("the server's answer has no secret")?;
            eprintln!(
                "Created token {} ({}, scope {}). Its secret, shown only now:",
                text(&answer["id"]),
                text(&answer["name"]),
                text(&answer["scope"])
            );
            println!("{secret}");
        }
        TokenCommand::List { json } => {
            let answer = send(&args.server, token, client.get(&url))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                print!("{}", render_list(&answer));
            }
        }
        TokenCommand::Revoke { id } => {
            let url = api_url(&args.server, &format!("/api/v1/tokens/{id}"));
            send(&args.server, token, client.delete(&url))?;
            eprintln!("Revoked token {id}.");
        }
    }
    Ok(())
}

fn render_list(answer: &Value) -> String {
    let tokens = answer["tokens"].as_array().map(Vec::as_slice).unwrap_or_default();
    if tokens.is_empty() {
        return "No tokens: the server is open on loopback (faultline token create makes one).\n".to_string();
    }
    let mut table = Table::new(&[
        Column::left("ID"),
        Column::left("SCOPE"),
        Column::left("NAME").flexible(),
        Column::left("SERVICES").flexible().optional(),
        Column::left("CREATED"),
    ]);
    for t in tokens {
        let services: Vec<&str> =
            t["services"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
        table.row(vec![
            text(&t["id"]).to_string(),
            text(&t["scope"]).to_string(),
            text(&t["name"]).to_string(),
            if services.is_empty() { "any".to_string() } else { services.join(", ") },
            text(&t["created_at"]).to_string(),
        ]);
    }
    table.render(super::table::output_width())
}
