//! Path requests on a node's own database: what a connection asks when
//! the application names a destination instead of a path.
//!
//! The graph is the database's two-way links ([`TopologyDb::graph`]); a
//! link's cost is the [`Metric`] of what its start measured. A request
//! fails with a [`NoPath`] that says why: the destination is not in the
//! database at all (never heard of, or its adverts expired: a partial
//! database), or it is known but no two-way path leads to it (the
//! database may be stale, or the network is cut). A partial or stale
//! database gives the best path it knows; the route built on it then
//! fails at the hop that is gone, and the connection asks again.

use std::collections::BTreeSet;

use super::db::TopologyDb;
use super::paths::{self, Disjoint, Graph};
use crate::identity::Address;
use crate::wire::AdvertLink;

/// What a connection is to: a node, or the nearest gateway to clearnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Destination {
    /// A node, by address.
    Node(Address),
    /// Whichever gateway is nearest (fewest hops; [`NoPath`] if none is
    /// known).
    AnyGateway,
}

/// How links are weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// One-way latency (half the measured RTT) plus 100 us a hop, so that
    /// among equally fast paths the shorter wins.
    #[default]
    Latency,
    /// Hops.
    Hops,
    /// Latency weighted by loss, as ETX weighs a link: divided by the
    /// squared delivery ratio (a link that loses 30% costs twice as much).
    LossWeighted,
}

impl Metric {
    /// The cost of a link, from what its start measured.
    pub fn cost(self, l: &AdvertLink) -> u64 {
        let latency = u64::from(l.rtt_us) / 2 + 100;
        match self {
            Metric::Hops => 1,
            Metric::Latency => latency,
            Metric::LossWeighted => {
                let ok = u64::from(u16::MAX - l.loss).max(1);
                let full = u64::from(u16::MAX);
                // latency / (ok/full)^2, in integers.
                (latency * full / ok).saturating_mul(full) / ok
            }
        }
    }
}

/// Why no path was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoPath {
    /// The destination is not in the database (or, for a gateway: no
    /// gateway is).
    #[error("not in this node's topology database")]
    Unknown,
    /// It is known, but no path of two-way links reaches it.
    #[error("known, but no path of two-way links reaches it")]
    Unreachable,
    /// This node has no discovery (so no database).
    #[error("this node runs no discovery")]
    NoDiscovery,
    /// It is this node itself.
    #[error("the destination is this node")]
    Itself,
}

/// The graph of `db`, with `me` and the destination's indices.
struct View {
    graph: Graph,
    nodes: Vec<Address>,
}

impl View {
    fn of(db: &TopologyDb, metric: Metric) -> View {
        let (graph, nodes) = db.graph(|l| metric.cost(l));
        View { graph, nodes }
    }

    fn avoiding(db: &TopologyDb, metric: Metric, avoid: &BTreeSet<(Address, Address)>) -> View {
        let (graph, nodes) = db.graph_where(|a, l| {
            let out = avoid.contains(&(*a, l.neighbour)) || avoid.contains(&(l.neighbour, *a));
            (!out).then(|| metric.cost(l))
        });
        View { graph, nodes }
    }

    fn index(&self, a: &Address) -> Option<u32> {
        self.nodes.binary_search(a).ok().map(|i| i as u32)
    }

    /// The hops after `me`, as addresses.
    fn hops(&self, p: &paths::Path) -> Vec<Address> {
        p.nodes[1..]
            .iter()
            .map(|&i| self.nodes[i as usize])
            .collect()
    }
}

/// The destination node `to` stands for: a gateway is chosen here.
fn resolve(db: &TopologyDb, v: &View, me: u32, to: Destination) -> Result<u32, NoPath> {
    match to {
        Destination::Node(a) => v.index(&a).ok_or(NoPath::Unknown),
        Destination::AnyGateway => {
            let gateways: Vec<u32> = db
                .gateways()
                .iter()
                .filter_map(|(a, _)| v.index(a))
                .filter(|&g| g != me)
                .collect();
            if gateways.is_empty() {
                return Err(NoPath::Unknown);
            }
            let near = paths::nearest(&v.graph, me, |n| gateways.contains(&n), 1);
            near.first()
                .map(|p| *p.nodes.last().expect("a path has nodes"))
                .ok_or(NoPath::Unreachable)
        }
    }
}

/// Up to `k` paths from `me` to `to` that share no link (or, with
/// `Disjoint::Nodes`, no node but the ends), of least total cost, cheapest
/// first; each as the hops after `me`. At least one, or why not.
pub fn paths(
    db: &TopologyDb,
    me: Address,
    to: Destination,
    k: usize,
    kind: Disjoint,
    metric: Metric,
) -> Result<Vec<Vec<Address>>, NoPath> {
    paths_avoiding(db, me, to, k, kind, metric, &BTreeSet::new())
}

