//! Traffic sources and the applications at both ends of a flow.
//!
//! Every message starts with a small header (flow, sequence number, send
//! time, kind) so the receiving application measures latency and spots
//! duplicates without any shared state: what it knows arrived in the bytes.

use node_core::range_set::RangeSet;
use node_core::{Duration, Time};

use crate::model::{TrafficKind, TrafficSpec};

/// Bytes of the header at the start of every message.
pub const HEADER_LEN: usize = 22;
const MAGIC: u8 = 0xF1;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Data of a bulk or CBR flow.
    Data = 0,
    /// A request (answered by the destination).
    Request = 1,
    /// The answer to a request.
    Response = 2,
}

/// The header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Index of the flow.
    pub flow: u32,
    /// Sequence number within the flow.
    pub seq: u64,
    /// When the source created it (for a response: when the request was created).
    pub sent_at: Time,
    /// What it is.
    pub kind: MessageKind,
}

impl Header {
    /// A message of `len` bytes (at least the header) carrying this header.
    pub fn message(&self, len: usize) -> Vec<u8> {
        let mut m = Vec::with_capacity(len.max(HEADER_LEN));
        m.push(MAGIC);
        m.extend_from_slice(&self.flow.to_be_bytes());
        m.extend_from_slice(&self.seq.to_be_bytes());
        m.extend_from_slice(&self.sent_at.as_nanos().to_be_bytes());
        m.push(self.kind as u8);
        // Deterministic filler: the payload does not matter, its size does.
        m.resize(len.max(HEADER_LEN), 0xA5);
        m
    }

