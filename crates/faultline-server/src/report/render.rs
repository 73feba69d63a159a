//! The report as plain text for a terminal, an email or a Slack code
//! block: aligned columns, ▲/▼ with signed changes, one table per part.

use std::fmt::Write;

use faultline_model::{format_rfc3339, UnixNanos};

use super::{CheckLine, GroupLine, Report, ServiceLine};

/// Titles longer than this are cut, so rows fit a wide terminal.
const TITLE_MAX_CHARS: usize = 80;
/// A change smaller than this (relative, or in rate) shows as `=`.
const UNCHANGED: f64 = 0.0005;

pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let length = period_name(report.period_seconds);
    let _ = writeln!(out, "Faultline report: last {length}");
    let _ = writeln!(
        out,
        "{} to {} UTC, compared with the {length} before\n",
        minute(report.period.from),
        minute(report.period.to)
    );
    let s = &report.summary;
    let mut summary = Table::new(&["", "", "", ""], &[false, true, false, false]);
    summary.row(vec![
        "Error events".into(),
        count(s.events),
        relative(s.events_change, s.events, s.previous_events),
        format!("({} before)", count(s.previous_events)),
    ]);
    summary.row(vec![
        "New issues".into(),
        count(s.new_groups as u64),
        String::new(),
        format!("({} before)", count(s.previous_new_groups as u64)),
    ]);
    summary.write_rows(&mut out);

    out.push_str("\nNEW ISSUES\n");
    if report.new_groups.is_empty() {
        out.push_str("  none\n");
    } else {
        let mut table = Table::new(
            &["ID", "SERVICE", "EVENTS", "FIRST SEEN", "TITLE"],
            &[false, false, true, false, false],
        );
        for g in &report.new_groups {
            table.row(vec![id(g), g.service.clone(), count(g.events), minute(g.first_seen), title(g)]);
        }
        table.write(&mut out);
        let hidden = s.new_groups.saturating_sub(report.new_groups.len());
        if hidden > 0 {
            let _ = writeln!(out, "  and {hidden} more");
        }
        links(&mut out, &report.new_groups);
    }

    out.push_str("\nTOP ISSUES BY EVENTS\n");
    if report.top_groups.is_empty() {
        out.push_str("  no error events\n");
    } else {
        let mut table = Table::new(
            &["ID", "SERVICE", "EVENTS", "BEFORE", "CHANGE", "TITLE"],
            &[false, false, true, true, false, false],
        );
        for g in &report.top_groups {
            let change = if g.new {
                "new".to_string()
            } else {
                relative(
                    super::relative_change(g.events as f64, g.previous_events as f64),
                    g.events,
                    g.previous_events,
                )
            };
            table.row(vec![
                id(g),
                g.service.clone(),
                count(g.events),
                count(g.previous_events),
                change,
                title(g),
            ]);
        }
        table.write(&mut out);
    }

    out.push_str("\nSERVICES\n");
    if report.services.is_empty() {
        out.push_str("  no requests\n");
    } else {
        let mut table = Table::new(
            &["SERVICE", "REQUESTS", "CHANGE", "ERROR RATE", "CHANGE", "P95", "CHANGE"],
            &[false, true, false, true, false, true, false],
        );
        for line in &report.services {
            table.row(service_row(line));
        }
        table.write(&mut out);
    }

    if !report.checks.is_empty() {
        out.push_str("\nCHECKS\n");
        let mut table = Table::new(
            &["CHECK", "KIND", "UPTIME", "BEFORE", "CHANGE", "RUNS", "FAILED"],
            &[false, false, true, true, false, true, true],
        );
        for line in &report.checks {
            table.row(check_row(line));
        }
        table.write(&mut out);
    }
    out
}

fn service_row(s: &ServiceLine) -> Vec<String> {
    vec![
        s.service.clone(),
        count(s.requests),
        relative(s.requests_change, s.requests, s.previous_requests),
        percent(s.error_rate),
        points(s.error_rate_change),
        latency(s.p95_ms),
        match (s.p95_ms, s.previous_p95_ms) {
            (Some(_), None) => "new".into(),
            _ => arrow_percent(s.p95_change),
        },
    ]
}

