//! What the engine drives: anything with node-core's sans-IO contract.
//!
//! The simulator runs real `node_core::Node`s; the engine benchmark runs
//! [`EchoNode`]s through the very same code paths, to measure the engine
//! alone.

use node_core::discovery::db::TopologyDb;
use node_core::discovery::flood::DiscoveryStats;
use node_core::{
    Address, Class, CommandError, ConnectionHandle, Destination, Input, LinkId, Locator, NoPath,
    Node, NodeStats, Output, PublicKey, RouteHandle, RouteId, RouteInfo, RouteKind, SetInfo,
    SetSpec, Time, TunnelRequest,
};

/// A sans-IO node the engine can drive.
pub trait Protocol {
    /// Takes one input (see node-core's calling contract).
    fn handle_input(&mut self, now: Time, input: Input);
    /// The next output; the engine polls until `Output::Timeout`.
    fn poll_output(&mut self, now: Time) -> Output;
    /// Queues a service message to the peer of `link`.
    fn send(
        &mut self,
        link: LinkId,
        channel: u16,
        class: Class,
        data: Vec<u8>,
    ) -> Result<(), CommandError>;
    /// Bytes queued on `link` and not yet acknowledged.
    fn send_backlog(&self, link: LinkId) -> usize;
    /// The node's counters, if it keeps node-core's.
    fn stats(&self) -> Option<NodeStats> {
        None
    }
    /// Opens a connection along `path` (the hops after this node). Nodes
    /// without a route layer (benchmark echoes, test probes) refuse.
    fn connect(
        &mut self,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        let _ = (path, class, kind);
        Err(CommandError::InvalidPath("this node has no route layer"))
    }
    /// Opens a connection to `destination` along a path from the node's
    /// own topology database. Nodes without discovery refuse.
    fn connect_to(
        &mut self,
        destination: Destination,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        let _ = (class, kind);
        Err(CommandError::NoPath {
            destination,
            reason: NoPath::NoDiscovery,
        })
    }
    /// The hops of a connection's latest route, after this node.
    /// Opens a connection to `node` of mesh `mesh` (n-order meshes: past
    /// a border node when the node's own meshes do not hold it). Nodes
    /// without discovery refuse.
    fn connect_in_mesh(
        &mut self,
        node: Address,
        mesh: u16,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        let _ = (mesh, class, kind);
        Err(CommandError::NoPath {
            destination: Destination::Node(node),
            reason: node_core::NoPath::NoDiscovery,
        })
    }
    fn connection_path(&self, connection: ConnectionHandle) -> Option<Vec<Address>> {
        let _ = connection;
        None
    }
    /// Opens a route set to `destination` along paths from the node's own
    /// database. Nodes without discovery refuse.
    fn connect_set(
        &mut self,
        destination: Destination,
        spec: SetSpec,
        class: Class,
    ) -> Result<ConnectionHandle, CommandError> {
        let _ = (spec, class);
        Err(CommandError::NoPath {
            destination,
            reason: NoPath::NoDiscovery,
        })
    }
    /// A route set's routes and counters.
    fn route_set(&self, connection: ConnectionHandle) -> Option<SetInfo> {
        let _ = connection;
        None
    }
    /// Whether `link` carries an established session.
    fn link_established(&self, link: LinkId) -> bool {
        let _ = link;
        false
    }
    /// The node's topology database, if it keeps one.
    fn topology(&self) -> Option<&TopologyDb> {
        None
    }
    /// The node's routing table size, if it routes by adverts: (nodes it
    /// holds an entry for other than itself, summarized meshes).
    fn routing_table(&self) -> Option<(usize, usize)> {
        None
    }
    /// The discovery layer's counters, if it runs one.
    fn discovery_stats(&self) -> Option<DiscoveryStats> {
        None
    }
    /// The tunnel manager's counters, if it runs one.
    fn churn_stats(&self) -> Option<node_core::churn::ChurnStats> {
        None
    }
    /// Payment counters (issue 15), if it runs payments.
    fn pay_stats(&self) -> Option<node_core::PayStats> {
        None
    }
    /// The receipts it kept since the last call, for the escrow.
    fn take_receipts(&mut self) -> Vec<node_core::wire::receipt::Receipt> {
        Vec::new()
    }
    /// The pseudonyms it opened since the last call, for the escrow.
    fn take_pay_accounts(&mut self) -> Vec<PublicKey> {
        Vec::new()
    }
    /// The escrow's answer to its `Event::PayCheck`.
    fn pay_verdict(&mut self, _pseudonym: &PublicKey, _can_pay: bool) {}
    /// Sends a message on a connection's route.
    fn connection_send(
        &mut self,
        connection: ConnectionHandle,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        let _ = data;
        Err(CommandError::UnknownConnection(connection))
    }
    /// Whether a message of `len` bytes fits on the connection now.
    fn connection_has_room(&self, connection: ConnectionHandle, len: usize) -> bool {
        let _ = (connection, len);
        false
    }
    /// Sends a message on a route (the destination answers on the route a
    /// request came in on).
    fn route_send(&mut self, route: RouteHandle, data: Vec<u8>) -> Result<(), CommandError> {
        let _ = data;
        Err(CommandError::UnknownRoute(route))
    }
    /// Asks for a tunnel to `peer` at `locator`. Nodes without tunnels
    /// refuse.
    fn open_tunnel(
        &mut self,
        peer: PublicKey,
        locator: Locator,
    ) -> Result<TunnelRequest, CommandError> {
        let _ = (peer, locator);
        Err(CommandError::TooManyTunnels(0))
    }
    /// What this node's route entries hold and did, summed.
    fn route_totals(&self) -> RouteTotals {
        RouteTotals::default()
    }
    /// The entry of a route this node holds, by its handle.
    fn route_info(&self, route: RouteHandle) -> Option<RouteInfo> {
        let _ = route;
        None
    }
    /// The entry whose frames arrive from upstream on `link` with route id
    /// `id`: how the engine follows a route from hop to hop.
    fn route_from_upstream(&self, link: LinkId, id: RouteId) -> Option<RouteInfo> {
        let _ = (link, id);
        None
    }
}

