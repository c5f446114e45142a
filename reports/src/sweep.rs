//! The results of a parameter sweep: one row per run (its parameter values,
//! seed, metrics and fingerprint), means and 95% confidence intervals per
//! grid point, `sweep.csv` and `sweep.json`, and the merging of shards.
//!
//! The simulator fills these shapes in; nothing here depends on how many
//! threads or machines ran the sweep: rows are kept in run-index order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ReportError;
use crate::csv::field;
use crate::data::Summary;
use crate::stats::{self, Estimate};

/// One axis of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// The key as the scenario writes it.
    pub key: String,
    /// Its parameter paths (several when they vary together).
    pub paths: Vec<String>,
    /// Its values (an array per value when several paths vary together).
    pub values: Vec<Value>,
}

/// What the sweep report plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlotChoice {
    /// The axis on the x axis (default: the first numeric one).
    pub x: Option<String>,
    /// Its label.
    pub x_label: Option<String>,
    /// Metrics to plot (default: every flow's goodput, delivery ratio and
    /// p99 latency).
    pub metrics: Vec<String>,
    /// Plot each line divided by its own mean at this value of the x axis
    /// (a ratio to a baseline, such as a chain's capacity relative to one
    /// hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_to: Option<Value>,
    /// Horizontal reference lines (published or theoretical figures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

/// A horizontal reference line on every plot of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Its value, in the plotted unit (a ratio with `relative_to`).
    pub y: f64,
    /// What it is, with its source.
    pub label: String,
}

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    /// Position in the whole sweep: point x repeat + repeat index.
    pub index: usize,
    /// Grid point.
    pub point: usize,
    /// Repeat index.
    pub repeat: u32,
    /// Seed of the run.
    pub seed: u64,
    /// One value per axis.
    pub values: Vec<Value>,
    /// Crypto suite.
    pub suite: String,
    /// Metrics (see [`metrics`]).
    pub metrics: BTreeMap<String, f64>,
    /// Trajectory hash.
    pub fingerprint: String,
}

/// Means of one grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointAggregate {
    /// Grid point.
    pub point: usize,
    /// One value per axis.
    pub values: Vec<Value>,
    /// Mean and interval of each metric over the point's runs.
    pub metrics: BTreeMap<String, Estimate>,
}

/// A sweep, whole or one shard of it (`sweep.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// The grid's axes.
    pub axes: Vec<Axis>,
    /// Runs per grid point.
    pub repeat: u32,
    /// Runs in the whole sweep (all shards).
    pub total_runs: usize,
    /// `I/N` for shard I of N.
    pub shard: Option<String>,
    /// Plot choices.
    pub plot: PlotChoice,
    /// The runs, by index.
    pub runs: Vec<SweepRun>,
    /// Per grid point, over its runs (recomputed by [`SweepResult::aggregate`]).
    #[serde(default)]
    pub aggregate: Vec<PointAggregate>,
}

