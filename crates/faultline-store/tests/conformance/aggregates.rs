//! Counting over the search index: histograms, tag breakdowns, group
//! activity and `group:ID` in queries.

use std::time::Duration;

use faultline_store::{HealthBatch, Store};

use crate::support::{event, grouping, submit_one};

const MINUTE: i64 = 60_000_000_000;
const T0: i64 = 1_700_000_040 * 1_000_000_000 / MINUTE * MINUTE;

fn seed(storage: &dyn Store) -> (u64, u64) {
    let mut batch = Vec::new();
    for i in 0..6i64 {
        let mut e = event("api", "KeyError", "missing key", T0 + (i % 3) * MINUTE + 5);
        e.service_version = Some(if i < 4 { "1.0.0" } else { "1.1.0" }.into());
        e.attributes.insert("user.id".into(), serde_json::json!(format!("u{}", i % 2)));
        e.attributes.insert("tenant".into(), serde_json::json!("acme"));
        e.host = (i != 5).then(|| "web-1".to_string());
        batch.push((e, grouping("fk")));
    }
    let mut other = event("api", "TimeoutError", "slow", T0 + 2 * MINUTE);
    other.environment = Some("Staging".into());
    batch.push((other, grouping("ft")));
    let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    (committed[0].group_id, committed[6].group_id)
}

pub fn histograms_count_matching_events_per_step(storage: &dyn Store) {
    seed(storage);
    let points =
        storage.event_histogram("type:KeyError", T0, T0 + 4 * MINUTE, Duration::from_secs(60)).unwrap();
    assert_eq!(points, vec![(T0, 2), (T0 + MINUTE, 2), (T0 + 2 * MINUTE, 2), (T0 + 3 * MINUTE, 0)]);
    let all = storage.event_histogram("", T0, T0 + 3 * MINUTE, Duration::from_secs(120)).unwrap();
    assert_eq!(all.iter().map(|p| p.1).sum::<u64>(), 7);
    assert!(all.iter().all(|(t, _)| t % (2 * MINUTE) == 0), "{all:?}");
}

pub fn facets_count_values_missing_and_other(storage: &dyn Store) {
    seed(storage);
    let range = (T0, T0 + 10 * MINUTE);
    let release = storage.facet("type:KeyError", range.0, range.1, "release", 10).unwrap();
    assert_eq!(release.total, 6);
    assert_eq!(release.values, vec![("1.0.0".to_string(), 4), ("1.1.0".to_string(), 2)]);
    let host = storage.facet("type:KeyError", range.0, range.1, "host", 10).unwrap();
    assert_eq!((host.values.len(), host.missing), (1, 1));
    let users = storage.facet("", range.0, range.1, "user", 1).unwrap();
    assert_eq!(users.values.len(), 1);
    assert_eq!(users.values[0].1 + users.other + users.missing, 7);
    let tenant = storage.facet("", range.0, range.1, "tenant", 5).unwrap();
    assert_eq!(tenant.values, vec![("acme".to_string(), 6)]);
    let env = storage.facet("", range.0, range.1, "environment", 5).unwrap();
    assert!(env.values.contains(&("Staging".to_string(), 1)), "values keep their case: {env:?}");
    assert!(storage.facet("", range.0, range.1, "no such tag!", 5).is_err());
}

