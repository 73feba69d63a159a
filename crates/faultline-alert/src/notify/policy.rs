//! How long one attempt may take, how often to try, and how long to wait
//! between tries.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Limit for one attempt, connecting included.
    pub timeout: Duration,
    /// Attempts in all, the first included; 0 is taken as 1.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub initial_backoff: Duration,
    /// No wait is longer, whatever the doubling or a Retry-After asks for.
    pub max_backoff: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl DeliveryPolicy {
    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait after failed attempt number `attempt` (1-based).
    ///
    /// Exponential with "equal jitter": half of the doubled step is fixed,
    /// half random, so channels failing together (a receiver restarting)
    /// spread their retries yet each still waits at least half the step.
    /// A receiver's Retry-After is a lower bound, but never beyond
    /// `max_backoff`: a notification must not wait an hour on a header.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let step = self.initial_backoff.saturating_mul(1u32 << doublings).min(self.max_backoff);
        let half = step / 2;
        let jitter = half.mul_f64(fastrand::f64());
        let wait = half + jitter;
        match retry_after {
            Some(asked) => wait.max(asked).min(self.max_backoff),
            None => wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            timeout: Duration::from_secs(1),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let p = policy();
        for (attempt, step) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (40, 1000)] {
            for _ in 0..50 {
                let wait = p.backoff(attempt, None);
                let step = Duration::from_millis(step);
                assert!(
                    wait >= step / 2 && wait <= step,
                    "attempt {attempt}: {wait:?} outside [{:?}, {step:?}]",
                    step / 2
                );
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor_below_the_cap() {
        let p = policy();
        assert_eq!(p.backoff(1, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(p.backoff(1, Some(Duration::from_secs(3600))), Duration::from_millis(1000));
        let wait = p.backoff(3, Some(Duration::ZERO));
        assert!(wait >= Duration::from_millis(200), "{wait:?}: a zero Retry-After does not skip the backoff");
    }

    #[test]
    fn zero_attempts_means_one() {
        assert_eq!(DeliveryPolicy { max_attempts: 0, ..policy() }.attempts(), 1);
    }
}
