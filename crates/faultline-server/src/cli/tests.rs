#![allow(clippy::unwrap_used)]
use serde_json::json;

use super::*;

const NOW: &str = "2026-12-02T16:00:00Z";

fn now() -> i64 {
    faultline_model::parse_rfc3339(NOW).unwrap()
}

fn groups_answer() -> Value {
    json!({"groups": [
        {"id": 3, "status": "unresolved", "regressed": true, "count": 12345,
         "last_seen": "2026-12-02T15:58:00Z", "first_seen": "2026-11-30T10:00:00Z",
         "service": "checkout", "title": "CartError: cart <num> is locked",
         "culprit": "shop.cart in lock_cart"},
        {"id": 120, "status": "resolved", "regressed": false, "count": 1,
         "last_seen": "2026-12-02T15:59:50Z", "first_seen": "2026-12-02T15:59:50Z",
         "service": "api", "title": "KeyError: 'email'\nwith a second line", "culprit": ""}
    ], "next_cursor": null})
}

#[test]
fn groups_show_status_regressions_counts_and_culprits_aligned() {
    let text = render_groups(&groups_answer(), now(), None);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("  ID  STATUS     EVENTS  LAST SEEN  FIRST SEEN  SERVICE   TITLE"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("  #3  regressed  12,345  2m ago     2d ago      checkout  CartError"),
        "{text}"
    );
    assert!(lines[1].ends_with("shop.cart in lock_cart"), "{text}");
    assert!(
        lines[2].starts_with("#120  resolved        1  10s ago    10s ago     api       KeyError: 'email'"),
        "{text}"
    );
    // The title column starts at the same place on every line.
    let at = lines[0].find("TITLE").unwrap();
    assert_eq!(lines[1].find("CartError"), Some(at));
    assert_eq!(lines[2].find("KeyError"), Some(at));
}

#[test]
fn groups_fit_80_and_200_columns() {
    let narrow = render_groups(&groups_answer(), now(), Some(80));
    for line in narrow.lines() {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
    assert!(narrow.contains("regressed") && narrow.contains("CartError"), "{narrow}");
    let wide = render_groups(&groups_answer(), now(), Some(200));
    assert!(wide.contains("CULPRIT") && wide.contains("shop.cart in lock_cart"), "{wide}");
    assert!(wide.contains("CartError: cart <num> is locked"), "{wide}");
}

#[test]
fn search_counts_read_as_english() {
    let one = json!({"total": 1, "events": [{"timestamp": "2026-12-02T15:59:59.123Z", "service": "checkout",
        "group_id": 7, "level": "error", "exception_type": "KeyError", "message": "'email'"}]});
    let text = render_search(&one, now(), None);
    assert!(text.starts_with("1 event matches.\n"), "{text}");
    assert!(text.contains("15:59:59  checkout     #7  error  KeyError: 'email'"), "{text}");
    let many = json!({"total": 1500, "events": one["events"]});
    assert!(render_search(&many, now(), None).starts_with("1,500 events match, newest 1 shown"));
    assert_eq!(render_search(&json!({"total": 0, "events": []}), now(), None), "No events match.\n");
}

#[test]
fn times_read_relative_and_short() {
    assert_eq!(ago("2026-12-02T15:59:30Z", now()), "30s ago");
    assert_eq!(ago("2026-12-01T15:00:00Z", now()), "1d ago");
    assert_eq!(short_time("2026-12-01T09:10:11.5Z", now()), "2026-12-01 09:10:11");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(thousands(999), "999");
}
