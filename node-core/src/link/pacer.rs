//! Pacing: datagrams leave no faster than the link's capacity.
//!
//! When the driver knows the rate of a link (an interface rate, a
//! simulated channel), sending faster than it only builds a queue below
//! the node, where priorities no longer apply and where drop-tail discards
//! what the node already committed to. The pacer spaces datagrams by their
//! serialization time at that rate, so the queue stays in the node, where
//! realtime data goes first.

use crate::time::{Duration, Time};

/// Spaces datagrams at a fixed bit rate.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate_bps: u64,
    next_free: Time,
    /// Data was held back: the pacing timer is armed at `next_free`.
    waiting: bool,
}

impl Pacer {
    /// The rate it paces to.
    pub fn rate_bps(&self) -> u64 {
        self.rate_bps
    }

    /// A pacer for `rate_bps` (> 0).
    pub fn new(rate_bps: u64) -> Self {
        Pacer {
            rate_bps: rate_bps.max(1),
            next_free: Time::ZERO,
            waiting: false,
        }
    }

    /// Whether data may leave at `now`; if not, remembers to wake up.
    pub fn admit(&mut self, now: Time) -> bool {
        let ready = self.next_free <= now;
        self.waiting = !ready;
        ready
    }

    /// A datagram of `len` bytes left at `now` (whatever it carried).
    pub fn on_sent(&mut self, now: Time, len: usize) {
        // Rounded up, like a serializing channel: never faster than the link.
        let ns = (len as u64 * 8 * 1_000_000_000).div_ceil(self.rate_bps);
        self.next_free = self.next_free.max(now) + Duration::from_nanos(ns);
    }

    /// When held-back data may leave; `NEVER` if nothing is held back.
    pub fn deadline(&self) -> Time {
        if self.waiting {
            self.next_free
        } else {
            Time::NEVER
        }
    }

    /// The pacing timer fired.
    pub fn on_timeout(&mut self) {
        self.waiting = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_datagrams_by_their_serialization_time() {
        let mut p = Pacer::new(8_000_000); // one byte per microsecond
        let t = Time::from_nanos(1_000);
        assert!(p.admit(t));
        p.on_sent(t, 1000);
        assert!(!p.admit(t));
        assert_eq!(p.deadline(), t + Duration::from_micros(1000));
        p.on_timeout();
        assert_eq!(p.deadline(), Time::NEVER);
        assert!(p.admit(t + Duration::from_micros(1000)));
        // Idle time is not saved up as credit for a burst.
        p.on_sent(t + Duration::from_secs(1), 500);
        assert!(!p.admit(t + Duration::from_secs(1)));
    }
}
