//! Source routes: telescoping setup, label-swapped forwarding, store-and-
//! forward with credit backpressure, end-to-end encryption, and the
//! end-to-end (TCP-like) baseline.
//!
//! A route is a chain of hops A -> B -> C -> D. Each hop keeps one entry:
//! the link and route id on each side (ids are chosen by the hop that
//! receives on them, so forwarding is one lookup and a frame's overhead does
//! not grow with the route's length). The origin builds the route hop by
//! hop: it creates the first hop over its link, then asks the last hop so
//! far, in a control message only that hop can read, to extend the route to
//! the next. Every hop therefore knows only its previous and next hop; the
//! origin shares a key with each hop and, with the destination, the keys
//! that seal the data end to end, so relays carry only ciphertext.
//!
//! Files: `stream` (the per-hop buffer and credits), `timer` (entry
//! deadlines), (the control messages between origin and hops are in
//! `wire::route_ctrl`), `endpoint` (messages to sealed records
//! and back), `crypto` (hop keys, onion layers, records), `reno` (the
//! baseline's sender), `inbound` (frames arriving), `outbound` (frames
//! leaving, per link).

mod api;
mod control;
pub mod crypto;
mod delivery;
#[cfg(test)]
mod drain_tests;
pub mod endpoint;
mod guard;
#[cfg(test)]
mod hostile_tests;
mod inbound;
mod outbound;
mod pay;
#[cfg(test)]
mod pay_tests;
pub mod reno;
mod role;
pub mod segment;
#[cfg(test)]
mod segment_tests;
pub mod stream;
mod timer;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::Rng;

pub use self::guard::{ENTRY_COST, RefusalStats};
pub(crate) use self::outbound::RouteSent;
pub use self::pay::PayStats;
use self::reno::RenoConfig;
use self::role::{Building, Endpoint, Extending, Hop, Role, RoleKind};
use self::stream::{CreditAdvert, ForwardStats, Forwarder, StreamBuffer};
pub use self::timer::RouteTimer;
use crate::config::{Config, RouteMode};
use crate::crypto::CryptoSuite;
use crate::identity::{Address, Identity};
use crate::interface::{Event, LinkId, RouteCloseReason, RouteHandle};
use crate::time::{Duration, Time};
use crate::wire::{Class, RouteId};
pub use crate::wire::{ExtendFailure, RouteKind};

/// The two directions of a route's data.
pub const FORWARD: usize = 0;
/// Destination to origin.
pub const BACKWARD: usize = 1;

/// One side of a hop: the neighbour and the ids on it.
///
/// A hop is a *neighbour*, not a link: route ids are chosen per neighbour
/// (the receiver keeps them unique among the ids that neighbour uses), so a
/// frame of the route may arrive on any link to that neighbour, and the
/// route moves from one link to another without a message: the node simply
/// sends its frames on another link to the same peer. Only when no link to
/// the neighbour is left does the route break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Adj {
    peer: Address,
    /// The id frames to us carry from this neighbour (we chose it).
    rx: RouteId,
    /// The id we put on frames to the neighbour (it chose it).
    tx: RouteId,
}

/// Which side of a hop a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Toward the origin.
    Up,
    /// Toward the destination.
    Down,
}

/// One direction of data at this node.
#[derive(Debug)]
struct Dir {
    buf: StreamBuffer,
    fwd: Forwarder,
    advert: CreditAdvert,
}

struct Route {
    class: Class,
    kind: RouteKind,
    /// Origin, hop, relay or destination, with that role's own state.
    role: Role,
    up: Option<Adj>,
    down: Option<Adj>,
    dirs: [Dir; 2],
    /// Frames of the end-to-end mode dropped by relay queues (this hop).
    queue_drops: u64,
    /// The last frame received for it or data sent on it.
    last_activity: Time,
    /// When to check whether it went idle. Activity does not move it (a
    /// frame per datagram would otherwise move a timer per datagram): the
    /// check re-arms itself at `last_activity + idle_timeout`.
    idle_check: Time,
    /// Its deadlines may have moved since the node last asked (it is in
    /// `Routes::dirty`).
    timer_dirty: bool,
    /// Its deadline as the node's timer table holds it.
    table_at: Time,
    /// Credit charged to the neighbour that sends into each direction
    /// (`guard.rs`): upstream for FORWARD, downstream for BACKWARD.
    charged: [usize; 2],
    /// The entry itself is charged to its upstream (it came by CREATE).
    entry_charged: bool,
    /// Forward control messages this hop passed on (`max_path_len`), and
    /// the highest nonce among them: the origin numbers them upward, so a
    /// lower or equal one is a link retransmission's repeat (dropped: the
    /// first copy went on, and the next link delivers it reliably).
    ctrl_forwarded: usize,
    ctrl_forwarded_nonce: Option<u64>,
    /// At an end: the route set it belongs to (`crate::sets`).
    set: Option<[u8; 16]>,
    /// At a paying relay (issue 15): what it is owed and paid.
    gate: Option<Box<crate::pay::gate::Gate>>,
    /// ROUTE_PAY frames this hop took or passed on (bounded by the bytes
    /// it forwarded: `pay.rs`).
    pay_frames: u64,
}

