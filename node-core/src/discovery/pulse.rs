//! One-way latency pulses and latency-aware path choice (NOIA SR-WAN).
//!
//! The nodes of a group ([`PulseConfig::group`]) send each neighbour in the
//! group a PULSE every [`PulseConfig::interval`], stamped with their own
//! clock. A receiver's measure of a pulse is its clock minus the stamp:
//! the one-way delay plus the difference of the two clocks, which nobody
//! knows (clocks are offset and drift). So nothing here reads one value
//! as a delay. Two things are meaningful:
//!
//! - **Change against the pair's own baseline.** Per sender, the current
//!   value is the median of the last [`PulseConfig::samples`] pulses, the
//!   baseline the least value over [`PulseConfig::baseline_window`]
//!   (longer than an anomaly lasts), each value aged by the most the two
//!   clocks can drift apart since ([`PulseConfig::max_drift_ppm`]), so
//!   that drift never makes a normal value look anomalous. A pair whose
//!   current value is [`PulseConfig::anomaly`] above its baseline is
//!   anomalous.
//! - **Sums over paths with the same two ends.** For A -> C -> B the clock
//!   differences (C - A) + (B - C) add up to B - A, the same as the direct
//!   A -> B value's, so a relay path and the direct path compare exactly.
//!
//! Every node sends its row (what it measured of each sender) to the
//! group's neighbours every [`PulseConfig::report_interval`], on the
//! control channel; a source thus knows every pair's values. For a
//! destination in the group, [`Pulses::advice`] names the path its traffic
//! should take: the direct one, or, while the direct one is anomalous and
//! a relay through the group is at least [`PulseConfig::margin`] faster,
//! that relay. Hysteresis: a change must hold for [`PulseConfig::hold`]
//! before the advice follows, and the direct path is taken back only once
//! it is within half the anomaly threshold of its baseline, so that the
//! advice does not flap.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::identity::Address;
use crate::time::{Duration, Time};
use crate::wire::{MAX_ROW, Pulse, RowEntry};

/// Settings of latency pulses (`DiscoveryConfig::pulse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseConfig {
    /// The group: nodes that pulse each other (this node among them or
    /// not; only neighbours in it are pulsed).
    pub group: Vec<Address>,
    /// A pulse to each neighbour of the group this often.
    pub interval: Duration,
    /// A row to each neighbour of the group this often.
    pub report_interval: Duration,
    /// The window of the baseline (its least value): longer than the
    /// anomalies to be seen (they last minutes), or it takes them in.
    pub baseline_window: Duration,
    /// The fastest two clocks drift apart, parts per million: a baseline
    /// value is aged by this much (see `Measured::baseline`).
    pub max_drift_ppm: u32,
    /// Pulses whose median is the current value.
    pub samples: usize,
    /// A pair this far above its baseline is anomalous.
    pub anomaly: Duration,
    /// A relay path must be this much faster than the direct one.
    pub margin: Duration,
    /// A change of advice must hold this long.
    pub hold: Duration,
}

impl Default for PulseConfig {
    fn default() -> Self {
        PulseConfig {
            group: Vec::new(),
            interval: Duration::from_millis(100),
            report_interval: Duration::from_millis(500),
            baseline_window: Duration::from_secs(600),
            max_drift_ppm: 100,
            samples: 5,
            anomaly: Duration::from_millis(30),
            margin: Duration::from_millis(20),
            hold: Duration::from_millis(1000),
        }
    }
}

/// What the pulse layer did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PulseStats {
    /// Pulses sent and received.
    pub sent: u64,
    /// Pulses received.
    pub received: u64,
    /// Pulses or rows refused: from outside the group, malformed.
    pub refused: u64,
    /// Rows sent and received.
    pub rows_sent: u64,
    /// Rows received.
    pub rows_received: u64,
    /// Times the advice for a destination changed.
    pub advice_changes: u64,
}

