//! The engine's side of churn: the registry that answers a tunnel
//! manager's `Output::WantPeers` (as a re6st registry gives bootstrap
//! peers: nodes drawn uniformly at random from the mesh), and the
//! measurements of the tunnel mesh at every `churn.sample`.
//!
//! The mesh measured is the graph of tunnels whose opener's end has an
//! established session and that no fault holds down (a crisis cuts a
//! tunnel before any node notices), between the nodes that run the
//! manager.
//!
//! With an n-order mesh (`churn.meshes`), the registry answers a node with
//! nodes that share one of its meshes, and the routing table sizes count a
//! node's meshes' nodes plus one entry per other mesh it reaches (see
//! [`crate::mesh_tables`]).

use node_core::{Input, LinkId, Locator, Time};
use rand_chacha::ChaCha20Rng;

use super::World;
use super::protocol::{Population, Protocol};
use super::rng::{StreamKind, stream};
use crate::mesh_graph::{MeshGraph, below, reach};
use crate::mesh_tables::{self, Table};
use crate::model::ChurnPlan;

/// The tunnel mesh at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSample {
    /// When.
    pub time: Time,
    /// Tunnels that carry (established, not held down by a fault).
    pub tunnels: usize,
    /// Mean shortest-path hops over reachable ordered pairs.
    pub avg_path_hops: Option<f64>,
    /// Its standard error (0 when exact).
    pub avg_path_hops_se: f64,
    /// Whether it is exact (BFS from every node).
    pub exact: bool,
    /// Ordered pairs of manager nodes with no tunnel path.
    pub unreachable_pairs: u64,
    /// Ordered pairs of manager nodes.
    pub pairs: u64,
    /// Connected components of the mesh.
    pub components: usize,
    /// Nodes in the largest one.
    pub largest: usize,
    /// Routing table size per node (see [`table_sizes`]): min, mean, max.
    pub table: (usize, f64, usize),
    /// With `churn.meshes`: the sizes by kind of node.
    pub split: Option<TableSplit>,
}

/// Routing table sizes by kind of node, in an n-order mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSplit {
    /// Nodes in one mesh: min, mean, max (absent: none).
    pub interior: Option<(usize, f64, usize)>,
    /// Border nodes (in two meshes): min, mean, max (absent: none).
    pub border: Option<(usize, f64, usize)>,
    /// Mean entries for nodes, over all nodes.
    pub nodes_mean: f64,
    /// Mean summarized-mesh entries, over all nodes.
    pub meshes_mean: f64,
}

/// Least, mean and most of `v` (absent: empty).
fn spread(v: impl Iterator<Item = usize>) -> Option<(usize, f64, usize)> {
    let (mut min, mut max, mut sum, mut n) = (usize::MAX, 0, 0usize, 0usize);
    for x in v {
        (min, max, sum, n) = (min.min(x), max.max(x), sum + x, n + 1);
    }
    (n > 0).then(|| (min, sum as f64 / n as f64, max))
}

/// The engine's churn state.
pub(super) struct ChurnWatch {
    pub plan: ChurnPlan,
    /// Each node's index among the manager nodes (`u32::MAX`: none).
    member: Vec<u32>,
    /// Each asking node's registry stream, made when it first asks.
    registry: Vec<Option<ChaCha20Rng>>,
    /// The BFS source sample's stream.
    sampler: ChaCha20Rng,
    pub samples: Vec<MeshSample>,
    /// Each manager node's meshes, by its index among them (empty without
    /// `churn.meshes`).
    meshes: Vec<Vec<u16>>,
    /// The registry's candidate lists, ascending: each mesh's members,
    /// then each border node's union of its meshes' members.
    pools: Vec<Vec<usize>>,
    /// Each node's list in `pools` (`u32::MAX`: every manager node).
    pool_of: Vec<u32>,
}

impl ChurnWatch {
    pub fn new(plan: ChurnPlan, n: usize, seed: u64) -> ChurnWatch {
        let mut member = vec![u32::MAX; n];
        for (k, &i) in plan.nodes.iter().enumerate() {
            member[i] = k as u32;
        }
        let mut pools: Vec<Vec<usize>> = Vec::new();
        let mut pool_of = vec![u32::MAX; n];
        let mut meshes = Vec::new();
        if let Some(m) = &plan.meshes {
            pools = m.members();
            meshes = plan
                .nodes
                .iter()
                .map(|&i| m.membership[i].clone())
                .collect();
            for (i, ms) in m.membership.iter().enumerate() {
                match ms.as_slice() {
                    [] => {}
                    [one] => pool_of[i] = u32::from(*one),
                    several => {
                        let mut union: Vec<usize> = several
                            .iter()
                            .flat_map(|&x| pools[usize::from(x)].iter().copied())
                            .collect();
                        union.sort_unstable();
                        union.dedup();
                        pool_of[i] = pools.len() as u32;
                        pools.push(union);
                    }
                }
            }
        }
        ChurnWatch {
            plan,
            member,
            registry: (0..n).map(|_| None).collect(),
            sampler: stream(seed, StreamKind::MeshSample, 0),
            samples: Vec::new(),
            meshes,
            pools,
            pool_of,
        }
    }
}

