//! The churn part of the results: what the tunnel managers did, and the
//! tunnel mesh's shape over time (`summary.json`'s `churn`).

use std::fmt::Write as _;

use node_core::churn::{ChurnStats, Policy};
use serde::Serialize;

use super::round;
use crate::engine::World;
use crate::engine::churn::MeshSample;
use crate::engine::population::Nodes;

/// `summary.json`'s `churn` (see `scenarios/README.md`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChurnSummary {
    /// The settings the managers ran with.
    pub tunnels_per_node: usize,
    /// Incoming tunnels a node accepted at most.
    pub max_peers: usize,
    /// Refresh period, seconds.
    pub refresh_s: f64,
    /// Share of a node's tunnels replaced at each refresh.
    pub refresh_share: f64,
    /// `random`, `best` or `fewest_routes`.
    pub policy: String,
    /// Whether tunnels carrying routes were drained first.
    pub drain: bool,
    /// Longest drain, seconds.
    pub drain_max_s: f64,
    /// Whether the nodes flooded routing adverts.
    pub adverts: bool,
    /// Nodes that ran the manager.
    pub nodes: usize,
    /// How `avg_path_hops` was measured: `exact` (BFS from every node) or
    /// `sampled` (BFS from `sources` seeded random nodes; each sample
    /// gives its standard error).
    pub path_hops_method: String,
    /// BFS sources per sample.
    pub sources: usize,
    /// The managers' counters, summed over the nodes alive at the end.
    pub counters: ChurnCounters,
    /// The mesh before and during each scenario fault that lasts (a
    /// crisis: a path group down, a partition, crashes), from the samples.
    pub crises: Vec<CrisisSummary>,
    /// The constant-rate flows' route interruptions (absent: the run has
    /// none; see `results::interruptions` for the definition).
    pub interruptions: Option<super::interruptions::InterruptionSummary>,
    /// re6st's n-order mesh: the membership (absent: no `churn.meshes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meshes: Option<super::meshes::MeshesSummary>,
    /// The tunnel mesh at each `churn.sample`.
    pub samples: Vec<MeshSampleSummary>,
}

/// The tunnel mesh around one fault, from the samples.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrisisSummary {
    /// Index in the scenario's `faults`.
    pub fault: usize,
    /// When it started and ended, seconds.
    pub from_s: f64,
    /// When it ended.
    pub to_s: f64,
    /// The last sample before it: reachable share and mean hops.
    pub before_reachable: f64,
    /// Mean hops before.
    pub before_hops: Option<f64>,
    /// At the first sample inside it (before the managers could repair
    /// much: they replace a dead tunnel after `dead_interval`).
    pub onset_reachable: f64,
    /// Mean hops at onset.
    pub onset_hops: Option<f64>,
    /// Least reachable share during it.
    pub min_reachable: f64,
    /// Most mean hops during it.
    pub max_hops: Option<f64>,
    /// Tunnels that carried at onset, and before.
    pub onset_tunnels: usize,
    /// Tunnels before.
    pub before_tunnels: usize,
}

fn crises(world: &World<Nodes>, samples: &[MeshSampleSummary]) -> Vec<CrisisSummary> {
    let sc = world.scenario();
    let mut out = Vec::new();
    for (i, f) in sc.faults.iter().enumerate() {
        let Some(d) = f.duration else { continue };
        let (from, to) = (f.at.as_secs_f64(), (f.at + d).as_secs_f64());
        let Some(before) = samples.iter().rev().find(|s| s.t < from) else {
            continue;
        };
        let during: Vec<&MeshSampleSummary> =
            samples.iter().filter(|s| s.t >= from && s.t < to).collect();
        let Some(onset) = during.first() else {
            continue;
        };
        out.push(CrisisSummary {
            fault: i,
            from_s: round(from, 6),
            to_s: round(to, 6),
            before_reachable: before.reachable_share,
            before_hops: before.avg_path_hops,
            onset_reachable: onset.reachable_share,
            onset_hops: onset.avg_path_hops,
            min_reachable: during.iter().map(|s| s.reachable_share).fold(1.0, f64::min),
            max_hops: during
                .iter()
                .filter_map(|s| s.avg_path_hops)
                .reduce(f64::max),
            onset_tunnels: onset.tunnels,
            before_tunnels: before.tunnels,
        });
    }
    out
}

