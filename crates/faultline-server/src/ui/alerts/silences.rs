//! `/alerts/silences`: silences in force, a form to add one (label
//! matchers, a duration, a comment) and a button to expire one now.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use crate::ui::CheckedForm;
use axum::response::Response;
use faultline_alert::engine::Silence;
use faultline_model::now_nanos;

use super::{first, pairs, parse_duration, redirect, short_time, Notice, Tabs};
use crate::http::Api;
use crate::ui::format::{self, url_encode};
use crate::ui::{render, Chrome, CsrfToken, Section};

/// The labels alerts carry, for the matcher selects.
pub const LABELS: &[&str] =
    &["rule", "severity", "service", "environment", "route", "group_id", "exception_type", "level", "check"];
/// Empty matcher rows the form offers beyond the filled ones.
const SPARE_ROWS: usize = 2;
/// Longest silence the form accepts; longer is a rule to delete.
const MAX_DAYS: i64 = 365;

pub struct SilenceRow {
    pub id: String,
    pub matchers: Vec<String>,
    pub started: String,
    pub ends: String,
    pub ends_exact: String,
    pub comment: String,
    pub created_by: String,
    pub expire_url: String,
    pub active: bool,
}

/// What the form holds: kept as typed when it is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceForm {
    pub matchers: Vec<(String, String)>,
    pub duration: String,
    pub comment: String,
}

impl SilenceForm {
    /// Reads `label`/`value` pairs in order (the n-th value belongs to the
    /// n-th label), `duration` and `comment`.
    fn from_pairs(pairs: &[(String, String)]) -> SilenceForm {
        let labels = pairs.iter().filter(|(k, _)| k == "label").map(|(_, v)| v.trim().to_string());
        let values = pairs.iter().filter(|(k, _)| k == "value").map(|(_, v)| v.trim().to_string());
        SilenceForm {
            matchers: labels.zip(values).filter(|(l, v)| !(l.is_empty() && v.is_empty())).collect(),
            duration: first(pairs, "duration"),
            comment: first(pairs, "comment"),
        }
    }

    /// The rows the form draws: the filled ones and a few spare.
    fn rows(&self) -> Vec<(String, String)> {
        let mut rows = self.matchers.clone();
        let extra = if rows.is_empty() { SPARE_ROWS + 1 } else { SPARE_ROWS };
        rows.extend(std::iter::repeat_n((String::new(), String::new()), extra));
        rows
    }

    /// The silence this form asks for, starting `now`.
    fn to_silence(&self, now: i64) -> Result<Silence, String> {
        let mut matchers = BTreeMap::new();
        for (label, value) in &self.matchers {
            if value.is_empty() {
                return Err(format!("give a value (a glob such as checkout or api-*) for the label {label}"));
            }
            if !LABELS.contains(&label.as_str()) {
                return Err(format!("pick a label for the value {value:?}"));
            }
            if matchers.insert(label.clone(), value.clone()).is_some() {
                return Err(format!("the label {label} is given twice; one pattern per label"));
            }
        }
        if matchers.is_empty() {
            return Err(
                "give at least one matcher, e.g. service = checkout (rule = * mutes everything)".into()
            );
        }
        let length = parse_duration(&self.duration)?;
        if length > MAX_DAYS * 86_400 * 1_000_000_000 {
            return Err(format!(
                "a silence lasts at most {MAX_DAYS} days; delete or change the rule instead"
            ));
        }
        Ok(Silence {
            id: format!("s-{now:x}"),
            matchers,
            starts_at: now,
            ends_at: now.saturating_add(length),
            comment: self.comment.trim().to_string(),
            created_by: "explorer".into(),
        })
    }
}

#[derive(Template)]
#[template(path = "alerts_silences.html")]
struct SilencesPage {
    chrome: Chrome,
    tabs: Tabs,
    notice: Notice,
    rows: Vec<SilenceRow>,
    form_rows: Vec<(String, String)>,
    form: SilenceForm,
    labels: &'static [&'static str],
    error: Option<String>,
}

