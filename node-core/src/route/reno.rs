//! TCP-Reno-like reliability for the baseline `end-to-end` route mode.
//!
//! In `end-to-end` mode relays forward route data best-effort, so the only
//! loss recovery is at the route's origin, exactly as TCP over IP: the
//! destination returns cumulative acknowledgements of the route's byte
//! stream ([`CumulativeReceiver`]) and the origin runs [`RenoSender`]:
//!
//! - slow start and congestion avoidance (RFC 5681 §3.1), the latter by
//!   byte counting so that growth is one MSS per RTT whatever the ack rate;
//! - fast retransmit and fast recovery on three duplicate acks (RFC 5681
//!   §3.2) with NewReno's partial-ack handling (RFC 6582 §3.2), so several
//!   losses in one window are repaired without a timeout;
//! - a retransmission timeout (RFC 6298) with exponential backoff, after
//!   which the sender goes back to the first unacknowledged byte (as BSD
//!   TCP does: a cumulative ack cannot say what else arrived);
//! - Karn's rule: one segment per RTT is timed, and never one that was
//!   retransmitted or whose ack a retransmission could explain.
//!
//! All state is integer bytes and nanoseconds; every input, however bogus,
//! is either used or ignored, never a panic.

use crate::link::rtt::RttEstimator;
use crate::range_set::RangeSet;
use crate::time::{Duration, Time};

/// Duplicate acks that signal a loss (RFC 5681 §3.2 "DupThresh").
pub const DUP_THRESH: u32 = 3;

/// Parameters of a [`RenoSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenoConfig {
    /// Largest segment payload in bytes (SMSS). Zero is treated as one.
    pub mss: usize,
    /// Initial congestion window in segments (RFC 6928 suggests 10). Zero
    /// is treated as one, since a zero window could never start.
    pub initial_window_segments: u64,
    /// Most bytes outstanding at once: the receiver's buffer. Zero is
    /// treated as one byte.
    pub max_window: u64,
    /// RTT assumed before the first sample.
    pub initial_rtt: Duration,
    /// Floor of the retransmission timeout.
    pub min_rto: Duration,
    /// Ceiling of the retransmission timeout, backoff included.
    pub max_rto: Duration,
}

impl Default for RenoConfig {
    fn default() -> Self {
        RenoConfig {
            mss: 1200,
            initial_window_segments: 10,
            max_window: 4 << 20,
            initial_rtt: Duration::from_millis(100),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(60),
        }
    }
}

/// Counters of a [`RenoSender`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenoStats {
    /// Segments sent, retransmissions included.
    pub segments_sent: u64,
    /// Segments that carried at least one byte sent before.
    pub retransmissions: u64,
    /// Entries into fast recovery (each starts with one fast retransmit).
    pub fast_retransmits: u64,
    /// Retransmission timeouts that fired.
    pub timeouts: u64,
    /// Bytes newly acknowledged.
    pub bytes_acked: u64,
}

/// The sending side: which bytes of the stream to send when.
///
/// Offsets: `snd_una` (first unacknowledged) `<= snd_nxt` (next to send)
/// `<= snd_max` (highest ever sent). `snd_nxt < snd_max` only after a
/// timeout, while going back over bytes that may or may not have arrived.
#[derive(Debug, Clone)]
pub struct RenoSender {
    mss: u64,
    max_window: u64,
    snd_una: u64,
    snd_nxt: u64,
    snd_max: u64,
    cwnd: u64,
    ssthresh: u64,
    /// Bytes acked in congestion avoidance not yet turned into cwnd.
    ca_acked: u64,
    dup_acks: u32,
    in_recovery: bool,
    /// RFC 6582's `recover`: `snd_max` when recovery or the last timeout
    /// began. `None` until then (no data before offset 0 to protect).
    recover: Option<u64>,
    /// The segment at `snd_una` must be retransmitted next (fast
    /// retransmit or NewReno partial ack).
    retransmit_una: bool,
    /// A partial ack was seen in this recovery (RFC 6582: only the first
    /// one restarts the timer).
    partial_acked: bool,
    /// `snd_una` when the last timeout fired.
    timeout_una: Option<u64>,
    /// The timed segment: its end offset and when it was sent.
    probe: Option<(u64, Time)>,
    rtt: RttEstimator,
    deadline: Time,
    stats: RenoStats,
}

