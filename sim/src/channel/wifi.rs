//! The shared radio medium of a geometric topology.
//!
//! A simple 802.11-like model:
//! - Carrier sense with eager reservation: a frame is placed on the air at
//!   the earliest time, no earlier than `now` and the end of its sender's own
//!   previous frame, at which no frame of a sender within
//!   `interference_range` of its sender is on the air or reserved. Reserving
//!   at send time (rather than contending when the medium frees) is a
//!   simplification: it serves senders in the order they offered frames, with
//!   no backoff and no contention losses between senders that hear each other.
//! - With `rts_cts`, virtual carrier sense as 802.11's RTS/CTS exchange
//!   gives it, idealized (no RTS/CTS frames on the air, no lost RTS): a
//!   frame also waits while its receiver hears another sender (no CTS
//!   would come back), and while its sender or receiver is within radio
//!   range of a node receiving another frame (they decoded that node's CTS
//!   and set their NAV). A sender hidden from both ends beyond the radio
//!   range still collides: on a chain with `interference_range` =
//!   2 x `radio_range`, the node three hops down (Li et al., MobiCom 2001).
//! - Each sender has one FIFO drop-tail queue of `queue_bytes` (of the
//!   parameters of the link the frame is sent on) for frames that cannot
//!   start at once.
//! - Loss with distance `d` between sender and receiver:
//!   `loss_near + (loss_at_range - loss_near)·(d/radio_range)²`, and
//!   independently the link's own loss model. Both are decided at send time.
//! - Hidden terminals: a frame collides when any frame overlapping it in time
//!   comes from another sender within `interference_range` of its receiver
//!   (that includes the receiver itself transmitting). Collisions are marked
//!   eagerly, on both frames, when the later one is reserved; the engine asks
//!   at the arrival time with [`WifiMedium::resolve`].
//!
//! Frames carry no jitter: a frame arrives `latency` after its end.

use std::collections::{BTreeMap, VecDeque};

use node_core::{Duration, Time};
use rand::Rng;

use super::loss::{LossProcess, bernoulli};
use super::{Backlog, DropCause, serialization_ns};
use crate::model::{ChannelParams, WifiSpec};

/// A frame on the medium, to be resolved at its arrival time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxToken(pub u64);

/// A frame on the air or reserved: `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Frame {
    token: u64,
    from: usize,
    to: usize,
    start: Time,
    end: Time,
}

/// What the medium remembers of a frame until it is resolved.
#[derive(Debug, Clone, Copy)]
struct Pending {
    arrival: Time,
    collided: bool,
}

/// The shared radio medium.
#[derive(Debug, Clone)]
pub struct WifiMedium {
    spec: WifiSpec,
    positions: Vec<[f64; 2]>,
    /// Frames that have not ended (as of the last send), ordered by start.
    frames: VecDeque<Frame>,
    /// Each node's own queue.
    senders: Vec<Backlog>,
    /// Frames that were not lost at send time and are not resolved yet.
    pending: BTreeMap<u64, Pending>,
    /// The link loss process of each (sender, receiver) pair, created on
    /// first use (a Gilbert-Elliott chain needs its state) and recreated if
    /// the pair's loss model changes.
    link_loss: BTreeMap<(usize, usize), LossProcess>,
    next_token: u64,
    airtime_ns: u64,
    node_airtime_ns: Vec<u64>,
}

impl WifiMedium {
    /// A silent medium over nodes at `positions` (metres; index = node id).
    pub fn new(spec: WifiSpec, positions: Vec<[f64; 2]>) -> Self {
        let n = positions.len();
        Self {
            spec,
            positions,
            frames: VecDeque::new(),
            senders: vec![Backlog::default(); n],
            pending: BTreeMap::new(),
            link_loss: BTreeMap::new(),
            next_token: 0,
            airtime_ns: 0,
            node_airtime_ns: vec![0; n],
        }
    }

    /// The medium's parameters.
    pub fn spec(&self) -> &WifiSpec {
        &self.spec
    }

