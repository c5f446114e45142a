//! The node: owns every layer, routes inputs to them and collects their
//! outputs. The link layer reaches the layers above only through
//! [`Above`](crate::dispatch::Above).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::connection::Connections;
use crate::crypto::CryptoSuite;
use crate::dispatch::{Above, UpperToken, flush};
use crate::identity::{Identity, PublicKey};
use crate::interface::{CONTROL_CHANNEL, Command, CommandError, Event, Input, LinkId, RouteHandle};
use crate::link::{Ctx, Link, LinkState, LinkTimer, MIN_MTU};
use crate::neighbours::{NeighbourInfo, Neighbours};
use crate::route::{RouteTimer, Routes};
use crate::stats::{LinkStats, NodeStats};
use crate::time::{Duration, Time};
use crate::timers::{Owner, TimerTable};
use crate::tunnels::Tunnels;

mod churn;
mod connections;
mod discovery;
mod escrow;
use discovery::{find_path, find_toward};
mod links;
mod output;
mod routes;
mod sets;
mod timers;
use crate::wire::Class;

/// Which subsystem asked for the next wake-up (see [`Node::last_timeout_reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReason {
    /// A link's timer.
    Link {
        /// The link.
        link: LinkId,
        /// Its timer.
        timer: LinkTimer,
    },
    /// A route entry's timer: its setup, an extension, an end-to-end
    /// acknowledgement, a retransmission of the end-to-end mode, or idleness.
    Route {
        /// The entry.
        route: RouteHandle,
        /// Its timer.
        timer: RouteTimer,
    },
    /// A connection builds a new route for a broken one.
    Connection {
        /// The connection.
        connection: crate::ConnectionHandle,
    },
    /// The discovery layer: the node's next advert, or the topology
    /// database's next expiry.
    Discovery,
    /// A route set: failure detection, a probe, or rebuilding a route.
    Sets,
    /// The tunnel manager: a refresh, or topping its tunnels up.
    Churn,
}

/// A snapshot of one link, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The link.
    pub id: LinkId,
    /// The proven peer, once a session is established.
    pub peer: Option<PublicKey>,
    /// Whether a session is established.
    pub established: bool,
    /// Whether the link was closed.
    pub closed: bool,
    /// Where the link is in its life.
    pub state: LinkState,
    /// Smoothed round-trip time.
    pub srtt: Duration,
    /// Key epoch sealing our packets.
    pub send_epoch: Option<u32>,
    /// Bytes of service messages not yet acknowledged.
    pub send_backlog: usize,
    /// Bytes received and waiting for reassembly or an earlier message.
    pub recv_buffered: usize,
    /// Bytes of ack-eliciting datagrams in flight.
    pub bytes_in_flight: usize,
    /// Counters.
    pub stats: LinkStats,
}

/// A node taken apart for a link to work: see [`Node::parts`].
struct Parts<'a> {
    links: &'a mut BTreeMap<LinkId, Box<Link<UpperToken>>>,
    ctx: Ctx<'a>,
    above: Above<'a>,
    cursor: &'a mut Option<LinkId>,
    dirty_links: &'a mut Vec<LinkId>,
}

