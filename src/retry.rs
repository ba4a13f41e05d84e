//! [`RetryPolicy`]: when and how the library sends a call again.

use std::time::Duration;

/// How failed calls are retried. Set with
/// [`ClientBuilder::retry`](crate::ClientBuilder::retry).
///
/// - `get_auth_info` (a read) is retried when [`Error::is_retryable`]
///   says so: connect errors, timeouts, broken answers, HTTP
///   429/502/503/504, WeCom `-1` and `45033`.
/// - `exchange_corp_secret` (one-shot) is retried only when the failure
///   proves nothing was sent: a connect error (refused, DNS, TLS handshake,
///   connect timeout). Never after the request may have reached 橙讯.
///
/// Delays grow exponentially from `initial_delay` (doubling), with full
/// jitter, capped at `max_delay`. A `Retry-After` header (in seconds) of at
/// most `max_retry_after` replaces the computed delay; a larger one stops
/// the retries (the server asked for more patience than the policy has).
///
/// Defaults: 3 attempts in all, 200 ms initial delay, 2 s cap, `Retry-After`
/// honoured up to 10 s.
///
/// [`Error::is_retryable`]: crate::Error::is_retryable
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is sent once.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay before the first retry.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay between two attempts.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` honoured.
    pub fn with_max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest pause between two attempts (the backoff's cap, or the
    /// longest `Retry-After` honoured).
    #[cfg(feature = "postgres")]
    pub(crate) fn worst_pause(&self) -> Duration {
        self.max_delay.max(self.max_retry_after)
    }

    pub(crate) fn backoff(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
    }

    /// The delay before the next attempt, given the backoff's (`None`: no
    /// attempts left) and the server's `Retry-After`.
    pub(crate) fn next_delay(&self, backoff: Option<Duration>, retry_after: Option<Duration>) -> Option<Duration> {
        match (backoff, retry_after) {
            (None, _) => None,
            (Some(_), Some(asked)) if asked > self.max_retry_after => None,
            (Some(_), Some(asked)) => Some(asked),
            (Some(delay), None) => Some(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_replaces_the_delay_when_sane_and_stops_retries_when_not() {
        let p = RetryPolicy::default();
        let d = Some(Duration::from_millis(300));
        assert_eq!(p.next_delay(d, None), d);
        assert_eq!(
            p.next_delay(d, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.next_delay(d, Some(Duration::from_secs(11))), None);
        assert_eq!(p.next_delay(None, Some(Duration::from_secs(1))), None);
        assert_eq!(RetryPolicy::never().with_max_attempts(0).max_attempts(), 1);
    }
}