impl RenoSender {
    /// A sender at stream offset 0 with nothing sent.
    pub fn new(config: RenoConfig) -> Self {
        let mss = u64::try_from(config.mss.max(1)).unwrap_or(u64::MAX);
        RenoSender {
            mss,
            max_window: config.max_window.max(1),
            snd_una: 0,
            snd_nxt: 0,
            snd_max: 0,
            cwnd: config.initial_window_segments.max(1).saturating_mul(mss),
            // RFC 5681 §3.1: "arbitrarily high", so slow start runs until
            // the first loss.
            ssthresh: u64::MAX,
            ca_acked: 0,
            dup_acks: 0,
            in_recovery: false,
            recover: None,
            retransmit_una: false,
            partial_acked: false,
            timeout_una: None,
            probe: None,
            rtt: RttEstimator::new(
                config.initial_rtt.as_nanos(),
                config.min_rto.as_nanos(),
                config.max_rto.as_nanos(),
            ),
            deadline: Time::NEVER,
            stats: RenoStats::default(),
        }
    }

    /// The next segment to send, given that the stream currently has
    /// `available` bytes (offsets `0..available`): a pending retransmission
    /// of `snd_una` first, then data from `snd_nxt` within
    /// `min(cwnd, max_window)` of `snd_una`. Returns `(offset, len)` with
    /// `0 < len <= mss`, or `None`. The caller sends it, then calls
    /// [`on_sent`](Self::on_sent).
    pub fn next_segment(&self, available: u64) -> Option<(u64, usize)> {
        // RFC 5681 §3.2 step 3 / RFC 6582 §3.2 step 3: the lost segment
        // goes out whatever cwnd says; it adds nothing to the flight.
        if self.retransmit_una {
            let len = self.snd_max.min(available).saturating_sub(self.snd_una);
            if len > 0 {
                return Some((self.snd_una, self.len_usize(len.min(self.mss))));
            }
        }
        let len = available.saturating_sub(self.snd_nxt).min(self.mss);
        if len == 0 {
            return None;
        }
        let room = self.cwnd.min(self.max_window).saturating_sub(self.flight());
        if len <= room {
            Some((self.snd_nxt, self.len_usize(len)))
        } else if self.flight() == 0 && room > 0 {
            // Only full segments wait for room (sender-side silly window
            // avoidance, RFC 1122 §4.2.3.4); a window below one segment
            // (a tiny `max_window`) must still make progress.
            Some((self.snd_nxt, self.len_usize(room)))
        } else {
            None
        }
    }

    /// `len` bytes at `offset` left at `now`. A segment starting beyond
    /// `snd_nxt` would leave a hole never sent, so it is ignored.
    pub fn on_sent(&mut self, now: Time, offset: u64, len: usize) {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        if len == 0 || offset > self.snd_nxt {
            return;
        }
        let end = offset.saturating_add(len);
        self.stats.segments_sent = self.stats.segments_sent.saturating_add(1);
        if offset < self.snd_max {
            self.stats.retransmissions = self.stats.retransmissions.saturating_add(1);
        }
        if self.retransmit_una && offset == self.snd_una {
            self.retransmit_una = false;
        } else if self.probe.is_none() && !self.in_recovery && offset >= self.snd_max {
            // Karn (RFC 6298 §3): time only fresh data, and not during
            // recovery, where a cumulative ack waits on retransmissions.
            self.probe = Some((end, now));
        }
        self.snd_nxt = self.snd_nxt.max(end);
        self.snd_max = self.snd_max.max(self.snd_nxt);
        // RFC 6298 §5.1: start the timer if it is not running.
        if self.deadline == Time::NEVER {
            self.deadline = now + self.rto();
        }
    }

