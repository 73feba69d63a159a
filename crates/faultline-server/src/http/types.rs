//! The API's response bodies: the wire format, kept apart from the
//! domain types so that the store's and the engine's types can change
//! without changing what clients (the CLI, the UI, scripts) read. Every
//! time is RFC 3339 in UTC; absent values are `null`.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_alert::engine::{Rule, Silence};
use faultline_alert::notify::DeliveryAttempt;
use faultline_alert::{Alert, AlertState, Severity};
use faultline_model::{format_rfc3339, Attributes, CheckResult, ErrorEvent, Group, HealthBucket};
use faultline_probe::{Check, CheckState, Incident};
use serde::Serialize;

use super::details::Details;
use crate::checks::CheckStatus;
use crate::report::{CheckLine, GroupLine, Period, Report, ServiceLine};

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
    /// `span_exception`, `span_status`, `http_server_error`, `log` or `sentry`.
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
    /// Breadcrumbs, request, user, contexts, tags, extra and SDK, read
    /// from the attributes and resource above (`details.rs`).
    #[serde(flatten)]
    pub details: Details,
}

impl From<ErrorEvent> for EventBody {
    fn from(e: ErrorEvent) -> EventBody {
        let details = Details::of(&e);
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
            details,
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
    /// The service's overflow group: distinct fingerprints collapsed into
    /// it past the hourly cap on new groups (0 for every other group).
    pub collapsed_fingerprints: u64,
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
            collapsed_fingerprints: g.collapsed_fingerprints,
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

/// One active check (`GET /api/v1/checks/{id}`, and in lists; `POST` and
/// `PUT` answer with it too).
#[derive(Debug, Serialize)]
pub struct CheckBody {
    pub id: String,
    /// `http`, `tcp` or `tls`.
    pub kind: String,
    /// `config` (read-only through the API) or `api`.
    pub source: &'static str,
    pub interval_seconds: f64,
    /// The check as written: the shape `POST /api/v1/checks` takes.
    pub definition: Check,
    /// `unknown` (no run yet), `up` or `down`.
    pub state: &'static str,
    pub consecutive_failures: u32,
    pub uptime: UptimeBody,
    /// From the latest run, for TLS checks.
    pub tls_days_left: Option<f64>,
    pub last_run: Option<RunBody>,
    /// The incident going on, if the check is down.
    pub open_incident: Option<IncidentBody>,
    /// Detail only: the last 30 days' incidents, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Vec<IncidentBody>>,
    /// Detail only: the latest 50 runs, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_runs: Option<Vec<RunBody>>,
}

/// How many runs shown in a check's detail.
const RECENT_RUNS: usize = 50;

impl CheckBody {
    /// `detail` adds the incidents and the recent runs.
    pub fn new(status: CheckStatus, detail: bool) -> CheckBody {
        let open_incident = status.incidents.last().filter(|i| i.ended_at.is_none()).map(IncidentBody::from);
        let (incidents, recent_runs) = if detail {
            (
                Some(status.incidents.iter().rev().map(IncidentBody::from).collect()),
                Some(status.results.iter().rev().take(RECENT_RUNS).map(RunBody::from).collect()),
            )
        } else {
            (None, None)
        };
        CheckBody {
            id: status.check.id.clone(),
            kind: status.check.kind().to_string(),
            source: status.source.as_str(),
            interval_seconds: status.check.interval.as_secs_f64(),
            state: match status.state {
                CheckState::Unknown => "unknown",
                CheckState::Up => "up",
                CheckState::Down => "down",
            },
            consecutive_failures: status.consecutive_failures,
            uptime: UptimeBody {
                last_24h: status.uptime.last_24h,
                last_7d: status.uptime.last_7d,
                last_30d: status.uptime.last_30d,
            },
            tls_days_left: status.last.as_ref().and_then(|r| r.tls_days_left),
            last_run: status.last.as_ref().map(RunBody::from),
            open_incident,
            incidents,
            recent_runs,
            definition: status.check,
        }
    }
}

/// `GET /api/v1/checks`.
#[derive(Debug, Serialize)]
pub struct ChecksBody {
    pub checks: Vec<CheckBody>,
}

/// Share of successful runs (0.999); `null` when the check did not run.
#[derive(Debug, Serialize)]
pub struct UptimeBody {
    #[serde(rename = "24h")]
    pub last_24h: Option<f64>,
    #[serde(rename = "7d")]
    pub last_7d: Option<f64>,
    #[serde(rename = "30d")]
    pub last_30d: Option<f64>,
}

/// One run of a check.
#[derive(Debug, Serialize)]
pub struct RunBody {
    pub at: String,
    pub ok: bool,
    pub latency_ms: f64,
    pub status_code: Option<u16>,
    /// Why it failed, in words meant for a person.
    pub error: Option<String>,
    pub tls_days_left: Option<f64>,
    pub tls_not_after: Option<String>,
}

impl From<&CheckResult> for RunBody {
    fn from(r: &CheckResult) -> RunBody {
        RunBody {
            at: format_rfc3339(r.at),
            ok: r.ok,
            latency_ms: r.latency_ms,
            status_code: r.status_code,
            error: r.error.clone(),
            tls_days_left: r.tls_days_left,
            tls_not_after: r.tls_not_after.map(format_rfc3339),
        }
    }
}

/// A run of failures, from the first failed run to the next success.
#[derive(Debug, Serialize)]
pub struct IncidentBody {
    pub started_at: String,
    /// `null` while still down.
    pub ended_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub first_error: String,
    pub failed_checks: u32,
}

impl From<&Incident> for IncidentBody {
    fn from(i: &Incident) -> IncidentBody {
        IncidentBody {
            started_at: format_rfc3339(i.started_at),
            ended_at: i.ended_at.map(format_rfc3339),
            duration_seconds: i.ended_at.map(|end| (end - i.started_at) as f64 / 1e9),
            first_error: i.first_error.clone(),
            failed_checks: i.failed_checks,
        }
    }
}

/// `GET /api/v1/alerts`: alerts pending and firing, resolved ones, and
/// the latest delivery attempts.
#[derive(Debug, Serialize)]
pub struct AlertsBody {
    /// Pending and firing, in rule order then by key.
    pub alerts: Vec<AlertBody>,
    /// Resolved, oldest first.
    pub history: Vec<AlertBody>,
    /// Newest first.
    pub deliveries: Vec<DeliveryBody>,
    /// Whether this node evaluates the rules (with several nodes on one
    /// store, only the alert leader does).
    pub leader: bool,
}

/// One alert: one rule firing for one subject (an issue, an endpoint, a check).
#[derive(Debug, Serialize)]
pub struct AlertBody {
    pub rule_id: String,
    pub rule_name: String,
    /// Stable within the rule, e.g. `service=checkout,route=/pay`.
    pub key: String,
    pub labels: BTreeMap<String, String>,
    /// `warning` or `critical`.
    pub severity: &'static str,
    /// `pending`, `firing` or `resolved`.
    pub state: &'static str,
    pub title: String,
    pub summary: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub url: Option<String>,
    pub service: Option<String>,
    pub group_id: Option<u64>,
    pub check_id: Option<String>,
    /// Nanoseconds since the epoch (not RFC 3339, unlike the other resources).
    pub started_at: i64,
    pub resolved_at: Option<i64>,
}

impl From<Alert> for AlertBody {
    fn from(a: Alert) -> AlertBody {
        AlertBody {
            rule_id: a.rule_id,
            rule_name: a.rule_name,
            key: a.key,
            labels: a.labels,
            severity: match a.severity {
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            },
            state: match a.state {
                AlertState::Pending => "pending",
                AlertState::Firing => "firing",
                AlertState::Resolved => "resolved",
            },
            title: a.title,
            summary: a.summary,
            value: a.value,
            threshold: a.threshold,
            url: a.url,
            service: a.service,
            group_id: a.group_id,
            check_id: a.check_id,
            started_at: a.started_at,
            resolved_at: a.resolved_at,
        }
    }
}

/// One try at sending a notification to a channel.
#[derive(Debug, Serialize)]
pub struct DeliveryBody {
    pub channel_id: String,
    pub notification_id: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub at: String,
    pub ok: bool,
    /// Why it failed; never the channel's URL, which may hold a secret.
    pub error: Option<String>,
    /// The HTTP status, or for email the SMTP reply code.
    pub status_code: Option<u16>,
    pub duration_ms: f64,
}

impl From<DeliveryAttempt> for DeliveryBody {
    fn from(d: DeliveryAttempt) -> DeliveryBody {
        DeliveryBody {
            channel_id: d.channel_id,
            notification_id: d.notification_id,
            attempt: d.attempt,
            at: format_rfc3339(d.at),
            ok: d.ok,
            error: d.error,
            status_code: d.status_code,
            duration_ms: d.duration_ms,
        }
    }
}

/// `GET /api/v1/alert-rules`.
#[derive(Debug, Serialize)]
pub struct RulesBody {
    pub rules: Vec<RuleBody>,
}

/// An alert rule as written: the flat `[[alerts.rules]]` table, `kind`
/// included, which is also what `POST /api/v1/alert-rules` takes.
#[derive(Debug, Serialize)]
pub struct RuleBody {
    #[serde(flatten)]
    pub rule: Rule,
    /// `config` or `api`; in lists only, not in answers to a create or replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

/// `GET /api/v1/channels`.
#[derive(Debug, Serialize)]
pub struct ChannelsBody {
    pub channels: Vec<ChannelBody>,
}

/// A channel without its secrets (URLs, keys, passwords).
#[derive(Debug, Serialize)]
pub struct ChannelBody {
    pub id: String,
    pub name: String,
    /// `webhook`, `slack`, `email` or `pagerduty`.
    pub kind: &'static str,
    /// `config` or `api`.
    pub source: &'static str,
}

/// `POST /api/v1/channels/{id}/test`: whether the test notification got
/// through, and every attempt.
#[derive(Debug, Serialize)]
pub struct TestSendBody {
    pub ok: bool,
    pub attempts: Vec<DeliveryBody>,
}

/// `GET /api/v1/silences`.
#[derive(Debug, Serialize)]
pub struct SilencesBody {
    pub silences: Vec<SilenceBody>,
}

/// A silence: alerts whose labels match every matcher glob are muted
/// from `starts_at` until `ends_at`.
#[derive(Debug, Serialize)]
pub struct SilenceBody {
    pub id: String,
    pub matchers: BTreeMap<String, String>,
    /// Nanoseconds since the epoch, as alerts' times are.
    pub starts_at: i64,
    pub ends_at: i64,
    pub comment: String,
    pub created_by: String,
}

impl From<Silence> for SilenceBody {
    fn from(s: Silence) -> SilenceBody {
        SilenceBody {
            id: s.id,
            matchers: s.matchers,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            comment: s.comment,
            created_by: s.created_by,
        }
    }
}

/// `POST /api/v1/groups/{id}/snooze`: the alerts are muted until `until`.
#[derive(Debug, Serialize)]
pub struct SnoozeBody {
    pub group_id: u64,
    pub until: String,
}

/// `GET /api/v1/report`: a period compared with the one of the same
/// length before it. `faultline report` reads it back as a
/// [`crate::report::Report`]; `version` goes up when a field is removed or
/// retyped.
#[derive(Debug, Serialize)]
pub struct ReportBody {
    pub version: u32,
    pub generated_at: String,
    pub period: PeriodBody,
    pub previous_period: PeriodBody,
    /// Length of each period, in seconds.
    pub period_seconds: u64,
    pub summary: SummaryBody,
    /// Issues first seen in the period, newest first (at most 20).
    pub new_groups: Vec<GroupLineBody>,
    /// Issues with most events in the period (at most 10).
    pub top_groups: Vec<GroupLineBody>,
    /// Every service with requests in either period, busiest first.
    pub services: Vec<ServiceLineBody>,
    /// Every active check, by id.
    pub checks: Vec<CheckLineBody>,
}

/// `[from, to)`.
#[derive(Debug, Serialize)]
pub struct PeriodBody {
    pub from: String,
    pub to: String,
}

/// Changes are relative (0.25 for +25%) and `null` when there was nothing before.
#[derive(Debug, Serialize)]
pub struct SummaryBody {
    pub events: u64,
    pub previous_events: u64,
    pub events_change: Option<f64>,
    pub new_groups: usize,
    pub previous_new_groups: usize,
}

#[derive(Debug, Serialize)]
pub struct GroupLineBody {
    pub id: u64,
    pub title: String,
    pub service: String,
    pub culprit: String,
    pub status: &'static str,
    pub first_seen: String,
    /// Events in the period and in the previous one.
    pub events: u64,
    pub previous_events: u64,
    /// Every event of the issue, ever.
    pub total_events: u64,
    /// First seen in the period.
    pub new: bool,
    /// `/issues/{id}`, absolute when a public URL is configured.
    pub url: String,
}

/// Rates are shares (0.02 for 2%); their changes are differences.
#[derive(Debug, Serialize)]
pub struct ServiceLineBody {
    pub service: String,
    pub requests: u64,
    pub previous_requests: u64,
    pub requests_change: Option<f64>,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub previous_error_rate: Option<f64>,
    pub error_rate_change: Option<f64>,
    pub p95_ms: Option<f64>,
    pub previous_p95_ms: Option<f64>,
    pub p95_change: Option<f64>,
}

/// Uptime is the share of successful runs; `null` when the check did not run.
#[derive(Debug, Serialize)]
pub struct CheckLineBody {
    pub id: String,
    pub kind: String,
    pub uptime: Option<f64>,
    pub previous_uptime: Option<f64>,
    pub uptime_change: Option<f64>,
    pub runs: usize,
    pub failures: usize,
}

impl From<Report> for ReportBody {
    fn from(r: Report) -> ReportBody {
        ReportBody {
            version: r.version,
            generated_at: format_rfc3339(r.generated_at),
            period: r.period.into(),
            previous_period: r.previous_period.into(),
            period_seconds: r.period_seconds,
            summary: SummaryBody {
                events: r.summary.events,
                previous_events: r.summary.previous_events,
                events_change: r.summary.events_change,
                new_groups: r.summary.new_groups,
                previous_new_groups: r.summary.previous_new_groups,
            },
            new_groups: r.new_groups.into_iter().map(Into::into).collect(),
            top_groups: r.top_groups.into_iter().map(Into::into).collect(),
            services: r.services.into_iter().map(Into::into).collect(),
            checks: r.checks.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Period> for PeriodBody {
    fn from(p: Period) -> PeriodBody {
        PeriodBody { from: format_rfc3339(p.from), to: format_rfc3339(p.to) }
    }
}

impl From<GroupLine> for GroupLineBody {
    fn from(g: GroupLine) -> GroupLineBody {
        GroupLineBody {
            id: g.id,
            title: g.title,
            service: g.service,
            culprit: g.culprit,
            status: g.status.as_str(),
            first_seen: format_rfc3339(g.first_seen),
            events: g.events,
            previous_events: g.previous_events,
            total_events: g.total_events,
            new: g.new,
            url: g.url,
        }
    }
}

impl From<ServiceLine> for ServiceLineBody {
    fn from(s: ServiceLine) -> ServiceLineBody {
        ServiceLineBody {
            service: s.service,
            requests: s.requests,
            previous_requests: s.previous_requests,
            requests_change: s.requests_change,
            errors: s.errors,
            error_rate: s.error_rate,
            previous_error_rate: s.previous_error_rate,
            error_rate_change: s.error_rate_change,
            p95_ms: s.p95_ms,
            previous_p95_ms: s.previous_p95_ms,
            p95_change: s.p95_change,
        }
    }
}

impl From<CheckLine> for CheckLineBody {
    fn from(c: CheckLine) -> CheckLineBody {
        CheckLineBody {
            id: c.id,
            kind: c.kind,
            uptime: c.uptime,
            previous_uptime: c.previous_uptime,
            uptime_change: c.uptime_change,
            runs: c.runs,
            failures: c.failures,
        }
    }
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
        let mut body = serde_json::to_value(EventBody::from(e)).unwrap();
        // Only added: the details read from the attributes, empty here.
        let added: Vec<serde_json::Value> =
            ["breadcrumbs", "request", "user", "contexts", "tags", "extra", "sdk"]
                .iter()
                .map(|k| body.as_object_mut().unwrap().remove(*k).unwrap())
                .collect();
        assert_eq!(body, domain);
        let empty = serde_json::json!([[], null, null, {}, {}, {}, null]);
        assert_eq!(serde_json::Value::Array(added), empty);

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
            collapsed_fingerprints: 3,
        };
        let domain = serde_json::to_value(&g).unwrap();
        assert_eq!(serde_json::to_value(GroupBody::from(g)).unwrap(), domain);
    }

    /// What `checks::describe` built by hand before the check body was
    /// typed, kept here as the reference the body must equal.
    fn described_by_hand(status: &CheckStatus, detail: bool) -> serde_json::Value {
        use serde_json::json;
        let run = |r: &CheckResult| {
            json!({
                "at": format_rfc3339(r.at),
                "ok": r.ok,
                "latency_ms": r.latency_ms,
                "status_code": r.status_code,
                "error": r.error,
                "tls_days_left": r.tls_days_left,
                "tls_not_after": r.tls_not_after.map(format_rfc3339),
            })
        };
        let incident = |i: &Incident| {
            json!({
                "started_at": format_rfc3339(i.started_at),
                "ended_at": i.ended_at.map(format_rfc3339),
                "duration_seconds": i.ended_at.map(|e| (e - i.started_at) as f64 / 1e9),
                "first_error": i.first_error,
                "failed_checks": i.failed_checks,
            })
        };
        let (check, uptime, last) = (&status.check, &status.uptime, &status.last);
        let mut value = json!({
            "id": check.id,
            "kind": check.kind(),
            "source": status.source.as_str(),
            "interval_seconds": check.interval.as_secs_f64(),
            "definition": check,
            "state": status.state,
            "consecutive_failures": status.consecutive_failures,
            "uptime": { "24h": uptime.last_24h, "7d": uptime.last_7d, "30d": uptime.last_30d },
            "tls_days_left": last.as_ref().and_then(|r| r.tls_days_left),
            "last_run": last.as_ref().map(run),
            "open_incident": status.incidents.last().filter(|i| i.ended_at.is_none()).map(incident),
        });
        if detail {
            value["incidents"] = status.incidents.iter().rev().map(incident).collect();
            value["recent_runs"] = status.results.iter().rev().take(50).map(run).collect();
        }
        value
    }

    fn run(at: i64, ok: bool) -> CheckResult {
        CheckResult {
            check_id: "site".into(),
            at,
            ok,
            latency_ms: 12.5,
            status_code: Some(if ok { 200 } else { 503 }),
            error: (!ok).then(|| "expected status 200-399, got 503".into()),
            tls_days_left: Some(40.25),
            tls_not_after: Some(at + 40 * 86_400_000_000_000),
        }
    }

    #[test]
    fn check_bodies_match_the_hand_built_json() {
        let check: Check = serde_json::from_value(serde_json::json!({
            "id": "site", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "30s"
        }))
        .unwrap();
        let results: Vec<CheckResult> =
            (0..60).map(|i| run(1_764_000_000_000_000_000 + i, i % 7 != 3)).collect();
        let ended = Incident {
            started_at: 10,
            ended_at: Some(2_500_000_000),
            first_error: "x".into(),
            failed_checks: 2,
        };
        let open =
            Incident { started_at: 3_000_000_000, ended_at: None, first_error: "y".into(), failed_checks: 1 };
        let status = CheckStatus {
            check,
            source: crate::checks::Source::Api,
            state: CheckState::Down,
            consecutive_failures: 1,
            uptime: faultline_probe::UptimeSummary {
                last_24h: Some(0.5),
                last_7d: None,
                last_30d: Some(1.0),
            },
            last: results.last().cloned(),
            incidents: vec![ended, open],
            results,
        };
        for detail in [false, true] {
            let typed = serde_json::to_value(CheckBody::new(status.clone(), detail)).unwrap();
            assert_eq!(typed, described_by_hand(&status, detail), "detail {detail}");
        }
        let unknown = CheckStatus { state: CheckState::Unknown, last: None, incidents: vec![], ..status };
        let typed = serde_json::to_value(CheckBody::new(unknown.clone(), false)).unwrap();
        assert_eq!(typed, described_by_hand(&unknown, false));
    }

    fn alert() -> Alert {
        Alert {
            rule_id: "api-errors".into(),
            rule_name: "API errors".into(),
            key: "service=checkout".into(),
            labels: [("service".to_string(), "checkout".to_string())].into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            title: "t".into(),
            summary: "s".into(),
            value: Some(0.07),
            threshold: Some(0.05),
            url: None,
            service: Some("checkout".into()),
            group_id: Some(4),
            check_id: None,
            started_at: 1_764_000_000_123_000_000,
            resolved_at: None,
        }
    }

    #[test]
    fn alert_bodies_match_the_domain_serialization() {
        for (severity, state) in [
            (Severity::Warning, AlertState::Pending),
            (Severity::Critical, AlertState::Firing),
            (Severity::Warning, AlertState::Resolved),
        ] {
            let a = Alert { severity, state, resolved_at: Some(9), ..alert() };
            let domain = serde_json::to_value(&a).unwrap();
            assert_eq!(serde_json::to_value(AlertBody::from(a)).unwrap(), domain);
        }
        let d = DeliveryAttempt {
            channel_id: "hook".into(),
            notification_id: "n".into(),
            attempt: 2,
            at: 1_764_000_000_000_000_000,
            ok: false,
            error: Some("HTTP 500".into()),
            status_code: Some(500),
            duration_ms: 3.5,
        };
        let domain = serde_json::to_value(&d).unwrap();
        assert_eq!(serde_json::to_value(DeliveryBody::from(d)).unwrap(), domain);

        let silence = Silence {
            id: "s-1".into(),
            matchers: [("service".to_string(), "check*".to_string())].into(),
            starts_at: 1,
            ends_at: 2,
            comment: "deploy".into(),
            created_by: String::new(),
        };
        let domain = serde_json::to_value(&silence).unwrap();
        assert_eq!(serde_json::to_value(SilenceBody::from(silence)).unwrap(), domain);
    }

    #[test]
    fn rule_bodies_are_the_rule_with_its_source() {
        let rule: Rule = serde_json::from_value(serde_json::json!({
            "id": "api-errors", "kind": "error_rate", "service": "checkout", "window": "5m",
            "min_requests": 20, "warning": 0.02, "critical": 0.05, "resolve": 0.01
        }))
        .unwrap();
        let mut by_hand = serde_json::json!(rule);
        assert_eq!(serde_json::to_value(RuleBody { rule: rule.clone(), source: None }).unwrap(), by_hand);
        by_hand["source"] = serde_json::json!("config");
        assert_eq!(serde_json::to_value(RuleBody { rule, source: Some("config") }).unwrap(), by_hand);
    }

    #[test]
    fn report_body_matches_the_report_serialization() {
        use crate::report::{CheckLine, GroupLine, Period, ServiceLine, Summary, REPORT_VERSION};
        let period = Period { from: 1_764_000_000_000_000_000, to: 1_764_086_400_000_000_000 };
        let report = Report {
            version: REPORT_VERSION,
            generated_at: period.to,
            period,
            previous_period: period.previous(),
            period_seconds: period.seconds(),
            summary: Summary {
                events: 12,
                previous_events: 4,
                events_change: Some(2.0),
                new_groups: 1,
                previous_new_groups: 0,
            },
            new_groups: vec![GroupLine {
                id: 7,
                title: "KeyError".into(),
                service: "shop".into(),
                culprit: "c".into(),
                status: GroupStatus::Unresolved,
                first_seen: period.from + 5,
                events: 12,
                previous_events: 0,
                total_events: 12,
                new: true,
                url: "/issues/7".into(),
            }],
            top_groups: vec![],
            services: vec![ServiceLine {
                service: "shop".into(),
                requests: 100,
                previous_requests: 0,
                requests_change: None,
                errors: 2,
                error_rate: Some(0.02),
                previous_error_rate: None,
                error_rate_change: None,
                p95_ms: Some(41.5),
                previous_p95_ms: None,
                p95_change: None,
            }],
            checks: vec![CheckLine {
                id: "site".into(),
                kind: "http".into(),
                uptime: Some(0.99),
                previous_uptime: Some(1.0),
                uptime_change: Some(-0.01),
                runs: 100,
                failures: 1,
            }],
        };
        let domain = serde_json::to_value(&report).unwrap();
        assert_eq!(serde_json::to_value(ReportBody::from(report)).unwrap(), domain);
    }
}

/// One access token, never with its secret or hash (`GET /api/v1/tokens`).
#[derive(Debug, Serialize)]
pub struct TokenBody {
    pub id: String,
    pub name: String,
    /// `ingest`, `read` or `admin`.
    pub scope: &'static str,
    /// The services an ingest token may send for; empty is any.
    pub services: Vec<String>,
    pub created_at: String,
    /// The token's own fair-use rate (error events per second); `null`:
    /// the server's `limits.events_per_second_per_token`.
    pub events_per_second: Option<u64>,
}

impl TokenBody {
    pub fn new(token: &faultline_model::AccessToken) -> TokenBody {
        TokenBody {
            id: token.id.clone(),
            name: token.name.clone(),
            scope: token.scope.as_str(),
            services: token.services.clone(),
            created_at: format_rfc3339(token.created_at),
            events_per_second: token.events_per_second,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TokensBody {
    pub tokens: Vec<TokenBody>,
}

/// `POST /api/v1/tokens`: the token and, this once, its secret.
#[derive(Debug, Serialize)]
pub struct CreatedTokenBody {
    #[serde(flatten)]
    pub token: TokenBody,
    /// The secret to send as `Authorization: Bearer <secret>`; not shown again.
    pub secret: String,
}

/// `POST /api/v1/admin/backup`: what the backup wrote.
#[derive(Debug, Serialize)]
pub struct BackupBody {
    /// The new data directory, on the server's machine.
    pub to: String,
    /// Records copied (events, groups, health buckets, tokens, …).
    pub keys: u64,
    /// Bytes the copy takes on disk.
    pub disk_bytes: u64,
    /// How long the copy took: ingestion waited that long.
    pub seconds: f64,
}

impl BackupBody {
    pub fn new(report: &faultline_store::BackupReport) -> BackupBody {
        BackupBody {
            to: report.dir.display().to_string(),
            keys: report.keys,
            disk_bytes: report.disk_bytes,
            seconds: report.seconds,
        }
    }
}
