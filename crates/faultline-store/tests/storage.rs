//! Storage against a real sled database and tantivy index on disk.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_model::{Attributes, ErrorEvent, EventSource, GroupStatus, Grouping};
use faultline_store::{GroupFilter, HealthBatch, SearchRequest, Storage, StorageOptions};

fn event(service: &str, ty: &str, message: &str, ts: i64) -> ErrorEvent {
    let mut attributes = Attributes::new();
    attributes.insert("user.id".into(), serde_json::json!("u-42"));
    ErrorEvent {
        seq: 0,
        group_id: 0,
        timestamp: ts,
        received_at: ts,
        source: EventSource::SpanException,
        service: service.into(),
        service_version: Some("1.0.0".into()),
        environment: Some("prod".into()),
        host: None,
        sdk_language: None,
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        span_name: Some("GET /orders".into()),
        level: "error".into(),
        exception_type: Some(ty.into()),
        message: Some(message.into()),
        stacktrace: None,
        escaped: None,
        http_route: Some("/orders/{id}".into()),
        http_method: Some("GET".into()),
        http_status: Some(500),
        attributes,
        resource: Attributes::new(),
    }
}

fn grouping(fp: &str) -> Grouping {
    Grouping {
        fingerprint: fp.into(),
        title: format!("title {fp}"),
        culprit: "culprit".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    }
}

fn options() -> StorageOptions {
    StorageOptions { queue_depth: 16, index_commit_interval: Duration::from_millis(50), ..Default::default() }
}

#[test]
fn commits_groups_searches_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_700_000_000_000_000_000;
    {
        let storage = Storage::open(dir.path(), options()).unwrap();
        let batch = vec![
            (event("api", "KeyError", "missing key 'a'", now), grouping("fa")),
            (event("api", "KeyError", "missing key 'b'", now + 1), grouping("fa")),
            (event("api", "shop.orders.ValueError", "bad value", now + 2), grouping("fb")),
        ];
        let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert_eq!(committed.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(committed[0].new_group && !committed[1].new_group && committed[2].new_group);
        assert_eq!(committed[0].group_id, committed[1].group_id);

        let g = storage.group(committed[0].group_id).unwrap().unwrap();
        assert_eq!((g.count, g.first_seen, g.last_seen), (2, now, now + 1));
        assert_eq!(g.environments, vec!["prod".to_string()]);
        assert!(storage.wait_indexed(Duration::from_secs(10)));
        let req = |q: &str| SearchRequest { query: q.into(), limit: 10, ..Default::default() };
        assert_eq!(storage.search(&req("missing")).unwrap().0.total, 2);
        assert_eq!(
            storage.search(&req("type:ValueError")).unwrap().0.total,
            1,
            "short name of a qualified type"
        );
        assert_eq!(storage.search(&req("type:shop.orders.ValueError")).unwrap().0.total, 1);
        assert_eq!(storage.search(&req("user.id:u-42 AND service.name:api")).unwrap().0.total, 3);
        assert_eq!(storage.search(&req("http.status_code:500")).unwrap().0.total, 3);
        assert!(storage.search(&req("type:(")).is_err());
        assert_eq!(
            storage.search(&req("-type:KeyError")).unwrap().0.total,
            1,
            "a pure exclusion means everything except"
        );
        // Kill-like drop: no shutdown beyond Drop.
    }
    let storage = Storage::open(dir.path(), options()).unwrap();
    let more = storage
        .submit(vec![(event("api", "KeyError", "x", now + 5), grouping("fa"))], HealthBatch::new())
        .unwrap();
    let c = more.blocking_recv().unwrap().unwrap();
    assert_eq!((c[0].seq, c[0].group_id, c[0].new_group), (4, 1, false));
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let page =
        storage.search(&SearchRequest { query: String::new(), limit: 2, ..Default::default() }).unwrap().0;
    assert_eq!(page.total, 4);
    assert_eq!(page.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![4, 3]);
    let next = storage
        .search(&SearchRequest {
            query: String::new(),
            limit: 2,
            before_seq: page.next_cursor,
            ..Default::default()
        })
        .unwrap()
        .0;
    assert_eq!(next.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(next.next_cursor, None);
}

#[test]
fn closed_vocabulary_fields_match_whatever_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    let now = 1_700_000_000_000_000_000;
    // An event stored before levels were normalized keeps its SDK's text.
    let old_log = ErrorEvent {
        source: EventSource::Log,
        level: "ERROR".into(),
        environment: Some("Prod".into()),
        ..event("api", "E", "m", now)
    };
    let new_log = ErrorEvent { source: EventSource::Log, ..event("api", "E", "m", now + 1) };
    let span = ErrorEvent { http_method: Some("post".into()), ..event("api", "E", "m", now + 2) };
    let batch = vec![(old_log, grouping("f")), (new_log, grouping("f")), (span, grouping("f"))];
    storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let total = |q: &str| {
        storage.search(&SearchRequest { query: q.into(), limit: 10, ..Default::default() }).unwrap().0.total
    };
    assert_eq!(total("level:error source:log"), 2);
    assert_eq!(total("level:ERROR"), 3);
    assert_eq!(total("source:LOG"), 2);
    assert_eq!(total("method:get"), 2);
    assert_eq!(total("http.request.method:POST"), 1);
    assert_eq!(total("environment:prod"), 3);
    assert_eq!(total("env:PROD -source:Log"), 1);
    assert_eq!(total("type:e"), 0, "open-vocabulary fields stay exact");
}

