//! Route frames leaving for a neighbour: what each neighbour has waiting
//! (whichever of its links carries it), and what the link layer's
//! acknowledgements and losses mean for them.
//!
//! Per neighbour, in order: control frames (setup, control messages, teardown,
//! and end-to-end acknowledgements in store-and-forward mode), due CREDIT
//! frames, the end-to-end mode's drop-tail queue, then data of the routes
//! that have some, realtime routes before bulk ones.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::{BACKWARD, FORWARD, LinkWork, RoleKind, Routes};
use crate::config::RouteMode;
use crate::identity::Address;
use crate::link::Written;
use crate::time::Time;
use crate::wire::{Class, RouteCreditFrame, RouteDataFrame, RouteFrame};

/// A route frame the link must report back on (acknowledged or lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteSent {
    /// A chunk of a route direction's stream.
    Data {
        /// Route handle.
        route: u64,
        /// Direction.
        dir: usize,
        /// Offset.
        offset: u64,
        /// Length.
        len: u64,
    },
    /// A CREDIT frame (the current limit goes out again if it is lost).
    Credit {
        /// Route handle.
        route: u64,
        /// Direction whose credit it was.
        dir: usize,
    },
    /// An encoded control frame, sent again as it is if lost.
    Ctrl(Vec<u8>),
}

/// Control frames (CREATE, CREATED, CTRL, TEARDOWN, store-and-forward
/// ACKs, each at most ~200 bytes) that may wait for one neighbour.
pub(super) const MAX_CTRL_QUEUE: usize = 8192;

impl Routes {
    /// Queues an encoded frame that must arrive.
    pub(super) fn queue_ctrl(&mut self, peer: Address, frame: RouteFrame<'_>) {
        let mut bytes = Vec::with_capacity(frame.encoded_len());
        frame.emit(&mut bytes);
        self.push_ctrl(peer, bytes);
    }

    /// The work waiting for `peer`, noted as new work: the node polls the
    /// link that carries the peer's traffic (`take_ready_peers`).
    pub(super) fn work_for(&mut self, peer: Address) -> &mut LinkWork {
        self.ready_peers.insert(peer);
        self.work.entry(peer).or_default()
    }

    /// Whether any neighbour got work since the last `take_ready_peers`.
    pub fn has_ready_peers(&self) -> bool {
        !self.ready_peers.is_empty()
    }

    /// The neighbours that got work since the last call.
    pub fn take_ready_peers(&mut self) -> BTreeSet<Address> {
        std::mem::take(&mut self.ready_peers)
    }

    /// Queues an encoded control frame, unless `MAX_CTRL_QUEUE` frames
    /// already wait for that neighbour (dropped and counted: only a flood,
    /// or a link that no longer moves, fills it; a route whose frame is
    /// lost this way times out like one whose neighbour vanished).
    pub(super) fn push_ctrl(&mut self, peer: Address, bytes: Vec<u8>) {
        let w = self.work_for(peer);
        if w.ctrl.len() >= MAX_CTRL_QUEUE {
            self.guard.stats.ctrl_queue += 1;
            return;
        }
        w.ctrl.push_back(bytes);
    }

    /// Queues an unreliable frame behind the link's drop-tail queue;
    /// returns false if the queue was full (the frame is dropped).
    pub(super) fn enqueue_unreliable(&mut self, peer: Address, bytes: Vec<u8>) -> bool {
        let limit = self.relay_queue;
        let w = self.work_for(peer);
        if w.queued_bytes + bytes.len() > limit {
            self.stats.queue_drops += 1;
            return false;
        }
        w.queued_bytes += bytes.len();
        w.queue.push_back(bytes);
        true
    }

    /// Notes that direction `d` of route `h` may have data for `link`.
    pub(super) fn activate(&mut self, peer: Address, class: Class, h: u64, d: usize) {
        self.work_for(peer)
            .active
            .insert((super::class_rank(class), h, d));
    }

    /// Whether `sent` is data of a realtime route.
    pub(crate) fn is_realtime_data(&self, sent: &RouteSent) -> bool {
        match sent {
            RouteSent::Data { route, .. } => self
                .routes
                .get(route)
                .is_some_and(|r| r.class == Class::Realtime),
            RouteSent::Credit { .. } | RouteSent::Ctrl(_) => false,
        }
    }

