//! The discovery section of a run report: when every node's topology
//! database first held the true topology, how long each topology change
//! took to be known everywhere, and what the flood cost.

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::html::Page;
use crate::plot::{self, Chart, Series};

/// `summary.json`'s `discovery` (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Discovery {
    /// Interval of the convergence check, ms.
    pub check_interval_ms: f64,
    /// When the network first settled, s.
    pub converged_s: Option<f64>,
    /// After each topology change.
    #[serde(default)]
    pub reconvergence: Vec<Reconvergence>,
    /// Whether the last check found the network settled.
    pub settled_at_end: bool,
    /// Two-way links at the last check.
    pub links_at_end: usize,
    /// Adverts signed per node.
    pub originated_per_node: f64,
    /// Advert messages sent per node.
    pub adverts_per_node: f64,
    /// Advert bytes sent per node per second, over the run.
    pub bytes_per_node_per_s: f64,
    /// Advert bytes sent, all nodes, until the network first settled.
    pub bytes_until_converged: Option<u64>,
    /// Advert bytes per node per second after it first settled.
    pub bytes_per_node_per_s_after: Option<f64>,
    /// Adverts refused.
    pub refused: u64,
    /// Flows that find their own path, and those that found none.
    pub discovering_flows: usize,
    /// Of those, the ones without a path.
    pub flows_without_path: usize,
}

/// The network settling after one topology change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reconvergence {
    /// What changed.
    pub change: String,
    /// When, s.
    pub at_s: f64,
    /// When it settled again, s.
    pub settled_s: Option<f64>,
    /// How long that took, ms.
    pub after_ms: Option<f64>,
}

/// One convergence check (`timeseries_discovery.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverySample {
    /// When, s.
    pub time_s: f64,
    /// Advert bytes sent so far, all nodes.
    pub bytes_sent: u64,
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(
        || "not within the run".to_string(),
        |x| format!("{x} {unit}"),
    )
}

/// Writes the section for `d`; `samples` and `nodes` draw its plot.
pub fn section(
    page: &mut Page,
    d: &Discovery,
    samples: &[DiscoverySample],
    nodes: usize,
) -> Result<(), ReportError> {
    page.heading("Discovery");
    page.paragraph(&format!(
        "Converged: every live node's topology database holds exactly the links \
         with an established session (both directions, two-way checked; a node \
         is compared with its own connected component), and every link that \
         can carry a session does. Checked every {} ms, so times are known to \
         that resolution.",
        d.check_interval_ms
    ));
    page.facts(&[
        ("converged at", opt(d.converged_s, "s")),
        (
            "settled at the end",
            format!(
                "{} ({} links)",
                if d.settled_at_end { "yes" } else { "no" },
                d.links_at_end
            ),
        ),
        (
            "advert bytes per node per second",
            format!("{:.1} over the run", d.bytes_per_node_per_s),
        ),
        (
            "after converging",
            d.bytes_per_node_per_s_after
                .map_or("-".to_string(), |b| format!("{b:.1} B/node/s")),
        ),
        (
            "until converged",
            d.bytes_until_converged.map_or("-".to_string(), |b| {
                format!("{:.1} kB per node", b as f64 / 1e3 / nodes.max(1) as f64)
            }),
        ),
        (
            "adverts per node",
            format!(
                "{:.1} sent, {:.2} signed",
                d.adverts_per_node, d.originated_per_node
            ),
        ),
        ("adverts refused", d.refused.to_string()),
        (
            "flows finding their own path",
            format!(
                "{} ({} without a path)",
                d.discovering_flows, d.flows_without_path
            ),
        ),
    ]);
    if !d.reconvergence.is_empty() {
        let rows: Vec<Vec<String>> = d
            .reconvergence
            .iter()
            .map(|r| {
                vec![
                    r.change.clone(),
                    format!("{}", r.at_s),
                    r.settled_s.map_or("-".into(), |s| s.to_string()),
                    r.after_ms
                        .map_or("not within the run".into(), |ms| ms.to_string()),
                ]
            })
            .collect();
        page.table(
            &["topology change", "at (s)", "settled (s)", "after (ms)"],
            &rows,
        );
    }
    if samples.len() < 2 {
        return Ok(());
    }
    let per_node = nodes.max(1) as f64;
    let bytes = Series {
        name: "advert bytes sent per node".into(),
        points: samples
            .iter()
            .map(|s| (s.time_s, s.bytes_sent as f64 / 1e3 / per_node))
            .collect(),
        ..Series::default()
    };
    let chart = Chart {
        title: "Discovery: the flood's cost over time".into(),
        x_label: "time (s)".into(),
        y_label: "advert bytes sent per node, cumulative (kB)".into(),
        series: vec![bytes],
        ..Chart::default()
    };
    let svg = plot::svg(&chart).map_err(ReportError::Plot)?;
    page.plot(
        "discovery",
        "Advert bytes sent per node so far, at each convergence check: each \
         step is a flood (the start, the early re-adverts once links are \
         measured, each topology change).",
        svg,
    );
    Ok(())
}
