//! The final table: every figure of issue 11 with its target and whether
//! this run met it (and by how much it missed).

use std::fmt::Write as _;

use serde::Serialize;

/// One row: what was measured, against what.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub target: String,
    pub verdict: String,
}

impl Row {
    /// A figure without a target of its own (the cost of a setting, a count).
    pub fn info(figure: &str, measured: String, target: &str) -> Row {
        Row { figure: figure.into(), measured, target: target.into(), verdict: "measured".into() }
    }

    /// `value` should be at least `target`.
    pub fn at_least(figure: &str, measured: String, target: &str, value: f64, goal: f64) -> Row {
        let verdict = if value >= goal {
            "met".to_string()
        } else {
            format!("missed: {:.0} % of target", 100.0 * value / goal)
        };
        Row { figure: figure.into(), measured, target: target.into(), verdict }
    }

    /// `value` should be below `target`.
    pub fn below(figure: &str, measured: String, target: &str, value: f64, goal: f64) -> Row {
        let verdict =
            if value < goal { "met".to_string() } else { format!("missed: {:.2}x the bound", value / goal) };
        Row { figure: figure.into(), measured, target: target.into(), verdict }
    }

    /// A yes/no target, with what decided it.
    pub fn check(figure: &str, measured: String, target: &str, met: bool, why: &str) -> Row {
        let verdict = if met { "met".to_string() } else { format!("missed: {why}") };
        Row { figure: figure.into(), measured, target: target.into(), verdict }
    }
}

/// The rows as a Markdown table (also readable as plain text).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from("| figure | measured | target | verdict |\n|---|---|---|---|\n");
    for r in rows {
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&r.figure),
            cell(&r.measured),
            cell(&r.target),
            cell(&r.verdict)
        );
    }
    out
}

/// 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    faultline_loadgen::stats::group(n)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}