/// [`paths`] on the database without the links in `avoid` (either
/// direction): a route set builds around the links of a route that just
/// failed, which the database may still hold until their ends notice.
pub fn paths_avoiding(
    db: &TopologyDb,
    me: Address,
    to: Destination,
    k: usize,
    kind: Disjoint,
    metric: Metric,
    avoid: &BTreeSet<(Address, Address)>,
) -> Result<Vec<Vec<Address>>, NoPath> {
    if to == Destination::Node(me) {
        return Err(NoPath::Itself);
    }
    let v = if avoid.is_empty() {
        View::of(db, metric)
    } else {
        View::avoiding(db, metric, avoid)
    };
    let from = v.index(&me).ok_or(NoPath::Unreachable)?;
    let dest = resolve(db, &v, from, to)?;
    let mut found = paths::disjoint(&v.graph, from, dest, k.max(1), kind);
    if found.is_empty() {
        return Err(NoPath::Unreachable);
    }
    found.sort_by_key(|p| (p.cost, p.nodes.len()));
    Ok(found.iter().map(|p| v.hops(p)).collect())
}

/// Up to `max` paths to the nearest gateways, fewest hops first (BFS),
/// with each gateway's advertised capacity: Skywire's route discovery.
pub fn gateways(
    db: &TopologyDb,
    me: Address,
    max: usize,
) -> Result<Vec<(Vec<Address>, u64)>, NoPath> {
    let v = View::of(db, Metric::Hops);
    let from = v.index(&me).ok_or(NoPath::Unreachable)?;
    let known = db.gateways();
    if known.is_empty() {
        return Err(NoPath::Unknown);
    }
    let capacity = |n: u32| {
        known
            .iter()
            .find(|(a, _)| *a == v.nodes[n as usize])
            .map(|g| g.1)
    };
    let near = paths::nearest(&v.graph, from, |n| n != from && capacity(n).is_some(), max);
    if near.is_empty() {
        return Err(NoPath::Unreachable);
    }
    Ok(near
        .iter()
        .map(|p| {
            let end = *p.nodes.last().expect("a path has nodes");
            (v.hops(p), capacity(end).unwrap_or(0))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SuiteKind;
    use crate::discovery::adverts::tests::advert_of;
    use crate::discovery::db::DbLimits;
    use crate::identity::Identity;
    use crate::time::Time;

    fn ids(n: u8) -> Vec<Identity> {
        (1..=n)
            .map(|i| Identity::from_secret(SuiteKind::Modeled, [i; 32]).unwrap())
            .collect()
    }

    /// A square 0-1-3, 0-2-3, and 4 known only by a one-way claim of 3.
    fn square() -> (TopologyDb, Vec<Address>) {
        let id = ids(5);
        let a: Vec<Address> = id.iter().map(|i| i.address()).collect();
        let mut db = TopologyDb::new(DbLimits::default());
        let adj = [vec![1, 2], vec![0, 3], vec![0, 3], vec![1, 2, 4]];
        for (i, n) in adj.iter().enumerate() {
            let ns: Vec<Address> = n.iter().map(|&j| a[j]).collect();
            let mut adv = advert_of(&id[i], 1, &ns);
            if i == 2 {
                adv.gateway_bps = 10_000_000;
            }
            db.insert(Time::ZERO, adv);
        }
        (db, a)
    }

    #[test]
    fn two_disjoint_paths_across_the_square_and_clear_errors() {
        let (db, a) = square();
        let p = paths(
            &db,
            a[0],
            Destination::Node(a[3]),
            2,
            Disjoint::Nodes,
            Metric::Latency,
        )
        .unwrap();
        let mut got = p.clone();
        got.sort();
        let mut want = vec![vec![a[1], a[3]], vec![a[2], a[3]]];
        want.sort();
        assert_eq!(got, want);
        // 4 is named by 3 only: the two-way check leaves it out.
        assert_eq!(
            paths(
                &db,
                a[0],
                Destination::Node(a[4]),
                1,
                Disjoint::Links,
                Metric::Hops
            ),
            Err(NoPath::Unknown)
        );
        let stranger = Address([9; 16]);
        assert_eq!(
            paths(
                &db,
                a[0],
                Destination::Node(stranger),
                1,
                Disjoint::Links,
                Metric::Hops
            ),
            Err(NoPath::Unknown)
        );
        assert_eq!(
            paths(
                &db,
                a[0],
                Destination::Node(a[0]),
                1,
                Disjoint::Links,
                Metric::Hops
            ),
            Err(NoPath::Itself)
        );
        // The nearest gateway is 2, one hop away; from 3 too.
        let g = paths(
            &db,
            a[3],
            Destination::AnyGateway,
            1,
            Disjoint::Links,
            Metric::Hops,
        )
        .unwrap();
        assert_eq!(g, vec![vec![a[2]]]);
        assert_eq!(
            gateways(&db, a[1], 4).unwrap(),
            vec![(vec![a[0], a[2]], 10_000_000)]
        );
    }

    #[test]
    fn loss_weighs_like_etx() {
        let l = |loss: u16| AdvertLink {
            neighbour: Address([0; 16]),
            rtt_us: 19_800,
            loss,
            rate_kbps: 0,
        };
        assert_eq!(Metric::Latency.cost(&l(0)), 10_000);
        assert_eq!(Metric::LossWeighted.cost(&l(0)), 10_000);
        // 30% loss: 1 / 0.49, about twice.
        let c = Metric::LossWeighted.cost(&l((0.3 * 65535.0) as u16));
        assert!((20_300..20_500).contains(&c), "{c}");
        // Total loss saturates, never divides by zero.
        assert!(Metric::LossWeighted.cost(&l(u16::MAX)) > 1_000_000_000);
    }
}
