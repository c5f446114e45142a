//! The `churn` section: node-core's re6st-style tunnel manager on the
//! nodes (random tunnels over the underlay, a share destroyed and
//! replaced every `refresh`), and what the engine measures of the tunnel
//! mesh it makes.

use node_core::Duration;
use node_core::churn::{ChurnConfig, Policy};
use serde::Deserialize;

use super::error::ScenarioError;
use super::resolve::Ctx;
use super::spec::{Dur, Prob};
use crate::model::ChurnPlan;

/// Default interval of the tunnel-mesh measurements.
pub const DEFAULT_SAMPLE: Duration = Duration::from_secs(10);
/// Above this many nodes, `avg_path_hops` comes from a seeded sample of
/// BFS sources rather than from every node (see [`ChurnPlan`]).
pub const DEFAULT_EXACT_UP_TO: usize = 1000;
/// Sampled BFS sources when the mesh is larger than `exact_up_to`.
pub const DEFAULT_SOURCES: usize = 400;

/// `churn`: absent fields keep node-core's defaults (re6st's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnSpec {
    /// Tunnels each node opens and keeps.
    pub tunnels_per_node: Option<usize>,
    /// Incoming tunnels a node accepts, at most.
    pub max_peers: Option<usize>,
    /// How often a share of a node's tunnels is replaced.
    pub refresh: Option<Dur>,
    /// The share replaced at each refresh, 0 ..= 1.
    pub refresh_share: Option<Prob>,
    /// `random` (the principle), `best` (keep the lowest-RTT tunnels) or
    /// `fewest_routes` (re6st's heuristic).
    pub policy: Option<PolicySpec>,
    /// Whether tunnels that carry routes are drained first.
    pub drain: Option<bool>,
    /// The longest a drain may take before the tunnel closes anyway.
    pub drain_max: Option<Dur>,
    /// The share of the most used tunnels spared by chance, 0 ..= 1.
    pub keep_used_share: Option<Prob>,
    /// The chance that such a tunnel is spared at a refresh, 0 ..= 1.
    pub keep_used_chance: Option<Prob>,
    /// The nodes that run the manager (absent: every node).
    pub nodes: Option<Vec<usize>>,
    /// Whether the nodes flood routing adverts over the tunnels (default:
    /// whether the scenario has a `discovery` section, which they need).
    /// `false` runs the tunnel mesh alone (graph studies): peers come from
    /// the engine's registry only.
    pub adverts: Option<bool>,
    /// Interval of the tunnel-mesh measurements.
    pub sample: Option<Dur>,
    /// Up to this many nodes, `avg_path_hops` is exact (BFS from every
    /// node); above, from `sources` seeded random sources.
    pub exact_up_to: Option<usize>,
    /// Sampled BFS sources on larger meshes.
    pub sources: Option<usize>,
    /// re6st's n-order mesh (absent: one mesh).
    pub meshes: Option<super::meshes::MeshesSpec>,
}

/// `churn.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySpec {
    /// Destroy at random.
    Random,
    /// Destroy the worst-RTT tunnels.
    Best,
    /// Destroy the tunnel that routes the fewest nodes.
    FewestRoutes,
}

fn thousandths(p: Prob) -> u16 {
    (p.0 * 1000.0).round() as u16
}

impl Ctx<'_> {
    /// node-core's churn settings and the engine's plan.
    pub(super) fn churn(
        &self,
        c: &ChurnSpec,
        have_underlay: bool,
        have_discovery: bool,
        seed: u64,
    ) -> Result<(ChurnConfig, ChurnPlan), ScenarioError> {
        const AT: &str = "churn";
        if !have_underlay {
            return Err(self.doc.error(
                AT,
                "tunnels cross the underlay: the scenario needs an `underlay` section",
            ));
        }
        let n = self.network.nodes.len();
        let mut cfg = ChurnConfig::default();
        if let Some(t) = c.tunnels_per_node {
            if t == 0 || t >= n {
                return Err(self.doc.error(
                    &format!("{AT}.tunnels_per_node"),
                    format!(
                        "{t} tunnels per node: must be at least 1 and fewer than the {n} nodes"
                    ),
                ));
            }
            cfg.tunnels_per_node = t;
        }
        cfg.max_peers = c.max_peers.unwrap_or(2 * cfg.tunnels_per_node);
        if cfg.max_peers == 0 {
            return Err(self
                .doc
                .error(&format!("{AT}.max_peers"), "must be at least 1"));
        }
        if let Some(Dur(r)) = c.refresh {
            if r == Duration::ZERO {
                return Err(self
                    .doc
                    .error(&format!("{AT}.refresh"), "must be greater than zero"));
            }
            cfg.refresh = r;
        }
        for (field, value) in [
            (&mut cfg.refresh_share, c.refresh_share),
            (&mut cfg.keep_used_share, c.keep_used_share),
            (&mut cfg.keep_used_chance, c.keep_used_chance),
        ] {
            if let Some(p) = value {
                *field = thousandths(p);
            }
        }
        if let Some(p) = c.policy {
            cfg.policy = match p {
                PolicySpec::Random => Policy::Random,
                PolicySpec::Best => Policy::Best,
                PolicySpec::FewestRoutes => Policy::FewestRoutes,
            };
        }
        cfg.drain = c.drain.unwrap_or(cfg.drain);
        if let Some(Dur(d)) = c.drain_max {
            cfg.drain_max = d;
        }
        cfg.check().map_err(|e| self.doc.error(AT, e))?;
        let mut nodes = Vec::new();
        match &c.nodes {
            Some(list) => {
                for (k, &i) in list.iter().enumerate() {
                    nodes.push(self.node(&format!("{AT}.nodes[{k}]"), i)?);
                }
                nodes.sort_unstable();
                nodes.dedup();
                if nodes.len() <= cfg.tunnels_per_node {
                    return Err(self.doc.error(
                        &format!("{AT}.nodes"),
                        format!(
                            "{} nodes cannot each keep {} tunnels to others",
                            nodes.len(),
                            cfg.tunnels_per_node
                        ),
                    ));
                }
            }
            None => nodes.extend(0..n),
        }
        let adverts = c.adverts.unwrap_or(have_discovery);
        if adverts != have_discovery {
            return Err(self.doc.error(
                &format!("{AT}.adverts"),
                if adverts {
                    "routing adverts are the discovery layer's: the scenario needs a `discovery` section"
                } else {
                    "false runs the mesh without routing adverts, but the scenario has a `discovery` section"
                },
            ));
        }
        let sample = c.sample.map_or(DEFAULT_SAMPLE, |d| d.0);
        if sample == Duration::ZERO {
            return Err(self
                .doc
                .error(&format!("{AT}.sample"), "must be greater than zero"));
        }
        let sources = c.sources.unwrap_or(DEFAULT_SOURCES);
        if sources == 0 {
            return Err(self
                .doc
                .error(&format!("{AT}.sources"), "must be at least 1"));
        }
        let meshes = c
            .meshes
            .as_ref()
            .map(|m| self.meshes(m, &nodes, cfg.tunnels_per_node, seed))
            .transpose()?;
        Ok((
            cfg,
            ChurnPlan {
                nodes,
                adverts,
                sample,
                exact_up_to: c.exact_up_to.unwrap_or(DEFAULT_EXACT_UP_TO),
                sources,
                meshes,
            },
        ))
    }
}
