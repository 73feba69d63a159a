//! Release health: `session` items (one session, updated as it goes, from
//! SDKs in application mode) and `sessions` items (per-minute aggregates,
//! from SDKs in server mode), counted per release and outcome so a
//! crash-free rate can be computed from them.
//!
//! ```text
//! {"attrs":{"release":"shop@2.4.0","environment":"prod"},
//!  "aggregates":[{"started":"...","exited":3,"errored":1,"crashed":1}]}
//! {"sid":"...","status":"exited","errors":1,"attrs":{"release":"shop@2.4.0"}}
//! ```

use serde::Deserialize;

use crate::envelope::{Envelope, ItemKind};

/// How sessions ended, as Sentry names it: `exited` (healthy), `errored`
/// (an error was captured), `crashed` (an unhandled one), `abnormal`.
pub const SESSION_OUTCOMES: [&str; 4] = ["exited", "errored", "crashed", "abnormal"];

/// Sessions of one release that ended one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCount {
    pub release: String,
    pub outcome: &'static str,
    pub count: u64,
}

#[derive(Deserialize)]
struct Attrs {
    release: Option<String>,
}

#[derive(Deserialize)]
struct Session {
    status: Option<String>,
    #[serde(default)]
    errors: u64,
    attrs: Option<Attrs>,
}

#[derive(Deserialize)]
struct Aggregates {
    attrs: Option<Attrs>,
    #[serde(default)]
    aggregates: Vec<Aggregate>,
}

#[derive(Deserialize)]
struct Aggregate {
    #[serde(default)]
    exited: u64,
    #[serde(default)]
    errored: u64,
    #[serde(default)]
    crashed: u64,
    #[serde(default)]
    abnormal: u64,
}

/// The ended sessions of the envelope's `session` and `sessions` items.
/// A single session counts once, when its status says it ended (its
/// earlier updates, status `ok`, do not); sessions without a release are
/// not counted (Sentry drops them too), nor items that cannot be read.
pub fn session_counts(envelope: &Envelope) -> Vec<SessionCount> {
    let mut counts = Vec::new();
    for item in &envelope.items {
        match item.kind {
            ItemKind::Session => {
                if let Ok(session) = serde_json::from_slice::<Session>(&item.payload) {
                    add_session(&mut counts, session);
                }
            }
            ItemKind::Sessions => {
                if let Ok(aggregates) = serde_json::from_slice::<Aggregates>(&item.payload) {
                    add_aggregates(&mut counts, aggregates);
                }
            }
            _ => {}
        }
    }
    counts
}

fn release(attrs: Option<Attrs>) -> Option<String> {
    attrs?.release.filter(|r| !r.trim().is_empty())
}

fn add_session(counts: &mut Vec<SessionCount>, session: Session) {
    let outcome = match session.status.as_deref() {
        Some("exited") if session.errors > 0 => "errored",
        Some("exited") => "exited",
        Some("crashed") => "crashed",
        Some("abnormal") => "abnormal",
        _ => return,
    };
    if let Some(release) = release(session.attrs) {
        counts.push(SessionCount { release, outcome, count: 1 });
    }
}

fn add_aggregates(counts: &mut Vec<SessionCount>, aggregates: Aggregates) {
    let Some(release) = release(aggregates.attrs) else {
        return;
    };
    for a in aggregates.aggregates {
        for (outcome, count) in SESSION_OUTCOMES.into_iter().zip([a.exited, a.errored, a.crashed, a.abnormal])
        {
            if count > 0 {
                counts.push(SessionCount { release: release.clone(), outcome, count });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::parse_envelope;

    fn summary(body: &[u8]) -> Vec<(String, &'static str, u64)> {
        session_counts(&parse_envelope(body).unwrap())
            .into_iter()
            .map(|c| (c.release, c.outcome, c.count))
            .collect()
    }

    #[test]
    fn aggregates_as_sentry_python_sends_them_in_server_mode() {
        // Captured from sentry-sdk 2.75.0 (tests/sdk/python/sessions.py).
        let body = b"{}\n{\"type\":\"sessions\",\"content_type\":\"application/json\",\"length\":147}\n\
{\"attrs\":{\"environment\":\"prod\",\"release\":\"shop@2.4.0\"},\"aggregates\":[{\"started\":\"2026-12-06T00:32:00.000000Z\",\"exited\":3,\"errored\":1,\"crashed\":1}]}\n";
        let r = || "shop@2.4.0".to_string();
        assert_eq!(summary(body), [(r(), "exited", 3), (r(), "errored", 1), (r(), "crashed", 1)]);
    }

    #[test]
    fn a_single_session_counts_once_when_it_ends() {
        let session = |status: &str, errors: u64| {
            format!("{{\"type\":\"session\"}}\n{{\"sid\":\"s\",\"status\":\"{status}\",\"errors\":{errors},\"attrs\":{{\"release\":\"r1\"}}}}\n")
        };
        let body = format!(
            "{{}}\n{}{}{}{}{}{}",
            session("ok", 0),
            session("ok", 1),
            session("exited", 0),
            session("exited", 2),
            session("crashed", 1),
            session("abnormal", 0)
        );
        let outcomes: Vec<&str> = summary(body.as_bytes()).iter().map(|c| c.1).collect();
        assert_eq!(outcomes, ["exited", "errored", "crashed", "abnormal"]);
        let unreleased = b"{}\n{\"type\":\"session\"}\n{\"status\":\"crashed\"}\n{\"type\":\"sessions\"}\n{\"aggregates\":[{\"exited\":1}],\"attrs\":{\"release\":\" \"}}\n{\"type\":\"session\"}\nnot json\n";
        assert_eq!(summary(unreleased), []);
    }
}
