//! What goes into a node and what comes out of it.

use core::fmt;

pub use crate::connection::ConnectionHandle;
use crate::identity::{Address, PublicKey};
use crate::time::Time;
use crate::wire::Class;

/// A link, named by the driver: a wifi neighbour, a fiber port or a tunnel
/// across the Internet all look the same to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link{}", self.0)
    }
}

/// A route, as the application knows it: a handle local to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteHandle(pub u64);

impl fmt::Display for RouteHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route{}", self.0)
    }
}

/// A request for a tunnel, named by the node; the driver's answer names it
/// again ([`Input::TunnelOpened`] or [`Input::TunnelFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TunnelRequest(pub u64);

impl fmt::Display for TunnelRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tunnel-request{}", self.0)
    }
}

/// Where a peer can be reached over the underlay, as the driver understands
/// it. The core only passes it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Locator {
    /// An endpoint of the simulator's underlay (a node index).
    Underlay(u64),
    /// A UDP socket address (the real node).
    Socket(core::net::SocketAddr),
}

/// Why the driver could not open a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelFailure {
    /// The locator names nothing the driver can reach.
    Unreachable,
    /// The driver refused (a limit of its own, a bad locator).
    Refused,
}

/// Why a route closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCloseReason {
    /// This end closed it.
    Local,
    /// The other end closed it (a hop passed its teardown on).
    Remote,
    /// A hop on the way tore it down because it broke there: a link to its
    /// next hop failed, the entry idled out, or a hop saw a violation. A
    /// connection builds a new route after this; after `Remote` it does not.
    Broken,
    /// A link it used failed (died, went down, or its peer restarted).
    LinkFailed,
    /// Nothing crossed it for `route_idle_timeout`.
    Idle,
    /// It could not be built (see [`RouteFailure`]).
    SetupFailed(RouteFailure),
}

/// Why a route could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteFailure {
    /// A hop (index in the path) had no link to the next one.
    NoLink(usize),
    /// A hop (index in the path) did not answer or proved the wrong key.
    HopFailed(usize),
    /// It was not built within `route_setup_timeout`.
    Timeout,
    /// A hop (index in the path) refused to extend it: too long, a loop,
    /// or the hop's bounds are reached.
    Refused(usize),
}

/// The service channel reserved for the node's own control traffic.
pub const CONTROL_CHANNEL: u16 = 0;

/// Something that happened to the node, given to [`Node::handle_input`](crate::Node::handle_input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A datagram arrived on a link. Any bytes at all are acceptable input.
    Datagram {
        /// The link it arrived on.
        link: LinkId,
        /// Its contents; the node decrypts in place, so it takes ownership.
        bytes: Vec<u8>,
    },
    /// The driver opened a link. The node handshakes on it at once.
    LinkUp {
        /// The new link.
        link: LinkId,
        /// The static key the peer must prove, if known. With `None` any
        /// peer that completes a handshake is accepted (open peering).
        peer_key: Option<PublicKey>,
        /// The largest datagram the link carries, in bytes.
        mtu: usize,
        /// The link's capacity in bits per second, if the driver knows it
        /// (an interface rate). The node then paces its datagrams to it, so
        /// it never builds a queue in the driver or the network; `None`
        /// sends as fast as the window allows.
        rate_bps: Option<u64>,
    },
    /// The driver closed a link (cable cut, tunnel destroyed). Nothing more
    /// is sent on it and what waited for it is dropped.
    LinkDown {
        /// The link that is gone.
        link: LinkId,
    },
    /// The driver opened the tunnel the node asked for with
    /// [`Output::OpenTunnel`]: it is the link `link`, up now (as a
    /// [`Input::LinkUp`] with the requested peer's key).
    TunnelOpened {
        /// The request it answers.
        request: TunnelRequest,
        /// The new link.
        link: LinkId,
        /// The largest datagram it carries.
        mtu: usize,
        /// Its rate, if the driver knows it (see [`Input::LinkUp`]).
        rate_bps: Option<u64>,
    },
    /// The driver could not open the tunnel of `request`.
    TunnelFailed {
        /// The request it answers.
        request: TunnelRequest,
        /// Why.
        reason: TunnelFailure,
    },
    /// Another node opened a tunnel to this one. The node decides by its
    /// `incoming_tunnels` policy and `max_tunnels`: it handshakes on it, or
    /// refuses with [`Output::CloseTunnel`].
    IncomingTunnel {
        /// The new link.
        link: LinkId,
        /// The largest datagram it carries.
        mtu: usize,
        /// Its rate, if the driver knows it.
        rate_bps: Option<u64>,
        /// The static key the peer's first handshake INIT claims, if the
        /// driver read it (`wire::HandshakeInit::parse`, no cryptography):
        /// the policy is then applied before any work is done for the peer,
        /// and the handshake must prove that key.
        offered: Option<PublicKey>,
    },
    /// Candidates for the tunnel manager, as asked by [`Output::WantPeers`]
    /// (or unasked: a driver may offer peers at any time). The manager
    /// keeps a bounded pool of them ([`crate::churn::manager::MAX_OFFERED`]
    /// per tunnel it keeps); the rest is dropped and counted.
    PeersOffered {
        /// Each candidate's static key and where it can be reached.
        peers: Vec<(PublicKey, Locator)>,
    },
    /// The deadline of the last [`Output::Timeout`] has passed.
    Timeout,
    /// A request from the application.
    Command(Command),
}

