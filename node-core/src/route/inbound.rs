//! Route frames arriving from a neighbour (on any of its links).

use super::crypto;
use super::endpoint::{Receiver, Sender};
use super::reno::RenoSender;
use super::{Adj, BACKWARD, Endpoint, FORWARD, Hop, Role, RoleKind, Routes, Side};
use crate::config::RouteMode;
use crate::crypto::kdf;
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteFailure, RouteHandle};
use crate::time::{Duration, Time};
use crate::wire::{ControlMessage, RouteKind};
use crate::wire::{
    RouteCreateFrame, RouteCreatedFrame, RouteCreditFrame, RouteDataFrame, RouteFrame, RouteId,
    UpperFrame,
};

/// Credit goes back upstream in steps of the buffer divided by this: fine
/// enough that a buffer of one bandwidth-delay product keeps the link busy.
pub(super) const CREDIT_STEPS: usize = 16;

/// The least credit a buffer is given: one whole record, so a route can
/// always make progress.
pub(super) const RECORD_ROOM: usize = crypto::MAX_RECORD + crypto::RECORD_OVERHEAD;

/// How long a destination may sit on an end-to-end acknowledgement.
pub(super) const ACK_DELAY: Duration = Duration::from_millis(20);
/// Acknowledge at once after this many bytes.
pub(super) const ACK_BYTES: u64 = 64 << 10;

impl Routes {
    /// A frame of the route layer's type range arrived from neighbour
    /// `peer` (authenticated by the link layer, which did not look into
    /// it). A body that does not decode is a violation and dropped; a type
    /// this version does not know is skipped and counted (the version rule
    /// of [`upper`](crate::wire::upper)).
    pub fn on_upper_frame(&mut self, now: Time, peer: Address, frame: UpperFrame<'_>) {
        match RouteFrame::parse(frame) {
            Ok(f) => self.on_frame(now, peer, &f),
            Err(crate::wire::Error::UnknownFrameType(_)) => self.stats.unknown_frames += 1,
            Err(_) => self.stats.violations += 1,
        }
    }

    fn on_frame(&mut self, now: Time, peer: Address, frame: &RouteFrame<'_>) {
        let sized = match frame {
            RouteFrame::Ctrl(f) => f.payload.len() == super::control::CTRL_PAYLOAD_LEN,
            RouteFrame::Ack(f) => f.payload.len() == super::delivery::ACK_PAYLOAD_LEN,
            RouteFrame::Pay(f) => f.payload.len() == super::pay::PAY_PAYLOAD_LEN,
            _ => true,
        };
        if !sized {
            // Relays pass control messages and acknowledgements on as they
            // are, so only the one size an honest end sends is taken: any
            // other is of the sender's choosing (it might not fit the next
            // link, and its size would tell what it is).
            self.stats.violations += 1;
            return;
        }
        match frame {
            RouteFrame::Create(f) => self.on_create(now, peer, f),
            RouteFrame::Created(f) => self.on_created(now, peer, f),
            RouteFrame::Data(f) => self.on_data(now, peer, f),
            RouteFrame::Credit(f) => self.on_credit(now, peer, f),
            RouteFrame::Ctrl(f) => self.on_ctrl(now, peer, f),
            RouteFrame::Ack(f) => self.on_ack(now, peer, f),
            RouteFrame::Pay(f) => self.on_pay(now, peer, f),
            RouteFrame::Teardown(f) => {
                if let Some(&(h, _)) = self.inbound.get(&(peer, f.route)) {
                    let reason = match f.reason {
                        crate::wire::TEARDOWN_CLOSED => RouteCloseReason::Remote,
                        _ => RouteCloseReason::Broken,
                    };
                    self.teardown(h, reason, Some(peer));
                } else {
                    self.stats.unknown_route += 1;
                }
            }
        }
    }

    pub(super) fn lookup(&mut self, now: Time, peer: Address, id: RouteId) -> Option<(u64, Side)> {
        let found = self.inbound.get(&(peer, id)).copied();
        match found {
            Some((h, _)) => {
                if let Some(r) = self.routes.get_mut(&h) {
                    r.last_activity = now;
                }
                self.touch(h);
            }
            None => self.stats.unknown_route += 1,
        }
        found
    }

