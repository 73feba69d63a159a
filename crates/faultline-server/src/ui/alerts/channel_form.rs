//! `/alerts/channels/new`: a form that creates a channel, and deleting
//! one. The form's values become the same `{"id", "name", "config"}` the
//! API takes; the channel's own validation (and the running set's, through
//! `Alerting::create_channel`) decides. Channels are not edited here:
//! their secrets are never shown again, so a change is delete and create.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use crate::ui::CheckedForm;
use axum::response::Response;
use faultline_alert::notify::Channel;
use serde_json::{Map, Value};

use super::{first, pairs, redirect, Notice, Tabs};
use crate::alerting::admin::AdminError;
use crate::http::Api;
use crate::ui::{render, Chrome, CsrfToken, Section};

pub const KINDS: &[(&str, &str)] = &[
    ("webhook", "Webhook (signed JSON POST)"),
    ("slack", "Slack incoming webhook"),
    ("email", "Email (SMTP)"),
    ("pagerduty", "PagerDuty Events v2"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Text,
    /// Never written back into the page.
    Secret,
    Port,
    /// Comma- or line-separated.
    List,
    /// `Name: value` per line.
    Headers,
    Choice(&'static [&'static str]),
}

struct FieldDef {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    input: Input,
    placeholder: &'static str,
    required: bool,
}

const fn f(
    kind: &'static str,
    name: &'static str,
    label: &'static str,
    input: Input,
    placeholder: &'static str,
    required: bool,
) -> FieldDef {
    FieldDef { name, label, kind, input, placeholder, required }
}

const FIELDS: &[FieldDef] = &[
    f("webhook", "url", "URL", Input::Text, "https://ops.example.com/faultline", true),
    f(
        "webhook",
        "secret",
        "Signing secret",
        Input::Secret,
        "optional: signs each request (HMAC-SHA256)",
        false,
    ),
    f("webhook", "headers", "Extra headers", Input::Headers, "X-Team: core", false),
    f("slack", "webhook_url", "Webhook URL", Input::Text, "https://hooks.slack.com/services/…", true),
    f("email", "smtp_host", "SMTP host", Input::Text, "smtp.example.com", true),
    f("email", "smtp_port", "SMTP port", Input::Port, "587", false),
    f("email", "tls", "TLS", Input::Choice(&["starttls", "tls", "none"]), "", false),
    f("email", "username", "Username", Input::Text, "optional", false),
    f("email", "password", "Password", Input::Secret, "with the username", false),
    f("email", "from", "From", Input::Text, "faultline@example.com", true),
    f("email", "to", "To", Input::List, "oncall@example.com, dev@example.com", true),
    f("pagerduty", "routing_key", "Routing key", Input::Secret, "the integration's key", true),
    f("pagerduty", "events_url", "Events URL", Input::Text, "default: PagerDuty's", false),
];

/// What was typed (secrets included, but they are not drawn again).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelForm {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub values: Vec<(String, String)>,
}

impl ChannelForm {
    fn from_pairs(pairs: &[(String, String)]) -> ChannelForm {
        let kind = first(pairs, "kind");
        ChannelForm {
            kind: if KINDS.iter().any(|(k, _)| *k == kind) { kind } else { "webhook".into() },
            id: first(pairs, "id"),
            name: first(pairs, "name"),
            values: pairs.iter().filter(|(k, _)| FIELDS.iter().any(|f| f.name == k)).cloned().collect(),
        }
    }