/// A snapshot of a route at this node, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// Whether this node is the origin, a relay or the destination.
    pub role: &'static str,
    /// Bytes held per direction (forward, backward).
    pub held: [u64; 2],
    /// At an end: plaintext of an incoming message under reassembly (on
    /// the route's credit, so `held` plus this stays within the buffer).
    pub reassembly: u64,
    /// Buffer size per direction: what the credit lets a neighbour fill.
    pub capacity: [u64; 2],
    /// Sending statistics per direction.
    pub sent: [ForwardStats; 2],
    /// End-to-end mode: frames this hop's queues dropped for this route.
    pub queue_drops: u64,
    /// End-to-end mode at the origin: the sender's counters.
    pub reno: Option<reno::RenoStats>,
    /// The link that now carries the route towards the origin (`None` at
    /// the origin). With `downstream`, all a relay knows of the route's
    /// path. Filled in by the node from its neighbour table.
    pub upstream: Option<LinkId>,
    /// The link that now carries the route towards the destination
    /// (`None` at the destination, or while the origin's first hop is not
    /// set up yet).
    pub downstream: Option<LinkId>,
    /// The neighbour towards the origin.
    pub upstream_peer: Option<Address>,
    /// The neighbour towards the destination.
    pub downstream_peer: Option<Address>,
    /// The route id frames from upstream carry (this node chose it): the
    /// upstream hop's `downstream_id`. With it an observer that sees every
    /// node (the simulator) can follow a route hop by hop.
    pub upstream_id: Option<RouteId>,
    /// The route id this node puts on frames downstream (the next hop
    /// chose it).
    pub downstream_id: Option<RouteId>,
}

/// Work waiting for one link.
#[derive(Default)]
struct LinkWork {
    /// Encoded frames that must arrive (setup, control, teardown, acks in
    /// store-and-forward mode).
    ctrl: VecDeque<Vec<u8>>,
    /// Directions of routes whose CREDIT is due on this link.
    credits: BTreeSet<(u64, usize)>,
    /// Directions of routes that may have data for this link, realtime first.
    active: BTreeSet<(u8, u64, usize)>,
    /// Per class, the direction served last: routes of a class take turns,
    /// one frame each, so none starves another.
    turn: [Option<(u64, usize)>; 2],
    /// End-to-end mode: unreliable frames waiting, drop-tail.
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
}

/// Counters of the route layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Routes this node opened.
    pub opened: u64,
    /// Routes that came up.
    pub up: u64,
    /// Route entries this node holds now.
    pub entries: u64,
    /// Frames for routes this node does not know.
    pub unknown_route: u64,
    /// Frames of the route layer's type range that this version does not
    /// know (skipped: the version rule of `wire::upper`).
    pub unknown_frames: u64,
    /// Frames that break the protocol (credit overrun, bad control message).
    pub violations: u64,
    /// End-to-end mode: frames dropped by this node's relay queues.
    pub queue_drops: u64,
    /// Requests refused by the bounds a neighbour cannot push past.
    pub refused: RefusalStats,
    /// Credit charged to neighbours now (entries included), bytes.
    pub credit_charged: u64,
    /// Routes this node told that a link of theirs here drains (issue 14).
    pub drains_told: u64,
    /// Drain notices taken at the origin (one per route and link).
    pub drains_heard: u64,
    /// End-to-end mode: datagrams that reached the destination before its
    /// BEGIN (dropped: it cannot tell them from stream data yet).
    pub early_datagrams: u64,
    /// n-order meshes: SEGMENTs this origin sent (one per border crossed).
    pub segments_asked: u64,
    /// SEGMENTs this border node answered with hops.
    pub segments_answered: u64,
    /// SEGMENTs this node could not answer, and answers this origin
    /// refused (a loop, too long, a false `done`, one too many).
    pub segments_refused: u64,
}

