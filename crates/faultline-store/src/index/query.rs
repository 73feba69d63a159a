//! The user's query language: tantivy's Lucene-like syntax, with friendly
//! field names and OTel attribute names accepted as fields.
//!
//! `service:checkout`, `service.name:checkout` and `user.id:42` all work:
//! before parsing, each `name:` prefix is mapped to its index field, and a
//! name that is no index field becomes a path in the attribute JSON field
//! (`user.id:42` -> `attr.user.id:42`).

/// Query names for the index's own fields, with the OTel names that mean the same.
const ALIASES: &[(&str, &str)] = &[
    ("message", "message"),
    ("exception.message", "message"),
    ("msg", "message"),
    ("stacktrace", "stacktrace"),
    ("exception.stacktrace", "stacktrace"),
    ("service", "service"),
    ("service.name", "service"),
    ("environment", "environment"),
    ("env", "environment"),
    ("deployment.environment", "environment"),
    ("deployment.environment.name", "environment"),
    ("release", "release"),
    ("version", "release"),
    ("service.version", "release"),
    ("type", "type"),
    ("exception.type", "type"),
    ("exception", "type"),
    ("route", "route"),
    ("http.route", "route"),
    ("method", "method"),
    ("http.method", "method"),
    ("http.request.method", "method"),
    ("status", "status"),
    ("http.status", "status"),
    ("http.status_code", "status"),
    ("http.response.status_code", "status"),
    ("trace_id", "trace_id"),
    ("trace", "trace_id"),
    ("span_id", "span_id"),
    ("span", "span_name"),
    ("span_name", "span_name"),
    ("level", "level"),
    ("source", "source"),
    ("host", "host"),
    ("host.name", "host"),
    ("sdk", "sdk"),
    ("telemetry.sdk.language", "sdk"),
    ("user", "user"),
    ("fingerprint", "fingerprint"),
    ("seq", "seq"),
    ("timestamp", "timestamp"),
    ("attr", "attr"),
];

/// The next `group:ID` / `issue:ID` term of a query: the text before it,
/// the id, and the text after it. Quoted text is skipped.
pub fn next_group_term(query: &str) -> Option<(&str, u64, &str)> {
    let bytes = query.as_bytes();
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_quotes = !in_quotes,
            _ if in_quotes => {}
            // Inside a multi-byte character: no term starts there, and
            // slicing there would panic.
            _ if !query.is_char_boundary(i) => {}
            _ => {
                let at_start = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'(' | b'-' | b'+');
                let rest = &query[i..];
                let name_len = ["group:", "issue:"].iter().find(|p| rest.starts_with(*p)).map(|p| p.len());
                if let (true, Some(len)) = (at_start, name_len) {
                    let digits = rest[len..].bytes().take_while(u8::is_ascii_digit).count();
                    let end = i + len + digits;
                    let ends_token = end == bytes.len() || matches!(bytes[end], b' ' | b'\t' | b')');
                    if digits > 0 && ends_token {
                        if let Ok(id) = query[i + len..end].parse() {
                            return Some((&query[..i], id, &query[end..]));
                        }
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// A query term matching events of any of `fingerprints` (none: nothing).
pub fn any_fingerprint(fingerprints: &[String]) -> String {
    if fingerprints.is_empty() {
        // No fingerprint is empty, so this matches no event.
        return "fingerprint:\"\"".to_string();
    }
    let terms: Vec<String> =
        fingerprints.iter().map(|f| format!("fingerprint:\"{}\"", f.replace('"', ""))).collect();
    format!("({})", terms.join(" OR "))
}

/// The index field a query name stands for.
pub fn field_for(name: &str) -> String {
    if let Some((_, field)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
        return (*field).to_string();
    }
    if name.starts_with("attr.") {
        return name.to_string();
    }
    format!("attr.{name}")
}

/// Rewrites every `name:` outside quotes to its index field.
pub fn rewrite(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut chars = query.char_indices().peekable();
    let mut in_quotes = false;
    let mut at_token_start = true;
    while let Some((i, c)) = chars.next() {
        if in_quotes {
            out.push(c);
            if c == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        if c == '"' {
            in_quotes = true;
            at_token_start = false;
            out.push(c);
            continue;
        }
        if at_token_start && is_name_char(c) {
            let end = name_end(query, i);
            let name = &query[i..end];
            if query[end..].starts_with(':') && !name.is_empty() {
                out.push_str(&field_for(name));
            } else {
                out.push_str(name);
            }
            // Skip the characters of the name already copied.
            while chars.peek().is_some_and(|(j, _)| *j < end) {
                chars.next();
            }
            at_token_start = false;
            continue;
        }
        at_token_start = c.is_whitespace() || matches!(c, '(' | '+' | '-' | ':' | '[' | '{');
        if c == '\\' {
            out.push(c);
            if let Some((_, escaped)) = chars.next() {
                out.push(escaped);
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '/')
}

fn name_end(query: &str, start: usize) -> usize {
    query[start..]
        .char_indices()
        .find(|(_, c)| !is_name_char(*c) && *c != '-')
        .map_or(query.len(), |(off, _)| start + off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_group_terms_outside_quotes() {
        assert_eq!(next_group_term("group:42 AND release:1"), Some(("", 42, " AND release:1")));
        assert_eq!(next_group_term("a (issue:7)"), Some(("a (", 7, ")")));
        assert_eq!(next_group_term("-group:3"), Some(("-", 3, "")));
        assert_eq!(next_group_term("\"group:42\" x"), None);
        assert_eq!(next_group_term("subgroup:42"), None);
        assert_eq!(next_group_term("group:abc"), None);
        assert_eq!(
            any_fingerprint(&["a1".into(), "b2".into()]),
            "(fingerprint:\"a1\" OR fingerprint:\"b2\")"
        );
    }

    #[test]
    fn finds_group_terms_after_non_ascii_text() {
        // Found while writing the fuzz harness: every byte was taken as a
        // possible term start, and slicing inside `é` panicked.
        assert_eq!(next_group_term("café"), None);
        assert_eq!(next_group_term("café group:3 ü"), Some(("café ", 3, " ü")));
        assert_eq!(next_group_term("日本 issue:9"), Some(("日本 ", 9, "")));
    }

    #[test]
    fn maps_aliases_and_attributes() {
        assert_eq!(rewrite("service.name:checkout"), "service:checkout");
        assert_eq!(rewrite("user.id:42 AND env:prod"), "attr.user.id:42 AND environment:prod");
        assert_eq!(rewrite("-exception.type:KeyError"), "-type:KeyError");
        assert_eq!(rewrite("(http.status_code:500 OR status:503)"), "(status:500 OR status:503)");
        assert_eq!(rewrite("http.response.status_code:[500 TO 599]"), "status:[500 TO 599]");
    }

    #[test]
    fn leaves_free_text_and_quotes_alone() {
        assert_eq!(rewrite("timeout connecting"), "timeout connecting");
        assert_eq!(rewrite("\"user.id:42 here\" foo"), "\"user.id:42 here\" foo");
        assert_eq!(rewrite("message:\"a:b\""), "message:\"a:b\"");
        assert_eq!(rewrite(""), "");
    }

    #[test]
    fn keeps_dashes_inside_values_and_names() {
        assert_eq!(rewrite("service:order-api"), "service:order-api");
        assert_eq!(rewrite("k8s.pod-name:x"), "attr.k8s.pod-name:x");
    }
}
