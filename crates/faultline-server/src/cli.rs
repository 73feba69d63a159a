//! The command-line client: `faultline search` and `faultline groups` talk
//! to a running server's query API.

use anyhow::{bail, Context};
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Query, e.g. `service:checkout type:KeyError timeout`.
    pub query: String,
    #[arg(long, env = "FAULTLINE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Start of the time range: RFC 3339 or a duration ago (`24h`).
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print the raw JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GroupsArgs {
    #[arg(long, env = "FAULTLINE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub environment: Option<String>,
    /// unresolved, resolved or ignored.
    #[arg(long)]
    pub status: Option<String>,
    /// Only groups with events matching this query.
    #[arg(long)]
    pub q: Option<String>,
    /// last_seen, first_seen or count.
    #[arg(long, default_value = "last_seen")]
    pub sort: String,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Length of the period, ending now (`1h`, `24h`, `7d`); compared with the one before.
    #[arg(long, default_value = "24h")]
    pub since: String,
    #[arg(long, env = "FAULTLINE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(long)]
    pub json: bool,
}

/// Prints the server's report with the renderer the digests use.
pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    let answer = get(&args.server, "/api/v1/report", &[("since", args.since.clone())])?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let report: crate::report::Report =
        serde_json::from_value(answer).context("the server's report is not in a format this client reads")?;
    print!("{}", crate::report::render_text(&report));
    Ok(())
}

pub fn search(args: SearchArgs) -> anyhow::Result<()> {
    let mut params = vec![("q", args.query.clone()), ("limit", args.limit.to_string())];
    params.extend(args.from.map(|f| ("from", f)));
    params.extend(args.to.map(|t| ("to", t)));
    let answer = get(&args.server, "/api/v1/search", &params)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let events = answer["events"].as_array().cloned().unwrap_or_default();
    println!("{} events match ({} shown)", answer["total"], events.len());
    for e in events {
        let what = match (text(&e["exception_type"]), text(&e["message"])) {
            ("", m) => m.to_string(),
            (t, "") => t.to_string(),
            (t, m) => format!("{t}: {m}"),
        };
        println!(
            "{}  {:<20} group {:<6} {}",
            text(&e["timestamp"]),
            text(&e["service"]),
            e["group_id"],
            first_line(&what)
        );
    }
    Ok(())
}

pub fn groups(args: GroupsArgs) -> anyhow::Result<()> {
    let mut params = vec![("sort", args.sort.clone()), ("limit", args.limit.to_string())];
    params.extend(args.service.map(|v| ("service", v)));
    params.extend(args.environment.map(|v| ("environment", v)));
    params.extend(args.status.map(|v| ("status", v)));
    params.extend(args.q.map(|v| ("q", v)));
    let answer = get(&args.server, "/api/v1/groups", &params)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let groups = answer["groups"].as_array().cloned().unwrap_or_default();
    println!("{:<6} {:<10} {:>7}  {:<20} {:<20} TITLE", "ID", "STATUS", "EVENTS", "LAST SEEN", "SERVICE");
    for g in groups {
        let last_seen: String = text(&g["last_seen"]).chars().take(19).collect();
        println!(
            "{:<6} {:<10} {:>7}  {:<20} {:<20} {}",
            g["id"],
            text(&g["status"]),
            g["count"],
            last_seen,
            text(&g["service"]),
            first_line(text(&g["title"]))
        );
    }
    Ok(())
}

fn get(server: &str, path: &str, params: &[(&str, String)]) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    let response = reqwest::blocking::Client::new()
        .get(&url)
        .query(params)
        .send()
        .with_context(|| format!("cannot reach the faultline server at {server}"))?;
    let status = response.status();
    let body: Value = response.json().with_context(|| format!("unreadable answer from {url}"))?;
    if !status.is_success() {
        bail!("{}: {}", status, body["error"].as_str().unwrap_or("request failed"));
    }
    Ok(body)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
