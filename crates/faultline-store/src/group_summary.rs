//! A group's listing summary: the few fields that group listings filter
//! and sort on, stored beside each group (`s` + group id) and written in
//! the same atomic batch as the group. Listing reads these small records
//! and decodes full groups only for the page it returns.
//!
//! Hand-encoded rather than protobuf: it is derived data, rebuilt from
//! the groups whenever its version changes or it is missing.

use faultline_model::{Group, GroupStatus};

use crate::backend::{Backend, Op};
use crate::{keys, records, Result};

/// Bump when the encoding changes: summaries of another version are rebuilt.
const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub id: u64,
    pub merged: bool,
    pub status: GroupStatus,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u64,
    pub service: String,
    pub environments: Vec<String>,
}

impl Summary {
    pub fn of(g: &Group) -> Summary {
        Summary {
            id: g.id,
            merged: g.merged_into.is_some(),
            status: g.status,
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            count: g.count,
            service: g.service.clone(),
            environments: g.environments.clone(),
        }
    }
}

fn status_byte(s: GroupStatus) -> u8 {
    match s {
        GroupStatus::Unresolved => 0,
        GroupStatus::Resolved => 1,
        GroupStatus::Ignored => 2,
    }
}

pub(crate) fn encode(s: &Summary) -> Vec<u8> {
    let mut out = vec![VERSION, u8::from(s.merged), status_byte(s.status)];
    out.extend_from_slice(&s.first_seen.to_be_bytes());
    out.extend_from_slice(&s.last_seen.to_be_bytes());
    out.extend_from_slice(&s.count.to_be_bytes());
    keys::push_str(&mut out, &s.service);
    let n = u16::try_from(s.environments.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    for env in s.environments.iter().take(usize::from(n)) {
        keys::push_str(&mut out, env);
    }
    out
}

/// `None` when the record is of another version or damaged: the caller
/// falls back to the full group.
pub(crate) fn decode(id: u64, bytes: &[u8]) -> Option<Summary> {
    let (&[version, merged, status], rest) = bytes.split_first_chunk::<3>()?;
    if version != VERSION {
        return None;
    }
    let status = match status {
        0 => GroupStatus::Unresolved,
        1 => GroupStatus::Resolved,
        2 => GroupStatus::Ignored,
        _ => return None,
    };
    let (first_seen, rest) = rest.split_first_chunk::<8>()?;
    let (last_seen, rest) = rest.split_first_chunk::<8>()?;
    let (count, rest) = rest.split_first_chunk::<8>()?;
    let (service, rest) = keys::take_str(rest)?;
    let (n, mut rest) = rest.split_first_chunk::<2>()?;
    let mut environments = Vec::with_capacity(usize::from(u16::from_be_bytes(*n)));
    for _ in 0..u16::from_be_bytes(*n) {
        let (env, tail) = keys::take_str(rest)?;
        environments.push(env);
        rest = tail;
    }
    Some(Summary {
        id,
        merged: merged != 0,
        status,
        first_seen: i64::from_be_bytes(*first_seen),
        last_seen: i64::from_be_bytes(*last_seen),
        count: u64::from_be_bytes(*count),
        service,
        environments,
    })
}

/// The summary write that goes with writing `group`.
pub(crate) fn put(group: &Group) -> Op {
    Op::Put(keys::group_summary(group.id), encode(&Summary::of(group)))
}

/// Every group's summary, in id order. A missing or unreadable summary is
/// made from the group itself, so one bad record costs one full decode
/// rather than a wrong listing.
pub(crate) fn all(backend: &dyn Backend) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for entry in backend.scan(&[keys::GROUP_SUMMARY], &[keys::GROUP_SUMMARY + 1], false) {
        let (key, value) = entry?;
        let Some(id) = keys::u64_at(&key, 1) else { continue };
        match decode(id, &value) {
            Some(summary) => out.push(summary),
            None => {
                if let Some(bytes) = backend.get(&keys::group(id))? {
                    out.push(Summary::of(&records::decode_group(&bytes)?));
                }
            }
        }
    }
    Ok(out)
}

/// One group's summary (or, if it has none yet, one made from the group).
pub(crate) fn get(backend: &dyn Backend, id: u64) -> Result<Option<Summary>> {
    if let Some(summary) = backend.get(&keys::group_summary(id))?.and_then(|b| decode(id, &b)) {
        return Ok(Some(summary));
    }
    let group = backend.get(&keys::group(id))?.map(|b| records::decode_group(&b)).transpose()?;
    Ok(group.as_ref().map(Summary::of))
}

/// Writes a summary for every group when they are not all there (a data
/// directory from a build without summaries): a one-off scan at start.
/// Summaries are written with their groups from then on.
pub(crate) fn backfill(backend: &dyn Backend) -> Result<()> {
    let groups = crate::committer::last_id(backend, keys::GROUP)?;
    let summaries = crate::committer::last_id(backend, keys::GROUP_SUMMARY)?;
    if groups == summaries {
        return Ok(());
    }
    const PER_WRITE: usize = 10_000;
    let mut ops = Vec::new();
    let mut written = 0usize;
    for entry in backend.scan(&[keys::GROUP], &[keys::GROUP + 1], false) {
        ops.push(put(&records::decode_group(&entry?.1)?));
        if ops.len() >= PER_WRITE {
            written += ops.len();
            backend.write(std::mem::take(&mut ops))?;
        }
    }
    written += ops.len();
    backend.write(ops)?;
    backend.flush()?;
    tracing::info!(groups = written, "group listing summaries written");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn summaries_round_trip_and_refuse_other_versions() {
        let s = Summary {
            id: 7,
            merged: true,
            status: GroupStatus::Ignored,
            first_seen: -5,
            last_seen: 99,
            count: 3,
            service: "api".into(),
            environments: vec!["prod".into(), "staging".into()],
        };
        let bytes = encode(&s);
        assert_eq!(decode(7, &bytes), Some(s));
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(decode(7, &other), None);
        assert_eq!(decode(7, &bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(7, b""), None);
    }

    #[test]
    fn groups_without_summaries_get_them_at_start_and_are_listed_meanwhile() {
        use crate::test_support::{event, grouping, seeded};
        let backend =
            seeded(vec![vec![(event("api", 10), grouping("a")), (event("web", 20), grouping("b"))]]);
        let summaries = all(&*backend).unwrap();
        assert_eq!(summaries.iter().map(|s| s.id).collect::<Vec<_>>(), vec![1, 2], "written with the groups");
        // As a data directory from before summaries: groups only.
        backend.write(vec![Op::Delete(keys::group_summary(1)), Op::Delete(keys::group_summary(2))]).unwrap();
        assert!(all(&*backend).unwrap().is_empty());
        assert_eq!(get(&*backend, 2).unwrap().map(|s| s.service), Some("web".into()), "made from the group");
        backfill(&*backend).unwrap();
        assert_eq!(all(&*backend).unwrap(), summaries);
        let writes = backend.writes();
        backfill(&*backend).unwrap();
        assert_eq!(backend.writes(), writes, "nothing to do once they are there");
        // A damaged summary falls back to its group.
        backend.write(vec![Op::Put(keys::group_summary(1), vec![0xff])]).unwrap();
        assert_eq!(all(&*backend).unwrap(), summaries);
    }
}