/// The metrics of one run, by name: per flow `<flow>.goodput_bps`,
/// `.delivery_ratio`, `.delivered_bytes`, `.latency_p50_ms`,
/// `.latency_p99_ms`, `.completed_s` (those a flow has), and
/// `links.max_utilization`, `links.drops`, `links.drop_ratio` (drops over
/// datagrams offered, all link directions, when any were offered), `nodes.buffer_peak_bytes`,
/// `engine.events`; with churn, `churn.reachable_end`,
/// `churn.avg_path_hops_end`, with constant-rate flows
/// `churn.interruptions_per_hour`, `churn.outage_s_per_hour` and
/// `churn.longest_interruption_s`, `churn.breaks_per_hour`, and per lasting fault `i`
/// `churn.fault<i>.onset_reachable`, `.min_reachable`, `.onset_hops`,
/// `.onset_tunnels`; the routing table sizes at the last sample,
/// `churn.table_mean_end`, `churn.table_max_end`, and with `churn.meshes`
/// `churn.table_interior_mean_end`, `churn.table_border_mean_end` (nodes in
/// one mesh, in two), `churn.table_meshes_mean_end` (summarized entries),
/// `churn.mesh_size_mean`, `churn.border_nodes`, and the tables relative to
/// a single mesh's (its mean members less one), `churn.table_per_mesh_end`
/// and `churn.table_border_per_mesh_end`.
pub fn metrics(s: &Summary) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for f in &s.flows {
        let mut put = |k: &str, v: f64| {
            m.insert(format!("{}.{k}", f.name), v);
        };
        put("goodput_bps", f.goodput_bps as f64);
        put("delivery_ratio", f.delivery_ratio);
        put("delivered_bytes", f.delivered_bytes as f64);
        if let Some(l) = &f.latency_ms {
            put("latency_p50_ms", l.p50);
            put("latency_p99_ms", l.p99);
        }
        if let Some(c) = f.completed_s {
            put("completed_s", c);
        }
        if let Some(r) = f.on_time_ratio {
            put("on_time_ratio", r);
        }
    }
    let max_util = s.links.iter().map(|l| l.utilization).fold(0.0, f64::max);
    m.insert("links.max_utilization".into(), max_util);
    m.insert(
        "links.drops".into(),
        s.links.iter().map(|l| l.total_drops()).sum::<u64>() as f64,
    );
    m.insert(
        "nodes.buffer_peak_bytes".into(),
        s.nodes
            .iter()
            .map(|n| n.routes.buffer_peak_bytes)
            .max()
            .unwrap_or(0) as f64,
    );
    let offered: u64 = s.links.iter().map(|l| l.offered).sum();
    if offered > 0 {
        let dropped: u64 = s.links.iter().map(|l| l.total_drops()).sum();
        // Rounded as the summary's ratios are, so it reads back exactly.
        let ratio = (dropped as f64 / offered as f64 * 1e6).round() / 1e6;
        m.insert("links.drop_ratio".into(), ratio);
    }
    m.insert("engine.events".into(), s.engine.events as f64);
    if let Some(c) = &s.churn {
        if let Some(last) = c.samples.last() {
            m.insert("churn.reachable_end".into(), last.reachable_share);
            if let Some(h) = last.avg_path_hops {
                m.insert("churn.avg_path_hops_end".into(), h);
            }
            m.insert("churn.table_mean_end".into(), last.table_mean);
            m.insert("churn.table_max_end".into(), last.table_max as f64);
        }
        churn_meshes(c, &mut m);
        if let Some(x) = &c.interruptions {
            m.insert("churn.interruptions_per_hour".into(), x.per_hour);
            m.insert("churn.outage_s_per_hour".into(), x.outage_s_per_hour);
            m.insert("churn.longest_interruption_s".into(), x.longest_s);
            m.insert("churn.breaks_per_hour".into(), x.breaks_per_hour);
        }
        for x in &c.crises {
            let k = |name: &str| format!("churn.fault{}.{name}", x.fault);
            m.insert(k("onset_reachable"), x.onset_reachable);
            m.insert(k("min_reachable"), x.min_reachable);
            if let Some(h) = x.onset_hops {
                m.insert(k("onset_hops"), h);
            }
            m.insert(k("onset_tunnels"), x.onset_tunnels as f64);
        }
    }
    m
}

/// The n-order mesh's metrics (see [`metrics`]).
fn churn_meshes(c: &crate::churn::Churn, m: &mut BTreeMap<String, f64>) {
    let Some(ms) = &c.meshes else {
        return;
    };
    m.insert("churn.mesh_size_mean".into(), ms.mesh_size_mean);
    m.insert("churn.border_nodes".into(), ms.border_nodes as f64);
    let Some(last) = c.samples.last() else {
        return;
    };
    // A single mesh of the mean size holds its other members.
    let single = ms.mesh_size_mean - 1.0;
    if single > 0.0 {
        m.insert("churn.table_per_mesh_end".into(), last.table_mean / single);
    }
    let Some(t) = &last.tables else {
        return;
    };
    m.insert("churn.table_meshes_mean_end".into(), t.meshes_mean);
    if let Some(x) = t.interior_mean {
        m.insert("churn.table_interior_mean_end".into(), x);
    }
    if let Some(x) = t.border_mean {
        m.insert("churn.table_border_mean_end".into(), x);
        if single > 0.0 {
            m.insert("churn.table_border_per_mesh_end".into(), x / single);
        }
    }
}

