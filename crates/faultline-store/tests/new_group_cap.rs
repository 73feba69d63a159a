//! The cap on new groups per service per hour: past it, new fingerprints
//! join the service's one overflow group, which counts them.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_store::{HealthBatch, SearchRequest, Storage, StorageOptions, OVERFLOW_TITLE};

#[path = "conformance/support.rs"]
#[allow(dead_code)]
mod support;

use support::{event, grouping};

fn options(cap: u64) -> StorageOptions {
    StorageOptions {
        queue_depth: 16,
        index_commit_interval: Duration::from_millis(50),
        max_new_groups_per_service_per_hour: Some(cap),
        ..Default::default()
    }
}

#[test]
fn fingerprints_past_the_cap_collapse_into_one_overflow_group() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options(3)).unwrap();
    let now = faultline_model::now_nanos();
    // Five distinct fingerprints for api, the last one twice; one for web.
    let mut batch: Vec<_> = (0..5)
        .map(|i| (event("api", "KeyError", &format!("key {i}"), now + i), grouping(&format!("f{i}"))))
        .collect();
    batch.push((event("api", "KeyError", "key 4 again", now + 5), grouping("f4")));
    batch.push((event("web", "KeyError", "other service", now + 6), grouping("w0")));
    let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();

    let new_groups: Vec<_> = committed.iter().filter(|c| c.new_group).map(|c| c.group_id).collect();
    // Three real groups, one overflow group for api, and web's own.
    assert_eq!(new_groups.len(), 5, "{committed:?}");
    let overflow_id = committed[3].group_id;
    assert!(committed[3].new_group);
    assert_eq!(committed[4].group_id, overflow_id);
    assert!(!committed[4].new_group, "the overflow group is new once");
    assert_eq!(committed[5].group_id, overflow_id, "a collapsed fingerprint stays there");
    assert_ne!(committed[6].group_id, overflow_id, "another service has its own cap");
    let collapsed: Vec<bool> = committed.iter().map(|c| c.collapsed).collect();
    assert_eq!(collapsed, [false, false, false, true, true, true, false]);

    let overflow = storage.group(overflow_id).unwrap().unwrap();
    assert_eq!(overflow.title, OVERFLOW_TITLE);
    assert_eq!(overflow.service, "api");
    assert_eq!(overflow.count, 3);
    assert_eq!(overflow.collapsed_fingerprints, 2, "f3 and f4, each counted once");
    let real = storage.group(committed[0].group_id).unwrap().unwrap();
    assert_eq!(real.collapsed_fingerprints, 0);

    // Later events of a collapsed fingerprint go on to the overflow group,
    // and search names it as their group.
    let later = storage
        .submit(vec![(event("api", "KeyError", "key 3 later", now + 7), grouping("f3"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!((later[0].group_id, later[0].new_group), (overflow_id, false));
    assert_eq!(storage.group(overflow_id).unwrap().unwrap().collapsed_fingerprints, 2);
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let hits = storage
        .search(&SearchRequest { query: "\"key 3 later\"".into(), limit: 5, ..Default::default() })
        .unwrap()
        .0;
    let seq = hits.hits.first().map(|h| h.seq).unwrap();
    assert_eq!(storage.event(seq).unwrap().map(|e| e.group_id), Some(overflow_id));
}

#[test]
fn no_cap_by_default_for_a_store_opened_directly() {
    let dir = tempfile::tempdir().unwrap();
    let options = StorageOptions { queue_depth: 16, ..Default::default() };
    let storage = Storage::open(dir.path(), options).unwrap();
    let now = faultline_model::now_nanos();
    let batch: Vec<_> =
        (0..50).map(|i| (event("api", "E", "m", now + i), grouping(&format!("f{i}")))).collect();
    let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(committed.iter().all(|c| c.new_group));
}
