//! The node's connection API (see [`crate::connection`]).

use super::Node;
use super::discovery::{find_path, find_toward};
use crate::connection::{ConnectionHandle, ConnectionInfo};
use crate::discovery::find::Destination;
use crate::dispatch::flush;
use crate::identity::Address;
use crate::interface::{CommandError, Event};
use crate::route::RouteKind;
use crate::time::Time;
use crate::wire::Class;

impl Node {
    /// Opens a connection along `path` (the hops after this node, as for
    /// [`Node::open_route`]). Its first route is built at once; it can carry
    /// messages after [`Event::ConnectionUp`]. When its route breaks, the
    /// connection builds a new one under `Config::reopen`
    /// ([`Event::ConnectionBroken`], then `ConnectionUp` again).
    pub fn connect(
        &mut self,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        self.connections
            .open(self.now, &mut self.routes, path, None, class, kind)
    }

    /// Opens a connection to `destination` along the best path in this
    /// node's topology database (see [`Command::ConnectTo`]); each route
    /// that replaces a broken one asks the database again.
    ///
    /// [`Command::ConnectTo`]: crate::Command::ConnectTo
    pub fn connect_to(
        &mut self,
        destination: Destination,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        let enabled = self.config.discovery.is_some();
        let stale = self.stale_own_links();
        let path = find_path(
            enabled,
            &self.discovery.db,
            self.identity.address(),
            destination,
            &stale,
        )
        .map_err(|reason| CommandError::NoPath {
            destination,
            reason,
        })?;
        self.connections
            .open(self.now, &mut self.routes, path, None, class, kind)
            .inspect(|&h| self.connections.set_destination(h, destination, None))
    }

    /// Opens a connection to `node`, a node of mesh `mesh` (n-order meshes):
    /// as [`Node::connect_to`] when this node's database holds it (a
    /// mesh of its own); else its route goes to the nearest border node
    /// that leads to `mesh`, which finds the way on (a segment). Each
    /// route that replaces a broken one asks again.
    pub fn connect_in_mesh(
        &mut self,
        node: Address,
        mesh: u16,
        class: Class,
        kind: RouteKind,
    ) -> Result<ConnectionHandle, CommandError> {
        let enabled = self.config.discovery.is_some();
        let stale = self.stale_own_links();
        let me = self.identity.address();
        let mine = self.discovery.meshes().to_vec();
        let destination = Destination::Node(node);
        let (path, segment) =
            find_toward(enabled, &self.discovery.db, me, &mine, (node, mesh), &stale).map_err(
                |reason| CommandError::NoPath {
                    destination,
                    reason,
                },
            )?;
        self.connections
            .open(self.now, &mut self.routes, path, segment, class, kind)
            .inspect(|&h| self.connections.set_destination(h, destination, Some(mesh)))
    }

    /// Sends a message on the connection's route (see [`Node::route_send`]).
    /// Between routes it is refused with
    /// [`CommandError::ConnectionNotReady`].
    pub fn connection_send(
        &mut self,
        connection: ConnectionHandle,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        if self.sets.owns(connection) {
            flush(&mut self.events, &mut self.routes);
            let now = self.now;
            return self
                .sets
                .send(now, connection, data, &mut self.routes, &self.config.sets);
        }
        let route = self.connections.route(connection)?;
        match self.routes.send(route, data) {
            // The route closed and its event has not left the node yet.
            Err(CommandError::UnknownRoute(_) | CommandError::RouteNotReady(_)) => {
                Err(CommandError::ConnectionNotReady(connection))
            }
            r => r,
        }
    }

    /// Whether a message of `len` bytes fits on the connection's route now.
    pub fn connection_has_room(&self, connection: ConnectionHandle, len: usize) -> bool {
        if self.sets.owns(connection) {
            return self.sets.has_room(connection, len, &self.config.sets);
        }
        self.connections
            .route(connection)
            .is_ok_and(|r| self.routes.has_room(r, len))
    }

    /// Closes a connection and its route; [`Event::ConnectionClosed`]
    /// follows.
    pub fn close_connection(&mut self, connection: ConnectionHandle) -> Result<(), CommandError> {
        flush(&mut self.events, &mut self.routes);
        if self.sets.owns(connection) {
            // What happened before the close comes out before it.
            let now = self.now;
            self.settle_events(now);
            return self.sets.close(connection, &mut self.routes);
        }
        self.connections
            .close(connection, &mut self.routes, &mut self.events)
    }

    /// A connection's state, its route and how often it was replaced.
    pub fn connection(&self, connection: ConnectionHandle) -> Option<ConnectionInfo> {
        let mut info = self.connections.info(connection)?;
        // A route into another mesh grew past the path it was opened with
        // (segments): the hops it took.
        if let Some(p) = info.route.and_then(|r| self.routes.origin_path(r))
            && p.len() > info.path.len()
        {
            info.path = p.to_vec();
        }
        Some(info)
    }

    /// Every open connection, in handle order.
    pub fn connections(&self) -> impl Iterator<Item = ConnectionHandle> + '_ {
        self.connections.handles()
    }

    /// The next event for the application: the one event queue, with the
    /// events of connections' routes turned into connection events.
    pub(super) fn next_event(&mut self, now: Time) -> Option<Event> {
        self.settle_events(now);
        self.sets.out.pop_front()
    }

    /// Translates every event queued so far, in order, into the queue the
    /// application reads (`sets.out`). Route sets add their own events
    /// (a suspicion, a switch, a close) to the same queue, after settling:
    /// so they never come out ahead of older events.
    pub(super) fn settle_events(&mut self, now: Time) {
        loop {
            flush(&mut self.events, &mut self.routes);
            let Some(e) = self.events.pop_front() else {
                return;
            };
            let Some(e) = self.serve_escrow(e) else {
                continue;
            };
            let Some(e) = self.connections.translate(now, e, &self.config.reopen) else {
                continue;
            };
            let connections = &mut self.connections;
            if let Some(e) =
                self.sets
                    .translate(now, e, &mut self.routes, &self.config.sets, &mut || {
                        connections.alloc()
                    })
            {
                self.sets.out.push_back(e);
            }
        }
    }
}
