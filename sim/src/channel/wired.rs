//! One direction of a point-to-point link.
//!
//! A datagram offered at `now` goes through, in order:
//! 1. the MTU check ([`DropCause::TooBig`]);
//! 2. the up/down check ([`DropCause::Down`]);
//! 3. the drop-tail queue ([`DropCause::Queue`]): a datagram that finds the
//!    wire idle starts at once; one that has to wait is accepted only if the
//!    bytes already waiting (not counting the datagram on the wire) plus its
//!    own fit in `queue_bytes`;
//! 4. serialization at `bandwidth_bps` (it starts when the previous datagram
//!    is done);
//! 5. random loss ([`DropCause::Loss`]); a lost datagram still used the wire;
//! 6. propagation: arrival = end of serialization + latency + extra latency +
//!    jitter drawn uniformly in [0, jitter]. Unless `reorder` is set, a
//!    datagram never arrives before an earlier one on the same channel.

use node_core::{Duration, Time};
use rand::Rng;

use super::loss::LossProcess;
use super::{Backlog, ChannelStats, DropCause, serialization_ns};
use crate::model::ChannelParams;

/// One direction of a point-to-point link.
#[derive(Debug, Clone)]
pub struct Channel {
    params: ChannelParams,
    loss: LossProcess,
    backlog: Backlog,
    /// Latest arrival time handed out (for the no-reorder rule).
    last_arrival: Time,
    up: bool,
    generation: u64,
    extra_latency: Duration,
    stats: ChannelStats,
}

impl Channel {
    /// An idle channel that is up, at generation 0.
    pub fn new(params: ChannelParams) -> Self {
        Self {
            loss: LossProcess::new(params.loss),
            params,
            backlog: Backlog::default(),
            last_arrival: Time::ZERO,
            up: true,
            generation: 0,
            extra_latency: Duration::ZERO,
            stats: ChannelStats::default(),
        }
    }

    /// The channel's parameters.
    pub fn params(&self) -> &ChannelParams {
        &self.params
    }

    /// Offers a datagram of `len` bytes at `now`; returns its arrival time
    /// or why it is dropped (see the module documentation for the order of
    /// the checks). Random numbers are drawn only for a datagram that made
    /// it onto the wire: one or two for the loss model (see
    /// [`LossProcess::lose`]), then one for the jitter when `jitter > 0`,
    /// whether or not the datagram is lost.
    ///
    /// `now` must not go backwards between calls (the engine's clock).
    pub fn send<R: Rng + ?Sized>(
        &mut self,
        now: Time,
        len: usize,
        rng: &mut R,
    ) -> Result<Time, DropCause> {
        self.stats.note_offered(len);
        let result = self.try_send(now, len, rng);
        if let Err(cause) = result {
            self.stats.note_dropped(cause);
        }
        result
    }

    fn try_send<R: Rng + ?Sized>(
        &mut self,
        now: Time,
        len: usize,
        rng: &mut R,
    ) -> Result<Time, DropCause> {
        if len > self.params.mtu {
            return Err(DropCause::TooBig);
        }
        if !self.up {
            return Err(DropCause::Down);
        }
        self.backlog.prune(now);
        let start = now.max(self.backlog.busy_until());
        if !self
            .backlog
            .admits(now, start, len as u64, self.params.queue_bytes)
        {
            return Err(DropCause::Queue);
        }
        let ser = serialization_ns(len, self.params.bandwidth_bps);
        let end = start + Duration::from_nanos(ser);
        self.backlog.push(start, end, len as u64);
        self.stats.busy_ns = self.stats.busy_ns.saturating_add(ser);

        let lost = self.loss.lose(rng);
        let jitter = uniform_up_to(rng, self.params.jitter);
        if lost {
            return Err(DropCause::Loss);
        }
        let mut arrival = end + self.params.latency + self.extra_latency + jitter;
        if !self.params.reorder {
            arrival = arrival.max(self.last_arrival);
        }
        self.last_arrival = self.last_arrival.max(arrival);
        Ok(arrival)
    }

