//! How the explorer writes numbers, times and URLs.

use faultline_model::{format_rfc3339, UnixNanos};

const SECOND: i64 = 1_000_000_000;

/// `just now`, `5 minutes ago`, `3 days ago`; `in 2 hours` for the future.
pub fn relative(at: UnixNanos, now: UnixNanos) -> String {
    let ahead = at > now;
    let secs = (now - at).unsigned_abs() / SECOND.unsigned_abs();
    if secs < 45 {
        return "just now".into();
    }
    let (n, unit) = match secs {
        s if s < 3_600 => (s.div_ceil(60).max(1), "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s if s < 86_400 * 45 => (s / 86_400, "day"),
        s if s < 86_400 * 365 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    let amount = plural(n, unit, &format!("{unit}s"));
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// The exact time, for hover titles.
pub fn exact(at: UnixNanos) -> String {
    format_rfc3339(at)
}

/// `1 issue`, `2 issues`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Counts as people read them at a glance: `950`, `12.3k`, `4.1M`.
pub fn count(n: u64) -> String {
    match n {
        n if n < 1_000 => n.to_string(),
        n if n < 100_000 => trim(format!("{:.1}k", n as f64 / 1e3)),
        n if n < 1_000_000 => format!("{}k", n / 1_000),
        n => trim(format!("{:.1}M", n as f64 / 1e6)),
    }
}

fn trim(text: String) -> String {
    text.replace(".0k", "k").replace(".0M", "M")
}

/// `12.5%` of a ratio in [0, 1].
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "–".into();
    }
    let p = ratio * 100.0;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else if p >= 10.0 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Milliseconds as `0.8 ms`, `42 ms`, `1.3 s`.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "–".into()
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1_000.0)
    }
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved kept).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string from (name, value) pairs, empty values left out.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_relative() {
        let now = 1_000_000 * SECOND;
        assert_eq!(relative(now - 10 * SECOND, now), "just now");
        assert_eq!(relative(now - 60 * SECOND, now), "1 minute ago");
        assert_eq!(relative(now - 5 * 60 * SECOND, now), "5 minutes ago");
        assert_eq!(relative(now - 3 * 3_600 * SECOND, now), "3 hours ago");
        assert_eq!(relative(now - 2 * 86_400 * SECOND, now), "2 days ago");
        assert_eq!(relative(now + 2 * 3_600 * SECOND, now), "in 2 hours");
    }

    #[test]
    fn counts_and_ratios_are_short() {
        assert_eq!(count(950), "950");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(2_000), "2k");
        assert_eq!(count(4_100_000), "4.1M");
        assert_eq!(percent(0.125), "12%");
        assert_eq!(percent(0.0123), "1.2%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(millis(0.84), "0.8 ms");
        assert_eq!(millis(1_300.0), "1.3 s");
        assert_eq!(plural(1, "issue", "issues"), "1 issue");
        assert_eq!(plural(0, "issue", "issues"), "0 issues");
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(url_encode("a b/<c>"), "a%20b%2F%3Cc%3E");
        assert_eq!(query_string(&[("q", "type:Key Error"), ("service", "")]), "?q=type%3AKey%20Error");
    }
}
