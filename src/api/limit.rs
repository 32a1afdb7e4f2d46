//! Per-client limits: a token bucket per client, charged by what each
//! request cost, and a cap on the requests one client has in flight.
//!
//! A client is an IPv4 address or an IPv6 /64 (one household or server
//! gets a /64 and can rotate addresses inside it freely). Behind a reverse
//! proxy the client is read from `X-Forwarded-For`, but only when the peer
//! is a proxy the operator named (see [`ClientResolver`]). Memory is
//! bounded: the table is split into shards, each holding a fixed number of
//! clients; a full shard forgets its idle clients, then its oldest.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// Clients tracked at most, over all shards.
pub const MAX_CLIENTS: usize = 65_536;
const SHARDS: usize = 64;

/// Milliseconds of work one token pays for: a client's budget is its rate
/// times this much work per second (50 × 4 ms: a tenth of two cores).
pub const COST_UNIT_MS: u64 = 4;

/// What a request that took `work` costs, in tokens: one per
/// [`COST_UNIT_MS`], at least one.
///
/// ```
/// use std::time::Duration;
/// use adarchive::api::limit::cost;
/// assert_eq!(cost(Duration::from_millis(3)), 1);
/// assert_eq!(cost(Duration::from_millis(50)), 12);
/// ```
pub fn cost(work: Duration) -> u64 {
    (work.as_millis() as u64 / COST_UNIT_MS).max(1)
}

/// Who a request is counted against: an IPv4 address or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of an address.
    ///
    /// ```
    /// use adarchive::api::limit::ClientKey;
    /// let a = ClientKey::of("2001:db8:1:2:aaaa::1".parse().unwrap());
    /// let b = ClientKey::of("2001:db8:1:2:bbbb::9".parse().unwrap());
    /// let c = ClientKey::of("2001:db8:1:3::1".parse().unwrap());
    /// assert_eq!(a, b);
    /// assert_ne!(a, c);
    /// assert_eq!(ClientKey::of("::ffff:192.0.2.1".parse().unwrap()), ClientKey::of("192.0.2.1".parse().unwrap()));
    /// ```
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(Ipv6Addr::from(bits)))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Finds the client's address: the peer's, or, when the peer is a trusted
/// proxy, the last address in `X-Forwarded-For` that is not itself one.
#[derive(Clone, Debug, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
}

impl ClientResolver {
    /// Trusts `X-Forwarded-For` from these proxies only.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        ClientResolver { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` carrying
    /// `forwarded_for` (the header's values, in order).
    ///
    /// ```
    /// use adarchive::api::limit::ClientResolver;
    /// let resolver = ClientResolver::new(vec!["10.0.0.0/8".parse().unwrap()]);
    /// let proxy = "10.0.0.2".parse().unwrap();
    /// let stranger = "198.51.100.7".parse().unwrap();
    /// let header = ["203.0.113.9, 10.0.0.3"];
    /// assert_eq!(resolver.client(proxy, header).to_string(), "203.0.113.9");
    /// // Anyone else's header is ignored: it could say anything.
    /// assert_eq!(resolver.client(stranger, header).to_string(), "198.51.100.7");
    /// ```
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        // The rightmost hops were added by the trusted proxies themselves;
        // the first one that is not a proxy is the client.
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !self.is_trusted(*ip))
            .or_else(|| hops.first().copied())
            .unwrap_or(peer)
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client spent its budget: retry after this long.
    Rate(Duration),
    /// The client has as many requests in flight as it may.
    Busy,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    seen: Instant,
    in_flight: u32,
    /// What this client's requests have cost lately (a moving average, in
    /// tokens): taken when one is let in, so that a client of expensive
    /// requests cannot start several before the first is paid for.
    usual_cost: f64,
}

/// A token bucket per client: `per_second` tokens a second on average,
/// bursts up to twice that, each request charged one token per
/// [`COST_UNIT_MS`] of work it took (at least one); and at most `max_in_flight` requests
/// of one client at once.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_in_flight: u32,
    shards: Vec<Mutex<HashMap<ClientKey, Bucket>>>,
}

/// A request let in; the client's count of requests in flight goes down
/// when it is dropped.
pub struct Admission {
    limiter: Arc<RateLimiter>,
    client: ClientKey,
    /// Tokens taken when it was let in.
    taken: f64,
}

impl Admission {
    /// The client it counts against.
    pub fn client(&self) -> ClientKey {
        self.client
    }

