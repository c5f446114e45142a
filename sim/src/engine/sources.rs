//! Traffic sources: applications on the nodes, as the scenario describes
//! them. A source holds a node-core *connection* to its destination: the
//! node builds its route, and replaces it when it breaks (the reopen policy
//! is the node's, `Config::reopen`, as in `meshnode`); the source only
//! sends while the connection has a route up.

use node_core::{ConnectionHandle, Event, RouteHandle};

use super::protocol::{Population, Protocol};
use super::queue::Origin;
use super::{Ev, World};
use crate::model::TrafficKind;
use crate::traffic::{Header, MessageKind};

impl<P: Population> World<P> {
    pub(super) fn on_event(&mut self, i: usize, e: Event) {
        match e {
            Event::PayCheck {
                pseudonym,
                owed,
                credit,
            } => self.answer_pay_check(i, pseudonym, owed, credit),
            Event::ConnectionUp { connection, route } => {
                let Some(flow) = self.source_of(i, connection) else {
                    return;
                };
                self.note_discovered_path(flow, connection);
                let s = &mut self.sources[flow];
                s.route = Some(route);
                s.up_at = Some(self.now);
                if s.stats.route_setup.is_none() {
                    s.stats.route_setup = Some(
                        self.now
                            .saturating_since(node_core::Time::ZERO + s.spec.start),
                    );
                }
                // Periodic sources tick once their route is up; a tick still
                // pending from before a break carries on instead.
                if s.period().is_some() && !s.ticking {
                    s.ticking = true;
                    self.queue.push(
                        self.now,
                        Origin::flow(flow),
                        Ev::Source { flow: flow as u32 },
                    );
                }
            }
            Event::ConnectionBroken { connection, .. } => {
                if let Some(flow) = self.source_of(i, connection) {
                    // What was in flight on the old route is lost; the node
                    // builds the next one.
                    let s = &mut self.sources[flow];
                    s.route = None;
                    s.up_at = None;
                    s.stats.reopens += 1;
                }
            }
            Event::ConnectionClosed { connection, reason } => {
                if let Some(flow) = self.source_of(i, connection) {
                    let s = &mut self.sources[flow];
                    s.route = None;
                    s.up_at = None;
                    s.closed = Some(format!("{reason:?}"));
                }
            }
            Event::ConnectionMessage { connection, data } => {
                self.fingerprint
                    .record(self.now, i, super::Step::Message, data.len());
                if let Some(h) = Header::parse(&data)
                    && let Some(source) = self.sources.get_mut(h.flow as usize)
                {
                    if source.spec.from == i && source.connection == Some(connection) {
                        if h.kind == MessageKind::Response {
                            source.stats.on_delivery(self.now, &h, data.len());
                        }
                    } else {
                        // A route set's destination end (`sets`).
                        self.on_set_message(i, connection, h, data.len());
                    }
                }
            }
            Event::ConnectionSuspected { connection, .. } => {
                if let Some(flow) = self.source_of(i, connection) {
                    self.sources[flow].stats.suspected_at.push(self.now);
                }
            }
            Event::ConnectionSwitched { connection, .. } => {
                if let Some(flow) = self.source_of(i, connection) {
                    self.sources[flow].stats.switched_at.push(self.now);
                }
            }
            Event::RouteClosed { route, .. } => {
                self.dest_routes.remove(&(i, route));
            }
            Event::RouteMessage { route, data } => self.on_message(i, route, data),
            Event::LinkEstablished { .. } | Event::LinkDead { .. } | Event::LinkClosed { .. } => {
                self.topology_may_change()
            }
            _ => {}
        }
    }

    fn source_of(&self, node: usize, connection: ConnectionHandle) -> Option<usize> {
        self.sources
            .iter()
            .position(|s| s.spec.from == node && s.connection == Some(connection))
    }

