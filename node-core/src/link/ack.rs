//! What we have received, and when to say so (the datagram ack).

use crate::config::Config;
use crate::time::Time;
use crate::wire::AckFrame;

/// Ranges kept beyond what one ACK frame carries are useless: older gaps
/// were either filled or given up by the sender long ago.
const KEPT_RANGES: usize = 64;
/// Ranges carried by one ACK frame (the most recent ones).
pub const SENT_RANGES: usize = 32;

/// Received packet numbers as sorted, disjoint, non-adjacent ranges
/// `start..end`, at most [`KEPT_RANGES`] of them (the lowest go first): a
/// vector, which holds one range in 16 bytes where a `RangeSet`'s B-tree
/// took a 192-byte leaf on every link, and whose bound keeps every
/// operation short whatever packet numbers a peer sends.
#[derive(Debug, Default)]
struct Received {
    ranges: Vec<(u64, u64)>,
}

impl Received {
    fn max(&self) -> Option<u64> {
        self.ranges.last().map(|r| r.1 - 1)
    }

    fn insert_one(&mut self, pn: u64) {
        let Some(end) = pn.checked_add(1) else {
            return;
        };
        // The first range that starts after `pn`.
        let i = self.ranges.partition_point(|r| r.0 <= pn);
        let joins_left = i > 0 && self.ranges[i - 1].1 >= pn;
        let joins_right = i < self.ranges.len() && self.ranges[i].0 == end;
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => {
                let r = &mut self.ranges[i - 1];
                r.1 = r.1.max(end);
            }
            (false, true) => self.ranges[i].0 = pn,
            (false, false) => self.ranges.insert(i, (pn, end)),
        }
        if self.ranges.len() > KEPT_RANGES {
            self.ranges.remove(0);
        }
    }
}

/// Received packet numbers of one session and the ack schedule.
#[derive(Debug, Default)]
pub struct AckTracker {
    received: Received,
    largest_at: Time,
    eliciting_unacked: u32,
    /// Packets arrived since the last ACK frame was sent.
    anything_new: bool,
    /// When the delayed ack is due; `NEVER` if none is pending.
    deadline: Option<Time>,
}

impl AckTracker {
    /// Records an authenticated packet.
    pub fn on_packet(&mut self, pn: u64, ack_eliciting: bool, now: Time, config: &Config) {
        if self.received.max().is_none_or(|m| pn > m) {
            self.largest_at = now;
        }
        self.received.insert_one(pn);
        self.anything_new = true;
        if ack_eliciting {
            self.eliciting_unacked += 1;
            if self.deadline.is_none() {
                self.deadline = Some(now + config.max_ack_delay);
            }
        }
    }

    /// The next ACK goes out at once (`now`), not after the ack delay.
    pub fn ack_now(&mut self, now: Time) {
        self.deadline = Some(now);
    }

    /// Whether an ACK must go out now, even alone in a datagram.
    pub fn must_send(&self, now: Time, config: &Config) -> bool {
        self.eliciting_unacked >= config.ack_every || self.deadline.is_some_and(|d| d <= now)
    }

    /// Whether an ACK is worth carrying in a datagram that goes out anyway.
    pub fn worth_piggybacking(&self) -> bool {
        self.anything_new
    }

    /// The deadline of the delayed ack.
    pub fn deadline(&self) -> Time {
        self.deadline.unwrap_or(Time::NEVER)
    }

    /// Builds the ACK frame (at most `max_ranges` most recent ranges) and
    /// resets the schedule.
    pub fn build(&mut self, now: Time, max_ranges: usize) -> Option<AckFrame> {
        let ranges: Vec<_> = self
            .received
            .ranges
            .iter()
            .rev()
            .take(max_ranges.max(1))
            .map(|&(start, end)| start..=end - 1)
            .collect();
        if ranges.is_empty() {
            return None;
        }
        self.eliciting_unacked = 0;
        self.anything_new = false;
        self.deadline = None;
        Some(AckFrame {
            ack_delay_us: now.saturating_since(self.largest_at).as_micros(),
            ranges,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_descend_and_schedule_resets() {
        let c = Config::default();
        let mut t = AckTracker::default();
        let now = Time::from_nanos(5_000_000);
        for pn in [0, 1, 2, 5, 6, 9] {
            t.on_packet(pn, pn != 9, now, &c);
        }
        assert!(t.must_send(now, &c));
        let ack = t
            .build(now + crate::time::Duration::from_micros(7), 32)
            .unwrap();
        assert_eq!(ack.ranges, vec![9..=9, 5..=6, 0..=2]);
        assert_eq!(ack.ack_delay_us, 7);
        assert!(!t.must_send(now, &c) && !t.worth_piggybacking());
        t.on_packet(10, true, now, &c);
        assert!(!t.must_send(now, &c));
        assert!(t.must_send(now + c.max_ack_delay, &c));
    }

    /// The bounded vector keeps what a `RangeSet` trimmed to the same
    /// bound keeps, for packet numbers in any order.
    #[test]
    fn received_ranges_match_a_range_set() {
        use crate::range_set::RangeSet;
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for spread in [4u64, 100, 400, 5000] {
            let mut ours = Received::default();
            let mut reference = RangeSet::new();
            for i in 0..20_000u64 {
                let pn = (i + rng.next_u64() % spread).saturating_sub(spread / 2);
                ours.insert_one(pn);
                reference.insert_one(pn);
                while reference.len() > KEPT_RANGES {
                    reference.pop_min();
                }
                let want: Vec<_> = reference.iter().map(|r| (r.start, r.end)).collect();
                assert_eq!(ours.ranges, want, "spread {spread}, packet {pn}");
                assert_eq!(ours.max(), reference.max());
            }
        }
        let mut top = Received::default();
        top.insert_one(u64::MAX);
        assert!(top.ranges.is_empty(), "u64::MAX is never a packet number");
    }
}
