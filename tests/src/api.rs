//! Reading the API in tests: groups by title, a group's events, search totals.

use serde_json::Value;

use crate::Server;

/// `title (xcount)` of each group, for assertion messages.
pub fn titles(groups: &[Value]) -> Vec<String> {
    groups.iter().map(|g| format!("{} (x{})", g["title"].as_str().unwrap_or(""), g["count"])).collect()
}

/// The groups whose title is exactly `title`.
pub fn titled<'a>(groups: &'a [Value], title: &str) -> Vec<&'a Value> {
    groups.iter().filter(|g| g["title"] == title).collect()
}

/// The one group whose title is exactly `title`.
pub fn one_titled<'a>(groups: &'a [Value], title: &str) -> &'a Value {
    let found = titled(groups, title);
    assert_eq!(found.len(), 1, "groups titled {title:?} in {:?}", titles(groups));
    found[0]
}

/// A group's events (up to 100), oldest first.
pub fn group_events(server: &Server, group: &Value) -> Vec<Value> {
    let id = group["id"].as_u64().unwrap_or_default();
    let page = server.get(&format!("/api/v1/groups/{id}/events?limit=100"));
    let mut events = page["events"].as_array().cloned().unwrap_or_default();
    events.sort_by_key(|e| e["seq"].as_u64());
    events
}

/// Percent-encodes a query for a URL.
pub fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How many events match a search query.
pub fn total(server: &Server, q: &str) -> u64 {
    server.get(&format!("/api/v1/search?q={}&limit=1", encode(q)))["total"].as_u64().unwrap_or_default()
}
