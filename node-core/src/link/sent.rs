//! Packets we sent and have not yet seen acknowledged; loss detection.
//!
//! Frames, not datagrams, are retransmitted: a lost packet's frames go back
//! to their owners (the send streams, the key ring), which decide whether
//! they are still worth sending, and ride in whatever packet goes out next.

use std::collections::{BTreeSet, VecDeque};

use crate::time::Time;
use crate::wire::{AckFrame, Class, RekeyFrame};

/// A frame that needs to arrive, as recorded when its packet was sent.
/// `T` is the upper layers' token: opaque here, handed back as acked or
/// lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentFrame<T> {
    /// A chunk of a service message.
    Data {
        /// The message's link-local id.
        msg: u64,
        /// Its class.
        class: Class,
        /// Offset of the chunk.
        offset: u32,
        /// Length of the chunk.
        len: u32,
    },
    /// A key rotation message.
    Rekey(RekeyFrame),
    /// A PING (keepalive or handshake confirmation).
    Ping,
    /// A frame of an upper layer, named by its token: the layer hears
    /// whether it arrived.
    Upper(T),
}

/// A packet in flight.
#[derive(Debug, Clone)]
pub struct SentPacket<T> {
    /// When it was handed to the driver.
    pub time: Time,
    /// Its size on the wire.
    pub size: usize,
    /// The frames that must be retransmitted if it is lost.
    pub frames: Vec<SentFrame<T>>,
    /// Whether it carries realtime frames (recovered without backoff).
    pub realtime: bool,
}

/// What an ACK frame changed.
#[derive(Debug)]
pub struct AckOutcome<T> {
    /// Packets acknowledged for the first time.
    pub acked: Vec<SentPacket<T>>,
    /// The largest packet acknowledged for the first time, with its send
    /// time: an RTT sample if it is the largest acknowledged so far.
    pub rtt_sample_from: Option<Time>,
}

/// Ack-eliciting packets in flight, by packet number.
///
/// A queue in packet number order (numbers only grow), where an
/// acknowledged or lost packet leaves a hole until the packets before it
/// are gone too: the front is always a packet in flight. A B-tree took a
/// 632-byte leaf for the one keepalive of an idle link (and every link of
/// a mesh that came up at once has one in flight at the same moment).
#[derive(Debug)]
pub struct SentPackets<T> {
    in_flight: VecDeque<(u64, Option<SentPacket<T>>)>,
    /// The packet numbers of `in_flight` that carry realtime frames.
    realtime: BTreeSet<u64>,
    realtime_bytes: usize,
    largest_acked: Option<u64>,
    bytes_in_flight: usize,
}

impl<T> Default for SentPackets<T> {
    fn default() -> Self {
        SentPackets {
            in_flight: VecDeque::new(),
            realtime: BTreeSet::new(),
            realtime_bytes: 0,
            largest_acked: None,
            bytes_in_flight: 0,
        }
    }
}

impl<T> SentPackets<T> {
    /// Records a packet that needs acknowledging.
    pub fn on_sent(&mut self, pn: u64, packet: SentPacket<T>) {
        self.bytes_in_flight += packet.size;
        if packet.realtime {
            self.realtime.insert(pn);
            self.realtime_bytes += packet.size;
        }
        if self.in_flight.capacity() == 0 {
            // An idle link has one packet in flight at a time.
            self.in_flight.reserve_exact(1);
        }
        // A session's packet numbers only grow: the queue stays in order.
        debug_assert!(self.in_flight.back().is_none_or(|e| e.0 < pn));
        self.in_flight.push_back((pn, Some(packet)));
    }

    /// Where `pn` is or would be in the queue.
    fn position(&self, pn: u64) -> usize {
        self.in_flight.partition_point(|e| e.0 < pn)
    }

    /// The packet numbers in flight within `range`, ascending.
    fn in_flight_within(&self, range: core::ops::RangeInclusive<u64>) -> Vec<u64> {
        self.in_flight
            .range(self.position(*range.start())..)
            .take_while(|e| e.0 <= *range.end())
            .filter(|e| e.1.is_some())
            .map(|e| e.0)
            .collect()
    }

    /// Applies an ACK frame. Acks for packets never sent are ignored: the
    /// frame is authenticated, so such acks are a peer bug, not an attack
    /// worth more than ignoring.
    pub fn on_ack(&mut self, ack: &AckFrame) -> AckOutcome<T> {
        let mut out = AckOutcome {
            acked: Vec::new(),
            rtt_sample_from: None,
        };
        let Some(largest) = ack.ranges.first().map(|r| *r.end()) else {
            return out;
        };
        for range in &ack.ranges {
            for pn in self.in_flight_within(range.clone()) {
                if let Some(p) = self.remove(pn) {
                    if pn == largest && self.largest_acked.is_none_or(|l| pn > l) {
                        out.rtt_sample_from = Some(p.time);
                    }
                    out.acked.push(p);
                }
            }
        }
        if self.largest_acked.is_none_or(|l| largest > l) {
            self.largest_acked = Some(largest);
        }
        out
    }

