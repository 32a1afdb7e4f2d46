//! Per-client rate limiting: a token bucket per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients tracked at most; beyond this, idle clients are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// A token bucket per client: `per_second` requests on average, bursts up
/// to twice that.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    clients: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second per client.
    ///
    /// ```
    /// use adarchive::api::limit::RateLimiter;
    /// let limiter = RateLimiter::new(1);
    /// let ip = "127.0.0.1".parse().unwrap();
    /// assert!(limiter.check(ip).is_ok());
    /// assert!(limiter.check(ip).is_ok());
    /// assert!(limiter.check(ip).is_err(), "the burst of 2 is spent");
    /// ```
    pub fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        RateLimiter {
            per_second,
            burst: per_second * 2.0,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`, or says how long until one is free.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() >= MAX_CLIENTS {
            let full = Duration::from_secs_f64(self.burst / self.per_second);
            clients.retain(|_, (_, seen)| now.duration_since(*seen) < full);
        }
        let (tokens, seen) = clients.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*seen).as_secs_f64() * self.per_second).min(self.burst);
        *seen = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_second))
        }
    }
}
