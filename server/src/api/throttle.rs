//! Login throttling, per account (the normalized email, known or not, so a
//! 429 reveals nothing about which accounts exist) and per client address
//! (IPv4, or the /64 of an IPv6 address).
//!
//! Each key has:
//! - an *in-flight* limit: an attempt while the key already has that many
//!   password checks running is refused at once (400 concurrent guesses at
//!   one account cost one hash, not 400);
//! - a *failure* count with growing backoff: every attempt counts as a
//!   failure when it starts (a client hanging up mid-check cannot dodge the
//!   count); past `free_failures` the key is locked for `base`, doubling with
//!   each further failure up to `max_lock`. A success resets an account's
//!   count and takes back only its own attempt from an address's (so a
//!   guesser cannot clear its address by signing in to an account of its
//!   own); `forget_after` without a failure clears a key.
//!
//! Refusals carry the wait, which the handler sends as `Retry-After`. State
//! is one small entry per key, at most `capacity` keys per table: when a
//! table is full of live entries, new keys go untracked (still bounded by
//! the hash workers) rather than evicting a locked one.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// The rules of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub in_flight: u32,
    pub free_failures: u32,
    pub base: Duration,
    pub max_lock: Duration,
    pub forget_after: Duration,
    pub capacity: usize,
}

impl Limits {
    /// Per account: one check at a time; five free failures, then 1 s, 2 s,
    /// 4 s … up to 15 minutes.
    pub const ACCOUNT: Limits = Limits {
        in_flight: 1,
        free_failures: 5,
        base: Duration::from_secs(1),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(15 * 60),
        capacity: 100_000,
    };

    /// Per client address: eight checks at a time (an office behind one
    /// NAT); twenty free failures, then the same doubling.
    pub const ADDRESS: Limits = Limits {
        in_flight: 8,
        free_failures: 20,
        base: Duration::from_secs(1),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(15 * 60),
        capacity: 100_000,
    };

    /// The lock after the `failures`-th failure, if any.
    fn lock_for(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_failures)?;
        let doubled = self.base.saturating_mul(1 << over.min(30));
        Some(doubled.min(self.max_lock))
    }
}

/// How an attempt ended, for one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Its failure stays counted.
    Failed,
    /// Its own failure is taken back (a success at an address, or a check
    /// that never ran).
    TakeBack,
    /// Every failure of the key is cleared (a success at an account).
    Reset,
}

/// Refused: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub Duration);

/// How long a refusal for a key that is busy (in-flight limit) asks to wait.
const BUSY_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Entry {
    in_flight: u32,
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

impl Entry {
    fn forgotten(&self, limits: &Limits, now: Instant) -> bool {
        self.in_flight == 0
            && self.locked_until.is_none_or(|until| until <= now)
            && now.duration_since(self.last_failure) >= limits.forget_after
    }
}

/// One table of keys.
#[derive(Debug)]
pub struct Table<K> {
    limits: Limits,
    /// Held for one map operation; never across an `.await`.
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    pub fn new(limits: Limits) -> Self {
        Table {
            limits,
            entries: Mutex::default(),
        }
    }

    /// Starts an attempt for `key`: counted as in flight and as a failure.
    /// `Ok(false)`: allowed but untracked (the table is full).
    pub fn begin(&self, key: &K, now: Instant) -> Result<bool, Refused> {
        let limits = &self.limits;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries.contains_key(key) && entries.len() >= limits.capacity {
            entries.retain(|_, e| !e.forgotten(limits, now));
            if entries.len() >= limits.capacity {
                return Ok(false);
            }
        }
        let entry = entries.entry(key.clone()).or_insert(Entry {
            in_flight: 0,
            failures: 0,
            locked_until: None,
            last_failure: now,
        });
        if entry.forgotten(limits, now) {
            entry.failures = 0;
            entry.locked_until = None;
        }
        if let Some(until) = entry.locked_until.filter(|until| *until > now) {
            return Err(Refused(until - now));
        }
        if entry.in_flight >= limits.in_flight {
            return Err(Refused(BUSY_WAIT));
        }
        entry.in_flight += 1;
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        entry.locked_until = limits.lock_for(entry.failures).map(|lock| now + lock);
        Ok(true)
    }

    /// Ends an attempt [`begin`](Self::begin) tracked.
    pub fn end(&self, key: &K, end: End) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get_mut(key) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        entry.failures = match end {
            End::Failed => return,
            End::TakeBack => entry.failures.saturating_sub(1),
            End::Reset => 0,
        };
        if self.limits.lock_for(entry.failures).is_none() {
            entry.locked_until = None;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// The key of a client address: IPv4 as is, IPv6 by its /64 (one host
/// usually has a whole /64 to pick from).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

/// The account key: what login looks the user up by.
pub fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Both tables.
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Table<String>,
    addresses: Table<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(Limits::ACCOUNT, Limits::ADDRESS)
    }
}

/// One admitted attempt: [`Attempt::succeeded`], [`Attempt::unchecked`],
/// or dropped — a failure, however the request ended.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    account: Option<String>,
    address: Option<IpAddr>,
    /// (account, address)
    end: (End, End),
}

impl Attempt<'_> {
    /// The password matched: the account's failures are cleared, the
    /// address gets back only this attempt's.
    pub fn succeeded(mut self) {
        self.end = (End::Reset, End::TakeBack);
    }

    /// The password was never checked (no worker was free): not a guess.
    pub fn unchecked(mut self) {
        self.end = (End::TakeBack, End::TakeBack);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(account) = &self.account {
            self.throttle.accounts.end(account, self.end.0);
        }
        if let Some(address) = &self.address {
            self.throttle.addresses.end(address, self.end.1);
        }
    }
}