    /// Charges the work the request took: a request costs one token per
    /// [`COST_UNIT_MS`] of work, and at least one. What was taken when it
    /// was let in is settled: the rest is charged, or given back.
    pub fn charge(&self, work: Duration) {
        let cost = cost(work) as f64;
        self.limiter.with_bucket(self.client, |bucket| {
            // Debt is allowed: the client waits until it is paid.
            bucket.tokens -= cost - self.taken;
            bucket.usual_cost = bucket.usual_cost * 0.75 + cost * 0.25;
        });
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.limiter.with_bucket(self.client, |bucket| {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        });
    }
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second per client and
    /// `max_in_flight` at once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use adarchive::api::limit::{ClientKey, RateLimiter, Refusal};
    /// let limiter = Arc::new(RateLimiter::new(1, 1));
    /// let client = ClientKey::of("127.0.0.1".parse().unwrap());
    /// let first = limiter.admit(client).unwrap();
    /// assert_eq!(limiter.admit(client).err(), Some(Refusal::Busy));
    /// drop(first);
    /// let second = limiter.admit(client).unwrap();
    /// drop(second);
    /// assert!(matches!(limiter.admit(client), Err(Refusal::Rate(_))), "the burst of 2 is spent");
    /// ```
    pub fn new(per_second: u32, max_in_flight: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        RateLimiter {
            per_second,
            burst: per_second * 2.0,
            max_in_flight: max_in_flight.max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, client: ClientKey) -> &Mutex<HashMap<ClientKey, Bucket>> {
        use std::hash::{Hash, Hasher};
        // A fixed hasher: the shard of a client must not change.
        let mut hasher = std::hash::DefaultHasher::new();
        client.hash(&mut hasher);
        &self.shards[(hasher.finish() as usize) % SHARDS]
    }

    fn with_bucket<T>(&self, client: ClientKey, f: impl FnOnce(&mut Bucket) -> T) -> Option<T> {
        let mut shard = self
            .shard(client)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shard.get_mut(&client).map(f)
    }

    /// Lets a request of `client` in, or says why not.
    pub fn admit(self: &Arc<Self>, client: ClientKey) -> Result<Admission, Refusal> {
        let now = Instant::now();
        let mut shard = self
            .shard(client)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !shard.contains_key(&client) && shard.len() >= MAX_CLIENTS / SHARDS {
            let refill = Duration::from_secs_f64(self.burst / self.per_second);
            shard.retain(|_, b| b.in_flight > 0 || now.duration_since(b.seen) < refill);
            if shard.len() >= MAX_CLIENTS / SHARDS {
                let oldest = shard
                    .iter()
                    .filter(|(_, b)| b.in_flight == 0)
                    .min_by_key(|(_, b)| b.seen)
                    .map(|(k, _)| *k);
                match oldest {
                    Some(key) => {
                        shard.remove(&key);
                    }
                    None => return Err(Refusal::Busy),
                }
            }
        }
        let bucket = shard.entry(client).or_insert(Bucket {
            tokens: self.burst,
            seen: now,
            in_flight: 0,
            usual_cost: 1.0,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.seen).as_secs_f64() * self.per_second)
            .min(self.burst);
        bucket.seen = now;
        if bucket.in_flight >= self.max_in_flight {
            return Err(Refusal::Busy);
        }
        if bucket.tokens < 1.0 {
            return Err(Refusal::Rate(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            )));
        }
        // At least one token, at most what the client has (it has one or more).
        let taken = bucket.usual_cost.min(bucket.tokens).max(1.0);
        bucket.tokens -= taken;
        bucket.in_flight += 1;
        Ok(Admission {
            limiter: self.clone(),
            client,
            taken,
        })
    }

    /// Clients tracked now.
    pub fn clients(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.len()).unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_stays_bounded_and_costly_requests_wait() {
        let limiter = Arc::new(RateLimiter::new(50, 4));
        for i in 0..(MAX_CLIENTS as u32 * 2) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            drop(limiter.admit(ClientKey::of(ip)).unwrap());
        }
        assert!(limiter.clients() <= MAX_CLIENTS);

        let client = ClientKey::of("192.0.2.1".parse().unwrap());
        let admitted = limiter.admit(client).unwrap();
        // One request that took two seconds of work costs 500 tokens.
        admitted.charge(Duration::from_secs(2));
        drop(admitted);
        match limiter.admit(client) {
            Err(Refusal::Rate(wait)) => assert!(wait > Duration::from_secs(1), "{wait:?}"),
            _ => panic!("a costly request must be paid for"),
        }
    }
}