/// What this node measured of one sender's pulses.
#[derive(Debug, Default)]
struct Measured {
    recent: VecDeque<i64>,
    /// Least value per twentieth of the baseline window, with when it was
    /// seen, oldest first.
    buckets: VecDeque<(Time, i64, Time)>,
}

impl Measured {
    fn take(&mut self, now: Time, v: i64, cfg: &PulseConfig) {
        self.recent.push_back(v);
        while self.recent.len() > cfg.samples.max(1) {
            self.recent.pop_front();
        }
        let width = Duration::from_nanos((cfg.baseline_window.as_nanos() / 20).max(1));
        match self.buckets.back_mut() {
            Some((start, min, at)) if now < *start + width => {
                if v < *min {
                    (*min, *at) = (v, now);
                }
            }
            _ => self.buckets.push_back((now, v, now)),
        }
        while self
            .buckets
            .front()
            .is_some_and(|(s, _, _)| *s + cfg.baseline_window < now)
        {
            self.buckets.pop_front();
        }
    }

    fn current(&self) -> Option<i64> {
        let mut v: Vec<i64> = self.recent.iter().copied().collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    }

    /// The least value over the window, each aged by the most the two
    /// clocks can have drifted apart since it was seen: the highest the
    /// pair's normal value can be now. A drift cannot make a normal value
    /// look anomalous; an anomaly stays visible while it is larger than
    /// the drift over its age (100 ppm: 12 ms in two minutes).
    fn baseline(&self, now: Time, max_drift_ppm: u32) -> Option<i64> {
        self.buckets
            .iter()
            .map(|&(_, m, at)| {
                let age = i128::from(now.as_nanos().saturating_sub(at.as_nanos()));
                let aged = i128::from(m) + age * i128::from(max_drift_ppm) / 1_000_000;
                aged.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            })
            .min()
    }
}

/// The advice for one destination, with a change waiting to hold.
#[derive(Debug, Clone, Copy, Default)]
struct Steer {
    via: Option<Address>,
    pending: Option<(Option<Address>, Time)>,
}

/// The pulse layer of a node.
pub(crate) struct Pulses {
    config: Option<PulseConfig>,
    me: Address,
    group: BTreeSet<Address>,
    next_pulse: Time,
    next_report: Time,
    seq: u32,
    /// Group neighbours owed a pulse now.
    due: BTreeSet<Address>,
    /// Group neighbours owed a row now.
    rows_due: BTreeSet<Address>,
    /// Neighbours in the group, reachable now.
    peers: BTreeSet<Address>,
    measured: BTreeMap<Address, Measured>,
    /// (from, to) -> (current, baseline), as `to` reported it (or we
    /// measured it, for `to` = us).
    matrix: BTreeMap<(Address, Address), (i64, i64)>,
    steer: BTreeMap<Address, Steer>,
    pub stats: PulseStats,
}

impl Pulses {
    pub fn new(config: Option<PulseConfig>, me: Address) -> Pulses {
        let group: BTreeSet<Address> = config
            .as_ref()
            .map(|c| c.group.iter().copied().collect())
            .unwrap_or_default();
        Pulses {
            next_pulse: if config.is_some() {
                Time::ZERO
            } else {
                Time::NEVER
            },
            next_report: if config.is_some() {
                Time::ZERO
            } else {
                Time::NEVER
            },
            config,
            me,
            group,
            seq: 0,
            due: BTreeSet::new(),
            rows_due: BTreeSet::new(),
            peers: BTreeSet::new(),
            measured: BTreeMap::new(),
            matrix: BTreeMap::new(),
            steer: BTreeMap::new(),
            stats: PulseStats::default(),
        }
    }

    pub fn deadline(&self) -> Time {
        if self.peers.is_empty() {
            return Time::NEVER;
        }
        self.next_pulse.min(self.next_report)
    }

    pub fn on_neighbour(&mut self, peer: Address, up: bool) {
        if !self.group.contains(&peer) {
            return;
        }
        if up {
            self.peers.insert(peer);
        } else {
            self.peers.remove(&peer);
            self.due.remove(&peer);
            self.rows_due.remove(&peer);
        }
    }

