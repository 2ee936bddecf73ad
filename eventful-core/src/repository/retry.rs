//! How often and how patiently a command is retried when a concurrent writer got there first.

use std::time::Duration;

/// Retries of a command whose append met a concurrent write: on each, the aggregate is
/// brought up to date from the store and the command decided again on the fresh state.
///
/// The delay before retry `n` (from 1) is `initial_delay * 2^(n-1)`, capped at `max_delay`,
/// times a random factor in `[0.5, 1.5)` so that competing writers spread out.
///
/// ```
/// use eventful_core::RetryPolicy;
/// use std::time::Duration;
///
/// let patient = RetryPolicy::default().with_max_attempts(10).with_initial_delay(Duration::from_millis(1));
/// assert_eq!(patient.max_attempts, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1. Default 3.
    pub max_attempts: u32,
    /// Delay before the first retry. Default 2 ms.
    pub initial_delay: Duration,
    /// Longest delay between two attempts. Default 100 ms.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// No retry: a conflict is returned at once.
    pub fn never() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Sets the number of attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the delay before the first retry.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the longest delay.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The delay before retry number `retry` (from 1).
    pub(crate) fn delay_before(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(20);
        let base = self
            .initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        base.mul_f64(0.5 + fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let first = policy.delay_before(1);
            assert!(first >= Duration::from_millis(1) && first < Duration::from_millis(3));
            let late = policy.delay_before(30);
            assert!(late >= Duration::from_millis(50) && late < Duration::from_millis(150));
        }
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts, 1);
    }
}