    /// Packets declared lost because `threshold` later packets were acked.
    pub fn lost_by_threshold(&mut self, threshold: u64) -> Vec<SentPacket<T>> {
        let Some(limit) = self
            .largest_acked
            .and_then(|l| l.checked_sub(threshold))
            .map(|l| l + 1)
        else {
            return Vec::new();
        };
        self.take_below(limit)
    }

    /// Packets declared lost because they were sent at `cutoff` or before
    /// (the retransmission timer fired), and the realtime ones sent at
    /// `realtime_cutoff` or before; in packet number order.
    pub fn lost_by_timeout(&mut self, cutoff: Time, realtime_cutoff: Time) -> Vec<SentPacket<T>> {
        let pns: Vec<u64> = self
            .in_flight
            .iter()
            .filter_map(|(pn, p)| Some((*pn, p.as_ref()?)))
            .filter(|(_, p)| p.time <= cutoff || (p.realtime && p.time <= realtime_cutoff))
            .map(|(pn, _)| pn)
            .collect();
        pns.into_iter().filter_map(|pn| self.remove(pn)).collect()
    }

    /// Send time of the oldest packet in flight that carries realtime frames.
    pub fn oldest_realtime(&self) -> Option<Time> {
        let pn = *self.realtime.first()?;
        let at = self.position(pn);
        self.in_flight
            .get(at)
            .filter(|e| e.0 == pn)
            .and_then(|e| e.1.as_ref())
            .map(|p| p.time)
    }

    fn take_below(&mut self, limit: u64) -> Vec<SentPacket<T>> {
        let pns: Vec<u64> = self
            .in_flight
            .iter()
            .take_while(|e| e.0 < limit)
            .filter(|e| e.1.is_some())
            .map(|e| e.0)
            .collect();
        pns.into_iter().filter_map(|pn| self.remove(pn)).collect()
    }

    fn remove(&mut self, pn: u64) -> Option<SentPacket<T>> {
        let at = self.position(pn);
        let entry = self.in_flight.get_mut(at).filter(|e| e.0 == pn)?;
        let p = entry.1.take()?;
        self.forget(pn, &p);
        while self.in_flight.front().is_some_and(|e| e.1.is_none()) {
            self.in_flight.pop_front();
        }
        if self.in_flight.is_empty() {
            // An idle link, whose keepalive was acknowledged, keeps no room.
            self.in_flight = VecDeque::new();
        }
        Some(p)
    }

    /// Takes a packet that left the queue out of the counts.
    fn forget(&mut self, pn: u64, p: &SentPacket<T>) {
        self.bytes_in_flight -= p.size;
        if p.realtime {
            self.realtime.remove(&pn);
            self.realtime_bytes -= p.size;
            if self.realtime.is_empty() {
                self.realtime = BTreeSet::new();
            }
        }
    }

    /// Send time of the oldest packet in flight (arms the retransmission timer).
    pub fn oldest(&self) -> Option<Time> {
        // Packet numbers grow with time, so the first entry is the oldest
        // (and the front is always a packet in flight).
        self.in_flight
            .front()
            .and_then(|e| e.1.as_ref())
            .map(|p| p.time)
    }

    /// Bytes of the packets in flight that carry realtime data only.
    pub fn realtime_bytes(&self) -> usize {
        self.realtime_bytes
    }

    /// Bytes of ack-eliciting packets in flight.
    pub fn bytes_in_flight(&self) -> usize {
        self.bytes_in_flight
    }

