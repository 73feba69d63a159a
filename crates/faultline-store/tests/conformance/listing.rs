//! Listing groups: filters, sort orders and cursors.

use faultline_model::{ErrorEvent, GroupStatus};
use faultline_store::{GroupFilter, GroupSort, Store};

use crate::support::{event, submit_one};

const NOW: i64 = 1_700_000_000_000_000_000;

fn ids(storage: &dyn Store, filter: GroupFilter) -> Vec<u64> {
    storage.groups(&GroupFilter { limit: 100, ..filter }).unwrap().0.iter().map(|g| g.id).collect()
}

pub fn groups_filter_by_service_environment_and_status(storage: &dyn Store) {
    let api_prod = submit_one(storage, event("api", "E", "m", NOW), "a").group_id;
    let staging = ErrorEvent { environment: Some("staging".into()), ..event("api", "E", "m", NOW + 1) };
    let api_staging = submit_one(storage, staging, "b").group_id;
    let web = submit_one(storage, event("web", "E", "m", NOW + 2), "c").group_id;
    let merged_away = submit_one(storage, event("api", "E", "m", NOW + 3), "d").group_id;
    storage.merge(api_prod, vec![merged_away]).unwrap().blocking_recv().unwrap().unwrap();
    storage.set_group_status(web, GroupStatus::Resolved, NOW + 5).unwrap().blocking_recv().unwrap().unwrap();

    // api_prod took over the merged group's last sighting (NOW + 3).
    assert_eq!(
        ids(storage, GroupFilter::default()),
        vec![api_prod, web, api_staging],
        "merged groups are not listed"
    );
    assert_eq!(
        ids(storage, GroupFilter { service: Some("api".into()), ..Default::default() }),
        vec![api_prod, api_staging]
    );
    assert_eq!(
        ids(storage, GroupFilter { environment: Some("staging".into()), ..Default::default() }),
        vec![api_staging]
    );
    let resolved = GroupFilter { status: Some(GroupStatus::Resolved), ..Default::default() };
    assert_eq!(ids(storage, resolved), vec![web]);
    let unresolved_web = GroupFilter {
        service: Some("web".into()),
        status: Some(GroupStatus::Unresolved),
        ..Default::default()
    };
    assert!(ids(storage, unresolved_web).is_empty());
    let chosen = GroupFilter { ids: Some([api_prod, web].into_iter().collect()), ..Default::default() };
    assert_eq!(ids(storage, chosen), vec![api_prod, web]);
    assert!(ids(storage, GroupFilter { service: Some("nope".into()), ..Default::default() }).is_empty());
}

pub fn groups_sort_and_page_with_cursors(storage: &dyn Store) {
    // Group i: first seen at NOW - i, last seen at NOW + i, i + 1 events
    // (so each sort order is a different permutation).
    let mut groups = Vec::new();
    for (i, fp) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        let i = i as i64;
        let id = submit_one(storage, event("api", "E", "m", NOW - i), fp).group_id;
        for n in 0..i {
            submit_one(storage, event("api", "E", "m", NOW + n + 1), fp);
        }
        groups.push(id);
    }
    let count_order = GroupFilter { sort: GroupSort::Count, ..Default::default() };
    let by_count = ids(storage, count_order.clone());
    assert_eq!(by_count, groups.iter().rev().copied().collect::<Vec<_>>());
    let by_first_seen = ids(storage, GroupFilter { sort: GroupSort::FirstSeen, ..Default::default() });
    assert_eq!(by_first_seen, groups, "newest first appearance first");
    let by_last_seen = ids(storage, GroupFilter { sort: GroupSort::LastSeen, ..Default::default() });
    assert_eq!(by_last_seen, groups.iter().rev().copied().collect::<Vec<_>>());

    // Pages of two follow the cursor to the end, without repeats.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let (page, next) = storage.groups(&GroupFilter { limit: 2, cursor, ..count_order.clone() }).unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|g| g.id));
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, by_count);
    // Ties on the sort key fall back to the id, newest first.
    let tie = submit_one(storage, event("api", "E", "m", NOW), "f").group_id;
    let by_count = ids(storage, count_order);
    assert_eq!(&by_count[by_count.len() - 2..], &[tie, groups[0]]);
}
