//! Where the link's boundary meets the layers above it.
//!
//! The link knows only the [`Upper`] trait. [`Above`] implements it for the
//! node: it routes upper frames to their owner by type range, hands tokens
//! of acknowledged and lost frames back to the layer that wrote them, gives
//! a neighbour's traffic only to the link that carries it (the neighbour
//! table's choice), and turns [`LinkEvent`]s into what they mean for the
//! neighbour table and the routes, then into the application's events.
//!
//! **One event queue, in the order things happened.** The route layer
//! collects its events in its own outbox while it works; every event queued
//! into the node's queue, and every event taken out of it, is preceded by
//! moving that outbox in (`push_event`, `flush`), so a `RouteClosed` caused
//! by a link failure always comes out before the link's `LinkClosed` (or
//! `LinkDead`), and nothing needs moving per frame.

use std::collections::VecDeque;

use crate::config::Config;
use crate::crypto::CryptoSuite;
use crate::discovery::flood::Discovery;
use crate::identity::Address;
use crate::interface::{CONTROL_CHANNEL, Event, LinkId};
use crate::link::{LinkEvent, Upper, Written};
use crate::neighbours::{Change, Neighbours};
use crate::route::{RouteSent, Routes};
use crate::time::Time;
use crate::tunnels::Tunnels;
use crate::wire::{Class, Owner, UpperFrame};

/// A frame in flight on a link, named for the layer that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpperToken {
    /// A route frame.
    Route(RouteSent),
}

/// The layers above the link, as one link sees them while it works.
pub(crate) struct Above<'a> {
    pub routes: &'a mut Routes,
    pub neighbours: &'a mut Neighbours,
    pub events: &'a mut VecDeque<Event>,
    /// Upper frames of owners this node does not run (the version rule).
    pub unknown_frames: &'a mut u64,
    pub config: &'a Config,
    pub tunnels: &'a mut Tunnels,
    /// Links to close at the next poll (refused by the tunnel policy).
    pub refuse: &'a mut Vec<LinkId>,
    pub discovery: &'a mut Discovery,
    pub suite: &'static dyn CryptoSuite,
}

/// Moves the route layer's events into the node's queue, then queues `ev`.
pub(crate) fn push_event(events: &mut VecDeque<Event>, routes: &mut Routes, ev: Event) {
    flush(events, routes);
    events.push_back(ev);
}

/// Moves the route layer's events into the node's queue.
pub(crate) fn flush(events: &mut VecDeque<Event>, routes: &mut Routes) {
    while let Some(e) = routes.pop_event() {
        events.push_back(e);
    }
}

impl Above<'_> {
    fn push(&mut self, ev: Event) {
        push_event(self.events, self.routes, ev);
    }

    /// `link` lost its session: the neighbour keeps its other links, or is
    /// gone (and its routes break).
    fn link_gone(&mut self, now: Time, link: LinkId) {
        if let Change::Unreachable(peer) = self.neighbours.link_gone(link) {
            self.routes.on_neighbour_lost(peer);
            self.discovery.on_neighbour_gone(now, peer);
        }
    }
}