    /// A neighbour asks us to be the next hop of a route.
    fn on_create(&mut self, now: Time, peer: Address, f: &RouteCreateFrame) {
        if let Some(&h) = self.created_by.get(&(peer, f.reply_route)) {
            // The same CREATE again (its link ack was lost): the same answer.
            if let Some(bytes) = self
                .routes
                .get(&h)
                .and_then(|r| r.role.hop().map(|hop| hop.created.clone()))
            {
                self.push_ctrl(peer, bytes);
            }
            return;
        }
        // The bounds first: a refused CREATE costs no key agreement. The
        // creator is told at once (a TEARDOWN on the id it gave). A
        // draining link takes no new route.
        let draining = self.draining_peers.contains(&peer);
        if draining {
            self.guard.stats.draining += 1;
        }
        if draining
            || self
                .guard
                .admit_entry(now, peer, self.initial_credit)
                .is_err()
        {
            let frame = crate::wire::RouteTeardownFrame {
                route: f.reply_route,
                reason: crate::wire::TEARDOWN_BROKEN,
            };
            self.queue_ctrl(peer, RouteFrame::Teardown(frame));
            return;
        }
        let Ok((answer, keys)) =
            crypto::answer_hop(self.suite, &self.identity, &f.eph_pub, &mut self.rng)
        else {
            // A key that is no point: no answer; the creator times out.
            self.stats.violations += 1;
            self.guard.refund(peer, self.initial_credit, true);
            return;
        };
        let rx = self.fresh_id(peer);
        let created = RouteCreatedFrame {
            reply_route: f.reply_route,
            route: rx,
            eph_pub: answer.eph_pub,
            static_pub: answer.static_pub,
            auth: answer.auth,
        };
        let mut bytes = Vec::with_capacity(RouteCreatedFrame::LEN);
        RouteFrame::Created(created).emit(&mut bytes);
        let role = Role::Hop(Box::new(Hop {
            keys,
            extending: None,
            fwd_nonce_seen: None,
            created: bytes.clone(),
            created_key: (peer, f.reply_route),
            segment_asked: false,
        }));
        // A small credit until the origin says what this hop is for.
        let capacity = [self.initial_credit, 0];
        let h = self.new_route(
            now,
            role,
            crate::wire::Class::Bulk,
            RouteKind::Stream,
            capacity,
        );
        self.inbound.insert((peer, rx), (h, Side::Up));
        self.created_by.insert((peer, f.reply_route), h);
        self.index_peer(h, peer);
        let r = self.routes.get_mut(&h).expect("just made");
        r.charged[FORWARD] = self.initial_credit;
        r.entry_charged = true;
        r.up = Some(Adj {
            peer,
            rx,
            tx: f.reply_route,
        });
        self.push_ctrl(peer, bytes);
        self.grant_initial_credit(h, FORWARD);
    }

    /// The hop we created (as origin, or extending as a relay) answered.
    fn on_created(&mut self, now: Time, peer: Address, f: &RouteCreatedFrame) {
        let Some((h, Side::Down)) = self.lookup(now, peer, f.reply_route) else {
            return;
        };
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        let answer = crypto::HopAnswer {
            eph_pub: f.eph_pub,
            static_pub: f.static_pub,
            auth: f.auth,
        };
        if let Some(b) = r
            .role
            .building_mut()
            .filter(|b| b.hops.is_empty() && b.pending.is_some())
        {
            // Our first hop: it names its id for our frames.
            let init = b.pending.take().expect("checked");
            match init.complete(self.suite, b.path[0], &answer) {
                Ok(keys) => {
                    b.hops.push(keys);
                    if let Some(d) = r.down.as_mut() {
                        d.tx = f.route;
                    }
                    self.grant_initial_credit(h, BACKWARD);
                    self.advance(h);
                }
                Err(_) => self.fail_setup(h, RouteFailure::HopFailed(0)),
            }
            return;
        }
        if r.role
            .extending()
            .is_some_and(|x| x.sent == Some((peer, f.reply_route)))
        {
            r.role.hop_mut().expect("extending hops are hops").extending = None;
            r.down = Some(Adj {
                peer,
                rx: f.reply_route,
                tx: f.route,
            });
            r.role.become_relay();
            self.by_peer.insert((peer, h));
            // The backward buffer is filled by the new next hop: its credit
            // is charged to it, at least one record's worth.
            let Ok(back) = self.guard.grant(peer, self.buffer, RECORD_ROOM) else {
                self.teardown(h, RouteCloseReason::Broken, None);
                return;
            };
            let r = self.routes.get_mut(&h).expect("route exists");
            r.dirs[BACKWARD].buf.grow(back);
            r.charged[BACKWARD] = back;
            self.grow_forward(h);
            let msg = ControlMessage::Extended {
                eph_pub: f.eph_pub,
                static_pub: f.static_pub,
                auth: f.auth,
            };
            self.reply_to_origin(h, msg);
            self.pay_on_relay(h);
            self.grant_initial_credit(h, BACKWARD);
            return;
        }
        if r.down
            .is_some_and(|d| d.rx == f.reply_route && d.tx == f.route)
        {
            // The same CREATED again (a link retransmission whose first
            // copy was taken): nothing to do.
            return;
        }
        self.stats.violations += 1;
    }

