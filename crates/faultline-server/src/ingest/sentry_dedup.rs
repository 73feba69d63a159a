//! Sentry event ids recently stored, so an SDK's retry of a request the
//! server already committed (its answer was lost: a timeout, a dropped
//! connection) is answered without storing the event twice.
//!
//! The limit, documented in the README: the memory is this process's and
//! bounded. Ids are forgotten after [`RECENT_IDS`] newer ones, and on
//! restart; a retry arriving later than that is stored again. SDKs retry
//! within seconds to minutes, which the bound covers many times over at
//! the event rates one server takes. A store-level check would survive a
//! restart but costs an index lookup per event.
//!
//! An id is claimed while its request is being committed: a second copy
//! arriving meanwhile is told to retry shortly (it may yet be needed, if
//! the first fails), and a failed commit releases the id so the SDK's
//! retry is stored.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many ids are remembered (~100 bytes each).
pub const RECENT_IDS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Being committed by a request in flight.
    Pending,
    /// Committed: a copy is a retry.
    Stored,
}

/// What a request's event id is.
pub enum Claim {
    /// Not seen: store it, then [`Guard::stored`].
    New(Guard),
    /// Already committed: answer as before, store nothing.
    Stored,
    /// Being committed by another request right now.
    Pending,
}

/// The recent ids of all projects, keyed by project and id.
#[derive(Debug, Default)]
pub struct RecentIds {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    states: HashMap<String, State>,
    /// Stored ids, oldest first, for eviction.
    order: VecDeque<String>,
}

impl RecentIds {
    /// Claims `event_id` of `project`; `None` without an id (nothing to
    /// compare: stored as it comes).
    pub fn claim(self: &Arc<Self>, project: &str, event_id: Option<&str>) -> Option<Claim> {
        let id = event_id?.trim();
        if id.is_empty() {
            return None;
        }
        // Sentry SDKs send ids as 32 hex digits, some with dashes.
        let key = format!("{project}/{}", id.replace('-', "").to_ascii_lowercase());
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(match inner.states.get(&key) {
            Some(State::Stored) => Claim::Stored,
            Some(State::Pending) => Claim::Pending,
            None => {
                inner.states.insert(key.clone(), State::Pending);
                Claim::New(Guard { ids: Arc::clone(self), key: Some(key) })
            }
        })
    }

    fn finish(&self, key: String, stored: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !stored {
            inner.states.remove(&key);
            return;
        }
        inner.states.insert(key.clone(), State::Stored);
        inner.order.push_back(key);
        while inner.order.len() > RECENT_IDS {
            if let Some(oldest) = inner.order.pop_front() {
                inner.states.remove(&oldest);
            }
        }
    }
}

/// A claimed id: released unless [`Guard::stored`] is called, so a
/// request that failed (or was cancelled) does not block its retry.
pub struct Guard {
    ids: Arc<RecentIds>,
    key: Option<String>,
}

impl Guard {
    /// The request was committed: copies of it are retries from now on.
    pub fn stored(mut self) {
        if let Some(key) = self.key.take() {
            self.ids.finish(key, true);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.ids.finish(key, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(ids: &Arc<RecentIds>, id: &str) -> Claim {
        ids.claim("1", Some(id)).expect("an id")
    }

    #[test]
    fn a_stored_id_is_a_retry_a_failed_one_is_not() {
        let ids = Arc::new(RecentIds::default());
        assert!(ids.claim("1", None).is_none());
        let Claim::New(first) = claim(&ids, "AB-cd") else { panic!("new") };
        assert!(matches!(claim(&ids, "abcd"), Claim::Pending), "same id, other spelling, in flight");
        first.stored();
        assert!(matches!(claim(&ids, "abcd"), Claim::Stored));
        assert!(matches!(ids.claim("2", Some("abcd")), Some(Claim::New(_))), "another project's");

        let Claim::New(failed) = claim(&ids, "ef") else { panic!("new") };
        drop(failed);
        assert!(matches!(claim(&ids, "ef"), Claim::New(_)), "released after a failure");
    }

    #[test]
    fn the_oldest_ids_are_forgotten() {
        let ids = Arc::new(RecentIds::default());
        for n in 0..=RECENT_IDS {
            let Claim::New(guard) = claim(&ids, &format!("{n:x}")) else { panic!("new") };
            guard.stored();
        }
        assert!(matches!(claim(&ids, "0"), Claim::New(_)), "the first was evicted");
        assert!(matches!(claim(&ids, "1"), Claim::Stored));
        let inner = ids.inner.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(inner.order.len(), RECENT_IDS);
    }
}
