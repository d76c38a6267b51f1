//! The wall clock as Lambda speaks it: milliseconds since the Unix epoch
//! (an invocation's `deadline`, a ride's timestamp, an EMF line's time).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now (0 for a clock set before 1970).
pub fn epoch_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// [`epoch_ms`] as the unsigned count Lambda's context carries.
pub fn epoch_ms_unsigned() -> u64 {
    u64::try_from(epoch_ms()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_reads_after_the_samples_epoch_and_moves_forward() {
        let first = super::epoch_ms();
        // 2025-11-24, the fixed time of the sample payloads.
        assert!(first > 1_764_000_000_000, "{first}");
        assert!(super::epoch_ms_unsigned() >= u64::try_from(first).unwrap_or(u64::MAX));
    }
}
