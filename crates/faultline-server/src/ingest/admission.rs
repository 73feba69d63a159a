//! Admission before decoding: an export is let in only while the server
//! can take it, so a busy server refuses with a retryable answer before it
//! spends CPU on decompression, decoding, extraction and grouping (work a
//! refusal at commit time would throw away).
//!
//! An export is refused when the commit queue is full, when the oldest
//! export in it has waited longer than `max_queue_wait` (so latency stays
//! bounded when clients offer more than the committer can take), or when
//! the request bytes of the exports in flight would pass
//! `max_inflight_bytes` (so memory stays flat). An admitted export holds an
//! [`Admitted`] until it is answered; dropping it (also on errors and
//! panics) gives its bytes back.
//!
//! Admitted exports then take one of a few extraction slots (one per core)
//! for their CPU work. Without that, every admitted export ran its
//! extraction and grouping at once on the blocking pool, so under twice
//! the capacity each one took as long as all of them together (exports
//! waited 10 s, past SDKs' timeouts, and their clients retried work that
//! was later stored). An export that waits longer than `max_queue_wait`
//! for a slot is refused as busy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why an export was refused at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overload {
    #[error("the server is busy (commit queue full); retry later")]
    QueueFull,
    #[error("the server is busy (commit queue wait over {0:?}); retry later")]
    QueueWait(Duration),
    #[error("the server is busy (too many request bytes in flight); retry later")]
    InflightBytes,
    #[error("the server is busy (extraction wait over {0:?}); retry later")]
    ExtractionWait(Duration),
}

#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    pub max_inflight_bytes: u64,
    pub max_queue_wait: Duration,
}

/// The commit queue as the store reports it, read once per admission.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueState {
    pub full: bool,
    pub oldest_wait: Duration,
}

/// Request bytes of the exports admitted and not yet answered.
#[derive(Debug)]
pub struct Gate {
    limits: AdmissionLimits,
    inflight_bytes: AtomicU64,
    /// Exports extracting and grouping at once.
    extraction_slots: Arc<Semaphore>,
}

impl Gate {
    pub fn new(limits: AdmissionLimits) -> Arc<Gate> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Gate::with_slots(limits, cores)
    }

    fn with_slots(limits: AdmissionLimits, slots: usize) -> Arc<Gate> {
        let extraction_slots = Arc::new(Semaphore::new(slots.max(1)));
        Arc::new(Gate { limits, inflight_bytes: AtomicU64::new(0), extraction_slots })
    }

    /// Waits (first come, first served) for an extraction slot, held until
    /// the returned permit drops; refused after `max_queue_wait`.
    pub async fn extraction_slot(&self) -> Result<OwnedSemaphorePermit, Overload> {
        let wait = self.limits.max_queue_wait;
        match tokio::time::timeout(wait, self.extraction_slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it as busy if it were.
            Ok(Err(_)) | Err(_) => Err(Overload::ExtractionWait(wait)),
        }
    }

    pub fn inflight_bytes(&self) -> u64 {
        self.inflight_bytes.load(Ordering::Relaxed)
    }

    /// Admits an export of `bytes` (what is known of its size before its
    /// body is read: the declared length, or 0) unless the queue or the
    /// byte budget says no.
    pub fn admit(self: &Arc<Self>, bytes: u64, queue: QueueState) -> Result<Admitted, Overload> {
        if queue.full {
            return Err(Overload::QueueFull);
        }
        if queue.oldest_wait > self.limits.max_queue_wait {
            return Err(Overload::QueueWait(self.limits.max_queue_wait));
        }
        let max = self.limits.max_inflight_bytes;
        self.inflight_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                // Alone, any export fits: a budget below the largest
                // allowed request must not refuse that request forever.
                let fits = now == 0 || now.saturating_add(bytes) <= max;
                fits.then_some(now.saturating_add(bytes))
            })
            .map_err(|_| Overload::InflightBytes)?;
        Ok(Admitted { gate: self.clone(), bytes: AtomicU64::new(bytes) })
    }
}

/// One admitted export's share of the budget, given back on drop.
#[derive(Debug)]
pub struct Admitted {
    gate: Arc<Gate>,
    bytes: AtomicU64,
}

impl Admitted {
    /// Counts body bytes that arrive after admission (a body without a
    /// declared length). Never refuses: the export is already admitted,
    /// and the next one sees the total.
    pub fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.gate.inflight_bytes.fetch_add(bytes, Ordering::AcqRel);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let bytes = *self.bytes.get_mut();
        self.gate.inflight_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn gate(max_inflight_bytes: u64) -> Arc<Gate> {
        Gate::new(AdmissionLimits { max_inflight_bytes, max_queue_wait: Duration::from_secs(1) })
    }

    #[test]
    fn admits_within_the_budget_and_refuses_past_it() {
        let gate = gate(100);
        let a = gate.admit(60, QueueState::default()).unwrap();
        let b = gate.admit(40, QueueState::default()).unwrap();
        assert_eq!(gate.inflight_bytes(), 100);
        assert_eq!(gate.admit(1, QueueState::default()).unwrap_err(), Overload::InflightBytes);
        drop(a);
        assert_eq!(gate.inflight_bytes(), 40);
        let c = gate.admit(60, QueueState::default()).unwrap();
        drop((b, c));
        assert_eq!(gate.inflight_bytes(), 0);
    }

    #[test]
    fn an_export_larger_than_the_budget_is_admitted_alone() {
        let gate = gate(10);
        let big = gate.admit(1000, QueueState::default()).unwrap();
        assert_eq!(gate.admit(0, QueueState::default()).unwrap_err(), Overload::InflightBytes);
        drop(big);
        assert!(gate.admit(1000, QueueState::default()).is_ok());
    }

    #[test]
    fn bytes_added_after_admission_count_and_are_released_on_drop() {
        let gate = gate(100);
        let a = gate.admit(0, QueueState::default()).unwrap();
        a.add(70);
        a.add(30);
        assert_eq!(gate.admit(1, QueueState::default()).unwrap_err(), Overload::InflightBytes);
        drop(a);
        assert_eq!(gate.inflight_bytes(), 0);
    }

    #[test]
    fn a_panic_while_admitted_gives_the_bytes_back() {
        let gate = gate(100);
        let inner = gate.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _admitted = inner.admit(80, QueueState::default()).unwrap();
            panic!("extraction failed");
        }));
        assert!(result.is_err());
        assert_eq!(gate.inflight_bytes(), 0);
    }

    #[test]
    fn a_full_or_slow_queue_refuses_whatever_the_budget() {
        let gate = gate(100);
        let full = QueueState { full: true, oldest_wait: Duration::ZERO };
        assert_eq!(gate.admit(1, full).unwrap_err(), Overload::QueueFull);
        let slow = QueueState { full: false, oldest_wait: Duration::from_secs(2) };
        assert!(matches!(gate.admit(1, slow).unwrap_err(), Overload::QueueWait(_)));
        assert_eq!(gate.inflight_bytes(), 0);
    }

    #[tokio::test]
    async fn extraction_slots_are_taken_in_turn_and_a_long_wait_is_refused() {
        let limits = AdmissionLimits { max_inflight_bytes: 100, max_queue_wait: Duration::from_millis(100) };
        let gate = Gate::with_slots(limits, 1);
        let first = gate.extraction_slot().await.unwrap();
        let refused = gate.extraction_slot().await.unwrap_err();
        assert_eq!(refused, Overload::ExtractionWait(Duration::from_millis(100)));
        // A slot given back within the wait goes to the one waiting.
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.extraction_slot().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }
}