/// A request from the application, also available as methods of
/// [`Node`](crate::Node) that return their error directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send a message to the peer of a link, on a service channel.
    Send {
        /// The link to the peer.
        link: LinkId,
        /// The service channel (not 0, which is reserved).
        channel: u16,
        /// Realtime messages always go before bulk ones.
        class: Class,
        /// The message.
        data: Vec<u8>,
    },
    /// Ask the driver for a tunnel to `peer` at `locator`;
    /// [`Event::TunnelRequested`] names the request.
    OpenTunnel {
        /// The static key the peer must prove.
        peer: PublicKey,
        /// Where it can be reached.
        locator: Locator,
    },
    /// Close a link gracefully: the peer is told with a CLOSE frame.
    Close {
        /// The link to close.
        link: LinkId,
    },
    /// Drain a link: it takes no new work, its neighbour's traffic moves
    /// to another link to the same peer, and it closes once idle or after
    /// `max` (see [`Node::drain_link`](crate::Node::drain_link)).
    DrainLink {
        /// The link to drain.
        link: LinkId,
        /// It closes after this long at the latest.
        max: crate::time::Duration,
    },
    /// Start a key rotation now instead of at the next interval.
    Rekey {
        /// The link whose keys rotate.
        link: LinkId,
    },
    /// Open a route along `path` (the addresses of the hops after this
    /// node; the first must be a neighbour). [`Event::RouteOpening`] names
    /// its handle at once, [`Event::RouteUp`] or a close follows.
    OpenRoute {
        /// The hops, ending at the destination.
        path: Vec<Address>,
        /// Its service class at every hop.
        class: Class,
        /// Stream or datagrams.
        kind: crate::route::RouteKind,
    },
    /// Send a message on a route (either end).
    RouteSend {
        /// The route.
        route: RouteHandle,
        /// The message.
        data: Vec<u8>,
    },
    /// Close a route.
    CloseRoute {
        /// The route.
        route: RouteHandle,
    },
    /// Open a connection along `path` (as [`Command::OpenRoute`]); it
    /// replaces its route when it breaks. [`Event::ConnectionOpening`]
    /// names its handle at once.
    Connect {
        /// The hops, ending at the destination.
        path: Vec<Address>,
        /// Its service class at every hop.
        class: Class,
        /// Stream or datagrams.
        kind: crate::route::RouteKind,
    },
    /// Open a connection to a destination (a node, or the nearest
    /// gateway) along a path this node finds in its own topology database
    /// (it runs discovery); each new route asks the database again.
    /// Without a path: [`CommandError::NoPath`].
    ConnectTo {
        /// Where to.
        destination: crate::discovery::find::Destination,
        /// Its service class at every hop.
        class: Class,
        /// Stream or datagrams.
        kind: crate::route::RouteKind,
    },
    /// Open a route set: a connection over `spec.count` routes at once,
    /// to `destination` along disjoint paths this node finds itself, or
    /// along `paths` when no destination is given (see `crate::sets`).
    ConnectSet {
        /// Where to (paths from the topology database).
        destination: Option<crate::discovery::find::Destination>,
        /// The paths, when no destination is given.
        paths: Vec<Vec<Address>>,
        /// How many routes, and how they are used.
        spec: crate::sets::SetSpec,
        /// Its service class at every hop.
        class: Class,
    },
    /// Send a message on a connection's route.
    ConnectionSend {
        /// The connection.
        connection: ConnectionHandle,
        /// The message.
        data: Vec<u8>,
    },
    /// Close a connection (and its route).
    CloseConnection {
        /// The connection.
        connection: ConnectionHandle,
    },
}

