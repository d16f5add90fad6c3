//! A rate per token: each token may make `rate` requests a second, with
//! bursts of twice that; past it the request is answered 429 with
//! `Retry-After`. The counting is the `governor` crate's (GCRA), keyed by
//! the token's public id, so only real tokens take room.

use std::num::NonZeroU32;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

/// Tokens remembered before idle ones are forgotten.
const KEYS_KEPT: usize = 10_000;

/// The per-token limiter (none when the rate is 0).
pub struct Throttle {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    rate: u32,
}

impl Throttle {
    /// `rate` requests a second per token; 0 turns the limit off.
    pub fn new(rate: u32) -> Throttle {
        let limiter = NonZeroU32::new(rate).map(|per_second| {
            let burst = per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        Throttle { limiter, rate }
    }

    /// Counts one request of `token_id`; 429 with the seconds to wait when
    /// it is over its rate.
    pub fn check(&self, token_id: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > KEYS_KEPT {
            limiter.retain_recent();
        }
        match limiter.check_key(&token_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let seconds = u32::try_from(seconds).unwrap_or(u32::MAX);
                Err(ApiError::too_many(
                    format!(
                        "this token made more than {} requests a second; wait {} s",
                        self.rate,
                        seconds.max(1)
                    ),
                    seconds.max(1),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_over_its_rate_is_told_when_to_come_back_and_others_are_not() {
        let throttle = Throttle::new(5);
        // A burst of twice the rate passes.
        for _ in 0..10 {
            throttle.check("tok_a").expect("within the burst");
        }
        let refused = throttle.check("tok_a").expect_err("over the rate");
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after, Some(1));
        throttle
            .check("tok_b")
            .expect("another token has its own rate");
        let off = Throttle::new(0);
        for _ in 0..1000 {
            off.check("tok_a").expect("no limit");
        }
    }
}
