//! One Sentry event as the model's [`ErrorEvent`].
//!
//! Where the data goes, so that search, the API and grouping find Sentry
//! events where they find OTel ones:
//! - service, environment (the event's, else the project's), release →
//!   `service_version`, `server_name` → `host`, `platform` →
//!   `sdk_language`, `sdk.name`/`sdk.version` → the resource's
//!   `telemetry.sdk.*`;
//! - the outermost exception (Sentry lists it LAST) → `exception_type` and
//!   `message`; all of them → `stacktrace` as the stack text of the
//!   event's `platform` ([`crate::traceback`]), the frames' `in_app` flags
//!   → `faultline.in_app`, and `sentry.exception` (the structured values,
//!   frames with context lines, without local variables); with no frames
//!   on any exception, the crashed or current thread's stack, else the
//!   top-level `stacktrace`; a message event's stack (no exception type:
//!   `attach_stacktrace`) → the `code.*` attributes of the frame it was
//!   sent from and `sentry.stacktrace`, grouped by its message;
//! - `logentry`/`message` events → `message` (formatted), the logger →
//!   `otel.scope.name` as OTel logging bridges set it;
//! - `contexts.trace` → `trace_id`/`span_id`; other contexts →
//!   `sentry.contexts`;
//! - `tags` → `tags.<name>`; `user` → `user.id`, `user.email`,
//!   `user.name`, `client.address`, its other fields (`segment`, `geo`,
//!   `data`, ...) → `sentry.user`; `request` → `http_method`,
//!   `url.full` and `http.request.header.<name>` without `cookie`,
//!   `authorization` and the like (`url.full` with `query_string`
//!   appended), its body → `sentry.request.data` when it is small
//!   ([`MAX_REQUEST_DATA`]); `breadcrumbs` → `sentry.breadcrumbs`
//!   (the last [`MAX_BREADCRUMBS`], fewer when they are larger than
//!   [`MAX_BREADCRUMBS_BYTES`]); `extra` → `sentry.extra`;
//!
//! The API and the explorer read these names back as the event's
//! breadcrumbs, request, user, contexts, tags and SDK
//! (`faultline-server`'s `http/details.rs`).
//! - `fingerprint` → `error.fingerprint`, which grouping reads with
//!   `{{ default }}` as Sentry does.

use faultline_model::{parse_rfc3339, Attributes, ErrorEvent, EventSource, Level, UnixNanos};
use serde_json::{Map, Value};

use crate::fields::{object, pairs, scalar, text, values};
use crate::traceback;

/// Where the SDK's `in_app` flags go for grouping
/// (`faultline_grouping::stacktrace::IN_APP_ATTRIBUTE`; see
/// [`crate::traceback`]).
const IN_APP_ATTRIBUTE: &str = "faultline.in_app";

/// Breadcrumbs kept per event, the most recent ones (Sentry's default too).
pub const MAX_BREADCRUMBS: usize = 100;

/// The most JSON text the kept breadcrumbs make: ingest cuts an attribute
/// longer than `limits.max_string_len` (32 KiB by default) into text that
/// no longer reads as a list, so older breadcrumbs are left out first to
/// stay well below it.
pub const MAX_BREADCRUMBS_BYTES: usize = 16 * 1024;

/// The largest request body kept, as JSON text: a form or a small JSON
/// document helps to reproduce a bug, an upload does not.
pub const MAX_REQUEST_DATA: usize = 2048;

/// The user fields stored under their own attribute names; the others go
/// to `sentry.user`.
const USER_FIELDS: [(&str, &str); 4] =
    [("id", "user.id"), ("email", "user.email"), ("username", "user.name"), ("ip_address", "client.address")];

/// Request headers never stored: credentials and session cookies.
const SECRET_HEADERS: [&str; 6] =
    ["cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key", "x-sentry-auth"];

/// Frame fields kept in `sentry.exception`; local variables (`vars`) are
/// left out, they often hold personal data and secrets.
const FRAME_FIELDS: [&str; 10] = [
    "function",
    "module",
    "filename",
    "abs_path",
    "lineno",
    "colno",
    "in_app",
    "pre_context",
    "context_line",
    "post_context",
];

/// Where a project's events go: the Faultline service, and the
/// environment for events that name none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub service: String,
    pub environment: Option<String>,
}