/// Neighbours lost lately that the route layer remembers (see
/// `Routes::lost_lately`).
const LOST_KEPT: usize = 64;

/// All routes of a node.
pub(crate) struct Routes {
    suite: &'static dyn CryptoSuite,
    identity: std::sync::Arc<Identity>,
    mode: RouteMode,
    buffer: usize,
    initial_credit: usize,
    max_path_len: usize,
    guard: guard::Guard,
    setup_timeout: Duration,
    idle_timeout: Duration,
    relay_queue: usize,
    max_message: usize,
    reno: RenoConfig,
    /// Made at the first draw (see `lazy_rng`).
    rng: crate::lazy_rng::LazyRng,
    routes: BTreeMap<u64, Route>,
    /// (neighbour, id we receive on) -> (route, the side it is on).
    inbound: BTreeMap<(Address, RouteId), (u64, Side)>,
    /// Neighbours with at least one established link.
    /// A sorted vector: a B-tree's first entry costs an eleven-slot leaf.
    neighbours: crate::vec_map::VecMap<Address, ()>,
    /// Hop entries by the CREATE that made them: (neighbour, creator's id).
    created_by: BTreeMap<(Address, RouteId), u64>,
    /// Routes by the neighbours they use (either side): what a lost
    /// neighbour breaks, found in O(its routes).
    by_peer: BTreeSet<(Address, u64)>,
    /// Neighbours whose only link drains (`tell_draining`): no new route
    /// goes through them (a CREATE from one, an EXTEND to one, refused).
    /// At most one entry per neighbour.
    draining_peers: BTreeSet<Address>,
    /// Neighbours lost lately, the last [`LOST_KEPT`]: an EXTEND to one
    /// fails at once (the origin's database still holds a link that is
    /// gone; waiting for it to come back would cost the setup timeout).
    lost_lately: VecDeque<Address>,
    /// Frames waiting for each neighbour.
    work: BTreeMap<Address, LinkWork>,
    /// Neighbours that got work since the node last asked (at most one
    /// entry per neighbour).
    ready_peers: BTreeSet<Address>,
    /// Routes whose deadlines may have moved (see `timer.rs`).
    dirty: Vec<u64>,
    events: VecDeque<Event>,
    /// SEGMENTs for the node to compute (`segment.rs`; one per route).
    segment_requests: Vec<segment::SegmentRequest>,
    /// Payments (issue 15): this node's terms, its wallet, its counters.
    pay: pay::PayState,
    next_handle: u64,
    stats: RouteStats,
}

fn class_rank(c: Class) -> u8 {
    match c {
        Class::Realtime => 0,
        Class::Bulk => 1,
    }
}

impl Dir {
    fn new(buffer: usize) -> Dir {
        Dir {
            buf: StreamBuffer::new(buffer),
            fwd: Forwarder::default(),
            advert: CreditAdvert::default(),
        }
    }
}

impl Routes {
    /// The route layer of a node.
    pub fn new(
        config: &Config,
        identity: impl Into<std::sync::Arc<Identity>>,
        seed: [u8; 32],
    ) -> Routes {
        let identity = identity.into();
        Routes {
            suite: config.suite.suite(),
            identity,
            mode: config.route_mode,
            buffer: config.route_buffer,
            initial_credit: config.route_initial_credit.min(config.route_buffer),
            max_path_len: config.max_path_len,
            guard: guard::Guard::new(config),
            setup_timeout: config.route_setup_timeout,
            idle_timeout: config.route_idle_timeout,
            relay_queue: config.relay_queue,
            max_message: config.max_message_size,
            reno: RenoConfig {
                mss: config.e2e_mss,
                max_window: config.route_buffer as u64,
                ..RenoConfig::default()
            },
            rng: crate::lazy_rng::LazyRng::from_seed(seed),
            routes: BTreeMap::new(),
            inbound: BTreeMap::new(),
            neighbours: crate::vec_map::VecMap::new(),
            created_by: BTreeMap::new(),
            by_peer: BTreeSet::new(),
            draining_peers: BTreeSet::new(),
            lost_lately: VecDeque::new(),
            work: BTreeMap::new(),
            ready_peers: BTreeSet::new(),
            dirty: Vec::new(),
            events: VecDeque::new(),
            segment_requests: Vec::new(),
            pay: pay::PayState::new(config.pay, config.suite),
            next_handle: 1,
            stats: RouteStats::default(),
        }
    }

