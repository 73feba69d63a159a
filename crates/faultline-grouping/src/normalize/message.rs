//! Message parameterization: `User 42 not found` → `User <num> not found`.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::limits::{truncate, MAX_MESSAGE_BYTES};

/// Longest quoted value replaced; longer "quotes" are more likely prose
/// between two unrelated apostrophes.
const MAX_QUOTED_CHARS: usize = 200;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("message patterns are valid")
}

static URL: LazyLock<Regex> = LazyLock::new(|| regex(r#"\b[a-zA-Z][\w+.-]*://[^\s'"<>]+"#));
static QUERY_VALUE: LazyLock<Regex> = LazyLock::new(|| regex(r"([?&;][^=&#?;]*=)[^&#;]*"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"));
static UUID: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"));
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        // ISO 8601 / RFC 3339 and SQL-style date-times, or bare dates.
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?Z|\s?[+-]\d{2}:?\d{2}|\s?UTC)?)?\b",
        // RFC 2822 / HTTP dates: `Tue, 14 Nov 2023 22:13:20 GMT`.
        r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}(?: (?:GMT|UTC|[+-]\d{4}))?",
        // Times of day: `22:13:20.123`.
        r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
    ))
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"));
/// IPv6 candidates: a run of hex digits and at least two colons, not glued
/// to a preceding word; [`is_ipv6`] decides.
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)(^|[^0-9a-z:.])\[?([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})\]?"));
static HEX: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d+(?:\.\d+)?\b"));
static WHITESPACE: LazyLock<Regex> = LazyLock::new(|| regex(r"\s+"));

/// Replaces the parts of a message that vary between occurrences of one
/// error with placeholders, so `User 42 not found` and `User 97 not found`
/// hash alike. In order (earlier rules see the text before later ones):
///
/// | what | placeholder |
/// | --- | --- |
/// | URL query values (`?id=42&t=x`) | `?id=<val>&t=<val>` |
/// | email addresses | `<email>` |
/// | UUIDs | `<uuid>` |
/// | timestamps, dates, times of day | `<timestamp>` |
/// | IPv4 / IPv6 addresses (with port) | `<ip>` |
/// | quoted values (`'abc'`, `"abc"`, `` `abc` ``) | `<str>` |
/// | `0x…` and long hex strings with a digit | `<hex>` |
/// | numbers | `<num>` |
///
/// Whitespace runs collapse to one space. Only the first 4 KiB are looked at.
pub fn parameterize_message(message: &str) -> String {
    let text = truncate(message, MAX_MESSAGE_BYTES);
    let text = URL
        .replace_all(text, |caps: &Captures<'_>| QUERY_VALUE.replace_all(&caps[0], "${1}<val>").into_owned());
    let text = EMAIL.replace_all(&text, "<email>");
    let text = UUID.replace_all(&text, "<uuid>");
    let text = TIMESTAMP.replace_all(&text, "<timestamp>");
    let text = IPV4.replace_all(&text, "<ip>");
    let text = replace_ipv6(&text);
    let text = replace_quoted(&text);
    let text = HEX.replace_all(&text, |caps: &Captures<'_>| {
        let found = &caps[0];
        let is_hex_literal = found.len() > 2 && found[..2].eq_ignore_ascii_case("0x");
        let has_digit = found.bytes().any(|b| b.is_ascii_digit());
        let has_letter = found.bytes().any(|b| b.is_ascii_alphabetic());
        if is_hex_literal || (has_digit && has_letter) {
            "<hex>".to_string()
        } else {
            found.to_string()
        }
    });
    let text = NUMBER.replace_all(&text, "<num>");
    WHITESPACE.replace_all(text.trim(), " ").into_owned()
}

fn replace_ipv6(text: &str) -> String {
    IPV6.replace_all(text, |caps: &Captures<'_>| {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let ends_mid_word = caps
            .get(0)
            .and_then(|m| text.get(m.end()..))
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_alphanumeric());
        let candidate = caps.get(2).map_or("", |m| m.as_str());
        if !ends_mid_word && is_ipv6(candidate) {
            format!("{}<ip>", caps.get(1).map_or("", |m| m.as_str()))
        } else {
            whole.to_string()
        }
    })
    .into_owned()
}

/// Whether colon-separated hex groups form an IPv6 address: 8 groups, or
/// fewer with one `::`; and at least one digit, so `dead::beef` and Rust or
/// C++ paths (`a::b::c`) stay words.
fn is_ipv6(candidate: &str) -> bool {
    let groups = candidate.split(':').count();
    let compressed = candidate.contains("::");
    (groups == 8 || (compressed && groups >= 3)) && candidate.bytes().any(|b| b.is_ascii_digit())
}