/// The error event of one Sentry event received at `received_at`.
pub fn to_error_event(event: &Map<String, Value>, project: &Project, received_at: UnixNanos) -> ErrorEvent {
    let timestamp = event.get("timestamp").and_then(timestamp).unwrap_or(received_at);
    let mut out = ErrorEvent::blank(project.service.clone(), EventSource::Sentry, timestamp);
    out.received_at = received_at;
    out.environment = text(event, "environment").map(str::to_string).or_else(|| project.environment.clone());
    out.service_version = text(event, "release").map(str::to_string);
    out.host = text(event, "server_name").map(str::to_string);
    out.sdk_language = text(event, "platform").map(str::to_string);
    out.level = level(text(event, "level")).as_str().to_string();
    out.span_name = text(event, "transaction").map(str::to_string);
    fill_exception(&mut out, event);
    fill_trace(&mut out, event);
    fill_request(&mut out, event);
    fill_attributes(&mut out.attributes, event);
    fill_resource(&mut out, event);
    out
}

/// Type, message and stack text; a message event's text when there is no
/// exception.
fn fill_exception(out: &mut ErrorEvent, event: &Map<String, Value>) {
    let exceptions = values(event, "exception");
    if let Some(outermost) = exceptions.iter().rev().find_map(Value::as_object) {
        out.exception_type = exception_type(outermost, text(event, "platform"));
        out.message = outermost.get("value").and_then(Value::as_str).map(str::to_string);
        out.escaped = object(outermost, "mechanism")
            .and_then(|m| m.get("handled"))
            .and_then(Value::as_bool)
            .map(|handled| !handled);
        out.attributes
            .insert("sentry.exception".into(), Value::Array(exceptions.iter().map(structured).collect()));
    }
    let chain = with_thread_stack(exceptions, event);
    let typed = chain.iter().filter_map(Value::as_object).any(|v| text(v, "type").is_some());
    if typed {
        if let Some(rendered) = traceback::render(&chain, text(event, "platform")) {
            out.stacktrace = Some(rendered.text);
            if !rendered.in_app.is_empty() {
                out.attributes.insert(IN_APP_ATTRIBUTE.into(), serde_json::json!(rendered.in_app));
            }
        }
    } else {
        fill_message_location(out, &chain);
    }
    if out.message.is_none() {
        out.message = message(event);
    }
}

/// A message event's stack (`attach_stacktrace`; @sentry/node attaches
/// one to every `captureMessage` as a typeless "synthetic" exception) says
/// where it was sent from, not what failed. It becomes the `code.*`
/// attributes an OTel log record carries (the culprit), and the event is
/// grouped by its message as an error log is: grouping by the one frame
/// would merge every message sent from the same function, or through the
/// same helper. The frames stay on the event as `sentry.stacktrace`.
fn fill_message_location(out: &mut ErrorEvent, chain: &[Value]) {
    let Some(stack) =
        chain.iter().rev().filter_map(Value::as_object).find(|v| !traceback::frames(v).is_empty())
    else {
        return;
    };
    let frames = traceback::frames(stack);
    let sent_from = frames
        .iter()
        .rev()
        .find(|f| f.get("in_app").and_then(Value::as_bool) == Some(true))
        .or_else(|| frames.iter().rev().find(|f| f.get("in_app").and_then(Value::as_bool) != Some(false)))
        .or(frames.last());
    if let Some(frame) = sent_from {
        let attributes = &mut out.attributes;
        if let Some(function) = text(frame, "function") {
            attributes.insert("code.function.name".into(), function.into());
        }
        if let Some(file) = text(frame, "abs_path").or_else(|| text(frame, "filename")) {
            attributes.insert("code.file.path".into(), file.into());
        }
        if let Some(line) = frame.get("lineno").and_then(Value::as_u64) {
            attributes.insert("code.line.number".into(), line.into());
        }
    }
    if let Some(Value::Object(kept)) = structured(&Value::Object(stack.clone())).get("stacktrace") {
        out.attributes.insert("sentry.stacktrace".into(), Value::Object(kept.clone()));
    }
}

/// The exception's type as its runtime names it: sentry-java sends the
/// class's simple name and its package apart (`module`), where the JVM,
/// and so the OTel Java agent's `exception.type`, qualifies it.
fn exception_type(value: &Map<String, Value>, platform: Option<&str>) -> Option<String> {
    let name = text(value, "type")?;
    match text(value, "module") {
        Some(package) if platform == Some("java") && !name.contains('.') => Some(format!("{package}.{name}")),
        _ => Some(name.to_string()),
    }
}