    /// Every packet still in flight, oldest first, and forgets them: the
    /// session they were sent in is gone, so their frames will never be
    /// acknowledged.
    pub fn take_all(&mut self) -> Vec<SentPacket<T>> {
        self.bytes_in_flight = 0;
        self.realtime.clear();
        self.realtime_bytes = 0;
        core::mem::take(&mut self.in_flight)
            .into_iter()
            .filter_map(|e| e.1)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(t: u64) -> SentPacket<()> {
        SentPacket {
            time: Time::from_nanos(t),
            size: 100,
            frames: vec![SentFrame::Ping],
            realtime: false,
        }
    }

    #[test]
    fn acks_threshold_and_timeout() {
        let mut s = SentPackets::default();
        for pn in 0..10 {
            s.on_sent(pn, packet(pn * 10));
        }
        let out = s.on_ack(&AckFrame {
            ack_delay_us: 0,
            ranges: vec![7..=8, 2..=3],
        });
        assert_eq!(out.acked.len(), 4);
        assert_eq!(out.rtt_sample_from, Some(Time::from_nanos(80)));
        // 8 is acked: 0, 1, 4 and 5 are 3 or more below it; 6 is not.
        assert_eq!(s.lost_by_threshold(3).len(), 4);
        assert_eq!(s.oldest(), Some(Time::from_nanos(60)));
        assert_eq!(s.lost_by_timeout(Time::from_nanos(60), Time::ZERO).len(), 1);
        assert_eq!(s.bytes_in_flight(), 100);
        // A repeated ack changes nothing and gives no RTT sample.
        let again = s.on_ack(&AckFrame {
            ack_delay_us: 0,
            ranges: vec![7..=8],
        });
        assert!(again.acked.is_empty() && again.rtt_sample_from.is_none());
    }

    #[test]
    fn realtime_packets_have_their_own_cutoff() {
        let mut s = SentPackets::default();
        for pn in 0..6 {
            let mut p = packet(pn * 10);
            p.realtime = pn % 2 == 1;
            s.on_sent(pn, p);
        }
        assert_eq!(s.oldest_realtime(), Some(Time::from_nanos(10)));
        // Everything up to 10, and realtime packets up to 40.
        let lost: Vec<Time> = s
            .lost_by_timeout(Time::from_nanos(10), Time::from_nanos(40))
            .iter()
            .map(|p| p.time)
            .collect();
        assert_eq!(lost, [0, 10, 30].map(Time::from_nanos));
        assert_eq!(s.oldest_realtime(), Some(Time::from_nanos(50)));
        assert_eq!(s.realtime_bytes(), 100);
        s.on_ack(&AckFrame {
            ack_delay_us: 0,
            ranges: vec![5..=5],
        });
        assert_eq!(s.oldest_realtime(), None);
        assert_eq!(s.realtime_bytes(), 0);
        assert_eq!(s.take_all().len(), 2);
        assert_eq!(s.oldest_realtime(), None);
    }

    /// Random sends, acks and losses give what a map by packet number
    /// gives: the same packets, in the same order, and the same counts.
    #[test]
    fn behaves_as_a_map_by_packet_number() {
        use rand::{Rng as _, SeedableRng as _};
        use std::collections::BTreeMap;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut s: SentPackets<u64> = SentPackets::default();
        let mut model: BTreeMap<u64, u64> = BTreeMap::new();
        let mut next_pn = 0u64;
        let times = |v: &[SentPacket<u64>]| v.iter().map(|p| p.time.as_nanos()).collect::<Vec<_>>();
        for step in 0..20_000u64 {
            match rng.next_u32() % 6 {
                0..=2 => {
                    next_pn += 1 + u64::from(rng.next_u32() % 3);
                    let p = SentPacket {
                        time: Time::from_nanos(next_pn),
                        size: 10,
                        frames: vec![SentFrame::Upper(next_pn)],
                        realtime: rng.next_u32() % 4 == 0,
                    };
                    s.on_sent(next_pn, p);
                    model.insert(next_pn, next_pn);
                }
                3 => {
                    let hi = next_pn.saturating_sub(u64::from(rng.next_u32() % 8));
                    let lo = hi.saturating_sub(u64::from(rng.next_u32() % 6));
                    let mid = lo.saturating_sub(2 + u64::from(rng.next_u32() % 4));
                    let ranges = vec![lo..=hi, mid.saturating_sub(3)..=mid];
                    let got = times(
                        &s.on_ack(&AckFrame {
                            ack_delay_us: 0,
                            ranges: ranges.clone(),
                        })
                        .acked,
                    );
                    let mut want = Vec::new();
                    for r in ranges {
                        let pns: Vec<u64> = model.range(r).map(|(k, _)| *k).collect();
                        for pn in pns {
                            want.push(model.remove(&pn).unwrap());
                        }
                    }
                    assert_eq!(got, want, "step {step}");
                }
                4 => {
                    let got = times(&s.lost_by_threshold(3));
                    let limit = s
                        .largest_acked
                        .and_then(|l| l.checked_sub(3))
                        .map(|l| l + 1);
                    let want: Vec<u64> = match limit {
                        Some(limit) => {
                            let pns: Vec<u64> = model.range(..limit).map(|(k, _)| *k).collect();
                            pns.iter().map(|pn| model.remove(pn).unwrap()).collect()
                        }
                        None => Vec::new(),
                    };
                    assert_eq!(got, want, "step {step}");
                }
                _ => {
                    let cutoff = next_pn.saturating_sub(40);
                    let got = times(&s.lost_by_timeout(Time::from_nanos(cutoff), Time::ZERO));
                    let pns: Vec<u64> = model.range(..=cutoff).map(|(k, _)| *k).collect();
                    let want: Vec<u64> = pns.iter().map(|pn| model.remove(pn).unwrap()).collect();
                    assert_eq!(got, want, "step {step}");
                }
            }
            assert_eq!(s.bytes_in_flight(), model.len() * 10);
            assert_eq!(
                s.oldest().map(Time::as_nanos),
                model.values().next().copied()
            );
            assert!(s.in_flight.front().is_none_or(|e| e.1.is_some()));
        }
        let rest = times(&s.take_all());
        assert_eq!(rest, model.values().copied().collect::<Vec<_>>());
    }
}