impl<P: Population> World<P> {
    /// Node `i` wants `count` candidates: the registry draws that many
    /// distinct manager nodes other than `i`, uniformly (alive or not: a
    /// registry does not know; a dead one fails and another is asked).
    /// In an n-order mesh it draws among the nodes that share one of `i`'s
    /// meshes: a border node's tunnels go to either of its meshes, in
    /// proportion to their members.
    pub(super) fn want_peers(&mut self, i: usize, count: usize) {
        let seed = self.scenario.seed;
        let Some(w) = self.churn.as_mut() else {
            return;
        };
        let nodes: &[usize] = match w.pool_of[i] {
            u32::MAX => &w.plan.nodes,
            p => &w.pools[p as usize],
        };
        let rng = w.registry[i].get_or_insert_with(|| stream(seed, StreamKind::Registry, i as u64));
        let others = nodes.len() - usize::from(nodes.binary_search(&i).is_ok());
        let mut picked: Vec<usize> = Vec::with_capacity(count);
        while picked.len() < count.min(others) {
            let j = nodes[below(rng, nodes.len())];
            if j != i && !picked.contains(&j) {
                picked.push(j);
            }
        }
        let peers = picked
            .into_iter()
            .filter_map(|j| Some((self.population.public_key(j)?, Locator::Underlay(j as u64))))
            .collect();
        self.nodes[i].input(self.now, Input::PeersOffered { peers });
    }

    /// Measures the tunnel mesh now.
    pub(super) fn sample_mesh(&mut self) {
        let Some(w) = self.churn.as_ref() else {
            return;
        };
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for t in self.tunnels.iter().filter(|t| t.closed.is_none()) {
            let (a, b) = (w.member[t.a], w.member[t.b]);
            if a == u32::MAX || b == u32::MAX || !self.links.carries(t.link) {
                continue;
            }
            if self.nodes[t.a].alive && self.nodes[t.a].node.link_established(LinkId(t.link as u64))
            {
                edges.push((a, b));
            }
        }
        let graph = MeshGraph::new(w.plan.nodes.len(), &edges);
        let comp = graph.components();
        let (r, sizes) = reach(&comp);
        let tables = table_sizes(w, &comp, &sizes, &edges, |i| {
            self.nodes[i].node.routing_table()
        });
        let table = spread(tables.iter().map(Table::size)).unwrap_or((0, 0.0, 0));
        let split = w.plan.meshes.is_some().then(|| {
            let kind = |border: bool| {
                spread(
                    tables
                        .iter()
                        .zip(&w.meshes)
                        .filter(|(_, ms)| (ms.len() > 1) == border)
                        .map(|(t, _)| t.size()),
                )
            };
            let mean = |f: fn(&Table) -> usize| {
                tables.iter().map(f).sum::<usize>() as f64 / tables.len().max(1) as f64
            };
            TableSplit {
                interior: kind(false),
                border: kind(true),
                nodes_mean: mean(|t| t.nodes),
                meshes_mean: mean(|t| t.meshes),
            }
        });
        let (exact_up_to, sources) = (w.plan.exact_up_to, w.plan.sources);
        let w = self.churn.as_mut().expect("checked above");
        let hops = graph.path_hops(exact_up_to, sources, &mut w.sampler);
        w.samples.push(MeshSample {
            time: self.now,
            tunnels: graph.edges(),
            avg_path_hops: hops.mean,
            avg_path_hops_se: hops.standard_error,
            exact: hops.exact,
            unreachable_pairs: r.unreachable_pairs,
            pairs: r.pairs,
            components: r.components,
            largest: r.largest,
            table,
            split,
        });
    }

    /// The tunnel-mesh measurements so far (empty without churn).
    pub fn mesh_samples(&self) -> &[MeshSample] {
        self.churn.as_ref().map_or(&[], |w| &w.samples)
    }

    /// Whether the run measures a tunnel mesh.
    pub fn churn_plan(&self) -> Option<&ChurnPlan> {
        self.churn.as_ref().map(|w| &w.plan)
    }
}

/// Routing table size per manager node: the entries it must hold to
/// route to every node it can reach. With adverts, what its routing table
/// holds (`db`); without, computed on the tunnel graph: the other nodes of
/// its component, or in an n-order mesh the nodes of its meshes it reaches
/// and one entry per other mesh ([`mesh_tables`]).
fn table_sizes(
    w: &ChurnWatch,
    comp: &[u32],
    sizes: &[u64],
    edges: &[(u32, u32)],
    db: impl Fn(usize) -> Option<(usize, usize)>,
) -> Vec<Table> {
    let plan = &w.plan;
    if plan.adverts {
        let graph = (plan.meshes.is_some()).then(|| mesh_tables::tables(&w.meshes, edges));
        return plan
            .nodes
            .iter()
            .enumerate()
            .map(|(k, &i)| match (db(i), &graph) {
                (Some((nodes, meshes)), _) => Table { nodes, meshes },
                (None, Some(g)) => g[k],
                (None, None) => Table {
                    nodes: sizes[comp[k] as usize].saturating_sub(1) as usize,
                    meshes: 0,
                },
            })
            .collect();
    }
    if plan.meshes.is_some() {
        return mesh_tables::tables(&w.meshes, edges);
    }
    (0..plan.nodes.len())
        .map(|k| Table {
            nodes: sizes[comp[k] as usize].saturating_sub(1) as usize,
            meshes: 0,
        })
        .collect()
}
