//! The node's side of discovery (see [`crate::discovery::flood`]): what
//! the layer needs from the links and the neighbour table.

use super::Node;
use crate::discovery::db::TopologyDb;
use crate::discovery::find::{self, Destination, Metric, NoPath};
use crate::discovery::flood::{DiscoveryStats, FLOOD_BACKLOG};
use crate::discovery::paths::Disjoint;
use crate::identity::Address;
use crate::interface::CONTROL_CHANNEL;
use crate::time::Time;
use crate::wire::{Advert, AdvertLink, Class};

/// The best path to `to` in `db`, as a connection asks for it, around
/// `stale` (this node's links that carry no longer: `Node::stale_own_links`).
pub(super) fn find_path(
    enabled: bool,
    db: &TopologyDb,
    me: Address,
    to: Destination,
    stale: &std::collections::BTreeSet<(Address, Address)>,
) -> Result<Vec<Address>, NoPath> {
    if !enabled {
        return Err(NoPath::NoDiscovery);
    }
    let mut p = find::paths_avoiding(db, me, to, 1, Disjoint::Links, Metric::Latency, stale)?;
    Ok(p.swap_remove(0))
}

/// The way toward `dest` of mesh `mesh` (see
/// [`crate::discovery::meshes::toward`]): a path, and the segment still to
/// ask for when it ends at a border node.
pub(super) fn find_toward(
    enabled: bool,
    db: &TopologyDb,
    me: Address,
    mine: &[u16],
    (dest, mesh): (Address, u16),
    stale: &std::collections::BTreeSet<(Address, Address)>,
) -> Result<crate::connection::Found, NoPath> {
    if !enabled {
        return Err(NoPath::NoDiscovery);
    }
    if dest == me {
        return Err(NoPath::Itself);
    }
    let mut path = |to: Address| find_path(true, db, me, Destination::Node(to), stale).ok();
    match crate::discovery::meshes::toward(db, me, mine, dest, mesh, &mut path) {
        Some((p, true)) => Ok((p, None)),
        Some((p, false)) => Ok((p, Some((dest, mesh)))),
        None if db.parts(&dest).next().is_some() => Err(NoPath::Unreachable),
        None => Err(NoPath::Unknown),
    }
}

impl Node {
    /// SEGMENTs this node was asked, as a border node: the way on from
    /// here, in its own meshes (`route/segment.rs`).
    pub(super) fn answer_segments(&mut self) {
        let asked = self.routes.take_segment_requests();
        if asked.is_empty() {
            return;
        }
        let stale = self.stale_own_links();
        let me = self.identity.address();
        let mine = self.discovery.meshes().to_vec();
        let enabled = self.config.discovery.is_some();
        for q in asked {
            // A way longer than one message holds is cut: its last hop
            // is asked for the rest in turn (not `done`).
            let way = find_toward(
                enabled,
                &self.discovery.db,
                me,
                &mine,
                (q.dest, q.mesh),
                &stale,
            )
            .ok()
            .map(|(mut p, seg)| {
                let cut = p.len() > crate::wire::MAX_SEGMENT_HOPS;
                p.truncate(crate::wire::MAX_SEGMENT_HOPS);
                (p, seg.is_none() && !cut)
            });
            self.routes.answer_segment(q, way);
        }
    }

    /// Up to `k` link- or node-disjoint paths to `to` in this node's
    /// database, cheapest first (each the hops after this node).
    pub fn find_paths(
        &self,
        to: Destination,
        k: usize,
        kind: Disjoint,
        metric: Metric,
    ) -> Result<Vec<Vec<Address>>, NoPath> {
        if self.config.discovery.is_none() {
            return Err(NoPath::NoDiscovery);
        }
        find::paths(
            &self.discovery.db,
            self.identity.address(),
            to,
            k,
            kind,
            metric,
        )
    }