/// What the driver must do next; see the crate docs for the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes on a link.
    Transmit {
        /// The link to send on.
        link: LinkId,
        /// The datagram.
        bytes: Vec<u8>,
    },
    /// Something the application should know.
    Event(Event),
    /// Open a tunnel (a new link) to `peer` at `locator`; answer with
    /// [`Input::TunnelOpened`] or [`Input::TunnelFailed`].
    OpenTunnel {
        /// Names the answer.
        request: TunnelRequest,
        /// The static key the peer must prove on it.
        peer: PublicKey,
        /// Where the peer can be reached.
        locator: Locator,
    },
    /// Destroy the tunnel `link`: the node is done with it (it closed, was
    /// refused, or drained). The driver gives no `LinkDown` for it.
    CloseTunnel {
        /// The tunnel's link.
        link: LinkId,
    },
    /// The tunnel manager knows fewer peers than it needs tunnels: offer it
    /// up to `count` candidates with [`Input::PeersOffered`] (a re6st
    /// registry's bootstrap answer, a configured list), or nothing. Asked
    /// at most once per top-up (every second while tunnels are missing).
    WantPeers {
        /// How many more candidates it could use.
        count: usize,
    },
    /// Nothing more to do until this time (or new input). [`Time::NEVER`] if
    /// no timer is armed.
    Timeout(Time),
}

/// Why a link closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// This node was asked to close it.
    Local,
    /// The peer sent a CLOSE frame with this code.
    Peer(u16),
    /// The driver reported the link down.
    LinkDown,
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A handshake completed: the link carries authenticated, encrypted traffic.
    LinkEstablished {
        /// The link.
        link: LinkId,
        /// The peer's proven static key.
        peer: PublicKey,
        /// The peer's address.
        address: Address,
        /// Messages of a previous session on this link that were not
        /// acknowledged and are being sent again from their start.
        resent_messages: usize,
    },
    /// Nothing authenticated arrived for `dead_interval`. The node keeps
    /// trying to handshake while the driver keeps the link up.
    LinkDead {
        /// The link.
        link: LinkId,
    },
    /// The link was closed; the node will not use it again.
    LinkClosed {
        /// The link.
        link: LinkId,
        /// Who closed it.
        reason: CloseReason,
        /// Messages that were still waiting to be sent or acknowledged.
        unsent_messages: usize,
    },
    /// A peer offered a static key other than the one configured for the link.
    PeerRejected {
        /// The link.
        link: LinkId,
        /// The key it offered.
        offered: PublicKey,
    },
    /// A service message arrived: exactly once, in order per channel.
    Message {
        /// The link it came from.
        link: LinkId,
        /// Its service channel.
        channel: u16,
        /// Its contents.
        data: Vec<u8>,
    },
    /// A route opened by [`Command::OpenRoute`] got its handle.
    RouteOpening {
        /// The handle.
        route: RouteHandle,
    },
    /// A route this node opened is built end to end.
    RouteUp {
        /// The route.
        route: RouteHandle,
    },
    /// A route ends here: this node is its destination. It knows nothing
    /// of the origin but the route.
    RouteIncoming {
        /// The route.
        route: RouteHandle,
        /// Its class.
        class: Class,
    },
    /// A message arrived on a route (at either end).
    RouteMessage {
        /// The route.
        route: RouteHandle,
        /// The message.
        data: Vec<u8>,
    },
    /// The destination confirmed this many bytes of the route's stream.
    RouteDelivered {
        /// The route.
        route: RouteHandle,
        /// Stream bytes confirmed, cumulative.
        bytes: u64,
    },
    /// A hop of a route this node opened drains the link `link` (its two
    /// ends, in path order; the origin's own first link too): the route
    /// breaks when the link goes (at the latest after the hop's
    /// `drain_max`). A route set builds around it and moves its traffic
    /// first (make before break); a plain connection's route is rebuilt
    /// when it breaks. Said once per route and link.
    RouteDraining {
        /// The route.
        route: RouteHandle,
        /// The draining link, from the end nearer the origin.
        link: (Address, Address),
    },
    /// A paying relay asks the application whether the escrow account of
    /// `pseudonym` can pay what the relay's best receipt under it owes
    /// and not yet redeemed, plus the credit it grants (`owed` is the
    /// receipt's cumulative amount: the application knows what it
    /// redeemed). Answer with [`crate::Node::pay_verdict`]; a relay that
    /// hears no answer keeps carrying. Asked when a route's pseudonym is
    /// first bound, then each time what it owes grows by the credit.
    PayCheck {
        /// The origin's pseudonym toward this relay.
        pseudonym: crate::identity::PublicKey,
        /// What its best receipt owes, in all (droplets).
        owed: u64,
        /// The relay's credit (droplets).
        credit: u64,
    },
    /// A route closed (or failed to open).
    RouteClosed {
        /// The route.
        route: RouteHandle,
        /// Why.
        reason: RouteCloseReason,
    },
    /// A route set from elsewhere reached this node (its first route):
    /// its messages come as [`Event::ConnectionMessage`] of `connection`,
    /// which can answer on it.
    ConnectionIncoming {
        /// The handle here.
        connection: ConnectionHandle,
        /// Its class.
        class: Class,
    },
    /// A route set's failure detector suspected one of its routes (nothing
    /// confirmed end to end for the detector's time): the route is closed
    /// and replaced; `ConnectionSwitched` follows if it was the active one.
    ConnectionSuspected {
        /// The connection.
        connection: ConnectionHandle,
        /// The route suspected.
        route: RouteHandle,
    },
    /// A route set's active route was lost: its traffic moved to `to`.
    ConnectionSwitched {
        /// The connection.
        connection: ConnectionHandle,
        /// The route lost.
        from: RouteHandle,
        /// The route that carries the traffic now.
        to: RouteHandle,
    },
    /// A connection opened by [`Command::Connect`] got its handle.
    ConnectionOpening {
        /// The handle.
        connection: ConnectionHandle,
    },
    /// A route of the connection is built: messages can be sent (after
    /// the first route, or after a broken one was replaced).
    ConnectionUp {
        /// The connection.
        connection: ConnectionHandle,
        /// The route under it now.
        route: RouteHandle,
    },
    /// A message arrived on the connection (from its destination).
    ConnectionMessage {
        /// The connection.
        connection: ConnectionHandle,
        /// The message.
        data: Vec<u8>,
    },
    /// The destination confirmed this many stream bytes of `route`.
    ConnectionDelivered {
        /// The connection.
        connection: ConnectionHandle,
        /// The route whose stream it is.
        route: RouteHandle,
        /// Stream bytes of that route confirmed, cumulative.
        bytes: u64,
    },
    /// The connection's route broke (what it held is lost); a new one is
    /// built at `retry_at` (the node's [`ReopenPolicy`](crate::ReopenPolicy)).
    ConnectionBroken {
        /// The connection.
        connection: ConnectionHandle,
        /// The route that broke.
        route: RouteHandle,
        /// Why.
        reason: RouteCloseReason,
        /// When the next route is built.
        retry_at: Time,
    },
    /// The connection closed; its handle is no longer valid.
    ConnectionClosed {
        /// The connection.
        connection: ConnectionHandle,
        /// Why.
        reason: crate::connection::ConnectionCloseReason,
    },
    /// A tunnel was asked for ([`Command::OpenTunnel`]).
    TunnelRequested {
        /// The request.
        request: TunnelRequest,
    },
    /// A tunnel the node asked for could not be opened.
    TunnelFailed {
        /// The request.
        request: TunnelRequest,
        /// Why.
        reason: TunnelFailure,
    },
    /// An incoming tunnel was refused (by policy, by the tunnel limit, or
    /// because its peer proved a key the policy does not accept).
    TunnelRefused {
        /// Its link.
        link: LinkId,
    },
    /// A [`Command`] could not be carried out.
    CommandFailed(CommandError),
}

