#![allow(clippy::unwrap_used)]

use faultline_alert::notify::ChannelConfig;
use faultline_model::parse_rfc3339;

use super::*;

fn t(text: &str) -> UnixNanos {
    parse_rfc3339(text).unwrap()
}

fn digest(schedule: &str, at: Option<&str>) -> DigestConfig {
    DigestConfig { channel: "ops".into(), schedule: schedule.into(), at: at.map(Into::into), since: None }
}

fn channel(id: &str, config: ChannelConfig) -> Channel {
    Channel { id: id.into(), name: id.into(), config }
}

fn hook(id: &str) -> Channel {
    let config = ChannelConfig::Webhook {
        url: "http://127.0.0.1:9/x".into(),
        secret: None,
        headers: Default::default(),
    };
    channel(id, config)
}

#[test]
fn daily_slots_are_at_the_time_of_day_utc() {
    let plan = digest("daily", Some("09:30")).plan().unwrap();
    assert_eq!(plan.since, Duration::from_secs(86_400));
    assert_eq!(plan.latest_slot(t("2025-01-02T09:29:59Z")), t("2025-01-01T09:30:00Z"));
    assert_eq!(plan.latest_slot(t("2025-01-02T09:30:00Z")), t("2025-01-02T09:30:00Z"));
    assert_eq!(plan.latest_slot(t("2025-01-02T23:59:00Z")), t("2025-01-02T09:30:00Z"));
    let default = digest("daily", None).plan().unwrap();
    assert_eq!(default.latest_slot(t("2025-01-02T12:00:00Z")), t("2025-01-02T09:00:00Z"));
}

#[test]
fn weekly_slots_are_on_mondays() {
    let plan = digest("weekly", None).plan().unwrap();
    assert_eq!(plan.since, Duration::from_secs(7 * 86_400));
    // 2025-01-06 was a Monday.
    assert_eq!(plan.latest_slot(t("2025-01-08T12:00:00Z")), t("2025-01-06T09:00:00Z"));
    assert_eq!(plan.latest_slot(t("2025-01-06T08:59:00Z")), t("2024-12-30T09:00:00Z"));
    assert_eq!(plan.latest_slot(t("2025-01-13T09:00:00Z")), t("2025-01-13T09:00:00Z"));
    // Before the first Monday of the epoch too.
    assert_eq!(plan.latest_slot(t("1970-01-02T00:00:00Z")), t("1969-12-29T09:00:00Z"));
}

#[test]
fn every_slots_count_from_the_epoch() {
    let plan = digest("every:10s", None).plan().unwrap();
    assert_eq!(plan.since, Duration::from_secs(10));
    assert_eq!(plan.latest_slot(t("2025-01-01T00:00:19Z")), t("2025-01-01T00:00:10Z"));
    let since = DigestConfig { since: Some("1h".into()), ..digest("every:10s", None) }.plan().unwrap();
    assert_eq!(since.since, Duration::from_secs(3600));
}

#[test]
fn first_start_sends_nothing_then_each_slot_once() {
    let plan = digest("daily", None).plan().unwrap();
    let start = t("2025-01-02T10:00:00Z");
    assert_eq!(plan.due(None, start), Due::Baseline(t("2025-01-02T09:00:00Z")));
    let last = Some(t("2025-01-02T09:00:00Z"));
    assert_eq!(plan.due(last, t("2025-01-03T08:59:59Z")), Due::Wait);
    assert_eq!(plan.due(last, t("2025-01-03T09:00:00Z")), Due::Send(t("2025-01-03T09:00:00Z")));
    // After the restart that follows a send, nothing is repeated.
    assert_eq!(plan.due(Some(t("2025-01-03T09:00:00Z")), t("2025-01-03T09:00:05Z")), Due::Wait);
}

#[test]
fn downtime_over_slots_sends_once_for_the_latest() {
    let plan = digest("daily", None).plan().unwrap();
    let last = Some(t("2025-01-01T09:00:00Z"));
    let back = t("2025-01-04T07:00:00Z");
    assert_eq!(plan.due(last, back), Due::Send(t("2025-01-03T09:00:00Z")));
    assert_eq!(plan.due(Some(t("2025-01-03T09:00:00Z")), back), Due::Wait);
}

#[test]
fn bad_schedules_are_refused_with_reasons() {
    let cases = [
        (digest("hourly", None), "use daily, weekly or every"),
        (digest("daily", Some("9:00")), "like 09:00"),
        (digest("daily", Some("24:00")), "like 09:00"),
        (digest("weekly", Some("09:60")), "like 09:00"),
        (digest("every:1s", None), "at least"),
        (digest("every:soon", None), "not a duration"),
        (digest("every:1h", Some("09:00")), "`at` applies"),
        (DigestConfig { since: Some("0s".into()), ..digest("daily", None) }, "between"),
    ];
    for (config, expected) in cases {
        let error = format!("{:#}", config.plan().unwrap_err());
        assert!(error.contains(expected), "{config:?}: {error}");
    }
}

#[test]
fn validation_checks_channels_and_duplicates() {
    let channels = vec![
        hook("ops"),
        channel("pd", ChannelConfig::PagerDuty { routing_key: "k".into(), events_url: None }),
    ];
    validate(&[digest("daily", None), digest("weekly", None)], &channels).unwrap();
    let error = |digests: &[DigestConfig]| format!("{:#}", validate(digests, &channels).unwrap_err());
    assert!(error(&[DigestConfig { channel: "nope".into(), ..digest("daily", None) }])
        .contains("no such channel"));
    assert!(error(&[DigestConfig { channel: "pd".into(), ..digest("daily", None) }])
        .contains("cannot receive reports"));
    assert!(error(&[digest("daily", None), digest("daily", None)]).contains("twice"));
}

#[test]
fn state_round_trips_as_json() {
    let state = SavedState { version: STATE_VERSION, last_slot: t("2025-01-02T09:00:00Z") };
    let bytes = serde_json::to_vec(&state).unwrap();
    assert_eq!(String::from_utf8_lossy(&bytes), r#"{"version":1,"last_slot":"2025-01-02T09:00:00Z"}"#);
    let back: SavedState = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back.last_slot, state.last_slot);
}
