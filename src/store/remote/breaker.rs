//! Retries with backoff, and a circuit breaker that stops hammering a Qdrant server that keeps
//! failing: after `threshold` consecutive failed requests it opens, and requests fail fast
//! with [`StoreError::CircuitOpen`] until `cooldown` has passed; then one request is let
//! through, and its outcome closes or reopens the circuit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::error::StoreError;

/// The breaker's state, shared by every request to one server.
#[derive(Debug)]
pub(super) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    last_error: String,
}

/// What the breaker reports for health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerStatus {
    /// Consecutive failed requests so far.
    pub consecutive_failures: u32,
    /// Whether requests currently fail fast.
    pub open: bool,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl Breaker {
    pub(super) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    /// Fails fast while the circuit is open.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.open_until {
            Some(until) if Instant::now() < until => Err(StoreError::CircuitOpen {
                failures: state.consecutive_failures,
                last_error: state.last_error.clone(),
                retry_in_ms: until.saturating_duration_since(Instant::now()).as_millis() as u64,
            }),
            _ => Ok(()),
        }
    }

    pub(super) fn success(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.open_until.is_some() {
            tracing::info!("Qdrant server reachable again: circuit closed");
        }
        *state = State::default();
    }

    pub(super) fn failure(&self, error: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.consecutive_failures += 1;
        state.last_error = error.to_owned();
        if state.consecutive_failures >= self.threshold {
            if state.open_until.is_none_or(|until| Instant::now() >= until) {
                tracing::warn!(
                    "circuit opened after {} consecutive failures reaching the Qdrant server \
                     (last: {error}); failing fast for {:?}",
                    state.consecutive_failures,
                    self.cooldown
                );
            }
            state.open_until = Some(Instant::now() + self.cooldown);
        }
    }

    /// Closes the circuit and forgets the failures (an operator's reset).
    pub(super) fn reset(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.open_until.is_some() {
            tracing::info!("circuit to the Qdrant server closed by a reset");
        }
        *state = State::default();
    }

    pub(super) fn status(&self) -> BreakerStatus {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        BreakerStatus {
            consecutive_failures: state.consecutive_failures,
            open: state.open_until.is_some_and(|until| Instant::now() < until),
            last_error: (!state.last_error.is_empty()).then(|| state.last_error.clone()),
        }
    }
}

/// Delay before retry number `attempt` (1-based): 100 ms doubling, at most 2 s, with up to
/// 25 % jitter so that many clients do not retry in lockstep.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 100u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(2_000);
    let nanos = Instant::now().elapsed().subsec_nanos() as u64
        ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let jitter = nanos % (base / 4 + 1);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_closes_on_success() {
        let breaker = Breaker::new(3, Duration::from_secs(60));
        breaker.failure("a");
        breaker.failure("b");
        assert!(breaker.check().is_ok());
        breaker.failure("c");
        let error = breaker.check().expect_err("open");
        assert!(
            error.to_string().contains("3 consecutive failures"),
            "{error}"
        );
        assert!(error.to_string().contains("last: c"), "{error}");
        assert!(breaker.status().open);
        breaker.success();
        assert!(breaker.check().is_ok());
        assert_eq!(breaker.status().consecutive_failures, 0);
    }

    #[test]
    fn lets_a_trial_request_through_after_the_cooldown() {
        let breaker = Breaker::new(1, Duration::from_millis(20));
        breaker.failure("down");
        assert!(breaker.check().is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.check().is_ok(), "half-open after the cooldown");
        breaker.failure("still down");
        assert!(breaker.check().is_err(), "one more failure reopens it");
    }

    #[test]
    fn a_reset_closes_an_open_circuit_at_once() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        breaker.failure("a");
        breaker.failure("b");
        assert!(breaker.check().is_err());
        assert!(breaker.status().open);
        breaker.reset();
        assert!(breaker.check().is_ok(), "no cool-down after a reset");
        assert_eq!(
            breaker.status(),
            BreakerStatus {
                consecutive_failures: 0,
                open: false,
                last_error: None,
            }
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) >= Duration::from_millis(100));
        assert!(backoff(1) <= Duration::from_millis(125));
        assert!(backoff(3) >= Duration::from_millis(400));
        assert!(backoff(30) <= Duration::from_millis(2_500));
    }
}
