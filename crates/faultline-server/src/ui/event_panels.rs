//! The issue page's panels for what an event carries besides its
//! exception, as Sentry shows them: tags, breadcrumbs, request, user,
//! contexts, additional data and the SDK. The data is the API's
//! ([`Details`]), turned into text here; the template escapes all of it
//! (it is what the SDK sent, so anyone able to send events chose it).

use faultline_model::ErrorEvent;
use serde_json::{Map, Value};

use super::format::query_string;
use super::issue::Kv;
use crate::http::details::{Breadcrumb, Details, Request};

/// Breadcrumbs shown at once; older ones are folded above them.
const RECENT_BREADCRUMBS: usize = 10;

/// Contexts shown first, in Sentry's order; the others follow by name.
const CONTEXT_ORDER: [&str; 6] = ["runtime", "os", "browser", "device", "app", "trace"];

pub struct TagChip {
    pub name: String,
    pub value: String,
    /// `/search?q=tags.<name>:"<value>"`, when the name can be searched.
    pub link: Option<String>,
}

pub struct CrumbRow {
    /// `22:42:39.345` (UTC).
    pub time: String,
    pub time_exact: String,
    pub category: String,
    pub level: String,
    pub message: String,
    /// The breadcrumb's data as compact JSON.
    pub data: String,
}

pub struct RequestView {
    pub method: String,
    pub url: String,
    pub query: Vec<Kv>,
    pub headers: Vec<Kv>,
    pub data: String,
}

pub struct ContextCard {
    pub name: String,
    /// `Operating system` for `os`; other names with a capital.
    pub title: String,
    pub fields: Vec<Kv>,
}

#[derive(Default)]
pub struct Panels {
    pub tags: Vec<TagChip>,
    /// Folded: all but the last [`RECENT_BREADCRUMBS`].
    pub older_breadcrumbs: Vec<CrumbRow>,
    pub breadcrumbs: Vec<CrumbRow>,
    pub request: Option<RequestView>,
    pub user: Vec<Kv>,
    pub contexts: Vec<ContextCard>,
    pub extra: Vec<Kv>,
    /// `sentry.python 2.75.0`.
    pub sdk: String,
}

impl Panels {
    pub fn of(e: &ErrorEvent) -> Panels {
        let d = Details::of(e);
        let mut crumbs: Vec<CrumbRow> = d.breadcrumbs.iter().map(crumb_row).collect();
        let recent = crumbs.split_off(crumbs.len().saturating_sub(RECENT_BREADCRUMBS));
        Panels {
            tags: d.tags.iter().map(|(name, value)| chip(name, value)).collect(),
            older_breadcrumbs: crumbs,
            breadcrumbs: recent,
            request: d.request.as_ref().map(request_view),
            user: d
                .user
                .map(|u| {
                    let known = [
                        ("id", u.id),
                        ("email", u.email),
                        ("username", u.username),
                        ("ip_address", u.ip_address),
                    ];
                    let known = known.into_iter().filter_map(|(k, v)| Some(kv(k, v?)));
                    known.chain(fields(&u.others)).collect()
                })
                .unwrap_or_default(),
            contexts: contexts(d.contexts),
            extra: fields(&d.extra),
            sdk: d
                .sdk
                .map(|s| [Some(s.name), s.version].into_iter().flatten().collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    }
}

fn kv(key: &str, value: String) -> Kv {
    Kv { key: key.to_string(), value }
}

/// Text as it is; anything else as compact JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fields(map: &Map<String, Value>) -> Vec<Kv> {
    map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| kv(k, shown(v))).collect()
}

fn chip(name: &str, value: &str) -> TagChip {
    // The query language reads `tags.<name>` as an attribute path only
    // for plain names; others are shown but not linked.
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    let link = plain.then(|| {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        format!("/search{}", query_string(&[("q", &format!("tags.{name}:\"{quoted}\""))]))
    });
    TagChip { name: name.to_string(), value: value.to_string(), link }
}