impl LoginThrottle {
    pub fn new(account: Limits, address: Limits) -> Self {
        LoginThrottle {
            accounts: Table::new(account),
            addresses: Table::new(address),
        }
    }

    /// Admits an attempt at `email` from `client` (unknown when the server
    /// was not served with connection info), or says how long to wait.
    pub fn begin(
        &self,
        email: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt<'_>, Refused> {
        let address = client.map(address_key);
        let address = match address {
            Some(ip) => self.addresses.begin(&ip, now)?.then_some(ip),
            None => None,
        };
        let mut attempt = Attempt {
            throttle: self,
            account: None,
            address,
            end: (End::Failed, End::Failed),
        };
        let account = account_key(email);
        // On refusal `attempt` drops and releases the address again, but
        // its failure stays counted: refused guesses still cost the address.
        if self.accounts.begin(&account, now)? {
            attempt.account = Some(account);
        }
        Ok(attempt)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    const SMALL: Limits = Limits {
        in_flight: 1,
        free_failures: 2,
        base: Duration::from_secs(1),
        max_lock: Duration::from_secs(8),
        forget_after: Duration::from_secs(60),
        capacity: 3,
    };

    #[test]
    fn failures_past_the_free_ones_lock_with_doubling_waits() {
        let table = Table::new(SMALL);
        let mut now = Instant::now();
        let key = "a".to_owned();
        let mut locks = Vec::new();
        for _ in 0..7 {
            let wait = match table.begin(&key, now) {
                Ok(_) => {
                    table.end(&key, End::Failed);
                    match table.begin(&key, now) {
                        Err(Refused(wait)) => wait,
                        Ok(_) => {
                            table.end(&key, End::Failed);
                            Duration::ZERO
                        }
                    }
                }
                Err(Refused(wait)) => wait,
            };
            locks.push(wait.as_secs());
            now += wait;
        }
        // Two free failures, then 1, 2, 4, 8 (the maximum), 8.
        assert_eq!(locks, [0, 1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn one_check_at_a_time_per_key() {
        let table = Table::new(SMALL);
        let now = Instant::now();
        let key = "a".to_owned();
        assert_eq!(table.begin(&key, now), Ok(true));
        assert_eq!(table.begin(&key, now), Err(Refused(BUSY_WAIT)));
        assert_eq!(table.begin(&"b".to_owned(), now), Ok(true));
        table.end(&key, End::Reset);
        assert_eq!(table.begin(&key, now), Ok(true));
    }

    #[test]
    fn success_resets_an_account_but_only_takes_back_its_own_from_an_address() {
        let now = Instant::now();
        let accounts = Table::new(SMALL);
        let key = "a".to_owned();
        accounts.begin(&key, now).unwrap();
        accounts.end(&key, End::Failed);
        accounts.begin(&key, now).unwrap();
        accounts.end(&key, End::Reset);
        // Two more free failures: the success cleared the first.
        for _ in 0..2 {
            accounts.begin(&key, now).unwrap();
            accounts.end(&key, End::Failed);
        }
        assert!(accounts.begin(&key, now).is_err());

        let addresses = Table::new(SMALL);
        addresses.begin(&key, now).unwrap();
        addresses.end(&key, End::Failed);
        addresses.begin(&key, now).unwrap();
        addresses.end(&key, End::TakeBack);
        // Only the success was taken back: one free failure left.
        addresses.begin(&key, now).unwrap();
        addresses.end(&key, End::Failed);
        assert!(addresses.begin(&key, now).is_err());
    }

    #[test]
    fn quiet_keys_are_forgotten_and_a_full_table_stops_tracking() {
        let table = Table::new(SMALL);
        let mut now = Instant::now();
        for key in ["a", "b", "c"] {
            assert_eq!(table.begin(&key.to_owned(), now), Ok(true));
            table.end(&key.to_owned(), End::Failed);
        }
        assert_eq!(table.begin(&"d".to_owned(), now), Ok(false));
        assert_eq!(table.len(), 3);
        now += SMALL.forget_after;
        assert_eq!(table.begin(&"d".to_owned(), now), Ok(true));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn an_address_and_an_account_are_both_needed() {
        let throttle = LoginThrottle::new(SMALL, SMALL);
        let now = Instant::now();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let first = throttle.begin(" Owner@Demo.test", Some(ip), now).unwrap();
        // Same account, other address: busy.
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(throttle.begin("owner@demo.test", Some(other), now).is_err());
        // Other account, same address: the address is busy (in_flight 1).
        assert!(throttle.begin("x@demo.test", Some(ip), now).is_err());
        first.succeeded();
        assert!(throttle.begin("x@demo.test", Some(ip), now).is_ok());
    }

    #[test]
    fn an_unchecked_attempt_is_not_a_guess() {
        let throttle = LoginThrottle::new(SMALL, SMALL);
        let now = Instant::now();
        for _ in 0..10 {
            throttle
                .begin("a@demo.test", None, now)
                .unwrap()
                .unchecked();
        }
        // Still both free failures left.
        drop(throttle.begin("a@demo.test", None, now).unwrap());
        assert!(throttle.begin("a@demo.test", None, now).is_ok());
    }

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped = IpAddr::V6(Ipv6Addr::from(0xffff_0a00_0001u128));
        assert_eq!(address_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
