//! The discovery part of the results: convergence after the start and
//! after each topology change, the flood's cost, the flows that found
//! their own paths, and the convergence time series.

use std::fmt::Write as _;

use node_core::Time;
use serde::Serialize;

use super::round;
use crate::engine::population::Nodes;
use crate::engine::{Links, World};
use crate::model::{FaultKind, Scenario};
use crate::traffic::Source;

/// `summary.json`'s `discovery` (see `scenarios/README.md`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiscoverySummary {
    /// The interval of the convergence check: the resolution of the times.
    pub check_interval_ms: f64,
    /// When the network first settled: every live node's database held
    /// exactly the links with an established session, and every link was
    /// up (absent: never within the run).
    pub converged_s: Option<f64>,
    /// After each scenario fault that changed the topology (its start and
    /// its end), when the network settled again.
    pub reconvergence: Vec<ReconvergenceSummary>,
    /// Whether the last check found the network settled.
    pub settled_at_end: bool,
    /// Two-way links with an established session at the last check.
    pub links_at_end: usize,
    /// Checks made, and node databases compared in them (the check's
    /// cost).
    pub checks: u64,
    /// Node databases whose links were listed and compared.
    pub db_comparisons: u64,
    /// Adverts signed, all nodes.
    pub originated: u64,
    /// Advert messages sent to neighbours, all nodes.
    pub adverts_sent: u64,
    /// Bytes of those messages (advert messages on the control channel,
    /// without the link layer's framing and encryption).
    pub bytes_sent: u64,
    /// Adverts signed per node.
    pub originated_per_node: f64,
    /// Advert messages sent per node.
    pub adverts_per_node: f64,
    /// Advert bytes sent per node per simulated second, over the run.
    pub bytes_per_node_per_s: f64,
    /// Advert bytes sent, all nodes, until the network first settled.
    pub bytes_until_converged: Option<u64>,
    /// Advert bytes sent per node per second after it first settled.
    pub bytes_per_node_per_s_after: Option<f64>,
    /// Adverts refused (malformed, forged, impossible, over budget): none
    /// in an honest run.
    pub refused: u64,
    /// Gateways: (node, advertised bits/s).
    pub gateways: Vec<(usize, u64)>,
    /// Flows that find their own path.
    pub discovering_flows: usize,
    /// Of those, the ones that never found one.
    pub flows_without_path: usize,
}

/// The network settling again after a topology change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReconvergenceSummary {
    /// Index in the scenario's `faults`.
    pub fault: usize,
    /// What changed.
    pub change: String,
    /// When, simulated seconds.
    pub at_s: f64,
    /// When the network settled again (absent: not within the run).
    pub settled_s: Option<f64>,
    /// The time that took, milliseconds.
    pub after_ms: Option<f64>,
}

/// A node's discovery counters (all incarnations).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeDiscovery {
    /// Adverts it signed.
    pub originated: u64,
    /// Advert messages it sent.
    pub adverts_sent: u64,
    /// Bytes of those.
    pub bytes_sent: u64,
    /// Advert messages it received.
    pub adverts_received: u64,
    /// Bytes of those.
    pub bytes_received: u64,
    /// Adverts it refused.
    pub refused: u64,
    /// Origins in its database at the end.
    pub origins: usize,
}

/// How a flow that finds its own path found it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathSearchSummary {
    /// Tries to find a path at its start (each `Command::ConnectTo`).
    pub tries: u32,
    /// From its start to the try that found one (absent: none did).
    pub found_after_ms: Option<f64>,
    /// Why the last try found none (absent: the last try found one).
    pub no_path: Option<String>,
}

/// What fault `index`'s start (or end) did, in words.
fn change(sc: &Scenario, links: &Links, index: usize, start: bool) -> String {
    let ends = |l: usize| {
        let s = &links.links[l].spec;
        format!("{}-{}", s.a, s.b)
    };
    let (what, on, off) = match &sc.faults[index].kind {
        FaultKind::LinkDown { link } => (format!("link {}", ends(*link)), "down", "up"),
        FaultKind::NodeCrash { node } => (format!("node {node}"), "crashes", "restarts"),
        FaultKind::Partition { groups } => (
            format!("partition ({} groups)", groups.len()),
            "starts",
            "ends",
        ),
        FaultKind::PathGroupDown { group } => {
            let name = sc.underlay.as_ref().map_or("", |u| &u.groups[*group].name);
            (format!("path group {name}"), "down", "up")
        }
        FaultKind::LatencyChange { .. } | FaultKind::PathGroupLatency { .. } => {
            ("latency".to_string(), "changes", "returns")
        }
    };
    format!("{what} {}", if start { on } else { off })
}

