//! Route control: the origin building its route hop by hop (EXTEND,
//! BEGIN), hops answering (EXTENDED, EXTEND_FAILED), and relays passing
//! control messages on, one onion layer at a time.
//!
//! Every control payload has one size (`wire::CTRL_MSG_LEN` plus a tag),
//! and each hop changes the nonce it passes on by a step only it and the
//! origin know (`crypto::forward_nonce`): a relay learns neither its
//! distance to the destination from a message's length nor its position
//! from its nonce, and two colluding relays cannot match a control message
//! by either.

use rand::Rng as _;

use super::crypto::{self, Peeled};
use super::inbound::endpoint;
use super::reno::RenoSender;
use super::role::OriginPhase;
use super::{BACKWARD, Extending, FORWARD, Role, RoleKind, Routes, Side};
use crate::config::RouteMode;
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteFailure, RouteHandle};
use crate::time::{Duration, Time};
use crate::wire::{ControlMessage, DrainSide, ExtendFailure, RouteCtrlFrame, RouteFrame};

/// Bytes of every control frame's payload: a padded message and its tag.
pub const CTRL_PAYLOAD_LEN: usize = crate::wire::CTRL_MSG_LEN + crate::crypto::TAG_LEN;

impl Routes {
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
        if b.hops.len() == b.path.len()
            && let Some((dest, mesh)) = b.segment
        {
            // The path ends at a border node short of the destination:
            // the border node is asked for the way on (`segment.rs`).
            self.ask_segment(h, dest, mesh);
            return;
        }
        let nonce = b.ctrl_nonce;
        b.ctrl_nonce += 1;
        if b.hops.len() == b.path.len() {
            // Every hop is in place: tell the last one it is the destination.
            let msg = ControlMessage::Begin {
                class: r.class,
                kind: r.kind,
                set: r.set,
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
            self.pay_start(h);
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

    pub(super) fn on_ctrl(&mut self, now: Time, peer: Address, f: &RouteCtrlFrame<'_>) {
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
                                nonce: crypto::forward_nonce(&hop.keys, f.nonce),
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
                    let live = r.role.building().is_none();
                    let hops = match r.role.building() {
                        Some(b) => b.hops.clone(),
                        None => o.hops.clone(),
                    };
                    match crypto::unwrap_backward(suite, &hops, f.nonce, &payload) {
                        // A live route hears only drain notices, which act
                        // once per link: no nonce is kept for them (a flood
                        // of fresh nonces would grow the set).
                        Some((index, msg)) if live => self.on_live_origin_control(h, index, &msg),
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
                    let nonce = crypto::add_backward_layer(suite, &hop.keys, f.nonce, &mut payload);
                    let frame = RouteCtrlFrame {
                        route: up.tx,
                        nonce,
                        payload: &payload,
                    };
                    self.queue_ctrl(up.peer, RouteFrame::Ctrl(frame));
                }
            }
        }
    }