    /// The discovery layer's timer: the database ages out; our advert is
    /// signed if it is due.
    pub(super) fn fire_discovery(&mut self, now: Time) {
        if self.discovery.fire(now) {
            let links = self.advert_links();
            // A link without an RTT sample advertises the initial guess:
            // its measured RTT follows in the next advert.
            let guessed = links
                .iter()
                .filter_map(|l| self.neighbours.carrier(&l.neighbour))
                .any(|c| self.links.get(&c).is_some_and(|l| !l.rtt_sampled()));
            self.discovery
                .originate(now, &self.identity, self.suite, links, guessed);
        }
    }

    /// What we advertise of each neighbour: what its carrier link measured.
    fn advert_links(&self) -> Vec<AdvertLink> {
        self.neighbours()
            .filter_map(|n| {
                let carrier = n.carrier?;
                let l = n.links.iter().find(|l| l.link == carrier)?;
                if l.draining {
                    // re6st marks a link it drains as poorly performing
                    // until the routing protocol stops using it; here it
                    // leaves our advert, and the two-way check takes it
                    // out of every database (no new path takes it).
                    return None;
                }
                let rtt_us = (l.srtt.as_nanos() / 1000).min(u64::from(Advert::MAX_RTT_US)) as u32;
                let loss = (l.lost.min(l.sent) * u64::from(u16::MAX))
                    .checked_div(l.sent)
                    .unwrap_or(0) as u16;
                let rate_kbps = l
                    .rate_bps
                    .map_or(0, |r| (r / 1000).min(u64::from(u32::MAX)) as u32);
                Some(AdvertLink {
                    neighbour: n.address,
                    rtt_us,
                    loss,
                    rate_kbps,
                })
            })
            .collect()
    }

    /// Moves waiting adverts into the links of their neighbours, while
    /// each link's backlog is under [`FLOOD_BACKLOG`].
    pub(super) fn pump_discovery(&mut self, now: Time) {
        for (peer, row) in self.discovery.pulses.take_rows(now) {
            if let Some(link) = self.neighbours.carrier(&peer)
                && let Some(l) = self.links.get_mut(&link)
            {
                let msg = crate::wire::encode_row(&row);
                // A row lost to a full backlog is replaced by the next.
                let _ = l.send_message(CONTROL_CHANNEL, Class::Realtime, msg, &self.config);
                self.mark_dirty(link);
            }
        }
        if !self.discovery.has_waiting() {
            return;
        }
        for peer in self.discovery.waiting() {
            let Some(link) = self.neighbours.carrier(&peer) else {
                self.discovery.drop_waiting(peer);
                continue;
            };
            let Some(l) = self.links.get_mut(&link) else {
                continue;
            };
            self.ready.insert(link);
            let mut moved = false;
            while l.send_backlog() < FLOOD_BACKLOG {
                let Some(msg) = self.discovery.next_message(now, peer) else {
                    break;
                };
                // Cannot fail: the link is established (it carries a
                // neighbour), an advert is far below the message limit,
                // and the backlog was checked.
                let _ = l.send_message(CONTROL_CHANNEL, Class::Realtime, msg, &self.config);
                moved = true;
            }
            if moved {
                self.mark_dirty(link);
            }
        }
    }

    /// This node's topology database: every origin's latest advert.
    pub fn topology(&self) -> &TopologyDb {
        &self.discovery.db
    }

    /// The entries this node holds to route: its meshes' nodes and one per
    /// other mesh it reaches (see [`crate::discovery::meshes`]).
    pub fn routing_table(&self) -> crate::discovery::meshes::RoutingTable {
        self.discovery.routing_table()
    }

    /// The discovery layer's counters (the database's are in
    /// [`Node::topology`]).
    pub fn discovery_stats(&self) -> DiscoveryStats {
        self.discovery.stats
    }
}

#[cfg(test)]
impl Node {
    /// Tests: queues a control message on `link` as the node would (a
    /// neighbour that sends what it likes on the control channel).
    pub(crate) fn send_control(
        &mut self,
        link: crate::LinkId,
        data: Vec<u8>,
    ) -> Result<(), crate::CommandError> {
        self.mark_dirty(link);
        let config = &self.config;
        self.links
            .get_mut(&link)
            .ok_or(crate::CommandError::UnknownLink(link))?
            .send_message(CONTROL_CHANNEL, Class::Realtime, data, config)
    }
}
