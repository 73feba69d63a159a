//! OpenTelemetry semantic-convention names Faultline reads, with the older
//! names still sent by many SDKs next to the current ones.

use faultline_model::Attributes;

use crate::attributes::{first_text, http_status, lenient_bool};

pub(crate) const SERVICE_NAME: &str = "service.name";
pub(crate) const SERVICE_VERSION: &str = "service.version";
/// Current name first, then the one deprecated in semconv 1.27.
pub(crate) const ENVIRONMENT: &[&str] = &["deployment.environment.name", "deployment.environment"];
pub(crate) const HOST_NAME: &str = "host.name";
pub(crate) const SDK_LANGUAGE: &str = "telemetry.sdk.language";

/// The span event name every SDK uses for a recorded exception.
pub(crate) const EXCEPTION_EVENT: &str = "exception";
pub(crate) const EXCEPTION_PREFIX: &str = "exception.";
pub(crate) const EXCEPTION_TYPE: &str = "exception.type";
pub(crate) const EXCEPTION_MESSAGE: &str = "exception.message";
pub(crate) const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
pub(crate) const EXCEPTION_ESCAPED: &str = "exception.escaped";
/// Set by newer instrumentations on failed spans in place of an exception event.
pub(crate) const ERROR_TYPE: &str = "error.type";

pub(crate) const HTTP_ROUTE: &[&str] = &["http.route"];
/// Stable HTTP semconv (1.23+) first, then the pre-1.23 name.
pub(crate) const HTTP_METHOD: &[&str] = &["http.request.method", "http.method"];
pub(crate) const HTTP_STATUS: &[&str] = &["http.response.status_code", "http.status_code"];

/// What an exception carries, read from `exception.*` attributes. Every field
/// is optional: the Rust SDK, for one, sends only `exception.message`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Exception {
    pub exception_type: Option<String>,
    pub message: Option<String>,
    pub stacktrace: Option<String>,
    pub escaped: Option<bool>,
}

impl Exception {
    /// Reads the exception fields. The type is kept exactly as sent (Node puts
    /// `err.code` such as `ENOENT` there), since grouping depends on it.
    pub(crate) fn from_attributes(attrs: &Attributes) -> Exception {
        Exception {
            exception_type: first_text(attrs, &[EXCEPTION_TYPE]),
            message: first_text(attrs, &[EXCEPTION_MESSAGE]),
            stacktrace: first_text(attrs, &[EXCEPTION_STACKTRACE]),
            escaped: attrs.get(EXCEPTION_ESCAPED).and_then(lenient_bool),
        }
    }
}

/// The HTTP request a span or record describes, under either semconv generation.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Http {
    pub route: Option<String>,
    pub method: Option<String>,
    pub status: Option<u16>,
}

impl Http {
    pub(crate) fn from_attributes(attrs: &Attributes) -> Http {
        Http {
            route: first_text(attrs, HTTP_ROUTE),
            method: first_text(attrs, HTTP_METHOD),
            status: HTTP_STATUS.iter().find_map(|key| attrs.get(*key).and_then(http_status)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(pairs: &[(&str, serde_json::Value)]) -> Attributes {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn http_reads_the_stable_names() {
        let http = Http::from_attributes(&attrs(&[
            ("http.route", json!("/users/{id}")),
            ("http.request.method", json!("GET")),
            ("http.response.status_code", json!(503)),
        ]));
        assert_eq!(http.route.as_deref(), Some("/users/{id}"));
        assert_eq!(http.method.as_deref(), Some("GET"));
        assert_eq!(http.status, Some(503));
    }

    #[test]
    fn http_reads_the_old_names_and_string_status() {
        let http = Http::from_attributes(&attrs(&[
            ("http.method", json!("POST")),
            ("http.status_code", json!("502")),
        ]));
        assert_eq!(http.method.as_deref(), Some("POST"));
        assert_eq!(http.status, Some(502));
        assert_eq!(http.route, None);
    }

    #[test]
    fn http_prefers_the_stable_name_when_both_are_sent() {
        let http = Http::from_attributes(&attrs(&[
            ("http.request.method", json!("PUT")),
            ("http.method", json!("GET")),
            ("http.response.status_code", json!(500)),
            ("http.status_code", json!(200)),
        ]));
        assert_eq!(http.method.as_deref(), Some("PUT"));
        assert_eq!(http.status, Some(500));
    }

    #[test]
    fn exception_reads_escaped_as_bool_or_string() {
        let from_python = Exception::from_attributes(&attrs(&[
            ("exception.type", json!("ValueError")),
            ("exception.escaped", json!("False")),
        ]));
        assert_eq!(from_python.escaped, Some(false));
        let from_java = Exception::from_attributes(&attrs(&[("exception.escaped", json!(true))]));
        assert_eq!(from_java.escaped, Some(true));
    }
}