    fn value(&self, name: &str) -> &str {
        self.values.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The channel the API would be given, or what is wrong with the text.
    pub fn to_channel(&self) -> Result<Channel, String> {
        let mut config = Map::new();
        config.insert("kind".into(), Value::from(self.kind.as_str()));
        for field in FIELDS.iter().filter(|f| f.kind == self.kind) {
            let text = self.value(field.name).trim();
            if text.is_empty() {
                if field.required {
                    return Err(format!("{} is required", field.label));
                }
                continue;
            }
            config.insert(field.name.into(), parse(field, text)?);
        }
        let id = self.id.trim();
        let valid_id =
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_id {
            // The id goes into URLs of these pages and into rules.
            return Err(format!("the id {id:?} may only hold letters, digits, '-', '_' and '.'"));
        }
        let name = if self.name.trim().is_empty() { id } else { self.name.trim() };
        let body = serde_json::json!({ "id": id, "name": name, "config": config });
        let channel: Channel = serde_json::from_value(body).map_err(|e| e.to_string())?;
        channel.validate().map_err(|e| e.to_string())?;
        Ok(channel)
    }
}

fn parse(field: &FieldDef, text: &str) -> Result<Value, String> {
    match field.input {
        Input::Text | Input::Secret => Ok(Value::from(text)),
        Input::Port => text
            .parse::<u16>()
            .map(Value::from)
            .map_err(|_| format!("{}: {text:?} is not a port number", field.label)),
        Input::List => {
            let items: Vec<Value> =
                text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect();
            Ok(Value::Array(items))
        }
        Input::Headers => {
            let mut headers = Map::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(format!("{}: write each as Name: value, not {line:?}", field.label));
                };
                headers.insert(name.trim().to_string(), Value::from(value.trim()));
            }
            Ok(Value::Object(headers))
        }
        Input::Choice(choices) => match choices.iter().find(|c| **c == text) {
            Some(c) => Ok(Value::from(*c)),
            None => Err(format!("{}: {text:?} is not one of {}", field.label, choices.join(", "))),
        },
    }
}

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub placeholder: &'static str,
    pub value: String,
    pub choices: Vec<&'static str>,
    pub secret: bool,
    pub multiline: bool,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "alerts_channel_form.html")]
struct ChannelFormPage {
    chrome: Chrome,
    tabs: Tabs,
    notice: Notice,
    form: ChannelForm,
    kinds: &'static [(&'static str, &'static str)],
    fields: Vec<FieldView>,
    error: Option<String>,
}

impl ChannelFormPage {
    fn has_secret(&self) -> bool {
        self.fields.iter().any(|f| f.secret)
    }
}

fn build(api: &Api, form: ChannelForm, error: Option<String>, token: &CsrfToken) -> ChannelFormPage {
    let fields = FIELDS
        .iter()
        .filter(|f| f.kind == form.kind)
        .map(|f| FieldView {
            name: f.name,
            label: f.label,
            placeholder: f.placeholder,
            value: if f.input == Input::Secret { String::new() } else { form.value(f.name).to_string() },
            choices: match f.input {
                Input::Choice(c) => c.to_vec(),
                _ => Vec::new(),
            },
            secret: f.input == Input::Secret,
            multiline: matches!(f.input, Input::Headers),
            required: f.required,
        })
        .collect();
    ChannelFormPage {
        chrome: Chrome::new("New channel", Section::Alerts, token),
        tabs: Tabs::new(api, "channels"),
        notice: Notice::default(),
        form,
        kinds: KINDS,
        fields,
        error,
    }
}

/// `GET /alerts/channels/new?kind=…`.
pub async fn new_form(State(api): State<Api>, RawQuery(query): RawQuery, token: CsrfToken) -> Response {
    let form = ChannelForm::from_pairs(&pairs(query.unwrap_or_default().as_bytes()));
    render(StatusCode::OK, &build(&api, form, None, &token), &token)
}