/// A parameter value as a label: strings bare, anything else as JSON.
pub fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl SweepResult {
    /// Sorts the runs by index and recomputes the per-point means.
    pub fn aggregate(&mut self) {
        self.runs.sort_by_key(|r| r.index);
        let mut points: BTreeMap<usize, Vec<&SweepRun>> = BTreeMap::new();
        for r in &self.runs {
            points.entry(r.point).or_default().push(r);
        }
        self.aggregate = points
            .into_iter()
            .map(|(point, runs)| {
                let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
                let metrics = names
                    .into_iter()
                    .filter_map(|name| {
                        let v: Vec<f64> = runs
                            .iter()
                            .filter_map(|r| r.metrics.get(name).copied())
                            .collect();
                        Some((name.clone(), stats::estimate(&v)?))
                    })
                    .collect();
                PointAggregate {
                    point,
                    values: runs[0].values.clone(),
                    metrics,
                }
            })
            .collect();
    }

    /// Every metric name any run has, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.runs.iter().flat_map(|r| r.metrics.keys()).collect();
        names.into_iter().cloned().collect()
    }

    /// `sweep.csv`: one row per run, in index order.
    pub fn csv(&self) -> String {
        let names = self.metric_names();
        let mut head = vec![
            "index".to_string(),
            "point".into(),
            "repeat".into(),
            "seed".into(),
        ];
        for a in &self.axes {
            head.extend(a.paths.iter().cloned());
        }
        head.push("suite".into());
        head.extend(names.iter().cloned());
        head.push("fingerprint".into());
        let mut out = String::new();
        let cells: Vec<String> = head.iter().map(|h| field(h)).collect();
        let _ = writeln!(out, "{}", cells.join(","));
        for r in &self.runs {
            let mut row = vec![
                r.index.to_string(),
                r.point.to_string(),
                r.repeat.to_string(),
                r.seed.to_string(),
            ];
            for (a, v) in self.axes.iter().zip(&r.values) {
                if a.paths.len() > 1 {
                    let parts = v.as_array().cloned().unwrap_or_default();
                    row.extend(
                        (0..a.paths.len()).map(|i| parts.get(i).map(label).unwrap_or_default()),
                    );
                } else {
                    row.push(label(v));
                }
            }
            row.push(r.suite.clone());
            row.extend(
                names
                    .iter()
                    .map(|n| r.metrics.get(n).map(|v| v.to_string()).unwrap_or_default()),
            );
            row.push(r.fingerprint.clone());
            let cells: Vec<String> = row.iter().map(|c| field(c)).collect();
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }

    /// `sweep.json`.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain data serializes");
        s.push('\n');
        s
    }

    /// Reads a `sweep.json`.
    pub fn from_json(path: &str, text: &str) -> Result<Self, ReportError> {
        serde_json::from_str(text).map_err(|e| ReportError::Parse {
            path: path.to_string(),
            message: format!("not a meshsim sweep.json: {e}"),
        })
    }

    /// Combines the shards of one sweep. They must come from the same
    /// scenario and grid, and together hold every run exactly once.
    pub fn merge(parts: Vec<SweepResult>) -> Result<SweepResult, ReportError> {
        let mut parts = parts.into_iter();
        let mut whole = parts
            .next()
            .ok_or_else(|| ReportError::Sweep("nothing to merge".into()))?;
        for p in parts {
            let same = p.scenario == whole.scenario
                && p.axes == whole.axes
                && p.repeat == whole.repeat
                && p.total_runs == whole.total_runs
                && p.plot == whole.plot;
            if !same {
                return Err(ReportError::Sweep(format!(
                    "shard {} of `{}` and shard {} of `{}` are not parts of the same sweep (scenario, grid or repeat differ)",
                    p.shard.as_deref().unwrap_or("(whole)"),
                    p.scenario,
                    whole.shard.as_deref().unwrap_or("(whole)"),
                    whole.scenario
                )));
            }
            whole.runs.extend(p.runs);
        }
        whole.runs.sort_by_key(|r| r.index);
        if let Some(w) = whole.runs.windows(2).find(|w| w[0].index == w[1].index) {
            return Err(ReportError::Sweep(format!(
                "run {} appears twice: a shard was given twice, or shards of different splits were mixed",
                w[0].index
            )));
        }
        let have: BTreeSet<usize> = whole.runs.iter().map(|r| r.index).collect();
        let missing: Vec<String> = (0..whole.total_runs)
            .filter(|i| !have.contains(i))
            .take(10)
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ReportError::Sweep(format!(
                "the shards hold {} of {} runs; missing runs include {}: is a shard's directory missing?",
                have.len(),
                whole.total_runs,
                missing.join(", ")
            )));
        }
        whole.shard = None;
        whole.aggregate();
        Ok(whole)
    }
}