    /// Reads the header of a message; `None` if it is not one of ours.
    pub fn parse(m: &[u8]) -> Option<Header> {
        if m.len() < HEADER_LEN || m[0] != MAGIC {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes(m[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(m[i..i + 8].try_into().expect("8 bytes"));
        let kind = match m[21] {
            0 => MessageKind::Data,
            1 => MessageKind::Request,
            2 => MessageKind::Response,
            _ => return None,
        };
        Some(Header {
            flow: u32_at(1),
            seq: u64_at(5),
            sent_at: Time::from_nanos(u64_at(13)),
            kind,
        })
    }
}

/// What a flow measured.
#[derive(Debug, Clone, Default)]
pub struct FlowStats {
    /// Messages the source handed to its node.
    pub sent_messages: u64,
    /// Bytes the source handed to its node.
    pub sent_bytes: u64,
    /// Messages the node refused (backlog full, link closed).
    pub rejected: u64,
    /// Distinct messages delivered (responses, for request/response).
    pub delivered_messages: u64,
    /// Bytes of distinct messages delivered.
    pub delivered_bytes: u64,
    /// Messages delivered more than once.
    pub duplicates: u64,
    /// Delivered out of sequence order.
    pub out_of_order: u64,
    /// Latency of every distinct delivery, in ns, in delivery order.
    pub latencies_ns: Vec<u64>,
    /// When each of those was sent, ns (the same order).
    pub sent_at_ns: Vec<u64>,
    /// First and last delivery.
    pub first_delivery: Option<Time>,
    /// Last delivery.
    pub last_delivery: Option<Time>,
    /// When each message was offered (sent or refused), kept only when
    /// the flow has a deadline (the on-time ratio's denominator).
    pub offered_at: Vec<Time>,
    /// When each distinct delivery that met the deadline was sent.
    pub on_time_sent: Vec<Time>,
    /// The flow's deadline, if it has one.
    pub deadline: Option<node_core::Duration>,
    /// Deliveries from this time on count towards goodput (the warmup).
    pub measured_from: Time,
    /// Bytes of the distinct deliveries from `measured_from` on.
    pub measured_bytes: u64,
    /// Requests answered by the destination (request/response).
    pub responses_sent: u64,
    /// Time from the flow's start to its (first) route being up.
    pub route_setup: Option<node_core::Duration>,
    /// Routes its connection built again after one broke (tries).
    pub reopens: u64,
    /// A route set: when its failure detector suspected a route.
    pub suspected_at: Vec<Time>,
    /// A route set: when its traffic moved to another route.
    pub switched_at: Vec<Time>,
    /// The longest time between two distinct deliveries, and when it
    /// began (the delivery before it).
    pub max_gap: Option<(node_core::Duration, Time)>,
    /// Every gap between two distinct deliveries of at least
    /// [`GAP_RECORDED`], and when it began: the interruptions of the churn
    /// summary are read from them. At most one per `GAP_RECORDED` of run.
    pub gaps: Vec<(Time, node_core::Duration)>,
    /// A route set: the first delivery after each suspicion.
    pub resumed_at: Vec<Time>,
    /// A flow to the nearest gateway: messages its gateway's uplink queue
    /// had no room for.
    pub uplink_drops: u64,
    seen: RangeSet,
    highest: Option<u64>,
}

impl FlowStats {
    /// Records that a message was offered to the node (whether it took it
    /// or not).
    pub fn on_offer(&mut self, now: Time) {
        if self.deadline.is_some() {
            self.offered_at.push(now);
        }
    }

    /// The share of messages offered by `end - deadline` (so each had its
    /// whole deadline inside the run) that arrived within the deadline;
    /// `None` without a deadline or without such messages.
    pub fn on_time_ratio(&self, end: Time) -> Option<f64> {
        let d = self.deadline?;
        let cutoff = Time::from_nanos(end.as_nanos().checked_sub(d.as_nanos())?);
        let offered = self.offered_at.iter().filter(|&&t| t <= cutoff).count();
        let on_time = self.on_time_sent.iter().filter(|&&t| t <= cutoff).count();
        (offered > 0).then(|| on_time as f64 / offered as f64)
    }

    /// Records a delivered message.
    pub fn on_delivery(&mut self, now: Time, h: &Header, len: usize) {
        if !self.seen.insert_one(h.seq) {
            self.duplicates += 1;
            return;
        }
        if self.highest.is_some_and(|hi| h.seq < hi) {
            self.out_of_order += 1;
        }
        self.highest = Some(self.highest.map_or(h.seq, |hi| hi.max(h.seq)));
        self.delivered_messages += 1;
        self.delivered_bytes += len as u64;
        if now >= self.measured_from {
            self.measured_bytes += len as u64;
        }
        let latency = now.saturating_since(h.sent_at);
        if self.deadline.is_some_and(|d| latency <= d) {
            self.on_time_sent.push(h.sent_at);
        }
        self.latencies_ns.push(latency.as_nanos());
        self.sent_at_ns.push(h.sent_at.as_nanos());
        if let Some(&t) = self.suspected_at.last()
            && self.resumed_at.len() < self.suspected_at.len()
            && self.last_delivery.is_some_and(|l| l <= t)
        {
            self.resumed_at.push(now);
        }
        if let Some(last) = self.last_delivery {
            let gap = now.saturating_since(last);
            if self.max_gap.is_none_or(|(g, _)| gap > g) {
                self.max_gap = Some((gap, last));
            }
            if gap >= GAP_RECORDED {
                self.gaps.push((last, gap));
            }
        }
        self.first_delivery.get_or_insert(now);
        self.last_delivery = Some(now);
    }
}

/// The shortest delivery gap [`FlowStats::gaps`] keeps.
pub const GAP_RECORDED: node_core::Duration = node_core::Duration::from_millis(250);

/// A traffic source's progress.
#[derive(Debug, Clone)]
pub struct Source {
    /// What it is.
    pub spec: TrafficSpec,
    /// Next sequence number.
    pub next_seq: u64,
    /// Bytes offered so far (bulk).
    pub offered: u64,
    /// Measurements.
    pub stats: FlowStats,
    /// The node's connection to the destination, once opened.
    pub connection: Option<node_core::ConnectionHandle>,
    /// The route under the connection while it is up.
    pub route: Option<node_core::RouteHandle>,
    /// When that route came up.
    pub up_at: Option<Time>,
    /// Why the connection closed (or could not open), if it did.
    pub closed: Option<String>,
    /// A periodic source's next tick is scheduled.
    pub ticking: bool,
    /// How a flow that finds its own path found it (`None` for the others).
    pub search: Option<PathSearch>,
}

/// A flow that asks its origin's topology database for its path
/// (`"path": "discover"`): each try at the start, and what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathSearch {
    /// Tries (`Command::ConnectTo`), until one found a path or the flow
    /// gave up.
    pub tries: u32,
    /// From the flow's start to the try that found a path.
    pub found_after: Option<Duration>,
    /// Why the last try found none (node-core's `NoPath`).
    pub last_error: Option<String>,
    /// The flow stopped trying (its wait ran out, or it stopped) without
    /// a path.
    pub gave_up: bool,
    /// Its latest route, origin first, as node indices.
    pub path: Vec<usize>,
}

impl Source {
    /// A source that has not started, whose goodput counts deliveries from
    /// `warmup` on.
    pub fn new(spec: TrafficSpec, warmup: node_core::Duration) -> Self {
        let deadline = spec.deadline;
        let spec_discovers = spec.discover;
        Source {
            spec,
            next_seq: 0,
            offered: 0,
            stats: FlowStats {
                measured_from: Time::ZERO + warmup,
                deadline,
                ..FlowStats::default()
            },
            connection: None,
            route: None,
            up_at: None,
            closed: None,
            ticking: false,
            search: spec_discovers.then(PathSearch::default),
        }
    }

    /// Whether the source still offers data at `now`.
    pub fn active(&self, now: Time) -> bool {
        let start = Time::ZERO + self.spec.start;
        now >= start && self.spec.stop.is_none_or(|s| now < Time::ZERO + s) && self.closed.is_none()
    }

    /// Whether its route is up and open.
    pub fn ready(&self) -> bool {
        self.up_at.is_some() && self.closed.is_none()
    }

    /// The interval between messages of a periodic source.
    pub fn period(&self) -> Option<Duration> {
        match self.spec.kind {
            TrafficKind::Bulk { .. } => None,
            TrafficKind::Cbr { rate_bps, message } => Some(Duration::from_nanos(
                (message.max(HEADER_LEN) as u64 * 8 * 1_000_000_000).div_ceil(rate_bps.max(1)),
            )),
            TrafficKind::RequestResponse { interval, .. } => Some(interval),
        }
    }

    /// The next message of a periodic source, if it still has one to send.
    pub fn next_periodic(&mut self, now: Time, flow: u32) -> Option<Vec<u8>> {
        let (len, kind) = match self.spec.kind {
            TrafficKind::Bulk { .. } => return None,
            TrafficKind::Cbr { message, .. } => (message, MessageKind::Data),
            TrafficKind::RequestResponse { request, count, .. } => {
                if count.is_some_and(|c| self.next_seq >= c) {
                    return None;
                }
                (request, MessageKind::Request)
            }
        };
        Some(self.take(now, flow, len, kind))
    }

    /// The next bulk message, if the transfer has bytes left.
    pub fn next_bulk(&mut self, now: Time, flow: u32) -> Option<Vec<u8>> {
        let TrafficKind::Bulk { size, message } = self.spec.kind else {
            return None;
        };
        let left = size.saturating_sub(self.offered);
        if left == 0 {
            return None;
        }
        let len = (message as u64).min(left).max(HEADER_LEN as u64) as usize;
        Some(self.take(now, flow, len, MessageKind::Data))
    }

    fn take(&mut self, now: Time, flow: u32, len: usize, kind: MessageKind) -> Vec<u8> {
        let h = Header {
            flow,
            seq: self.next_seq,
            sent_at: now,
            kind,
        };
        self.next_seq += 1;
        let m = h.message(len);
        self.offered += m.len() as u64;
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_foreign_bytes() {
        let h = Header {
            flow: 3,
            seq: 99,
            sent_at: Time::from_nanos(123_456),
            kind: MessageKind::Request,
        };
        let m = h.message(100);
        assert_eq!(m.len(), 100);
        assert_eq!(Header::parse(&m), Some(h));
        assert_eq!(h.message(5).len(), HEADER_LEN);
        assert_eq!(Header::parse(&[0; 30]), None);
        assert_eq!(Header::parse(&m[..10]), None);
    }

    #[test]
    fn duplicates_and_reordering_are_counted() {
        let mut s = FlowStats::default();
        let h = |seq| Header {
            flow: 0,
            seq,
            sent_at: Time::ZERO,
            kind: MessageKind::Data,
        };
        for seq in [0, 2, 1, 2] {
            s.on_delivery(Time::from_nanos(10), &h(seq), 50);
        }
        assert_eq!(
            (s.delivered_messages, s.duplicates, s.out_of_order),
            (3, 1, 1)
        );
    }
}