    /// Whether any neighbour has work queued (entries may stay empty: a
    /// `true` means only that `wants` is worth asking).
    pub fn any_work(&self) -> bool {
        !self.work.is_empty()
    }

    /// Whether anything waits for `link`.
    pub fn wants(&self, peer: Address) -> bool {
        self.work.get(&peer).is_some_and(|w| {
            !w.ctrl.is_empty()
                || !w.credits.is_empty()
                || !w.queue.is_empty()
                || !w.active.is_empty()
        })
    }

    /// Writes one route frame of `class` for `link` into `buf`, within
    /// `space` bytes.
    pub fn write_frame(
        &mut self,
        now: Time,
        peer: Address,
        class: Class,
        space: usize,
        buf: &mut Vec<u8>,
    ) -> Option<Written<RouteSent>> {
        let rank = super::class_rank(class);
        let w = self.work.get_mut(&peer)?;
        if class == Class::Realtime {
            if w.ctrl.front().is_some_and(|f| f.len() <= space) {
                let bytes = w.ctrl.pop_front().expect("checked");
                buf.extend_from_slice(&bytes);
                return Some(Written::Reliable(RouteSent::Ctrl(bytes)));
            }
            while let Some(&(h, d)) = w.credits.first() {
                w.credits.pop_first();
                let Some(r) = self.routes.get_mut(&h) else {
                    continue;
                };
                let Some(from) = (if d == FORWARD { r.up } else { r.down }) else {
                    continue;
                };
                let limit = r.dirs[d].buf.limit();
                let frame = RouteFrame::Credit(RouteCreditFrame {
                    route: from.tx,
                    limit,
                });
                if frame.encoded_len() > space {
                    // Put back, not new work: the link is not asked again
                    // for it now (`Node::poll_output` re-polls on new work).
                    if let Some(w) = self.work.get_mut(&peer) {
                        w.credits.insert((h, d));
                    }
                    return None;
                }
                frame.emit(buf);
                r.dirs[d].advert.on_sent(limit);
                return Some(Written::Reliable(RouteSent::Credit { route: h, dir: d }));
            }
            if w.queue.front().is_some_and(|f| f.len() <= space) {
                let bytes = w.queue.pop_front().expect("checked");
                w.queued_bytes -= bytes.len();
                buf.extend_from_slice(&bytes);
                return Some(Written::Unreliable);
            }
        }
        let e2e = self.mode == RouteMode::EndToEnd;
        let class_range = (rank, 0, 0)..=(rank, u64::MAX, usize::MAX);
        loop {
            let w = self.work.get_mut(&peer)?;
            // The next direction after the one served last, wrapping around.
            let after = w.turn[rank as usize].and_then(|(h, d)| {
                w.active
                    .range((
                        Bound::Excluded((rank, h, d)),
                        Bound::Included((rank, u64::MAX, usize::MAX)),
                    ))
                    .next()
            });
            let &(rk, h, d) = after.or_else(|| w.active.range(class_range.clone()).next())?;
            let Some(r) = self.routes.get_mut(&h) else {
                w.active.remove(&(rk, h, d));
                continue;
            };
            let to = if d == FORWARD { r.down } else { r.up };
            if to.is_none_or(|a| a.peer != peer) {
                w.active.remove(&(rk, h, d));
                continue;
            }
            let to = to.expect("checked");
            let dir = &mut r.dirs[d];
            let source = matches!(
                (r.role.kind(), d),
                (RoleKind::Origin, FORWARD) | (RoleKind::Destination, BACKWARD)
            );
            if e2e && source {
                // The baseline's source: the Reno sender chooses what goes.
                let reno = r
                    .role
                    .endpoint_mut()
                    .and_then(|e| e.reno.as_mut())
                    .expect("end-to-end sources run Reno");
                let Some((off, len)) = reno.next_segment(dir.buf.end()) else {
                    w.active.remove(&(rk, h, d));
                    continue;
                };
                if len > RouteDataFrame::max_chunk_len(off, space) || off < dir.buf.base() {
                    return None;
                }
                let data = dir.buf.read(off, len);
                RouteFrame::Data(RouteDataFrame {
                    route: to.tx,
                    unreliable: true,
                    fin: false,
                    offset: off,
                    data,
                })
                .emit(buf);
                reno.on_sent(now, off, len);
                w.turn[rank as usize] = Some((h, d));
                self.touch(h);
                return Some(Written::Unreliable);
            }
            if let Some(gate) = r.gate.as_deref_mut()
                && dir.fwd.sends_new(&dir.buf)
            {
                // A paying relay: new bytes go only within its credit
                // (`pay.rs`). Paused, the direction leaves the active set
                // until a receipt comes; its data waits here and its
                // upstream gets no credit (backpressure, not loss).
                let next = dir.fwd.next_send();
                let n = (dir.buf.contiguous_end().min(dir.fwd.credit()) - next)
                    .min(RouteDataFrame::max_chunk_len(next, space) as u64);
                if let super::pay::GateCheck::Paused(invoice) =
                    super::pay::check_gate(gate, &mut self.pay.stats, d, n)
                {
                    w.active.remove(&(rk, h, d));
                    if let Some(msg) = invoice {
                        self.reply_to_origin(h, msg);
                    }
                    continue;
                }
            }
            let before = dir.fwd.next_send();
            match dir.fwd.next_chunk(&dir.buf, now, |off| {
                RouteDataFrame::max_chunk_len(off, space)
            }) {
                Some((off, n)) => {
                    let new = dir.fwd.next_send() - before;
                    if let Some(gate) = r.gate.as_deref_mut()
                        && new > 0
                    {
                        gate.forwarded(d, new);
                        self.pay.stats.bytes_charged += new;
                    }
                    w.turn[rank as usize] = Some((h, d));
                    r.last_activity = now;
                    let data = dir.buf.read(off, n);
                    RouteFrame::Data(RouteDataFrame {
                        route: to.tx,
                        unreliable: false,
                        fin: false,
                        offset: off,
                        data,
                    })
                    .emit(buf);
                    self.touch(h);
                    return Some(Written::Reliable(RouteSent::Data {
                        route: h,
                        dir: d,
                        offset: off,
                        len: n as u64,
                    }));
                }
                None if dir.fwd.wants_to_send(&dir.buf) => return None,
                None => {
                    w.active.remove(&(rk, h, d));
                }
            }
        }
    }