    /// Takes the channel up or down at `now`. Going down empties the queue
    /// (the datagram on the wire and those waiting are lost) and increments
    /// the generation; datagrams already in flight are lost too, which the
    /// engine detects by comparing [`Channel::generation`] at delivery.
    /// Setting the state it already has does nothing.
    pub fn set_up(&mut self, up: bool, now: Time) {
        if up == self.up {
            return;
        }
        self.up = up;
        if !up {
            self.generation = self.generation.saturating_add(1);
            // The wire stops at `now`: the serialization it will not do does
            // not count as busy time.
            let unused = self.backlog.clear(now);
            self.stats.busy_ns = self.stats.busy_ns.saturating_sub(unused.as_nanos());
            // Everything in flight is lost, so nothing constrains the order
            // of later arrivals.
            self.last_arrival = Time::ZERO;
        }
    }

    /// Whether the channel is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// How many times the channel went down. A datagram sent at generation
    /// `g` is delivered only if the channel is still at `g` when it arrives.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets the latency added to every later datagram (a latency-change
    /// fault; `Duration::ZERO` removes it). Without `reorder`, a decrease
    /// does not let later datagrams overtake earlier ones.
    pub fn set_extra_latency(&mut self, extra: Duration) {
        self.extra_latency = extra;
    }

    /// The current extra latency.
    pub fn extra_latency(&self) -> Duration {
        self.extra_latency
    }

    /// When the wire finishes the datagrams accepted so far.
    pub fn busy_until(&self) -> Time {
        self.backlog.busy_until()
    }

    /// Counts a datagram the engine delivered.
    pub fn note_delivered(&mut self, len: usize) {
        self.stats.note_delivered(len);
    }

    /// Counts a drop decided later by the engine (generation change at
    /// delivery, a dead receiver).
    pub fn note_dropped(&mut self, cause: DropCause) {
        self.stats.note_dropped(cause);
    }

    /// The counters.
    pub fn stats(&self) -> &ChannelStats {
        &self.stats
    }
}

