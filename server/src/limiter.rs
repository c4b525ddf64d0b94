//! Sign-in rate limits: failed sign-ins are counted per account and per client address over a sliding window; past
//! the limit, sign-in is refused (429) until the oldest failure leaves the window, before any password is checked.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per account within [`WINDOW`].
pub const PER_ACCOUNT: usize = 5;
/// Failed sign-ins allowed per client address within [`WINDOW`] (several people may share an address).
pub const PER_ADDRESS: usize = 20;
/// The sliding window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failure times per account and per address.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimiter {
    fn keys(username: &str, address: &str) -> [(String, usize); 2] {
        [(format!("account:{}", username.to_lowercase()), PER_ACCOUNT), (format!("address:{address}"), PER_ADDRESS)]
    }

    /// `Err(wait)` when the account or the address is over its limit: how long until one more attempt is allowed.
    pub fn check(&self, username: &str, address: &str, now: Instant) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        for (key, limit) in Self::keys(username, address) {
            if let Some(times) = failures.get_mut(&key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    times.pop_front();
                }
                if times.len() >= limit
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(WINDOW.saturating_sub(now.duration_since(*oldest)));
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, username: &str, address: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        // Keep memory bounded under a flood of distinct names: forget keys with no recent failure.
        if failures.len() > 100_000 {
            failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        for (key, _) in Self::keys(username, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, username: &str) {
        let key = format!("account:{}", username.to_lowercase());
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_five_failures_until_the_window_moves() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for i in 0..PER_ACCOUNT {
            assert!(limiter.check("Ana", "10.0.0.1", start).is_ok(), "attempt {i}");
            limiter.failed("Ana", "10.0.0.1", start);
        }
        let wait = limiter.check("ana", "10.0.0.2", start).expect_err("locked, whatever the case and address");
        assert_eq!(wait, WINDOW);
        assert!(limiter.check("bob", "10.0.0.2", start).is_ok(), "other accounts are not affected");
        assert!(limiter.check("ana", "10.0.0.1", start + WINDOW).is_ok(), "the window moved");
    }

    #[test]
    fn an_address_locks_after_twenty_failures_across_accounts_and_success_clears_the_account() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for i in 0..PER_ADDRESS {
            limiter.failed(&format!("user{i}"), "10.0.0.9", now);
        }
        assert!(limiter.check("someone", "10.0.0.9", now).is_err());
        assert!(limiter.check("someone", "10.0.0.8", now).is_ok());
        limiter.failed("carol", "10.0.0.7", now);
        limiter.succeeded("Carol");
        assert!(limiter.check("carol", "10.0.0.6", now).is_ok());
    }
}
