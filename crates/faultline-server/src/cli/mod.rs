//! The command-line client: `faultline search`, `groups`, `report` and
//! `token` talk to a running server's API, with the token of `--token` /
//! `FAULTLINE_TOKEN` when one is given.

mod data;
mod migrate;
mod table;
mod tokens;

pub use data::{backup, compact, BackupArgs, CompactArgs};
pub use migrate::{migrate, MigrateArgs};
pub use tokens::{token, TokenArgs};

use anyhow::{bail, Context};
use faultline_model::now_nanos;
use serde_json::Value;

use table::{Column, Table};

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Query, e.g. `service:checkout type:KeyError timeout`; one that
    /// starts with `-` (`-type:KeyError`) works as it is. Without one,
    /// the newest events.
    #[arg(allow_hyphen_values = true, default_value = "")]
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
pub fn report(args: ReportArgs, token: Option<&str>) -> anyhow::Result<()> {
    let answer = get(&args.server, token, "/api/v1/report", &[("since", args.since.clone())])?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let report: crate::report::Report =
        serde_json::from_value(answer).context("the server's report is not in a format this client reads")?;
    print!("{}", crate::report::render_text(&report));
    Ok(())
}

pub fn search(args: SearchArgs, token: Option<&str>) -> anyhow::Result<()> {
    let mut params = vec![("q", args.query.clone()), ("limit", args.limit.to_string())];
    params.extend(args.from.map(|f| ("from", f)));
    params.extend(args.to.map(|t| ("to", t)));
    let answer = get(&args.server, token, "/api/v1/search", &params)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    print!("{}", render_search(&answer, now_nanos(), table::output_width()));
    Ok(())
}

fn render_search(answer: &Value, now: i64, width: Option<usize>) -> String {
    let events = answer["events"].as_array().map(Vec::as_slice).unwrap_or_default();
    let total = answer["total"].as_u64().unwrap_or(0);
    let mut out = match (total, events.len()) {
        (0, _) => return "No events match.\n".to_string(),
        (1, _) => "1 event matches.\n".to_string(),
        (t, n) if n as u64 >= t => format!("{} events match.\n", thousands(t)),
        (t, n) => format!("{} events match, newest {n} shown (--limit for more).\n", thousands(t)),
    };
    out.push('\n');
    let mut table = Table::new(&[
        Column::left("TIME"),
        Column::left("SERVICE"),
        Column::right("ISSUE"),
        Column::left("LEVEL").optional(),
        Column::left("ERROR").flexible(),
    ]);
    for e in events {
        let what = match (text(&e["exception_type"]), text(&e["message"])) {
            ("", m) => m.to_string(),
            (t, "") => t.to_string(),
            (t, m) => format!("{t}: {m}"),
        };
        table.row(vec![
            short_time(text(&e["timestamp"]), now),
            text(&e["service"]).to_string(),
            e["group_id"].as_u64().map(|id| format!("#{id}")).unwrap_or_default(),
            text(&e["level"]).to_string(),
            what,
        ]);
    }
    out.push_str(&table.render(width));
    out
}

pub fn groups(args: GroupsArgs, token: Option<&str>) -> anyhow::Result<()> {
    let mut params = vec![("sort", args.sort.clone()), ("limit", args.limit.to_string())];
    params.extend(args.service.map(|v| ("service", v)));
    params.extend(args.environment.map(|v| ("environment", v)));
    params.extend(args.status.map(|v| ("status", v)));
    params.extend(args.q.map(|v| ("q", v)));
    let answer = get(&args.server, token, "/api/v1/groups", &params)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    print!("{}", render_groups(&answer, now_nanos(), table::output_width()));
    Ok(())
}

fn render_groups(answer: &Value, now: i64, width: Option<usize>) -> String {
    let groups = answer["groups"].as_array().map(Vec::as_slice).unwrap_or_default();
    if groups.is_empty() {
        return "No issues match.\n".to_string();
    }
    let mut table = Table::new(&[
        Column::right("ID"),
        Column::left("STATUS"),
        Column::right("EVENTS"),
        Column::left("LAST SEEN"),
        Column::left("FIRST SEEN").optional(),
        Column::left("SERVICE"),
        Column::left("TITLE").flexible(),
        Column::left("CULPRIT").flexible().optional(),
    ]);
    for g in groups {
        table.row(vec![
            g["id"].as_u64().map(|id| format!("#{id}")).unwrap_or_default(),
            group_status(g),
            thousands(g["count"].as_u64().unwrap_or(0)),
            ago(text(&g["last_seen"]), now),
            ago(text(&g["first_seen"]), now),
            text(&g["service"]).to_string(),
            text(&g["title"]).to_string(),
            text(&g["culprit"]).to_string(),
        ]);
    }
    let mut out = table.render(width);
    if answer["next_cursor"].is_string() {
        out.push_str("(more issues: raise --limit)\n");
    }
    out
}