/// The exception values, given a stack from elsewhere when none of them
/// carries one: sentry-java and native SDKs put the crash's stack on its
/// thread (`threads`, the `crashed` one, else the `current` one), and a
/// message event with `attach_stacktrace` has its stack on the current
/// thread (sentry-python) or at the top level (`stacktrace`). The stack
/// goes to the outermost exception, or stands alone for a message event.
fn with_thread_stack(exceptions: &[Value], event: &Map<String, Value>) -> Vec<Value> {
    let has_frames = |v: &Value| v.as_object().is_some_and(|v| !traceback::frames(v).is_empty());
    if exceptions.iter().any(has_frames) {
        return exceptions.to_vec();
    }
    let Some(stack) = thread_stack(event).or_else(|| object(event, "stacktrace")) else {
        return exceptions.to_vec();
    };
    let stack = Value::Object(stack.clone());
    let mut chain = exceptions.to_vec();
    match chain.iter_mut().rev().find_map(Value::as_object_mut) {
        Some(outermost) => {
            outermost.insert("stacktrace".into(), stack);
        }
        None => chain = vec![serde_json::json!({ "stacktrace": stack })],
    }
    chain
}

/// The stack of the thread that crashed, else of the current thread.
fn thread_stack(event: &Map<String, Value>) -> Option<&Map<String, Value>> {
    let threads: Vec<&Map<String, Value>> =
        values(event, "threads").iter().filter_map(Value::as_object).collect();
    let with_stack = |flag: &str| {
        threads
            .iter()
            .filter(|t| t.get(flag).and_then(Value::as_bool) == Some(true))
            .find_map(|t| object(t, "stacktrace").filter(|s| !values(s, "frames").is_empty()))
    };
    with_stack("crashed").or_else(|| with_stack("current"))
}

/// `logentry.formatted`, else `logentry.message`, else `message` (a string
/// or the same object).
fn message(event: &Map<String, Value>) -> Option<String> {
    let from = |entry: &Map<String, Value>| {
        text(entry, "formatted").or_else(|| text(entry, "message")).map(str::to_string)
    };
    object(event, "logentry").and_then(from).or_else(|| match event.get("message") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Object(entry)) => from(entry),
        _ => None,
    })
}

/// An exception value without its frames' local variables.
fn structured(value: &Value) -> Value {
    let Some(value) = value.as_object() else {
        return Value::Null;
    };
    let mut kept = value.clone();
    let frames = object(value, "stacktrace").map(|s| values(s, "frames")).unwrap_or_default();
    let frames: Vec<Value> = frames
        .iter()
        .filter_map(Value::as_object)
        .map(|frame| {
            Value::Object(
                FRAME_FIELDS
                    .iter()
                    .filter_map(|name| Some((name.to_string(), frame.get(*name)?.clone())))
                    .filter(|(_, v)| !v.is_null())
                    .collect(),
            )
        })
        .collect();
    kept.insert("stacktrace".into(), serde_json::json!({ "frames": frames }));
    Value::Object(kept)
}

fn fill_trace(out: &mut ErrorEvent, event: &Map<String, Value>) {
    let Some(contexts) = object(event, "contexts") else {
        return;
    };
    if let Some(trace) = object(contexts, "trace") {
        out.trace_id = text(trace, "trace_id").map(str::to_ascii_lowercase).unwrap_or_default();
        out.span_id = text(trace, "span_id").map(str::to_ascii_lowercase).unwrap_or_default();
    }
    out.attributes.insert("sentry.contexts".into(), Value::Object(contexts.clone()));
}

fn fill_request(out: &mut ErrorEvent, event: &Map<String, Value>) {
    let Some(request) = object(event, "request") else {
        return;
    };
    out.http_method = text(request, "method").map(str::to_ascii_uppercase);
    if let Some(url) = text(request, "url") {
        out.attributes.insert("url.full".into(), with_query(url, request).into());
    }
    for (name, value) in pairs(request.get("headers")) {
        let name = name.to_ascii_lowercase();
        if !SECRET_HEADERS.contains(&name.as_str()) {
            out.attributes.insert(format!("http.request.header.{name}"), value.into());
        }
    }
    let data = request.get("data").filter(|d| !d.is_null() && d.as_str() != Some(""));
    if let Some(data) = data.filter(|d| d.to_string().len() <= MAX_REQUEST_DATA) {
        out.attributes.insert("sentry.request.data".into(), data.clone());
    }
}