fn build(
    api: &Api,
    form: SilenceForm,
    error: Option<String>,
    notice: Notice,
    token: &CsrfToken,
) -> SilencesPage {
    let now = now_nanos();
    let mut silences = api.alerting.silences();
    silences.retain(|s| s.ends_at > now);
    silences.sort_by_key(|s| s.ends_at);
    let rows = silences
        .into_iter()
        .map(|s| SilenceRow {
            matchers: s.matchers.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            started: format::relative(s.starts_at, now),
            ends: format::relative(s.ends_at, now),
            ends_exact: format::exact(s.ends_at),
            expire_url: format!("/alerts/silences/{}/expire", url_encode(&s.id)),
            active: s.starts_at <= now,
            comment: s.comment,
            created_by: s.created_by,
            id: s.id,
        })
        .collect();
    SilencesPage {
        chrome: Chrome::new("Silences", Section::Alerts, token),
        tabs: Tabs::new(api, "silences"),
        notice,
        rows,
        form_rows: form.rows(),
        form,
        labels: LABELS,
        error,
    }
}

/// `GET /alerts/silences`, optionally prefilled: `?label=rule&value=x&…`
/// (the firing page links a silence for one alert this way).
pub async fn page(State(api): State<Api>, RawQuery(query): RawQuery, token: CsrfToken) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    let notice = Notice { done: first(&pairs, "done"), failed: first(&pairs, "failed") }.trimmed();
    let mut form = SilenceForm::from_pairs(&pairs);
    if form.duration.is_empty() {
        form.duration = "2h".into();
    }
    render(StatusCode::OK, &build(&api, form, None, notice, &token), &token)
}

/// `POST /alerts/silences`: adds the silence, or shows the form again with
/// what is wrong.
pub async fn create(State(api): State<Api>, token: CsrfToken, CheckedForm(pairs): CheckedForm) -> Response {
    let form = SilenceForm::from_pairs(&pairs);
    let added = form.to_silence(now_nanos()).and_then(|silence| {
        let text = format!("Silence {} added until {}", silence.id, short_time(silence.ends_at));
        api.alerting.add_silence(silence).map(|()| text).map_err(|e| e.to_string())
    });
    match added {
        Ok(text) => redirect("/alerts/silences", "done", &text),
        Err(e) => {
            let page = build(&api, form, Some(e), Notice::default(), &token);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page, &token)
        }
    }
}

/// `POST /alerts/silences/{id}/expire`: ends it now.
pub async fn expire(State(api): State<Api>, Path(id): Path<String>, _checked: CheckedForm) -> Response {
    match api.alerting.remove_silence(&id) {
        Some(_) => redirect("/alerts/silences", "done", &format!("Silence {id} expired")),
        None => redirect("/alerts/silences", "failed", &format!("There is no silence {id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> SilenceForm {
        let owned: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SilenceForm::from_pairs(&owned)
    }

    #[test]
    fn matchers_pair_up_in_order_and_blank_rows_are_skipped() {
        let f = form(&[
            ("label", "service"),
            ("value", "checkout"),
            ("label", ""),
            ("value", ""),
            ("label", "rule"),
            ("value", "new-*"),
            ("duration", "2h"),
            ("comment", "deploy"),
        ]);
        let s = f.to_silence(1_000).expect("valid");
        assert_eq!(s.matchers.len(), 2);
        assert_eq!(s.matchers["rule"], "new-*");
        assert_eq!(s.ends_at, 1_000 + 2 * 3_600 * 1_000_000_000);
        assert_eq!(s.comment, "deploy");
        assert_eq!(f.rows().len(), 2 + SPARE_ROWS);
    }

    #[test]
    fn mistakes_are_explained() {
        let no_matchers = form(&[("duration", "1h")]).to_silence(0).expect_err("no matchers");
        assert!(no_matchers.contains("at least one matcher"), "{no_matchers}");
        let bad_duration = form(&[("label", "service"), ("value", "x"), ("duration", "a while")]);
        assert!(bad_duration.to_silence(0).expect_err("duration").contains("not a duration"));
        let no_value = form(&[("label", "service"), ("value", ""), ("duration", "1h")]);
        assert!(no_value.to_silence(0).expect_err("value").contains("give a value"));
        let twice =
            form(&[("label", "rule"), ("value", "a"), ("label", "rule"), ("value", "b"), ("duration", "1h")]);
        assert!(twice.to_silence(0).expect_err("twice").contains("twice"));
        let no_label = form(&[("label", ""), ("value", "x"), ("duration", "1h")]);
        assert!(no_label.to_silence(0).expect_err("label").contains("pick a label"));
        let forever = form(&[("label", "rule"), ("value", "*"), ("duration", "400d")]);
        assert!(forever.to_silence(0).expect_err("too long").contains("at most"));
    }
}
