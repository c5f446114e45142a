//! Scenario and property tests of the Reno sender.
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