#[test]
fn resolved_group_regresses_on_a_later_event() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    let now = 1_700_000_000_000_000_000;
    let c = storage
        .submit(vec![(event("api", "E", "m", now), grouping("f"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    let id = c[0].group_id;
    let g = storage
        .set_group_status(id, GroupStatus::Resolved, now + 10)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(g.status, GroupStatus::Resolved);
    // An old event delivered late does not reopen it.
    let late = storage
        .submit(vec![(event("api", "E", "m", now + 5), grouping("f"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(!late[0].regression);
    let new = storage
        .submit(vec![(event("api", "E", "m", now + 20), grouping("f"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(new[0].regression);
    let g = storage.group(id).unwrap().unwrap();
    assert_eq!(
        (g.status, g.regressed, g.regressed_at, g.count),
        (GroupStatus::Unresolved, true, Some(now + 20), 3)
    );
    let (groups, _) = storage
        .groups(&GroupFilter { status: Some(GroupStatus::Unresolved), limit: 10, ..Default::default() })
        .unwrap();
    assert_eq!(groups.len(), 1);
    let (events, next) = storage.group_events(id, None, 2).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 2]);
    let (rest, _) = storage.group_events(id, next, 2).unwrap();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn merge_moves_events_and_future_events_then_unmerge_splits_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    let now = 1_700_000_000_000_000_000;
    let submit = |e: ErrorEvent, fp: &str| {
        storage.submit(vec![(e, grouping(fp))], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap()
            [0]
        .clone()
    };
    let a = submit(event("api", "ConnError", "db down", now), "fa").group_id;
    submit(event("api", "ConnError", "db down", now + 1), "fa");
    let b = submit(event("api", "TimeoutError", "db slow", now - 5), "fb").group_id;
    let other = submit(event("web", "X", "y", now), "fc").group_id;

    let refused = storage.merge(a, vec![other]).unwrap().blocking_recv().unwrap();
    assert!(refused.unwrap_err().to_string().contains("only groups of one service merge"));
    assert!(storage.merge(a, vec![a]).unwrap().blocking_recv().unwrap().is_err());
    assert!(storage.merge(a, vec![999]).unwrap().blocking_recv().unwrap().is_err());

    let merged = storage.merge(a, vec![b]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!((merged.count, merged.first_seen), (3, now - 5));
    assert_eq!(merged.fingerprints, vec!["fa".to_string(), "fb".to_string()]);
    let source = storage.group(b).unwrap().unwrap();
    assert_eq!(source.merged_into, Some(a));
    let (listed, _) = storage
        .groups(&GroupFilter { service: Some("api".into()), limit: 10, ..Default::default() })
        .unwrap();
    assert_eq!(listed.iter().map(|g| g.id).collect::<Vec<_>>(), vec![a]);
    // A future event of the merged fingerprint lands in the target.
    let later = submit(event("api", "TimeoutError", "db slow", now + 9), "fb");
    assert_eq!((later.group_id, later.new_group), (a, false));
    let (events, _) = storage.group_events(a, None, 10).unwrap();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.group_id == a));
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    assert_eq!(storage.groups_matching("slow", 100).unwrap(), [a].into_iter().collect());

    // Unmerge: fb's events (old and new) move to a new group.
    let refused = storage.unmerge(a, vec!["fa".into(), "fb".into()]).unwrap().blocking_recv().unwrap();
    assert!(refused.is_err(), "a group must keep one fingerprint");
    let (kept, split) = storage.unmerge(a, vec!["fb".into()]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!((kept.id, kept.count, kept.first_seen, kept.last_seen), (a, 2, now, now + 1));
    assert_eq!((split.count, split.first_seen, split.last_seen), (2, now - 5, now + 9));
    assert_eq!(split.title, "title fb");
    assert_eq!(split.exception_type.as_deref(), Some("TimeoutError"));
    let next = submit(event("api", "TimeoutError", "db slow", now + 20), "fb");
    assert_eq!(next.group_id, split.id);
    assert_eq!(storage.event(later.seq).unwrap().unwrap().group_id, split.id);
    assert_eq!(storage.groups_matching("slow", 100).unwrap(), [split.id].into_iter().collect());
}

#[test]
fn groups_keep_the_latest_raw_message_through_reopen_merge_and_unmerge() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_700_000_000_000_000_000;
    let (a, b) = {
        let storage = Storage::open(dir.path(), options()).unwrap();
        let submit = |e: ErrorEvent, fp: &str| {
            let reply = storage.submit(vec![(e, grouping(fp))], HealthBatch::new()).unwrap();
            reply.blocking_recv().unwrap().unwrap()[0].group_id
        };
        let a = submit(event("api", "CartError", "cart 17 is locked", now), "fa");
        assert_eq!(storage.group(a).unwrap().unwrap().last_message.as_deref(), Some("cart 17 is locked"));
        submit(event("api", "CartError", "\n  cart 18 is locked  \nretry later", now - 9), "fa");
        let b = submit(event("api", "CartError", "cart 19 is stuck", now - 20), "fb");
        let group = storage.group(a).unwrap().unwrap();
        assert_eq!(group.title, "title fa", "the title is the grouping's, not the message");
        assert_eq!(
            group.last_message.as_deref(),
            Some("cart 18 is locked"),
            "the latest committed event's first line, even when it happened earlier"
        );
        (a, b)
    };
    let storage = Storage::open(dir.path(), options()).unwrap();
    assert_eq!(storage.group(a).unwrap().unwrap().last_message.as_deref(), Some("cart 18 is locked"));

    let merged = storage.merge(a, vec![b]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(merged.last_message.as_deref(), Some("cart 19 is stuck"), "b's event came last");
    let (kept, split) = storage.unmerge(a, vec!["fb".into()]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(kept.last_message.as_deref(), Some("cart 18 is locked"));
    assert_eq!(split.last_message.as_deref(), Some("cart 19 is stuck"));

    let long = "x".repeat(5000);
    let reply = storage.submit(vec![(event("api", "E", &long, now), grouping("fl"))], HealthBatch::new());
    let id = reply.unwrap().blocking_recv().unwrap().unwrap()[0].group_id;
    let cut = storage.group(id).unwrap().unwrap().last_message.unwrap();
    assert_eq!(cut.chars().count(), faultline_model::LAST_MESSAGE_CHARS);
    assert!(cut.ends_with('…'));
    let reply = storage.submit(
        vec![(ErrorEvent { message: None, ..event("api", "E", "", now) }, grouping("fl"))],
        HealthBatch::new(),
    );
    reply.unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.group(id).unwrap().unwrap().last_message, None, "the latest event had none");
}

#[test]
fn a_new_grouping_version_keeps_events_in_their_existing_group() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    let now = 1_700_000_000_000_000_000;
    let v1 =
        storage.submit(vec![(event("api", "E", "m", now), grouping("v1-fp"))], HealthBatch::new()).unwrap();
    let id = v1.blocking_recv().unwrap().unwrap()[0].group_id;
    // Version 2 fingerprints the same event differently but names v1's.
    let v2 = Grouping { version: 2, previous_fingerprints: vec!["v1-fp".into()], ..grouping("v2-fp") };
    let c = storage.submit(vec![(event("api", "E", "m", now + 1), v2.clone())], HealthBatch::new()).unwrap();
    let c = c.blocking_recv().unwrap().unwrap();
    assert_eq!((c[0].group_id, c[0].new_group), (id, false));
    let g = storage.group(id).unwrap().unwrap();
    assert_eq!((g.count, g.fingerprints.clone()), (2, vec!["v1-fp".to_string(), "v2-fp".to_string()]));
    // Later events find the group by the new fingerprint alone.
    let alone = Grouping { previous_fingerprints: Vec::new(), ..v2 };
    let c = storage.submit(vec![(event("api", "E", "m", now + 2), alone)], HealthBatch::new()).unwrap();
    assert_eq!(c.blocking_recv().unwrap().unwrap()[0].group_id, id);
}

mod health {
    use super::*;
    use faultline_model::{HealthKey, HealthSample, Outcome};
    use faultline_store::{HealthFilter, HealthOptions};

    const MINUTE: i64 = 60_000_000_000;

    fn key(route: &str) -> HealthKey {
        HealthKey {
            service: "api".into(),
            environment: "prod".into(),
            route: route.into(),
            method: "GET".into(),
        }
    }

    fn samples(route: &str, at: i64, n: u32, outcome: Outcome) -> Vec<HealthSample> {
        (0..n).map(|i| HealthSample { key: key(route), at, duration_ms: f64::from(i + 1), outcome }).collect()
    }

    fn batch(samples: &[HealthSample]) -> HealthBatch {
        let mut b = HealthBatch::new();
        faultline_store::health::add_samples(&mut b, samples);
        b
    }

    #[test]
    fn health_buckets_merge_roll_up_expire_and_cap_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let health = HealthOptions {
            rollup_after: Duration::from_secs(3600),
            retention: Duration::from_secs(2 * 24 * 3600),
            max_endpoints_per_service: 2,
        };
        let storage = Storage::open(dir.path(), StorageOptions { health, ..options() }).unwrap();
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
        assert!(storage
            .health(t0 - 60 * MINUTE, t0 + 60 * MINUTE, &HealthFilter::default())
            .unwrap()
            .is_empty());
    }
}

#[test]
fn check_runs_and_definitions_are_stored_and_expire() {
    use faultline_model::CheckResult;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
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