    /// Sends a frame of `len` bytes from `from` to its neighbour `to` at the
    /// bandwidth of `params` (the parameters of the link `from -> to`).
    ///
    /// Checks in order: MTU ([`DropCause::TooBig`]), the sender's queue
    /// ([`DropCause::Queue`]), then the frame is reserved on the air and the
    /// loss draws decide [`DropCause::Loss`] (a lost frame still occupies the
    /// air and still interferes). Returns the token to resolve at the arrival
    /// time, which is the end of the frame plus `params.latency`.
    ///
    /// Random draws: exactly one for the distance loss plus those of the
    /// link's loss model, for every frame that gets on the air.
    ///
    /// A node index without a position (an engine bug) gives
    /// [`DropCause::Down`]. `now` must not go backwards between calls.
    pub fn send<R: Rng + ?Sized>(
        &mut self,
        now: Time,
        from: usize,
        to: usize,
        len: usize,
        params: &ChannelParams,
        rng: &mut R,
    ) -> Result<(TxToken, Time), DropCause> {
        let n = self.positions.len();
        if from >= n || to >= n {
            return Err(DropCause::Down);
        }
        if len > params.mtu {
            return Err(DropCause::TooBig);
        }
        self.prune(now);
        self.senders[from].prune(now);
        let dur = Duration::from_nanos(serialization_ns(len, params.bandwidth_bps));
        let sender = &self.senders[from];
        let start = self.carrier_sense(from, to, now.max(sender.busy_until()), dur);
        if !sender.admits(now, start, len as u64, params.queue_bytes) {
            return Err(DropCause::Queue);
        }
        let end = start + dur;
        self.senders[from].push(start, end, len as u64);
        self.airtime_ns = self.airtime_ns.saturating_add(dur.as_nanos());
        let own = &mut self.node_airtime_ns[from];
        *own = own.saturating_add(dur.as_nanos());

        let token = self.next_token;
        self.next_token += 1;
        let collided = self.mark_collisions(from, to, start, end);
        let at = self.frames.partition_point(|f| f.start <= start);
        self.frames.insert(
            at,
            Frame {
                token,
                from,
                to,
                start,
                end,
            },
        );

        let distance_lost = bernoulli(rng, self.loss_probability(from, to));
        let process = self
            .link_loss
            .entry((from, to))
            .or_insert_with(|| LossProcess::new(params.loss));
        if *process.model() != params.loss {
            // Different parameters for the pair: a different process.
            *process = LossProcess::new(params.loss);
        }
        let link_lost = process.lose(rng);
        if distance_lost || link_lost {
            return Err(DropCause::Loss);
        }
        let arrival = end + params.latency;
        self.pending.insert(token, Pending { arrival, collided });
        Ok((TxToken(token), arrival))
    }

    /// Decides, at the frame's arrival time, whether it survived: it is lost
    /// ([`DropCause::Collision`]) if a frame overlapping it in time was sent
    /// by a node other than its sender within `interference_range` of its
    /// receiver. Since the engine processes events in time order, every such
    /// frame has been sent by then.
    ///
    /// Each token must be resolved once; an unknown token (already resolved,
    /// or forgotten because its arrival time passed long ago) counts as
    /// survived, as nothing is known against it.
    pub fn resolve(&mut self, token: TxToken) -> Result<(), DropCause> {
        match self.pending.remove(&token.0) {
            Some(p) if p.collided => Err(DropCause::Collision),
            _ => Ok(()),
        }
    }

    /// Euclidean distance between two nodes in metres (infinite for an
    /// index without a position).
    pub fn distance(&self, a: usize, b: usize) -> f64 {
        match (self.positions.get(a), self.positions.get(b)) {
            (Some(p), Some(q)) => (p[0] - q[0]).hypot(p[1] - q[1]),
            _ => f64::INFINITY,
        }
    }