/// The status, with a regression (an event after it was resolved) shown
/// as Sentry does, until the issue is resolved again.
fn group_status(g: &Value) -> String {
    let status = text(&g["status"]);
    if g["regressed"].as_bool() == Some(true) && status == "unresolved" {
        "regressed".to_string()
    } else {
        status.to_string()
    }
}

/// `12s ago`, `5m ago`, `3h ago`, `2d ago`.
fn ago(timestamp: &str, now: i64) -> String {
    let Some(t) = faultline_model::parse_rfc3339(timestamp) else {
        return timestamp.to_string();
    };
    let secs = (now.saturating_sub(t) / 1_000_000_000).max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// A timestamp to the second in UTC; the date only when it is not today's.
fn short_time(timestamp: &str, now: i64) -> String {
    let Some(t) = faultline_model::parse_rfc3339(timestamp) else {
        return timestamp.to_string();
    };
    let text = faultline_model::format_rfc3339(t - t % 1_000_000_000);
    let today = faultline_model::format_rfc3339(now);
    let (date, time) = text.split_once('T').unwrap_or((&text, ""));
    let time = time.trim_end_matches('Z');
    if today.starts_with(date) {
        time.to_string()
    } else {
        format!("{date} {time}")
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The variable naming a PEM CA the commands trust besides the webpki
/// roots: for a server whose certificate a private CA signed.
pub const CA_CERT_ENV: &str = "FAULTLINE_CA_CERT";

/// The commands' HTTP client. Without `FAULTLINE_CA_CERT` it trusts the
/// webpki roots (the build's reqwest has no roots of its own).
fn http_client() -> anyhow::Result<reqwest::blocking::Client> {
    let tls = match std::env::var_os(CA_CERT_ENV).filter(|v| !v.is_empty()) {
        Some(path) => {
            let pem = std::fs::read(&path).with_context(|| {
                format!("cannot read {CA_CERT_ENV} {}", std::path::Path::new(&path).display())
            })?;
            faultline_tls::client_config_trusting(&pem)
                .with_context(|| format!("{CA_CERT_ENV} {}", std::path::Path::new(&path).display()))?
        }
        None => (*faultline_tls::client_config(faultline_tls::Trust::WebpkiRoots)?).clone(),
    };
    Ok(reqwest::blocking::Client::builder().use_preconfigured_tls(tls).build()?)
}

fn get(server: &str, token: Option<&str>, path: &str, params: &[(&str, String)]) -> anyhow::Result<Value> {
    let client = http_client()?;
    send(server, token, client.get(api_url(server, path)).query(params))
}

fn api_url(server: &str, path: &str) -> String {
    format!("{}{path}", server.trim_end_matches('/'))
}

/// Sends a request with the token as a bearer, and reads the JSON answer
/// (none for 204); an error status becomes an error with the server's message.
fn send(
    server: &str,
    token: Option<&str>,
    request: reqwest::blocking::RequestBuilder,
) -> anyhow::Result<Value> {
    let request = match token {
        Some(token) => request.bearer_auth(token.trim()),
        None => request,
    };
    let response = request.send().map_err(|e| unreachable(server, &e))?;
    let status = response.status();
    if status == reqwest::StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let url = response.url().to_string();
    let body: Value = response.json().with_context(|| format!("unreadable answer from {url}"))?;
    if !status.is_success() {
        let message = body["error"].as_str().unwrap_or("request failed");
        let hint = match status.as_u16() {
            401 if token.is_none() => "; give one with --token or FAULTLINE_TOKEN",
            403 => "; use a token with more scope",
            _ => "",
        };
        bail!("{status}: {message}{hint}");
    }
    Ok(body)
}

/// Says what went wrong in one line: reqwest's chain repeats the URL and
/// the cause at every level.
fn unreachable(server: &str, e: &reqwest::Error) -> anyhow::Error {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let hint = if e.is_connect() {
        "; is `faultline serve` running there? --server or FAULTLINE_SERVER picks another address"
    } else {
        ""
    };
    anyhow::anyhow!("cannot reach the faultline server at {server} ({cause}){hint}")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests;