pub fn group_activity_counts_users_and_steps_per_group(storage: &dyn Store) {
    let (keys, timeouts) = seed(storage);
    let activity = storage
        .group_activity(&[keys, timeouts, 999], "", T0, T0 + 3 * MINUTE, Duration::from_secs(60), &[])
        .unwrap();
    let k = &activity[&keys];
    assert_eq!((k.count, k.users, k.histogram.clone()), (6, 2, vec![2, 2, 2]));
    assert!(k.top_values.is_empty(), "no tag asked for");
    assert_eq!(activity[&timeouts].histogram, vec![0, 0, 1]);
    assert!(!activity.contains_key(&999));
    let filtered = storage
        .group_activity(&[keys], "release:1.1.0", T0, T0 + 3 * MINUTE, Duration::from_secs(60), &[])
        .unwrap();
    assert_eq!(filtered[&keys].count, 2);
    let tagged = storage
        .group_activity(
            &[keys, timeouts],
            "",
            T0,
            T0 + 3 * MINUTE,
            Duration::from_secs(60),
            &["release", "level", "host"],
        )
        .unwrap();
    let tops = &tagged[&keys].top_values;
    assert_eq!(tops.get("release"), Some(&("1.0.0".to_string(), 4)), "the group's most frequent release");
    assert_eq!(tops.get("level"), Some(&("error".to_string(), 6)));
    assert_eq!(tops.get("host"), Some(&("web-1".to_string(), 5)), "one event has no host");
    assert!(!tagged[&timeouts].top_values.contains_key("host"), "a tag no event has is left out");
    let tenant = storage
        .group_activity(&[keys], "", T0, T0 + 3 * MINUTE, Duration::from_secs(60), &["tenant"])
        .unwrap();
    assert_eq!(
        tenant[&keys].top_values.get("tenant"),
        Some(&("acme".to_string(), 6)),
        "any attribute works as a column"
    );
    assert!(storage
        .group_activity(&[keys], "", T0, T0 + MINUTE, Duration::from_secs(60), &["bad tag!"])
        .is_err());
}

/// Users of a group tied for the most events, more of them than tantivy
/// keeps per segment by default: the top value (a stream column) and the
/// breakdown (the issue page's tags) take the smallest of the tied values, so every node (each with its own index,
/// its segments laid out differently) shows the same one.
pub fn group_activity_breaks_a_tie_for_the_top_value_by_the_smallest_value(storage: &dyn Store) {
    for (users, each) in [(12i64, 2i64), (20, 2), (31, 3), (64, 2), (151, 3)] {
        let fingerprint = format!("tie-{users}-{each}");
        let mut batch = Vec::new();
        for round in 0..each {
            for i in 0..users {
                // Spread the order, so the smallest value is not the first one indexed.
                let user = (i * 7 + round * 3) % users;
                let mut e = event("api", "KeyError", "missing key", T0 + 5);
                e.attributes.insert("user.id".into(), serde_json::json!(format!("u{user:02}")));
                batch.push((e, grouping(&fingerprint)));
            }
        }
        let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert!(storage.wait_indexed(Duration::from_secs(10)));
        let id = committed[0].group_id;
        let activity =
            storage.group_activity(&[id], "", T0, T0 + MINUTE, Duration::from_secs(60), &["user"]).unwrap();
        let top = activity[&id].top_values.get("user");
        assert_eq!(top, Some(&("u00".to_string(), each as u64)), "{users} users with {each} events each");
        // The issue page's breakdown lists the smallest tied values too.
        let facet = storage.facet(&format!("group:{id}"), T0, T0 + MINUTE, "user", 5).unwrap();
        let listed: Vec<&str> = facet.values.iter().map(|(value, _)| value.as_str()).collect();
        assert_eq!(listed, ["u00", "u01", "u02", "u03", "u04"], "{users} users with {each} events each");
    }
}

pub fn group_terms_match_the_groups_events(storage: &dyn Store) {
    let (keys, timeouts) = seed(storage);
    let total = |q: &str| {
        let request = faultline_store::SearchRequest { query: q.into(), limit: 100, ..Default::default() };
        storage.search(&request).unwrap().0.total
    };
    assert_eq!(total(&format!("group:{keys}")), 6);
    assert_eq!(total(&format!("issue:{timeouts}")), 1);
    assert_eq!(total(&format!("group:{keys} AND release:1.1.0")), 2);
    assert_eq!(total(&format!("-group:{keys}")), 1);
    assert_eq!(total("group:424242"), 0);
    // After a merge the target's term finds the merged events too.
    storage.merge(keys, vec![timeouts]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(total(&format!("group:{keys}")), 7);
    let late = submit_one(storage, event("api", "TimeoutError", "slow", T0 + 3 * MINUTE), "ft");
    assert_eq!(late.group_id, keys);
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    assert_eq!(total(&format!("group:{keys}")), 8);
}
