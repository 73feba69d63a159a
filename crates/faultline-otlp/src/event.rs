//! Assembling an `ErrorEvent` from the parts every signal shares.

use faultline_model::{Attributes, ErrorEvent, EventSource, Level, UnixNanos};

use crate::resource::ResourceInfo;
use crate::semconv::{Exception, Http};

/// Everything about one error that depends on the item it came from; the
/// resource and the receive time are added by [`Draft::into_event`].
#[derive(Debug)]
pub(crate) struct Draft {
    pub source: EventSource,
    pub timestamp: UnixNanos,
    pub level: Level,
    pub trace_id: String,
    pub span_id: String,
    pub span_name: Option<String>,
    pub exception: Exception,
    pub http: Http,
    pub attributes: Attributes,
}

impl Draft {
    pub(crate) fn into_event(self, resource: &ResourceInfo, received_at: UnixNanos) -> ErrorEvent {
        ErrorEvent {
            seq: 0,
            group_id: 0,
            timestamp: self.timestamp,
            received_at,
            source: self.source,
            service: resource.service.clone(),
            service_version: resource.service_version.clone(),
            environment: resource.environment.clone(),
            host: resource.host.clone(),
            sdk_language: resource.sdk_language.clone(),
            trace_id: self.trace_id,
            span_id: self.span_id,
            span_name: self.span_name,
            level: self.level.as_str().to_string(),
            exception_type: self.exception.exception_type,
            message: self.exception.message,
            stacktrace: self.exception.stacktrace,
            escaped: self.exception.escaped,
            http_route: self.http.route,
            http_method: self.http.method,
            http_status: self.http.status,
            attributes: self.attributes,
            resource: resource.attributes.clone(),
        }
    }
}

/// A trace or span id as lowercase hex; empty when absent or all zero, which
/// OTLP defines as "no id".
pub(crate) fn hex_id(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| *b == 0) {
        String::new()
    } else {
        hex::encode(bytes)
    }
}

/// The first candidate time that is set (OTLP uses 0 for "unknown") and fits
/// in `UnixNanos`, else `fallback` (the receive time).
pub(crate) fn first_time(candidates: &[u64], fallback: UnixNanos) -> UnixNanos {
    candidates.iter().filter(|t| **t != 0).find_map(|t| UnixNanos::try_from(*t).ok()).unwrap_or(fallback)
}

/// Empty text means "not given" in protobuf; the model says so with `None`.
pub(crate) fn non_empty(text: String) -> Option<String> {
    if text.is_empty() {
        None
    } else {
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_lowercase_and_zero_means_none() {
        assert_eq!(hex_id(&[0xAB, 0x01]), "ab01");
        assert_eq!(hex_id(&[0; 16]), "");
        assert_eq!(hex_id(&[]), "");
    }

    #[test]
    fn first_time_skips_unset_and_out_of_range_values() {
        assert_eq!(first_time(&[0, 5, 7], 1), 5);
        assert_eq!(first_time(&[u64::MAX, 9], 1), 9);
        assert_eq!(first_time(&[0, 0], 42), 42);
        assert_eq!(first_time(&[], 42), 42);
    }
}
