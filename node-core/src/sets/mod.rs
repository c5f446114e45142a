//! Route sets: a connection carried by several routes at once (issue 13).
//!
//! A plain connection (`crate::connection`) has one route and builds a new
//! one when it breaks: what the broken route held is lost with it. A
//! *route set* keeps `count` routes to its destination, along disjoint
//! paths where the topology database has them, and numbers its messages
//! across them:
//!
//! - **Failover**: one route (the *active* one) carries the traffic; the
//!   others stand by, built, probed ([`SetConfig::probe_interval`]: a
//!   probe keeps a standby past the route idle timeout and shows whether
//!   it still works) and ready. A route-level failure detector runs at the
//!   scale of the route's own RTT: a route that carries something and
//!   confirms nothing end to end for [`SetConfig::detect_rtts`] smoothed
//!   RTTs (within `min_detect ..= max_detect`) is suspected, long before
//!   the links' dead interval. A suspected route is closed, its traffic
//!   moves to the best standby at once
//!   ([`Event::ConnectionSwitched`]), and a replacement is built in the
//!   background, around the failed route's links.
//! - **Aggregate**: every route carries traffic; each message goes on the
//!   route that would confirm it soonest (its measured delivery rate and
//!   least RTT, with what it already carries), and no route carries more
//!   unconfirmed than twice what it delivers in its least RTT (at least
//!   [`SetConfig::min_unconfirmed`]), so routes
//!   of unequal rates share in proportion and a slow one does not hold
//!   the rest back.
//!
//! **Exactly once, in order.** The sender keeps every message in its store
//! until one of the routes confirms it end to end (the route's own
//! confirmation of its stream: `RouteDelivered`); a route that fails
//! gives back what it carried unconfirmed, which goes again on the
//! routes left. The receiver puts messages back in order by number and
//! drops copies. So nothing held in the relay buffers of a broken route
//! is lost: it is sent again from the origin's store.
//!
//! **The receiving end.** The route's BEGIN (under the onion: only the
//! destination reads it) names the set by a random 16-byte token; the
//! destination files the route under it. Its routes' messages come out as
//! one connection ([`Event::ConnectionIncoming`], then
//! `ConnectionMessage`), and replies go back on the route the origin's
//! traffic came by last. A set left with no route waits
//! [`SetConfig::linger`] for the origin to build one, then closes.
//! Bounds a sender cannot push past, each refusal counted: at most
//! [`SetConfig::max_inbound`] sets, [`SetConfig::max_members`] routes per
//! set, [`SetConfig::reorder_limit`] bytes held out of order.
//!
//! Both ends' sets are in the node's one timer table (one entry, the
//! earliest deadline of all sets) and their events in its one queue.

mod member;
mod reorder;
mod set;
mod types;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::connection::ConnectionHandle;
use crate::discovery::find::{Destination, NoPath};
use crate::identity::Address;
use crate::interface::{CommandError, Event, RouteCloseReason, RouteHandle};
use crate::route::Routes;
use crate::time::{Duration, Time};
use crate::wire::{Class, SET_DATA_OVERHEAD};

use set::{RouteSet, Target};

pub use types::{SetConfig, SetInfo, SetMode, SetRouteInfo, SetSpec, SetStats};

/// The pulse layer's advice: the path traffic to a destination should take.
pub(crate) type Advise<'a> = &'a mut dyn FnMut(Address) -> Option<Vec<Address>>;

/// How often a steered set asks the pulse layer.
pub const STEER_CHECK: Duration = Duration::from_millis(100);

/// Path finding for a set's routes: `(destination, k, links to avoid)`.
pub(crate) type Find<'a> = &'a mut dyn FnMut(
    Destination,
    usize,
    &BTreeSet<(Address, Address)>,
) -> Result<Vec<Vec<Address>>, NoPath>;

