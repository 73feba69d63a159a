//! `/`: the issues stream. Groups matching the filters (service,
//! environment, release, status, period and a search query), one page at a
//! time, each row with its events in the period and a sparkline, and bulk
//! resolve / ignore / unresolve on the ticked rows.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_model::{now_nanos, Group, GroupStatus};
use faultline_store::{GroupActivity, GroupFilter, GroupSort};
use serde::Deserialize;

use super::format::{self, query_string};
use super::period::{Period, CHOICES};
use super::{blocking, charts, failed, message, redirect, render, CheckedForm, Chrome, CsrfToken, Section};
use crate::http::common::MAX_GROUPS_FOR_QUERY;
use crate::http::Api;

/// Rows per page: the stream never loads more groups than it shows.
const PAGE: usize = 25;
/// Bars in a row's sparkline.
const SPARK_BUCKETS: i64 = 24;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    release: String,
    status: Option<String>,
    period: Option<String>,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    done: String,
    /// A tag shown as an extra column (`release`, `user`, any attribute).
    #[serde(default)]
    column: String,
}

/// The filters as the page shows them and links keep them.
#[derive(Debug, Clone)]
pub struct Filters {
    pub q: String,
    pub service: String,
    pub environment: String,
    pub release: String,
    /// `unresolved` (the default), `resolved`, `ignored` or `all`.
    pub status: String,
    pub period: Period,
    /// `last_seen` (default), `first_seen`, `count`, `new`.
    pub sort: String,
    /// The tag shown as an extra column, empty for none.
    pub column: String,
}

impl Filters {
    fn from_params(p: &Params) -> Filters {
        let status = match p.status.as_deref() {
            None => "unresolved".to_string(),
            Some(s) if s == "all" || GroupStatus::parse(s).is_some() => s.to_string(),
            Some(_) => "unresolved".to_string(),
        };
        let sort = match p.sort.as_str() {
            "first_seen" | "count" | "new" => p.sort.clone(),
            _ => "last_seen".to_string(),
        };
        Filters {
            q: p.q.trim().to_string(),
            service: p.service.trim().to_string(),
            environment: p.environment.trim().to_string(),
            release: p.release.trim().to_string(),
            status,
            period: Period::parse(p.period.as_deref()),
            sort,
            column: tag_name(&p.column),
        }
    }

    /// This view's URL with one parameter changed (`""` keeps all).
    pub fn url_with(&self, name: &str, value: &str) -> String {
        let mut pairs = vec![
            ("q", self.q.as_str()),
            ("service", self.service.as_str()),
            ("environment", self.environment.as_str()),
            ("release", self.release.as_str()),
            ("status", if self.status == "unresolved" { "" } else { self.status.as_str() }),
            ("period", if self.period.key == "24h" { "" } else { self.period.key }),
            ("sort", if self.sort == "last_seen" { "" } else { self.sort.as_str() }),
            ("column", self.column.as_str()),
        ];
        if let Some(pair) = pairs.iter_mut().find(|(k, _)| *k == name) {
            pair.1 = value;
        } else if !name.is_empty() {
            pairs.push((name, value));
        }
        format!("/{}", query_string(&pairs))
    }

    pub fn url(&self) -> String {
        self.url_with("", "")
    }

    /// The search query the filters amount to, if any narrows by events.
    fn event_query(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.release.is_empty() {
            parts.push(format!("release:\"{}\"", self.release.replace('"', "\\\"")));
        }
        if !self.q.is_empty() {
            parts.push(format!("({})", self.q));
        }
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// One row of the stream.
pub struct Row {
    pub group: Group,
    pub events_in_period: u64,
    pub events_label: String,
    /// Distinct users among the period's events.
    pub users: u64,
    pub total_label: String,
    pub sparkline: String,
    pub last_seen: String,
    pub last_seen_exact: String,
    pub first_seen: String,
    pub first_seen_exact: String,
    pub is_new: bool,
    /// The extra column's most frequent value and its share of the
    /// period's (matching) events, when a column is picked.
    pub column_value: Option<(String, String)>,
    /// The level and source of most of the period's events (`error`,
    /// `span_exception`), when it had any.
    pub level: Option<String>,
    pub source: Option<String>,
}

#[derive(Template)]
#[template(path = "stream.html")]
struct StreamPage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<Row>,
    next_url: Option<String>,
    first_page_url: Option<String>,
    services: Vec<String>,
    periods: &'static [(&'static str, &'static str, i64)],
    column_tags: &'static [&'static str],
    /// Field names the query box suggests.
    fields: &'static [(&'static str, &'static str)],
    error: Option<String>,
    done: String,
    back: String,
    /// Whether counts are of events matching a query or release, not all.
    matching: bool,
}