/// Why a command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The link is not known (never up, or down).
    #[error("unknown link {0}")]
    UnknownLink(LinkId),
    /// Channel 0 is reserved for the node's own control traffic.
    #[error("channel 0 is reserved for control traffic")]
    ReservedChannel,
    /// The message is larger than `max_message_size`.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Its size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The link's send backlog is full; try again after some is acknowledged.
    #[error("send backlog of {0} is full")]
    BacklogFull(LinkId),
    /// The link was closed.
    #[error("{0} is closed")]
    LinkClosed(LinkId),
    /// The route is not known here (never opened, or closed).
    #[error("unknown {0}")]
    UnknownRoute(RouteHandle),
    /// The route is not up yet (or this node only relays it).
    #[error("{0} is not up yet")]
    RouteNotReady(RouteHandle),
    /// The route's buffer has no room for the message yet.
    #[error("{0} has no room for the message yet")]
    RouteFull(RouteHandle),
    /// The connection is not known here (never opened, or closed).
    #[error("unknown {0}")]
    UnknownConnection(ConnectionHandle),
    /// The route set's window is full: try again after some is confirmed.
    #[error("{0} has no room for the message yet")]
    ConnectionFull(ConnectionHandle),
    /// The connection has no route up now (being built, or waiting to
    /// replace a broken one).
    #[error("{0} has no route up now")]
    ConnectionNotReady(ConnectionHandle),
    /// A route path must name at least one hop and not this node.
    #[error("invalid route path: {0}")]
    InvalidPath(&'static str),
    /// No path to the destination in this node's topology database.
    #[error("no path to {destination:?}: {reason}")]
    NoPath {
        /// The destination asked for.
        destination: crate::discovery::find::Destination,
        /// Why.
        reason: crate::discovery::find::NoPath,
    },
    /// The node keeps `max_tunnels` tunnels already.
    #[error("the tunnel limit of {0} is reached")]
    TooManyTunnels(usize),
    /// A link was brought up with an MTU too small for the protocol.
    #[error("{link}: mtu {mtu} is below the minimum of {min}", min = crate::link::MIN_MTU)]
    MtuTooSmall {
        /// The link.
        link: LinkId,
        /// The MTU given.
        mtu: usize,
    },
}
