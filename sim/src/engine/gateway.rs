//! A gateway's uplink to "the Internet" (Skywire's IPv4 gateway): data of a
//! flow to the nearest gateway that reaches one leaves through the
//! gateway's clearnet egress, whose capacity is what the gateway
//! advertises (`discovery.nodes[].gateway`). The uplink serializes one
//! message at a time at that rate; the gateway's own traffic is served
//! before relayed traffic (a message being sent is finished first), and
//! each class queues at most `discovery.gateway_queue` bytes: past that a
//! message is dropped and counted, as an IP uplink's queue drops. A
//! message counts as delivered (or, a request, is answered) when the
//! uplink has sent it.

use std::collections::VecDeque;

use node_core::{ConnectionHandle, Duration, RouteHandle};

use super::protocol::{Population, Protocol};
use super::queue::Origin;
use super::{Ev, World};
use crate::model::TrafficKind;
use crate::traffic::{Header, MessageKind};

/// Where a request's answer goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Back {
    /// The route it came in on.
    Route(RouteHandle),
    /// The route set's connection at this end.
    Connection(ConnectionHandle),
}

/// A message waiting for the uplink.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    header: Header,
    len: usize,
    back: Back,
}

/// What a gateway's uplink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UplinkStats {
    /// Bytes the gateway's own flows sent out.
    pub own_bytes: u64,
    /// Bytes of relayed flows sent out.
    pub relayed_bytes: u64,
    /// Messages dropped at a full queue: own, relayed.
    pub own_drops: u64,
    /// Relayed messages dropped.
    pub relayed_drops: u64,
    /// The most bytes queued at once.
    pub max_queued: u64,
}

/// One gateway's uplink.
#[derive(Debug)]
pub struct Uplink {
    rate_bps: u64,
    limit: usize,
    /// Own, relayed.
    queues: [VecDeque<Waiting>; 2],
    queued: [usize; 2],
    sending: Option<(Waiting, usize)>,
    /// Counters.
    pub stats: UplinkStats,
}

impl Uplink {
    /// An idle uplink of `rate_bps` whose classes hold `limit` bytes each.
    pub fn new(rate_bps: u64, limit: usize) -> Uplink {
        Uplink {
            rate_bps: rate_bps.max(1),
            limit,
            queues: [VecDeque::new(), VecDeque::new()],
            queued: [0, 0],
            sending: None,
            stats: UplinkStats::default(),
        }
    }

    /// The same uplink with nothing queued or being sent (its gateway
    /// crashed); its counters stay.
    pub fn emptied(&self) -> Uplink {
        Uplink {
            stats: self.stats,
            ..Uplink::new(self.rate_bps, self.limit)
        }
    }

    fn time(&self, len: usize) -> Duration {
        Duration::from_nanos(
            (len as u128 * 8 * 1_000_000_000 / u128::from(self.rate_bps)).max(1) as u64,
        )
    }
}

impl<P: Population> World<P> {
    /// Whether node `i`'s uplink takes flow `h.flow`'s message: it is a
    /// gateway and the flow goes to the nearest gateway.
    pub(super) fn bound_for_internet(&self, i: usize, h: &Header) -> bool {
        self.sources
            .get(h.flow as usize)
            .is_some_and(|s| s.spec.to.is_none())
            && self.uplinks.get(i).is_some_and(|u| u.is_some())
    }

    /// A message for the Internet reached gateway `i`: it waits for the
    /// uplink (or is dropped at a full queue).
    pub(super) fn enqueue_uplink(&mut self, i: usize, header: Header, len: usize, back: Back) {
        let own = self.sources[header.flow as usize].spec.from == i;
        let Some(u) = self.uplinks[i].as_mut() else {
            return;
        };
        let class = usize::from(!own);
        if u.queued[class] + len > u.limit {
            if own {
                u.stats.own_drops += 1;
            } else {
                u.stats.relayed_drops += 1;
            }
            self.sources[header.flow as usize].stats.uplink_drops += 1;
            return;
        }
        u.queued[class] += len;
        u.stats.max_queued = u.stats.max_queued.max((u.queued[0] + u.queued[1]) as u64);
        u.queues[class].push_back(Waiting { header, len, back });
        if u.sending.is_none() {
            self.start_uplink(i);
        }
    }

    /// The uplink of `i` takes its next message: own traffic first.
    fn start_uplink(&mut self, i: usize) {
        let Some(u) = self.uplinks[i].as_mut() else {
            return;
        };
        let Some((class, w)) = (0..2).find_map(|c| u.queues[c].pop_front().map(|w| (c, w))) else {
            return;
        };
        u.queued[class] -= w.len;
        let at = self.now + u.time(w.len);
        u.sending = Some((w, class));
        self.queue
            .push(at, Origin::node(i), Ev::Uplink { node: i as u32 });
    }

    /// The uplink of `i` finished sending its message.
    pub(super) fn uplink_done(&mut self, i: usize) {
        let Some((w, class)) = self.uplinks[i].as_mut().and_then(|u| u.sending.take()) else {
            return;
        };
        if let Some(u) = self.uplinks[i].as_mut() {
            if class == 0 {
                u.stats.own_bytes += w.len as u64;
            } else {
                u.stats.relayed_bytes += w.len as u64;
            }
        }
        let h = w.header;
        let flow = h.flow as usize;
        match h.kind {
            MessageKind::Data => self.sources[flow].stats.on_delivery(self.now, &h, w.len),
            MessageKind::Request => {
                if let TrafficKind::RequestResponse { response, .. } = self.sources[flow].spec.kind
                    && self.nodes[i].alive
                {
                    let reply = Header {
                        kind: MessageKind::Response,
                        ..h
                    }
                    .message(response);
                    let sent = match w.back {
                        Back::Route(r) => self.nodes[i].node.route_send(r, reply),
                        Back::Connection(c) => self.nodes[i].node.connection_send(c, reply),
                    };
                    if sent.is_ok() {
                        self.sources[flow].stats.responses_sent += 1;
                    }
                    self.drive(i);
                }
            }
            MessageKind::Response => {}
        }
        self.start_uplink(i);
    }

    /// What gateway `i`'s uplink did (`None`: not a gateway).
    pub fn uplink(&self, i: usize) -> Option<UplinkStats> {
        self.uplinks.get(i)?.as_ref().map(|u| u.stats)
    }
}