    fn fresh_id(&mut self, peer: Address) -> RouteId {
        loop {
            let mut id = [0u8; 16];
            self.rng.fill_bytes(&mut id);
            let id = RouteId(id);
            if !self.inbound.contains_key(&(peer, id)) {
                return id;
            }
        }
    }

    /// A new entry with buffers of `capacity` bytes per direction.
    fn new_route(
        &mut self,
        now: Time,
        role: Role,
        class: Class,
        kind: RouteKind,
        capacity: [usize; 2],
    ) -> u64 {
        let h = self.next_handle;
        self.next_handle += 1;
        self.routes.insert(
            h,
            Route {
                class,
                kind,
                role,
                up: None,
                down: None,
                dirs: [Dir::new(capacity[0]), Dir::new(capacity[1])],
                queue_drops: 0,
                last_activity: now,
                idle_check: now + self.idle_timeout,
                timer_dirty: false,
                table_at: Time::NEVER,
                charged: [0, 0],
                entry_charged: false,
                ctrl_forwarded: 0,
                ctrl_forwarded_nonce: None,
                set: None,
                gate: None,
                pay_frames: 0,
            },
        );
        self.stats.entries += 1;
        self.touch(h);
        h
    }

    /// The next event for the application.
    pub fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> RouteStats {
        RouteStats {
            refused: self.guard.stats,
            credit_charged: self.guard.charged_total() as u64,
            ..self.stats
        }
    }

    /// Credit charged to neighbour `peer` now (its entries included).
    #[cfg(test)]
    pub fn credit_charged(&self, peer: Address) -> usize {
        self.guard.charged(peer)
    }

    /// A neighbour became reachable (its first established link): routes
    /// waiting for it may now be built through it.
    pub fn on_neighbour_up(&mut self, peer: Address) {
        // Another link came up: it carries (a link that is not draining
        // is chosen first), so the neighbour takes new routes again.
        self.draining_peers.remove(&peer);
        self.lost_lately.retain(|p| *p != peer);
        if self.neighbours.insert(peer, ()).is_some() {
            return;
        }
        let waiting: Vec<u64> = self
            .routes
            .iter()
            .filter(|(_, r)| {
                r.down.is_none() && r.role.building().is_some_and(|b| b.path[0] == peer)
            })
            .map(|(&h, _)| h)
            .collect();
        for h in waiting {
            self.create_first_hop(h, peer);
        }
        let extending: Vec<u64> = self
            .routes
            .iter()
            .filter(|(_, r)| {
                r.role
                    .extending()
                    .is_some_and(|x| x.sent.is_none() && x.next == peer)
            })
            .map(|(&h, _)| h)
            .collect();
        for h in extending {
            self.try_extend(h);
        }
    }

    /// Sends the CREATE of a pending extension if the next hop is a
    /// reachable neighbour.
    fn try_extend(&mut self, h: u64) {
        let Some(x) = self.routes.get(&h).and_then(|r| r.role.extending()) else {
            return;
        };
        let peer = x.next;
        let gone = self.lost_lately.contains(&peer);
        if !self.neighbours.contains_key(&peer) && !gone {
            // Perhaps still handshaking: waited for, until the deadline.
            return;
        }
        if gone || self.draining_peers.contains(&peer) {
            // A draining link takes no new route; a lost one, none either.
            if !gone {
                self.guard.stats.draining += 1;
            }
            if let Some(r) = self.routes.get_mut(&h)
                && let Some(hop) = r.role.hop_mut()
            {
                hop.extending = None;
            }
            self.reply_to_origin(
                h,
                crate::wire::ControlMessage::ExtendFailed(crate::wire::ExtendFailure::NoLink),
            );
            return;
        }
        let eph_pub = x.eph_pub;
        let reply = self.fresh_id(peer);
        self.inbound.insert((peer, reply), (h, Side::Down));
        if let Some(x) = self.routes.get_mut(&h).and_then(|r| r.role.extending_mut()) {
            x.sent = Some((peer, reply));
        }
        let frame = crate::wire::RouteCreateFrame {
            reply_route: reply,
            eph_pub,
        };
        self.queue_ctrl(peer, crate::wire::RouteFrame::Create(frame));
    }