impl Upper for Above<'_> {
    type Token = UpperToken;

    fn wants(&self, link: LinkId) -> bool {
        // Asked at every poll of every link: a node with no work for any
        // neighbour (an idle tunnel mesh) answers without a lookup.
        if !self.routes.any_work() && !self.discovery.pulses.any_due() {
            return false;
        }
        self.neighbours
            .carried_by(link)
            .is_some_and(|peer| self.routes.wants(peer) || self.discovery.pulses.wants(&peer))
    }

    fn write_frame(
        &mut self,
        now: Time,
        link: LinkId,
        class: Class,
        space: usize,
        buf: &mut Vec<u8>,
    ) -> Option<Written<UpperToken>> {
        // Only the link that carries a neighbour's traffic sends it: the
        // others (draining, or standing by) take no new work.
        let peer = self.neighbours.carried_by(link)?;
        // A pulse goes first, in the next packet: its stamp is its send
        // time, so it must not wait behind bulk data.
        if class == Class::Realtime
            && space
                >= crate::wire::upper::overhead(crate::wire::PULSE_LEN) + crate::wire::PULSE_LEN
            && let Some(p) = self.discovery.pulses.take_pulse(now, &peer)
        {
            crate::wire::upper::begin(buf, crate::wire::FRAME_PULSE, crate::wire::PULSE_LEN);
            buf.extend_from_slice(&p.encode());
            return Some(Written::Unreliable);
        }
        Some(
            match self.routes.write_frame(now, peer, class, space, buf)? {
                Written::Reliable(t) => Written::Reliable(UpperToken::Route(t)),
                Written::Unreliable => Written::Unreliable,
            },
        )
    }

    fn on_frame(&mut self, now: Time, link: LinkId, frame: UpperFrame<'_>) {
        // Cannot fail for frames of an established session: the link
        // reported the session before handing up any of its frames.
        let Some(peer) = self.neighbours.peer_of(link) else {
            return;
        };
        match frame.owner() {
            Owner::Route => self.routes.on_upper_frame(now, peer, frame),
            Owner::Discovery
                if frame.ty == crate::wire::FRAME_PULSE && self.discovery.pulses_on() =>
            {
                match crate::wire::Pulse::decode(frame.body) {
                    Ok(p) => self.discovery.pulses.on_pulse(now, peer, p),
                    Err(_) => self.discovery.pulses.stats.refused += 1,
                }
            }
            // Not run by this version: skipped and counted (the version
            // rule of `wire::upper`).
            Owner::Discovery | Owner::Churn | Owner::Pay | Owner::Reserved(_) => {
                *self.unknown_frames += 1
            }
        }
    }

    fn realtime_data(&self, token: &UpperToken) -> bool {
        match token {
            UpperToken::Route(r) => self.routes.is_realtime_data(r),
        }
    }

    fn on_acked(&mut self, _link: LinkId, token: UpperToken) {
        match token {
            UpperToken::Route(r) => self.routes.on_acked(&r),
        }
    }

    fn on_lost(&mut self, link: LinkId, token: UpperToken) {
        // A frame lost on one link goes out again on whichever link carries
        // its neighbour now: that is how a route's data in flight moves.
        let Some(peer) = self.neighbours.peer_of(link) else {
            return;
        };
        match token {
            UpperToken::Route(r) => self.routes.on_lost(peer, r),
        }
    }

    fn on_event(&mut self, now: Time, event: LinkEvent) {
        match event {
            LinkEvent::Established {
                link,
                peer,
                replaced,
                resent_messages,
                rate_bps,
            } => {
                let address = Address::of(&peer);
                // A replaced session: the link was in the table with its old
                // session.
                self.link_gone(now, link);
                if !self.tunnels.accepts(self.config, link, &peer) {
                    // An incoming tunnel from a key the policy refuses: it
                    // never becomes a neighbour's link, and closes.
                    self.tunnels.note_refused_peer(link);
                    self.refuse.push(link);
                    self.push(Event::TunnelRefused { link });
                    return;
                }
                if replaced {
                    // The peer restarted (its state is gone), or it found the
                    // link dead while we did not and dropped what used it.
                    // Either way what we hold through it is stale: the routes
                    // break, and the peer is told (a restarted peer counts the
                    // teardowns as unknown routes).
                    self.routes.on_neighbour_reset(address);
                }
                if let Change::Reachable(_) = self.neighbours.link_up(link, address, rate_bps) {
                    self.discovery.on_neighbour_up(now, address);
                }
                self.routes.on_neighbour_up(address);
                self.push(Event::LinkEstablished {
                    link,
                    peer,
                    address,
                    resent_messages,
                });
            }
            LinkEvent::Dead { link } => {
                self.link_gone(now, link);
                self.push(Event::LinkDead { link });
            }
            LinkEvent::Closed {
                link,
                reason,
                unsent_messages,
            } => {
                self.link_gone(now, link);
                self.tunnels.on_link_closed(link);
                self.push(Event::LinkClosed {
                    link,
                    reason,
                    unsent_messages,
                });
            }
            LinkEvent::PeerRejected { link, offered } => {
                self.push(Event::PeerRejected { link, offered })
            }
            LinkEvent::Message {
                link,
                channel: CONTROL_CHANNEL,
                data,
            } => {
                // The node's own control traffic: to the layer that owns
                // the type byte (the owner ranges of `wire::upper`).
                let Some(peer) = self.neighbours.peer_of(link) else {
                    return;
                };
                if !self.discovery.on_message(now, peer, &data, self.suite) {
                    *self.unknown_frames += 1;
                }
            }
            LinkEvent::Message {
                link,
                channel,
                data,
            } => self.push(Event::Message {
                link,
                channel,
                data,
            }),
        }
    }
}