    /// A control message from the origin, for this hop.
    pub(super) fn on_hop_control(&mut self, now: Time, h: u64, msg: &[u8]) {
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
            Some(ControlMessage::Begin { class, kind, set })
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
                r.set = set;
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
            Some(ControlMessage::Segment { dest, mesh }) => self.on_segment(h, dest, mesh),
            _ => self.stats.violations += 1,
        }
    }

    /// A control message from hop `index`, at the origin.
    pub(super) fn on_origin_control(&mut self, h: u64, index: usize, msg: &[u8]) {
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
            Some(ControlMessage::Draining(side)) => {
                // A hop built so far drains a link: the route would come
                // up over it, so its set builds another at once.
                let me = self.identity.address();
                match drained_link(me, &b.path, index, side) {
                    Some(link) => self.heard_draining(h, link),
                    None => self.stats.violations += 1,
                }
            }
            Some(ControlMessage::SegmentHops { hops, done }) => {
                self.on_segment_hops(h, index, hops, done);
            }
            Some(ControlMessage::Price { per_gb, credit }) => {
                self.pay_on_price(h, index, per_gb, credit);
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

    /// A control message from hop `index` of a live route, at the origin:
    /// a drain notice, or a relay's PRICE or INVOICE (payments). A drain
    /// notice becomes [`Event::RouteDraining`] once per link; a PRICE
    /// acts once per hop and an INVOICE only raises what the origin
    /// waits to meet: a repeat or a flood changes nothing.
    fn on_live_origin_control(&mut self, h: u64, index: usize, msg: &[u8]) {
        let me = self.identity.address();
        let r = self.routes.get_mut(&h).expect("route exists");
        let Role::Origin(o) = &mut r.role else {
            return;
        };
        let side = match ControlMessage::decode(msg) {
            Some(ControlMessage::Draining(side)) => side,
            Some(ControlMessage::Price { per_gb, credit }) => {
                return self.pay_on_price(h, index, per_gb, credit);
            }
            Some(ControlMessage::Invoice { bytes, .. }) => {
                return self.pay_on_invoice(h, index, bytes);
            }
            _ => {
                self.stats.violations += 1;
                return;
            }
        };
        let Some(link) = drained_link(me, &o.path, index, side) else {
            self.stats.violations += 1;
            return;
        };
        self.heard_draining(h, link);
    }

    /// The origin of route `h` learnt that `link` of its path drains: said
    /// once per link (a repeat, or a flood, changes nothing).
    fn heard_draining(&mut self, h: u64, link: (Address, Address)) {
        let Some(Role::Origin(o)) = self.routes.get_mut(&h).map(|r| &mut r.role) else {
            return;
        };
        if o.draining.contains(&link) {
            return;
        }
        o.draining.push(link);
        self.stats.drains_heard += 1;
        self.events.push_back(Event::RouteDraining {
            route: RouteHandle(h),
            link,
        });
    }

    /// Tells the origins of the routes through `peer` that the link to it
    /// is being drained (issue 14): a relay or destination sends DRAINING
    /// back along the route; at the origin (its first hop is `peer`) the
    /// event is local. Returns how many routes were told. The origin of a
    /// route set builds around the link and moves its traffic before the
    /// link goes (make before break).
    pub fn tell_draining(&mut self, peer: Address) -> usize {
        let me = self.identity.address();
        let mut told = 0;
        for h in self.routes_through(peer) {
            let Some(r) = self.routes.get_mut(&h) else {
                continue;
            };
            let toward_origin = r.up.is_some_and(|u| u.peer == peer);
            let toward_dest = r.down.is_some_and(|d| d.peer == peer);
            match &mut r.role {
                Role::Origin(o) => {
                    let first = match &o.phase {
                        OriginPhase::Building(b) => b.path.first(),
                        OriginPhase::Up(_) => o.path.first(),
                    };
                    if let (true, Some(&first)) = (toward_dest, first) {
                        self.heard_draining(h, (me, first));
                    }
                }
                _ => {
                    for (on, side) in [
                        (toward_origin, DrainSide::TowardOrigin),
                        (toward_dest, DrainSide::TowardDestination),
                    ] {
                        if on {
                            self.reply_to_origin(h, ControlMessage::Draining(side));
                        }
                    }
                }
            }
            told += 1;
        }
        self.stats.drains_told += told as u64;
        self.draining_peers.insert(peer);
        told
    }

    /// Sends a control message from this hop to the origin.
    pub(super) fn reply_to_origin(&mut self, h: u64, msg: ControlMessage) {
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
}

/// The link of `path` (the hops after `me`) that hop `index` drains on
/// `side`; `None` if there is none (a forged or corrupt notice: the
/// destination has no link beyond it, a hop past the path).
fn drained_link(
    me: Address,
    path: &[Address],
    index: usize,
    side: DrainSide,
) -> Option<(Address, Address)> {
    let at = *path.get(index)?;
    match side {
        DrainSide::TowardOrigin => Some((index.checked_sub(1).map_or(me, |i| path[i]), at)),
        DrainSide::TowardDestination => Some((at, *path.get(index + 1)?)),
    }
}
