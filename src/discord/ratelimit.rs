//! Per-user rate limit: a sliding window of at most `max_requests` per `per_seconds`.
//!
//! Over the limit a request is refused at once (the caller sends a "slow down" note); nothing
//! is queued. The clock is a parameter ([`RateLimiter::check_at`]) so tests need no sleeping.
//! The lock is a plain `std::sync::Mutex` held for a few map operations, never across an
//! `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimitConfig;

/// How many checks between sweeps of users whose window has emptied (bounds memory).
const SWEEP_EVERY: u64 = 1024;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Refused; the user may try again after `retry_after`. `first` is true for the first
    /// refusal since the user was last allowed, so channel replies can say "slow down" once
    /// instead of answering every extra message.
    Limited {
        /// Time until the oldest request leaves the window.
        retry_after: Duration,
        /// First refusal in a row.
        first: bool,
    },
}

#[derive(Debug, Default)]
struct Window {
    hits: VecDeque<Instant>,
    warned: bool,
}

#[derive(Debug, Default)]
struct Users {
    windows: HashMap<u64, Window>,
    checks: u64,
}

/// Sliding-window limiter keyed by Discord user id.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window: Duration,
    users: Mutex<Users>,
}

impl RateLimiter {
    /// From the `[discord.rate_limit]` settings; `max_requests = 0` or `per_seconds = 0`
    /// disables the limit.
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        RateLimiter {
            max: config.max_requests as usize,
            window: Duration::from_secs(config.per_seconds),
            users: Mutex::new(Users::default()),
        }
    }

    fn disabled(&self) -> bool {
        self.max == 0 || self.window.is_zero()
    }

    /// Checks (and, when allowed, counts) one request of `user` now.
    pub fn check(&self, user: u64) -> Decision {
        self.check_at(user, Instant::now())
    }

    /// Checks (and, when allowed, counts) one request of `user` at time `now`.
    pub fn check_at(&self, user: u64, now: Instant) -> Decision {
        if self.disabled() {
            return Decision::Allowed;
        }
        // A poisoned lock only means another handler panicked mid-update; the counts are
        // still usable.
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.checks += 1;
        if users.checks.is_multiple_of(SWEEP_EVERY) {
            let window = self.window;
            users.windows.retain(|_, w| {
                w.hits
                    .back()
                    .is_some_and(|&t| now.saturating_duration_since(t) < window)
            });
        }
        let w = users.windows.entry(user).or_default();
        while w
            .hits
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            w.hits.pop_front();
        }
        if w.hits.len() < self.max {
            w.hits.push_back(now);
            w.warned = false;
            return Decision::Allowed;
        }
        let oldest = w.hits.front().copied().unwrap_or(now);
        let retry_after = (oldest + self.window).saturating_duration_since(now);
        let first = !w.warned;
        w.warned = true;
        Decision::Limited { retry_after, first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max: u32, secs: u64) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            max_requests: max,
            per_seconds: secs,
        })
    }

    #[test]
    fn allows_up_to_max_then_refuses_until_the_window_slides() {
        let l = limiter(3, 60);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                l.check_at(1, t0 + Duration::from_secs(i)),
                Decision::Allowed
            );
        }
        assert_eq!(
            l.check_at(1, t0 + Duration::from_secs(10)),
            Decision::Limited {
                retry_after: Duration::from_secs(50),
                first: true
            }
        );
        assert_eq!(
            l.check_at(1, t0 + Duration::from_secs(20)),
            Decision::Limited {
                retry_after: Duration::from_secs(40),
                first: false
            }
        );
        // The first hit leaves the window at t0 + 60.
        assert_eq!(
            l.check_at(1, t0 + Duration::from_secs(60)),
            Decision::Allowed
        );
        assert!(matches!(
            l.check_at(1, t0 + Duration::from_secs(60)),
            Decision::Limited { first: true, .. }
        ));
    }

    #[test]
    fn users_are_independent() {
        let l = limiter(1, 60);
        let t0 = Instant::now();
        assert_eq!(l.check_at(1, t0), Decision::Allowed);
        assert_eq!(l.check_at(2, t0), Decision::Allowed);
        assert!(matches!(l.check_at(1, t0), Decision::Limited { .. }));
    }

    #[test]
    fn zero_disables() {
        let l = limiter(0, 60);
        for _ in 0..100 {
            assert_eq!(l.check(7), Decision::Allowed);
        }
    }

    #[test]
    fn idle_users_are_swept() {
        let l = limiter(1, 1);
        let t0 = Instant::now();
        for user in 0..SWEEP_EVERY - 1 {
            l.check_at(user, t0);
        }
        l.check_at(u64::MAX, t0 + Duration::from_secs(5));
        assert_eq!(l.users.lock().unwrap().windows.len(), 1);
    }
}
