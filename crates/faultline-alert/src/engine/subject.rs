//! What an alert is about (an issue, an endpoint, a check): its labels,
//! which silences match on, and its key, its identity within a rule.

use std::collections::BTreeMap;

use super::facts::{Endpoint, Issue};

/// Longest label value kept; the rest is cut so that one absurd service
/// name or exception type cannot bloat persisted state and messages.
const MAX_LABEL_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    /// Identity labels (the key is made of these) plus descriptive ones.
    pub labels: BTreeMap<String, String>,
    pub key: String,
    pub service: Option<String>,
    pub group_id: Option<u64>,
    pub check_id: Option<String>,
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => {
            let mut cut = text[..end].to_string();
            cut.push('…');
            cut
        }
    }
}

/// `name=value` pairs joined by commas, with `\`, `,` and `=` escaped so
/// that two different label sets can never give the same key.
fn key_of(identity: &[(&str, &str)]) -> String {
    let mut key = String::new();
    for (i, (name, value)) in identity.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(name);
        key.push('=');
        for c in value.chars() {
            if matches!(c, '\\' | ',' | '=') {
                key.push('\\');
            }
            key.push(c);
        }
    }
    key
}

/// The key of an issue's alerts.
pub(crate) fn issue_key(group_id: u64) -> String {
    format!("group_id={group_id}")
}

impl Subject {
    pub fn issue(issue: &Issue) -> Subject {
        let mut labels = BTreeMap::new();
        labels.insert("group_id".to_string(), issue.group_id.to_string());
        labels.insert("service".to_string(), clip(&issue.service, MAX_LABEL_CHARS));
        if let Some(environment) = &issue.environment {
            labels.insert("environment".to_string(), clip(environment, MAX_LABEL_CHARS));
        }
        if let Some(exception_type) = &issue.exception_type {
            labels.insert("exception_type".to_string(), clip(exception_type, MAX_LABEL_CHARS));
        }
        labels.insert("level".to_string(), clip(&issue.level, MAX_LABEL_CHARS));
        Subject {
            key: issue_key(issue.group_id),
            service: labels.get("service").cloned(),
            group_id: Some(issue.group_id),
            check_id: None,
            labels,
        }
    }

    pub fn endpoint(endpoint: &Endpoint) -> Subject {
        let service = clip(&endpoint.service, MAX_LABEL_CHARS);
        let environment = endpoint.environment.as_deref().map(|e| clip(e, MAX_LABEL_CHARS));
        let route = endpoint.route.as_deref().map(|r| clip(r, MAX_LABEL_CHARS));
        let mut identity = vec![("service", service.as_str())];
        if let Some(environment) = &environment {
            identity.push(("environment", environment.as_str()));
        }
        if let Some(route) = &route {
            identity.push(("route", route.as_str()));
        }
        let key = key_of(&identity);
        let labels = identity.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Subject { labels, key, service: Some(service), group_id: None, check_id: None }
    }

    pub fn check(check_id: &str) -> Subject {
        let check = clip(check_id, MAX_LABEL_CHARS);
        let key = key_of(&[("check", &check)]);
        let labels = BTreeMap::from([("check".to_string(), check.clone())]);
        Subject { labels, key, service: None, group_id: None, check_id: Some(check) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous() {
        let a = Subject::endpoint(&Endpoint { service: "a,route=b".into(), environment: None, route: None });
        let b =
            Subject::endpoint(&Endpoint { service: "a".into(), environment: None, route: Some("b".into()) });
        assert_ne!(a.key, b.key);
        assert_eq!(b.key, "service=a,route=b");
    }

    #[test]
    fn clip_respects_characters() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hi", 2), "hi");
    }
}
