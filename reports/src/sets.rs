//! The route-set section of a run report: for each flow carried by a
//! route set, its routes, when its failure detector suspected one and when
//! its traffic moved, its longest delivery gap and what it sent again.

use serde::{Deserialize, Serialize};

use crate::html::Page;

/// `summary.json`'s `flows[].route_set` (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouteSet {
    /// `failover`, `aggregate` or `steered`.
    pub mode: String,
    /// Routes it keeps.
    pub count: usize,
    /// Its routes at the end.
    pub routes: Vec<SetRoute>,
    /// When the detector suspected a route, s.
    #[serde(default)]
    pub suspected_s: Vec<f64>,
    /// When the traffic moved, s.
    #[serde(default)]
    pub switched_s: Vec<f64>,
    /// From each suspicion to the next delivery, ms.
    #[serde(default)]
    pub resumed_after_ms: Vec<f64>,
    /// Bytes sent again after their route was lost.
    pub resent_bytes: u64,
    /// Routes built.
    pub routes_built: u64,
    /// The longest delivery gap, ms, and when it began, s.
    pub max_gap_ms: Option<f64>,
    /// When that gap began.
    pub max_gap_from_s: Option<f64>,
}

/// One route of a set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SetRoute {
    /// Nodes, origin first.
    pub path: Vec<usize>,
    /// Built end to end.
    pub up: bool,
    /// Carries the traffic.
    pub active: bool,
    /// Smoothed confirmation time, ms.
    pub srtt_ms: Option<f64>,
    /// Measured rate, bits/s.
    pub rate_bps: u64,
}

fn list(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the section for the flows (name, set) that have one.
pub fn section(page: &mut Page, sets: &[(&str, &RouteSet)]) {
    if sets.is_empty() {
        return;
    }
    page.heading("Route sets");
    page.paragraph(
        "Flows carried by a route set: failover keeps standbys built and probed and \
         moves the traffic when the route-level failure detector suspects the active \
         route; aggregate stripes over every route; steered follows the one-way \
         latency pulses. The gap is the longest time between two deliveries.",
    );
    let rows: Vec<Vec<String>> = sets
        .iter()
        .map(|(name, s)| {
            let routes = s
                .routes
                .iter()
                .map(|r| {
                    let p = r
                        .path
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join("-");
                    let mark = if r.active { "*" } else { "" };
                    let rate = r.rate_bps as f64 / 1e6;
                    format!("{p}{mark} ({rate:.2} Mb/s)")
                })
                .collect::<Vec<_>>()
                .join("; ");
            vec![
                name.to_string(),
                format!("{} x{}", s.mode, s.count),
                routes,
                list(&s.suspected_s),
                list(&s.switched_s),
                list(&s.resumed_after_ms),
                s.max_gap_ms.map_or("-".into(), |g| {
                    format!("{g:.1} ms from {:.3} s", s.max_gap_from_s.unwrap_or(0.0))
                }),
                s.resent_bytes.to_string(),
                s.routes_built.to_string(),
            ]
        })
        .collect();
    page.table(
        &[
            "flow",
            "set",
            "routes at the end (* active)",
            "suspected (s)",
            "switched (s)",
            "delivering again after (ms)",
            "longest gap",
            "resent (B)",
            "routes built",
        ],
        &rows,
    );
}