/// A node's route entries, summed: for the per-hop metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteTotals {
    /// Route entries (as origin, relay or destination).
    pub entries: u64,
    /// Bytes held in store-and-forward buffers, both directions.
    pub held: u64,
    /// Bytes sent to next hops the first time.
    pub bytes_sent: u64,
    /// Bytes sent again after a link loss (hop-by-hop retransmission).
    pub bytes_retransmitted: u64,
    /// Time spent waiting for credit, summed over directions, ns.
    pub credit_stall_ns: u64,
    /// Times a direction ran into its credit limit.
    pub credit_stalls: u64,
    /// End-to-end mode: frames this node's relay queues dropped.
    pub queue_drops: u64,
    /// End-to-end mode: the sources' retransmitted segments.
    pub e2e_retransmissions: u64,
    /// End-to-end mode: the sources' retransmission timeouts.
    pub e2e_timeouts: u64,
    /// Requests refused by the bounds a neighbour cannot push past
    /// (entries, credit, CREATE rate, path length), node lifetime.
    pub refused: u64,
    /// Route frames that broke the protocol, node lifetime.
    pub violations: u64,
    /// n-order meshes, node lifetime: segments asked (as an origin),
    /// answered (as a border node), refused (either).
    pub segments: [u64; 3],
}

impl Protocol for Node {
    fn handle_input(&mut self, now: Time, input: Input) {
        Node::handle_input(self, now, input)
    }
    fn poll_output(&mut self, now: Time) -> Output {
        Node::poll_output(self, now)
    }
    fn send(
        &mut self,
        link: LinkId,
        channel: u16,
        class: Class,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        Node::send(self, link, channel, class, data)
    }
    fn send_backlog(&self, link: LinkId) -> usize {
        Node::send_backlog(self, link).unwrap_or(0)
    }
    fn stats(&self) -> Option<NodeStats> {
        Some(Node::stats(self))
    }
    fn connect(
        &mut self,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        Node::connect(self, path, class, kind)
    }
    fn connection_send(
        &mut self,
        connection: ConnectionHandle,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        Node::connection_send(self, connection, data)
    }
    fn connect_to(
        &mut self,
        destination: Destination,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        Node::connect_to(self, destination, class, kind)
    }
    fn connect_in_mesh(
        &mut self,
        node: Address,
        mesh: u16,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        Node::connect_in_mesh(self, node, mesh, class, kind)
    }
    fn connection_path(&self, connection: ConnectionHandle) -> Option<Vec<Address>> {
        Node::connection(self, connection).map(|c| c.path)
    }
    fn connect_set(
        &mut self,
        destination: Destination,
        spec: SetSpec,
        class: Class,
    ) -> Result<ConnectionHandle, CommandError> {
        Node::connect_set(self, Some(destination), Vec::new(), spec, class)
    }
    fn route_set(&self, connection: ConnectionHandle) -> Option<SetInfo> {
        Node::route_set(self, connection)
    }
    fn link_established(&self, link: LinkId) -> bool {
        Node::link(self, link).is_some_and(|l| l.established)
    }
    fn topology(&self) -> Option<&TopologyDb> {
        Some(Node::topology(self))
    }
    fn routing_table(&self) -> Option<(usize, usize)> {
        let t = Node::routing_table(self);
        Some((t.nodes, t.meshes))
    }
    fn discovery_stats(&self) -> Option<DiscoveryStats> {
        Some(Node::discovery_stats(self))
    }
    fn churn_stats(&self) -> Option<node_core::churn::ChurnStats> {
        Node::churn_stats(self)
    }
    fn pay_stats(&self) -> Option<node_core::PayStats> {
        Some(Node::pay_stats(self))
    }
    fn take_receipts(&mut self) -> Vec<node_core::wire::receipt::Receipt> {
        Node::take_receipts(self)
    }
    fn take_pay_accounts(&mut self) -> Vec<PublicKey> {
        Node::take_pay_accounts(self)
    }
    fn pay_verdict(&mut self, pseudonym: &PublicKey, can_pay: bool) {
        Node::pay_verdict(self, pseudonym, can_pay)
    }
    fn connection_has_room(&self, connection: ConnectionHandle, len: usize) -> bool {
        Node::connection_has_room(self, connection, len)
    }
    fn route_send(&mut self, route: RouteHandle, data: Vec<u8>) -> Result<(), CommandError> {
        Node::route_send(self, route, data)
    }
    fn open_tunnel(
        &mut self,
        peer: PublicKey,
        locator: Locator,
    ) -> Result<TunnelRequest, CommandError> {
        Node::open_tunnel(self, peer, locator)
    }
    fn route_info(&self, route: RouteHandle) -> Option<RouteInfo> {
        Node::route(self, route)
    }
    fn route_from_upstream(&self, link: LinkId, id: RouteId) -> Option<RouteInfo> {
        Node::route(self, Node::route_from_upstream(self, link, id)?)
    }
    fn route_totals(&self) -> RouteTotals {
        let stats = self.route_stats();
        let mut t = RouteTotals {
            queue_drops: stats.queue_drops,
            refused: stats.refused.total(),
            violations: stats.violations,
            segments: [
                stats.segments_asked,
                stats.segments_answered,
                stats.segments_refused,
            ],
            ..RouteTotals::default()
        };
        for h in self.routes() {
            let Some(info) = self.route(h) else { continue };
            t.entries += 1;
            t.held += info.held.iter().sum::<u64>();
            for s in info.sent {
                t.bytes_sent += s.bytes_sent;
                t.bytes_retransmitted += s.bytes_retransmitted;
                t.credit_stall_ns += s.credit_stall.as_nanos();
                t.credit_stalls += s.credit_stalls;
            }
            if let Some(r) = info.reno {
                t.e2e_retransmissions += r.retransmissions;
                t.e2e_timeouts += r.timeouts;
            }
        }
        t
    }
}

