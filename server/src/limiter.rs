//! Sign-in throttling. Every attempt takes a slot *before* its password is verified, counted as a failure until the
//! password proves right, so parallel attempts cannot overtake the count. Three limits over a sliding window:
//!
//! - per (account, address): [`PER_PAIR`] failures, then that address waits for that account;
//! - per address: [`PER_ADDRESS`] failures across accounts (password spraying);
//! - per account, from every address: past [`ACCOUNT_SOFT_LIMIT`] failures, addresses the account never signed in
//!   from get one attempt per back-off period, doubling up to [`MAX_BACK_OFF`]. Addresses the account signed in from
//!   before are exempt, so a third party can slow attackers down but never lock the owner out.
//!
//! Accounts are keyed in lower case (case variants are one account); IPv6 addresses by their /64, which one host
//! usually holds whole. The counts live in memory: a restart forgets them, which only ever favours the owner.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per account and address within [`WINDOW`].
pub const PER_PAIR: usize = 5;
/// Failed sign-ins allowed per address within [`WINDOW`], whatever the accounts (several people may share one).
pub const PER_ADDRESS: usize = 20;
/// Failures of one account, from every address, before addresses it never signed in from are slowed down.
pub const ACCOUNT_SOFT_LIMIT: usize = 10;
/// The longest wait the per-account back-off imposes between two attempts from unknown addresses.
pub const MAX_BACK_OFF: Duration = Duration::from_secs(60);
/// The sliding window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The key of a client address: IPv4 (and IPv4-mapped IPv6) whole, IPv6 by its /64.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The key of an account name.
pub fn account_key(username: &str) -> String {
    username.to_lowercase()
}

#[derive(Debug, Default)]
struct AccountFailures {
    times: VecDeque<Instant>,
    /// When the next attempt from an address the account never signed in from may be verified.
    next_unknown: Option<Instant>,
}

#[derive(Debug, Default)]
struct Counts {
    pairs: HashMap<(String, String), VecDeque<Instant>>,
    addresses: HashMap<String, VecDeque<Instant>>,
    accounts: HashMap<String, AccountFailures>,
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        times.pop_front();
    }
}

/// How long until the oldest of `times` leaves the window, when they are at `limit`.
fn wait_for(times: &VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
    (times.len() >= limit).then(|| times.front().map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(*t))))
}

fn remove_one(times: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = times.iter().rposition(|t| *t == at) {
        times.remove(i);
    }
}

/// Keys with no failure left in the window are dropped once the maps grow past this, bounding memory under a flood
/// of distinct names or addresses.
const PRUNE_AT: usize = 100_000;

/// The sign-in throttle (see the module's documentation).
#[derive(Debug, Default)]
pub struct SignInLimiter {
    counts: Arc<Mutex<Counts>>,
}

/// A slot taken for one attempt: counted as a failure until [`Attempt::succeeded`] or [`Attempt::not_verified`].
#[derive(Debug)]
#[must_use = "an attempt counts as a failure unless it is resolved"]
pub struct Attempt {
    counts: Arc<Mutex<Counts>>,
    account: String,
    address: String,
    at: Instant,
}