fn check_row(c: &CheckLine) -> Vec<String> {
    vec![
        c.id.clone(),
        c.kind.clone(),
        percent(c.uptime),
        percent(c.previous_uptime),
        points(c.uptime_change),
        count(c.runs as u64),
        count(c.failures as u64),
    ]
}

/// Absolute links (a public URL is configured) under the table.
fn links(out: &mut String, groups: &[GroupLine]) {
    for g in groups.iter().filter(|g| g.url.starts_with("http")) {
        let _ = writeln!(out, "  {}  {}", id(g), g.url);
    }
}

fn id(g: &GroupLine) -> String {
    format!("#{}", g.id)
}

fn title(g: &GroupLine) -> String {
    let one_line = g.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= TITLE_MAX_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(TITLE_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `24h`, `7d`, `90m`: the unit that divides the period evenly; a single
/// day reads better as 24h.
pub(crate) fn period_name(seconds: u64) -> String {
    match seconds {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `2025-01-01 09:00` (UTC).
fn minute(at: UnixNanos) -> String {
    format_rfc3339(at).chars().take(16).collect::<String>().replace('T', " ")
}

/// `12,345`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate as `2.10%`; `–` when there is none.
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".into(), |r| format!("{:.2}%", r * 100.0))
}

/// `183 ms`, `4.2 ms`, `1.83 s`.
fn latency(ms: Option<f64>) -> String {
    match ms {
        None => "–".into(),
        Some(ms) if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
        Some(ms) if ms >= 10.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{ms:.1} ms"),
    }
}

fn arrow(change: f64) -> &'static str {
    if change > UNCHANGED {
        "▲"
    } else if change < -UNCHANGED {
        "▼"
    } else {
        "="
    }
}

/// A count's change: `▲ +25%`, `new` when there was nothing before, `–`
/// when there is nothing either way.
fn relative(change: Option<f64>, current: u64, previous: u64) -> String {
    match (change, current, previous) {
        (Some(c), _, _) => arrow_percent(Some(c)),
        (None, 0, _) => "–".into(),
        (None, _, _) => "new".into(),
    }
}

/// `▲ +25%`, `▼ -3.5%` (one decimal under 10%), `= 0%`.
pub(crate) fn arrow_percent(change: Option<f64>) -> String {
    let Some(c) = change else { return "–".into() };
    let pct = c * 100.0;
    if c.abs() <= UNCHANGED {
        return "= 0%".into();
    }
    if pct.abs() >= 10.0 {
        format!("{} {pct:+.0}%", arrow(c))
    } else {
        format!("{} {pct:+.1}%", arrow(c))
    }
}

/// A rate's change in percentage points: `▲ +1.20 pp`.
pub(crate) fn points(change: Option<f64>) -> String {
    let Some(c) = change else { return "–".into() };
    if c.abs() <= UNCHANGED / 10.0 {
        return "= 0 pp".into();
    }
    format!("{} {:+.2} pp", arrow(c), c * 100.0)
}

/// Columns padded to their widest cell, two spaces apart, right-aligned
/// where numbers are; the last column is not padded (titles run on).
struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str], right: &[bool]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: right.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn write(&self, out: &mut String) {
        self.write_lines(out, true);
    }

    fn write_rows(&self, out: &mut String) {
        self.write_lines(out, false);
    }

    fn write_lines(&self, out: &mut String, with_headers: bool) {
        let columns = self.headers.len();
        let mut widths = vec![0; columns];
        let header = with_headers.then_some(&self.headers);
        for row in header.into_iter().chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        for row in header.into_iter().chain(&self.rows) {
            let mut line = String::from(" ");
            for (i, cell) in row.iter().enumerate().take(columns) {
                let pad = " ".repeat(widths[i] - cell.chars().count());
                line.push(' ');
                if self.right.get(i).copied().unwrap_or(false) {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < columns {
                        line.push_str(&pad);
                    }
                }
                if i + 1 < columns {
                    line.push(' ');
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests;
