//! The scheduler against local targets, with short intervals. Counts are
//! asserted with loose bounds: these test behaviour, not timer precision.

use std::time::Duration;

use faultline_probe::{Check, CheckResult, ConfigError, Scheduler, SchedulerOptions, Upsert};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::support::{closed_port, SilentTarget};

const TICK: Duration = Duration::from_millis(200);

fn scheduler() -> (Scheduler, mpsc::Receiver<CheckResult>) {
    let (tx, rx) = mpsc::channel(256);
    let options = SchedulerOptions { min_interval: Duration::from_millis(50), ..SchedulerOptions::default() };
    (Scheduler::new(tx, options), rx)
}

fn tcp_check(id: &str, address: String) -> Check {
    let mut check = Check::tcp(id, address);
    check.interval = TICK;
    check.timeout = Duration::from_secs(2);
    check
}

/// Everything received within `window`.
async fn collect(rx: &mut mpsc::Receiver<CheckResult>, window: Duration) -> Vec<CheckResult> {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(Some(result)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        got.push(result);
    }
    got
}

fn count(results: &[CheckResult], id: &str) -> usize {
    results.iter().filter(|r| r.check_id == id).count()
}

#[tokio::test]
async fn the_first_run_is_immediate() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (scheduler, mut rx) = scheduler();
    let mut check = tcp_check("db", listener.local_addr().unwrap().to_string());
    check.interval = Duration::from_secs(60);
    assert_eq!(scheduler.upsert(check), Ok(Upsert::Added));
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    assert!(first.is_ok_and(|r| r.is_some_and(|r| r.ok)), "no result long before the 60s interval");
}

#[tokio::test]
async fn runs_at_its_interval() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (scheduler, mut rx) = scheduler();
    scheduler.upsert(tcp_check("db", listener.local_addr().unwrap().to_string())).unwrap();
    assert!(rx.recv().await.is_some());

    // Runs at about 200, 400, ..., 1000 ms after the first.
    let rest = collect(&mut rx, Duration::from_millis(1_100)).await;
    assert!((3..=7).contains(&rest.len()), "{} results in 1.1s at a 200ms interval", rest.len());
    assert!(rest.iter().all(|r| r.ok && r.check_id == "db"));
    assert!(rest.windows(2).all(|w| w[0].at < w[1].at), "results arrive in order");
}

#[tokio::test]
async fn upsert_replaces_and_remove_stops() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap().to_string();
    let down = closed_port().await.to_string();
    let (scheduler, mut rx) = scheduler();
    scheduler.upsert(tcp_check("a", up.clone())).unwrap();
    scheduler.upsert(tcp_check("b", up.clone())).unwrap();
    assert_eq!(scheduler.len(), 2);
    assert_eq!(scheduler.upsert(tcp_check("a", up.clone())), Ok(Upsert::Unchanged));

    let both = collect(&mut rx, Duration::from_millis(500)).await;
    assert!(count(&both, "a") >= 2 && count(&both, "b") >= 2, "{both:?}");
    assert!(both.iter().all(|r| r.ok));

    // Replacing "b" with a target that refuses: its results turn to failures.
    assert_eq!(scheduler.upsert(tcp_check("b", down)), Ok(Upsert::Replaced));
    assert!(scheduler.remove("a"));
    assert!(!scheduler.remove("a"), "already gone");
    assert_eq!(scheduler.checks().iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["b"]);

    // A result of "a" or of the old "b" may already have been in flight.
    let _ = collect(&mut rx, Duration::from_millis(100)).await;
    let after = collect(&mut rx, Duration::from_millis(600)).await;
    assert_eq!(count(&after, "a"), 0, "a removed check must stop: {after:?}");
    assert!(count(&after, "b") >= 2, "{after:?}");
    assert!(after.iter().all(|r| !r.ok && r.error.as_deref() == Some("connection refused")), "{after:?}");
}