/// The managers' counters (node-core's `ChurnStats`), summed.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ChurnCounters {
    /// Tunnels asked of the engine.
    pub requested: u64,
    /// Tunnels opened.
    pub opened: u64,
    /// Requests the engine could not carry out (the peer was down).
    pub failed: u64,
    /// Tunnels the peer refused (at its `max_peers`) before they were up.
    pub refused: u64,
    /// Tunnels that the peer closed or that died after they were up.
    pub lost: u64,
    /// Tunnels destroyed at once by a refresh.
    pub destroyed: u64,
    /// Tunnels drained first (they carried routes).
    pub drained: u64,
    /// Drains that reached `drain_max` while still in use.
    pub forced: u64,
    /// Refreshes run.
    pub refreshes: u64,
    /// Incoming tunnels refused at `max_peers`.
    pub refused_incoming: u64,
    /// Candidates asked of the registry.
    pub peers_asked: u64,
    /// Tunnels given up because the pair had two (both ends drew each
    /// other at once).
    pub duplicates: u64,
}

impl ChurnCounters {
    fn add(&mut self, s: &ChurnStats) {
        self.requested += s.requested;
        self.opened += s.opened;
        self.failed += s.failed;
        self.refused += s.refused;
        self.lost += s.lost;
        self.destroyed += s.destroyed;
        self.drained += s.drained;
        self.forced += s.forced;
        self.refreshes += s.refreshes;
        self.refused_incoming += s.refused_incoming;
        self.peers_asked += s.peers_asked;
        self.duplicates += s.duplicates;
    }
}

/// The tunnel mesh at one sample.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeshSampleSummary {
    /// Simulated seconds.
    pub t: f64,
    /// Tunnels that carried (established, not held down by a fault).
    pub tunnels: usize,
    /// Mean shortest-path hops over reachable ordered pairs (absent: none
    /// reachable).
    pub avg_path_hops: Option<f64>,
    /// Its standard error (0: exact).
    pub avg_path_hops_se: f64,
    /// Ordered pairs of manager nodes with no tunnel path.
    pub unreachable_pairs: u64,
    /// The share of ordered pairs that are reachable.
    pub reachable_share: f64,
    /// Connected components.
    pub components: usize,
    /// Nodes in the largest component.
    pub largest_component: usize,
    /// Routing table size (entries a node holds to route: with adverts
    /// what its routing table holds, else computed on the tunnel graph:
    /// the other nodes of its component, or in an n-order mesh the nodes
    /// of its meshes it reaches plus one entry per other mesh it reaches,
    /// see `mesh_tables`): least, mean, most over the nodes.
    pub table_min: usize,
    /// Mean routing table size.
    pub table_mean: f64,
    /// Largest routing table.
    pub table_max: usize,
    /// With `churn.meshes`: the sizes of nodes in one mesh and of border
    /// nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<super::meshes::TablesSummary>,
}

fn sample(s: &MeshSample) -> MeshSampleSummary {
    MeshSampleSummary {
        t: round(s.time.as_secs_f64(), 6),
        tunnels: s.tunnels,
        avg_path_hops: s.avg_path_hops.map(|h| round(h, 4)),
        avg_path_hops_se: round(s.avg_path_hops_se, 5),
        unreachable_pairs: s.unreachable_pairs,
        reachable_share: if s.pairs == 0 {
            1.0
        } else {
            round(1.0 - s.unreachable_pairs as f64 / s.pairs as f64, 6)
        },
        components: s.components,
        largest_component: s.largest,
        table_min: s.table.0,
        table_mean: round(s.table.1, 3),
        table_max: s.table.2,
        tables: s.split.as_ref().map(super::meshes::tables),
    }
}

