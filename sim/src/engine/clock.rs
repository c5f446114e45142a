//! Each node's own clock (`"clocks"` in a scenario): an offset and a drift
//! from simulated time. Every time a node is given (every input, every
//! poll) is read on its clock, and the deadline it asks for is turned back
//! into simulated time, so a node never sees the engine's time: one-way
//! delays it measures from other nodes' timestamps include the two clocks'
//! difference, as on real machines (NOIA's pulses must cope with that).

use node_core::Time;
use rand::RngExt;

use super::rng::{StreamKind, stream};

/// One node's clock: `node = offset + t * (1 + ppm / 10^6)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to every time, ns.
    pub offset_ns: u64,
    /// Rate error, parts per million (positive: runs fast).
    pub ppm: i32,
}

const MILLION: i128 = 1_000_000;

impl Clock {
    /// Node `i`'s clock under the scenario's bounds: offset uniform in
    /// `0 ..= max_offset_ns`, drift uniform in `-max_ppm ..= max_ppm`, from
    /// the node's own random stream (so adding a node changes no other).
    pub fn draw(seed: u64, i: usize, max_offset_ns: u64, max_ppm: u32) -> Clock {
        let mut rng = stream(seed, StreamKind::Clock, i as u64);
        let max_ppm = max_ppm.min(100_000) as i32;
        Clock {
            offset_ns: rng.random_range(0..=max_offset_ns),
            ppm: rng.random_range(-max_ppm..=max_ppm),
        }
    }

    /// Whether it is the engine's own time.
    pub fn is_exact(&self) -> bool {
        self.offset_ns == 0 && self.ppm == 0
    }

    /// Simulated time `t` on this clock.
    pub fn local(&self, t: Time) -> Time {
        if self.is_exact() || t == Time::NEVER {
            return t;
        }
        let ns = i128::from(t.as_nanos());
        let v = i128::from(self.offset_ns) + ns + ns * i128::from(self.ppm) / MILLION;
        Time::from_nanos(v.clamp(0, i128::from(u64::MAX - 1)) as u64)
    }

    /// The first simulated time at which this clock reads at least `at`.
    pub fn global(&self, at: Time) -> Time {
        if self.is_exact() || at == Time::NEVER {
            return at;
        }
        let local = i128::from(at.as_nanos()) - i128::from(self.offset_ns);
        if local <= 0 {
            return Time::ZERO;
        }
        let rate = MILLION + i128::from(self.ppm);
        // Round up, then step to the first time the clock reads `at` (the
        // truncation in `local` may leave the estimate a step off).
        let mut t = ((local * MILLION + rate - 1) / rate).clamp(0, i128::from(u64::MAX - 1)) as u64;
        while self.local(Time::from_nanos(t)) < at && t < u64::MAX - 1 {
            t += 1;
        }
        // The rounding of `local` can also put the estimate a step late.
        while t > 0 && self.local(Time::from_nanos(t - 1)) >= at {
            t -= 1;
        }
        Time::from_nanos(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_is_monotonic_and_its_deadlines_are_never_early() {
        for (offset_ns, ppm) in [
            (0, 0),
            (5_000_000, 100),
            (123, -100),
            (1_000_000_000, 99_999),
        ] {
            let c = Clock { offset_ns, ppm };
            let mut prev = Time::ZERO;
            for k in 0..2000u64 {
                let t = Time::from_nanos(k * 7_919_993);
                let l = c.local(t);
                assert!(l >= prev, "{c:?} not monotonic at {t}");
                prev = l;
                let back = c.global(l);
                assert!(back <= t, "{c:?}: {l} first reached at {back}, after {t}");
                assert!(c.local(back) >= l, "{c:?}: woken early for {l}");
            }
        }
        let fast = Clock {
            offset_ns: 0,
            ppm: 100,
        };
        assert_eq!(
            fast.local(Time::from_nanos(1_000_000_000)).as_nanos(),
            1_000_100_000
        );
        let late = Clock {
            offset_ns: 1_000,
            ppm: 0,
        };
        assert_eq!(late.global(Time::from_nanos(500)), Time::ZERO);
        assert_eq!(late.global(Time::NEVER), Time::NEVER);
    }

    #[test]
    fn draws_are_within_bounds_and_per_node() {
        let a = Clock::draw(7, 3, 1_000_000, 50);
        assert_eq!(a, Clock::draw(7, 3, 1_000_000, 50));
        assert!(a.offset_ns <= 1_000_000 && (-50..=50).contains(&a.ppm));
        assert_ne!(a, Clock::draw(7, 4, 1_000_000, 50));
    }
}
