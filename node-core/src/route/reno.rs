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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const MSS: u64 = 1200;
    const MS: u64 = 1_000_000;

    enum Ev {
        Data(u64, usize),
        Ack(u64),
    }

    /// A route of `hops` relays, `hop_delay` each, forwarding best-effort:
    /// each crossing is lost with probability `loss_ppm / 1e6` (fixed LCG),
    /// plus scripted losses. The receiver acks every segment at once.
    struct Sim {
        s: RenoSender,
        r: CumulativeReceiver,
        now: Time,
        available: u64,
        one_way: Duration,
        hops: u32,
        loss_ppm: u64,
        lcg: u64,
        queue: BTreeMap<(Time, u64), Ev>,
        seq: u64,
        /// Offsets whose first transmission is lost.
        drop_once: Vec<u64>,
        /// Acks arriving in this interval are lost.
        ack_blackout: (Time, Time),
        max_flight: u64,
        timeouts_at: Vec<Time>,
    }

    impl Sim {
        fn new(config: RenoConfig, available: u64) -> Self {
            Sim {
                s: RenoSender::new(config),
                r: CumulativeReceiver::new(),
                now: Time::ZERO,
                available,
                one_way: Duration::from_millis(50),
                hops: 4,
                loss_ppm: 0,
                lcg: 0x2545_f491_4f6c_dd1d,
                queue: BTreeMap::new(),
                seq: 0,
                drop_once: Vec::new(),
                ack_blackout: (Time::NEVER, Time::NEVER),
                max_flight: 0,
                timeouts_at: Vec::new(),
            }
        }

        fn lost_on_path(&mut self) -> bool {
            (0..self.hops).any(|_| {
                self.lcg = self
                    .lcg
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (self.lcg >> 33) % 1_000_000 < self.loss_ppm
            })
        }

        fn push(&mut self, at: Time, ev: Ev) {
            self.seq += 1;
            self.queue.insert((at, self.seq), ev);
        }

        /// Sends what the sender allows, then handles the next event or
        /// timeout if it is due by `until`. Returns false when idle.
        fn step(&mut self, until: Time) -> bool {
            while let Some((offset, len)) = self.s.next_segment(self.available) {
                assert!(len > 0 && len as u64 <= MSS);
                self.s.on_sent(self.now, offset, len);
                self.max_flight = self.max_flight.max(self.s.flight());
                let scripted = self.drop_once.iter().position(|&o| o == offset);
                let scripted = scripted.map(|i| self.drop_once.remove(i)).is_some();
                if !self.lost_on_path() && !scripted {
                    self.push(self.now + self.one_way, Ev::Data(offset, len));
                }
            }
            let event = self
                .queue
                .first_key_value()
                .map_or(Time::NEVER, |(k, _)| k.0);
            let next = event.min(self.s.timer());
            if next > until || next == Time::NEVER {
                return false;
            }
            self.now = next;
            if event == next {
                match self.queue.pop_first().map(|(_, ev)| ev) {
                    Some(Ev::Data(offset, len)) => {
                        let ack = self.r.on_segment(offset, len);
                        let at = self.now + self.one_way;
                        let blackout = self.ack_blackout.0 <= at && at < self.ack_blackout.1;
                        if !self.lost_on_path() && !blackout {
                            self.push(at, Ev::Ack(ack));
                        }
                    }
                    Some(Ev::Ack(ack)) => self.s.on_ack(self.now, ack),
                    None => {}
                }
            } else {
                self.s.on_timeout(self.now);
                self.timeouts_at.push(self.now);
            }
            true
        }

        fn run_until(&mut self, until: Time) {
            while self.step(until) {}
        }
    }

    fn at_ms(ms: u64) -> Time {
        Time::from_nanos(ms * MS)
    }

    #[test]
    fn lossless_slow_start_then_linear() {
        let mut sim = Sim::new(RenoConfig::default(), 200 << 20);
        sim.s.ssthresh = 80 * MSS;
        // Every ack of a round arrives at k * RTT (100 ms): slow start
        // doubles per RTT up to ssthresh, then one MSS per RTT.
        for (k, segments) in [10, 20, 40, 80, 81, 82, 83, 84, 85].into_iter().enumerate() {
            sim.run_until(at_ms(100 * k as u64));
            assert_eq!(sim.s.cwnd(), segments * MSS, "round {k}");
            assert_eq!(sim.s.flight(), segments * MSS, "round {k}");
        }
        assert_eq!(sim.s.srtt(), Duration::from_millis(100));

        let mut sim = Sim::new(RenoConfig::default(), 3_000_000);
        sim.run_until(Time::NEVER);
        assert_eq!(sim.s.snd_una(), 3_000_000);
        assert_eq!(sim.r.cumulative(), 3_000_000);
        let st = sim.s.stats();
        assert_eq!(
            (st.retransmissions, st.timeouts, st.fast_retransmits),
            (0, 0, 0)
        );
        assert_eq!(st.bytes_acked, 3_000_000);
        assert_eq!(st.segments_sent, 3_000_000u64.div_ceil(MSS));
        assert_eq!(sim.s.timer(), Time::NEVER);
    }

    #[test]
    fn one_loss_fast_recovery() {
        let total = 2_000_000;
        let mut sim = Sim::new(RenoConfig::default(), total);
        sim.drop_once = vec![100 * MSS];
        let mut flight_before = 0;
        while !sim.s.in_recovery() {
            flight_before = sim.s.flight();
            assert!(sim.step(Time::NEVER));
        }
        // RFC 5681 §3.2: ssthresh = flight / 2, cwnd = ssthresh + 3 MSS,
        // and the segment at snd_una goes out first.
        assert_eq!(sim.s.snd_una(), 100 * MSS);
        assert_eq!(sim.s.ssthresh(), flight_before / 2);
        assert_eq!(sim.s.cwnd(), sim.s.ssthresh() + 3 * MSS);
        assert_eq!(sim.s.next_segment(total), Some((100 * MSS, MSS as usize)));
        while sim.s.in_recovery() {
            assert!(sim.step(Time::NEVER));
        }
        // Deflated on exit, at most ssthresh.
        assert!(sim.s.cwnd() <= sim.s.ssthresh());
        sim.run_until(Time::NEVER);
        assert_eq!(sim.s.snd_una(), total);
        let st = sim.s.stats();
        assert_eq!(
            (st.fast_retransmits, st.retransmissions, st.timeouts),
            (1, 1, 0)
        );
        // Congestion avoidance afterwards: linear, not exponential.
        assert!(sim.s.cwnd() < 2 * sim.s.ssthresh());
    }

    #[test]
    fn newreno_repairs_several_losses_without_timeout() {
        let mut sim = Sim::new(RenoConfig::default(), 2_000_000);
        sim.drop_once = vec![100 * MSS, 110 * MSS, 130 * MSS];
        sim.run_until(Time::NEVER);
        assert_eq!(sim.s.snd_una(), 2_000_000);
        let st = sim.s.stats();
        // One recovery episode, three retransmissions (two on partial acks).
        assert_eq!(
            (st.fast_retransmits, st.retransmissions, st.timeouts),
            (1, 3, 0)
        );
    }

    #[test]
    fn tail_loss_times_out() {
        let mut sim = Sim::new(RenoConfig::default(), 20 * MSS);
        sim.drop_once = vec![19 * MSS];
        while sim.s.stats().timeouts == 0 {
            assert!(sim.step(Time::NEVER));
        }
        // Two 100 ms samples: SRTT 100, RTTVAR 37.5, RTO 250 ms from the
        // last ack (200 ms), then doubled.
        assert_eq!(sim.timeouts_at, vec![at_ms(450)]);
        assert_eq!(sim.s.cwnd(), MSS);
        assert_eq!(sim.s.ssthresh(), 2 * MSS);
        assert_eq!(sim.s.rto(), Duration::from_millis(500));
        assert_eq!(sim.s.next_segment(20 * MSS), Some((19 * MSS, MSS as usize)));
        sim.run_until(Time::NEVER);
        assert_eq!(sim.s.snd_una(), 20 * MSS);
        let st = sim.s.stats();
        assert_eq!(
            (st.fast_retransmits, st.retransmissions, st.timeouts),
            (0, 1, 1)
        );
    }

    #[test]
    fn ack_blackout_backs_off_then_recovers() {
        let total = 2000 * MSS;
        let mut sim = Sim::new(RenoConfig::default(), total);
        sim.ack_blackout = (at_ms(250), at_ms(4000));
        sim.run_until(at_ms(3999));
        // RTO 250 ms after the last ack (200 ms), then doubling each time.
        let t = &sim.timeouts_at;
        assert_eq!(t[..], [at_ms(450), at_ms(950), at_ms(1950), at_ms(3950)]);
        // ssthresh set once, from the flight of the first timeout, then held.
        assert_eq!(sim.s.ssthresh(), 20 * MSS);
        assert_eq!(sim.s.cwnd(), MSS);
        assert_eq!(sim.s.rto(), Duration::from_millis(4000));
        sim.run_until(Time::NEVER);
        assert_eq!(sim.s.snd_una(), total);
        assert_eq!(sim.s.stats().timeouts, 4);
        // A fresh sample after the blackout collapsed the backoff.
        assert_eq!(sim.s.rto(), Duration::from_millis(200));
    }

    #[test]
    fn max_window_caps_flight() {
        for max_window in [20 * MSS, 20 * MSS + 500, 500] {
            let config = RenoConfig {
                max_window,
                ..RenoConfig::default()
            };
            let mut sim = Sim::new(config, 200 << 20);
            sim.run_until(at_ms(10_000));
            assert!(sim.s.cwnd() <= max_window.max(10 * MSS));
            // Full segments only, except when the window is below one.
            let expected = if max_window < MSS {
                max_window
            } else {
                max_window / MSS * MSS
            };
            assert_eq!(sim.max_flight, expected);
            // About a window per RTT for 100 RTTs.
            let acked = sim.s.snd_una();
            assert!(97 * expected < acked && acked <= 100 * expected, "{acked}");
        }
    }

    #[test]
    fn goodput_falls_steeply_with_loss() {
        // Per-hop loss for an end-to-end loss of 0, 1% and 10% over 4 hops,
        // on data and acks alike, for 60 s at 80 ms RTT.
        let goodput: Vec<u64> = [0, 2_510, 26_000]
            .into_iter()
            .map(|loss_ppm| {
                let mut sim = Sim::new(RenoConfig::default(), u64::MAX / 2);
                sim.one_way = Duration::from_millis(40);
                sim.loss_ppm = loss_ppm;
                sim.run_until(at_ms(60_000));
                sim.s.stats().bytes_acked
            })
            .collect();
        // Reno's rate ~ MSS / (RTT sqrt(p)): a factor sqrt(10) from 1% to
        // 10%, more once timeouts dominate.
        assert!(goodput[1] < goodput[0] / 10, "{goodput:?}");
        // Mathis et al.: MSS / RTT * sqrt(3 / 2p) = 184 kB/s at 1%.
        let mathis = 184_000 * 60;
        assert!(
            mathis / 2 < goodput[1] && goodput[1] < mathis * 2,
            "{goodput:?}"
        );
        assert!(goodput[2] < goodput[1] / 3, "{goodput:?}");
        assert!(goodput[2] > 0, "{goodput:?}");
    }

    #[test]
    fn bogus_acks_ignored() {
        let mut s = RenoSender::new(RenoConfig::default());
        for i in 0..10 {
            let (offset, len) = s.next_segment(1 << 20).unwrap();
            assert_eq!(offset, i * MSS);
            s.on_sent(Time::ZERO, offset, len);
        }
        assert_eq!(s.next_segment(1 << 20), None);
        let before = (s.snd_una(), s.cwnd(), s.timer());
        for ack in [u64::MAX, 10 * MSS + 1] {
            s.on_ack(at_ms(10), ack);
            assert_eq!((s.snd_una(), s.cwnd(), s.timer()), before);
        }
        s.on_ack(at_ms(100), 5 * MSS);
        // One cumulative ack: slow start adds at most one MSS.
        assert_eq!((s.snd_una(), s.cwnd()), (5 * MSS, 11 * MSS));
        // Going backwards: neither new data nor a duplicate.
        for _ in 0..5 {
            s.on_ack(at_ms(101), 2 * MSS);
        }
        assert!(!s.in_recovery());
        assert_eq!((s.snd_una(), s.stats().fast_retransmits), (5 * MSS, 0));
        // Early timeouts and sends past snd_nxt are ignored too.
        s.on_timeout(at_ms(101));
        s.on_sent(at_ms(101), u64::MAX - 5, usize::MAX);
        assert_eq!((s.stats().timeouts, s.snd_nxt()), (0, 10 * MSS));
    }

    #[test]
    fn karn_no_sample_from_retransmission() {
        let mut s = RenoSender::new(RenoConfig::default());
        s.on_sent(Time::ZERO, 0, 1200);
        s.on_timeout(at_ms(200));
        s.on_sent(at_ms(200), 0, 1200);
        // The ack may answer either copy: no sample, backoff kept.
        s.on_ack(at_ms(5000), 1200);
        assert_eq!(s.srtt(), Duration::from_millis(100));
        assert_eq!(s.rto(), Duration::from_millis(400));
        s.on_sent(at_ms(5000), 1200, 1200);
        s.on_ack(at_ms(5050), 2400);
        assert_eq!(s.srtt(), Duration::from_millis(50));
        assert_eq!(s.rto(), Duration::from_millis(200));
    }

    #[test]
    fn receiver_cumulative() {
        let mut r = CumulativeReceiver::new();
        assert_eq!(r.on_segment(100, 100), 0);
        assert_eq!(r.on_segment(300, 50), 0);
        assert_eq!(r.buffered(), 150);
        assert_eq!(r.on_segment(0, 100), 200);
        assert_eq!(r.on_segment(0, 150), 200);
        assert_eq!(r.on_segment(150, 200), 350);
        assert_eq!((r.cumulative(), r.buffered()), (350, 0));
        assert_eq!(r.on_segment(u64::MAX - 10, usize::MAX), 350);
        assert_eq!(r.on_segment(350, usize::MAX), u64::MAX);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Send(u8),
        Ack(u8, u64),
        Timeout,
        Advance(u64),
        Raw(u64, usize, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1..30u8).prop_map(Op::Send),
            (0..5u8, any::<u64>()).prop_map(|(k, v)| Op::Ack(k, v)),
            Just(Op::Timeout),
            (0..2_000_000_000u64).prop_map(Op::Advance),
            (any::<u64>(), any::<usize>(), any::<u64>()).prop_map(|(o, l, t)| Op::Raw(o, l, t)),
        ]
    }

    /// Runs `ops`; `raw` enables arbitrary sends and times (anything goes,
    /// nothing may panic) instead of a caller that follows the contract.
    fn check(config: RenoConfig, ops: Vec<Op>, raw: bool) -> Result<(), TestCaseError> {
        let mss = config.mss.max(1) as u64;
        let max_window = config.max_window.max(1);
        let mut s = RenoSender::new(config);
        let mut now = Time::ZERO;
        let available = u64::MAX / 2;
        for op in ops {
            match op {
                Op::Send(n) => {
                    for _ in 0..n {
                        let Some((offset, len)) = s.next_segment(available) else {
                            break;
                        };
                        prop_assert!(len > 0 && len as u64 <= mss);
                        s.on_sent(now, offset, len);
                    }
                }
                Op::Ack(kind, v) => {
                    let ack = match kind {
                        0 => s.snd_una() + v % (s.snd_max() - s.snd_una()).saturating_add(1),
                        1 => s.snd_una(),
                        2 => s.snd_una().saturating_sub(v % 5000),
                        3 => s.snd_max().saturating_add(v % 5000),
                        _ => v,
                    };
                    s.on_ack(now, ack);
                }
                Op::Timeout => {
                    if s.timer() != Time::NEVER {
                        now = now.max(s.timer());
                    }
                    s.on_timeout(now);
                }
                Op::Advance(d) => now += Duration::from_nanos(d),
                Op::Raw(offset, len, t) if raw => {
                    now = Time::from_nanos(t);
                    s.on_sent(now, offset, len);
                    s.on_sent(now, s.snd_nxt(), len);
                }
                Op::Raw(..) => {}
            }
            prop_assert!(s.snd_una() <= s.snd_nxt() && s.snd_nxt() <= s.snd_max());
            prop_assert!(s.cwnd() >= mss && s.ssthresh() >= mss.saturating_mul(2));
            if !raw {
                // (With raw times, `now + rto` may saturate to NEVER.)
                prop_assert_eq!(s.timer() == Time::NEVER, s.snd_una() == s.snd_max());
                // Stronger than `max_window + mss`: never above the cap.
                prop_assert!(s.flight() <= max_window);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn contract_keeps_invariants(
            mss in 1..3000usize,
            iw in 0..20u64,
            max_window in 0..100_000u64,
            rtt in 0..1_000_000_000u64,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let config = RenoConfig {
                mss,
                initial_window_segments: iw,
                max_window,
                initial_rtt: Duration::from_nanos(rtt),
                ..RenoConfig::default()
            };
            check(config, ops, false)?;
        }

        #[test]
        fn anything_never_panics(
            mss in prop_oneof![1..3000usize, any::<usize>()],
            iw in any::<u64>(),
            max_window in any::<u64>(),
            times in any::<[u64; 3]>(),
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let config = RenoConfig {
                mss,
                initial_window_segments: iw,
                max_window,
                initial_rtt: Duration::from_nanos(times[0]),
                min_rto: Duration::from_nanos(times[1]),
                max_rto: Duration::from_nanos(times[2]),
            };
            check(config, ops, true)?;
        }
    }
}
