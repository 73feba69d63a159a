//! The key layout of the one sorted key space everything lives in.
//!
//! One key space (rather than a tree per kind) lets a whole group commit be
//! a single atomic batch. Keys start with a one-byte kind; numbers are
//! big-endian so byte order is numeric order.

use faultline_model::{HealthKey, UnixNanos};

pub const EVENT: u8 = b'e';
pub const GROUP: u8 = b'g';
pub const FINGERPRINT: u8 = b'f';
pub const GROUP_EVENT: u8 = b'x';
pub const HEALTH_MINUTE: u8 = b'h';
pub const HEALTH_HOUR: u8 = b'H';
pub const ENDPOINT: u8 = b'r';
pub const CHECK_RESULT: u8 = b'k';
pub const CHECK_DEFINITION: u8 = b'c';
pub const STATE: u8 = b'm';
pub const DELIVERY: u8 = b'd';
pub const GROUP_SUMMARY: u8 = b's';
pub const HEALTH_LOG: u8 = b'l';
pub const STACKTRACE: u8 = b't';
pub const DICTIONARY: u8 = b'z';
pub const TOKEN: u8 = b'a';
pub const ARRIVAL: u8 = b'n';
pub const TRACE_USE: u8 = b'u';

/// Bytes of a stack trace's content hash in its key (the first 16 of a SHA-256).
pub const STACKTRACE_HASH_LEN: usize = 16;

/// `e` + seq: one error event.
pub fn event(seq: u64) -> Vec<u8> {
    with_u64(EVENT, seq)
}

/// `t` + content hash: the text of one distinct stack trace, shared by
/// every event (format version 2) whose trace it is.
pub fn stacktrace(hash: &[u8; STACKTRACE_HASH_LEN]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + STACKTRACE_HASH_LEN);
    key.push(STACKTRACE);
    key.extend_from_slice(hash);
    key
}

/// `z` + id: a raw-content zstd dictionary event bodies are compressed
/// with (one per fingerprint, `event_codec.rs`).
pub fn dictionary(id: u32) -> Vec<u8> {
    with_u64(DICTIONARY, u64::from(id))
}

/// `n` + time (nanoseconds): the next event sequence number at that
/// moment, written by each retention pass. Events are numbered in arrival
/// order, so every event with a lower number arrived before that time
/// (`retention.rs`).
pub fn arrival(at: UnixNanos) -> Vec<u8> {
    with_u64(ARRIVAL, u64::try_from(at.max(0)).unwrap_or(0))
}

/// `u` + stack-trace hash: the highest sequence number of an event that
/// names the trace, so retention knows when no remaining event does.
pub fn trace_use(hash: &[u8; STACKTRACE_HASH_LEN]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + STACKTRACE_HASH_LEN);
    key.push(TRACE_USE);
    key.extend_from_slice(hash);
    key
}

/// `g` + id: one group.
pub fn group(id: u64) -> Vec<u8> {
    with_u64(GROUP, id)
}

