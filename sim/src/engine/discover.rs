//! Flows that find their own path (`"path": "discover"`, `"to":
//! "gateway"`): the origin asks its own topology database
//! (`Command::ConnectTo`) when the flow starts, and node-core asks it again
//! for every route that replaces a broken one.
//!
//! A database that does not know the destination yet (the flood has not
//! reached the origin: a flow that starts before the network converged) or
//! knows no two-way path to it answers `NoPath`. The flow then tries again
//! every `discovery.path_retry` until `discovery.path_wait` after its
//! start; the tries and the wait are reported, and a flow that gave up
//! says why (`route_closed`), as a connection that could not open does.

use node_core::{CommandError, ConnectionHandle, Destination, Time};

use super::protocol::{Population, Protocol};
use super::queue::Origin;
use super::{Ev, World};
use crate::model::TrafficSpec;
use crate::units::fmt_duration;

impl<P: Population> World<P> {
    /// Whether node `i` is where `spec`'s data goes: its destination, or
    /// any gateway for a flow to the nearest one.
    pub(super) fn is_destination(&self, spec: &TrafficSpec, i: usize) -> bool {
        match spec.to {
            Some(to) => to == i,
            None => self
                .scenario
                .discovery
                .as_ref()
                .is_some_and(|d| d.gateway_bps(i) > 0),
        }
    }

    /// A discovering flow's try to open its connection.
    pub(super) fn connect_discovered(&mut self, flow: usize) {
        let plan = self
            .scenario
            .discovery
            .clone()
            .expect("the scenario layer refuses discovering flows without discovery");
        let s = &self.sources[flow];
        let (from, class, kind) = (s.spec.from, s.spec.class, s.spec.transport);
        let start = Time::ZERO + s.spec.start;
        let destination = match s.spec.to {
            Some(to) => Destination::Node(
                self.convergence
                    .as_ref()
                    .expect("discovery runs")
                    .address(to),
            ),
            None => Destination::AnyGateway,
        };
        // n-order meshes: a destination that shares no mesh with the
        // origin is reached past border nodes (segments), by a plain
        // connection (route sets into another mesh are not built).
        let other_mesh = self.other_mesh(from, s.spec.to);
        let result = match (s.spec.routes, destination, other_mesh) {
            (None, Destination::Node(d), Some(mesh)) => {
                self.nodes[from].node.connect_in_mesh(d, mesh, class, kind)
            }
            (Some(_), _, Some(_)) => Err(CommandError::InvalidPath(
                "a route set to a node of another mesh is not built (segments carry plain \
                 connections)",
            )),
            (Some(spec), _, _) => self.nodes[from].node.connect_set(destination, spec, class),
            (None, _, _) => self.nodes[from].node.connect_to(destination, class, kind),
        };
        let now = self.now;
        let s = &mut self.sources[flow];
        let next = now + plan.path_retry;
        let retry = next <= start + plan.path_wait && s.active(next);
        let search = s.search.get_or_insert_with(Default::default);
        search.tries += 1;
        match result {
            Ok(c) => {
                s.connection = Some(c);
                search.found_after = Some(now.saturating_since(start));
            }
            Err(CommandError::NoPath { reason, .. }) => {
                search.last_error = Some(reason.to_string());
                if retry {
                    self.queue
                        .push(next, Origin::flow(flow), Ev::Source { flow: flow as u32 });
                } else {
                    search.gave_up = true;
                    let tries = search.tries;
                    let to = s
                        .spec
                        .to
                        .map_or("the nearest gateway".into(), |t| format!("node {t}"));
                    s.closed = Some(format!(
                        "no path to {to}: {reason} ({tries} tries in {})",
                        fmt_duration(now.saturating_since(start))
                    ));
                }
            }
            Err(e) => s.closed = Some(e.to_string()),
        }
        self.drive(from);
    }

    /// With `churn.meshes`: the mesh of `to` (its first) when it shares
    /// none with `from`.
    fn other_mesh(&self, from: usize, to: Option<usize>) -> Option<u16> {
        let m = self.churn_plan()?.meshes.as_ref()?;
        let (a, b) = (m.membership.get(from)?, m.membership.get(to?)?);
        let shared = a.iter().any(|x| b.contains(x));
        (!shared).then(|| b.first().copied()).flatten()
    }

    /// A discovering flow's route came up: the path it took, as node
    /// indices.
    pub(super) fn note_discovered_path(&mut self, flow: usize, connection: ConnectionHandle) {
        let s = &self.sources[flow];
        if s.search.is_none() {
            return;
        }
        let from = s.spec.from;
        let (Some(hops), Some(c)) = (
            self.nodes[from].node.connection_path(connection),
            self.convergence.as_ref(),
        ) else {
            return;
        };
        let mut path = vec![from];
        path.extend(hops.iter().filter_map(|a| c.index_of(a)));
        if let Some(search) = self.sources[flow].search.as_mut() {
            search.path = path;
        }
    }
}
