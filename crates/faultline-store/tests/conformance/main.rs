//! One conformance suite for every storage engine: each test is a plain
//! function taking a fresh store (`&dyn Store`), and `conformance_suite!`
//! instantiates all of them for one engine, as Quickwit does for its
//! metastores. A new engine (PostgreSQL) adds one `conformance_suite!` line.
#![allow(clippy::unwrap_used)]

mod aggregates;
mod events;
mod listing;
mod side_data;
mod support;

use std::time::Duration;

use faultline_store::{HealthOptions, Storage, StorageOptions, StoreConfig};

/// One set of options for every test; the health settings are small so
/// rollup, expiry and the endpoint cap are reachable in a test.
fn options() -> StorageOptions {
    StorageOptions {
        queue_depth: 16,
        index_commit_interval: Duration::from_millis(50),
        health: HealthOptions {
            rollup_after: Duration::from_secs(3600),
            retention: Duration::from_secs(2 * 24 * 3600),
            max_endpoints_per_service: 2,
        },
        ..Default::default()
    }
}

/// A store and whatever must outlive it (the embedded engine's directory).
pub struct Fresh {
    storage: Storage,
    _dir: Option<tempfile::TempDir>,
}

fn embedded_on_disk() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Embedded { dir: dir.path().to_path_buf(), options: options() };
    Fresh { storage: faultline_store::open(config).unwrap(), _dir: Some(dir) }
}

fn in_memory() -> Fresh {
    Fresh {
        storage: faultline_store::open(StoreConfig::InMemory { options: options() }).unwrap(),
        _dir: None,
    }
}

/// A fresh database on the test PostgreSQL (faultline-pg-testing), the
/// engine's background work off so the tests drive maintenance and retention.
fn on_postgres() -> Fresh {
    let db = faultline_pg_testing::database();
    let pg = faultline_store_postgres::PgOptions { background: false, ..Default::default() };
    Fresh { storage: faultline_store_postgres::open_storage(&db.url(), options(), pg).unwrap(), _dir: None }
}

/// Tests every engine passes.
macro_rules! core_tests {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)*
            events::resolved_group_regresses_on_a_later_event,
            events::a_new_grouping_version_keeps_events_in_their_existing_group,
            events::appended_events_make_groups_with_counts_and_first_and_last_seen,
            events::refused_group_actions_name_the_problem,
            listing::groups_filter_by_service_environment_and_status,
            listing::groups_sort_and_page_with_cursors,
            side_data::health_buckets_merge_roll_up_expire_and_cap_endpoints,
            side_data::check_runs_and_definitions_are_stored_and_expire,
            side_data::alert_state_round_trips,
            side_data::state_updates_at_once_all_apply,
            side_data::deliveries_come_newest_first,
            side_data::tokens_are_stored_listed_and_deleted,
        );
    };
}

/// Tests of search and aggregates (the index; on PostgreSQL each node's own).
macro_rules! search_tests {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)*
            aggregates::histograms_count_matching_events_per_step,
            aggregates::facets_count_values_missing_and_other,
            aggregates::group_activity_counts_users_and_steps_per_group,
            aggregates::group_activity_breaks_a_tie_for_the_top_value_by_the_smallest_value,
            aggregates::group_terms_match_the_groups_events,
            events::closed_vocabulary_fields_match_whatever_the_case,
            events::merge_moves_events_and_future_events_then_unmerge_splits_them_back,
            events::search_pages_by_query_and_time,
            events::retention_deletes_expired_events_from_the_store_and_the_index,
        );
    };
}

macro_rules! conformance_suite {
    ($engine:ident, $open:ident) => {
        mod $engine {
            core_tests!(conformance_suite!(@tests $open;));
            mod search {
                use super::super::*;
                search_tests!(conformance_suite!(@tests_in $open;));
            }
        }
    };
    (@tests $open:ident; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let fresh = super::$open();
                super::$module::$test(&*fresh.storage);
            }
        )*
    };
    (@tests_in $open:ident; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let fresh = $open();
                $module::$test(&*fresh.storage);
            }
        )*
    };
}

conformance_suite!(embedded, embedded_on_disk);
conformance_suite!(memory, in_memory);
conformance_suite!(postgres, on_postgres);