    /// A cumulative ack arrived: everything below `ack` was received.
    ///
    /// Acks beyond `snd_max` (data never sent) or below `snd_una` (older
    /// than one already seen, e.g. reordered) are ignored, as TCP does
    /// (RFC 9293 §3.10.7.4).
    pub fn on_ack(&mut self, now: Time, ack: u64) {
        if ack > self.snd_max || ack < self.snd_una {
            return;
        }
        if ack == self.snd_una {
            if self.snd_una < self.snd_max {
                self.on_dup_ack();
            }
            return;
        }
        let acked = ack - self.snd_una;
        self.snd_una = ack;
        // After a timeout, bytes acked past `snd_nxt` need no resending.
        self.snd_nxt = self.snd_nxt.max(ack);
        self.dup_acks = 0;
        self.stats.bytes_acked = self.stats.bytes_acked.saturating_add(acked);
        if let Some((end, sent)) = self.probe
            && ack >= end
        {
            self.rtt.on_sample(now.saturating_since(sent).as_nanos(), 0);
            // RFC 6298 §5: a fresh measurement collapses the backoff. An
            // ack of retransmitted data does not (Karn), or a path whose
            // RTT grew past the RTO would time out forever.
            self.rtt.reset_backoff();
            self.probe = None;
        }
        let restart = if self.in_recovery {
            self.on_recovery_ack(acked)
        } else {
            self.grow(acked);
            true
        };
        // RFC 6298 §5.2 and §5.3.
        if self.snd_una >= self.snd_max {
            self.deadline = Time::NEVER;
        } else if restart {
            self.deadline = now + self.rto();
        }
    }

    /// RFC 5681 §3.2 steps 2-4, with RFC 6582 §3.2 step 2's guard.
    fn on_dup_ack(&mut self) {
        self.dup_acks = self.dup_acks.saturating_add(1);
        if self.in_recovery {
            // Each dup ack means a segment left the network.
            self.cwnd = self.cwnd.saturating_add(self.mss);
        } else if self.dup_acks == DUP_THRESH
            // RFC 6582 §3.2 step 2: dup acks of data sent before the last
            // timeout or recovery are echoes of it, not a new loss.
            && self.recover.is_none_or(|r| self.snd_una > r)
        {
            self.ssthresh = self.loss_ssthresh();
            self.cwnd = self.ssthresh.saturating_add(self.mss.saturating_mul(3));
            self.recover = Some(self.snd_max);
            self.in_recovery = true;
            self.partial_acked = false;
            self.retransmit_una = true;
            self.probe = None;
            self.ca_acked = 0;
            self.stats.fast_retransmits = self.stats.fast_retransmits.saturating_add(1);
        }
    }

    /// An ack of new data during fast recovery (RFC 6582 §3.2 steps 3-4).
    /// Returns whether to restart the retransmission timer.
    fn on_recovery_ack(&mut self, acked: u64) -> bool {
        if self.recover.is_none_or(|r| self.snd_una >= r) {
            // Full ack: deflate, option (1) of step 3, so that the
            // inflated window does not release a burst.
            self.in_recovery = false;
            self.retransmit_una = false;
            let flight = self.flight().max(self.mss).saturating_add(self.mss);
            self.cwnd = self.ssthresh.min(flight);
            true
        } else {
            // Partial ack: the next hole is lost too. Deflate by what left
            // the network, keeping one MSS for the retransmission.
            self.retransmit_una = true;
            self.cwnd = self.cwnd.saturating_sub(acked);
            if acked >= self.mss {
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
            self.cwnd = self.cwnd.max(self.mss);
            // "Impatient" variant: only the first partial ack restarts the
            // timer, so a long recovery falls back to a timeout.
            !std::mem::replace(&mut self.partial_acked, true)
        }
    }

    /// Window growth on an ack of `acked` new bytes (RFC 5681 §3.1).
    fn grow(&mut self, acked: u64) {
        // Past the receiver's buffer, a larger cwnd would only be a claim
        // about the network that no flight has tested.
        if self.cwnd >= self.max_window {
            return;
        }
        let grown = if self.cwnd < self.ssthresh {
            // Slow start, equation (2): at most one SMSS per ack.
            self.cwnd.saturating_add(acked.min(self.mss))
        } else {
            // Congestion avoidance by byte counting (RFC 5681 §3.1, RFC
            // 3465): one MSS per cwnd of bytes acked, i.e. per RTT,
            // however acks are spaced or lost.
            self.ca_acked = self.ca_acked.saturating_add(acked);
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd.saturating_add(self.mss)
            } else {
                self.cwnd
            }
        };
        self.cwnd = grown.min(self.max_window);
    }

    /// RFC 5681 equation (4): half the flight, at least two segments.
    fn loss_ssthresh(&self) -> u64 {
        (self.flight() / 2).max(self.mss.saturating_mul(2))
    }

