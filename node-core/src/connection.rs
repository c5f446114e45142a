//! Connections: what an application holds to a destination, above the
//! routes that carry it.
//!
//! A route is one path, built once; when it breaks it is gone. A
//! *connection* names the destination (for now by the path the application
//! gives; the discovery layer later gives it a set of routes) and outlives
//! its routes: when its route breaks, the connection waits and builds a new
//! one along the same path, under the node's [`ReopenPolicy`]
//! (`Config::reopen`), so a real node and the simulator reopen the same
//! way. The application sees connection events instead of the events of
//! the routes under it:
//!
//! | route event (of a connection's route) | connection event |
//! |---|---|
//! | `RouteUp` | [`ConnectionUp`](crate::Event::ConnectionUp) (first route or a new one) |
//! | `RouteMessage` | [`ConnectionMessage`](crate::Event::ConnectionMessage) |
//! | `RouteDelivered` | [`ConnectionDelivered`](crate::Event::ConnectionDelivered) |
//! | `RouteClosed`, broken (`Broken`, `LinkFailed`, `SetupFailed`) | [`ConnectionBroken`](crate::Event::ConnectionBroken) with the time of the next try, or [`ConnectionClosed`](crate::Event::ConnectionClosed) once `max_attempts` tries in a row failed |
//! | `RouteClosed`, on purpose (`Remote`, `Idle`, `Local`) | [`ConnectionClosed`](crate::Event::ConnectionClosed) |
//!
//! The translation happens as events leave the node, so connection events
//! keep the order of the route events they stand for.
//!
//! What a broken route held is lost with it: a connection does not carry
//! data over from one route to the next (the application resends what it
//! needs; `ConnectionDelivered` names the route whose bytes it confirms).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::discovery::find::{Destination, NoPath};
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteHandle};
use crate::route::{RouteKind, Routes};
use crate::time::{Duration, Time};
use crate::wire::Class;

/// A connection, as the application knows it: a handle local to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionHandle(pub u64);

impl fmt::Display for ConnectionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection{}", self.0)
    }
}

/// How a connection replaces a broken route: the first try after `delay`,
/// each further try in a row after twice the previous wait, at most
/// `max_delay`; after `max_attempts` tries in a row that did not bring a
/// route up, the connection closes. A route that comes up resets the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReopenPolicy {
    /// The wait before the first new route.
    pub delay: Duration,
    /// The longest wait between tries.
    pub max_delay: Duration,
    /// Tries in a row before the connection gives up (0: never reopen).
    pub max_attempts: u32,
}

impl Default for ReopenPolicy {
    fn default() -> Self {
        ReopenPolicy {
            delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(3),
            max_attempts: 20,
        }
    }
}

impl ReopenPolicy {
    /// The wait before try number `attempt` (1 is the first).
    pub fn wait(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let ns = self
            .delay
            .as_nanos()
            .saturating_mul(1u64 << doublings.min(63));
        Duration::from_nanos(ns.min(self.max_delay.as_nanos()))
    }
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// A route is being built.
    Opening,
    /// Its route is up: messages can be sent.
    Up,
    /// Its route broke; the next one is built at `until`.
    Waiting {
        /// When.
        until: Time,
    },
}

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionCloseReason {
    /// This node closed it.
    Local,
    /// Its route was closed on purpose by the other end, or idled out.
    Route(RouteCloseReason),
    /// `max_attempts` routes in a row could not be built or broke before
    /// they came up; the last one closed for this reason.
    GaveUp(RouteCloseReason),
}

/// A snapshot of a connection, for status displays and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The hops after this node, ending at the destination (of its latest
    /// route).
    pub path: Vec<Address>,
    /// The destination, when the path came from the topology database.
    pub destination: Option<Destination>,
    /// Its class.
    pub class: Class,
    /// Stream or datagrams.
    pub kind: RouteKind,
    /// Where it is.
    pub state: ConnectionState,
    /// The route under it now (being built or up).
    pub route: Option<RouteHandle>,
    /// New routes built after the first (tries, whether or not they came up).
    pub reopens: u64,
    /// Tries in a row that have not brought a route up.
    pub failures: u32,
    /// Why its last route broke.
    pub last_break: Option<RouteCloseReason>,
}

struct Connection {
    path: Vec<Address>,
    /// Set when the path came from the topology database: each new route
    /// asks it again.
    destination: Option<Destination>,
    /// n-order meshes: the destination's mesh, when it is another mesh's
    /// node (each route asks the database for the way toward it).
    mesh: Option<u16>,
    class: Class,
    kind: RouteKind,
    state: ConnectionState,
    route: Option<RouteHandle>,
    reopens: u64,
    failures: u32,
    last_break: Option<RouteCloseReason>,
    /// Closed by the application; gone once its route's close is seen.
    closing: bool,
}

impl Connection {
    /// The node and mesh its path stops short of, at a border node (n-order
    /// meshes): the segment its route asks for.
    fn segment(&self) -> Option<(Address, u16)> {
        match (self.destination, self.mesh) {
            (Some(Destination::Node(d)), Some(m)) if self.path.last() != Some(&d) => Some((d, m)),
            _ => None,
        }
    }
}