    /// A message on a route that ends here (the destination's side).
    fn on_message(&mut self, i: usize, route: RouteHandle, data: Vec<u8>) {
        self.fingerprint
            .record(self.now, i, super::Step::Message, data.len());
        let Some(h) = Header::parse(&data) else {
            return;
        };
        let Some(source) = self.sources.get(h.flow as usize) else {
            return;
        };
        let here = self.is_destination(&source.spec, i);
        if here && h.kind != MessageKind::Response && self.bound_for_internet(i, &h) {
            self.dest_routes.entry((i, route)).or_insert(h.flow);
            self.enqueue_uplink(i, h, data.len(), super::gateway::Back::Route(route));
            return;
        }
        let source = &mut self.sources[h.flow as usize];
        match h.kind {
            MessageKind::Data if here => {
                self.dest_routes.entry((i, route)).or_insert(h.flow);
                source.stats.on_delivery(self.now, &h, data.len());
            }
            MessageKind::Request if here => {
                let TrafficKind::RequestResponse { response, .. } = source.spec.kind else {
                    return;
                };
                self.dest_routes.entry((i, route)).or_insert(h.flow);
                let reply = Header {
                    kind: MessageKind::Response,
                    ..h
                }
                .message(response);
                if self.nodes[i].node.route_send(route, reply).is_ok() {
                    self.sources[h.flow as usize].stats.responses_sent += 1;
                }
            }
            _ => {}
        }
    }

    /// Keeps the bulk sources of node `i` queued up; returns whether it
    /// queued anything (the node must then be polled again).
    pub(super) fn top_up_bulk(&mut self, i: usize) -> bool {
        let mut queued = false;
        for k in 0..self.bulk_by_node[i].len() {
            let flow = self.bulk_by_node[i][k];
            let s = &self.sources[flow as usize];
            if !s.active(self.now) || !s.ready() || !self.nodes[i].alive {
                continue;
            }
            let conn = s.connection.expect("ready sources have connections");
            loop {
                let s = &mut self.sources[flow as usize];
                let TrafficKind::Bulk { message, .. } = s.spec.kind else {
                    break;
                };
                if !self.nodes[i]
                    .node
                    .connection_has_room(conn, message.max(crate::traffic::HEADER_LEN))
                {
                    break;
                }
                let Some(m) = s.next_bulk(self.now, flow) else {
                    break;
                };
                let len = m.len() as u64;
                self.sources[flow as usize].stats.on_offer(self.now);
                match self.nodes[i].node.connection_send(conn, m) {
                    Ok(()) => {
                        let s = &mut self.sources[flow as usize];
                        s.stats.sent_messages += 1;
                        s.stats.sent_bytes += len;
                        queued = true;
                    }
                    Err(_) => {
                        self.sources[flow as usize].stats.rejected += 1;
                        break;
                    }
                }
            }
        }
        queued
    }

    pub(super) fn run_source(&mut self, flow: usize) {
        let s = &self.sources[flow];
        let from = s.spec.from;
        if !s.active(self.now) || !self.nodes[from].alive {
            self.sources[flow].ticking = false;
            return;
        }
        if s.connection.is_none() && s.spec.discover {
            self.connect_discovered(flow);
            return;
        }
        if s.connection.is_none() {
            // The first event of a source opens its connection; sending
            // starts when its route is up.
            let path: Vec<_> = s.spec.path[1..]
                .iter()
                .map(|&n| {
                    self.population
                        .address(n)
                        .expect("node-core nodes have addresses")
                })
                .collect();
            let (class, kind) = (s.spec.class, s.spec.transport);
            match self.nodes[from].node.connect(path, class, kind) {
                Ok(c) => self.sources[flow].connection = Some(c),
                Err(e) => self.sources[flow].closed = Some(e.to_string()),
            }
            self.drive(from);
            return;
        }
        if !s.ready() {
            // The tick chain stops; the next `ConnectionUp` starts it again.
            self.sources[flow].ticking = false;
            return;
        }
        if matches!(s.spec.kind, TrafficKind::Bulk { .. }) {
            self.drive(from); // drive tops bulk sources up
            return;
        }
        let period = s.period().expect("periodic source");
        let conn = s.connection.expect("ready");
        let s = &mut self.sources[flow];
        let Some(m) = s.next_periodic(self.now, flow as u32) else {
            s.ticking = false;
            return;
        };
        let len = m.len() as u64;
        s.stats.on_offer(self.now);
        if self.nodes[from].node.connection_send(conn, m).is_ok() {
            let s = &mut self.sources[flow];
            s.stats.sent_messages += 1;
            s.stats.sent_bytes += len;
            self.drive(from);
        } else {
            self.sources[flow].stats.rejected += 1;
        }
        let next = self.now + period;
        if self.sources[flow].active(next) {
            self.queue
                .push(next, Origin::flow(flow), Ev::Source { flow: flow as u32 });
        } else {
            self.sources[flow].ticking = false;
        }
    }
}
