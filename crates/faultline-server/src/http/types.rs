//! The API's response bodies: the wire format, kept apart from the
//! domain types so that the store's and the engine's types can change
//! without changing what clients (the CLI, the UI, scripts) read. Every
//! time is RFC 3339 in UTC; absent values are `null`.

use std::time::Duration;

use faultline_model::{format_rfc3339, Attributes, ErrorEvent, Group, HealthBucket};
use serde::Serialize;

/// One error event (`GET /api/v1/events/{seq}`, and in lists).
#[derive(Debug, Serialize)]
pub struct EventBody {
    /// Position in the event log: the id of the event.
    pub seq: u64,
    /// The group (issue) the event belongs to now.
    pub group_id: u64,
    /// When it happened, as the SDK said.
    pub timestamp: String,
    /// When Faultline received it.
    pub received_at: String,
    /// `span_exception`, `span_status`, `http_server_error` or `log`.
    pub source: &'static str,
    pub service: String,
    /// `service.version`.
    pub service_version: Option<String>,
    pub environment: Option<String>,
    pub host: Option<String>,
    /// `telemetry.sdk.language`.
    pub sdk_language: Option<String>,
    /// Lowercase hex; empty when the record carried none.
    pub trace_id: String,
    pub span_id: String,
    pub span_name: Option<String>,
    /// `fatal`, `error`, `warning`, `info`, `debug` or `trace`.
    pub level: String,
    pub exception_type: Option<String>,
    pub message: Option<String>,
    pub stacktrace: Option<String>,
    /// `exception.escaped`, when the SDK set it.
    pub escaped: Option<bool>,
    pub http_route: Option<String>,
    pub http_method: Option<String>,
    pub http_status: Option<u16>,
    /// The span's, span event's or log record's own attributes.
    pub attributes: Attributes,
    /// The resource attributes of the service that sent it.
    pub resource: Attributes,
}

impl From<ErrorEvent> for EventBody {
    fn from(e: ErrorEvent) -> EventBody {
        EventBody {
            seq: e.seq,
            group_id: e.group_id,
            timestamp: format_rfc3339(e.timestamp),
            received_at: format_rfc3339(e.received_at),
            source: e.source.as_str(),
            service: e.service,
            service_version: e.service_version,
            environment: e.environment,
            host: e.host,
            sdk_language: e.sdk_language,
            trace_id: e.trace_id,
            span_id: e.span_id,
            span_name: e.span_name,
            level: e.level,
            exception_type: e.exception_type,
            message: e.message,
            stacktrace: e.stacktrace,
            escaped: e.escaped,
            http_route: e.http_route,
            http_method: e.http_method,
            http_status: e.http_status,
            attributes: e.attributes,
            resource: e.resource,
        }
    }
}

/// One group (issue).
#[derive(Debug, Serialize)]
pub struct GroupBody {
    pub id: u64,
    /// The fingerprint that created the group.
    pub fingerprint: String,
    /// The grouping algorithm's version that created it.
    pub grouping_version: u32,
    pub service: String,
    /// The name, its message parameterized (`cart <num> is locked`).
    pub title: String,
    /// Where it happened (`app.orders in parse_quantity`).
    pub culprit: String,
    /// The latest event's own message, first line.
    pub last_message: Option<String>,
    pub exception_type: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// Events in the group.
    pub count: u64,
    /// `unresolved`, `resolved` or `ignored`.
    pub status: &'static str,
    /// An event arrived while it was resolved.
    pub regressed: bool,
    pub regressed_at: Option<String>,
    pub resolved_at: Option<String>,
    pub environments: Vec<String>,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    /// The latest event, for `GET /api/v1/events/{seq}`.
    pub last_event_seq: u64,
    /// Every fingerprint whose events land here (several after a merge).
    pub fingerprints: Vec<String>,
    /// Set when this group was merged into another one.
    pub merged_into: Option<u64>,
    /// Resolved in the next release: the release it was resolved in; only
    /// an event from a later release reopens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_in_release: Option<String>,
    /// Ignored until this time (then its next event brings it back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_until: Option<String>,
    /// Ignored until its event count reaches this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_until_count: Option<u64>,
}

