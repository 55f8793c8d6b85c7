//! A tiny deterministic pseudo-random generator (SplitMix64) held in the protocol state, so that
//! Generation IDs and timer jitter are reproducible from the seed given at construction.

use hato_core::Duration;

/// SplitMix64: one 64-bit word of state, good statistical quality for jitter and GenIDs.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A duration drawn uniformly from `[low, high]` (millisecond granularity).
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let low_ms = u64::try_from(low.as_millis()).unwrap_or(u64::MAX);
        let high_ms = u64::try_from(high.as_millis()).unwrap_or(u64::MAX);
        if high_ms <= low_ms {
            return low;
        }
        let span = high_ms - low_ms;
        let offset = self.next_u64() % span.saturating_add(1);
        Duration::from_millis(low_ms.saturating_add(offset))
    }

    /// A duration drawn uniformly from `[0, high]`.
    pub(crate) fn up_to(&mut self, high: Duration) -> Duration {
        self.between(Duration::ZERO, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        for _ in 0..1000 {
            let d = a.between(Duration::from_millis(500), Duration::from_millis(1500));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1500));
        }
        assert_eq!(a.between(Duration::from_secs(3), Duration::from_secs(1)), Duration::from_secs(3));
        assert_ne!(SplitMix64::new(1).next_u32(), SplitMix64::new(2).next_u32());
    }
}