    /// Pulses and rows that are due become owed to every group neighbour.
    pub fn fire(&mut self, now: Time) {
        let Some(c) = &self.config else { return };
        if self.next_pulse <= now {
            self.due.extend(self.peers.iter().copied());
            self.next_pulse = now + c.interval;
        }
        if self.next_report <= now {
            self.rows_due.extend(self.peers.iter().copied());
            self.next_report = now + c.report_interval;
        }
    }

    /// Every neighbour owed a pulse now.
    pub fn due_peers(&self) -> impl Iterator<Item = &Address> + '_ {
        self.due.iter()
    }

    /// Whether a pulse is owed to any neighbour.
    pub fn any_due(&self) -> bool {
        !self.due.is_empty()
    }

    /// Whether a pulse is owed to `peer`.
    pub fn wants(&self, peer: &Address) -> bool {
        self.due.contains(peer)
    }

    /// The pulse owed to `peer`, stamped `now` (taken).
    pub fn take_pulse(&mut self, now: Time, peer: &Address) -> Option<Pulse> {
        if !self.due.remove(peer) {
            return None;
        }
        self.seq = self.seq.wrapping_add(1);
        self.stats.sent += 1;
        Some(Pulse {
            seq: self.seq,
            clock_ns: now.as_nanos(),
        })
    }

    /// A pulse from neighbour `from`, received at `now` (our clock).
    pub fn on_pulse(&mut self, now: Time, from: Address, p: Pulse) {
        let Some(c) = &self.config else { return };
        if !self.group.contains(&from) {
            self.stats.refused += 1;
            return;
        }
        self.stats.received += 1;
        let v = (now.as_nanos() as i128 - p.clock_ns as i128)
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        let m = self.measured.entry(from).or_default();
        m.take(now, v, c);
        if let (Some(cur), Some(base)) = (m.current(), m.baseline(now, c.max_drift_ppm)) {
            self.matrix.insert((from, self.me), (cur, base));
        }
    }

    /// Rows owed now: (neighbour, our row), taken.
    pub fn take_rows(&mut self, now: Time) -> Vec<(Address, Vec<RowEntry>)> {
        if self.rows_due.is_empty() {
            return Vec::new();
        }
        let drift = self.config.as_ref().map_or(0, |c| c.max_drift_ppm);
        let row: Vec<RowEntry> = self
            .measured
            .iter()
            .filter_map(|(from, m)| {
                Some(RowEntry {
                    from: *from,
                    current_ns: m.current()?,
                    baseline_ns: m.baseline(now, drift)?,
                })
            })
            .take(MAX_ROW)
            .collect();
        let due = std::mem::take(&mut self.rows_due);
        self.stats.rows_sent += due.len() as u64;
        due.into_iter().map(|p| (p, row.clone())).collect()
    }

    /// A row from neighbour `from`: what it measured of pulses to it.
    pub fn on_row(&mut self, from: Address, entries: &[RowEntry]) {
        if self.config.is_none() || !self.group.contains(&from) {
            self.stats.refused += 1;
            return;
        }
        self.stats.rows_received += 1;
        for e in entries {
            // Only pairs within the group: a row cannot make a node hold
            // more than the group's pairs.
            if self.group.contains(&e.from) && e.from != from {
                self.matrix
                    .insert((e.from, from), (e.current_ns, e.baseline_ns));
            }
        }
    }

    /// The measured (current, baseline) of `from -> to`.
    pub fn pair(&self, from: Address, to: Address) -> Option<(i64, i64)> {
        self.matrix.get(&(from, to)).copied()
    }

    /// The path traffic to `dest` should take now: `[dest]`, or
    /// `[via, dest]` while the direct path is anomalous and the relay is
    /// faster (see the module docs). `None` if `dest` is not measured.
    pub fn advice(&mut self, now: Time, dest: Address) -> Option<Vec<Address>> {
        let c = self.config.as_ref()?;
        // In 128 bits: a row may carry any values (a peer's), and nothing
        // here may overflow on them.
        let (direct, base) = self.pair(self.me, dest)?;
        let (direct, base) = (i128::from(direct), i128::from(base));
        let (anomaly, margin) = (
            i128::from(c.anomaly.as_nanos()),
            i128::from(c.margin.as_nanos()),
        );
        let via_sum = |v: Address| -> Option<i128> {
            let a = self.pair(self.me, v)?.0;
            let b = self.pair(v, dest)?.0;
            Some(i128::from(a) + i128::from(b))
        };
        let best_relay = self
            .group
            .iter()
            .filter(|&&v| v != self.me && v != dest)
            .filter_map(|&v| Some((via_sum(v)?, v)))
            .min();
        let used = self
            .steer
            .get(&dest)
            .and_then(|st| st.via)
            .and_then(via_sum);
        let st = self.steer.entry(dest).or_default();
        let want = match st.via {
            None => match best_relay {
                Some((sum, v)) if direct - base > anomaly && sum + margin < direct => Some(v),
                _ => None,
            },
            Some(v) => {
                if direct - base < anomaly / 2 {
                    None
                } else {
                    match best_relay {
                        // Another relay, clearly better than the one used.
                        Some((sum, w)) if w != v && used.is_none_or(|u| sum + margin < u) => {
                            Some(w)
                        }
                        _ => Some(v),
                    }
                }
            }
        };
        if want == st.via {
            st.pending = None;
        } else {
            match st.pending {
                Some((w, since)) if w == want => {
                    if now >= since + c.hold {
                        st.via = want;
                        st.pending = None;
                        self.stats.advice_changes += 1;
                    }
                }
                _ => st.pending = Some((want, now)),
            }
        }
        Some(match st.via {
            Some(v) => vec![v, dest],
            None => vec![dest],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u8) -> Address {
        Address([i; 16])
    }

    fn t(ms: u64) -> Time {
        Time::from_nanos(ms * 1_000_000)
    }

    /// Node 1 of group {1, 2, 3}, told rows as if by 2 and 3.
    fn layer() -> Pulses {
        let cfg = PulseConfig {
            group: vec![addr(1), addr(2), addr(3)],
            ..PulseConfig::default()
        };
        let mut p = Pulses::new(Some(cfg), addr(1));
        p.on_neighbour(addr(2), true);
        p.on_neighbour(addr(3), true);
        p
    }

    fn row(p: &mut Pulses, to: u8, from: u8, cur_ms: i64, base_ms: i64) {
        p.on_row(
            addr(to),
            &[RowEntry {
                from: addr(from),
                current_ns: cur_ms * 1_000_000,
                baseline_ns: base_ms * 1_000_000,
            }],
        );
    }

    #[test]
    fn a_relay_is_advised_while_the_direct_path_is_anomalous_and_only_after_the_hold() {
        let mut p = layer();
        // Clock offsets make single values meaningless: 1->2 reads 1,000
        // ms, 1->3 reads -500, 3->2 reads 1,520 (so 1->3->2 sums to 1,020).
        row(&mut p, 2, 1, 1000, 1000);
        row(&mut p, 3, 1, -500, -500);
        row(&mut p, 2, 3, 1520, 1520);
        assert_eq!(p.advice(t(0), addr(2)), Some(vec![addr(2)]));
        // +100 ms on 1->2: the relay (1,020) beats 1,100 by 80 ms.
        row(&mut p, 2, 1, 1100, 1000);
        assert_eq!(p.advice(t(100), addr(2)), Some(vec![addr(2)]), "held");
        assert_eq!(p.advice(t(900), addr(2)), Some(vec![addr(2)]));
        assert_eq!(p.advice(t(1100), addr(2)), Some(vec![addr(3), addr(2)]));
        // Recovering half-way is not enough to go back.
        row(&mut p, 2, 1, 1020, 1000);
        assert_eq!(p.advice(t(3000), addr(2)), Some(vec![addr(3), addr(2)]));
        assert_eq!(p.advice(t(4100), addr(2)), Some(vec![addr(3), addr(2)]));
        // Back at the baseline: direct again, after the hold.
        row(&mut p, 2, 1, 1005, 1000);
        assert_eq!(p.advice(t(5000), addr(2)), Some(vec![addr(3), addr(2)]));
        assert_eq!(p.advice(t(6000), addr(2)), Some(vec![addr(2)]));
        assert_eq!(p.stats.advice_changes, 2);
        // A brief spike shorter than the hold changes nothing.
        row(&mut p, 2, 1, 1100, 1000);
        p.advice(t(7000), addr(2));
        row(&mut p, 2, 1, 1000, 1000);
        assert_eq!(p.advice(t(7500), addr(2)), Some(vec![addr(2)]));
        assert_eq!(p.advice(t(9000), addr(2)), Some(vec![addr(2)]));
        assert_eq!(p.stats.advice_changes, 2);
    }

    #[test]
    fn rows_of_extreme_values_do_not_overflow_the_advice() {
        let mut p = layer();
        for v in [i64::MIN, i64::MAX, 0, -1] {
            for (to, from) in [(2, 1), (3, 1), (2, 3)] {
                p.on_row(
                    addr(to),
                    &[RowEntry {
                        from: addr(from),
                        current_ns: v,
                        baseline_ns: v.wrapping_neg(),
                    }],
                );
            }
            for ms in [0, 5000, 10_000] {
                assert!(p.advice(t(ms), addr(2)).is_some());
            }
        }
    }

    #[test]
    fn an_anomaly_with_no_faster_relay_keeps_the_direct_path() {
        let mut p = layer();
        row(&mut p, 2, 1, 1100, 1000);
        row(&mut p, 3, 1, -500, -500);
        row(&mut p, 2, 3, 1700, 1700);
        for ms in [0, 2000, 4000] {
            assert_eq!(p.advice(t(ms), addr(2)), Some(vec![addr(2)]));
        }
    }

    #[test]
    fn the_baseline_is_the_least_over_its_window_and_strangers_are_refused() {
        let mut p = layer();
        for (ms, v) in [(0u64, 50i64), (100, 40), (200, 45), (300, 60), (400, 70)] {
            p.on_pulse(
                t(ms + 1000),
                addr(2),
                Pulse {
                    seq: 1,
                    clock_ns: (1000 + ms) * 1_000_000 - v as u64 * 1_000_000,
                },
            );
        }
        let (cur, base) = p.pair(addr(2), addr(1)).unwrap();
        assert_eq!((cur / 1_000_000, base / 1_000_000), (50, 40));
        // 40 s later the old minimum still counts, aged by 100 ppm of 40 s
        // (4 ms): 44 ms, below the new 55.
        for i in 0..5u64 {
            let ms = 41_000 + i * 100;
            p.on_pulse(
                t(ms),
                addr(2),
                Pulse {
                    seq: 2,
                    clock_ns: (ms - 55) * 1_000_000,
                },
            );
        }
        assert_eq!(p.pair(addr(2), addr(1)).unwrap().1 / 1_000_000, 44);
        // Past the 600 s window it is gone.
        for i in 0..5u64 {
            let ms = 700_000 + i * 100;
            let clock_ns = (ms - 55) * 1_000_000;
            p.on_pulse(t(ms), addr(2), Pulse { seq: 3, clock_ns });
        }
        assert_eq!(p.pair(addr(2), addr(1)).unwrap().1 / 1_000_000, 55);
        p.on_pulse(
            t(0),
            addr(9),
            Pulse {
                seq: 1,
                clock_ns: 0,
            },
        );
        p.on_row(addr(9), &[]);
        assert_eq!(p.stats.refused, 2);
        // A row can only fill pairs within the group.
        row(&mut p, 2, 9, 1, 1);
        assert_eq!(p.pair(addr(9), addr(2)), None);
    }
}
