//! `/alerts/rules`: the rules in force, and the form that creates, edits
//! and deletes those made here or through the API (the config file's are
//! read-only, as in the API).

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;

use crate::ui::CheckedForm;
use axum::response::Response;
use faultline_alert::engine::{Rule, RuleKind};

use super::form::{self, FieldDef, FormError, Input, RuleForm};
use super::{redirect, severity_name, Notice, Tabs};
use crate::alerting::admin::AdminError;
use crate::http::Api;
use crate::ui::format::{self, url_encode};
use crate::ui::{message, render, Chrome, CsrfToken, Section};

pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub condition: String,
    pub severity: String,
    pub channels: Vec<String>,
    pub source: &'static str,
    pub firing: usize,
    pub toml: String,
    pub edit_url: String,
    pub delete_url: String,
}

#[derive(Template)]
#[template(path = "alerts_rules.html")]
struct RulesPage {
    chrome: Chrome,
    tabs: Tabs,
    notice: Notice,
    rows: Vec<RuleRow>,
}

pub async fn list(State(api): State<Api>, Query(notice): Query<Notice>, token: CsrfToken) -> Response {
    let (active, _) = api.alerting.alerts();
    let rows = api
        .alerting
        .rules()
        .iter()
        .map(|r| {
            let seg = url_encode(r.id());
            RuleRow {
                id: r.id().to_string(),
                name: r.common().name.clone().unwrap_or_default(),
                kind: r.kind().as_str(),
                condition: condition(r),
                severity: severity(r),
                channels: r.channels().to_vec(),
                source: api.alerting.admin.rule_source(r.id()),
                firing: active.iter().filter(|a| a.rule_id == r.id()).count(),
                toml: toml::to_string(r).unwrap_or_default(),
                edit_url: format!("/alerts/rules/{seg}/edit"),
                delete_url: format!("/alerts/rules/{seg}/delete"),
            }
        })
        .collect();
    let page = RulesPage {
        chrome: Chrome::new("Alert rules", Section::Alerts, &token),
        tabs: Tabs::new(&api, "rules"),
        notice: notice.trimmed(),
        rows,
    };
    render(StatusCode::OK, &page, &token)
}

/// The severity column: one level, or levels set by thresholds.
fn severity(r: &Rule) -> String {
    match r.kind() {
        RuleKind::ErrorRate | RuleKind::Latency | RuleKind::CertExpiry => "by level".into(),
        _ => severity_name(r.single_severity()).into(),
    }
}

/// What a rule fires on, in one line.
pub fn condition(r: &Rule) -> String {
    let filter = issue_filter(r);
    let endpoints = endpoint_text(r);
    let text = match r {
        Rule::NewGroup(_) => format!("A new issue{filter}"),
        Rule::Regression(_) => format!("A resolved issue happens again{filter}"),
        Rule::GroupFrequency(f) => match (f.count, f.distinct_users) {
            (_, Some(users)) => format!("An issue hits more than {users} users in {}{filter}", window(r)),
            (count, None) => {
                format!("An issue is seen more than {} times in {}{filter}", count.unwrap_or(0), window(r))
            }
        },
        Rule::ErrorRate(_) => {
            let t = r.thresholds();
            let levels = levels(t.warning.map(format::percent), t.critical.map(format::percent));
            format!("Error rate of {endpoints} over {} above {levels}", window(r))
        }
        Rule::Latency(_) => {
            let t = r.thresholds();
            let levels = levels(t.warning.map(format::millis), t.critical.map(format::millis));
            format!("{} latency of {endpoints} over {} above {levels}", r.percentile().as_str(), window(r))
        }
        Rule::CheckDown(_) => {
            format!("Check {} fails {} runs in a row", r.check_pattern().unwrap_or("*"), r.consecutive())
        }
        Rule::CertExpiry(_) => format!(
            "Certificate of check {} expires within {} days (critical within {})",
            r.check_pattern().unwrap_or("*"),
            r.cert_days(),
            r.cert_critical_days()
        ),
        Rule::Anomaly(_) => format!(
            "{} of {endpoints} far from its baseline (sensitivity {})",
            r.metric().as_str(),
            r.sensitivity()
        ),
    };
    match r.for_duration().filter(|d| !d.is_zero()) {
        Some(d) => format!("{text}, for {}", humantime::format_duration(d)),
        None => text,
    }
}

