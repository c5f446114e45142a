//! re6st's n-order meshes: nodes belong to one or more meshes, adverts
//! are scoped to them, and a node in two meshes advertises each other
//! mesh it reaches as one summarized entry (re6st has babel propagate a
//! default route for the other mesh's address range).
//!
//! - **Scope.** An advert names its origin's meshes
//!   ([`crate::wire::Advert::meshes`]). A node takes an advert only if it
//!   shares a mesh with the origin (others are dropped and counted,
//!   `DiscoveryStats::out_of_scope`), and floods one only to neighbours
//!   that share a mesh with the origin, when it knows theirs. So a node's
//!   database holds its own meshes' nodes and no others: a mesh of `s`
//!   nodes costs `s` entries, whatever the size of the whole network.
//! - **Summaries.** A node in two meshes or more (a *border* node)
//!   advertises, for every other mesh it reaches, one entry: the mesh and
//!   the meshes crossed to reach it, `via` (a path vector, as BGP's AS
//!   path: an entry whose `via` names one of the receiver's own meshes is
//!   ignored by it, so entries never loop and a mesh that goes away is
//!   forgotten as soon as the adverts that named it are replaced, with no
//!   counting to infinity). Nodes of one mesh only advertise none: every
//!   node of their mesh already holds the border nodes' adverts.
//! - **Routing table.** What a node must hold to route
//!   ([`RoutingTable`]): the nodes of its meshes (its database's origins)
//!   plus one entry per other mesh it reaches. With `m` meshes of `s`
//!   nodes, that is about `s + m` entries, against `s * m` for one flat
//!   mesh of the same nodes; `2s + m` at a border node.
//!
//! The summaries are computed from the adverts held, not from the links'
//! two-way check: a border node that lies about the meshes it reaches can
//! attract inter-mesh traffic, as a node that lies about its links can in
//! any link-state protocol; what it cannot do is grow anyone's table past
//! [`MAX_TABLE_MESHES`] or an advert past `Advert::MAX_SUMMARIES`.
//!
//! - **Routes into another mesh.** [`toward`]: a route to a node of
//!   another mesh goes to the nearest border node that reaches its mesh,
//!   which computes the continuation inside its own meshes (a segment,
//!   `route/segment.rs`).

use std::collections::BTreeMap;

use super::db::TopologyDb;
use crate::identity::Address;
use crate::wire::{Advert, MeshSummary};

/// Meshes a node belongs to, at most.
pub const MAX_MESHES: usize = Advert::MAX_MESHES;

/// Other meshes a routing table holds, at most (entries past this, which
/// only lying adverts can bring, are not held, and counted).
pub const MAX_TABLE_MESHES: usize = 4096;

/// The entries a node must hold to route (see the module docs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoutingTable {
    /// Nodes of its own meshes: its database's origins other than itself.
    pub nodes: usize,
    /// Other meshes it holds a summarized entry for.
    pub meshes: usize,
    /// Summarized meshes not held for the [`MAX_TABLE_MESHES`] bound.
    pub refused: usize,
}

impl RoutingTable {
    /// Entries in all.
    pub fn size(&self) -> usize {
        self.nodes + self.meshes
    }
}

/// Whether `mine` (a node's meshes, ascending) shares a mesh with `theirs`.
pub fn shares(mine: &[u16], theirs: &[u16]) -> bool {
    theirs.iter().any(|m| mine.binary_search(m).is_ok())
}

/// The meshes `origin`'s advert names (`[0]` for a version 1 advert);
/// `None` if the database holds none of its parts.
pub fn meshes_of<'a>(db: &'a TopologyDb, origin: &Address) -> Option<&'a [u16]> {
    db.parts(origin).next().map(|a| a.meshes.as_slice())
}

/// The summaries `origin` advertises (they ride in its advert's part 0);
/// `None` while that part is not held.
fn summaries_of<'a>(db: &'a TopologyDb, origin: &Address) -> Option<&'a [MeshSummary]> {
    db.parts(origin)
        .find(|a| a.part == 0)
        .map(|a| a.summaries.as_slice())
}