impl StreamPage {
    fn sort_link(&self, key: &str) -> String {
        self.filters.url_with("sort", key)
    }
}

pub async fn page(State(api): State<Api>, Query(params): Query<Params>, token: CsrfToken) -> Response {
    let filters = Filters::from_params(&params);
    let cursor = parse_cursor(&params.cursor);
    let now = now_nanos();
    let storage = api.storage.clone();
    let f = filters.clone();
    let found = blocking(move || {
        let (from, to) = f.period.range(now, SPARK_BUCKETS);
        let query = f.event_query();
        if let Some(q) = &query {
            storage.validate_query(q)?;
        }
        let (_, counts) = storage.group_event_counts(from, to, MAX_GROUPS_FOR_QUERY)?;
        let mut ids: HashSet<u64> = counts.keys().copied().collect();
        if let Some(q) = &query {
            let matching = storage.groups_matching(q, MAX_GROUPS_FOR_QUERY)?;
            ids.retain(|id| matching.contains(id));
        }
        let filter = GroupFilter {
            service: Some(f.service.clone()).filter(|s| !s.is_empty()),
            environment: Some(f.environment.clone()).filter(|s| !s.is_empty()),
            status: GroupStatus::parse(&f.status),
            ids: Some(ids),
            sort: match f.sort.as_str() {
                "first_seen" | "new" => GroupSort::FirstSeen,
                "count" => GroupSort::Count,
                _ => GroupSort::LastSeen,
            },
            limit: PAGE,
            cursor,
        };
        let (mut groups, mut next) = storage.groups(&filter)?;
        if f.sort == "new" {
            let before = groups.len();
            groups.retain(|g| g.first_seen >= from);
            if groups.len() < before {
                next = None;
            }
        }
        let ids: Vec<u64> = groups.iter().map(|g| g.id).collect();
        let activity = storage.group_activity(
            &ids,
            query.as_deref().unwrap_or(""),
            from,
            to,
            f.period.step(SPARK_BUCKETS),
            &row_tags(&f.column),
        )?;
        let services = known_services(&storage, now)?;
        Ok((groups, next, activity, services))
    })
    .await;
    let (groups, next, counts, services, error) = match found {
        Ok((g, n, c, s)) => (g, n, c, s, None),
        Err(e) => match e.invalid_query() {
            Some(message) => (Vec::new(), None, BTreeMap::new(), Vec::new(), Some(message)),
            None => return failed(&e, &token),
        },
    };
    let (from, _) = filters.period.range(now, SPARK_BUCKETS);
    let rows = groups.into_iter().map(|g| row(g, &counts, &filters.column, from, now)).collect();
    let matching = filters.event_query().is_some();
    let next_url = next.map(|(key, id)| filters.url_with("cursor", &format!("{key}_{id}")));
    let page = StreamPage {
        chrome: Chrome::new("Issues", Section::Issues, &token),
        first_page_url: cursor.map(|_| filters.url()),
        back: match &params.cursor {
            c if c.is_empty() => filters.url(),
            c => filters.url_with("cursor", c),
        },
        filters,
        rows,
        matching,
        next_url,
        services,
        periods: CHOICES,
        column_tags: COLUMN_TAGS,
        fields: super::search::FIELDS,
        error,
        done: params.done.chars().take(200).collect(),
    };
    render(StatusCode::OK, &page, &token)
}

/// Tags every row shows (the level and source of most of its events),
/// then the column the user picked.
fn row_tags(column: &str) -> Vec<&str> {
    let mut tags = vec!["level", "source"];
    if !column.is_empty() && !tags.contains(&column) {
        tags.push(column);
    }
    tags
}