fn window(r: &Rule) -> String {
    humantime::format_duration(r.window()).to_string()
}

fn levels(warning: Option<String>, critical: Option<String>) -> String {
    match (warning, critical) {
        (Some(w), Some(c)) => format!("{w} (warning) / {c} (critical)"),
        (Some(w), None) => format!("{w} (warning)"),
        (None, Some(c)) => format!("{c} (critical)"),
        (None, None) => "–".into(),
    }
}

fn issue_filter(r: &Rule) -> String {
    let Some(f) = r.filter() else { return String::new() };
    let parts: Vec<String> = [
        ("service", &f.service),
        ("environment", &f.environment),
        ("exception_type", &f.exception_type),
        ("level", &f.level),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" where {}", parts.join(", "))
    }
}

fn endpoint_text(r: &Rule) -> String {
    let Some(e) = r.endpoints() else { return String::new() };
    let service = e.service.as_deref().map_or("every service".to_string(), |s| format!("service {s}"));
    let route = e.route.as_deref().map(|rt| format!(" route {rt}")).unwrap_or_default();
    let env = e.environment.as_deref().map(|v| format!(" in {v}")).unwrap_or_default();
    format!("{service}{route}{env}")
}

/// One field as the form draws it.
pub struct FieldView {
    pub name: &'static str,
    pub dom_id: String,
    pub label: &'static str,
    pub help: &'static str,
    pub placeholder: &'static str,
    pub value: String,
    /// Empty: a text box; else a select with these values ("" = default).
    pub choices: Vec<&'static str>,
    pub numeric: bool,
    pub invalid: bool,
}

pub struct ChannelChoice {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "alerts_rule_form.html")]
struct RuleFormPage {
    chrome: Chrome,
    tabs: Tabs,
    /// Always empty; the tabs include shows it.
    notice: Notice,
    editing: bool,
    /// Where the form posts, and where the kind selector goes.
    action: String,
    form: RuleForm,
    kind: &'static str,
    kinds: Vec<(&'static str, &'static str)>,
    fields: Vec<FieldView>,
    channels: Vec<ChannelChoice>,
    error: Option<FormError>,
}

impl RuleFormPage {
    fn invalid(&self, name: &str) -> bool {
        self.error.as_ref().and_then(|e| e.field.as_deref()) == Some(name)
    }
}

fn form_page(
    api: &Api,
    form: RuleForm,
    editing: bool,
    error: Option<FormError>,
    token: &CsrfToken,
) -> RuleFormPage {
    let bad = error.as_ref().and_then(|e| e.field.clone());
    let fields = form::fields_for(form.kind).map(|f| field_view(f, &form, bad.as_deref())).collect();
    let mut channels: Vec<ChannelChoice> = api
        .alerting
        .channels()
        .into_iter()
        .map(|c| ChannelChoice {
            checked: form.channels.contains(&c.id),
            kind: c.config.kind(),
            id: c.id,
            name: c.name,
        })
        .collect();
    // A name posted that no channel has stays visible (and ticked), so
    // the refusal that names it can be fixed by unticking it.
    for id in &form.channels {
        if !channels.iter().any(|c| &c.id == id) {
            channels.push(ChannelChoice {
                id: id.clone(),
                name: id.clone(),
                kind: "not configured",
                checked: true,
            });
        }
    }
    let action = if editing {
        format!("/alerts/rules/{}/edit", url_encode(&form.id))
    } else {
        "/alerts/rules/new".to_string()
    };
    let title = if editing { format!("Edit rule {}", form.id) } else { "New alert rule".to_string() };
    RuleFormPage {
        chrome: Chrome::new(title, Section::Alerts, token),
        tabs: Tabs::new(api, "rules"),
        notice: Notice::default(),
        editing,
        action,
        kind: form.kind.as_str(),
        kinds: form::KINDS.iter().map(|k| (k.as_str(), form::kind_label(*k))).collect(),
        fields,
        channels,
        form,
        error,
    }
}

