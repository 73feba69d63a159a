//! The per-batch transaction: caching, savepoints, what `finish` writes.
#![allow(clippy::unwrap_used)]

use faultline_model::{HealthBucket, HealthKey};

use super::Txn;
use crate::backend::{Backend, Op};
use crate::group_ops::new_group;
use crate::memory_backend::MemoryBackend;
use crate::test_support::{event, grouping, seeded};
use crate::{keys, records, Error};

fn put_keys(ops: &[Op]) -> Vec<Vec<u8>> {
    ops.iter().filter_map(|op| if let Op::Put(k, _) = op { Some(k.clone()) } else { None }).collect()
}

#[test]
fn rollback_forgets_groups_fingerprints_and_ops_since_the_savepoint() {
    let backend = MemoryBackend::default();
    let mut txn = Txn::new(&backend);
    txn.insert_group(new_group(1, &event("api", 10), &grouping("a")));
    txn.add_fingerprint(1, &grouping("a")).unwrap();
    let savepoint = txn.savepoint();
    txn.group_mut(1).unwrap().count = 5;
    txn.insert_group(new_group(2, &event("api", 10), &grouping("b")));
    txn.add_fingerprint(2, &grouping("b")).unwrap();
    txn.ops.push(Op::Delete(b"zz".to_vec()));
    txn.rollback(savepoint);

    assert_eq!(txn.group_mut(1).unwrap().count, 0);
    assert_eq!(txn.group_id_for("b").unwrap(), None);
    let ops = txn.finish();
    assert_eq!(put_keys(&ops), vec![keys::fingerprint("a"), keys::group(1), keys::group_summary(1)]);
    assert!(!ops.iter().any(|op| matches!(op, Op::Delete(_))));
}

#[test]
fn missing_groups_and_fingerprints_are_refused_by_name() {
    let backend = MemoryBackend::default();
    let mut txn = Txn::new(&backend);
    assert!(matches!(txn.group_mut(7), Err(Error::GroupNotFound(7))));
    let err = txn.repoint_fingerprint("nope", 1).unwrap_err();
    assert!(matches!(&err, Error::Invalid(m) if m.contains("nope")), "{err}");
    assert!(txn.finish().is_empty(), "refusals write nothing");
}

#[test]
fn stored_groups_and_fingerprints_are_read_once_and_written_back_changed() {
    let backend = seeded(vec![vec![(event("api", 10), grouping("a"))]]);
    let mut txn = Txn::new(&*backend);
    assert_eq!(txn.group_id_for("a").unwrap(), Some(1));
    txn.group_mut(1).unwrap().count += 1;
    txn.group_mut(1).unwrap().count += 1;
    txn.repoint_fingerprint("a", 9).unwrap();
    let ops = txn.finish();
    backend.write(ops).unwrap();
    let group = records::decode_group(&backend.get(&keys::group(1)).unwrap().unwrap()).unwrap();
    assert_eq!(group.count, 3, "both changes applied to one cached copy");
    let fp = records::decode_fingerprint(&backend.get(&keys::fingerprint("a")).unwrap().unwrap()).unwrap();
    assert_eq!(fp.group_id, 9);
}

#[test]
fn health_merges_into_what_is_stored() {
    let backend = MemoryBackend::default();
    let key = HealthKey {
        service: "api".into(),
        environment: String::new(),
        route: "/".into(),
        method: "GET".into(),
    };
    let bucket = HealthBucket { requests: 2, errors: 1, ..Default::default() };
    let mut txn = Txn::new(&backend);
    txn.merge_health(keys::HEALTH_MINUTE, 5, &key, &bucket).unwrap();
    backend.write(txn.finish()).unwrap();

    let mut txn = Txn::new(&backend);
    txn.merge_health(keys::HEALTH_MINUTE, 5, &key, &bucket).unwrap();
    txn.merge_health(keys::HEALTH_MINUTE, 5, &key, &bucket).unwrap();
    let ops = txn.finish();
    assert_eq!(ops.len(), 1, "one write per bucket, however often it was touched");
    backend.write(ops).unwrap();
    let stored =
        crate::health::decode(&backend.get(&keys::health(keys::HEALTH_MINUTE, 5, &key)).unwrap().unwrap());
    let stored = stored.unwrap();
    assert_eq!((stored.requests, stored.errors), (6, 3));
}
