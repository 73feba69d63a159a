//! What the server may ask of the commit queue before it spends CPU on an
//! export: is the queue full, and how long has its oldest request waited.
//! Both are cheap so that a busy server can refuse before decoding.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests sent to the committer and not yet taken by it.
#[derive(Debug, Default)]
pub(crate) struct QueueGauge {
    /// The channel's capacity: a request beyond it is refused.
    depth: usize,
    /// Mirrors `sent.len()` without a lock, for the per-export check.
    queued: AtomicUsize,
    /// When each queued request was sent, oldest first. Sends happen under
    /// this lock, so the order is the channel's.
    sent: Mutex<VecDeque<Instant>>,
}

impl QueueGauge {
    pub fn new(depth: usize) -> QueueGauge {
        QueueGauge { depth: depth.max(1), ..QueueGauge::default() }
    }

    /// Runs `send` (a non-blocking `try_send`) and counts the request if it
    /// went in.
    pub fn send<E>(&self, send: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        send()?;
        sent.push_back(Instant::now());
        self.queued.store(sent.len(), Ordering::Relaxed);
        Ok(())
    }

    /// The committer took one request off the channel. Requests sent
    /// around the gauge (tests) are not counted, so an empty gauge stays
    /// empty.
    pub fn taken(&self) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.pop_front();
        self.queued.store(sent.len(), Ordering::Relaxed);
    }

    pub fn is_full(&self) -> bool {
        self.queued.load(Ordering::Relaxed) >= self.depth
    }

    /// How long the oldest queued request has waited; zero when none waits.
    pub fn oldest_wait(&self) -> Duration {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return Duration::ZERO;
        }
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.front().map_or(Duration::ZERO, Instant::elapsed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_sent_and_taken_requests_and_reports_full_at_depth() {
        let gauge = QueueGauge::new(2);
        assert!(!gauge.is_full());
        assert_eq!(gauge.oldest_wait(), Duration::ZERO);
        gauge.send(|| Ok::<(), ()>(())).unwrap();
        gauge.send(|| Ok::<(), ()>(())).unwrap();
        assert!(gauge.is_full());
        std::thread::sleep(Duration::from_millis(5));
        assert!(gauge.oldest_wait() >= Duration::from_millis(5));
        gauge.taken();
        assert!(!gauge.is_full());
        gauge.taken();
        assert_eq!(gauge.oldest_wait(), Duration::ZERO);
    }

    #[test]
    fn a_failed_send_is_not_counted_and_extra_takes_do_not_underflow() {
        let gauge = QueueGauge::new(1);
        assert_eq!(gauge.send(|| Err::<(), _>("full")), Err("full"));
        assert!(!gauge.is_full());
        gauge.taken();
        gauge.send(|| Ok::<(), ()>(())).unwrap();
        assert!(gauge.is_full());
    }
}