/// Every route set of a node, both ends.
#[derive(Default)]
pub(crate) struct Sets {
    sets: BTreeMap<u64, RouteSet>,
    by_route: BTreeMap<RouteHandle, u64>,
    /// Receiving sets by token.
    by_token: BTreeMap<[u8; 16], u64>,
    /// Routes a set closed itself: their `RouteClosed` is nobody's event.
    swallow: BTreeSet<RouteHandle>,
    /// Events for the application, in order.
    pub out: VecDeque<Event>,
    /// Timer entry last given to the node's table.
    pub table_at: Time,
    /// Routes refused: a new receiving set past `max_inbound`, or a route
    /// past `max_members`.
    pub refused: u64,
    /// An event was taken in since the node last asked: what it meant may
    /// be work for the links (see [`Sets::take_pumped`]).
    pumped: bool,
    /// Bytes all sets hold out of order (`SetConfig::reorder_budget`).
    held: usize,
}

impl Sets {
    /// Whether an event was taken in since the last call (the node polls
    /// its links again: a set may have queued data as it heard of a
    /// loss).
    pub fn take_pumped(&mut self) -> bool {
        std::mem::take(&mut self.pumped)
    }

    /// Whether `c` is a route set.
    pub fn owns(&self, c: ConnectionHandle) -> bool {
        self.sets.contains_key(&c.0)
    }

