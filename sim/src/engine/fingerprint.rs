//! The run fingerprint: a hash over the trajectory.
//!
//! Every transmission and delivery feeds (time, node, kind, datagram length)
//! into two 64-bit multiply-xorshift lanes. Not cryptographic: it only has to
//! make two different trajectories differ, and it costs a few nanoseconds per
//! event. Equal fingerprints mean identical runs.

use node_core::Time;

/// What happened, as far as the fingerprint cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    /// A node handed a datagram to a link.
    Transmit = 1,
    /// A datagram reached a node.
    Deliver = 2,
    /// A datagram was dropped by the link.
    Drop = 3,
    /// A node was woken by its timer.
    Wake = 4,
    /// A message reached an application.
    Message = 5,
    /// A fault started or ended.
    Fault = 6,
    /// A tunnel opened or was destroyed.
    Tunnel = 7,
}

/// The running hash of a trajectory.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    a: u64,
    b: u64,
    steps: u64,
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint {
            a: 0x6d65_7368_7369_6d31,
            b: 0x9e37_79b9_7f4a_7c15,
            steps: 0,
        }
    }
}

impl Fingerprint {
    /// Feeds one step.
    pub fn record(&mut self, time: Time, node: usize, step: Step, len: usize) {
        let x = time.as_nanos();
        let y = ((node as u64) << 40) ^ ((step as u64) << 32) ^ (len as u64);
        self.a = (self.a ^ x)
            .wrapping_mul(0xbf58_476d_1ce4_e5b9)
            .rotate_left(27)
            ^ y;
        self.b = (self.b ^ y)
            .wrapping_mul(0x94d0_49bb_1331_11eb)
            .rotate_left(31)
            ^ x;
        self.steps += 1;
    }

    /// Steps recorded.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The fingerprint as 32 hex digits.
    pub fn hex(&self) -> String {
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        format!(
            "{:016x}{:016x}",
            mix(self.a ^ self.steps),
            mix(self.b.wrapping_add(self.a))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_matter() {
        let t = Time::from_nanos;
        let mut x = Fingerprint::default();
        x.record(t(1), 0, Step::Transmit, 100);
        x.record(t(2), 1, Step::Deliver, 100);
        let mut y = Fingerprint::default();
        y.record(t(2), 1, Step::Deliver, 100);
        y.record(t(1), 0, Step::Transmit, 100);
        let mut z = Fingerprint::default();
        z.record(t(1), 0, Step::Transmit, 101);
        z.record(t(2), 1, Step::Deliver, 100);
        assert_ne!(x.hex(), y.hex());
        assert_ne!(x.hex(), z.hex());
        assert_eq!(x.hex().len(), 32);
    }
}