    /// The routes that use neighbour `peer` on either side.
    fn routes_through(&self, peer: Address) -> Vec<u64> {
        self.by_peer
            .range((peer, 0)..=(peer, u64::MAX))
            .map(|&(_, h)| h)
            .collect()
    }

    /// How many route entries use neighbour `peer` (the tunnel manager
    /// drains a tunnel that carries any, and re6st's heuristic counts
    /// them).
    pub fn count_through(&self, peer: Address) -> usize {
        self.by_peer.range((peer, 0)..=(peer, u64::MAX)).count()
    }

    /// Records that route `h` uses neighbour `peer` on one of its sides.
    fn index_peer(&mut self, h: u64, peer: Address) {
        self.by_peer.insert((peer, h));
    }

    /// No link to `peer` is left, or the peer lost its state (it
    /// restarted): every route through it is broken and torn down toward
    /// its other side. Costs O(routes through `peer`).
    pub fn on_neighbour_lost(&mut self, peer: Address) {
        self.neighbours.remove(&peer);
        self.draining_peers.remove(&peer);
        if !self.lost_lately.contains(&peer) {
            if self.lost_lately.len() >= LOST_KEPT {
                self.lost_lately.pop_front();
            }
            self.lost_lately.push_back(peer);
        }
        self.work.remove(&peer);
        for h in self.routes_through(peer) {
            self.teardown(h, RouteCloseReason::LinkFailed, Some(peer));
        }
        self.guard.forget(peer);
    }

    /// The session with `peer` was replaced on one of its links: what the
    /// peer held for our routes may be gone (it restarted) or torn down (it
    /// found the link dead). Every route through it breaks, and the peer is
    /// told, so both ends agree whichever it was.
    pub fn on_neighbour_reset(&mut self, peer: Address) {
        for h in self.routes_through(peer) {
            self.teardown(h, RouteCloseReason::LinkFailed, None);
        }
    }

    /// Removes a route, tells its neighbours (except `failed`), and tells
    /// the application if this node is an end. Costs O(log n): the route's
    /// own index entries are removed by key.
    fn teardown(&mut self, h: u64, reason: RouteCloseReason, failed: Option<Address>) {
        let Some(r) = self.routes.remove(&h) else {
            return;
        };
        self.stats.entries -= 1;
        self.forget_timers(h);
        if let Some(up) = r.up {
            self.guard
                .refund(up.peer, r.charged[FORWARD], r.entry_charged);
        }
        if let Some(down) = r.down {
            self.guard.refund(down.peer, r.charged[BACKWARD], false);
        }
        for adj in [r.up, r.down].into_iter().flatten() {
            if self
                .inbound
                .get(&(adj.peer, adj.rx))
                .is_some_and(|e| e.0 == h)
            {
                self.inbound.remove(&(adj.peer, adj.rx));
            }
            self.by_peer.remove(&(adj.peer, h));
        }
        if let Some((peer, rx)) = r.role.extending().and_then(|x| x.sent) {
            self.inbound.remove(&(peer, rx));
        }
        if let Some(hop) = r.role.hop() {
            self.created_by.remove(&hop.created_key);
        }
        for adj in [r.up, r.down].into_iter().flatten() {
            if Some(adj.peer) != failed && adj.tx != RouteId([0; 16]) {
                let frame = crate::wire::RouteTeardownFrame {
                    route: adj.tx,
                    reason: teardown_reason(reason, r.role.is_end()),
                };
                self.queue_ctrl(adj.peer, crate::wire::RouteFrame::Teardown(frame));
            }
            if let Some(w) = self.work.get_mut(&adj.peer) {
                let rank = class_rank(r.class);
                for d in [FORWARD, BACKWARD] {
                    w.active.remove(&(rank, h, d));
                    w.credits.remove(&(h, d));
                }
            }
        }
        if r.role.is_end() {
            self.events.push_back(Event::RouteClosed {
                route: RouteHandle(h),
                reason,
            });
        }
    }
}

/// How a teardown names its cause to the rest of the route: closed on
/// purpose by an end (an end that idles out closes it too), or broken at a
/// hop (a connection above builds a new route only after this).
fn teardown_reason(reason: RouteCloseReason, at_an_end: bool) -> u8 {
    match reason {
        RouteCloseReason::Local | RouteCloseReason::Remote => crate::wire::TEARDOWN_CLOSED,
        RouteCloseReason::Idle if at_an_end => crate::wire::TEARDOWN_CLOSED,
        _ => crate::wire::TEARDOWN_BROKEN,
    }
}