/// Makes the nodes of a run: at the start, and again after a crash.
pub trait Population {
    /// The node type.
    type Node: Protocol;
    /// Node `index` in its `incarnation` (0 at the start, +1 per restart).
    fn make(&mut self, index: usize, incarnation: u32) -> Self::Node;
    /// The static key node `index` proves on its links (what the peers expect).
    fn public_key(&self, index: usize) -> Option<PublicKey>;
    /// Node `index`'s address, for route paths.
    fn address(&self, index: usize) -> Option<Address> {
        self.public_key(index).map(|k| Address::of(&k))
    }
}

/// A node for the engine benchmark: it sends one datagram on each link at
/// every tick of its timer and echoes back every datagram it receives, a
/// given number of times.
pub struct EchoNode {
    links: Vec<LinkId>,
    tick: node_core::Duration,
    next_tick: Time,
    outbox: std::collections::VecDeque<(LinkId, Vec<u8>)>,
    /// Echoes left for a datagram (first byte): bounds the traffic.
    max_hops: u8,
}

impl EchoNode {
    /// A node that ticks every `tick` and lets each datagram bounce `max_hops` times.
    pub fn new(tick: node_core::Duration, max_hops: u8) -> Self {
        EchoNode {
            links: Vec::new(),
            tick,
            next_tick: Time::ZERO,
            outbox: Default::default(),
            max_hops,
        }
    }
}

impl Protocol for EchoNode {
    fn handle_input(&mut self, now: Time, input: Input) {
        match input {
            Input::LinkUp { link, .. } => self.links.push(link),
            Input::Datagram { link, mut bytes } => {
                if let Some(hops) = bytes.first_mut()
                    && *hops > 0
                {
                    *hops -= 1;
                    self.outbox.push_back((link, bytes));
                }
            }
            Input::Timeout if now >= self.next_tick => {
                self.next_tick = now + self.tick;
                for &l in &self.links {
                    let mut d = vec![0u8; 64];
                    d[0] = self.max_hops;
                    self.outbox.push_back((l, d));
                }
            }
            _ => {}
        }
    }
    fn poll_output(&mut self, _now: Time) -> Output {
        match self.outbox.pop_front() {
            Some((link, bytes)) => Output::Transmit { link, bytes },
            None => Output::Timeout(self.next_tick),
        }
    }
    fn send(&mut self, _: LinkId, _: u16, _: Class, _: Vec<u8>) -> Result<(), CommandError> {
        Ok(())
    }
    fn send_backlog(&self, _: LinkId) -> usize {
        0
    }
}
