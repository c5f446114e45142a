//! The route layer's application side: opening routes, sending on them,
//! closing them, and what status displays and metrics read.

use super::{
    Adj, BACKWARD, Building, FORWARD, Role, RoleKind, RouteInfo, RouteKind, Routes, Side, crypto,
    endpoint,
};
use crate::config::RouteMode;
use crate::identity::Address;
use crate::interface::{CommandError, RouteCloseReason, RouteFailure, RouteHandle};
use crate::time::Time;
use crate::wire::{Class, RouteId};

impl Routes {
    /// Opens a route along `path` (the hops after this node).
    pub fn open(
        &mut self,
        now: Time,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<RouteHandle, CommandError> {
        self.open_in_set(now, path, class, kind, None)
    }

    /// Opens a route of the route set `set` (its destination is told in
    /// BEGIN).
    pub fn open_in_set(
        &mut self,
        now: Time,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
        set: Option<[u8; 16]>,
    ) -> Result<RouteHandle, CommandError> {
        if path.is_empty() {
            return Err(CommandError::InvalidPath("a route needs at least one hop"));
        }
        if path.contains(&self.identity.address()) {
            return Err(CommandError::InvalidPath(
                "a route cannot pass through its origin",
            ));
        }
        let first = path[0];
        // A random start (below 2^60: with every hop's step it never
        // wraps), so that a hop cannot count its position from it.
        let ctrl_nonce = rand::Rng::next_u64(&mut self.rng) >> 4;
        let role = Role::origin(Building {
            path,
            hops: Vec::new(),
            pending: None,
            deadline: now + self.setup_timeout,
            ctrl_nonce,
            segment: None,
            segment_pending: false,
            segments: 0,
        });
        // The origin's buffers are its application's choice: not charged.
        let h = self.new_route(now, role, class, kind, [self.buffer; 2]);
        self.routes.get_mut(&h).expect("just made").set = set;
        self.stats.opened += 1;
        // A first hop whose link is still handshaking is waited for until
        // the setup deadline (see `on_neighbour_up`).
        if self.neighbours.contains_key(&first) {
            self.create_first_hop(h, first);
        }
        Ok(RouteHandle(h))
    }

    /// Opens a route along `path` that goes on to `segment`'s node, of
    /// another mesh, past the border node that ends `path`: that node
    /// computes the way on (n-order meshes; see [`super::segment`]).
    pub fn open_toward(
        &mut self,
        now: Time,
        path: Vec<Address>,
        segment: Option<(Address, u16)>,
        class: Class,
        kind: RouteKind,
    ) -> Result<RouteHandle, CommandError> {
        let h = self.open_in_set(now, path, class, kind, None)?;
        if let Some(b) = self
            .routes
            .get_mut(&h.0)
            .and_then(|r| r.role.building_mut())
        {
            b.segment = segment;
        }
        Ok(h)
    }

    /// The hops of an origin's route (those built so far, and those it
    /// will build); `None` for a route it does not originate.
    pub fn origin_path(&self, route: RouteHandle) -> Option<&[Address]> {
        match &self.routes.get(&route.0)?.role {
            super::Role::Origin(o) => Some(match &o.phase {
                super::role::OriginPhase::Building(b) => &b.path,
                _ => &o.path,
            }),
            _ => None,
        }
    }

    pub(super) fn create_first_hop(&mut self, h: u64, peer: Address) {
        let reply = self.fresh_id(peer);
        let init = crypto::initiate_hop(self.suite, &mut self.rng);
        let frame = crate::wire::RouteCreateFrame {
            reply_route: reply,
            eph_pub: init.eph_pub,
        };
        self.inbound.insert((peer, reply), (h, Side::Down));
        self.index_peer(h, peer);
        let r = self.routes.get_mut(&h).expect("route exists");
        r.role.building_mut().expect("building").pending = Some(init);
        // The first hop's ids: it will tell us its `tx` in CREATED.
        r.down = Some(Adj {
            peer,
            rx: reply,
            tx: RouteId([0; 16]),
        });
        self.queue_ctrl(peer, crate::wire::RouteFrame::Create(frame));
    }

    pub(super) fn fail_setup(&mut self, h: u64, why: RouteFailure) {
        self.teardown(h, RouteCloseReason::SetupFailed(why), None);
    }

    /// Sends a message on a route (either end).
    pub fn send(&mut self, route: RouteHandle, data: Vec<u8>) -> Result<(), CommandError> {
        let suite = self.suite;
        let h = route.0;
        self.touch(h);
        let mode = self.mode;
        let r = self
            .routes
            .get_mut(&h)
            .ok_or(CommandError::UnknownRoute(route))?;
        let d = match r.role.kind() {
            RoleKind::Origin if r.role.building().is_none() => FORWARD,
            RoleKind::Destination => BACKWARD,
            // Still being built, or this node only relays it.
            _ => return Err(CommandError::RouteNotReady(route)),
        };
        if data.len() > self.max_message {
            return Err(CommandError::MessageTooLarge {
                size: data.len(),
                limit: self.max_message,
            });
        }
        let ep = r.role.endpoint_mut().expect("up routes have endpoints");
        if mode == RouteMode::EndToEnd && r.kind == RouteKind::Datagram {
            let seq = ep.datagram_seq;
            ep.datagram_seq += 1;
            let sealed = crypto::seal_datagram(suite, &ep.datagram_key, seq, &data);
            let adj = if d == FORWARD { r.down } else { r.up }.expect("endpoints have a neighbour");
            let frame = crate::wire::RouteFrame::Data(crate::wire::RouteDataFrame {
                route: adj.tx,
                unreliable: true,
                fin: false,
                offset: seq,
                data: &sealed,
            });
            let mut bytes = Vec::with_capacity(frame.encoded_len());
            frame.emit(&mut bytes);
            if !self.enqueue_unreliable(adj.peer, bytes)
                && let Some(r) = self.routes.get_mut(&h)
            {
                r.queue_drops += 1;
            }
            return Ok(());
        }
        if endpoint::stream_len(data.len()) > self.buffer {
            // It could never fit, however long the application waits.
            return Err(CommandError::MessageTooLarge {
                size: data.len(),
                limit: self.buffer - endpoint::stream_len(0),
            });
        }
        if endpoint::stream_len(data.len()) > r.dirs[d].buf.room() {
            return Err(CommandError::RouteFull(route));
        }
        let records = ep.tx.seal_message(suite, &data);
        r.dirs[d].buf.append(&records);
        let (class, peer) = (
            r.class,
            if d == FORWARD { r.down } else { r.up }
                .expect("neighbour")
                .peer,
        );
        self.activate(peer, class, h, d);
        Ok(())
    }

    /// Stream bytes a route's sending end holds (not yet passed on).
    pub fn backlog(&self, route: RouteHandle) -> Option<usize> {
        let r = self.routes.get(&route.0)?;
        let d = if r.role.kind() == RoleKind::Destination {
            BACKWARD
        } else {
            FORWARD
        };
        Some(r.dirs[d].buf.held() as usize)
    }

    /// The buffer of a route's end, per direction (`Config::route_buffer`).
    pub fn buffer_size(&self) -> usize {
        self.buffer
    }

    /// The route set a route at this end belongs to.
    pub fn set_of(&self, route: RouteHandle) -> Option<[u8; 16]> {
        self.routes.get(&route.0)?.set
    }

    /// Room for one more message of `len` bytes on the route now.
    pub fn has_room(&self, route: RouteHandle, len: usize) -> bool {
        self.routes.get(&route.0).is_some_and(|r| {
            let d = if r.role.kind() == RoleKind::Destination {
                BACKWARD
            } else {
                FORWARD
            };
            endpoint::stream_len(len) <= r.dirs[d].buf.room()
        })
    }

    /// The entry whose frames arrive from upstream neighbour `peer`
    /// carrying `id`.
    pub fn by_upstream(&self, peer: Address, id: RouteId) -> Option<RouteHandle> {
        match self.inbound.get(&(peer, id)) {
            Some(&(h, Side::Up)) => Some(RouteHandle(h)),
            _ => None,
        }
    }

    /// A snapshot of a route at this node.
    pub fn info(&self, route: RouteHandle) -> Option<RouteInfo> {
        let r = self.routes.get(&route.0)?;
        Some(RouteInfo {
            role: match r.role.kind() {
                RoleKind::Origin => "origin",
                RoleKind::Hop | RoleKind::Relay => "relay",
                RoleKind::Destination => "destination",
            },
            held: [r.dirs[0].buf.held(), r.dirs[1].buf.held()],
            reassembly: r.role.endpoint().map_or(0, |e| e.rx.pending_len() as u64),
            capacity: [
                r.dirs[0].buf.capacity() as u64,
                r.dirs[1].buf.capacity() as u64,
            ],
            sent: [r.dirs[0].fwd.stats, r.dirs[1].fwd.stats],
            queue_drops: r.queue_drops,
            upstream: None,
            downstream: None,
            upstream_peer: r.up.map(|a| a.peer),
            downstream_peer: r.down.map(|a| a.peer),
            upstream_id: r.up.map(|a| a.rx),
            downstream_id: r.down.map(|a| a.tx),
            reno: r
                .role
                .endpoint()
                .and_then(|e| e.reno.as_ref())
                .map(|s| s.stats()),
        })
    }

    /// Every route entry at this node (handles), in order.
    pub fn handles(&self) -> impl Iterator<Item = RouteHandle> + '_ {
        self.routes.keys().map(|&h| RouteHandle(h))
    }

    /// Closes a route from this end.
    pub fn close(&mut self, route: RouteHandle) -> Result<(), CommandError> {
        if !self.routes.contains_key(&route.0) {
            return Err(CommandError::UnknownRoute(route));
        }
        // What the relays are still owed goes out first: the receipts
        // are queued before the TEARDOWN, on the same control queue.
        self.pay_send_due(route.0, true);
        self.teardown(route.0, RouteCloseReason::Local, None);
        Ok(())
    }
}
