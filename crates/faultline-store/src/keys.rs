//! The key layout of the one sorted key space everything lives in.
//!
//! One key space (rather than a tree per kind) lets a whole group commit be
//! a single atomic batch. Keys start with a one-byte kind; numbers are
//! big-endian so byte order is numeric order.

pub const EVENT: u8 = b'e';
pub const GROUP: u8 = b'g';
pub const FINGERPRINT: u8 = b'f';
pub const GROUP_EVENT: u8 = b'x';

/// `e` + seq: one error event.
pub fn event(seq: u64) -> Vec<u8> {
    with_u64(EVENT, seq)
}

/// `g` + id: one group.
pub fn group(id: u64) -> Vec<u8> {
    with_u64(GROUP, id)
}

/// `f` + fingerprint: the group id a fingerprint belongs to.
pub fn fingerprint(fp: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + fp.len());
    key.push(FINGERPRINT);
    key.extend_from_slice(fp.as_bytes());
    key
}

/// `x` + group id + seq: membership of an event in a group, so a group's
/// events are a range scan without the search index.
pub fn group_event(group_id: u64, seq: u64) -> Vec<u8> {
    let mut key = with_u64(GROUP_EVENT, group_id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The first key after every `x` + group id key.
pub fn group_event_end(group_id: u64) -> Vec<u8> {
    match group_id.checked_add(1) {
        Some(next) => with_u64(GROUP_EVENT, next),
        None => vec![GROUP_EVENT + 1],
    }
}

/// Reads the u64 stored right after the kind byte.
pub fn u64_at(key: &[u8], offset: usize) -> Option<u64> {
    let bytes: [u8; 8] = key.get(offset..offset + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn with_u64(kind: u8, n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(kind);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_order_is_byte_order() {
        assert!(event(255) < event(256));
        assert!(group_event(1, u64::MAX) < group_event_end(1));
        assert!(group_event(2, 0) >= group_event_end(1));
        assert_eq!(u64_at(&group_event(7, 9), 9), Some(9));
    }
}