    fn on_data(&mut self, now: Time, peer: Address, f: &RouteDataFrame<'_>) {
        let Some((h, side)) = self.lookup(now, peer, f.route) else {
            return;
        };
        let d = if side == Side::Up { FORWARD } else { BACKWARD };
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        let sink = matches!(
            (r.role.kind(), d),
            (RoleKind::Destination | RoleKind::Hop, FORWARD) | (RoleKind::Origin, BACKWARD)
        );
        if self.mode == RouteMode::EndToEnd && !sink {
            // The baseline relay: best effort through a drop-tail queue.
            let Some(to) = (if d == FORWARD { r.down } else { r.up }) else {
                self.stats.violations += 1;
                return;
            };
            let frame = RouteDataFrame { route: to.tx, ..*f };
            let mut bytes = Vec::with_capacity(frame_len(&frame));
            RouteFrame::Data(frame).emit(&mut bytes);
            if !self.enqueue_unreliable(to.peer, bytes) {
                self.routes.get_mut(&h).expect("exists").queue_drops += 1;
            }
            return;
        }
        if self.mode == RouteMode::EndToEnd && f.unreliable && r.role.kind() == RoleKind::Hop {
            // A datagram overtook the BEGIN (its packet was lost and is
            // sent again): this hop does not know yet that it ends a
            // datagram route, and a datagram is not stream data. Lost, as
            // a datagram may be.
            self.stats.early_datagrams += 1;
            return;
        }
        if self.mode == RouteMode::EndToEnd
            && r.kind == RouteKind::Datagram
            && r.role.kind() != RoleKind::Hop
        {
            let Some(ep) = r.role.endpoint() else {
                return;
            };
            match crypto::open_datagram(suite, &ep.datagram_peer_key, f.offset, f.data) {
                Ok(data) => self.events.push_back(Event::RouteMessage {
                    route: RouteHandle(h),
                    data,
                }),
                Err(_) => self.stats.violations += 1,
            }
            return;
        }
        if r.dirs[d].buf.insert(f.offset, f.data).is_err() {
            // Beyond the credit we gave (store-and-forward) or beyond the
            // window (end-to-end): an honest sender never does this.
            self.stats.violations += 1;
            return;
        }
        if sink {
            self.deliver(now, h, d);
        } else if let Some(to) = if d == FORWARD { r.down } else { r.up } {
            let class = r.class;
            self.activate(to.peer, class, h, d);
        }
    }

    fn on_credit(&mut self, now: Time, peer: Address, f: &RouteCreditFrame) {
        let Some((h, side)) = self.lookup(now, peer, f.route) else {
            return;
        };
        let d = if side == Side::Down {
            FORWARD
        } else {
            BACKWARD
        };
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        r.dirs[d].fwd.on_credit(f.limit, now);
        let class = r.class;
        self.activate(peer, class, h, d);
    }

    /// A hop the origin extended through grows its forward buffer toward
    /// `route_buffer`, as far as its upstream's share and the node's pool
    /// allow (less is counted; the route then runs on a smaller buffer).
    fn grow_forward(&mut self, h: u64) {
        let Some(r) = self.routes.get(&h) else { return };
        let Some(up) = r.up else { return };
        let want = self.buffer.saturating_sub(r.dirs[FORWARD].buf.capacity());
        if want == 0 {
            return;
        }
        if let Ok(more) = self.guard.grant(up.peer, want, 0) {
            let r = self.routes.get_mut(&h).expect("route exists");
            r.charged[FORWARD] += more;
            let cap = r.dirs[FORWARD].buf.capacity() + more;
            r.dirs[FORWARD].buf.grow(cap);
            self.grant_initial_credit(h, FORWARD);
        }
    }

    /// A new neighbour on side `d`'s upstream gets the first credit.
    pub(super) fn grant_initial_credit(&mut self, h: u64, d: usize) {
        if self.mode != RouteMode::StoreAndForward {
            return;
        }
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        let limit = r.dirs[d].buf.limit();
        r.dirs[d].advert.update(limit, 1, true);
        let from = if d == FORWARD { r.up } else { r.down };
        if let Some(a) = from {
            self.work_for(a.peer).credits.insert((h, d));
        }
    }
}

fn frame_len(f: &RouteDataFrame<'_>) -> usize {
    f.encoded_len()
}

/// The end-to-end state of an endpoint that sends with `out` and receives
/// with `inc`.
pub(super) fn endpoint(
    out: crate::crypto::Key,
    inc: crate::crypto::Key,
    max_message: usize,
    reno: Option<RenoSender>,
) -> Endpoint {
    Endpoint {
        tx: Sender::new(out),
        rx: Receiver::new(inc, max_message),
        ack_tx: kdf::subkey(&out, b"meshsim route ack"),
        ack_rx: kdf::subkey(&inc, b"meshsim route ack"),
        ack_nonce: 0,
        consumed: 0,
        acked: 0,
        ack_due: None,
        datagram_key: kdf::subkey(&out, b"meshsim route datagram"),
        datagram_peer_key: kdf::subkey(&inc, b"meshsim route datagram"),
        datagram_seq: 0,
        reno,
        confirmed: 0,
    }
}
