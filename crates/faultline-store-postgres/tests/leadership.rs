//! The alert leader's lease, the fact queue and notification claims, with
//! two engines on one database as two nodes would have them.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_model::{ErrorEvent, EventSource, GroupStatus};
use faultline_store::{AlertFactKind, AlertRound, HealthBatch, NotificationState, OutgoingNotification};

mod support;
use support::{grouping, node};

fn event() -> ErrorEvent {
    let mut e = ErrorEvent::blank("api", EventSource::SpanException, 1_700_000_000_000_000_000);
    e.exception_type = Some("KeyError".into());
    e
}

fn notification(key: &str) -> OutgoingNotification {
    OutgoingNotification { key: key.into(), body: format!("body of {key}").into_bytes() }
}

#[test]
fn one_node_holds_the_lease_until_it_resigns_or_it_expires() {
    let db = faultline_pg_testing::database();
    let (a, b) = (node(&db.url()), node(&db.url()));
    let ttl = Duration::from_millis(800);
    assert!(a.shared());
    assert!(a.try_lead("alerting", "a", ttl).unwrap());
    assert!(!b.try_lead("alerting", "b", ttl).unwrap(), "held by a");
    assert!(a.try_lead("alerting", "a", ttl).unwrap(), "a renews");
    // Not renewed: b takes it once it expired, and a cannot get it back.
    std::thread::sleep(ttl + Duration::from_millis(200));
    assert!(b.try_lead("alerting", "b", ttl).unwrap());
    assert!(!a.try_lead("alerting", "a", ttl).unwrap());
    // Given up: taken at once.
    b.resign("alerting", "b").unwrap();
    assert!(a.try_lead("alerting", "a", ttl).unwrap());
    // Other roles are separate leases.
    assert!(b.try_lead("other", "b", ttl).unwrap());
}

#[test]
fn a_status_change_or_merge_queues_group_resolved_in_its_own_commit() {
    let db = faultline_pg_testing::database();
    let (a, b) = (node(&db.url()), node(&db.url()));
    let batch = vec![(event(), grouping("fp-1")), (event(), grouping("fp-2")), (event(), grouping("fp-3"))];
    let committed = b.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    let (g1, g2, g3) = (committed[0].group_id, committed[1].group_id, committed[2].group_id);
    let resolved = || -> Vec<(u64, i64)> {
        a.alert_facts(100)
            .unwrap()
            .iter()
            .filter(|f| f.kind == AlertFactKind::GroupResolved)
            .map(|f| (f.group_id, f.at))
            .collect()
    };
    assert!(resolved().is_empty());
    let set = |id, status, at| b.set_group_status(id, status, at).unwrap().blocking_recv().unwrap();
    set(g1, GroupStatus::Resolved, 77).unwrap();
    set(g2, GroupStatus::Unresolved, 78).unwrap();
    set(g2, GroupStatus::Ignored, 79).unwrap();
    assert!(set(999_999, GroupStatus::Resolved, 80).is_err(), "no such group");
    assert_eq!(resolved(), [(g1, 77), (g2, 79)], "one per resolve or ignore, none for a refused change");
    b.merge(g1, vec![g3, g3]).unwrap().blocking_recv().unwrap().unwrap();
    let facts = resolved();
    assert_eq!(facts.len(), 3, "{facts:?}");
    assert_eq!(facts[2].0, g3, "the group merged away");
}

#[test]
fn facts_are_queued_with_their_events_and_consumed_only_by_the_lease_holder() {
    let db = faultline_pg_testing::database();
    let (a, b) = (node(&db.url()), node(&db.url()));
    // Ingest on b (not the leader) queues one fact per event, in the commit.
    let batch = vec![(event(), grouping("fp-1")), (event(), grouping("fp-1")), (event(), grouping("fp-2"))];
    let committed = b.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    b.queue_group_resolved(committed[0].group_id, 42).unwrap().blocking_recv().unwrap().unwrap();
    let facts = a.alert_facts(100).unwrap();
    let kinds: Vec<AlertFactKind> = facts.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            AlertFactKind::NewGroup,
            AlertFactKind::Event,
            AlertFactKind::NewGroup,
            AlertFactKind::GroupResolved
        ]
    );
    assert_eq!(facts[0].title, "title fp-1");
    assert_eq!(facts[0].event.as_ref().unwrap().seq, committed[0].seq);
    assert_eq!(facts[2].group_id, committed[2].group_id);
    assert!(facts[3].event.is_none());
    assert_eq!(facts[3].at, 42);

    let round = |consumed: Vec<u64>, keys: &[&str]| AlertRound {
        consumed,
        state: Some(("alert-engine".into(), b"state".to_vec())),
        notifications: keys.iter().map(|k| notification(k)).collect(),
    };
    let ids: Vec<u64> = facts.iter().map(|f| f.id).collect();
    let ttl = Duration::from_secs(30);
    assert!(a.try_lead("alerting", "a", ttl).unwrap());
    // b does not hold the lease: its round writes nothing.
    let fenced = b.commit_alert_round("alerting", "b", round(ids.clone(), &["n1/hook"])).unwrap();
    assert_eq!(fenced.blocking_recv().unwrap().unwrap(), None);
    assert_eq!(a.alert_facts(100).unwrap().len(), 4);
    assert_eq!(a.state("alert-engine").unwrap(), None);

    let claimed = a.commit_alert_round("alerting", "a", round(ids, &["n1/hook", "n1/slack"])).unwrap();
    assert_eq!(claimed.blocking_recv().unwrap().unwrap().unwrap(), ["n1/hook", "n1/slack"]);
    assert!(a.alert_facts(100).unwrap().is_empty(), "consumed");
    assert_eq!(a.state("alert-engine").unwrap().unwrap(), b"state");

    // The same transition derived again is not claimed again.
    let again = a.commit_alert_round("alerting", "a", round(Vec::new(), &["n1/hook", "n2/hook"])).unwrap();
    assert_eq!(again.blocking_recv().unwrap().unwrap().unwrap(), ["n2/hook"]);

    // Claimed notifications move pending -> sending -> done.
    let pending: Vec<String> =
        a.notifications_in(NotificationState::Pending).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(pending, ["n1/hook", "n1/slack", "n2/hook"]);
    a.set_notification_state("n1/hook", NotificationState::Sending)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    a.set_notification_state("n1/slack", NotificationState::Done).unwrap().blocking_recv().unwrap().unwrap();
    let sending = b.notifications_in(NotificationState::Sending).unwrap();
    assert_eq!(sending, [("n1/hook".to_string(), b"body of n1/hook".to_vec())]);
    assert_eq!(b.notifications_in(NotificationState::Pending).unwrap().len(), 1);

    // Finished claims are forgotten once old; pending and sending ones never.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(a.prune_notifications(Duration::from_secs(60)).unwrap(), 0, "too young");
    assert_eq!(a.prune_notifications(Duration::from_secs(1)).unwrap(), 1, "n1/slack, done");
    assert_eq!(a.notifications_in(NotificationState::Sending).unwrap().len(), 1);
    assert_eq!(a.notifications_in(NotificationState::Pending).unwrap().len(), 1);
}