fn row(
    group: Group,
    activity: &BTreeMap<u64, GroupActivity>,
    column: &str,
    period_start: i64,
    now: i64,
) -> Row {
    let none = GroupActivity { histogram: vec![0; SPARK_BUCKETS as usize], ..GroupActivity::default() };
    let a = activity.get(&group.id).unwrap_or(&none);
    let events_in_period = a.count;
    let column_value = a.top_values.get(column).map(|(value, n)| {
        let share = *n as f64 / events_in_period.max(1) as f64;
        (value.clone(), format::percent(share))
    });
    let top = |tag: &str| a.top_values.get(tag).map(|(value, _)| value.clone());
    Row {
        column_value,
        level: top("level"),
        source: top("source"),
        events_in_period,
        events_label: format::count(events_in_period),
        total_label: format::count(group.count),
        users: a.users,
        sparkline: charts::sparkline(&a.histogram),
        last_seen: format::relative(group.last_seen, now),
        last_seen_exact: format::exact(group.last_seen),
        first_seen: format::relative(group.first_seen, now),
        first_seen_exact: format::exact(group.first_seen),
        is_new: group.first_seen >= period_start,
        group,
    }
}

/// A tag name as the index takes it (letters, digits, `.`, `_`, `-`), so
/// a mistyped column is dropped rather than failing the page.
fn tag_name(text: &str) -> String {
    let name = text.trim();
    let valid =
        name.len() <= 100 && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        name.to_string()
    } else {
        String::new()
    }
}

/// Tags offered for the extra column.
pub const COLUMN_TAGS: &[&str] =
    &["release", "environment", "host", "route", "method", "status", "sdk", "user"];

/// Services with health figures or issues, for the service filter.
fn known_services(
    storage: &faultline_store::Storage,
    now: i64,
) -> Result<Vec<String>, faultline_store::Error> {
    let day = 24 * 3_600 * 1_000_000_000i64;
    let health = storage.health(now - 30 * day, now + 60_000_000_000, &Default::default())?;
    let mut names: Vec<String> = health.keys().map(|k| k.service.clone()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn parse_cursor(text: &str) -> Option<(i128, u64)> {
    let (key, id) = text.rsplit_once('_')?;
    Some((key.parse().ok()?, id.parse().ok()?))
}

/// `POST /issues/bulk`: resolve, ignore or unresolve the ticked groups,
/// then back to the same view.
pub async fn bulk(State(api): State<Api>, token: CsrfToken, form: CheckedForm) -> Response {
    let ids: Vec<u64> =
        form.0.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()).collect();
    let action = form.first("action");
    let back = Some(form.first("back")).filter(|b| !b.is_empty()).unwrap_or_else(|| "/".to_string());
    let Some(status) = GroupStatus::parse(&action) else {
        return message(StatusCode::BAD_REQUEST, Section::Issues, "Unknown action", &action, &token);
    };
    let mut changed = 0u64;
    for id in &ids {
        match api.storage.set_group_status(*id, status, now_nanos()) {
            Ok(answer) => {
                if let Ok(Ok(group)) = answer.await {
                    api.alerting.on_group_status(group.id, group.status);
                    changed += 1;
                }
            }
            Err(e) => return failed(&e, &token),
        }
    }
    let done = format!("{} marked {}", format::plural(changed, "issue", "issues"), status.as_str());
    redirect(&local_path(&back), "done", &done)
}

/// A redirect target from a form, kept on this site.
pub fn local_path(back: &str) -> String {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        back.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_urls() {
        let p = Params {
            q: "type:KeyError".into(),
            service: "web".into(),
            status: Some("all".into()),
            period: Some("7d".into()),
            sort: "new".into(),
            ..Params::default()
        };
        let f = Filters::from_params(&p);
        assert_eq!(f.url(), "/?q=type%3AKeyError&service=web&status=all&period=7d&sort=new");
        assert_eq!(
            f.url_with("sort", "count"),
            "/?q=type%3AKeyError&service=web&status=all&period=7d&sort=count"
        );
        assert_eq!(f.event_query().as_deref(), Some("(type:KeyError)"));
    }

    #[test]
    fn defaults_are_left_out_of_urls() {
        let f = Filters::from_params(&Params::default());
        assert_eq!(f.url(), "/");
        assert_eq!(f.status, "unresolved");
        assert!(f.event_query().is_none());
    }

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(local_path("/?q=a"), "/?q=a");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(super::super::redirect_url("/?q=a", "done", "2 issues"), "/?q=a&done=2%20issues");
    }
}
