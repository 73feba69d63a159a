//! What the server tells the engine: facts as they happen (an issue was
//! created, regressed, seen again, resolved) and observations it computes
//! on its tick (endpoint figures over a window, check status, completed
//! hours for anomaly baselines).

use std::time::Duration;

use faultline_model::{ErrorEvent, Group, UnixNanos};
use serde::{Deserialize, Serialize};

/// The issue an event belongs to, with what rule filters look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub group_id: u64,
    pub service: String,
    pub environment: Option<String>,
    pub exception_type: Option<String>,
    /// `error` for span-derived events, the log severity (`ERROR`, `FATAL`) for logs.
    pub level: String,
    pub title: String,
    pub culprit: String,
}

impl Issue {
    /// The issue of `event` once it joined `group`. The environment and
    /// level are the event's: a group spans environments, an alert is
    /// about the one it just happened in.
    pub fn new(group: &Group, event: &ErrorEvent) -> Issue {
        Issue {
            group_id: group.id,
            service: group.service.clone(),
            environment: event.environment.clone(),
            exception_type: group.exception_type.clone().or_else(|| event.exception_type.clone()),
            level: event.level.clone(),
            title: group.title.clone(),
            culprit: group.culprit.clone(),
        }
    }
}

/// One error event of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueEvent {
    pub issue: Issue,
    /// Who it happened to (`enduser.id`, else `user.id`), for `distinct_users`.
    pub user: Option<String>,
    /// When it happened (the event's timestamp). Times in the future are
    /// taken as now, so a client with a fast clock cannot hold a window open.
    pub at: UnixNanos,
}

/// Attributes naming the user, in order of preference: the OTel semantic
/// convention first, then the common unofficial one.
pub const USER_ATTRIBUTES: [&str; 2] = ["enduser.id", "user.id"];

impl IssueEvent {
    pub fn new(group: &Group, event: &ErrorEvent) -> IssueEvent {
        IssueEvent { issue: Issue::new(group, event), user: user_of(event), at: event.timestamp }
    }
}

/// The user an event happened to, from [`USER_ATTRIBUTES`]; numbers count
/// too, since many apps use numeric user ids.
pub fn user_of(event: &ErrorEvent) -> Option<String> {
    USER_ATTRIBUTES.iter().find_map(|name| match event.attribute(name)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Something that happened to an issue. The server sends exactly one of
/// the first three per stored error event (after it is committed), and
/// `GroupResolved` when a person resolves, ignores or merges away an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// The event created its issue. Also counts as an event of the issue.
    NewGroup(IssueEvent),
    /// The event reopened a resolved issue; `at` is when it regressed.
    /// Also counts as an event of the issue.
    Regression(IssueEvent),
    /// Any other event of an issue: frequency windows, and the quiet
    /// period after which new-issue and regression alerts resolve.
    GroupEvent(IssueEvent),
    /// The issue was resolved (or ignored, or merged into another): its
    /// alerts resolve and its frequency windows start over.
    GroupResolved { group_id: u64, at: UnixNanos },
}

/// The endpoint a figure is about. `route: None` is the whole service
/// (all routes together), which rules without a `route` look at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub service: String,
    pub environment: Option<String>,
    pub route: Option<String>,
}

/// An endpoint's figures over the `window` ending at `at`. The server
/// computes one per endpoint (and per service, with `route: None`) for
/// each window in [`super::Engine::endpoint_windows`], on every tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointWindow {
    pub endpoint: Endpoint,
    pub window: Duration,
    pub requests: u64,
    /// Server errors (5xx, status ERROR); not 4xx.
    pub errors: u64,
    /// Latency percentiles over the window; `None` without requests.
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub at: UnixNanos,
}

/// The latest state of one active check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub check_id: String,
    /// Failed runs in a row up to now; 0 after a success.
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Days until the certificate expires (negative once expired), for TLS
    /// and HTTPS checks that completed a handshake.
    pub tls_days_left: Option<f64>,
    pub at: UnixNanos,
}

/// One completed hour of an endpoint, the history anomaly rules compare
/// against. Sending an hour again replaces it, so the server can backfill
/// from its hourly rollups at start without double counting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourlyFigures {
    pub endpoint: Endpoint,
    /// Start of the hour (any time inside it is rounded down).
    pub hour_start: UnixNanos,
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: Option<f64>,
}

/// Figures the server computes on its tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    Endpoint(EndpointWindow),
    Check(CheckStatus),
    Hourly(HourlyFigures),
}

/// Anything [`super::Engine::observe`] takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    Fact(Fact),
    Observation(Observation),
}

impl From<Fact> for Input {
    fn from(fact: Fact) -> Input {
        Input::Fact(fact)
    }
}

impl From<Observation> for Input {
    fn from(observation: Observation) -> Input {
        Input::Observation(observation)
    }
}

impl From<EndpointWindow> for Input {
    fn from(window: EndpointWindow) -> Input {
        Input::Observation(Observation::Endpoint(window))
    }
}

impl From<CheckStatus> for Input {
    fn from(status: CheckStatus) -> Input {
        Input::Observation(Observation::Check(status))
    }
}

impl From<HourlyFigures> for Input {
    fn from(figures: HourlyFigures) -> Input {
        Input::Observation(Observation::Hourly(figures))
    }
}