fn crumb_row(b: &Breadcrumb) -> CrumbRow {
    let exact = b.timestamp.clone().unwrap_or_default();
    // `2026-12-05T22:42:39.345312Z` → `22:42:39.345`.
    let time = match exact.split_once('T') {
        Some((_, clock)) => clock.trim_end_matches('Z').chars().take(12).collect(),
        None => exact.clone(),
    };
    let category = [b.category.as_deref(), b.kind.as_deref().filter(|k| *k != "default")]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_default()
        .to_string();
    CrumbRow {
        time,
        time_exact: exact,
        category,
        level: b.level.clone().unwrap_or_else(|| "info".into()),
        message: b.message.clone().unwrap_or_default(),
        data: b.data.as_ref().map(|d| Value::Object(d.clone()).to_string()).unwrap_or_default(),
    }
}

fn request_view(r: &Request) -> RequestView {
    RequestView {
        method: r.method.clone().unwrap_or_default(),
        url: r.url.clone().unwrap_or_default(),
        query: r.query.iter().map(|(k, v)| kv(k, v.clone())).collect(),
        headers: r.headers.iter().map(|(k, v)| kv(k, v.clone())).collect(),
        data: r.data.as_ref().map(shown).unwrap_or_default(),
    }
}

fn contexts(contexts: std::collections::BTreeMap<String, Map<String, Value>>) -> Vec<ContextCard> {
    let rank = |name: &str| CONTEXT_ORDER.iter().position(|n| *n == name).unwrap_or(CONTEXT_ORDER.len());
    let mut cards: Vec<ContextCard> = contexts
        .into_iter()
        .filter(|(_, fields)| !fields.is_empty())
        .map(|(name, map)| ContextCard {
            // Sentry repeats the name as `type`.
            fields: fields(&map).into_iter().filter(|f| !(f.key == "type" && f.value == name)).collect(),
            title: context_title(&name),
            name,
        })
        .collect();
    cards.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then_with(|| a.name.cmp(&b.name)));
    cards
}

fn context_title(name: &str) -> String {
    match name {
        "os" => "Operating system".into(),
        "app" => "App".into(),
        _ => {
            let mut chars = name.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use faultline_model::EventSource;
    use serde_json::json;

    use super::*;

    #[test]
    fn many_breadcrumbs_fold_the_older_ones_and_chips_link_to_search() {
        let mut e = ErrorEvent::blank("shop", EventSource::Sentry, 0);
        let crumbs: Vec<Value> = (0..12)
            .map(|i| json!({"timestamp": "2026-12-05T22:42:39.345312Z", "message": format!("m{i}")}))
            .collect();
        e.attributes.insert("sentry.breadcrumbs".into(), Value::Array(crumbs));
        e.attributes.insert("tags.tenant".into(), json!("a \"b\""));
        e.attributes.insert("tags.odd name".into(), json!("x"));
        e.attributes.insert(
            "sentry.contexts".into(),
            json!({"trace": {"trace_id": "ab"}, "zeta": {"k": 1}, "runtime": {"name": "CPython", "type": "runtime"}}),
        );
        let p = Panels::of(&e);
        assert_eq!((p.older_breadcrumbs.len(), p.breadcrumbs.len()), (2, 10));
        assert_eq!(p.breadcrumbs[9].message, "m11", "newest last");
        assert_eq!(p.breadcrumbs[0].time, "22:42:39.345");
        let tenant = p.tags.iter().find(|t| t.name == "tenant").unwrap();
        assert_eq!(tenant.link.as_deref(), Some("/search?q=tags.tenant%3A%22a%20%5C%22b%5C%22%22"));
        assert_eq!(p.tags.iter().find(|t| t.name == "odd name").unwrap().link, None);
        let names: Vec<&str> = p.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["runtime", "trace", "zeta"]);
        assert_eq!(p.contexts[0].fields.len(), 1, "the repeated type is left out");
        assert_eq!(
            (p.contexts[0].title.as_str(), context_title("os").as_str()),
            ("Runtime", "Operating system")
        );
        let blank = Panels::of(&ErrorEvent::blank("shop", EventSource::Log, 0));
        assert!(blank.tags.is_empty() && blank.breadcrumbs.is_empty() && blank.request.is_none());
    }
}
