//! `churn.meshes`: re6st's n-order mesh (the article's "mesh of meshes").
//!
//! Order 1 is one mesh (as without the key). Order 2 is the article's
//! quadratic construction: the manager nodes, shuffled with the seeded
//! `MeshMembership` stream, are split into `count` meshes of near-equal
//! size (each node's *home* mesh; `count` defaults to round(sqrt(n)), so
//! about sqrt(n) meshes of about sqrt(n) nodes); then in each mesh, in
//! mesh order, round(`border_share` x its size) of its home nodes, drawn at
//! random, also join one other mesh drawn uniformly among the others (the
//! article: border nodes chosen "with some randomness"). Such a node is a
//! *border* node: it belongs to two meshes.
//!
//! The membership is drawn from the run's seed (`MeshMembership` stream):
//! resolving draws it for the scenario's seed, and
//! [`crate::model::Scenario::set_seed`] draws it again for another (a
//! sweep's repeats, `meshsim run --seed`).

use serde::Deserialize;

use super::error::ScenarioError;
use super::resolve::Ctx;
use super::spec::Prob;
use crate::engine::rng::{StreamKind, stream};
use crate::mesh_graph::below;
use crate::model::MeshPlan;

/// re6st's share of nodes in a second mesh.
pub const DEFAULT_BORDER_SHARE: f64 = 0.1;

/// `churn.meshes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshesSpec {
    /// 1 (one mesh) or 2 (a mesh of meshes).
    pub order: u64,
    /// Meshes (order 2; default round(sqrt(manager nodes))).
    pub count: Option<u64>,
    /// The share of each mesh's nodes that also join another mesh
    /// (default 0.1, re6st's).
    pub border_share: Option<Prob>,
}

impl Ctx<'_> {
    /// The membership of `nodes` (the manager nodes, ascending), each
    /// keeping `tunnels` tunnels, for the scenario's `seed`.
    pub(super) fn meshes(
        &self,
        spec: &MeshesSpec,
        nodes: &[usize],
        tunnels: usize,
        seed: u64,
    ) -> Result<MeshPlan, ScenarioError> {
        const AT: &str = "churn.meshes";
        let n = nodes.len();
        let border_share = spec.border_share.map_or(DEFAULT_BORDER_SHARE, |p| p.0);
        let count = match spec.order {
            1 => {
                if spec.count.is_some_and(|c| c != 1) {
                    return Err(self.doc.error(
                        &format!("{AT}.count"),
                        "a 1-order mesh is one mesh: count must be 1 (or absent)",
                    ));
                }
                1
            }
            2 => self.mesh_count(spec, n, tunnels)?,
            o => {
                return Err(self.doc.error(
                    &format!("{AT}.order"),
                    format!("order {o}: 1 (one mesh) or 2 (a mesh of meshes)"),
                ));
            }
        };
        let mut plan = MeshPlan {
            order: spec.order as u8,
            count,
            border_share,
            membership: vec![Vec::new(); self.network.nodes.len()],
        };
        plan.draw(nodes, seed);
        Ok(plan)
    }

    /// A 2-order mesh's count of meshes, checked: at least 2, and each
    /// mesh larger than `tunnels` (`n` manager nodes).
    fn mesh_count(
        &self,
        spec: &MeshesSpec,
        n: usize,
        tunnels: usize,
    ) -> Result<u16, ScenarioError> {
        let at = "churn.meshes.count";
        let count = spec
            .count
            .unwrap_or_else(|| (n as f64).sqrt().round() as u64);
        if count < 2 || count > n as u64 || count > u64::from(u16::MAX) {
            return Err(self.doc.error(
                at,
                format!(
                    "{count} meshes: a 2-order mesh needs at least 2, and at most one per \
                     manager node ({n})"
                ),
            ));
        }
        let smallest = n / count as usize;
        if smallest <= tunnels {
            return Err(self.doc.error(
                at,
                format!(
                    "{count} meshes of {n} nodes: the smallest has {smallest}, too few to keep \
                     {tunnels} tunnels per node inside one"
                ),
            ));
        }
        Ok(count as u16)
    }
}

impl MeshPlan {
    /// Draws the membership of `nodes` (the manager nodes, ascending) for
    /// `seed`: order 1 puts them all in mesh 0; order 2 shuffles them into
    /// `count` home meshes of near-equal size, then in each mesh draws
    /// round(`border_share` x size) of its home nodes that also join one
    /// other mesh drawn uniformly.
    pub fn draw(&mut self, nodes: &[usize], seed: u64) {
        for ms in &mut self.membership {
            ms.clear();
        }
        if self.order < 2 {
            for &i in nodes {
                self.membership[i] = vec![0];
            }
            return;
        }
        let (n, count) = (nodes.len(), usize::from(self.count));
        let mut rng = stream(seed, StreamKind::MeshMembership, 0);
        let mut order: Vec<usize> = nodes.to_vec();
        for k in (1..n).rev() {
            order.swap(k, below(&mut rng, k + 1));
        }
        for m in 0..count {
            let home = &order[m * n / count..(m + 1) * n / count];
            for &i in home {
                self.membership[i].push(m as u16);
            }
            // Border nodes: `b` of the home nodes, drawn without
            // replacement, each into one other mesh.
            let b = (self.border_share * home.len() as f64).round() as usize;
            let mut pool = home.to_vec();
            for k in 0..b.min(pool.len()) {
                let j = k + below(&mut rng, pool.len() - k);
                pool.swap(k, j);
                let other = below(&mut rng, count - 1);
                let other = if other >= m { other + 1 } else { other };
                self.membership[pool[k]].push(other as u16);
            }
        }
        for ms in &mut self.membership {
            ms.sort_unstable();
        }
    }
}
