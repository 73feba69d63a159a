//! Anomaly rules on a synthetic series with a strong daily pattern: busy,
//! slow, reliable office hours and quiet nights when batch jobs fail more.

use std::time::Duration;

use faultline_alert::engine::{EndpointWindow, Engine, Input};
use faultline_alert::{Notification, NotificationKind};

use crate::support::*;

const RULES: &str = r#"
[[alerts.rules]]
id = "latency-anomaly"
kind = "anomaly"
metric = "p95"
service = "checkout"

[[alerts.rules]]
id = "error-anomaly"
kind = "anomaly"
metric = "error_rate"
service = "checkout"
"#;

/// Deterministic noise: ±5% around 1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let unit = (self.0 >> 33) as f64 / (1u64 << 31) as f64;
        1.0 + 0.1 * (unit - 0.5)
    }
}

fn office_hours(hour_start: i64) -> bool {
    (8..20).contains(&(hour_start.rem_euclid(D) / H))
}

/// (requests, errors, p95) of a normal hour starting at `hour_start`.
fn normal(noise: &mut Noise, hour_start: i64) -> (u64, u64, f64) {
    let (requests, error_rate, p95) =
        if office_hours(hour_start) { (5000u64, 0.004, 400.0) } else { (500, 0.02, 120.0) };
    let errors = (requests as f64 * error_rate * noise.next()).round() as u64;
    (requests, errors, p95 * noise.next())
}

fn window(requests: u64, errors: u64, p95: f64, at: i64) -> EndpointWindow {
    EndpointWindow {
        endpoint: endpoint("checkout", None),
        window: Duration::from_secs(3600),
        requests,
        errors,
        p95_ms: Some(p95),
        p99_ms: Some(p95 * 1.5),
        at,
    }
}

/// An engine fed `days` days of normal hours before T0.
fn with_history(days: i64, noise: &mut Noise) -> Engine {
    let mut engine = engine(RULES);
    let e = endpoint("checkout", None);
    for hour in 0..days * 24 {
        let start = T0 - days * D + hour * H;
        let (requests, errors, p95) = normal(noise, start);
        engine.observe(hourly(&e, start, requests, errors, p95), start + H);
    }
    engine
}

/// Half past the hour starting at `hour_start`: the server records the
/// hour before, sends the last hour's figures (`current`, or normal ones)
/// and ticks.
fn half_past(
    engine: &mut Engine,
    noise: &mut Noise,
    hour_start: i64,
    current: Option<(u64, u64, f64)>,
) -> Vec<Notification> {
    let t = hour_start + 30 * M;
    let previous = hour_start - H;
    let (requests, errors, p95) = normal(noise, previous);
    let (r, e, p) = current.unwrap_or_else(|| normal(noise, hour_start));
    let inputs: Vec<Input> = vec![
        hourly(&endpoint("checkout", None), previous, requests, errors, p95).into(),
        window(r, e, p, t).into(),
    ];
    let mut sent = engine.observe_all(inputs, t);
    sent.extend(engine.tick(t));
    sent
}

#[test]
fn daily_seasonality_is_not_an_anomaly_and_a_spike_is() {
    let mut noise = Noise(7);
    let mut engine = with_history(8, &mut noise);
    // A whole day and more of normal hours, including 08:00 when latency
    // jumps from ~120 ms to ~400 ms and 20:00 when the error rate jumps
    // from 0.4% to 2%: far outside the last six hours, usual for the hour.
    for hour in 0..34 {
        let sent = half_past(&mut engine, &mut noise, T0 + hour * H, None);
        assert!(sent.is_empty(), "hour {hour}: {sent:#?}");
    }

    // 10:30 on the second day: p95 three times its usual.
    let ten = T0 + D + 10 * H;
    let sent = half_past(&mut engine, &mut noise, ten, Some((5000, 20, 1200.0)));
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "latency-anomaly".to_string(), 1)]);
    let alert = &sent[0].alerts[0];
    assert_eq!(alert.title, "Unusual p95 latency on checkout (prod): 1200 ms");
    assert!(alert.summary.contains("at this hour (last 7 days)"), "{}", alert.summary);
    let level = alert.threshold.unwrap();
    assert!((400.0..600.0).contains(&level), "alerting level {level}");

    // Back to normal an hour later: resolved.
    let sent = half_past(&mut engine, &mut noise, ten + H, None);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "latency-anomaly".to_string(), 1)]);

    // 14:30: 4% errors in office hours, when 0.4% is usual.
    let sent = half_past(&mut engine, &mut noise, ten + 4 * H, Some((5000, 200, 400.0)));
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "error-anomaly".to_string(), 1)]);
    assert!(sent[0].alerts[0].title.starts_with("Unusual error rate on checkout (prod): 4%"));
}

#[test]
fn a_small_rise_is_within_noise() {
    let mut noise = Noise(11);
    let mut engine = with_history(8, &mut noise);
    for hour in 0..10 {
        half_past(&mut engine, &mut noise, T0 + hour * H, None);
    }
    // 10:30: latency 15% up and one extra error in a thousand.
    let sent = half_past(&mut engine, &mut noise, T0 + 10 * H, Some((5000, 25, 460.0)));
    assert!(sent.is_empty(), "{sent:#?}");
}

#[test]
fn too_little_history_or_traffic_stays_quiet() {
    let mut noise = Noise(3);
    // Two days of history: fewer than three same hours to compare with.
    let mut engine = with_history(2, &mut noise);
    for hour in 0..10 {
        half_past(&mut engine, &mut noise, T0 + hour * H, None);
    }
    assert!(half_past(&mut engine, &mut noise, T0 + 10 * H, Some((5000, 2000, 5000.0))).is_empty());

    // Enough history, but the last hour saw 50 requests (under min_requests).
    let mut engine = with_history(8, &mut noise);
    for hour in 0..10 {
        half_past(&mut engine, &mut noise, T0 + hour * H, None);
    }
    assert!(half_past(&mut engine, &mut noise, T0 + 10 * H, Some((50, 40, 5000.0))).is_empty());
}