fn field_view(f: &'static FieldDef, form: &RuleForm, bad: Option<&str>) -> FieldView {
    FieldView {
        name: f.name,
        dom_id: format!("f-{}", f.name.replace('.', "-")),
        label: f.label,
        help: f.help,
        placeholder: f.placeholder,
        value: form.value(f.name).to_string(),
        choices: match f.input {
            Input::Choice(c) => c.to_vec(),
            _ => Vec::new(),
        },
        numeric: matches!(f.input, Input::Whole | Input::Number | Input::Fraction),
        invalid: bad == Some(f.name),
    }
}

/// The kind picked in the query string (`?kind=latency`).
fn query_kind(query: Option<&str>) -> Option<RuleKind> {
    let query = query.unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "kind")
        .and_then(|(_, v)| form::parse_kind(&v))
}

/// `GET /alerts/rules/new?kind=…`: an empty form of that kind.
pub async fn new_form(State(api): State<Api>, RawQuery(query): RawQuery, token: CsrfToken) -> Response {
    let kind = query_kind(query.as_deref()).unwrap_or(RuleKind::NewGroup);
    render(StatusCode::OK, &form_page(&api, RuleForm::blank(kind), false, None, &token), &token)
}

/// `GET /alerts/rules/{id}/edit?kind=…`: the rule's values; another kind
/// keeps the values both kinds share.
pub async fn edit_form(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    token: CsrfToken,
) -> Response {
    let rule = match editable(&api, &id, &token) {
        Ok(rule) => rule,
        Err(page) => return *page,
    };
    let mut form = RuleForm::from_rule(&rule);
    if let Some(kind) = query_kind(query.as_deref()) {
        form.kind = kind;
    }
    render(StatusCode::OK, &form_page(&api, form, true, None, &token), &token)
}

/// The rule `id` when this page may change it, else the page saying why not.
fn editable(api: &Api, id: &str, token: &CsrfToken) -> Result<Rule, Box<Response>> {
    let Some(rule) = api.alerting.rules().into_iter().find(|r| r.id() == id) else {
        let text = format!("There is no alert rule {id:?}.");
        return Err(Box::new(message(StatusCode::NOT_FOUND, Section::Alerts, "Not found", &text, token)));
    };
    if api.alerting.admin.rule_source(id) == "config" {
        let text = format!("Rule {id:?} is defined in the config file; change it there.");
        return Err(Box::new(message(StatusCode::CONFLICT, Section::Alerts, "Read-only rule", &text, token)));
    }
    Ok(rule)
}

/// `POST /alerts/rules/new`.
pub async fn create(State(api): State<Api>, token: CsrfToken, CheckedForm(pairs): CheckedForm) -> Response {
    let form = RuleForm::from_pairs(pairs.into_iter(), RuleKind::NewGroup);
    save(&api, form, false, &token).await
}

/// `POST /alerts/rules/{id}/edit`: the id is the path's; it cannot change
/// (alert state hangs off it).
pub async fn update(
    State(api): State<Api>,
    Path(id): Path<String>,
    token: CsrfToken,
    CheckedForm(pairs): CheckedForm,
) -> Response {
    if let Err(page) = editable(&api, &id, &token) {
        return *page;
    }
    let mut form = RuleForm::from_pairs(pairs.into_iter(), RuleKind::NewGroup);
    form.id = id;
    save(&api, form, true, &token).await
}

