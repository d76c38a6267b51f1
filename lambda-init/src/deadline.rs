//! An invocation's deadline as an [`Instant`], one rule for every function:
//! Lambda's deadline (the context's `deadline`, milliseconds since the
//! epoch) less the margin the function keeps to answer. A deadline already
//! past when the invocation starts is no deadline at all: Lambda never hands
//! one out, `cargo lambda watch` hands one to every invocation; then
//! `fallback` from now bounds the work instead.

use std::time::{Duration, Instant};

pub fn until(deadline_ms: u64, margin: Duration, fallback: Duration) -> Instant {
    let now_ms = u128::from(crate::clock::epoch_ms_unsigned());
    let now = Instant::now();
    match u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).ok().filter(|left| *left > 0) {
        Some(left) => now + Duration::from_millis(left).saturating_sub(margin),
        None => now + fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::clock::epoch_ms_unsigned as epoch_ms;

    #[test]
    fn the_deadline_keeps_the_margin() {
        let d = until(epoch_ms() + 10_000, Duration::from_secs(2), Duration::from_secs(60));
        let left = d.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(8) && left > Duration::from_secs(7), "{left:?}");
    }

    #[test]
    fn a_deadline_already_past_is_replaced_by_the_fallback() {
        for past in [0, epoch_ms() - 5_000] {
            let d = until(past, Duration::from_secs(2), Duration::from_secs(30));
            let left = d.saturating_duration_since(Instant::now());
            assert!(left > Duration::from_secs(29) && left <= Duration::from_secs(30), "{left:?}");
        }
    }

    #[test]
    fn a_deadline_inside_the_margin_is_now() {
        let d = until(epoch_ms() + 1_000, Duration::from_secs(2), Duration::from_secs(30));
        assert!(d <= Instant::now());
    }
}