/// `POST /alerts/channels/new`.
pub async fn create(State(api): State<Api>, token: CsrfToken, CheckedForm(pairs): CheckedForm) -> Response {
    let form = ChannelForm::from_pairs(&pairs);
    let channel = match form.to_channel() {
        Ok(c) => c,
        Err(e) => {
            return render(StatusCode::UNPROCESSABLE_ENTITY, &build(&api, form, Some(e), &token), &token)
        }
    };
    let id = channel.id.clone();
    match api.alerting.create_channel(channel).await {
        Ok(()) => redirect("/alerts/channels", "done", &format!("Channel {id} created")),
        Err(e) => {
            let status = match e {
                AdminError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            render(status, &build(&api, form, Some(e.to_string()), &token), &token)
        }
    }
}

/// `POST /alerts/channels/{id}/delete`: refused while a rule sends to it.
pub async fn delete(State(api): State<Api>, Path(id): Path<String>, _checked: CheckedForm) -> Response {
    match api.alerting.delete_channel(id.clone()).await {
        Ok(()) => redirect("/alerts/channels", "done", &format!("Channel {id} deleted")),
        Err(e) => redirect("/alerts/channels", "failed", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_alert::notify::ChannelConfig;

    fn form(kind: &str, id: &str, values: &[(&str, &str)]) -> ChannelForm {
        let mut pairs = vec![("kind".to_string(), kind.to_string()), ("id".to_string(), id.to_string())];
        pairs.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ChannelForm::from_pairs(&pairs)
    }

    #[test]
    fn a_webhook_form_becomes_the_channel_the_api_would_get() {
        let c = form(
            "webhook",
            "ops",
            &[
                ("url", "https://ops.example.com/hook"),
                ("secret", "s"),
                ("headers", "X-Team: core\n\nX-Env: prod"),
            ],
        )
        .to_channel()
        .expect("valid");
        assert_eq!(c.name, "ops", "the name defaults to the id");
        match c.config {
            ChannelConfig::Webhook { url, secret, headers } => {
                assert_eq!(url, "https://ops.example.com/hook");
                assert_eq!(secret.as_deref(), Some("s"));
                assert_eq!(headers.len(), 2);
                assert_eq!(headers["X-Env"], "prod");
            }
            other => panic!("not a webhook: {other:?}"),
        }
    }

    #[test]
    fn an_email_form_reads_lists_and_ports() {
        let c = form(
            "email",
            "mail",
            &[
                ("smtp_host", "smtp.example.com"),
                ("smtp_port", "465"),
                ("tls", "tls"),
                ("from", "f@example.com"),
                ("to", "a@example.com, b@example.com"),
                ("url", "ignored: another kind's field"),
            ],
        )
        .to_channel()
        .expect("valid");
        match c.config {
            ChannelConfig::Email { smtp_port, to, .. } => {
                assert_eq!(smtp_port, 465);
                assert_eq!(to, ["a@example.com", "b@example.com"]);
            }
            other => panic!("not email: {other:?}"),
        }
    }

    #[test]
    fn mistakes_are_named() {
        let e = form("slack", "s", &[]).to_channel().expect_err("no URL");
        assert!(e.contains("Webhook URL is required"), "{e}");
        let e = form("slack", "s", &[("webhook_url", "ftp://x")]).to_channel().expect_err("scheme");
        assert!(e.contains("webhook_url"), "{e}");
        let e = form("webhook", "a b", &[("url", "https://x.example")]).to_channel().expect_err("id");
        assert!(e.contains("may only hold"), "{e}");
        let e = form("webhook", "w", &[("url", "https://x.example"), ("headers", "no colon")])
            .to_channel()
            .expect_err("header");
        assert!(e.contains("Name: value"), "{e}");
        let e = form(
            "email",
            "m",
            &[("smtp_host", "h"), ("smtp_port", "99999"), ("from", "f@x.y"), ("to", "t@x.y")],
        )
        .to_channel()
        .expect_err("port");
        assert!(e.contains("port"), "{e}");
        let e = form("pagerduty", "p", &[("routing_key", "has space")]).to_channel().expect_err("key");
        assert!(e.contains("routing_key"), "{e}");
    }

    #[test]
    fn an_unknown_kind_falls_back_to_webhook() {
        assert_eq!(form("<script>", "x", &[]).kind, "webhook");
    }
}
