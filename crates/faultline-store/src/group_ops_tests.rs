//! Status changes, regressions, merge and unmerge: the edge cases.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_model::{ErrorEvent, GroupStatus, StatusChange};

use super::{merge, record_occurrence, set_status, unmerge};
use crate::test_support::{codec, event, grouping, seeded};
use crate::txn::Txn;
use crate::Error;

fn invalid(result: crate::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Invalid(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn status_changes_stamp_and_clear_the_resolution() {
    let backend = seeded(vec![vec![(event("api", 10), grouping("a"))]]);
    let mut txn = Txn::new(&*backend);
    txn.group_mut(1).unwrap().regressed = true;
    let resolved = set_status(&mut txn, 1, GroupStatus::Resolved.into(), 100).unwrap();
    assert_eq!((resolved.resolved_at, resolved.regressed), (Some(100), false));
    let again = set_status(&mut txn, 1, GroupStatus::Resolved.into(), 200).unwrap();
    assert_eq!(again.resolved_at, Some(100), "resolving a resolved group keeps when it was resolved");
    let ignored = set_status(&mut txn, 1, GroupStatus::Ignored.into(), 300).unwrap();
    assert_eq!((ignored.status, ignored.resolved_at), (GroupStatus::Ignored, None));
    assert!(matches!(set_status(&mut txn, 9, GroupStatus::Resolved.into(), 1), Err(Error::GroupNotFound(9))));
}

#[test]
fn only_an_event_after_the_resolution_reopens_a_group() {
    let backend = seeded(vec![vec![(event("api", 10), grouping("a"))]]);
    let mut txn = Txn::new(&*backend);
    let group = txn.group_mut(1).unwrap();
    group.status = GroupStatus::Resolved;
    group.resolved_at = Some(100);
    assert!(
        !record_occurrence(group, &ErrorEvent { seq: 2, ..event("api", 100) }),
        "same instant: not after"
    );
    assert_eq!(group.status, GroupStatus::Resolved);
    assert!(record_occurrence(group, &ErrorEvent { seq: 3, ..event("api", 101) }));
    assert_eq!(
        (group.status, group.regressed_at, group.resolved_at),
        (GroupStatus::Unresolved, Some(101), None)
    );
    assert_eq!(group.count, 3);
    assert!(
        !record_occurrence(group, &ErrorEvent { seq: 4, ..event("api", 500) }),
        "open groups do not regress"
    );
}

fn released(release: &str, timestamp: i64, seq: u64) -> ErrorEvent {
    ErrorEvent { seq, service_version: Some(release.into()), ..event("api", timestamp) }
}

#[test]
fn resolved_in_the_next_release_reopens_only_for_a_later_release() {
    let backend = seeded(vec![vec![(released("1.9.0", 10, 1), grouping("a"))]]);
    let mut txn = Txn::new(&*backend);
    let next = StatusChange { in_next_release: true, ..GroupStatus::Resolved.into() };
    let group = set_status(&mut txn, 1, next, 100).unwrap();
    assert_eq!((group.status, group.resolved_in_release.as_deref()), (GroupStatus::Resolved, Some("1.9.0")));
    let group = txn.group_mut(1).unwrap();
    assert!(!record_occurrence(group, &released("1.9.0", 200, 2)), "the release it was resolved in");
    assert!(!record_occurrence(group, &released("1.8.5", 201, 3)), "an older release");
    assert!(!record_occurrence(group, &ErrorEvent { seq: 4, ..event("api", 202) }), "no release at all");
    assert_eq!((group.status, group.count), (GroupStatus::Resolved, 4));
    assert!(record_occurrence(group, &released("1.10.0", 203, 5)), "a later release");
    assert_eq!(
        (group.status, group.regressed, group.resolved_in_release.clone()),
        (GroupStatus::Unresolved, true, None)
    );
}

#[test]
fn ignored_groups_come_back_after_their_time_or_their_events() {
    let backend = seeded(vec![vec![(event("api", 10), grouping("a")), (event("api", 20), grouping("b"))]]);
    let mut txn = Txn::new(&*backend);
    let for_a_while =
        StatusChange { ignore_for: Some(Duration::from_nanos(50)), ..GroupStatus::Ignored.into() };
    assert_eq!(set_status(&mut txn, 1, for_a_while, 100).unwrap().ignored_until, Some(150));
    let group = txn.group_mut(1).unwrap();
    assert!(!record_occurrence(group, &ErrorEvent { seq: 3, ..event("api", 149) }));
    assert_eq!(group.status, GroupStatus::Ignored, "still within the time");
    assert!(
        !record_occurrence(group, &ErrorEvent { seq: 4, ..event("api", 150) }),
        "back, but not a regression"
    );
    assert_eq!((group.status, group.regressed, group.ignored_until), (GroupStatus::Unresolved, false, None));

    let three_more = StatusChange { ignore_count: Some(3), ..GroupStatus::Ignored.into() };
    assert_eq!(set_status(&mut txn, 2, three_more, 100).unwrap().ignored_until_count, Some(4));
    let group = txn.group_mut(2).unwrap();
    for seq in [5, 6] {
        record_occurrence(group, &ErrorEvent { seq, ..event("api", 200) });
        assert_eq!(group.status, GroupStatus::Ignored, "{} of 3 more events", seq - 4);
    }
    record_occurrence(group, &ErrorEvent { seq: 7, ..event("api", 200) });
    assert_eq!((group.status, group.ignored_until_count), (GroupStatus::Unresolved, None));

    let forever = set_status(&mut txn, 2, GroupStatus::Ignored.into(), 300).unwrap();
    assert_eq!((forever.ignored_until, forever.ignored_until_count), (None, None));
    let group = txn.group_mut(2).unwrap();
    record_occurrence(group, &ErrorEvent { seq: 8, ..event("api", i64::MAX / 2) });
    assert_eq!(group.status, GroupStatus::Ignored, "ignored without a condition is for good");
}

#[test]
fn conditions_that_do_not_fit_the_status_are_refused() {
    let backend = seeded(vec![vec![(event("api", 10), grouping("a"))]]);
    let mut txn = Txn::new(&*backend);
    let odd = StatusChange { in_next_release: true, ..GroupStatus::Ignored.into() };
    assert!(invalid(set_status(&mut txn, 1, odd, 1)).contains("resolved"));
    let odd = StatusChange { ignore_count: Some(2), ..GroupStatus::Resolved.into() };
    assert!(invalid(set_status(&mut txn, 1, odd, 1)).contains("ignored"));
    let zero = StatusChange { ignore_count: Some(0), ..GroupStatus::Ignored.into() };
    assert!(invalid(set_status(&mut txn, 1, zero, 1)).contains("at least 1"));
    assert_eq!(txn.group_mut(1).unwrap().status, GroupStatus::Unresolved, "nothing changed");
}

#[test]
fn merge_refuses_nothing_itself_other_services_and_merged_groups() {
    let backend = seeded(vec![vec![
        (event("api", 10), grouping("a")),
        (event("api", 20), grouping("b")),
        (event("web", 30), grouping("c")),
        (event("api", 40), grouping("d")),
    ]]);
    let mut txn = Txn::new(&*backend);
    assert!(invalid(merge(&mut txn, 1, &[])).contains("at least one"));
    assert!(invalid(merge(&mut txn, 1, &[1, 2])).contains("into itself"));
    assert!(invalid(merge(&mut txn, 1, &[3])).contains("only groups of one service merge"));
    let merged = merge(&mut txn, 1, &[2, 2]).unwrap();
    assert_eq!((merged.count, merged.fingerprints.len()), (2, 2), "a source named twice counts once");
    assert!(invalid(merge(&mut txn, 4, &[2])).contains("was merged into group 1"));
    assert!(invalid(merge(&mut txn, 2, &[4])).contains("was merged into group 1"), "nor be a target");
    assert!(matches!(merge(&mut txn, 1, &[77]), Err(Error::GroupNotFound(77))));
}

#[test]
fn unmerge_refuses_unknown_or_all_fingerprints_and_recounts_both_sides() {
    let backend = seeded(vec![vec![
        (event("api", 10), grouping("a")),
        (event("api", 20), grouping("b")),
        (event("api", 30), grouping("b")),
    ]]);
    let mut txn = Txn::new(&*backend);
    merge(&mut txn, 1, &[2]).unwrap();
    backend_write(&backend, txn);

    let mut txn = Txn::new(&*backend);
    assert!(invalid(unmerge(&mut txn, &codec(&backend), 1, &[], 3)).contains("at least one"));
    assert!(invalid(unmerge(&mut txn, &codec(&backend), 1, &["zz".into()], 3)).contains("not in group 1"));
    assert!(invalid(unmerge(&mut txn, &codec(&backend), 1, &["a".into(), "b".into()], 3))
        .contains("keep no fingerprint"));
    assert!(invalid(unmerge(&mut txn, &codec(&backend), 2, &["b".into()], 3)).contains("was merged into"));

    let (kept, moved) = unmerge(&mut txn, &codec(&backend), 1, &["b".into()], 3).unwrap();
    assert_eq!((kept.id, kept.count, kept.first_seen, kept.last_seen), (1, 1, 10, 10));
    assert_eq!((moved.id, moved.count, moved.first_seen, moved.last_seen), (3, 2, 20, 30));
    assert_eq!(moved.fingerprints, vec!["b".to_string()]);
    assert_eq!(txn.group_id_for("b").unwrap(), Some(3), "future events of b go to the new group");

    // Splitting off the group's own (first) fingerprint: what is kept is
    // known by the next one.
    let mut txn = Txn::new(&*backend);
    let (kept, moved) = unmerge(&mut txn, &codec(&backend), 1, &["a".into()], 4).unwrap();
    assert_eq!((kept.fingerprint.as_str(), kept.count), ("b", 2));
    assert_eq!((moved.fingerprint.as_str(), moved.count, moved.title.as_str()), ("a", 1, "title a"));
}

fn backend_write(backend: &crate::memory_backend::MemoryBackend, txn: Txn) {
    use crate::backend::Backend;
    backend.write(txn.finish()).unwrap();
}