/// Replaces quoted values with `<str>`. A quote opens only at the start of
/// the text or after a character that is not a letter or digit, and closes
/// only before one, so apostrophes in prose (`can't`, `user's`) are left
/// alone. Ruby's old `` `name' `` quoting is recognized too.
fn replace_quoted(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let opens = matches!(c, '\'' | '"' | '`')
            && i.checked_sub(1).and_then(|p| chars.get(p)).is_none_or(|p| !p.is_alphanumeric());
        if let Some(end) = opens.then(|| closing_quote(&chars, i)).flatten() {
            out.push_str("<str>");
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Index of the quote closing the one at `open`, if any within reach.
fn closing_quote(chars: &[char], open: usize) -> Option<usize> {
    let quote = chars.get(open).copied()?;
    let closers: &[char] = if quote == '`' { &['`', '\''] } else { &[quote] };
    let limit = (open + 1 + MAX_QUOTED_CHARS).min(chars.len());
    (open + 1..limit).take_while(|&j| chars.get(j).is_some_and(|&c| c != '\n')).find(|&j| {
        chars.get(j).is_some_and(|c| closers.contains(c))
            && chars.get(j + 1).is_none_or(|next| !next.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        parameterize_message(text)
    }

    #[test]
    fn numbers_become_placeholders() {
        assert_eq!(p("User 42 not found"), "User <num> not found");
        assert_eq!(p("User 42 not found"), p("User 97 not found"));
        assert_eq!(p("took 12.5 ms"), "took <num> ms");
        assert_eq!(p("order-1234 failed"), "order-<num> failed");
        assert_eq!(p("user42"), "user42", "digits inside a word are an identifier");
    }

    #[test]
    fn ids_and_addresses_become_placeholders() {
        assert_eq!(p("no row for 3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "no row for <uuid>");
        assert_eq!(p("segfault at 0x7ffd5e8c"), "segfault at <hex>");
        assert_eq!(p("object a1b2c3d4e5f6 gone"), "object <hex> gone");
        assert_eq!(p("deadbeefcafe stays"), "deadbeefcafe stays", "no digit: a word");
        assert_eq!(p("connect to 10.0.3.17:5432 refused"), "connect to <ip> refused");
        assert_eq!(p("from 2001:db8::ff00:42:8329"), "from <ip>");
        assert_eq!(p("listen [::1]:8080"), "listen <ip>:<num>");
        assert_eq!(p("Option::unwrap failed"), "Option::unwrap failed");
        assert_eq!(p("mail to bob.smith+x@example.co.uk bounced"), "mail to <email> bounced");
    }

    #[test]
    fn timestamps_become_placeholders() {
        assert_eq!(p("expired at 2024-03-01T12:30:45.123Z"), "expired at <timestamp>");
        assert_eq!(p("expired at 2024-03-01 12:30:45+02:00"), "expired at <timestamp>");
        assert_eq!(p("since 2024-03-01"), "since <timestamp>");
        assert_eq!(p("at 12:30:45"), "at <timestamp>");
        assert_eq!(p("Expires: Tue, 14 Nov 2023 22:13:20 GMT"), "Expires: <timestamp>");
    }

    #[test]
    fn urls_lose_query_values() {
        assert_eq!(
            p("GET https://api.example.com/v1/items?id=42&token=abc#top failed"),
            "GET https://api.example.com/v1/items?id=<val>&token=<val>#top failed"
        );
    }

    #[test]
    fn quoted_values_become_placeholders() {
        assert_eq!(
            p("invalid literal for int() with base 10: 'abc'"),
            "invalid literal for int() with base <num>: <str>"
        );
        assert_eq!(p(r#"column "email" does not exist"#), "column <str> does not exist");
        assert_eq!(p("undefined method `price' for nil"), "undefined method <str> for nil");
        assert_eq!(p("can't find user's profile"), "can't find user's profile");
        assert_eq!(p("'unterminated"), "'unterminated");
        assert_eq!(p("KeyError: 'id'"), p("KeyError: 'name'"));
    }

    #[test]
    fn whitespace_collapses_and_input_is_bounded() {
        assert_eq!(p("  a \n\t b  "), "a b");
        let huge = "x 1 ".repeat(1_000_000);
        assert!(p(&huge).len() <= MAX_MESSAGE_BYTES * 2);
        assert_eq!(p(""), "");
        let quotes = "'".repeat(100_000);
        assert!(p(&quotes).len() <= MAX_MESSAGE_BYTES * 3);
    }
}