/// Validates and saves the form; on a refusal the same form again, values
/// kept and the reason beside the field.
async fn save(api: &Api, form: RuleForm, editing: bool, token: &CsrfToken) -> Response {
    let rule = match form::to_rule(&form) {
        Ok(rule) => rule,
        Err(e) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(api, form, editing, Some(e), token),
                token,
            )
        }
    };
    let id = rule.id().to_string();
    let saved =
        if editing { api.alerting.replace_rule(rule).await } else { api.alerting.create_rule(rule).await };
    match saved {
        Ok(()) => {
            let verb = if editing { "saved" } else { "created" };
            redirect("/alerts/rules", "done", &format!("Rule {id} {verb}"))
        }
        Err(e) => {
            let status = match e {
                AdminError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let error = admin_error(&e);
            render(status, &form_page(api, form, editing, Some(error), token), token)
        }
    }
}

/// A refusal of the whole rule set as a form error.
fn admin_error(e: &AdminError) -> FormError {
    let text = e.to_string();
    let field = match e {
        AdminError::Exists(..) | AdminError::FromConfig(..) => Some("id"),
        AdminError::Invalid(m) if m.contains("names channel") => Some("channels"),
        AdminError::Invalid(m) if m.contains("used by two rules") => Some("id"),
        _ => None,
    };
    FormError::new(field, text)
}

/// `POST /alerts/rules/{id}/delete`.
pub async fn delete(State(api): State<Api>, Path(id): Path<String>, _checked: CheckedForm) -> Response {
    match api.alerting.delete_rule(id.clone()).await {
        Ok(()) => redirect("/alerts/rules", "done", &format!("Rule {id} deleted")),
        Err(e) => redirect("/alerts/rules", "failed", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        toml::from_str(text).expect("rule")
    }

    #[test]
    fn conditions_read_as_a_sentence() {
        let r = rule("id = \"n\"\nkind = \"new_group\"\nfilter = { service = \"checkout\", exception_type = \"*Error\" }");
        assert_eq!(condition(&r), "A new issue where service=checkout, exception_type=*Error");
        let r = rule("id = \"e\"\nkind = \"error_rate\"\nservice = \"checkout\"\nroute = \"/pay\"\nwarning = 0.02\ncritical = 0.05\nfor = \"2m\"");
        assert_eq!(
            condition(&r),
            "Error rate of service checkout route /pay over 5m above 2.0% (warning) / 5.0% (critical), for 2m"
        );
        let r = rule("id = \"l\"\nkind = \"latency\"\nthreshold_ms = { critical = 800 }");
        assert_eq!(condition(&r), "p95 latency of every service over 5m above 800 ms (critical)");
        let r = rule("id = \"f\"\nkind = \"group_frequency\"\ncount = 100\nwindow = \"10m\"");
        assert_eq!(condition(&r), "An issue is seen more than 100 times in 10m");
        assert_eq!(severity(&r), "warning");
        let r = rule("id = \"c\"\nkind = \"check_down\"");
        assert_eq!(condition(&r), "Check * fails 3 runs in a row");
        assert_eq!(severity(&r), "critical");
    }

    #[test]
    fn the_kind_comes_from_the_query() {
        assert_eq!(query_kind(Some("kind=latency")), Some(RuleKind::Latency));
        assert_eq!(query_kind(Some("kind=%3Cscript%3E")), None);
        assert_eq!(query_kind(None), None);
    }

    #[test]
    fn refusals_of_the_rule_set_name_a_field() {
        let e = admin_error(&AdminError::Exists("rule", "x".into()));
        assert_eq!(e.field.as_deref(), Some("id"));
        let e = admin_error(&AdminError::Invalid(
            "alert rule \"x\" names channel \"nope\", which is not configured".into(),
        ));
        assert_eq!(e.field.as_deref(), Some("channels"));
        assert!(e.message.contains("nope"));
    }
}
