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
    ("fingerprint", "fingerprint"),
    ("seq", "seq"),
    ("timestamp", "timestamp"),
    ("attr", "attr"),
];

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
