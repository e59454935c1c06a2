//! Who may try again how soon: log-in and enrollment attempts are
//! rate-limited per client address and per username (GCRA, `governor`), and
//! password checks run a few at a time, so a flood of log-ins neither guesses
//! passwords quickly nor takes the CPU and memory device syncs need (an
//! Argon2 check takes tens of milliseconds and 19 MiB).
//!
//! A request whose client address HQ was not told (the router served without
//! connection info, as in-process tests do) is limited per username only:
//! one shared bucket for every unknown address would let one client lock
//! everyone out. `doorstep-hq serve` always knows the address.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::error::{HqError, HqResult};

/// How many attempts, how often. A quota is a burst, refilled one attempt per
/// period.
#[derive(Debug, Clone)]
pub struct Limits {
    pub login_per_address: Quota,
    pub login_per_username: Quota,
    pub enroll_per_address: Quota,
    /// Password checks running at once; more wait their turn.
    pub password_checks: usize,
}

/// `burst` attempts at once, then one more every `every`.
pub fn quota(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every)
        .expect("a period longer than zero")
        .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least one"))
}

impl Default for Limits {
    /// A dispatcher who mistypes a few times is never held up; a script that
    /// guesses gets 20 tries a minute per address and 10 per username.
    /// Enrollment allows a depot of laptops behind one address to enroll
    /// together (codes are 10 letters from 31: guessing is hopeless anyway).
    fn default() -> Limits {
        Limits {
            login_per_address: quota(20, Duration::from_secs(3)),
            login_per_username: quota(10, Duration::from_secs(6)),
            enroll_per_address: quota(60, Duration::from_secs(1)),
            // Half the cores, so device syncs always have the rest.
            password_checks: std::thread::available_parallelism()
                .map(|n| (n.get() / 2).max(1))
                .unwrap_or(1),
        }
    }
}

/// Keys kept before idle ones are dropped (a full bucket is forgotten).
const MAX_KEYS: usize = 10_000;
/// A username longer than this is limited under its first characters, so a
/// flood of long names cannot grow the table's memory.
const USERNAME_KEY_CHARS: usize = 64;

pub struct Throttle {
    login_by_address: DefaultKeyedRateLimiter<IpAddr>,
    login_by_username: DefaultKeyedRateLimiter<String>,
    enroll_by_address: DefaultKeyedRateLimiter<IpAddr>,
    password_checks: Arc<Semaphore>,
}

/// Refused for now: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl From<RetryAfter> for HqError {
    fn from(RetryAfter(wait): RetryAfter) -> HqError {
        // Whole seconds, rounded up: Retry-After has no fractions.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        HqError::TooManyRequests {
            retry_after: seconds.max(1),
        }
    }
}

impl Throttle {
    pub fn new(limits: &Limits) -> Throttle {
        Throttle {
            login_by_address: RateLimiter::keyed(limits.login_per_address),
            login_by_username: RateLimiter::keyed(limits.login_per_username),
            enroll_by_address: RateLimiter::keyed(limits.enroll_per_address),
            password_checks: Arc::new(Semaphore::new(limits.password_checks.max(1))),
        }
    }

    /// One log-in attempt from `client` as `username`: counted against both.
    pub fn login_attempt(&self, client: Option<IpAddr>, username: &str) -> Result<(), RetryAfter> {
        if let Some(client) = client {
            check(&self.login_by_address, &client)?;
        }
        check(&self.login_by_username, &username_key(username))
    }

    /// One enrollment attempt from `client`.
    pub fn enroll_attempt(&self, client: Option<IpAddr>) -> Result<(), RetryAfter> {
        match client {
            Some(client) => check(&self.enroll_by_address, &client),
            None => Ok(()),
        }
    }

    /// Runs a password check off the async workers, at most
    /// `Limits::password_checks` at once; the others wait here.
    pub async fn password_check<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> HqResult<T> {
        let permit = self
            .password_checks
            .clone()
            .acquire_owned()
            .await
            .map_err(HqError::storage)?;
        tokio::task::spawn_blocking(move || {
            let result = check();
            drop(permit);
            result
        })
        .await
        .map_err(HqError::storage)
    }
}

/// Usernames are told apart as the login compares them (trimmed), and case
/// does not buy an attacker a fresh bucket.
fn username_key(username: &str) -> String {
    username
        .trim()
        .chars()
        .take(USERNAME_KEY_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

fn check<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), RetryAfter> {
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| RetryAfter(not_until.wait_time_from(DefaultClock::default().now())))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn limits() -> Limits {
        Limits {
            login_per_address: quota(3, Duration::from_secs(60)),
            login_per_username: quota(2, Duration::from_secs(60)),
            enroll_per_address: quota(2, Duration::from_secs(60)),
            password_checks: 2,
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_username_gets_its_burst_then_waits() {
        // Guessing one dispatcher's password from many addresses is still
        // slow: the username has its own bucket.
        let throttle = Throttle::new(&limits());
        assert!(throttle.login_attempt(Some(A), "ann").is_ok());
        assert!(throttle.login_attempt(Some(B), "ANN ").is_ok());
        let RetryAfter(wait) = throttle.login_attempt(None, "Ann").unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(
            throttle.login_attempt(Some(A), "bob").is_ok(),
            "another username is not held up"
        );
    }

    #[test]
    fn an_address_gets_its_burst_whatever_the_usernames() {
        // Trying many usernames from one address is limited too.
        let throttle = Throttle::new(&limits());
        for name in ["a", "b", "c"] {
            assert!(throttle.login_attempt(Some(A), name).is_ok());
        }
        assert!(throttle.login_attempt(Some(A), "d").is_err());
        assert!(
            throttle.login_attempt(Some(B), "d").is_ok(),
            "another address is not"
        );
    }

    #[test]
    fn enrollment_is_limited_per_address_when_the_address_is_known() {
        let throttle = Throttle::new(&limits());
        assert!(throttle.enroll_attempt(Some(A)).is_ok());
        assert!(throttle.enroll_attempt(Some(A)).is_ok());
        assert!(throttle.enroll_attempt(Some(A)).is_err());
        assert!(throttle.enroll_attempt(Some(B)).is_ok());
        assert!(throttle.enroll_attempt(None).is_ok());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let error = HqError::from(RetryAfter(Duration::from_millis(2_100)));
        assert!(matches!(error, HqError::TooManyRequests { retry_after: 3 }));
        let error = HqError::from(RetryAfter(Duration::from_millis(1)));
        assert!(matches!(error, HqError::TooManyRequests { retry_after: 1 }));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_checks_run_at_most_the_cap_at_once() {
        // The cap is what keeps a log-in flood from taking every core.
        let throttle = Arc::new(Throttle::new(&limits()));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (throttle, running, most) = (throttle.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    throttle
                        .password_check(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(30));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