/// The `discovery` block of the summary of `world` at `end`.
pub fn summary(world: &World<Nodes>, end: Time) -> Option<DiscoverySummary> {
    let c = world.convergence()?;
    let sc = world.scenario();
    let plan = sc.discovery.as_ref()?;
    let n = sc.network.nodes.len();
    let mut totals = crate::engine::convergence::DiscoveryCounters::default();
    for i in 0..n {
        let d = world.discovery_counters(i).unwrap_or_default();
        totals.originated += d.originated;
        totals.adverts_sent += d.adverts_sent;
        totals.bytes_sent += d.bytes_sent;
        totals.refused += d.refused;
    }
    let secs = end.as_secs_f64().max(1e-9);
    let per_node = |x: u64| round(x as f64 / n.max(1) as f64, 3);
    let last = c.samples.last();
    let after = c.first_settled.and_then(|t| {
        let dt = end.saturating_since(t).as_secs_f64();
        (dt > 0.0).then(|| {
            let bytes = totals.bytes_sent - c.bytes_at_first_settled;
            round(bytes as f64 / n.max(1) as f64 / dt, 3)
        })
    });
    let discovering: Vec<&Source> = world
        .sources()
        .iter()
        .filter(|s| s.search.is_some())
        .collect();
    Some(DiscoverySummary {
        check_interval_ms: round(c.interval().as_secs_f64() * 1e3, 3),
        converged_s: c.first_settled.map(|t| round(t.as_secs_f64(), 9)),
        reconvergence: c
            .changes
            .iter()
            .map(|ch| ReconvergenceSummary {
                fault: ch.fault,
                change: change(sc, world.links(), ch.fault, ch.start),
                at_s: round(ch.at.as_secs_f64(), 9),
                settled_s: ch.settled_at.map(|t| round(t.as_secs_f64(), 9)),
                after_ms: ch
                    .settled_at
                    .map(|t| round(t.saturating_since(ch.at).as_secs_f64() * 1e3, 3)),
            })
            .collect(),
        settled_at_end: last.is_some_and(|s| s.settled),
        links_at_end: last.map_or(0, |s| s.links),
        checks: c.samples.len() as u64,
        db_comparisons: c.db_comparisons,
        originated: totals.originated,
        adverts_sent: totals.adverts_sent,
        bytes_sent: totals.bytes_sent,
        originated_per_node: per_node(totals.originated),
        adverts_per_node: per_node(totals.adverts_sent),
        bytes_per_node_per_s: round(totals.bytes_sent as f64 / n.max(1) as f64 / secs, 3),
        bytes_until_converged: c.first_settled.map(|_| c.bytes_at_first_settled),
        bytes_per_node_per_s_after: after,
        refused: totals.refused,
        gateways: plan.gateways.clone(),
        discovering_flows: discovering.len(),
        flows_without_path: discovering
            .iter()
            .filter(|s| s.connection.is_none())
            .count(),
    })
}

/// Node `i`'s discovery counters, when the nodes run discovery.
pub fn node(world: &World<Nodes>, i: usize) -> Option<NodeDiscovery> {
    let d = world.discovery_counters(i)?;
    Some(NodeDiscovery {
        originated: d.originated,
        adverts_sent: d.adverts_sent,
        bytes_sent: d.bytes_sent,
        adverts_received: d.adverts_received,
        bytes_received: d.bytes_received,
        refused: d.refused,
        origins: world.node(i).topology().len(),
    })
}

/// A discovering flow's search.
pub fn path_search(s: &Source) -> Option<PathSearchSummary> {
    let search = s.search.as_ref()?;
    Some(PathSearchSummary {
        tries: search.tries,
        found_after_ms: search.found_after.map(|d| round(d.as_secs_f64() * 1e3, 3)),
        no_path: s
            .connection
            .is_none()
            .then(|| search.last_error.clone())
            .flatten(),
    })
}

/// The convergence time series: one row per check, with the advert bytes
/// per node per second of the interval that ends there.
pub fn csv(world: &World<Nodes>) -> Option<String> {
    let c = world.convergence()?;
    let n = world.scenario().network.nodes.len().max(1) as f64;
    let mut out =
        String::from("time_s,matched,settled,links,adverts_sent,bytes_sent,bytes_per_node_per_s\n");
    let mut prev: Option<(Time, u64)> = None;
    for s in &c.samples {
        let rate = match prev {
            Some((t, b)) if s.time > t => {
                (s.bytes_sent - b) as f64 / n / s.time.saturating_since(t).as_secs_f64()
            }
            _ => 0.0,
        };
        let _ = writeln!(
            out,
            "{:.6},{},{},{},{},{},{:.3}",
            s.time.as_secs_f64(),
            u8::from(s.matched),
            u8::from(s.settled),
            s.links,
            s.adverts_sent,
            s.bytes_sent,
            rate
        );
        prev = Some((s.time, s.bytes_sent));
    }
    Some(out)
}

/// Lines of the text summary.
pub fn text(d: &DiscoverySummary, out: &mut String) {
    let t = |s: Option<f64>| s.map_or("never".to_string(), |s| format!("{s:.3} s"));
    let _ = writeln!(
        out,
        "\ndiscovery: converged at {} (checked every {} ms); {} links at the end{}",
        t(d.converged_s),
        d.check_interval_ms,
        d.links_at_end,
        if d.settled_at_end {
            ""
        } else {
            ", NOT settled at the end"
        }
    );
    for r in &d.reconvergence {
        let after = r.after_ms.map_or("not within the run".to_string(), |ms| {
            format!("after {ms} ms")
        });
        let _ = writeln!(out, "  {:.3} s {}: settled {after}", r.at_s, r.change);
    }
    let _ = writeln!(
        out,
        "  control: {:.1} B/node/s over the run ({} after converging), {:.1} adverts sent and {:.1} signed per node, {} refused",
        d.bytes_per_node_per_s,
        d.bytes_per_node_per_s_after
            .map_or("-".to_string(), |b| format!("{b:.1} B/node/s")),
        d.adverts_per_node,
        d.originated_per_node,
        d.refused
    );
    if d.discovering_flows > 0 {
        let _ = writeln!(
            out,
            "  flows finding their own path: {}, of which without a path: {}",
            d.discovering_flows, d.flows_without_path
        );
    }
}
