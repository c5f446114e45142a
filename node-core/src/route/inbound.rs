//! Route frames arriving from a neighbour (on any of its links).

use super::crypto::{self, Peeled};
use super::endpoint::{Receiver, Sender};
use super::reno::RenoSender;
use super::{Adj, BACKWARD, Endpoint, Extending, FORWARD, Hop, Role, RoleKind, Routes, Side};
use crate::config::RouteMode;
use crate::crypto::kdf;
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteFailure, RouteHandle};
use crate::time::{Duration, Time};
use crate::wire::{ControlMessage, ExtendFailure, RouteKind};
use crate::wire::{
    RouteCreateFrame, RouteCreatedFrame, RouteCreditFrame, RouteCtrlFrame, RouteDataFrame,
    RouteFrame, RouteId, UpperFrame,
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
        match frame {
            RouteFrame::Create(f) => self.on_create(now, peer, f),
            RouteFrame::Created(f) => self.on_created(now, peer, f),
            RouteFrame::Data(f) => self.on_data(now, peer, f),
            RouteFrame::Credit(f) => self.on_credit(now, peer, f),
            RouteFrame::Ctrl(f) => self.on_ctrl(now, peer, f),
            RouteFrame::Ack(f) => self.on_ack(now, peer, f),
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
                self.work.entry(peer).or_default().ctrl.push_back(bytes);
            }
            return;
        }
        // The bounds first: a refused CREATE costs no key agreement. The
        // creator is told at once (a TEARDOWN on the id it gave).
        if self
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
        self.work.entry(peer).or_default().ctrl.push_back(bytes);
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

    /// The origin's next construction step.
    pub(super) fn advance(&mut self, h: u64) {
        let suite = self.suite;
        let mode = self.mode;
        let reno = self.reno.clone();
        let max_message = self.max_message;
        let buffer = self.buffer;
        let r = self.routes.get_mut(&h).expect("route exists");
        let b = r.role.building_mut().expect("building");
        let down = r.down.expect("first hop exists");
        let nonce = b.ctrl_nonce;
        b.ctrl_nonce += 1;
        if b.hops.len() == b.path.len() {
            // Every hop is in place: tell the last one it is the destination.
            let msg = ControlMessage::Begin {
                class: r.class,
                kind: r.kind,
            }
            .encode();
            let payload = crypto::wrap_forward(suite, &b.hops, nonce, &msg);
            let dest = b.hops.last().expect("non-empty path");
            let mut ep = endpoint(
                dest.e2e_o2d,
                dest.e2e_d2o,
                max_message,
                (mode == RouteMode::EndToEnd).then(|| RenoSender::new(reno)),
            );
            ep.rx
                .limit_message(super::endpoint::largest_message(buffer));
            r.role.origin_up(ep);
            self.stats.up += 1;
            self.events.push_back(Event::RouteUp {
                route: RouteHandle(h),
            });
            let frame = RouteCtrlFrame {
                route: down.tx,
                nonce,
                payload: &payload,
            };
            self.queue_ctrl(down.peer, RouteFrame::Ctrl(frame));
            return;
        }
        let next = b.path[b.hops.len()];
        let init = crypto::initiate_hop(suite, &mut self.rng);
        let msg = ControlMessage::Extend {
            next,
            eph_pub: init.eph_pub,
            class: r.class,
        }
        .encode();
        let payload = crypto::wrap_forward(suite, &b.hops, nonce, &msg);
        b.pending = Some(init);
        let frame = RouteCtrlFrame {
            route: down.tx,
            nonce,
            payload: &payload,
        };
        self.queue_ctrl(down.peer, RouteFrame::Ctrl(frame));
    }

    fn on_ctrl(&mut self, now: Time, peer: Address, f: &RouteCtrlFrame<'_>) {
        let Some((h, side)) = self.lookup(now, peer, f.route) else {
            return;
        };
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        let mut payload = f.payload.to_vec();
        match side {
            Side::Up => {
                let Some(hop) = r.role.hop_mut() else {
                    self.stats.violations += 1;
                    return;
                };
                match crypto::peel_forward(suite, &hop.keys, f.nonce, &mut payload) {
                    Peeled::ForMe(msg) => {
                        // The origin numbers its messages upward; a repeat
                        // (a link retransmission) acts once.
                        if hop.fwd_nonce_seen.is_some_and(|seen| f.nonce <= seen) {
                            return;
                        }
                        hop.fwd_nonce_seen = Some(f.nonce);
                        self.on_hop_control(now, h, &msg)
                    }
                    Peeled::Forward if r.ctrl_forwarded_nonce.is_some_and(|n| f.nonce <= n) => {}
                    Peeled::Forward if r.ctrl_forwarded + 1 >= self.max_path_len => {
                        // More extensions beyond this hop than a path may
                        // have (Tor's RELAY_EARLY bound): the route is cut.
                        self.guard.stats.path += 1;
                        self.teardown(h, RouteCloseReason::Broken, None);
                    }
                    Peeled::Forward => match r.down {
                        Some(d) => {
                            r.ctrl_forwarded += 1;
                            r.ctrl_forwarded_nonce = Some(f.nonce);
                            let frame = RouteCtrlFrame {
                                route: d.tx,
                                nonce: f.nonce,
                                payload: &payload,
                            };
                            self.queue_ctrl(d.peer, RouteFrame::Ctrl(frame));
                        }
                        // Not for us and nowhere to go: forged or corrupt.
                        None => self.stats.violations += 1,
                    },
                }
            }
            Side::Down => {
                if let Role::Origin(o) = &r.role {
                    if o.back_nonces_seen.contains(&f.nonce) {
                        return; // a repeat: acted on once already
                    }
                    // Hops speak to the origin only while it builds.
                    let Some(hops) = r.role.building().map(|b| b.hops.clone()) else {
                        self.stats.violations += 1;
                        return;
                    };
                    match crypto::unwrap_backward(suite, &hops, f.nonce, &payload) {
                        Some((index, msg)) => {
                            let r = self.routes.get_mut(&h).expect("route exists");
                            let Role::Origin(o) = &mut r.role else {
                                unreachable!("checked above")
                            };
                            if !o.back_nonces_seen.insert(f.nonce) {
                                return; // a repeat: acted on once already
                            }
                            self.on_origin_control(h, index, &msg)
                        }
                        None => self.stats.violations += 1,
                    }
                } else if let (Some(hop), Some(up)) = (r.role.hop(), r.up) {
                    crypto::add_backward_layer(suite, &hop.keys, f.nonce, &mut payload);
                    let frame = RouteCtrlFrame {
                        route: up.tx,
                        nonce: f.nonce,
                        payload: &payload,
                    };
                    self.queue_ctrl(up.peer, RouteFrame::Ctrl(frame));
                }
            }
        }
    }

    /// A control message from the origin, for this hop.
    fn on_hop_control(&mut self, now: Time, h: u64, msg: &[u8]) {
        let r = self.routes.get_mut(&h).expect("route exists");
        match ControlMessage::decode(msg) {
            Some(ControlMessage::Extend {
                next,
                eph_pub,
                class,
            }) if r.down.is_none() && r.role.extending().is_none() => {
                if r.up.is_some_and(|u| u.peer == next) {
                    // Straight back where it came from: a loop that only
                    // multiplies traffic (each pass is another hop).
                    self.guard.stats.path += 1;
                    self.reply_to_origin(h, ControlMessage::ExtendFailed(ExtendFailure::Refused));
                    return;
                }
                r.class = class;
                // A next hop whose link is still handshaking is waited for,
                // until the setup deadline.
                // Half the origin's deadline: a relay gives up first, so the
                // origin learns why rather than only that time ran out.
                let Some(hop) = r.role.hop_mut() else {
                    return; // hops only: the origin never takes forward control
                };
                hop.extending = Some(Extending {
                    next,
                    eph_pub,
                    sent: None,
                    deadline: now + Duration::from_nanos(self.setup_timeout.as_nanos() / 2),
                });
                self.try_extend(h);
            }
            Some(ControlMessage::Begin { class, kind })
                if r.down.is_none() && r.role.kind() == RoleKind::Hop =>
            {
                // The destination's incoming buffer must hold the largest
                // message whole (its reassembly counts in the credit), so
                // it grows to the full buffer or the route is refused.
                let Some(up) = r.up else { return };
                let need = self.buffer.saturating_sub(r.charged[FORWARD]);
                let Ok(more) = self.guard.grant(up.peer, need, need) else {
                    self.teardown(h, RouteCloseReason::Broken, None);
                    return;
                };
                let r = self.routes.get_mut(&h).expect("route exists");
                r.charged[FORWARD] += more;
                r.dirs[FORWARD].buf.grow(self.buffer);
                // Its sending side is its application's: not charged.
                r.dirs[BACKWARD].buf.grow(self.buffer);
                let keys = &r.role.hop().expect("hops have keys").keys;
                r.class = class;
                r.kind = kind;
                let reno =
                    (self.mode == RouteMode::EndToEnd).then(|| RenoSender::new(self.reno.clone()));
                let mut ep = endpoint(keys.e2e_d2o, keys.e2e_o2d, self.max_message, reno);
                // A message longer than the buffer could never complete
                // (its reassembly is on the credit): refused when its
                // length arrives, not waited for.
                ep.rx
                    .limit_message(super::endpoint::largest_message(self.buffer));
                r.role.become_destination(ep);
                self.events.push_back(Event::RouteIncoming {
                    route: RouteHandle(h),
                    class,
                });
                // Data may have arrived before BEGIN: it waits in the buffer.
                self.deliver(now, h, FORWARD);
            }
            _ => self.stats.violations += 1,
        }
    }

    /// A control message from hop `index`, at the origin.
    fn on_origin_control(&mut self, h: u64, index: usize, msg: &[u8]) {
        let r = self.routes.get_mut(&h).expect("route exists");
        let Some(b) = r.role.building_mut() else {
            return;
        };
        match ControlMessage::decode(msg) {
            Some(ControlMessage::Extended {
                eph_pub,
                static_pub,
                auth,
            }) if b.pending.is_some() => {
                let init = b.pending.take().expect("checked");
                let at = b.hops.len();
                let answer = crypto::HopAnswer {
                    eph_pub,
                    static_pub,
                    auth,
                };
                match init.complete(self.suite, b.path[at], &answer) {
                    Ok(keys) => {
                        b.hops.push(keys);
                        self.advance(h);
                    }
                    Err(_) => self.fail_setup(h, RouteFailure::HopFailed(at)),
                }
            }
            Some(ControlMessage::ExtendFailed(why)) => {
                let next = index + 1;
                let failure = match why {
                    ExtendFailure::NoLink => RouteFailure::NoLink(next),
                    ExtendFailure::NoAnswer | ExtendFailure::BadAnswer => {
                        RouteFailure::HopFailed(next)
                    }
                    ExtendFailure::Refused => RouteFailure::Refused(index),
                };
                self.fail_setup(h, failure);
            }
            _ => self.stats.violations += 1,
        }
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

    /// Sends a control message from this hop to the origin.
    pub(super) fn reply_to_origin(&mut self, h: u64, msg: ControlMessage) {
        use rand::Rng as _;
        // Backward layers of several hops use each relay's key with the
        // sender's nonce: a random nonce keeps them from repeating.
        let nonce = self.rng.next_u64();
        let suite = self.suite;
        let Some(r) = self.routes.get(&h) else { return };
        let (Some(hop), Some(up)) = (r.role.hop(), r.up) else {
            return;
        };
        let payload = crypto::wrap_backward(suite, &hop.keys, nonce, &msg.encode());
        self.queue_ctrl(
            up.peer,
            RouteFrame::Ctrl(RouteCtrlFrame {
                route: up.tx,
                nonce,
                payload: &payload,
            }),
        );
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
    fn grant_initial_credit(&mut self, h: u64, d: usize) {
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
            self.work.entry(a.peer).or_default().credits.insert((h, d));
        }
    }
}

fn frame_len(f: &RouteDataFrame<'_>) -> usize {
    f.encoded_len()
}

/// The end-to-end state of an endpoint that sends with `out` and receives
/// with `inc`.
fn endpoint(
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