    /// When the retransmission timer fires (`Time::NEVER` if nothing is
    /// outstanding).
    pub fn timer(&self) -> Time {
        if self.snd_una >= self.snd_max {
            Time::NEVER
        } else {
            self.deadline
        }
    }

    /// The retransmission timer may have fired; calls before
    /// [`timer`](Self::timer) are ignored.
    pub fn on_timeout(&mut self, now: Time) {
        if self.snd_una >= self.snd_max {
            self.deadline = Time::NEVER;
            return;
        }
        if now < self.deadline {
            return;
        }
        // RFC 5681 §3.1: when the same segment times out again, hold
        // ssthresh; the go-back flight says nothing about the path.
        if self.timeout_una != Some(self.snd_una) {
            self.ssthresh = self.loss_ssthresh();
        }
        self.timeout_una = Some(self.snd_una);
        // The loss window: one segment (RFC 5681 §3.1).
        self.cwnd = self.mss;
        self.ca_acked = 0;
        self.dup_acks = 0;
        // RFC 6582 §3.2 step 4: remember what was sent, so that the
        // dup acks it produces do not start a fast retransmit.
        self.recover = Some(self.snd_max);
        self.in_recovery = false;
        self.retransmit_una = false;
        self.probe = None;
        // Go back: everything after `snd_una` is considered not sent.
        self.snd_nxt = self.snd_una;
        // RFC 6298 §5.5-5.6: back off, restart the timer.
        self.rtt.on_timeout();
        self.deadline = now + self.rto();
        self.stats.timeouts = self.stats.timeouts.saturating_add(1);
    }

    /// First byte not yet acknowledged.
    pub fn snd_una(&self) -> u64 {
        self.snd_una
    }
    /// Next byte to send as new data.
    pub fn snd_nxt(&self) -> u64 {
        self.snd_nxt
    }
    /// One past the highest byte ever sent.
    pub fn snd_max(&self) -> u64 {
        self.snd_max
    }
    /// Congestion window in bytes.
    pub fn cwnd(&self) -> u64 {
        self.cwnd
    }
    /// Slow-start threshold in bytes (`u64::MAX` before the first loss).
    pub fn ssthresh(&self) -> u64 {
        self.ssthresh
    }
    /// Bytes considered in the network: `snd_nxt - snd_una`.
    pub fn flight(&self) -> u64 {
        self.snd_nxt.saturating_sub(self.snd_una)
    }
    /// Whether fast recovery is under way.
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }
    /// Current retransmission timeout, backoff included.
    pub fn rto(&self) -> Duration {
        Duration::from_nanos(self.rtt.rto())
    }
    /// Smoothed RTT.
    pub fn srtt(&self) -> Duration {
        Duration::from_nanos(self.rtt.srtt())
    }
    /// Counters.
    pub fn stats(&self) -> RenoStats {
        self.stats
    }

    /// `len <= mss`, which came from a `usize`.
    fn len_usize(&self, len: u64) -> usize {
        usize::try_from(len).unwrap_or(usize::MAX)
    }
}

/// The receiving side: tracks which bytes arrived and what to acknowledge.
///
/// Bytes above the cumulative point are remembered as ranges, so memory
/// grows with the number of holes; the caller bounds what it accepts
/// (e.g. to the cumulative point plus the sender's `max_window`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CumulativeReceiver {
    cumulative: u64,
    /// Ranges received above `cumulative`.
    received: RangeSet,
}

impl CumulativeReceiver {
    /// Nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` bytes at `offset` arrived. Returns the cumulative ack to send:
    /// one for every segment, duplicates included, since duplicate acks are
    /// how the sender detects a loss (RFC 5681 §4.2).
    pub fn on_segment(&mut self, offset: u64, len: usize) -> u64 {
        let end = offset.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        if end > self.cumulative {
            self.received.insert(offset.max(self.cumulative)..end);
            self.cumulative = self.received.first_gap_from(self.cumulative);
            self.received.remove_below(self.cumulative);
        }
        self.cumulative
    }

    /// Everything below this offset arrived.
    pub fn cumulative(&self) -> u64 {
        self.cumulative
    }

    /// Bytes held above the cumulative point, waiting for a hole.
    pub fn buffered(&self) -> u64 {
        self.received.total()
    }
}

#[cfg(test)]
mod tests;
