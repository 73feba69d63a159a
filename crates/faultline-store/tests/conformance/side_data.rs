//! Health figures, check runs, alerting state and deliveries.

use std::time::Duration;

use faultline_model::{HealthKey, HealthSample, Outcome};
use faultline_store::{HealthBatch, HealthFilter, Store};

const MINUTE: i64 = 60_000_000_000;

fn key(route: &str) -> HealthKey {
    HealthKey { service: "api".into(), environment: "prod".into(), route: route.into(), method: "GET".into() }
}

fn samples(route: &str, at: i64, n: u32, outcome: Outcome) -> Vec<HealthSample> {
    (0..n).map(|i| HealthSample { key: key(route), at, duration_ms: f64::from(i + 1), outcome }).collect()
}

fn batch(samples: &[HealthSample]) -> HealthBatch {
    let mut b = HealthBatch::new();
    faultline_store::health::add_samples(&mut b, samples);
    b
}

pub fn health_buckets_merge_roll_up_expire_and_cap_endpoints(storage: &dyn Store) {
    // Recent enough that the write path keeps minute resolution.
    let t0 = faultline_store::health::minute_start(faultline_store::health::minute_of(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64,
    )) - 10 * MINUTE;
    let submit = |s: Vec<HealthSample>| {
        storage.submit(Vec::new(), batch(&s)).unwrap().blocking_recv().unwrap().unwrap()
    };
    submit(samples("/a", t0, 100, Outcome::Ok));
    submit(samples("/a", t0 + 30_000_000_000, 10, Outcome::ServerError));
    submit(samples("/a", t0 + MINUTE, 5, Outcome::ClientError));
    submit(samples("/b", t0, 1, Outcome::Ok));
    submit(samples("/c", t0, 3, Outcome::Ok)); // third endpoint: over the cap
    let all = storage.health(t0, t0 + 2 * MINUTE, &HealthFilter::default()).unwrap();
    let a = &all[&key("/a")];
    assert_eq!((a.requests, a.errors, a.client_errors), (115, 10, 5));
    assert_eq!(a.latency.quantile(1.0).map(|v| (v - 100.0).abs() <= 1.0), Some(true));
    assert!(all.contains_key(&key("/b")));
    assert!(!all.contains_key(&key("/c")));
    let other = HealthKey { route: "other".into(), method: String::new(), ..key("/c") };
    assert_eq!(all[&other].requests, 3);
    assert_eq!(storage.stats().unwrap().endpoints_overflowed, 3);

    let series = storage
        .health_series(
            t0,
            t0 + 3 * MINUTE,
            Duration::from_secs(60),
            &HealthFilter { route: Some("/a".into()), ..Default::default() },
        )
        .unwrap();
    assert_eq!(series.iter().map(|(_, b)| b.requests).collect::<Vec<_>>(), vec![110, 5, 0]);
    // A range that starts mid-minute still gets points on minute
    // boundaries, the first one whole.
    let series = storage
        .health_series(
            t0 + 30_000_000_000,
            t0 + 3 * MINUTE,
            Duration::from_secs(60),
            &HealthFilter { route: Some("/a".into()), ..Default::default() },
        )
        .unwrap();
    assert_eq!(series.iter().map(|(t, _)| t - t0).collect::<Vec<_>>(), vec![0, MINUTE, 2 * MINUTE]);
    assert_eq!(series[0].1.requests, 110);

    // Two hours later the minutes are rolled into their hour: same totals.
    storage.maintain(t0 + 120 * MINUTE).unwrap().blocking_recv().unwrap().unwrap();
    let rolled = storage.health(t0, t0 + 2 * MINUTE, &HealthFilter::default()).unwrap();
    assert_eq!(rolled[&key("/a")].requests, 115);
    assert_eq!(rolled[&key("/a")].latency.count(), 115);
    // After the retention they are gone.
    storage.maintain(t0 + 3 * 24 * 60 * MINUTE).unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.health(t0 - 60 * MINUTE, t0 + 60 * MINUTE, &HealthFilter::default()).unwrap().is_empty());
}

pub fn check_runs_and_definitions_are_stored_and_expire(storage: &dyn Store) {
    use faultline_model::CheckResult;
    let day = 24 * 3600 * 1_000_000_000i64;
    let now = 1_700_000_000_000_000_000;
    let run = |id: &str, at: i64, ok: bool| CheckResult {
        check_id: id.into(),
        at,
        ok,
        latency_ms: 12.5,
        status_code: Some(if ok { 200 } else { 503 }),
        error: (!ok).then(|| "expected status 200-299, got 503".into()),
        tls_days_left: None,
        tls_not_after: None,
    };
    for (id, at, ok) in
        [("api", now - 40 * day, true), ("api", now - day, false), ("api", now, true), ("db", now, true)]
    {
        storage.record_check_result(&run(id, at, ok)).unwrap().blocking_recv().unwrap().unwrap();
    }
    let api = storage.check_results("api", 0, now + 1).unwrap();
    assert_eq!(api.iter().map(|r| r.ok).collect::<Vec<_>>(), vec![true, false, true]);
    assert_eq!(api[1], run("api", now - day, false));
    storage.maintain(now).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.check_results("api", 0, now + 1).unwrap().len(), 2, "runs past the retention expire");
    assert_eq!(storage.check_results("db", 0, now + 1).unwrap().len(), 1);

    storage
        .put_check_definition("db", r#"{"id":"db","kind":"tcp","address":"127.0.0.1:5432"}"#)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(storage.check_definitions().unwrap().len(), 1);
    storage.delete_check("db").unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.check_definitions().unwrap().is_empty());
    assert!(storage.check_results("db", 0, now + 1).unwrap().is_empty());
}

