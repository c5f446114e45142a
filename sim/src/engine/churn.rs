//! The engine's side of churn: the registry that answers a tunnel
//! manager's `Output::WantPeers` (as a re6st registry gives bootstrap
//! peers: nodes drawn uniformly at random from the mesh), and the
//! measurements of the tunnel mesh at every `churn.sample`.
//!
//! The mesh measured is the graph of tunnels whose opener's end has an
//! established session and that no fault holds down (a crisis cuts a
//! tunnel before any node notices), between the nodes that run the
//! manager.

use node_core::{Input, LinkId, Locator, Time};
use rand_chacha::ChaCha20Rng;

use super::World;
use super::protocol::{Population, Protocol};
use super::rng::{StreamKind, stream};
use crate::mesh_graph::{MeshGraph, below, reach};
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
}

impl ChurnWatch {
    pub fn new(plan: ChurnPlan, n: usize, seed: u64) -> ChurnWatch {
        let mut member = vec![u32::MAX; n];
        for (k, &i) in plan.nodes.iter().enumerate() {
            member[i] = k as u32;
        }
        ChurnWatch {
            plan,
            member,
            registry: (0..n).map(|_| None).collect(),
            sampler: stream(seed, StreamKind::MeshSample, 0),
            samples: Vec::new(),
        }
    }
}

impl<P: Population> World<P> {
    /// Node `i` wants `count` candidates: the registry draws that many
    /// distinct manager nodes other than `i`, uniformly (alive or not: a
    /// registry does not know; a dead one fails and another is asked).
    pub(super) fn want_peers(&mut self, i: usize, count: usize) {
        let seed = self.scenario.seed;
        let Some(w) = self.churn.as_mut() else {
            return;
        };
        let nodes = &w.plan.nodes;
        let rng = w.registry[i].get_or_insert_with(|| stream(seed, StreamKind::Registry, i as u64));
        let others = nodes.len() - usize::from(w.member[i] != u32::MAX);
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
        let tables = table_sizes(&w.plan, &comp, &sizes, |i| {
            self.nodes[i].node.topology().map(|db| db.origins().count())
        });
        let (exact_up_to, sources) = (w.plan.exact_up_to, w.plan.sources);
        let w = self.churn.as_mut().expect("checked above");
        let hops = graph.path_hops(exact_up_to, sources, &mut w.sampler);
        let min = tables.iter().copied().min().unwrap_or(0);
        let max = tables.iter().copied().max().unwrap_or(0);
        let mean = tables.iter().sum::<usize>() as f64 / tables.len().max(1) as f64;
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
            table: (min, mean, max),
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
/// route to every node it can reach. With adverts, what its topology
/// database holds (`db`); without, computed on the tunnel graph: the
/// other nodes of its component.
fn table_sizes(
    plan: &ChurnPlan,
    comp: &[u32],
    sizes: &[u64],
    db: impl Fn(usize) -> Option<usize>,
) -> Vec<usize> {
    plan.nodes
        .iter()
        .enumerate()
        .map(|(k, &i)| match (plan.adverts, db(i)) {
            (true, Some(n)) => n,
            _ => sizes[comp[k] as usize].saturating_sub(1) as usize,
        })
        .collect()
}
