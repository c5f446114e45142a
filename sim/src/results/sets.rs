//! What a route set did, per flow (`"routes"` flows): its routes as node
//! paths, when its detector suspected one and when its traffic moved, what
//! it sent again, and the flow's longest delivery gap.

use serde::Serialize;

use super::round;
use crate::engine::World;
use crate::engine::population::Nodes;
use crate::traffic::Source;

/// A flow's route set at the end of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetSummary {
    /// `failover`, `aggregate` or `steered`.
    pub mode: &'static str,
    /// Routes it keeps.
    pub count: usize,
    /// Its routes now: the nodes of each path (the origin first), whether
    /// it is up and carries the traffic, its smoothed end-to-end
    /// confirmation time and measured rate.
    pub routes: Vec<SetRoute>,
    /// When the failure detector suspected a route, seconds.
    pub suspected_s: Vec<f64>,
    /// When the traffic moved to another route, seconds.
    pub switched_s: Vec<f64>,
    /// From each suspicion to the first delivery after it, ms (the
    /// switch, or the new route's building, and the resend).
    pub resumed_after_ms: Vec<f64>,
    /// Routes built (the first and the replacements).
    pub routes_built: u64,
    /// Messages and bytes sent again after their route was lost.
    pub resent_messages: u64,
    /// Bytes of those.
    pub resent_bytes: u64,
    /// Probes sent on idle routes.
    pub probes: u64,
    /// The flow's longest time between two distinct deliveries, ms.
    pub max_gap_ms: Option<f64>,
    /// When that gap began (the delivery before it), s.
    pub max_gap_from_s: Option<f64>,
}

/// One route of a set.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetRoute {
    /// Nodes, origin first.
    pub path: Vec<usize>,
    /// Built end to end.
    pub up: bool,
    /// Carries the traffic (failover, steered).
    pub active: bool,
    /// Smoothed send-to-confirmation time, ms.
    pub srtt_ms: Option<f64>,
    /// Measured delivery rate, bits/s.
    pub rate_bps: u64,
}

/// The longest gap between two deliveries of a flow: (ms, when it began, s).
pub fn max_gap(s: &Source) -> Option<(f64, f64)> {
    let (gap, at) = s.stats.max_gap?;
    Some((
        round(gap.as_nanos() as f64 / 1e6, 3),
        round(at.as_secs_f64(), 9),
    ))
}

/// Flow `s`'s route set, if it has one.
pub fn summary(world: &World<Nodes>, s: &Source) -> Option<SetSummary> {
    let spec = s.spec.routes?;
    let c = s.connection?;
    let info = world.node(s.spec.from).route_set(c)?;
    let index = |a: &node_core::Address| {
        world
            .convergence()
            .and_then(|cv| cv.index_of(a))
            .unwrap_or(usize::MAX)
    };
    let gap = max_gap(s);
    let secs = |v: &[node_core::Time]| v.iter().map(|t| round(t.as_secs_f64(), 9)).collect();
    Some(SetSummary {
        mode: match spec.mode {
            node_core::SetMode::Failover => "failover",
            node_core::SetMode::Aggregate => "aggregate",
            node_core::SetMode::Steered => "steered",
        },
        count: spec.count,
        routes: info
            .routes
            .iter()
            .map(|r| SetRoute {
                path: std::iter::once(s.spec.from)
                    .chain(r.path.iter().map(index))
                    .collect(),
                up: r.up,
                active: r.active,
                srtt_ms: r.srtt.map(|d| round(d.as_nanos() as f64 / 1e6, 3)),
                rate_bps: r.rate_bps,
            })
            .collect(),
        suspected_s: secs(&s.stats.suspected_at),
        switched_s: secs(&s.stats.switched_at),
        resumed_after_ms: s
            .stats
            .suspected_at
            .iter()
            .zip(&s.stats.resumed_at)
            .map(|(a, b)| round(b.saturating_since(*a).as_nanos() as f64 / 1e6, 3))
            .collect(),
        routes_built: info.stats.routes_built,
        resent_messages: info.stats.resent_messages,
        resent_bytes: info.stats.resent_bytes,
        probes: info.stats.probes,
        max_gap_ms: gap.map(|g| g.0),
        max_gap_from_s: gap.map(|g| g.1),
    })
}

/// A gateway's uplink to the Internet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UplinkSummary {
    /// Bytes of the gateway's own flows sent out.
    pub own_bytes: u64,
    /// Bytes of relayed flows sent out.
    pub relayed_bytes: u64,
    /// Messages of its own flows dropped at a full queue.
    pub own_drops: u64,
    /// Relayed messages dropped at a full queue.
    pub relayed_drops: u64,
    /// The most bytes queued at once.
    pub max_queued: u64,
}

/// The summary of an uplink's counters.
pub fn uplink(u: crate::engine::UplinkStats) -> UplinkSummary {
    UplinkSummary {
        own_bytes: u.own_bytes,
        relayed_bytes: u.relayed_bytes,
        own_drops: u.own_drops,
        relayed_drops: u.relayed_drops,
        max_queued: u.max_queued,
    }
}