pub fn alert_state_round_trips(storage: &dyn Store) {
    assert_eq!(storage.state("alert-engine").unwrap(), None);
    let doc = br#"{"version":1,"firing":["r1"]}"#.to_vec();
    storage.put_state("alert-engine", doc.clone()).unwrap().blocking_recv().unwrap().unwrap();
    storage.put_state("alert-rules", b"[]".to_vec()).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.state("alert-engine").unwrap(), Some(doc));
    storage.put_state("alert-engine", b"{}".to_vec()).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.state("alert-engine").unwrap().as_deref(), Some(&b"{}"[..]), "a save replaces");
    assert_eq!(storage.state("alert-rules").unwrap().as_deref(), Some(&b"[]"[..]));
}

/// Read-modify-writes from threads at once: each appends its own entry to
/// one list and a count to a second; none is lost, and the two documents
/// change together.
pub fn state_updates_at_once_all_apply(storage: &dyn Store) {
    const THREADS: usize = 8;
    const EACH: usize = 5;
    let barrier = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for i in 0..EACH {
                    let saved = storage
                        .update_states(&["list", "count"], &mut |stored| {
                            let mut list: Vec<String> = stored[0]
                                .as_ref()
                                .map(|b| serde_json::from_slice(b).unwrap())
                                .unwrap_or_default();
                            let count: usize =
                                stored[1].as_ref().map(|b| serde_json::from_slice(b).unwrap()).unwrap_or(0);
                            list.push(format!("{t}-{i}"));
                            Some(vec![
                                serde_json::to_vec(&list).unwrap(),
                                serde_json::to_vec(&(count + 1)).unwrap(),
                            ])
                        })
                        .unwrap();
                    assert!(saved);
                }
            });
        }
    });
    let list: Vec<String> = serde_json::from_slice(&storage.state("list").unwrap().unwrap()).unwrap();
    let count: usize = serde_json::from_slice(&storage.state("count").unwrap().unwrap()).unwrap();
    assert_eq!(list.len(), THREADS * EACH, "{list:?}");
    assert_eq!(list.iter().collect::<std::collections::HashSet<_>>().len(), THREADS * EACH);
    assert_eq!(count, THREADS * EACH);
    // A change that answers nothing saves nothing.
    assert!(!storage.update_states(&["list"], &mut |_| None).unwrap());
    // A swap whose expected bytes are stale saves nothing, in either document.
    let stale = faultline_store::StateSwap {
        name: "count".into(),
        expected: Some(b"0".to_vec()),
        new: b"9".to_vec(),
    };
    let fresh = faultline_store::StateSwap {
        name: "list".into(),
        expected: storage.state("list").unwrap(),
        new: b"[]".to_vec(),
    };
    assert!(!storage.swap_states(&[fresh, stale]).unwrap());
    assert_eq!(
        serde_json::from_slice::<Vec<String>>(&storage.state("list").unwrap().unwrap()).unwrap().len(),
        THREADS * EACH
    );
}

pub fn deliveries_come_newest_first(storage: &dyn Store) {
    let now = faultline_store::health::minute_start(faultline_store::health::minute_of(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64,
    ));
    assert!(storage.deliveries(10).unwrap().is_empty());
    for (at, n) in [(now, 1), (now + 5, 2), (now + 5, 3), (now + 1, 4)] {
        let json = format!(r#"{{"n":{n}}}"#).into_bytes();
        storage.record_delivery(at, json).unwrap().blocking_recv().unwrap().unwrap();
    }
    let got: Vec<String> =
        storage.deliveries(3).unwrap().into_iter().map(|b| String::from_utf8(b).unwrap()).collect();
    assert_eq!(got, vec![r#"{"n":3}"#, r#"{"n":2}"#, r#"{"n":4}"#], "same instant: later write first");
}

pub fn tokens_are_stored_listed_and_deleted(storage: &dyn Store) {
    use faultline_model::{AccessToken, TokenScope};
    let token = |id: &str, scope, services: &[&str]| AccessToken {
        id: id.into(),
        name: format!("{id} name"),
        scope,
        services: services.iter().map(|s| s.to_string()).collect(),
        created_at: 1_700_000_000_000_000_000,
        secret_sha256: [id.len() as u8; 32],
        events_per_second: (id == "b-ingest").then_some(25),
    };
    assert!(storage.tokens().unwrap().is_empty());
    let ingest = token("b-ingest", TokenScope::Ingest, &["checkout", "cart"]);
    let admin = token("a-admin", TokenScope::Admin, &[]);
    storage.put_token(&ingest).unwrap().blocking_recv().unwrap().unwrap();
    storage.put_token(&admin).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.tokens().unwrap(), vec![admin.clone(), ingest.clone()]);
    storage.delete_token("b-ingest").unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.tokens().unwrap(), vec![admin]);
    // Deleting what is gone is not an error.
    storage.delete_token("b-ingest").unwrap().blocking_recv().unwrap().unwrap();
}