impl From<Group> for GroupBody {
    fn from(g: Group) -> GroupBody {
        GroupBody {
            id: g.id,
            fingerprint: g.fingerprint,
            grouping_version: g.grouping_version,
            service: g.service,
            title: g.title,
            culprit: g.culprit,
            last_message: g.last_message,
            exception_type: g.exception_type,
            first_seen: format_rfc3339(g.first_seen),
            last_seen: format_rfc3339(g.last_seen),
            count: g.count,
            status: g.status.as_str(),
            regressed: g.regressed,
            regressed_at: g.regressed_at.map(format_rfc3339),
            resolved_at: g.resolved_at.map(format_rfc3339),
            environments: g.environments,
            first_release: g.first_release,
            last_release: g.last_release,
            last_event_seq: g.last_event_seq,
            fingerprints: g.fingerprints,
            merged_into: g.merged_into,
            resolved_in_release: g.resolved_in_release,
            ignored_until: g.ignored_until.map(format_rfc3339),
            ignored_until_count: g.ignored_until_count,
        }
    }
}

/// A page of events (`GET /api/v1/search`, `GET /api/v1/groups/{id}/events`).
#[derive(Debug, Serialize)]
pub struct EventPage {
    /// Matching events in all, not only on this page.
    pub total: usize,
    /// Newest first.
    pub events: Vec<EventBody>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A page of groups (`GET /api/v1/groups`).
#[derive(Debug, Serialize)]
pub struct GroupPage {
    pub groups: Vec<GroupBody>,
    pub next_cursor: Option<String>,
}

/// The answer to an unmerge: the group as left, and the one split off.
#[derive(Debug, Serialize)]
pub struct Unmerged {
    pub group: GroupBody,
    pub new_group: GroupBody,
}

/// The figures users watch, for one service or endpoint over a window.
#[derive(Debug, Serialize, PartialEq)]
pub struct Figures {
    pub requests: u64,
    pub rate_per_second: f64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub client_errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Figures {
    pub fn of(bucket: &HealthBucket, window: Duration) -> Figures {
        Figures {
            requests: bucket.requests,
            rate_per_second: bucket.requests as f64 / window.as_secs_f64().max(1.0),
            errors: bucket.errors,
            error_rate: bucket.error_rate(),
            client_errors: bucket.client_errors,
            p50_ms: bucket.latency.quantile(0.5),
            p95_ms: bucket.latency.quantile(0.95),
            p99_ms: bucket.latency.quantile(0.99),
        }
    }
}

#[derive(Debug, Serialize)]
/// One service's figures, with the environments it was seen in.
pub struct ServiceFigures {
    pub service: String,
    pub environments: Vec<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
/// One route and method's figures.
pub struct EndpointFigures {
    pub route: String,
    pub method: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /api/v1/services`.
#[derive(Debug, Serialize)]
pub struct ServicesBody {
    pub window_seconds: u64,
    pub services: Vec<ServiceFigures>,
}

/// `GET /api/v1/services/{service}/endpoints`, busiest first.
#[derive(Debug, Serialize)]
pub struct EndpointsBody {
    pub service: String,
    pub window_seconds: u64,
    pub endpoints: Vec<EndpointFigures>,
}

/// `GET /api/v1/timeseries`: one point per step, on step boundaries.
#[derive(Debug, Serialize)]
pub struct SeriesBody {
    pub metric: String,
    pub step_seconds: u64,
    pub points: Vec<Point>,
}

/// A step's start and its value (`null` when the step had no data).
#[derive(Debug, Serialize)]
pub struct Point {
    pub t: String,
    pub value: Option<f64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use faultline_model::{EventSource, GroupStatus};

    use super::*;

    /// The wire format equals what the domain types serialized to before
    /// the two were separated, so no client sees a change.
    #[test]
    fn bodies_match_the_domain_serialization() {
        let mut e = ErrorEvent::blank("shop", EventSource::Log, 1_764_000_000_123_000_000);
        e.seq = 4;
        e.message = Some("m".into());
        e.attributes.insert("a".into(), serde_json::json!(1));
        let domain = serde_json::to_value(&e).unwrap();
        assert_eq!(serde_json::to_value(EventBody::from(e)).unwrap(), domain);

        let g = Group {
            id: 3,
            fingerprint: "f".into(),
            grouping_version: 2,
            service: "shop".into(),
            title: "T".into(),
            culprit: "c".into(),
            last_message: Some("m".into()),
            exception_type: None,
            first_seen: 1,
            last_seen: 2_000_000_000,
            count: 9,
            status: GroupStatus::Resolved,
            regressed: true,
            regressed_at: Some(5),
            resolved_at: None,
            environments: vec!["prod".into()],
            first_release: None,
            last_release: Some("1.2".into()),
            last_event_seq: 4,
            fingerprints: vec!["f".into()],
            merged_into: None,
            resolved_in_release: Some("1.2".into()),
            ignored_until: None,
            ignored_until_count: Some(12),
        };
        let domain = serde_json::to_value(&g).unwrap();
        assert_eq!(serde_json::to_value(GroupBody::from(g)).unwrap(), domain);
    }
}