    /// A new origin set `h` to `target`; its first routes are opened now.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        now: Time,
        h: u64,
        token: [u8; 16],
        target: Result<Destination, Vec<Vec<Address>>>,
        spec: SetSpec,
        class: Class,
        routes: &mut Routes,
        cfg: &SetConfig,
        find: Find<'_>,
    ) -> Result<ConnectionHandle, CommandError> {
        if spec.count == 0 || spec.count > cfg.max_members {
            return Err(CommandError::InvalidPath(
                "a route set keeps 1 ..= max_members routes",
            ));
        }
        if spec.mode == SetMode::Steered && !matches!(target, Ok(Destination::Node(_))) {
            return Err(CommandError::InvalidPath(
                "a steered set needs a destination node (of the pulse group)",
            ));
        }
        let target = match target {
            Ok(d) => {
                // Said now, not after a silent wait.
                find(d, 1, &BTreeSet::new()).map_err(|reason| CommandError::NoPath {
                    destination: d,
                    reason,
                })?;
                Target::Discover(d)
            }
            Err(paths) => {
                if paths.is_empty() || paths.iter().any(|p| p.is_empty()) {
                    return Err(CommandError::InvalidPath("a route needs at least one hop"));
                }
                Target::Paths(paths)
            }
        };
        let c = ConnectionHandle(h);
        let mut s = RouteSet::new(c, token, class, (spec.mode, spec.count), Some(target));
        s.rebuild(now, routes, find);
        if s.missing() > 0 {
            // Fewer paths than routes asked for: look again later.
            s.rebuild_at = now + cfg.rebuild.wait(1);
        }
        if s.members.is_empty() {
            return Err(CommandError::InvalidPath(
                "no route of the set could be opened",
            ));
        }
        for m in &s.members {
            self.by_route.insert(m.route, h);
        }
        self.sets.insert(h, s);
        Ok(c)
    }

    fn largest(routes: &Routes) -> usize {
        routes
            .buffer_size()
            .saturating_sub(crate::route::endpoint::stream_len(0))
    }

    /// The least and most a route may carry unconfirmed.
    fn caps(routes: &Routes, cfg: &SetConfig) -> (usize, usize) {
        (cfg.min_unconfirmed, Self::largest(routes))
    }

    /// Queues a message on set `c`.
    pub fn send(
        &mut self,
        now: Time,
        c: ConnectionHandle,
        data: Vec<u8>,
        routes: &mut Routes,
        cfg: &SetConfig,
    ) -> Result<(), CommandError> {
        let s = self
            .sets
            .get_mut(&c.0)
            .ok_or(CommandError::UnknownConnection(c))?;
        let most = Self::largest(routes).saturating_sub(SET_DATA_OVERHEAD + 64);
        if data.len() > most {
            return Err(CommandError::MessageTooLarge {
                size: data.len(),
                limit: most,
            });
        }
        if !s.send(data, cfg) {
            return Err(CommandError::ConnectionFull(c));
        }
        s.pump(now, routes, Self::caps(routes, cfg));
        Ok(())
    }

    /// Whether set `c` takes a message of `len` bytes now.
    pub fn has_room(&self, c: ConnectionHandle, len: usize, cfg: &SetConfig) -> bool {
        self.sets.get(&c.0).is_some_and(|s| s.has_room(len, cfg))
    }

    /// Closes set `c` and its routes.
    pub fn close(&mut self, c: ConnectionHandle, routes: &mut Routes) -> Result<(), CommandError> {
        let s = self
            .sets
            .remove(&c.0)
            .ok_or(CommandError::UnknownConnection(c))?;
        self.held -= s.reorder.held_bytes();
        if !s.is_origin() {
            self.by_token.remove(&s.token);
        }
        for m in &s.members {
            self.let_go(m.route, routes);
        }
        self.out.push_back(Event::ConnectionClosed {
            connection: c,
            reason: crate::connection::ConnectionCloseReason::Local,
        });
        Ok(())
    }

    /// Takes an event leaving the node: one of a set's routes is the set's
    /// business (`None`: what it means is in `out`); any other is handed
    /// back.
    pub fn translate(
        &mut self,
        now: Time,
        e: Event,
        routes: &mut Routes,
        cfg: &SetConfig,
        alloc: &mut dyn FnMut() -> u64,
    ) -> Option<Event> {
        let route = match &e {
            Event::RouteUp { route }
            | Event::RouteMessage { route, .. }
            | Event::RouteDelivered { route, .. }
            | Event::RouteDraining { route, .. }
            | Event::RouteClosed { route, .. }
            | Event::RouteIncoming { route, .. } => *route,
            _ => return Some(e),
        };
        self.take(now, e, route, routes, cfg, alloc)
    }

    /// [`Self::translate`] for a route event.
    fn take(
        &mut self,
        now: Time,
        e: Event,
        route: RouteHandle,
        routes: &mut Routes,
        cfg: &SetConfig,
        alloc: &mut dyn FnMut() -> u64,
    ) -> Option<Event> {
        if !self.swallow.contains(&route)
            && !self.by_route.contains_key(&route)
            && !matches!(e, Event::RouteIncoming { .. })
        {
            return Some(e);
        }
        self.pumped = true;
        if self.swallow.contains(&route) {
            // A route the set let go of (closed it, refused it, or closed
            // the set): none of its events is anyone's, up to its close.
            if let Event::RouteClosed { .. } = e {
                self.swallow.remove(&route);
            }
            return None;
        }
        if let Event::RouteIncoming { class, .. } = e {
            let Some(token) = routes.set_of(route) else {
                return Some(e);
            };
            return self.incoming(now, route, token, class, routes, cfg, alloc);
        }
        let Some(&h) = self.by_route.get(&route) else {
            return Some(e);
        };
        let max_cap = Self::caps(routes, cfg);
        let Some(s) = self.sets.get_mut(&h) else {
            // Cannot be (a set's close lets go of its routes); the route
            // is not the application's either.
            self.by_route.remove(&route);
            return None;
        };
        match e {
            Event::RouteUp { route } => s.on_up(now, route, cfg, &mut self.out),
            Event::RouteDelivered { route, bytes } => {
                s.on_delivered(now, route, bytes, cfg, &mut self.out)
            }
            Event::RouteMessage { route, data } => {
                // The node-wide budget for what receivers hold out of
                // order (many sets from many peers must not add up past
                // it).
                let before = s.reorder.held_bytes();
                let room = cfg.reorder_budget.saturating_sub(self.held);
                s.on_message(route, &data, (cfg, room), &mut self.out);
                self.held = self.held - before + s.reorder.held_bytes();
            }
            Event::RouteDraining { route, link } => {
                s.on_draining(now, route, link, cfg, &mut self.out)
            }
            Event::RouteClosed { route, reason } => {
                self.by_route.remove(&route);
                s.on_lost(now, route, reason, cfg, &mut self.out);
                self.after_loss(h);
            }
            _ => unreachable!("matched above"),
        }
        if let Some(s) = self.sets.get_mut(&h) {
            s.pump(now, routes, max_cap);
            for r in s.retire() {
                self.let_go(r, routes);
            }
        }
        None
    }

    /// A route ends here and names set `token`.
    #[allow(clippy::too_many_arguments)]
    fn incoming(
        &mut self,
        now: Time,
        route: RouteHandle,
        token: [u8; 16],
        class: Class,
        routes: &mut Routes,
        cfg: &SetConfig,
        alloc: &mut dyn FnMut() -> u64,
    ) -> Option<Event> {
        let h = match self.by_token.get(&token) {
            Some(&h) => h,
            None if self.by_token.len() >= cfg.max_inbound => {
                self.refuse(route, routes);
                return None;
            }
            None => {
                let h = alloc();
                let s = RouteSet::new(
                    ConnectionHandle(h),
                    token,
                    class,
                    (SetMode::Failover, 0),
                    None,
                );
                self.sets.insert(h, s);
                self.by_token.insert(token, h);
                self.out.push_back(Event::ConnectionIncoming {
                    connection: ConnectionHandle(h),
                    class,
                });
                h
            }
        };
        let s = self.sets.get_mut(&h).expect("filed above");
        if s.members.len() >= cfg.max_members {
            self.refuse(route, routes);
            return None;
        }
        let mut m = member::Member::new(route, Vec::new(), now);
        m.on_up(now, cfg);
        s.members.push(m);
        s.count = s.members.len();
        s.empty_since = None;
        if s.active.is_none() {
            s.active = Some(route);
        }
        self.by_route.insert(route, h);
        let max_cap = Self::caps(routes, cfg);
        s.pump(now, routes, max_cap);
        None
    }

    fn refuse(&mut self, route: RouteHandle, routes: &mut Routes) {
        self.refused += 1;
        self.let_go(route, routes);
    }

    /// Closes `route` for good: its events, queued or to come, are
    /// swallowed up to its `RouteClosed` (which always comes: a close, or
    /// the break that made `close` fail, is queued).
    fn let_go(&mut self, route: RouteHandle, routes: &mut Routes) {
        self.by_route.remove(&route);
        let _ = routes.close(route);
        self.swallow.insert(route);
    }

    /// After a route of set `h` was lost: an origin left with no route
    /// says so.
    fn after_loss(&mut self, h: u64) {
        let s = self.sets.get_mut(&h).expect("live set");
        if s.is_origin()
            && s.members.iter().all(|m| !m.up)
            && let Some((route, reason)) = s.last_break
        {
            self.out.push_back(Event::ConnectionBroken {
                connection: s.handle,
                route,
                reason,
                retry_at: s.rebuild_at,
            });
        }
    }

    /// The earliest deadline of every set.
    pub fn deadline(&self, cfg: &SetConfig) -> Time {
        self.sets
            .values()
            .map(|s| s.deadline(cfg))
            .min()
            .unwrap_or(Time::NEVER)
    }

    /// Runs every set's due work: failure detection, probes, rebuilding,
    /// and closing receiving sets that lingered with no route.
    pub fn fire(
        &mut self,
        now: Time,
        routes: &mut Routes,
        cfg: &SetConfig,
        find: Find<'_>,
        advise: Advise<'_>,
    ) {
        let policy = &cfg.rebuild;
        let max_cap = Self::caps(routes, cfg);
        let due: Vec<u64> = self
            .sets
            .iter()
            .filter(|(_, s)| s.deadline(cfg) <= now)
            .map(|(&h, _)| h)
            .collect();
        for h in due {
            let s = self.sets.get_mut(&h).expect("listed above");
            // Both ends watch what they sent: a route that confirms
            // nothing for the detector's time is let go of, and what it
            // carried goes on the others (the origin also replaces it).
            let suspects = s.suspects(now, cfg);
            for &r in &suspects {
                s.stats.suspected += 1;
                if s.is_origin() {
                    self.out.push_back(Event::ConnectionSuspected {
                        connection: s.handle,
                        route: r,
                    });
                }
                s.on_lost(now, r, RouteCloseReason::Broken, cfg, &mut self.out);
            }
            let origin = s.is_origin();
            for &r in &suspects {
                self.let_go(r, routes);
            }
            if origin && !suspects.is_empty() {
                self.after_loss(h);
            }
            let s = self.sets.get_mut(&h).expect("listed above");
            if !origin {
                s.pump(now, routes, max_cap);
                if s.empty_since.is_some_and(|t| t + cfg.linger <= now) {
                    let reason = s.last_break.map_or(RouteCloseReason::Idle, |b| b.1);
                    let s = self.sets.remove(&h).expect("listed");
                    self.held -= s.reorder.held_bytes();
                    self.by_token.remove(&s.token);
                    self.out.push_back(Event::ConnectionClosed {
                        connection: s.handle,
                        reason: crate::connection::ConnectionCloseReason::Route(reason),
                    });
                }
                continue;
            }
            s.probe(now, routes, cfg);
            if s.mode == SetMode::Steered && s.steer_at <= now {
                s.steer_at = now + STEER_CHECK;
                if let Some(set::Target::Discover(Destination::Node(d))) = s.target {
                    let advice = advise(d);
                    let (opened, closed) = s.steer(now, advice, routes, &mut self.out, cfg);
                    if let Some(r) = opened {
                        self.by_route.insert(r, h);
                    }
                    if let Some(r) = closed {
                        self.let_go(r, routes);
                    }
                }
            }
            let s = self.sets.get_mut(&h).expect("listed above");
            if s.rebuild_at <= now && s.missing() > 0 {
                if s.failures > policy.max_attempts && s.members.is_empty() {
                    let reason = s.last_break.map_or(RouteCloseReason::Broken, |b| b.1);
                    let s = self.sets.remove(&h).expect("listed");
                    self.held -= s.reorder.held_bytes();
                    self.out.push_back(Event::ConnectionClosed {
                        connection: s.handle,
                        reason: crate::connection::ConnectionCloseReason::GaveUp(reason),
                    });
                    continue;
                }
                if s.rebuild(now, routes, find) == 0 {
                    // No path to build on: a failed try, so that a set
                    // whose destination vanished gives up in the end.
                    s.failures = s.failures.saturating_add(1);
                }
                for m in &s.members {
                    self.by_route.insert(m.route, h);
                }
                if s.missing() > 0 {
                    // Not enough paths now: try again later, backing off
                    // as a plain connection does.
                    s.rebuild_at = now + policy.wait(s.failures.max(1));
                }
            } else if s.missing() == 0 {
                s.rebuild_at = Time::NEVER;
            }
            s.pump(now, routes, max_cap);
            for r in s.retire() {
                self.let_go(r, routes);
            }
        }
    }

    /// A set's snapshot.
    pub fn info(&self, c: ConnectionHandle) -> Option<SetInfo> {
        let s = self.sets.get(&c.0)?;
        Some(SetInfo {
            mode: s.mode,
            count: s.count,
            routes: s
                .members
                .iter()
                .map(|m| SetRouteInfo {
                    route: m.route,
                    path: m.path.clone(),
                    up: m.up,
                    active: s.active == Some(m.route),
                    srtt: m.srtt.map(Duration::from_nanos),
                    rate_bps: m.rate.saturating_mul(8),
                    unconfirmed: m.inflight_bytes,
                })
                .collect(),
            stored: s.store_bytes,
            reorder_held: s.reorder.held_bytes(),
            reorder_max: s.reorder.max_held,
            duplicates: s.reorder.duplicates,
            stats: s.stats,
        })
    }

    /// Every set, in handle order.
    pub fn handles(&self) -> impl Iterator<Item = ConnectionHandle> + '_ {
        self.sets.keys().map(|&h| ConnectionHandle(h))
    }
}