/// The other meshes a node of meshes `mine` reaches through the adverts
/// of `db`, each with the shortest `via` (ties: the least, in order), at
/// most [`MAX_TABLE_MESHES`] of them; and how many more were refused.
pub fn reached(db: &TopologyDb, me: Address, mine: &[u16]) -> (BTreeMap<u16, Vec<u16>>, usize) {
    let mut best: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    let mut refused = 0;
    let mut offer = |mesh: u16, via: Vec<u16>, best: &mut BTreeMap<u16, Vec<u16>>| {
        if let Some(held) = best.get_mut(&mesh) {
            if (via.len(), &via) < (held.len(), &*held) {
                *held = via;
            }
        } else if best.len() < MAX_TABLE_MESHES {
            best.insert(mesh, via);
        } else {
            refused += 1;
        }
    };
    for (origin, _) in db.origins() {
        if origin == me {
            continue;
        }
        let Some(first) = db.parts(&origin).next() else {
            continue;
        };
        // The mesh in which we reach the origin (the least shared).
        let Some(&inside) = first.meshes.iter().find(|m| mine.binary_search(m).is_ok()) else {
            continue;
        };
        for &m in &first.meshes {
            if mine.binary_search(&m).is_err() {
                offer(m, vec![inside], &mut best);
            }
        }
        let Some(summaries) = summaries_of(db, &origin) else {
            continue;
        };
        for s in summaries {
            let loops = mine.binary_search(&s.mesh).is_ok()
                || s.via.iter().any(|v| mine.binary_search(v).is_ok());
            if loops || s.via.len() >= Advert::MAX_VIA {
                continue;
            }
            let mut via = Vec::with_capacity(s.via.len() + 1);
            via.push(inside);
            via.extend_from_slice(&s.via);
            offer(s.mesh, via, &mut best);
        }
    }
    (best, refused)
}

/// What a border node advertises (none for a node of one mesh), at most
/// `Advert::MAX_SUMMARIES`, the nearest first (ties by mesh), ascending
/// by mesh.
pub fn summaries(db: &TopologyDb, me: Address, mine: &[u16]) -> Vec<MeshSummary> {
    if mine.len() < 2 {
        return Vec::new();
    }
    let (reached, _) = reached(db, me, mine);
    let mut all: Vec<MeshSummary> = reached
        .into_iter()
        .map(|(mesh, via)| MeshSummary { mesh, via })
        .collect();
    if all.len() > Advert::MAX_SUMMARIES {
        all.sort_by_key(|s| (s.via.len(), s.mesh));
        all.truncate(Advert::MAX_SUMMARIES);
        all.sort_by_key(|s| s.mesh);
    }
    all
}

/// The routing table of a node of meshes `mine` holding `db`.
pub fn table(db: &TopologyDb, me: Address, mine: &[u16]) -> RoutingTable {
    let (reached, refused) = reached(db, me, mine);
    RoutingTable {
        nodes: db.origins().filter(|(a, _)| *a != me).count(),
        meshes: reached.len(),
        refused,
    }
}

/// The border nodes in `db` that lead to mesh `mesh`, best first: members
/// of `mesh` themselves (they hold its nodes) before nodes that only
/// summarize it, then by the meshes their summary crosses; `me` excluded.
fn borders(db: &TopologyDb, me: Address, mine: &[u16], mesh: u16) -> Vec<(usize, Address)> {
    let mut out = Vec::new();
    for (origin, _) in db.origins() {
        if origin == me {
            continue;
        }
        let Some(first) = db.parts(&origin).next() else {
            continue;
        };
        if first.meshes.contains(&mesh) {
            out.push((0, origin));
            continue;
        }
        let Some(summaries) = summaries_of(db, &origin) else {
            continue;
        };
        // As in `reached`: an entry through one of our own meshes loops.
        let best = summaries
            .iter()
            .filter(|s| s.mesh == mesh && !s.via.iter().any(|v| mine.binary_search(v).is_ok()))
            .map(|s| 1 + s.via.len())
            .min();
        if let Some(cost) = best {
            out.push((cost, origin));
        }
    }
    out.sort();
    out
}

/// The way from `me` (of meshes `mine`, holding `db`) toward `dest`, a
/// node of mesh `mesh`: the path to `dest` when `db` holds it (`true`),
/// else the path to the nearest border node that leads to `mesh`
/// (`false`: that node is asked for the rest). Paths by `path` (the
/// caller's path finder: hops after `me`); among the border nodes it
/// reaches, the best kind (see `borders`), then the fewest hops, then the
/// lowest address.
pub fn toward(
    db: &TopologyDb,
    me: Address,
    mine: &[u16],
    dest: Address,
    mesh: u16,
    path: &mut dyn FnMut(Address) -> Option<Vec<Address>>,
) -> Option<(Vec<Address>, bool)> {
    if db.parts(&dest).next().is_some() {
        return path(dest).map(|p| (p, true));
    }
    if mine.contains(&mesh) {
        return None; // our own mesh: we would hold it
    }
    borders(db, me, mine, mesh)
        .into_iter()
        .filter_map(|(kind, b)| path(b).map(|p| (kind, p.len(), b, p)))
        .min_by_key(|(kind, len, b, _)| (*kind, *len, *b))
        .map(|(_, _, _, p)| (p, false))
}
