//! The n-order mesh part of the churn results (`churn.meshes` in
//! `summary.json`, and each sample's `tables`): who is in which mesh, and
//! the routing table sizes of nodes in one mesh and of border nodes.

use std::fmt::Write as _;

use serde::Serialize;

use super::round;
use crate::engine::World;
use crate::engine::churn::TableSplit;
use crate::engine::population::Nodes;
use crate::model::ChurnPlan;

/// `summary.json`'s `churn.meshes`: the membership.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeshesSummary {
    /// 1 (one mesh) or 2 (a mesh of meshes).
    pub order: u8,
    /// Meshes.
    pub count: u16,
    /// The share of each mesh's nodes that also joined another.
    pub border_share: f64,
    /// Manager nodes in two meshes.
    pub border_nodes: usize,
    /// Members per mesh (border nodes count in both of theirs): mean.
    pub mesh_size_mean: f64,
    /// Least members of a mesh.
    pub mesh_size_min: usize,
    /// Most members of a mesh.
    pub mesh_size_max: usize,
    /// Flows whose ends share no mesh (their routes cross border nodes).
    pub cross_mesh_flows: usize,
    /// Segments asked by origins (one per border node crossed), summed
    /// over the nodes alive at the end.
    pub segments_asked: u64,
    /// Segments border nodes answered with hops.
    pub segments_answered: u64,
    /// Segments a border node could not answer, or an origin refused.
    pub segments_refused: u64,
}

/// One sample's routing table sizes by kind of node (`samples[].tables`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TablesSummary {
    /// Nodes in one mesh: least, mean, most entries (absent: none).
    pub interior_min: Option<usize>,
    /// Mean.
    pub interior_mean: Option<f64>,
    /// Most.
    pub interior_max: Option<usize>,
    /// Border nodes: least, mean, most (absent: none).
    pub border_min: Option<usize>,
    /// Mean.
    pub border_mean: Option<f64>,
    /// Most.
    pub border_max: Option<usize>,
    /// Mean entries for nodes (of its meshes), over all nodes.
    pub nodes_mean: f64,
    /// Mean summarized-mesh entries, over all nodes.
    pub meshes_mean: f64,
}

/// The membership of `plan`, if it has `churn.meshes`, and the segments
/// the routes across meshes took.
pub fn summary(world: &World<Nodes>, plan: &ChurnPlan) -> Option<MeshesSummary> {
    use crate::engine::protocol::Protocol;
    let m = plan.meshes.as_ref()?;
    let sizes: Vec<usize> = m.members().iter().map(Vec::len).collect();
    let mut segments = [0u64; 3];
    for i in 0..world.scenario().network.nodes.len() {
        let s = world.node(i).route_totals().segments;
        for k in 0..3 {
            segments[k] += s[k];
        }
    }
    let shares = |a: usize, b: usize| {
        let (a, b) = (&m.membership[a], &m.membership[b]);
        a.iter().any(|x| b.contains(x))
    };
    let cross_mesh_flows = world
        .sources()
        .iter()
        .filter(|s| s.spec.to.is_some_and(|to| !shares(s.spec.from, to)))
        .count();
    Some(MeshesSummary {
        order: m.order,
        count: m.count,
        border_share: m.border_share,
        border_nodes: m.border_nodes(),
        mesh_size_mean: round(
            sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
            3,
        ),
        mesh_size_min: sizes.iter().copied().min().unwrap_or(0),
        mesh_size_max: sizes.iter().copied().max().unwrap_or(0),
        cross_mesh_flows,
        segments_asked: segments[0],
        segments_answered: segments[1],
        segments_refused: segments[2],
    })
}

/// A sample's split.
pub fn tables(s: &TableSplit) -> TablesSummary {
    TablesSummary {
        interior_min: s.interior.map(|t| t.0),
        interior_mean: s.interior.map(|t| round(t.1, 3)),
        interior_max: s.interior.map(|t| t.2),
        border_min: s.border.map(|t| t.0),
        border_mean: s.border.map(|t| round(t.1, 3)),
        border_max: s.border.map(|t| t.2),
        nodes_mean: round(s.nodes_mean, 3),
        meshes_mean: round(s.meshes_mean, 3),
    }
}

/// The text summary's line.
pub fn text(m: &MeshesSummary, last: Option<&TablesSummary>, o: &mut String) {
    let _ = write!(
        o,
        "  {}-order mesh: {} meshes of {:.1} members ({}-{}), {} border nodes",
        m.order, m.count, m.mesh_size_mean, m.mesh_size_min, m.mesh_size_max, m.border_nodes
    );
    if let Some(t) = last {
        let f = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.1}"));
        let _ = write!(
            o,
            "; tables: one mesh {}, border {} (nodes {:.1} + meshes {:.1})",
            f(t.interior_mean),
            f(t.border_mean),
            t.nodes_mean,
            t.meshes_mean
        );
    }
    o.push('\n');
    if m.cross_mesh_flows > 0 || m.segments_asked > 0 {
        let _ = writeln!(
            o,
            "  flows across meshes: {}; segments asked {}, answered {}, refused {}",
            m.cross_mesh_flows, m.segments_asked, m.segments_answered, m.segments_refused
        );
    }
}