/// `s` + id: what group listings filter and sort on (`group_summary.rs`).
pub fn group_summary(id: u64) -> Vec<u8> {
    with_u64(GROUP_SUMMARY, id)
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

/// `h`/`H` + minute or hour number + endpoint: one health bucket. The time
/// comes first so a time range is one range scan.
pub fn health(kind: u8, slot: u64, key: &HealthKey) -> Vec<u8> {
    let mut out = with_u64(kind, slot);
    for part in [&key.service, &key.environment, &key.route, &key.method] {
        push_str(&mut out, part);
    }
    out
}

/// The first key of a health slot: kind + slot, for range bounds.
pub fn health_prefix(kind: u8, slot: u64) -> Vec<u8> {
    with_u64(kind, slot)
}

/// The slot and endpoint of a health key.
pub fn parse_health(key: &[u8]) -> Option<(u64, HealthKey)> {
    let slot = u64_at(key, 1)?;
    let mut rest = key.get(9..)?;
    let mut parts = Vec::with_capacity(4);
    for _ in 0..4 {
        let (part, tail) = take_str(rest)?;
        parts.push(part);
        rest = tail;
    }
    let [service, environment, route, method]: [String; 4] = parts.try_into().ok()?;
    Some((slot, HealthKey { service, environment, route, method }))
}

/// `l` + number: the health increments of one group commit, not yet
/// folded into their buckets (`health_buffer.rs`).
pub fn health_log(n: u64) -> Vec<u8> {
    with_u64(HEALTH_LOG, n)
}

/// `r` + service + route + method: an endpoint counted against the
/// per-service cardinality limit.
pub fn endpoint(service: &str, route: &str, method: &str) -> Vec<u8> {
    let mut out = vec![ENDPOINT];
    for part in [service, route, method] {
        push_str(&mut out, part);
    }
    out
}

pub fn parse_endpoint(key: &[u8]) -> Option<(String, String, String)> {
    let (service, rest) = take_str(key.get(1..)?)?;
    let (route, rest) = take_str(rest)?;
    let (method, _) = take_str(rest)?;
    Some((service, route, method))
}

/// `k` + check id + time: one run of a check; a check's runs are one range.
pub fn check_result(check_id: &str, at: UnixNanos) -> Vec<u8> {
    let mut out = check_results_start(check_id);
    out.extend_from_slice(&u64::try_from(at.max(0)).unwrap_or(0).to_be_bytes());
    out
}

/// The first key of a check's runs.
pub fn check_results_start(check_id: &str) -> Vec<u8> {
    let mut out = vec![CHECK_RESULT];
    push_str(&mut out, check_id);
    out
}

/// The first key after all of a check's runs.
pub fn check_results_end(check_id: &str) -> Vec<u8> {
    let mut out = check_results_start(check_id);
    out.extend_from_slice(&[0xff; 9]);
    out
}

/// The check id and time of a run key.
pub fn parse_check_result(key: &[u8]) -> Option<(String, UnixNanos)> {
    let (id, rest) = take_str(key.get(1..)?)?;
    let at = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    Some((id, i64::try_from(at).ok()?))
}

/// `c` + check id: a check created through the API.
pub fn check_definition(check_id: &str) -> Vec<u8> {
    let mut out = vec![CHECK_DEFINITION];
    push_str(&mut out, check_id);
    out
}

/// `d` + time + sequence: one alert delivery attempt, in time order.
pub fn delivery(at: UnixNanos, n: u64) -> Vec<u8> {
    let mut out = with_u64(DELIVERY, u64::try_from(at.max(0)).unwrap_or(0));
    out.extend_from_slice(&n.to_be_bytes());
    out
}

/// `m` + name: a component's saved state (the alert engine's).
pub fn state(name: &str) -> Vec<u8> {
    let mut out = vec![STATE];
    out.extend_from_slice(name.as_bytes());
    out
}

/// `a` + token id: one access token (its secret's hash, never the secret).
pub fn token(id: &str) -> Vec<u8> {
    let mut out = vec![TOKEN];
    push_str(&mut out, id);
    out
}

/// Length-prefixed, so names may hold any byte.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

pub(crate) fn take_str(bytes: &[u8]) -> Option<(String, &[u8])> {
    let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
    let text = std::str::from_utf8(bytes.get(2..2 + len)?).ok()?;
    Some((text.to_string(), bytes.get(2 + len..)?))
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
    fn every_kind_has_its_own_byte() {
        let kinds = [
            EVENT,
            GROUP,
            FINGERPRINT,
            GROUP_EVENT,
            HEALTH_MINUTE,
            HEALTH_HOUR,
            ENDPOINT,
            CHECK_RESULT,
            CHECK_DEFINITION,
            STATE,
            DELIVERY,
            GROUP_SUMMARY,
            HEALTH_LOG,
            STACKTRACE,
            DICTIONARY,
            TOKEN,
            ARRIVAL,
            TRACE_USE,
        ];
        let distinct: std::collections::HashSet<u8> = kinds.iter().copied().collect();
        assert_eq!(distinct.len(), kinds.len(), "two key kinds share a byte");
    }

    #[test]
    fn numeric_order_is_byte_order() {
        assert!(event(255) < event(256));
        assert!(group_event(1, u64::MAX) < group_event_end(1));
        assert!(group_event(2, 0) >= group_event_end(1));
        assert_eq!(u64_at(&group_event(7, 9), 9), Some(9));
    }

    #[test]
    fn health_keys_round_trip_any_name() {
        let key = HealthKey {
            service: "api\0x".into(),
            environment: String::new(),
            route: "/users/{id}".into(),
            method: "GET".into(),
        };
        assert!(health(HEALTH_MINUTE, 1, &key) < health(HEALTH_MINUTE, 2, &key));
        assert_eq!(parse_health(&health(HEALTH_MINUTE, 42, &key)), Some((42, key)));
        assert_eq!(parse_endpoint(&endpoint("s", "/r", "")), Some(("s".into(), "/r".into(), String::new())));
        assert_eq!(parse_health(b"h"), None);
    }
}