/// The URL with the query Sentry SDKs send apart (`query_string`, a
/// string or pairs), unless the URL has one already.
fn with_query(url: &str, request: &Map<String, Value>) -> String {
    let query = match request.get("query_string") {
        Some(Value::String(q)) => q.trim_start_matches('?').to_string(),
        Some(pairs_value @ (Value::Array(_) | Value::Object(_))) => {
            pairs(Some(pairs_value)).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
        }
        _ => String::new(),
    };
    if query.is_empty() || url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?{query}")
    }
}

fn fill_attributes(attributes: &mut Attributes, event: &Map<String, Value>) {
    if let Some(id) = text(event, "event_id") {
        attributes.insert("sentry.event_id".into(), id.into());
    }
    if let Some(logger) = text(event, "logger") {
        attributes.insert("otel.scope.name".into(), logger.into());
    }
    for (name, value) in pairs(event.get("tags")) {
        attributes.insert(format!("tags.{name}"), value.into());
    }
    if let Some(user) = object(event, "user") {
        for (field, name) in USER_FIELDS {
            if let Some(value) = user.get(field).and_then(scalar).filter(|v| !v.is_empty()) {
                attributes.insert(name.into(), value.into());
            }
        }
        let others: Map<String, Value> = user
            .iter()
            .filter(|(k, v)| !v.is_null() && !USER_FIELDS.iter().any(|(field, _)| field == k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !others.is_empty() {
            attributes.insert("sentry.user".into(), Value::Object(others));
        }
    }
    if let Some(extra) = object(event, "extra").filter(|e| !e.is_empty()) {
        attributes.insert("sentry.extra".into(), Value::Object(extra.clone()));
    }
    let breadcrumbs = recent_breadcrumbs(values(event, "breadcrumbs"));
    if !breadcrumbs.is_empty() {
        attributes.insert("sentry.breadcrumbs".into(), Value::Array(breadcrumbs));
    }
    if let Some(fingerprint) = event.get("fingerprint").filter(|f| f.is_array() || f.is_string()) {
        attributes.insert("error.fingerprint".into(), fingerprint.clone());
    }
}

/// The last [`MAX_BREADCRUMBS`] breadcrumbs that fit in
/// [`MAX_BREADCRUMBS_BYTES`] together, oldest first; at least the newest.
fn recent_breadcrumbs(all: &[Value]) -> Vec<Value> {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for crumb in all.iter().rev().take(MAX_BREADCRUMBS) {
        bytes += crumb.to_string().len() + 1;
        if bytes > MAX_BREADCRUMBS_BYTES && !kept.is_empty() {
            break;
        }
        kept.push(crumb.clone());
    }
    kept.reverse();
    kept
}

/// What OTel keeps on the resource: who sent it.
fn fill_resource(out: &mut ErrorEvent, event: &Map<String, Value>) {
    let resource = &mut out.resource;
    resource.insert("service.name".into(), out.service.clone().into());
    if let Some(environment) = &out.environment {
        resource.insert("deployment.environment.name".into(), environment.clone().into());
    }
    if let Some(release) = &out.service_version {
        resource.insert("service.version".into(), release.clone().into());
    }
    if let Some(host) = &out.host {
        resource.insert("host.name".into(), host.clone().into());
    }
    if let Some(language) = &out.sdk_language {
        resource.insert("telemetry.sdk.language".into(), language.clone().into());
    }
    if let Some(sdk) = object(event, "sdk") {
        if let Some(name) = text(sdk, "name") {
            resource.insert("telemetry.sdk.name".into(), name.into());
        }
        if let Some(version) = text(sdk, "version") {
            resource.insert("telemetry.sdk.version".into(), version.into());
        }
    }
}

/// Sentry's levels are the model's; `log` (old SDKs) and unknown names are
/// errors, as Sentry itself treats a missing level.
fn level(name: Option<&str>) -> Level {
    match name.map(str::to_ascii_lowercase).as_deref() {
        Some("fatal" | "critical") => Level::Fatal,
        Some("warning" | "warn") => Level::Warning,
        Some("info") => Level::Info,
        Some("debug") => Level::Debug,
        Some("trace") => Level::Trace,
        _ => Level::Error,
    }
}

/// RFC 3339 (with or without a zone; Sentry means UTC) or seconds since
/// the epoch as a number.
pub(crate) fn timestamp(value: &Value) -> Option<UnixNanos> {
    match value {
        Value::String(text) => parse_rfc3339(text).or_else(|| parse_rfc3339(&format!("{text}Z"))),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            let nanos = seconds * 1e9;
            (nanos.is_finite() && nanos >= 0.0 && nanos < i64::MAX as f64).then_some(nanos as i64)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
