//! The node's route-set API (see [`crate::sets`]).

use std::collections::BTreeSet;

use super::Node;
use crate::connection::ConnectionHandle;
use crate::discovery::db::TopologyDb;
use crate::discovery::find::{self, Destination, Metric, NoPath};
use crate::discovery::paths::Disjoint;
use crate::identity::Address;
use crate::interface::CommandError;
use crate::sets::{SetInfo, SetSpec};
use crate::time::Time;
use crate::wire::Class;

/// `avoid` and `more` together.
fn with(
    avoid: &BTreeSet<(Address, Address)>,
    more: &BTreeSet<(Address, Address)>,
) -> BTreeSet<(Address, Address)> {
    if more.is_empty() {
        return avoid.clone();
    }
    avoid.union(more).copied().collect()
}

/// Paths for a route set: node-disjoint where the database has enough,
/// else link-disjoint (two paths that share a relay fail together when it
/// does, so node-disjoint ones are preferred).
pub(super) fn set_paths(
    enabled: bool,
    db: &TopologyDb,
    me: Address,
    to: Destination,
    k: usize,
    avoid: &BTreeSet<(Address, Address)>,
) -> Result<Vec<Vec<Address>>, NoPath> {
    if !enabled {
        return Err(NoPath::NoDiscovery);
    }
    let nodes = find::paths_avoiding(db, me, to, k, Disjoint::Nodes, Metric::Latency, avoid)?;
    if nodes.len() >= k {
        return Ok(nodes);
    }
    let links = find::paths_avoiding(db, me, to, k, Disjoint::Links, Metric::Latency, avoid)?;
    Ok(if links.len() > nodes.len() {
        links
    } else {
        nodes
    })
}

impl Node {
    /// The links of this node that its database still holds (from its
    /// own last advert, or a neighbour's) but that carry no longer: the
    /// neighbour has no established link, or only a draining one. The
    /// node knows its own links better than any advert does, so a path
    /// never starts over one of them (it would wait out the setup timeout
    /// for a link that is gone).
    pub(super) fn stale_own_links(&self) -> BTreeSet<(Address, Address)> {
        let me = self.identity.address();
        self.discovery
            .db
            .advertised_neighbours(&me)
            .filter(|n| self.neighbours.carrier(n).is_none() || self.neighbours.carrier_draining(n))
            .map(|n| (me, n))
            .collect()
    }

    /// Opens a route set (see [`crate::Command::ConnectSet`]): to
    /// `destination` along paths from this node's database, or along
    /// `paths` when `destination` is `None`.
    pub fn connect_set(
        &mut self,
        destination: Option<Destination>,
        paths: Vec<Vec<Address>>,
        spec: SetSpec,
        class: Class,
    ) -> Result<ConnectionHandle, CommandError> {
        let mut token = [0u8; 16];
        rand::Rng::fill_bytes(&mut self.rng, &mut token);
        let h = self.connections.alloc();
        let enabled = self.config.discovery.is_some();
        let stale = self.stale_own_links();
        let (db, me) = (&self.discovery.db, self.identity.address());
        let target = destination.ok_or(paths);
        self.sets.open(
            self.now,
            h,
            token,
            target,
            spec,
            class,
            &mut self.routes,
            &self.config.sets,
            &mut |d, k, avoid| set_paths(enabled, db, me, d, k, &with(avoid, &stale)),
        )
    }

    /// The route sets' timer: failure detection, probes, rebuilding.
    pub(super) fn fire_sets(&mut self, now: Time) {
        // What is queued comes out before what the sets now say.
        self.settle_events(now);
        let enabled = self.config.discovery.is_some();
        let stale = self.stale_own_links();
        let (db, me) = (&self.discovery.db, self.identity.address());
        let pulses = &mut self.discovery.pulses;
        self.sets.fire(
            now,
            &mut self.routes,
            &self.config.sets,
            &mut |d, k, avoid| set_paths(enabled, db, me, d, k, &with(avoid, &stale)),
            &mut |d| pulses.advice(now, d),
        );
    }

    /// A route set's routes, store and counters (`None` for a plain
    /// connection or an unknown handle).
    pub fn route_set(&self, connection: ConnectionHandle) -> Option<SetInfo> {
        self.sets.info(connection)
    }

    /// Every route set, either end, in handle order.
    pub fn route_sets(&self) -> impl Iterator<Item = ConnectionHandle> + '_ {
        self.sets.handles()
    }

    /// Routes refused by route-set bounds (`SetConfig::max_inbound`,
    /// `max_members`).
    pub fn sets_refused(&self) -> u64 {
        self.sets.refused
    }
}
