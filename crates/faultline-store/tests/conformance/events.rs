//! Events, groups and search: what every engine must do alike.

use std::time::Duration;

use faultline_model::{ErrorEvent, EventSource, GroupStatus, Grouping};
use faultline_store::{EventNeighbors, GroupFilter, HealthBatch, SearchRequest, Store};

use crate::support::{event, grouping, submit_one};

pub fn closed_vocabulary_fields_match_whatever_the_case(storage: &dyn Store) {
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

pub fn resolved_group_regresses_on_a_later_event(storage: &dyn Store) {
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

    let middle = storage.group_event_neighbors(id, 2).unwrap();
    assert_eq!(middle, EventNeighbors { newest: Some(3), newer: Some(3), older: Some(1), oldest: Some(1) });
    let newest = storage.group_event_neighbors(id, 3).unwrap();
    assert_eq!(newest, EventNeighbors { newest: None, newer: None, older: Some(2), oldest: Some(1) });
    let oldest = storage.group_event_neighbors(id, 1).unwrap();
    assert_eq!(oldest, EventNeighbors { newest: Some(3), newer: Some(2), older: None, oldest: None });
}

pub fn merge_moves_events_and_future_events_then_unmerge_splits_them_back(storage: &dyn Store) {
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

pub fn a_new_grouping_version_keeps_events_in_their_existing_group(storage: &dyn Store) {
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

pub fn appended_events_make_groups_with_counts_and_first_and_last_seen(storage: &dyn Store) {
    let now = 1_700_000_000_000_000_000;
    let batch = vec![
        (event("api", "KeyError", "missing key 'a'", now + 5), grouping("fa")),
        (event("api", "KeyError", "missing key 'b'", now), grouping("fa")),
        (event("api", "ValueError", "bad value", now + 2), grouping("fb")),
    ];
    let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(committed.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(committed[0].new_group && !committed[1].new_group && committed[2].new_group);
    let g = storage.group(committed[0].group_id).unwrap().unwrap();
    assert_eq!((g.count, g.first_seen, g.last_seen, g.last_event_seq), (2, now, now + 5, 2));
    assert_eq!((g.title.as_str(), g.service.as_str()), ("title fa", "api"));
    assert_eq!(g.last_message.as_deref(), Some("missing key 'b'"), "the last committed, not the latest");
    let e = storage.event(3).unwrap().unwrap();
    assert_eq!((e.seq, e.group_id, e.message.as_deref()), (3, committed[2].group_id, Some("bad value")));
    assert!(storage.event(4).unwrap().is_none());
    assert!(storage.group(99).unwrap().is_none());
    let stats = storage.stats().unwrap();
    assert_eq!((stats.last_seq, stats.groups), (3, 2));
}

/// The index keeps event times to the second or finer; a second apart is safe.
const SECOND: i64 = 1_000_000_000;

pub fn search_pages_by_query_and_time(storage: &dyn Store) {
    let now = 1_700_000_000_000_000_000;
    let batch = (0..5)
        .map(|i| (event("api", "KeyError", &format!("missing key k{i}"), now + i * SECOND), grouping("fa")))
        .chain([(event("web", "ValueError", "bad value", now + 10 * SECOND), grouping("fb"))])
        .collect();
    storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let search = |query: &str, limit, before_seq| {
        let request = SearchRequest { query: query.into(), limit, before_seq, ..Default::default() };
        storage.search(&request).unwrap()
    };
    let (page, events) = search("missing", 2, None);
    assert_eq!(page.total, 5);
    assert_eq!(page.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![5, 4]);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 4], "hits come as events");
    let (next, _) = search("missing", 2, page.next_cursor);
    assert_eq!(next.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![3, 2]);
    assert_eq!(search("service.name:web", 10, None).0.total, 1);
    let timed = SearchRequest {
        query: String::new(),
        from: Some(now + SECOND),
        to: Some(now + 3 * SECOND),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(storage.search(&timed).unwrap().0.total, 2, "[from, to) on the event time");
    assert!(matches!(storage.validate_query("type:("), Err(faultline_store::Error::InvalidQuery(_))));
    assert!(storage.validate_query("type:KeyError").is_ok());
    let (total, by_group) = storage.group_event_counts(now, now + 100 * SECOND, 10).unwrap();
    assert_eq!(total, 6);
    assert_eq!(by_group.values().copied().collect::<Vec<_>>(), vec![5, 1]);
}

pub fn refused_group_actions_name_the_problem(storage: &dyn Store) {
    let now = 1_700_000_000_000_000_000;
    let a = crate::support::submit_one(storage, event("api", "E", "m", now), "fa").group_id;
    let missing = storage.set_group_status(99, GroupStatus::Resolved, now).unwrap().blocking_recv().unwrap();
    assert!(matches!(missing, Err(faultline_store::Error::GroupNotFound(99))));
    let empty = storage.merge(a, Vec::new()).unwrap().blocking_recv().unwrap();
    assert!(matches!(empty, Err(faultline_store::Error::Invalid(_))));
    let unknown = storage.unmerge(a, vec!["nope".into()]).unwrap().blocking_recv().unwrap();
    assert!(unknown.unwrap_err().to_string().contains("not in group"));
    let ignored = storage.set_group_status(a, GroupStatus::Ignored, now).unwrap().blocking_recv().unwrap();
    assert_eq!(ignored.unwrap().status, GroupStatus::Ignored, "a refusal does not block what follows");
}

/// Events past `retention.events` (by arrival) leave the store and the
/// index; their group and its count stay; a later event still reads.
pub fn retention_deletes_expired_events_from_the_store_and_the_index(store: &dyn Store) {
    const DAY: i64 = 24 * 3600 * 1_000_000_000;
    let t0 = faultline_model::now_nanos();
    let mut traced = event("api", "KeyError", "old one", t0);
    traced.stacktrace = Some("Traceback:\n  File \"a.py\", line 1".into());
    let old = submit_one(store, traced.clone(), "fa");
    store.retain(t0, false).unwrap().blocking_recv().unwrap().unwrap();
    traced.message = Some("new one".into());
    let new = submit_one(store, traced, "fa");
    let pass = store.retain(t0 + 30 * DAY, false).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(pass.events_deleted, 1);
    assert!(store.event(old.seq).unwrap().is_none());
    let kept = store.event(new.seq).unwrap().unwrap();
    assert_eq!(kept.stacktrace.as_deref(), Some("Traceback:\n  File \"a.py\", line 1"), "shared trace kept");
    let group = store.group(old.group_id).unwrap().unwrap();
    assert_eq!(group.count, 2, "the group keeps counting what it saw");
    let (events, _) = store.group_events(old.group_id, None, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![new.seq]);
    let query = SearchRequest { query: "type:KeyError".into(), limit: 10, ..Default::default() };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(store.wait_indexed(Duration::from_secs(5)));
        let (page, _) = store.search(&query).unwrap();
        if page.total == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the index still finds {} events", page.total);
        std::thread::sleep(Duration::from_millis(50));
    }
}