    /// The probability that distance alone loses a frame from `a` to `b`:
    /// `loss_near + (loss_at_range - loss_near)·(d/radio_range)²`, clamped
    /// to [0, 1] (so it keeps growing past the radio range, up to 1).
    pub fn loss_probability(&self, a: usize, b: usize) -> f64 {
        let d = self.distance(a, b);
        let range = self.spec.radio_range;
        let ratio = if d == 0.0 { 0.0 } else { d / range };
        let p =
            self.spec.loss_near + (self.spec.loss_at_range - self.spec.loss_near) * ratio * ratio;
        // NaN (a degenerate geometry) counts as out of reach.
        if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) }
    }

    /// Total time frames spent on the air, summed over senders (frames of
    /// senders out of each other's interference range may overlap, so this
    /// can exceed the elapsed time).
    pub fn airtime_ns(&self) -> u64 {
        self.airtime_ns
    }

    /// Time `node`'s own frames spent on the air.
    pub fn airtime_of(&self, node: usize) -> u64 {
        self.node_airtime_ns.get(node).copied().unwrap_or(0)
    }

    /// Whether `a` and `b` interfere (closer than `interference_range`).
    fn interfere(&self, a: usize, b: usize) -> bool {
        self.distance(a, b) < self.spec.interference_range
    }

    /// Whether a frame from `from` to `to` must not overlap `f`: its sender
    /// hears `f`'s sender (physical carrier sense); with RTS/CTS also when
    /// its receiver hears `f`'s sender (it would not answer the RTS), or
    /// its sender or receiver is within radio range of `f`'s receiver (they
    /// decoded its CTS, which set their NAV).
    fn defers_to(&self, f: &Frame, from: usize, to: usize) -> bool {
        if self.interfere(f.from, from) {
            return true;
        }
        if !self.spec.rts_cts {
            return false;
        }
        let r = self.spec.radio_range;
        self.interfere(f.from, to) || self.distance(f.to, from) <= r || self.distance(f.to, to) <= r
    }

    /// The earliest start at or after `earliest` at which a frame of `dur`
    /// from `from` to `to` overlaps no frame it defers to. One pass over the
    /// frames in start order suffices: whenever a frame overlaps the
    /// candidate interval the candidate moves to its end, and frames passed
    /// earlier either ended before the old candidate (so before the new one)
    /// or would have stopped the pass.
    fn carrier_sense(&self, from: usize, to: usize, earliest: Time, dur: Duration) -> Time {
        let mut start = earliest;
        for f in &self.frames {
            if !self.defers_to(f, from, to) {
                continue;
            }
            if f.start >= start + dur {
                break;
            }
            if f.end > start {
                start = f.end;
            }
        }
        start
    }

    /// Marks the pending frames that a new frame `[start, end)` from `from`
    /// to `to` corrupts, and returns whether an existing frame corrupts it.
    fn mark_collisions(&mut self, from: usize, to: usize, start: Time, end: Time) -> bool {
        let mut collided = false;
        let mut hit = Vec::new();
        for f in &self.frames {
            if f.start >= end {
                break;
            }
            if f.end <= start || f.from == from {
                continue;
            }
            collided |= self.interfere(f.from, to);
            if self.interfere(from, f.to) {
                hit.push(f.token);
            }
        }
        for token in hit {
            if let Some(p) = self.pending.get_mut(&token) {
                p.collided = true;
            }
        }
        collided
    }

    /// Forgets frames that ended by `now` (every later frame starts at or
    /// after `now`, so they can neither defer nor collide with it) and
    /// pending frames whose arrival time passed (the engine resolves at the
    /// arrival time, so it has done so or never will).
    fn prune(&mut self, now: Time) {
        self.frames.retain(|f| f.end > now);
        self.pending.retain(|_, p| p.arrival >= now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LossModel;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// 1 Mbit/s: a 1000-byte frame is on the air for 8 ms.
    const BPS: u64 = 1_000_000;
    const LAT: Duration = Duration::from_micros(3);

    fn spec(radio_range: f64, interference_range: f64) -> WifiSpec {
        WifiSpec {
            radio_range,
            interference_range,
            loss_near: 0.0,
            loss_at_range: 0.0,
            rts_cts: false,
        }
    }

    fn params() -> ChannelParams {
        ChannelParams {
            bandwidth_bps: BPS,
            latency: LAT,
            jitter: Duration::ZERO,
            reorder: false,
            queue_bytes: u64::MAX,
            mtu: 1500,
            loss: LossModel::None,
        }
    }

    fn air(len: usize) -> Duration {
        Duration::from_nanos(serialization_ns(len, BPS))
    }

    fn line(xs: &[f64]) -> Vec<[f64; 2]> {
        xs.iter().map(|&x| [x, 0.0]).collect()
    }

    #[test]
    fn nodes_that_hear_each_other_never_overlap() {
        // Four nodes all within interference range of each other.
        let pos = vec![[0.0, 0.0], [30.0, 0.0], [0.0, 40.0], [30.0, 40.0]];
        let mut m = WifiMedium::new(spec(100.0, 100.0), pos);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let mut now = Time::ZERO;
        let mut frames = Vec::new();
        let mut total = 0u64;
        for _ in 0..2000 {
            // Offered load above capacity, so frames wait for each other.
            now += Duration::from_nanos(rng.random_range(0..4_000_000u64));
            let from = rng.random_range(0..4usize);
            let to = (from + rng.random_range(1..4usize)) % 4;
            let len = rng.random_range(100..=1500usize);
            let (token, at) = m.send(now, from, to, len, &params(), &mut rng).unwrap();
            let end = at - LAT;
            assert!(end - air(len) >= now);
            frames.push((end - air(len), end, token));
            total += air(len).as_nanos();
        }
        frames.sort();
        for w in frames.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap: {w:?}");
        }
        for (_, _, token) in frames {
            assert_eq!(m.resolve(token), Ok(()));
        }
        assert_eq!(m.airtime_ns(), total);
        assert_eq!((0..4).map(|n| m.airtime_of(n)).sum::<u64>(), total);
    }

    #[test]
    fn hidden_terminals_collide() {
        // A - B - C: A and C both reach B but do not hear each other.
        let mut m = WifiMedium::new(spec(100.0, 100.0), line(&[0.0, 80.0, 160.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let t = Time::from_nanos(1_000);
        let (a, at_a) = m.send(t, 0, 1, 1000, &params(), &mut rng).unwrap();
        let (c, at_c) = m.send(t, 2, 1, 1000, &params(), &mut rng).unwrap();
        // No carrier sense between them: both start at once.
        assert_eq!(at_a, t + air(1000) + LAT);
        assert_eq!(at_c, at_a);
        assert_eq!(m.resolve(a), Err(DropCause::Collision));
        assert_eq!(m.resolve(c), Err(DropCause::Collision));
        // The same frames when A and C hear each other: C defers, no collision.
        let mut m = WifiMedium::new(spec(100.0, 200.0), line(&[0.0, 80.0, 160.0]));
        let (a, at_a) = m.send(t, 0, 1, 1000, &params(), &mut rng).unwrap();
        let (c, at_c) = m.send(t, 2, 1, 1000, &params(), &mut rng).unwrap();
        assert_eq!(at_c, at_a + air(1000));
        assert_eq!(m.resolve(a), Ok(()));
        assert_eq!(m.resolve(c), Ok(()));
    }

    #[test]
    fn collisions_happen_only_at_receivers_in_range() {
        // A -> B and C -> D at the same time: C is 80 m from B (collision),
        // A is 240 m from D (no collision). A partial overlap counts too.
        let mut m = WifiMedium::new(spec(100.0, 100.0), line(&[0.0, 80.0, 160.0, 240.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (ab, _) = m.send(Time::ZERO, 0, 1, 1000, &params(), &mut rng).unwrap();
        let late = Time::ZERO + air(1000) - Duration::from_nanos(1);
        let (cd, _) = m.send(late, 2, 3, 1000, &params(), &mut rng).unwrap();
        assert_eq!(m.resolve(ab), Err(DropCause::Collision));
        assert_eq!(m.resolve(cd), Ok(()));
        // Frames that merely touch ([0, e) and [e, ...)) do not overlap.
        let (ab, _) = m
            .send(
                Time::from_nanos(10_000_000_000),
                0,
                1,
                1000,
                &params(),
                &mut rng,
            )
            .unwrap();
        let touch = Time::from_nanos(10_000_000_000) + air(1000);
        let (cb, _) = m.send(touch, 2, 1, 1000, &params(), &mut rng).unwrap();
        assert_eq!(m.resolve(ab), Ok(()));
        assert_eq!(m.resolve(cb), Ok(()));
        // An unknown token is not held against anything.
        assert_eq!(m.resolve(TxToken(u64::MAX)), Ok(()));
    }

    #[test]
    fn a_sender_waits_for_every_sender_it_hears() {
        // B hears both A and C, which do not hear each other.
        let mut m = WifiMedium::new(spec(100.0, 100.0), line(&[0.0, 80.0, 160.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        m.send(Time::ZERO, 0, 1, 1000, &params(), &mut rng).unwrap();
        m.send(Time::ZERO, 2, 1, 500, &params(), &mut rng).unwrap();
        let (_, at) = m.send(Time::ZERO, 1, 0, 100, &params(), &mut rng).unwrap();
        assert_eq!(at, Time::ZERO + air(1000) + air(100) + LAT);
    }

    #[test]
    fn per_sender_drop_tail_queue_and_mtu() {
        let mut m = WifiMedium::new(spec(100.0, 100.0), line(&[0.0, 50.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut p = params();
        p.queue_bytes = 3000;
        let results: Vec<_> = (0..10)
            .map(|_| m.send(Time::ZERO, 0, 1, 1000, &p, &mut rng).map(|_| ()))
            .collect();
        // One frame on the air, three waiting.
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
        assert!(results[4..].iter().all(|r| *r == Err(DropCause::Queue)));
        assert_eq!(
            m.send(Time::ZERO, 0, 1, 1501, &p, &mut rng).map(|_| ()),
            Err(DropCause::TooBig)
        );
        assert_eq!(
            m.send(Time::ZERO, 0, 9, 10, &p, &mut rng).map(|_| ()),
            Err(DropCause::Down)
        );
        assert_eq!(m.distance(0, 9), f64::INFINITY);
        // The other node's queue is its own, but it defers to node 0's frames.
        let (_, at) = m.send(Time::ZERO, 1, 0, 1000, &p, &mut rng).unwrap();
        assert_eq!(at, Time::ZERO + air(1000).saturating_mul(5) + LAT);
    }

    #[test]
    fn lost_frames_still_take_airtime() {
        let mut s = spec(100.0, 100.0);
        s.loss_near = 1.0;
        s.loss_at_range = 1.0;
        let mut m = WifiMedium::new(s, line(&[0.0, 50.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        for _ in 0..3 {
            let r = m.send(Time::ZERO, 0, 1, 1000, &params(), &mut rng);
            assert_eq!(r.map(|_| ()), Err(DropCause::Loss));
        }
        assert_eq!(m.airtime_ns(), air(1000).as_nanos() * 3);
        assert_eq!(m.airtime_of(0), air(1000).as_nanos() * 3);
        assert_eq!(m.airtime_of(1), 0);
        assert!(m.pending.is_empty());
    }

    #[test]
    fn bookkeeping_stays_bounded() {
        let mut m = WifiMedium::new(spec(100.0, 100.0), line(&[0.0, 50.0, 100.0]));
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for i in 0..10_000u64 {
            // Never resolved: the engine may drop a frame's arrival (link down).
            let now = Time::from_nanos(i * 20_000_000);
            m.send(
                now,
                (i % 3) as usize,
                ((i + 1) % 3) as usize,
                1000,
                &params(),
                &mut rng,
            )
            .unwrap();
            assert!(m.frames.len() <= 1 && m.pending.len() <= 2);
        }
    }

    #[test]
    fn loss_probability_follows_the_square_of_distance() {
        let mut s = spec(100.0, 150.0);
        s.loss_near = 0.1;
        s.loss_at_range = 0.5;
        let m = WifiMedium::new(s, line(&[0.0, 50.0, 100.0, 1000.0]));
        assert_eq!(m.loss_probability(0, 0), 0.1);
        assert!((m.loss_probability(0, 1) - 0.2).abs() < 1e-12);
        assert!((m.loss_probability(1, 2) - 0.2).abs() < 1e-12);
        assert!((m.loss_probability(0, 2) - 0.5).abs() < 1e-12);
        assert_eq!(m.loss_probability(0, 3), 1.0);
    }
}