/// The `churn` block of the summary of `world`.
pub fn summary(world: &World<Nodes>) -> Option<ChurnSummary> {
    let plan = world.churn_plan()?;
    let sc = world.scenario();
    let cfg = sc.protocol.churn.as_ref()?;
    let mut counters = ChurnCounters::default();
    for &i in &plan.nodes {
        if let Some(s) = world.node(i).churn_stats() {
            counters.add(&s);
        }
    }
    let samples: Vec<MeshSampleSummary> = world.mesh_samples().iter().map(sample).collect();
    let exact = world.mesh_samples().iter().all(|s| s.exact);
    Some(ChurnSummary {
        tunnels_per_node: cfg.tunnels_per_node,
        max_peers: cfg.max_peers,
        refresh_s: cfg.refresh.as_secs_f64(),
        refresh_share: f64::from(cfg.refresh_share) / 1000.0,
        policy: match cfg.policy {
            Policy::Random => "random",
            Policy::Best => "best",
            Policy::FewestRoutes => "fewest_routes",
        }
        .to_string(),
        drain: cfg.drain,
        drain_max_s: cfg.drain_max.as_secs_f64(),
        adverts: plan.adverts,
        nodes: plan.nodes.len(),
        path_hops_method: if exact { "exact" } else { "sampled" }.to_string(),
        sources: if exact {
            plan.nodes.len()
        } else {
            plan.sources.min(plan.nodes.len())
        },
        counters,
        crises: crises(world, &samples),
        interruptions: super::interruptions::summary(world.sources(), world.now()),
        meshes: super::meshes::summary(world, plan),
        samples,
    })
}

/// The churn lines of the text summary.
pub fn text(c: &ChurnSummary, o: &mut String) {
    let k = &c.counters;
    let _ = writeln!(
        o,
        "\nchurn: {} nodes x {} tunnels (max {} incoming), policy {}, refresh {} s x {}, drain {}",
        c.nodes, c.tunnels_per_node, c.max_peers, c.policy, c.refresh_s, c.refresh_share, c.drain
    );
    let _ = writeln!(
        o,
        "  tunnels opened {} destroyed {} drained {} forced {} refused {} lost {} (refreshes {})",
        k.opened, k.destroyed, k.drained, k.forced, k.refused, k.lost, k.refreshes
    );
    for x in &c.crises {
        let _ = writeln!(
            o,
            "  fault {} ({}-{} s): reachable {:.4} -> {:.4} at onset (min {:.4}), hops {} -> {}, tunnels {} -> {}",
            x.fault,
            x.from_s,
            x.to_s,
            x.before_reachable,
            x.onset_reachable,
            x.min_reachable,
            x.before_hops.map_or("-".into(), |h| format!("{h:.3}")),
            x.onset_hops.map_or("-".into(), |h| format!("{h:.3}")),
            x.before_tunnels,
            x.onset_tunnels
        );
    }
    if let Some(x) = &c.interruptions {
        let _ = writeln!(
            o,
            "  route breaks {} ({:.3}/h); interruptions (>= {} s): {} over {:.3} flow-hours ({} flows): {:.3}/h, outage {:.3} s/h, longest {} s",
            x.breaks,
            x.breaks_per_hour,
            x.threshold_s,
            x.count,
            x.flow_hours,
            x.flows,
            x.per_hour,
            x.outage_s_per_hour,
            x.longest_s
        );
    }
    if let Some(s) = c.samples.last() {
        let _ = writeln!(
            o,
            "  at {} s: {} tunnels, avg_path_hops {} ({}), reachable {:.4}, table {}/{:.1}/{}",
            s.t,
            s.tunnels,
            s.avg_path_hops.map_or("-".into(), |h| format!("{h:.3}")),
            c.path_hops_method,
            s.reachable_share,
            s.table_min,
            s.table_mean,
            s.table_max
        );
    }
    if let Some(m) = &c.meshes {
        let last = c.samples.last().and_then(|s| s.tables.as_ref());
        super::meshes::text(m, last, o);
    }
}
