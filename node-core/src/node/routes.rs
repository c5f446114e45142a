//! The node's route API: the route layer's application side, with the
//! links that carry each route filled in from the neighbour table.

use super::Node;
use crate::identity::{Address, Identity};
use crate::interface::{CommandError, LinkId, RouteHandle};
use crate::route::{RouteInfo, RouteKind, RouteStats};
use crate::wire::Class;

impl Node {
    /// Opens a route along `path`: the addresses of the hops after this
    /// node, the first a neighbour, the last the destination. The route is
    /// usable once [`Event::RouteUp`] arrives.
    pub fn open_route(
        &mut self,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<RouteHandle, CommandError> {
        self.routes.open(self.now, path, class, kind)
    }

    /// Sends a message on a route (at its origin or its destination). It
    /// arrives exactly once and in order as [`Event::RouteMessage`]; a full
    /// route buffer refuses it with [`CommandError::RouteFull`]
    /// (backpressure: try again after [`Event::RouteDelivered`] or later).
    pub fn route_send(&mut self, route: RouteHandle, data: Vec<u8>) -> Result<(), CommandError> {
        self.routes.send(route, data)
    }

    /// Stream bytes the route's sending end still holds (not yet passed on).
    pub fn route_backlog(&self, route: RouteHandle) -> Option<usize> {
        self.routes.backlog(route)
    }

    /// Whether a message of `len` bytes fits in the route's buffer now.
    pub fn route_has_room(&self, route: RouteHandle, len: usize) -> bool {
        self.routes.has_room(route, len)
    }

    /// Closes a route (its hops and the other end are told).
    pub fn close_route(&mut self, route: RouteHandle) -> Result<(), CommandError> {
        self.routes.close(route)
    }

    /// A route's state at this node (any role), for metrics. Its
    /// `upstream` and `downstream` are the links that carry it now.
    pub fn route(&self, route: RouteHandle) -> Option<RouteInfo> {
        let mut info = self.routes.info(route)?;
        info.upstream = info.upstream_peer.and_then(|p| self.neighbours.carrier(&p));
        info.downstream = info
            .downstream_peer
            .and_then(|p| self.neighbours.carrier(&p));
        Some(info)
    }

    /// The route entry whose frames arrive from upstream on `link` with
    /// route id `id` (the upstream hop's `downstream_id`): how an observer
    /// of every node follows a route hop by hop. Route ids are per
    /// neighbour, so any established link to that neighbour finds it.
    pub fn route_from_upstream(&self, link: LinkId, id: crate::RouteId) -> Option<RouteHandle> {
        self.routes.by_upstream(self.neighbours.peer_of(link)?, id)
    }

    /// Every route entry this node holds, as origin, relay or destination.
    pub fn routes(&self) -> impl Iterator<Item = RouteHandle> + '_ {
        self.routes.handles()
    }

    /// Counters of the route layer.
    pub fn route_stats(&self) -> RouteStats {
        self.routes.stats()
    }

    /// The application's answer to [`crate::Event::PayCheck`]: whether the
    /// escrow says `pseudonym` can pay. If not, this relay closes the
    /// routes it is paid for under it.
    pub fn pay_verdict(&mut self, pseudonym: &crate::PublicKey, can_pay: bool) {
        self.routes.pay_verdict(pseudonym, can_pay);
    }

    /// Payment counters (issue 15).
    pub fn pay_stats(&self) -> crate::route::PayStats {
        self.routes.pay_stats()
    }

    /// The receipts this node kept since the last call, the best of each
    /// pseudonym: a relay's to redeem at the escrow, and an origin's for
    /// the infrastructure's share (NOIA pricing), to hand to the escrow.
    pub fn take_receipts(&mut self) -> Vec<crate::wire::receipt::Receipt> {
        self.routes.take_receipts()
    }

    /// The pseudonyms this origin opened since the last call: each needs an
    /// account at the escrow, funded, before its relays redeem.
    pub fn take_pay_accounts(&mut self) -> Vec<crate::PublicKey> {
        self.routes.take_pay_accounts()
    }

    /// As [`Node::take_pay_accounts`], with each pseudonym's keys: a
    /// driver stores them (mode 0600, like the node's key) to refund what
    /// an account has left, even after a restart.
    pub fn take_pay_pseudonyms(&mut self) -> Vec<Identity> {
        self.routes.take_pay_pseudonyms()
    }

    /// At a paying relay of `route`: bytes its gate charged, droplets
    /// charged, and droplets its best receipt covers.
    pub fn route_gate(&self, route: RouteHandle) -> Option<(u64, u64, u64)> {
        self.routes.gate_of(route.0)
    }
}