/// A mesh node's protocol state machine. See the crate docs for the contract.
pub struct Node {
    /// Shared: a simulation's nodes mostly run one configuration, and a
    /// copy each was 768 bytes of every node.
    config: Arc<Config>,
    /// Shared with the route layer (82 bytes each kept apart).
    identity: Arc<Identity>,
    suite: &'static dyn CryptoSuite,
    rng: ChaCha20Rng,
    /// INIT MAC keys of configured peers (see `link::handshake::MacKeys`).
    mac_keys: crate::link::handshake::MacKeys,
    /// Boxed: a B-tree leaf holds eleven values inline, so unboxed links
    /// (1.6 kB each) cost every node 17.7 kB from its first link on,
    /// however few it has (`meshsim bench scale`).
    links: BTreeMap<LinkId, Box<Link<UpperToken>>>,
    neighbours: Neighbours,
    /// Links being drained: closed as soon as they are idle.
    draining: BTreeSet<LinkId>,
    routes: Routes,
    /// Connections: what the application holds above routes.
    connections: Connections,
    /// Link-state adverts and the topology database.
    discovery: crate::discovery::flood::Discovery,
    /// Route sets: connections over several routes.
    sets: crate::sets::Sets,
    /// The re6st-style tunnel manager, if the node runs one (boxed: 650
    /// bytes that every node without one paid).
    churn: Option<Box<crate::churn::manager::Manager>>,
    /// The escrow role (payments), if the node plays it.
    escrow: Option<Box<crate::pay::service::EscrowService>>,
    /// The node's one event queue (see `dispatch`).
    events: VecDeque<Event>,
    /// Upper frames of layers this node does not run.
    unknown_frames: u64,
    /// Every timer of the node: one entry per owner (see `timers`).
    timers: TimerTable,
    /// Links whose deadlines may have moved since the table was refreshed
    /// (a link is in it at most once: `Link::mark_dirty`).
    dirty_links: Vec<LinkId>,
    /// The owner of the last `Output::Timeout`'s deadline.
    last_timeout: Option<Owner>,
    /// Tunnels asked for and accepted.
    tunnels: Tunnels,
    /// Incoming tunnels whose peer proved a key the policy refuses: closed
    /// at the next poll.
    refuse: Vec<LinkId>,
    /// Counters of links that went down, so node totals never shrink.
    /// Boxed at the first link dropped: 168 bytes every node kept.
    retired: Option<Box<LinkStats>>,
    unknown_link: u64,
    now: Time,
    /// The link that sent last: the next poll starts after it (round robin).
    cursor: Option<LinkId>,
    /// Links that may have something to send: the only ones a poll asks
    /// (see `output.rs`). Every change to a link puts it here.
    ready: BTreeSet<LinkId>,
}