impl SignInLimiter {
    /// Whether the account is past its soft limit, so that whether the address is known to it matters.
    pub fn account_slowed(&self, account: &str, now: Instant) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.accounts.get_mut(account).is_some_and(|failures| {
            prune(&mut failures.times, now);
            failures.times.len() >= ACCOUNT_SOFT_LIMIT
        })
    }

    /// Takes a slot for an attempt on `account` from `address` (keys from [`account_key`] and [`address_key`]);
    /// `known_address` says whether the account signed in from this address before. `Err(wait)` when a limit is
    /// reached: how long until an attempt may be made.
    pub fn begin(&self, account: &str, address: &str, known_address: bool, now: Instant) -> Result<Attempt, Duration> {
        let mut guard = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = &mut *guard;
        if counts.pairs.len() + counts.addresses.len() + counts.accounts.len() > PRUNE_AT {
            counts.pairs.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            counts.addresses.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            counts
                .accounts
                .retain(|_, failures| failures.times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let pair_key = (account.to_owned(), address.to_owned());
        let mut wait = Duration::ZERO;
        if let Some(times) = counts.pairs.get_mut(&pair_key) {
            prune(times, now);
            wait = wait.max(wait_for(times, PER_PAIR, now).unwrap_or_default());
        }
        if let Some(times) = counts.addresses.get_mut(address) {
            prune(times, now);
            wait = wait.max(wait_for(times, PER_ADDRESS, now).unwrap_or_default());
        }
        let failures = counts.accounts.entry(account.to_owned()).or_default();
        prune(&mut failures.times, now);
        let slowed = !known_address && failures.times.len() >= ACCOUNT_SOFT_LIMIT;
        if slowed && let Some(next) = failures.next_unknown {
            wait = wait.max(next.saturating_duration_since(now));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        if slowed {
            let doublings = u32::try_from(failures.times.len() - ACCOUNT_SOFT_LIMIT).unwrap_or(u32::MAX).min(16);
            failures.next_unknown = Some(now + Duration::from_secs(1u64 << doublings).min(MAX_BACK_OFF));
        }
        failures.times.push_back(now);
        counts.pairs.entry(pair_key).or_default().push_back(now);
        counts.addresses.entry(address.to_owned()).or_default().push_back(now);
        Ok(Attempt {
            counts: Arc::clone(&self.counts),
            account: account.to_owned(),
            address: address.to_owned(),
            at: now,
        })
    }
}

impl Attempt {
    fn take_back(&self, counts: &mut Counts) {
        if let Some(times) = counts.addresses.get_mut(&self.address) {
            remove_one(times, self.at);
        }
        if let Some(failures) = counts.accounts.get_mut(&self.account) {
            remove_one(&mut failures.times, self.at);
        }
    }

    /// The password was right: the slot is given back, and the account's failures from this address are forgotten.
    pub fn succeeded(self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        self.take_back(&mut counts);
        counts.pairs.remove(&(self.account.clone(), self.address.clone()));
    }

    /// The password was never verified (the server was too busy): the slot is given back.
    pub fn not_verified(self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        self.take_back(&mut counts);
        if let Some(times) = counts.pairs.get_mut(&(self.account.clone(), self.address.clone())) {
            remove_one(times, self.at);
        }
    }

    /// The password was wrong: the slot stays counted.
    pub fn failed(self) {}
}

/// Heavy reads (the snapshot, reports, CSV exports) one user may have running at once; more wait for a slot.
pub const HEAVY_READS_PER_USER: usize = 2;
/// Heavy reads one user may have waiting; past it, or past [`HEAVY_READ_WAIT`], the read is refused (429).
pub const HEAVY_READS_WAITING: usize = 8;
/// The longest a heavy read waits for a slot.
pub const HEAVY_READ_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct UserReads {
    running: Arc<tokio::sync::Semaphore>,
    waiting: usize,
}

/// Per-user concurrency of heavy reads, so that one account (or a stolen session) cannot occupy the server.
#[derive(Debug, Default)]
pub struct HeavyReads {
    users: Mutex<HashMap<String, UserReads>>,
}

/// A running heavy read; the slot is given back when it is dropped (after the answer's body was sent).
#[derive(Debug)]
pub struct HeavyRead(#[expect(dead_code, reason = "held for its drop")] tokio::sync::OwnedSemaphorePermit);

impl HeavyReads {
    /// Waits for one of the user's slots; `None` when too many of the user's reads already wait or the wait is over.
    pub async fn begin(&self, username: &str) -> Option<HeavyRead> {
        let running = {
            let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            let user = users.entry(username.to_owned()).or_insert_with(|| UserReads {
                running: Arc::new(tokio::sync::Semaphore::new(HEAVY_READS_PER_USER)),
                waiting: 0,
            });
            if user.waiting >= HEAVY_READS_WAITING {
                return None;
            }
            user.waiting += 1;
            Arc::clone(&user.running)
        };
        let permit = tokio::time::timeout(HEAVY_READ_WAIT, running.acquire_owned()).await;
        if let Some(user) = self.users.lock().unwrap_or_else(PoisonError::into_inner).get_mut(username) {
            user.waiting -= 1;
        }
        permit.ok()?.ok().map(HeavyRead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_waits_after_five_failures_while_others_go_on() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for i in 0..PER_PAIR {
            limiter.begin("ana", "10.0.0.1", false, start).unwrap_or_else(|_| panic!("attempt {i}")).failed();
        }
        assert_eq!(limiter.begin("ana", "10.0.0.1", false, start).expect_err("throttled"), WINDOW);
        assert!(limiter.begin("ana", "10.0.0.2", false, start).is_ok(), "another address may try");
        assert!(limiter.begin("bob", "10.0.0.1", false, start).is_ok(), "another account may be tried");
        assert!(limiter.begin("ana", "10.0.0.1", false, start + WINDOW).is_ok(), "the window moved");
    }

    #[test]
    fn slots_are_taken_before_verification_so_parallel_attempts_cannot_overtake_the_count() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        let pending: Vec<Attempt> =
            (0..PER_PAIR).map(|_| limiter.begin("ana", "10.0.0.1", false, now).expect("slot")).collect();
        assert!(limiter.begin("ana", "10.0.0.1", false, now).is_err(), "no sixth slot while five are pending");
        let mut pending = pending.into_iter();
        pending.next().expect("one").not_verified();
        assert!(limiter.begin("ana", "10.0.0.1", false, now).is_ok(), "a slot given back can be taken");
    }

    #[test]
    fn an_address_waits_after_twenty_failures_across_accounts() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for i in 0..PER_ADDRESS {
            limiter.begin(&format!("user{i}"), "10.0.0.9", false, now).expect("slot").failed();
        }
        assert!(limiter.begin("someone", "10.0.0.9", false, now).is_err());
        assert!(limiter.begin("someone", "10.0.0.8", false, now).is_ok());
    }

    #[test]
    fn many_addresses_slow_an_account_down_but_never_its_known_addresses() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for i in 0..ACCOUNT_SOFT_LIMIT {
            limiter.begin("admin", &format!("10.1.0.{i}"), false, now).expect("under the soft limit").failed();
        }
        assert!(limiter.account_slowed("admin", now));
        limiter.begin("admin", "10.2.0.1", false, now).expect("one attempt per back-off period").failed();
        let wait = limiter.begin("admin", "10.2.0.2", false, now).expect_err("then a wait");
        assert!(wait <= MAX_BACK_OFF && !wait.is_zero(), "{wait:?}");
        assert!(limiter.begin("admin", "192.0.2.7", true, now).is_ok(), "the owner's usual address is not slowed");
        assert!(limiter.begin("admin", "10.2.0.3", false, now + MAX_BACK_OFF).is_ok(), "the back-off ends");
    }

    #[test]
    fn success_forgets_the_pairs_failures() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for _ in 0..PER_PAIR - 1 {
            limiter.begin("carol", "10.0.0.7", false, now).expect("slot").failed();
        }
        limiter.begin("carol", "10.0.0.7", false, now).expect("slot").succeeded();
        for _ in 0..PER_PAIR {
            limiter.begin("carol", "10.0.0.7", false, now).expect("a fresh count").failed();
        }
    }

    #[tokio::test]
    async fn a_user_runs_two_heavy_reads_at_once_queues_a_few_and_is_refused_past_that() {
        let reads = Arc::new(HeavyReads::default());
        let running = [reads.begin("ana").await.expect("one"), reads.begin("ana").await.expect("two")];
        let waiting: Vec<_> = (0..HEAVY_READS_WAITING)
            .map(|_| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.begin("ana").await.is_some() })
            })
            .collect();
        // Let the waiting reads register.
        while reads.users.lock().unwrap_or_else(PoisonError::into_inner)["ana"].waiting < HEAVY_READS_WAITING {
            tokio::task::yield_now().await;
        }
        assert!(reads.begin("ana").await.is_none(), "past the queue: refused at once");
        assert!(reads.begin("bob").await.is_some(), "other users are not affected");
        drop(running);
        for read in waiting {
            assert!(read.await.expect("joined"), "the queued reads run once slots free up");
        }
    }

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64_and_case_variants_are_one_account() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:192.0.2.1".parse().expect("ip")), "192.0.2.1");
        assert_eq!(account_key("ADMIN"), account_key("admin"));
    }
}