/// A path from the database, and the segment still to ask for when it
/// ends at a border node short of the destination (n-order meshes).
pub(crate) type Found = (Vec<Address>, Option<(Address, u16)>);

/// The node's connections.
#[derive(Default)]
pub(crate) struct Connections {
    conns: BTreeMap<u64, Connection>,
    /// The connection of each route under one.
    by_route: BTreeMap<RouteHandle, u64>,
    /// Connections waiting to build a route, by when.
    waiting: BTreeSet<(Time, u64)>,
    next: u64,
    /// Timer entry last given to the node's table.
    pub table_at: Time,
}

impl Connections {
    /// A fresh handle (route sets draw theirs from the same counter).
    pub fn alloc(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A new connection along `path`; its first route is opened at once.
    pub fn open(
        &mut self,
        now: Time,
        routes: &mut Routes,
        path: Vec<Address>,
        segment: Option<(Address, u16)>,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, crate::interface::CommandError> {
        let route = routes.open_toward(now, path.clone(), segment, class, kind)?;
        self.next += 1;
        let h = self.next;
        self.by_route.insert(route, h);
        self.conns.insert(
            h,
            Connection {
                path,
                destination: None,
                mesh: segment.map(|s| s.1),
                class,
                kind,
                state: ConnectionState::Opening,
                route: Some(route),
                reopens: 0,
                failures: 0,
                last_break: None,
                closing: false,
            },
        );
        Ok(ConnectionHandle(h))
    }

    /// Notes that `c`'s paths come from the topology database (toward a
    /// node of mesh `mesh`, when it is another mesh's).
    pub fn set_destination(&mut self, c: ConnectionHandle, d: Destination, mesh: Option<u16>) {
        if let Some(conn) = self.conns.get_mut(&c.0) {
            conn.destination = Some(d);
            conn.mesh = mesh;
        }
    }

    /// The route that carries the connection's messages now, if it is up.
    pub fn route(&self, c: ConnectionHandle) -> Result<RouteHandle, crate::CommandError> {
        let conn = self
            .conns
            .get(&c.0)
            .filter(|c| !c.closing)
            .ok_or(crate::CommandError::UnknownConnection(c))?;
        match (conn.state, conn.route) {
            (ConnectionState::Up, Some(r)) => Ok(r),
            _ => Err(crate::CommandError::ConnectionNotReady(c)),
        }
    }

    /// Closes a connection: its route is closed, `ConnectionClosed` is
    /// queued now and the route's own close is swallowed later.
    pub fn close(
        &mut self,
        c: ConnectionHandle,
        routes: &mut Routes,
        events: &mut std::collections::VecDeque<Event>,
    ) -> Result<(), crate::CommandError> {
        let conn = self
            .conns
            .get_mut(&c.0)
            .filter(|c| !c.closing)
            .ok_or(crate::CommandError::UnknownConnection(c))?;
        if let ConnectionState::Waiting { until } = conn.state {
            self.waiting.remove(&(until, c.0));
        }
        match conn.route {
            Some(r) if routes.close(r).is_ok() => conn.closing = true,
            _ => {
                if let Some(r) = conn.route {
                    self.by_route.remove(&r);
                }
                self.conns.remove(&c.0);
            }
        }
        events.push_back(Event::ConnectionClosed {
            connection: c,
            reason: ConnectionCloseReason::Local,
        });
        Ok(())
    }

    /// Turns an event leaving the node into what the application sees:
    /// events of a connection's route become connection events (or none).
    pub fn translate(&mut self, now: Time, e: Event, policy: &ReopenPolicy) -> Option<Event> {
        let route = match &e {
            Event::RouteUp { route }
            | Event::RouteMessage { route, .. }
            | Event::RouteDelivered { route, .. }
            | Event::RouteDraining { route, .. }
            | Event::RouteClosed { route, .. } => *route,
            _ => return Some(e),
        };
        let Some(&h) = self.by_route.get(&route) else {
            return Some(e);
        };
        if let Event::RouteDraining { .. } = e {
            // A plain connection has one route and no second to move to:
            // it is rebuilt when the drained link takes it down. Moving
            // first (make before break) is what route sets do.
            return None;
        }
        let connection = ConnectionHandle(h);
        let conn = self.conns.get_mut(&h).expect("indexed connections exist");
        if conn.closing && matches!(e, Event::RouteClosed { .. }) {
            // `ConnectionClosed` was queued when the application closed it;
            // what its route did before that still comes out first.
            self.by_route.remove(&route);
            self.conns.remove(&h);
            return None;
        }
        Some(match e {
            Event::RouteUp { route } => {
                conn.state = ConnectionState::Up;
                conn.failures = 0;
                Event::ConnectionUp { connection, route }
            }
            Event::RouteMessage { data, .. } => Event::ConnectionMessage { connection, data },
            Event::RouteDelivered { route, bytes } => Event::ConnectionDelivered {
                connection,
                route,
                bytes,
            },
            Event::RouteClosed { route, reason } => {
                self.by_route.remove(&route);
                conn.route = None;
                conn.last_break = Some(reason);
                let broken = matches!(
                    reason,
                    RouteCloseReason::Broken
                        | RouteCloseReason::LinkFailed
                        | RouteCloseReason::SetupFailed(_)
                );
                if !broken {
                    self.conns.remove(&h);
                    return Some(Event::ConnectionClosed {
                        connection,
                        reason: ConnectionCloseReason::Route(reason),
                    });
                }
                // A route that was up and broke starts a new count; one
                // that never came up adds to it.
                if conn.state == ConnectionState::Up {
                    conn.failures = 0;
                }
                match self.try_again(h, now, policy, reason) {
                    Ok(until) => Event::ConnectionBroken {
                        connection,
                        route,
                        reason,
                        retry_at: until,
                    },
                    Err(closed) => closed,
                }
            }
            _ => unreachable!("matched above"),
        })
    }

    /// One more failed try for connection `h`: it waits for the next (when,
    /// returned), or it has had `max_attempts` and closes (the event).
    fn try_again(
        &mut self,
        h: u64,
        now: Time,
        policy: &ReopenPolicy,
        reason: RouteCloseReason,
    ) -> Result<Time, Event> {
        let conn = self.conns.get_mut(&h).expect("live connection");
        conn.failures = conn.failures.saturating_add(1);
        if conn.failures > policy.max_attempts {
            self.conns.remove(&h);
            return Err(Event::ConnectionClosed {
                connection: ConnectionHandle(h),
                reason: ConnectionCloseReason::GaveUp(reason),
            });
        }
        let until = now + policy.wait(conn.failures);
        conn.state = ConnectionState::Waiting { until };
        self.waiting.insert((until, h));
        Ok(until)
    }

    /// The earliest time a connection builds a new route.
    pub fn deadline(&self) -> Time {
        self.waiting.first().map_or(Time::NEVER, |&(t, _)| t)
    }

    /// The connection that set [`Self::deadline`].
    pub fn next_due(&self) -> Option<ConnectionHandle> {
        self.waiting.first().map(|&(_, h)| ConnectionHandle(h))
    }

    /// Builds a new route for every connection whose wait is over (along
    /// the path `find` gives for a connection to a destination). A route
    /// that cannot even be opened, or a destination with no path now,
    /// counts as a failed try.
    pub fn fire(
        &mut self,
        now: Time,
        routes: &mut Routes,
        policy: &ReopenPolicy,
        events: &mut std::collections::VecDeque<Event>,
        find: &mut dyn FnMut(Destination, Option<u16>) -> Result<Vec<Address>, NoPath>,
    ) {
        while let Some(&(t, h)) = self.waiting.first() {
            if t > now {
                break;
            }
            self.waiting.remove(&(t, h));
            let conn = self.conns.get_mut(&h).expect("waiting connections exist");
            conn.reopens += 1;
            if let Some(d) = conn.destination {
                match find(d, conn.mesh) {
                    // Toward another mesh, it may stop at a border node
                    // (`Connection::segment`).
                    Ok(p) => conn.path = p,
                    Err(_) => {
                        // Nothing known leads there now: a failed try; the
                        // database may know more at the next.
                        let reason = conn.last_break.unwrap_or(RouteCloseReason::Broken);
                        if let Err(closed) = self.try_again(h, now, policy, reason) {
                            events.push_back(closed);
                        }
                        continue;
                    }
                }
            }
            let path = conn.path.clone();
            let segment = conn.segment();
            match routes.open_toward(now, path, segment, conn.class, conn.kind) {
                Ok(route) => {
                    conn.state = ConnectionState::Opening;
                    conn.route = Some(route);
                    self.by_route.insert(route, h);
                }
                Err(_) => {
                    // Not reachable today (the path was checked when the
                    // connection opened), but a refusal must not spin.
                    let reason = conn.last_break.unwrap_or(RouteCloseReason::Broken);
                    if let Err(closed) = self.try_again(h, now, policy, reason) {
                        events.push_back(closed);
                    }
                }
            }
        }
    }

    /// A connection's snapshot.
    pub fn info(&self, c: ConnectionHandle) -> Option<ConnectionInfo> {
        let conn = self.conns.get(&c.0).filter(|c| !c.closing)?;
        Some(ConnectionInfo {
            path: conn.path.clone(),
            destination: conn.destination,
            class: conn.class,
            kind: conn.kind,
            state: conn.state,
            route: conn.route,
            reopens: conn.reopens,
            failures: conn.failures,
            last_break: conn.last_break,
        })
    }

    /// Every open connection, in handle order.
    pub fn handles(&self) -> impl Iterator<Item = ConnectionHandle> + '_ {
        self.conns
            .iter()
            .filter(|(_, c)| !c.closing)
            .map(|(&h, _)| ConnectionHandle(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let p = ReopenPolicy {
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_attempts: 5,
        };
        let w: Vec<u64> = (1..=5).map(|a| p.wait(a).as_nanos() / 1_000_000).collect();
        assert_eq!(w, [100, 200, 400, 500, 500]);
        assert_eq!(p.wait(u32::MAX), Duration::from_millis(500));
    }
}