impl Node {
    /// A node with `identity`, drawing all its randomness from `seed`.
    /// A node with `config` and `identity`, which a driver that runs many
    /// nodes may share with them (`Arc`s).
    pub fn new(
        config: impl Into<Arc<Config>>,
        identity: impl Into<Arc<Identity>>,
        seed: [u8; 32],
    ) -> Result<Node, ConfigError> {
        let config: Arc<Config> = config.into();
        let identity: Arc<Identity> = identity.into();
        config.validate()?;
        if identity.suite() != config.suite {
            return Err(ConfigError::SuiteMismatch {
                identity: identity.suite(),
                config: config.suite,
            });
        }
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut route_seed = [0u8; 32];
        rand::Rng::fill_bytes(&mut rng, &mut route_seed);
        // Its own stream, derived without drawing from the node's: a node
        // without churn draws exactly as before.
        let churn_seed: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::new()
                .chain_update(b"meshsim churn seed")
                .chain_update(seed)
                .finalize()
                .into()
        };
        Ok(Node {
            suite: config.suite.suite(),
            routes: Routes::new(&config, Arc::clone(&identity), route_seed),
            connections: Connections::default(),
            discovery: crate::discovery::flood::Discovery::new(
                config.discovery.clone(),
                identity.address(),
            ),
            sets: Default::default(),
            escrow: config
                .pay
                .escrow
                .map(|r| Box::new(crate::pay::service::EscrowService::new(r))),
            churn: config.churn.clone().map(|c| {
                Box::new(crate::churn::manager::Manager::new(
                    c,
                    ChaCha20Rng::from_seed(churn_seed),
                ))
            }),
            config,
            identity,
            rng,
            mac_keys: Default::default(),
            links: BTreeMap::new(),
            neighbours: Neighbours::default(),
            draining: BTreeSet::new(),
            events: VecDeque::new(),
            unknown_frames: 0,
            timers: TimerTable::default(),
            dirty_links: Vec::new(),
            last_timeout: None,
            tunnels: Tunnels::default(),
            refuse: Vec::new(),
            retired: None,
            unknown_link: 0,
            now: Time::ZERO,
            cursor: None,
            ready: BTreeSet::new(),
        })
    }

    /// Takes one input. `now` must not go backwards; an earlier time is
    /// treated as the latest time seen.
    pub fn handle_input(&mut self, now: Time, input: Input) {
        let now = self.advance(now);
        match input {
            Input::Datagram { link, bytes } => {
                let Some((l, mut ctx, mut above)) = self.split(link) else {
                    self.unknown_link += 1;
                    return;
                };
                l.handle_datagram(now, bytes, &mut ctx, &mut above);
                self.mark_dirty(link);
            }
            Input::LinkUp {
                link,
                peer_key,
                mtu,
                rate_bps,
            } => self.link_up(now, link, peer_key, (mtu, rate_bps), false),
            Input::TunnelOpened {
                request,
                link,
                mtu,
                rate_bps,
            } => match self.tunnels.opened(request, link) {
                Some(peer) => {
                    if let Some(m) = self.churn.as_mut() {
                        m.on_opened(now, request, link);
                    }
                    self.link_up(now, link, Some(peer), (mtu, rate_bps), false)
                }
                // An answer to nothing we asked: hand the link back.
                None => self.tunnels.refuse(link),
            },
            Input::TunnelFailed { request, reason } => {
                if let Some(m) = self.churn.as_mut() {
                    m.on_failed(now, request);
                }
                if self.tunnels.failed(request) {
                    self.events
                        .push_back(Event::TunnelFailed { request, reason });
                }
            }
            Input::IncomingTunnel {
                link,
                mtu,
                rate_bps,
                offered,
            } => {
                if self.links.contains_key(&link) {
                    // The driver reused a live link id: its tunnel replaces
                    // the link (as a LinkUp on it would).
                    self.tunnels.on_link_down(link);
                }
                let room = self.churn_accepts_incoming();
                if self
                    .tunnels
                    .incoming(&self.config, link, offered.as_ref(), room)
                {
                    // The opener initiates. Ours would be redundant, could
                    // carry no MAC when the key is not known, and would go
                    // to an address nobody has proven yet.
                    self.link_up(now, link, offered, (mtu, rate_bps), true);
                } else {
                    self.events.push_back(Event::TunnelRefused { link });
                }
            }
            Input::LinkDown { link } => {
                self.churn_link_down(now, link);
                self.tunnels.on_link_down(link);
                self.drop_link(now, link);
            }
            Input::PeersOffered { peers } => self.peers_offered(now, peers),
            Input::Timeout => {
                // Only the owners that are due, each once, in table order.
                self.refresh_timers();
                for owner in self.timers.due(now) {
                    match owner {
                        Owner::Link(id) => {
                            if let Some((l, mut ctx, mut above)) = self.split(id) {
                                l.handle_timeout(now, &mut ctx, &mut above);
                            }
                            self.mark_dirty(id);
                        }
                        Owner::Route(h) => self.routes.fire(now, h),
                        Owner::Connections => {
                            flush(&mut self.events, &mut self.routes);
                            let stale = self.stale_own_links();
                            let (db, me) = (&self.discovery.db, self.identity.address());
                            let enabled = self.config.discovery.is_some();
                            let mine = self.discovery.meshes();
                            self.connections.fire(
                                now,
                                &mut self.routes,
                                &self.config.reopen,
                                &mut self.events,
                                &mut |d, mesh| match (d, mesh) {
                                    (crate::Destination::Node(n), Some(m)) => {
                                        find_toward(enabled, db, me, mine, (n, m), &stale)
                                            .map(|(p, _)| p)
                                    }
                                    _ => find_path(enabled, db, me, d, &stale),
                                },
                            );
                        }
                        Owner::Discovery => self.fire_discovery(now),
                        Owner::Sets => self.fire_sets(now),
                        Owner::Churn => self.fire_churn(now),
                    }
                }
                flush(&mut self.events, &mut self.routes);
            }
            Input::Command(cmd) => {
                if let Command::Send { link, .. }
                | Command::Close { link }
                | Command::Rekey { link }
                | Command::DrainLink { link, .. } = cmd
                {
                    self.mark_dirty(link);
                }
                let result = match cmd {
                    Command::Send {
                        link,
                        channel,
                        class,
                        data,
                    } => self.send(link, channel, class, data),
                    Command::Close { link } => self.close(link),
                    Command::OpenTunnel { peer, locator } => self
                        .open_tunnel(peer, locator)
                        .map(|request| self.events.push_back(Event::TunnelRequested { request })),
                    Command::DrainLink { link, max } => self.drain_link(link, max),
                    Command::Rekey { link } => self.rekey(link),
                    Command::OpenRoute { path, class, kind } => self
                        .open_route(path, class, kind)
                        .map(|route| self.events.push_back(Event::RouteOpening { route })),
                    Command::RouteSend { route, data } => self.route_send(route, data),
                    Command::CloseRoute { route } => self.close_route(route),
                    Command::Connect { path, class, kind } => {
                        self.connect(path, class, kind).map(|connection| {
                            self.events
                                .push_back(Event::ConnectionOpening { connection })
                        })
                    }
                    Command::ConnectTo {
                        destination,
                        class,
                        kind,
                    } => self.connect_to(destination, class, kind).map(|connection| {
                        self.events
                            .push_back(Event::ConnectionOpening { connection })
                    }),
                    Command::ConnectSet {
                        destination,
                        paths,
                        spec,
                        class,
                    } => self
                        .connect_set(destination, paths, spec, class)
                        .map(|connection| {
                            self.events
                                .push_back(Event::ConnectionOpening { connection })
                        }),
                    Command::ConnectionSend { connection, data } => {
                        self.connection_send(connection, data)
                    }
                    Command::CloseConnection { connection } => self.close_connection(connection),
                };
                flush(&mut self.events, &mut self.routes);
                if let Err(e) = result {
                    self.events.push_back(Event::CommandFailed(e));
                }
            }
        }
    }

    fn link_up(
        &mut self,
        now: Time,
        link: LinkId,
        peer_key: Option<PublicKey>,
        (mtu, rate_bps): (usize, Option<u64>),
        await_opener: bool,
    ) {
        if mtu < MIN_MTU {
            self.events
                .push_back(Event::CommandFailed(CommandError::MtuTooSmall {
                    link,
                    mtu,
                }));
            return;
        }
        // The driver may reuse a live link id: the old session is gone, and
        // the new link's timer entry starts from nothing.
        self.drop_link(now, link);
        let Parts { links, mut ctx, .. } = self.parts();
        let l = Link::new(
            link,
            peer_key,
            (mtu, rate_bps.filter(|&r| r > 0)),
            await_opener,
            now,
            &mut ctx,
        );
        links.insert(link, Box::new(l));
        self.ready.insert(link);
    }

    /// `link`'s session ends here (the layers above hear of it, as from a
    /// link that went down), then the node forgets the link.
    /// (The neighbour's queued work moves to another of its links, if
    /// any: the neighbour table records the move, and the next poll asks
    /// that link.)
    fn drop_link(&mut self, now: Time, link: LinkId) {
        if let Some((l, _, mut above)) = self.split(link) {
            l.on_down(now, &mut above);
        }
        self.forget_link(link);
        self.mark_dirty(link);
    }

    /// Forgets `link`: its counters go to the retired totals, its timer
    /// entry and drain go.
    fn forget_link(&mut self, link: LinkId) {
        if let Some(l) = self.links.remove(&link) {
            **self.retired.get_or_insert_with(Default::default) += *l.stats();
        }
        self.timers.remove(Owner::Link(link));
        self.draining.remove(&link);
        self.ready.remove(&link);
    }

    fn advance(&mut self, now: Time) -> Time {
        self.now = self.now.max(now);
        self.now
    }

    /// The links, with what a link borrows from the node and the layers
    /// above it, each a separate borrow.
    fn parts(&mut self) -> Parts<'_> {
        let Node {
            config,
            identity,
            suite,
            rng,
            mac_keys,
            links,
            neighbours,
            routes,
            events,
            unknown_frames,
            tunnels,
            refuse,
            cursor,
            dirty_links,
            discovery,
            ..
        } = self;
        Parts {
            links,
            ctx: Ctx {
                config,
                identity,
                suite: *suite,
                rng,
                mac_keys,
            },
            above: Above {
                routes,
                neighbours,
                events,
                unknown_frames,
                config,
                tunnels,
                refuse,
                discovery,
                suite: *suite,
            },
            cursor,
            dirty_links,
        }
    }

    /// One link, with what it borrows (see [`Node::parts`]).
    fn split(&mut self, link: LinkId) -> Option<(&mut Link<UpperToken>, Ctx<'_>, Above<'_>)> {
        self.ready.insert(link);
        let Parts {
            links, ctx, above, ..
        } = self.parts();
        Some((links.get_mut(&link)?, ctx, above))
    }

    /// Queues a service message to the peer of `link` on `channel`. It is
    /// delivered exactly once and in order per channel while the session
    /// lasts; if the session is replaced (the peer restarted), messages not
    /// yet acknowledged are sent again from their start.
    pub fn send(
        &mut self,
        link: LinkId,
        channel: u16,
        class: Class,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        if channel == CONTROL_CHANNEL {
            return Err(CommandError::ReservedChannel);
        }
        let config = &self.config;
        let l = self
            .links
            .get_mut(&link)
            .ok_or(CommandError::UnknownLink(link))?;
        self.ready.insert(link);
        l.send_message(channel, class, data, config)
    }

    /// Closes a link gracefully (the peer is told).
    pub fn close(&mut self, link: LinkId) -> Result<(), CommandError> {
        let now = self.now;
        let (l, _, mut above) = self.split(link).ok_or(CommandError::UnknownLink(link))?;
        l.close(now, &mut above);
        Ok(())
    }

    /// Rotates the link's keys now rather than at the next interval. Only
    /// the end that initiated the handshake drives rotations; at the other
    /// end this does nothing.
    pub fn rekey(&mut self, link: LinkId) -> Result<(), CommandError> {
        let (l, mut ctx, _) = self.split(link).ok_or(CommandError::UnknownLink(link))?;
        l.rekey_now(&mut ctx);
        Ok(())
    }

    /// Every neighbour with an established link, with its links (and what
    /// each measured) and the one that carries its traffic now.
    pub fn neighbours(&self) -> impl Iterator<Item = NeighbourInfo> + '_ {
        self.neighbours.iter().map(|mut n| {
            for nl in &mut n.links {
                if let Some(l) = self.links.get(&nl.link) {
                    let info = l.info(nl.link);
                    nl.srtt = info.srtt;
                    nl.lost = info.stats.packets_lost;
                    nl.sent = info.stats.datagrams_sent;
                }
            }
            n
        })
    }

    /// Where `link` is in its life.
    pub fn link_state(&self, link: LinkId) -> Option<LinkState> {
        self.links.get(&link).map(|l| l.state())
    }

    /// Tests: every packet this node seals on `link` is first damaged by
    /// `corrupt` (a buggy or malicious, yet authenticated, peer).
    #[cfg(test)]
    pub(crate) fn corrupt_link(&mut self, link: LinkId, corrupt: Option<crate::link::Corruptor>) {
        if let Some(l) = self.links.get_mut(&link) {
            l.corrupt = corrupt;
        }
    }

    /// Which link timer set the deadline of the last [`Output::Timeout`]
    /// (`None` if no timer was armed). Cheap, and the first thing to look at
    /// when a node wakes up more often than expected.
    pub fn last_timeout_reason(&self) -> Option<TimeoutReason> {
        Some(match self.last_timeout? {
            Owner::Link(link) => TimeoutReason::Link {
                link,
                timer: self.links.get(&link)?.next_timer(&self.config).1,
            },
            Owner::Route(h) => TimeoutReason::Route {
                route: RouteHandle(h),
                timer: self.routes.deadline(h)?.1,
            },
            Owner::Connections => TimeoutReason::Connection {
                connection: self.connections.next_due()?,
            },
            Owner::Discovery => TimeoutReason::Discovery,
            Owner::Sets => TimeoutReason::Sets,
            Owner::Churn => TimeoutReason::Churn,
        })
    }

    /// Counters summed over all links, past and present.
    pub fn stats(&self) -> NodeStats {
        let mut links = self.retired.as_deref().copied().unwrap_or_default();
        for l in self.links.values() {
            links += *l.stats();
        }
        NodeStats {
            suite: self.config.suite,
            links,
            unknown_link: self.unknown_link,
            unknown_frames: self.unknown_frames + self.routes.stats().unknown_frames,
        }
    }

    /// One link's state and counters.
    pub fn link(&self, link: LinkId) -> Option<LinkInfo> {
        self.links.get(&link).map(|l| l.info(link))
    }

    /// Bytes of service messages on `link` not yet acknowledged (cheaper
    /// than [`Node::link`] for a sender that keeps its queue topped up).
    pub fn send_backlog(&self, link: LinkId) -> Option<usize> {
        self.links.get(&link).map(|l| l.send_backlog())
    }

    /// Every link, in id order.
    pub fn links(&self) -> impl Iterator<Item = LinkInfo> + '_ {
        self.links.iter().map(|(&id, l)| l.info(id))
    }

    /// The node's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The node's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
