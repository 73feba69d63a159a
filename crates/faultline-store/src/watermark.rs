//! A number that only grows, which threads can wait on: the last committed
//! sequence number, watched by the indexer.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Watermark {
    value: Mutex<u64>,
    changed: Condvar,
}

impl Watermark {
    pub fn set(&self, v: u64) {
        let mut value = self.value.lock().unwrap_or_else(|p| p.into_inner());
        if v > *value {
            *value = v;
        }
        self.changed.notify_all();
    }

    pub fn get(&self) -> u64 {
        *self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the value exceeds `seen` or the timeout passes; returns the value.
    pub fn wait_beyond(&self, seen: u64, timeout: Duration) -> u64 {
        let value = self.value.lock().unwrap_or_else(|p| p.into_inner());
        let (value, _) = self
            .changed
            .wait_timeout_while(value, timeout, |v| *v <= seen)
            .unwrap_or_else(|p| p.into_inner());
        *value
    }

    /// Wakes every waiter without changing the value (used at shutdown).
    pub fn wake(&self) {
        self.changed.notify_all();
    }
}