    /// The link acknowledged a route frame.
    pub fn on_acked(&mut self, sent: &RouteSent) {
        let RouteSent::Data {
            route,
            dir,
            offset,
            len,
        } = *sent
        else {
            return;
        };
        let Some(r) = self.routes.get_mut(&route) else {
            return;
        };
        let d = &mut r.dirs[dir];
        let threshold = (d.buf.capacity() / super::inbound::CREDIT_STEPS).max(1) as u64;
        let done = d.fwd.on_acked(offset, len, d.buf.base());
        d.buf.release(done);
        // The hop downstream has it: room here, credit upstream.
        d.advert.update(d.buf.limit(), threshold, d.buf.held() == 0);
        let from = if dir == FORWARD { r.up } else { r.down };
        if d.advert.dirty
            && let Some(a) = from
        {
            self.work_for(a.peer).credits.insert((route, dir));
        }
    }

    /// The link lost a route frame: data and credit go out again.
    pub fn on_lost(&mut self, peer: Address, sent: RouteSent) {
        match sent {
            RouteSent::Data {
                route,
                dir,
                offset,
                len,
            } => {
                if let Some(r) = self.routes.get_mut(&route) {
                    r.dirs[dir].fwd.on_lost(offset, len);
                    let class = r.class;
                    self.activate(peer, class, route, dir);
                }
            }
            RouteSent::Credit { route, dir } => {
                if let Some(r) = self.routes.get_mut(&route) {
                    r.dirs[dir].advert.on_lost();
                    self.work_for(peer).credits.insert((route, dir));
                }
            }
            // A loss resends what was already queued once: not bounded
            // again (it was counted in the queue before it went out).
            RouteSent::Ctrl(bytes) => self.work_for(peer).ctrl.push_back(bytes),
        }
    }
}