/// A duration drawn uniformly in `[0, max]` (inclusive) from exactly one
/// random `u64` when `max > 0` (none when it is zero): the high half of
/// `u · (max + 1)`. The bias is below `(max + 1) / 2^64`, negligible, and
/// the fixed number of draws keeps the stream aligned.
pub(crate) fn uniform_up_to<R: Rng + ?Sized>(rng: &mut R, max: Duration) -> Duration {
    let max = max.as_nanos();
    if max == 0 {
        return Duration::ZERO;
    }
    let u = rng.next_u64() as u128;
    Duration::from_nanos(((u * (max as u128 + 1)) >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LossModel;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const GBPS: u64 = 1_000_000_000;

    fn params(bandwidth_bps: u64, latency: Duration) -> ChannelParams {
        ChannelParams {
            bandwidth_bps,
            latency,
            jitter: Duration::ZERO,
            reorder: false,
            queue_bytes: 3000,
            mtu: 1500,
            loss: LossModel::None,
        }
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(42)
    }

    /// `S * 8 / R` in nanoseconds, when it is a whole number.
    fn exact_ser(len: u64, bps: u64) -> Duration {
        let bits_ns = len * 8 * 1_000_000_000;
        assert_eq!(bits_ns % bps, 0, "pick sizes with an exact time");
        Duration::from_nanos(bits_ns / bps)
    }

    #[test]
    fn idle_channel_arrival_is_serialization_plus_latency() {
        for (len, bps, lat) in [
            (1500u64, GBPS, Duration::from_millis(5)),
            (1000, 10_000_000, Duration::from_micros(250)),
            (64, 1_000_000, Duration::ZERO),
        ] {
            let mut c = Channel::new(params(bps, lat));
            let now = Time::from_nanos(7_777);
            let at = c.send(now, len as usize, &mut rng()).unwrap();
            assert_eq!(at, now + exact_ser(len, bps) + lat);
            assert_eq!(c.stats().busy_ns, exact_ser(len, bps).as_nanos());
        }
    }

    #[test]
    fn serialization_rounds_up_to_whole_nanoseconds() {
        // 8 bits at 3 bit/s: 2.666...s, rounded up.
        assert_eq!(serialization_ns(1, 3), 2_666_666_667);
        assert_eq!(serialization_ns(0, 3), 0);
        assert_eq!(serialization_ns(usize::MAX, 1), u64::MAX);
    }

    #[test]
    fn back_to_back_datagrams_queue() {
        let lat = Duration::from_millis(1);
        let mut c = Channel::new(params(GBPS, lat));
        let ser = exact_ser(1500, GBPS);
        let now = Time::from_nanos(1_000);
        let mut r = rng();
        for k in 1..=3u64 {
            let at = c.send(now, 1500, &mut r).unwrap();
            assert_eq!(at, now + ser.saturating_mul(k) + lat);
        }
        assert_eq!(c.busy_until(), now + ser.saturating_mul(3));
    }

    #[test]
    fn drop_tail_counts_queue_drops() {
        // Queue of 3000 bytes: one 1500-byte datagram on the wire, two waiting.
        let mut c = Channel::new(params(GBPS, Duration::ZERO));
        let ser = exact_ser(1500, GBPS);
        let t0 = Time::ZERO;
        let mut r = rng();
        let ok = (0..10).filter(|_| c.send(t0, 1500, &mut r).is_ok()).count();
        assert_eq!(ok, 3);
        assert_eq!(c.stats().drops_of(DropCause::Queue), 7);
        assert_eq!(c.stats().offered_datagrams, 10);
        // Just before the first datagram is done the queue is still full...
        let almost = t0 + ser - Duration::from_nanos(1);
        assert_eq!(c.send(almost, 1500, &mut r), Err(DropCause::Queue));
        // ...when it is done, the next one goes onto the wire and frees room.
        let at = c.send(t0 + ser, 1500, &mut r).unwrap();
        assert_eq!(at, t0 + ser.saturating_mul(4));
        assert_eq!(c.send(t0 + ser, 1500, &mut r), Err(DropCause::Queue));
        // A small datagram fits in no room either: the queue is full to the byte.
        assert_eq!(c.send(t0 + ser, 1, &mut r), Err(DropCause::Queue));
    }

    #[test]
    fn zero_queue_holds_only_the_datagram_on_the_wire() {
        let mut p = params(GBPS, Duration::ZERO);
        p.queue_bytes = 0;
        let mut c = Channel::new(p);
        let mut r = rng();
        assert!(c.send(Time::ZERO, 1500, &mut r).is_ok());
        assert_eq!(c.send(Time::ZERO, 1500, &mut r), Err(DropCause::Queue));
        assert!(c.send(c.busy_until(), 1500, &mut r).is_ok());
    }

    #[test]
    fn mtu_is_enforced() {
        let mut c = Channel::new(params(GBPS, Duration::ZERO));
        let mut r = rng();
        assert_eq!(c.send(Time::ZERO, 1501, &mut r), Err(DropCause::TooBig));
        assert!(c.send(Time::ZERO, 1500, &mut r).is_ok());
        assert_eq!(c.stats().drops_of(DropCause::TooBig), 1);
        // A too-big datagram takes no queue space or wire time.
        assert_eq!(c.stats().busy_ns, exact_ser(1500, GBPS).as_nanos());
    }

    #[test]
    fn down_drops_empties_queue_and_bumps_generation() {
        let mut c = Channel::new(params(GBPS, Duration::from_millis(1)));
        let ser = exact_ser(1500, GBPS);
        let mut r = rng();
        for _ in 0..3 {
            c.send(Time::ZERO, 1500, &mut r).unwrap();
        }
        assert_eq!(c.generation(), 0);
        let t = Time::ZERO + Duration::from_nanos(ser.as_nanos() / 2);
        c.set_up(false, t);
        assert!(!c.is_up());
        assert_eq!(c.generation(), 1);
        // Only the time actually spent on the wire counts as busy.
        assert_eq!(c.stats().busy_ns, ser.as_nanos() / 2);
        assert_eq!(c.send(t, 100, &mut r), Err(DropCause::Down));
        c.set_up(false, t);
        assert_eq!(c.generation(), 1, "already down");
        c.set_up(true, t);
        assert_eq!(c.generation(), 1);
        // The queue was emptied: the next datagram starts at once.
        let at = c.send(t, 1500, &mut r).unwrap();
        assert_eq!(at, t + ser + Duration::from_millis(1));
        c.set_up(false, t);
        c.set_up(true, t);
        assert_eq!(c.generation(), 2);
        assert_eq!(c.stats().drops_of(DropCause::Down), 1);
    }

    #[test]
    fn extra_latency_applies_to_later_datagrams() {
        let lat = Duration::from_millis(2);
        let mut c = Channel::new(params(GBPS, lat));
        let ser = exact_ser(1000, GBPS);
        let mut r = rng();
        c.set_extra_latency(Duration::from_millis(100));
        assert_eq!(c.extra_latency(), Duration::from_millis(100));
        let at = c.send(Time::ZERO, 1000, &mut r).unwrap();
        assert_eq!(at, Time::ZERO + ser + lat + Duration::from_millis(100));
        // Removing it does not let the next datagram overtake (no reorder).
        c.set_extra_latency(Duration::ZERO);
        let t1 = Time::from_nanos(1_000_000);
        assert_eq!(c.send(t1, 1000, &mut r).unwrap(), at);
        let t2 = Time::from_nanos(200_000_000);
        assert_eq!(c.send(t2, 1000, &mut r).unwrap(), t2 + ser + lat);
    }

    #[test]
    fn lost_datagrams_still_use_the_wire() {
        let mut p = params(GBPS, Duration::ZERO);
        p.loss = LossModel::Bernoulli { p: 1.0 };
        let mut c = Channel::new(p);
        let mut r = rng();
        assert_eq!(c.send(Time::ZERO, 1500, &mut r), Err(DropCause::Loss));
        assert_eq!(c.busy_until(), Time::ZERO + exact_ser(1500, GBPS));
        assert_eq!(c.stats().drops_of(DropCause::Loss), 1);
    }

    #[test]
    fn delivered_and_late_drops_are_counted() {
        let mut c = Channel::new(params(GBPS, Duration::ZERO));
        c.note_delivered(100);
        c.note_delivered(50);
        c.note_dropped(DropCause::Collision);
        let s = c.stats();
        assert_eq!((s.delivered_datagrams, s.delivered_bytes), (2, 150));
        assert_eq!(s.drops_of(DropCause::Collision), 1);
        assert_eq!(s.total_drops(), 1);
        let names: Vec<_> = DropCause::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["loss", "queue", "collision", "down", "too_big"]);
        for (i, c) in DropCause::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }

    #[test]
    fn jitter_reorders_only_when_allowed() {
        for reorder in [false, true] {
            let mut p = params(GBPS, Duration::from_millis(1));
            p.jitter = Duration::from_millis(1);
            p.reorder = reorder;
            p.queue_bytes = u64::MAX;
            let mut c = Channel::new(p);
            let mut r = rng();
            let arrivals: Vec<Time> = (0..1000u64)
                .map(|i| c.send(Time::from_nanos(i * 10_000), 100, &mut r).unwrap())
                .collect();
            let inversions = arrivals.windows(2).filter(|w| w[1] < w[0]).count();
            if reorder {
                // 10 µs apart with 1 ms of jitter: most neighbours swap about half the time.
                assert!(inversions > 100, "{inversions} inversions");
            } else {
                assert_eq!(inversions, 0);
            }
        }
    }

    proptest! {
        /// Without `reorder`, arrivals never go backwards, whatever the
        /// offered pattern, jitter, loss or latency changes; and nothing
        /// panics.
        #[test]
        fn arrivals_are_fifo_without_reorder(
            seed in any::<u64>(),
            bps in 1u64..=10_000_000_000,
            jitter in 0u64..=10_000_000,
            queue in 0u64..=100_000,
            ops in proptest::collection::vec((0u64..=2_000_000, 0usize..=2000, 0u8..=20), 1..200),
        ) {
            let mut p = params(bps, Duration::from_micros(100));
            p.jitter = Duration::from_nanos(jitter);
            p.queue_bytes = queue;
            p.loss = LossModel::Bernoulli { p: 0.2 };
            let mut c = Channel::new(p);
            let mut r = ChaCha20Rng::seed_from_u64(seed);
            let mut now = Time::ZERO;
            let mut last = Time::ZERO;
            let mut generation = 0;
            for (dt, len, op) in ops {
                now += Duration::from_nanos(dt);
                match op {
                    0 => c.set_up(!c.is_up(), now),
                    1 => c.set_extra_latency(Duration::from_nanos(dt * 10)),
                    _ => {
                        if let Ok(at) = c.send(now, len, &mut r) {
                            prop_assert!(at >= now);
                            // Going down loses everything in flight, so order
                            // is only promised within a generation.
                            if c.generation() != generation {
                                generation = c.generation();
                                last = Time::ZERO;
                            }
                            prop_assert!(at >= last);
                            last = at;
                        }
                    }
                }
            }
            let s = c.stats();
            prop_assert!(s.total_drops() <= s.offered_datagrams);
        }
    }
}