#[tokio::test]
async fn a_slow_target_delays_only_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = SilentTarget::start().await;
    let (tx, mut rx) = mpsc::channel(256);
    // Even with one slot more than the slow checks need.
    let options = SchedulerOptions { max_concurrent: 4, min_interval: Duration::from_millis(50) };
    let scheduler = Scheduler::new(tx, options);
    for id in ["slow-1", "slow-2", "slow-3"] {
        let mut slow = Check::http(id, format!("http://{}/", silent.addr));
        slow.interval = TICK;
        slow.timeout = Duration::from_secs(3);
        scheduler.upsert(slow).unwrap();
    }
    scheduler.upsert(tcp_check("fast", listener.local_addr().unwrap().to_string())).unwrap();

    let results = collect(&mut rx, Duration::from_millis(1_000)).await;
    assert!(count(&results, "fast") >= 3, "{results:?}");
    assert_eq!(results.len(), count(&results, "fast"), "the slow checks have not timed out yet");
}

#[tokio::test]
async fn invalid_checks_are_refused_and_change_nothing() {
    let (scheduler, _rx) = scheduler();
    let err = scheduler.upsert(Check::tcp("bad id", "h:1")).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidId { .. }));
    let duplicate = vec![tcp_check("x", "h:1".to_owned()), tcp_check("x", "h:2".to_owned())];
    assert!(matches!(scheduler.replace_all(duplicate), Err(ConfigError::DuplicateId { .. })));
    assert!(scheduler.is_empty());
}

#[tokio::test]
async fn replace_all_adds_keeps_and_removes() {
    let (scheduler, _rx) = scheduler();
    scheduler.upsert(tcp_check("keep", "h:1".to_owned())).unwrap();
    scheduler.upsert(tcp_check("drop", "h:2".to_owned())).unwrap();
    scheduler
        .replace_all(vec![tcp_check("keep", "h:1".to_owned()), tcp_check("new", "h:3".to_owned())])
        .unwrap();
    let ids: Vec<String> = scheduler.checks().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["keep", "new"]);
}

#[tokio::test]
async fn shutdown_stops_every_check() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (scheduler, mut rx) = scheduler();
    scheduler.upsert(tcp_check("db", listener.local_addr().unwrap().to_string())).unwrap();
    assert!(rx.recv().await.is_some());
    scheduler.shutdown().await;
    // Every sender is gone once the tasks are: the channel drains and closes.
    let drained =
        tokio::time::timeout(Duration::from_secs(2), async { while rx.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "results kept coming after shutdown");
}

#[tokio::test]
async fn dropping_the_scheduler_stops_every_check() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (scheduler, mut rx) = scheduler();
    scheduler.upsert(tcp_check("db", listener.local_addr().unwrap().to_string())).unwrap();
    assert!(rx.recv().await.is_some());
    drop(scheduler);
    let drained =
        tokio::time::timeout(Duration::from_secs(2), async { while rx.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "results kept coming after drop");
}

#[tokio::test]
async fn max_concurrent_bounds_runs_in_flight() {
    let silent = SilentTarget::start().await;
    let (tx, mut rx) = mpsc::channel(256);
    let options = SchedulerOptions { max_concurrent: 1, min_interval: Duration::from_millis(50) };
    let scheduler = Scheduler::new(tx, options);
    for id in ["a", "b"] {
        let mut slow = Check::http(id, format!("http://{}/", silent.addr));
        slow.interval = TICK;
        slow.timeout = Duration::from_millis(400);
        scheduler.upsert(slow).unwrap();
    }
    // One at a time, each run takes 400ms: about 2 results in 1s (4 if both
    // ran side by side).
    let results = collect(&mut rx, Duration::from_millis(1_000)).await;
    assert!((1..=3).contains(&results.len()), "{results:?}");
    assert!(results.iter().all(|r| r.error.as_deref() == Some("timed out after 400ms")));
}
