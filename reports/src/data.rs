//! The result shapes a report renders, as a run writes them into its output
//! directory: `summary.json` and the CSV time series. This crate reads the
//! files rather than the simulator's types, so it depends on nothing of the
//! engine; fields it does not render are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::csv::Table;

/// What `summary.json` holds (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    #[serde(default)]
    pub description: String,
    /// Seed of the run.
    pub seed: u64,
    /// Crypto suite.
    pub suite: String,
    /// Simulated duration, seconds.
    pub duration_s: f64,
    /// Trajectory hash.
    pub fingerprint: String,
    /// Engine counters.
    pub engine: Engine,
    /// Per flow.
    pub flows: Vec<Flow>,
    /// Per link direction.
    pub links: Vec<Link>,
    /// Per node.
    pub nodes: Vec<Node>,
    /// Links whose latency the importer derived from distance.
    #[serde(default)]
    pub derived_latency_links: Vec<usize>,
    /// Discovery, when the nodes ran it.
    #[serde(default)]
    pub discovery: Option<crate::discovery::Discovery>,
    /// Churn (absent without a `churn` section).
    #[serde(default)]
    pub churn: Option<crate::churn::Churn>,
    /// Payments (absent without a `pay` section).
    #[serde(default)]
    pub pay: Option<crate::pay::Pay>,
}

/// Engine counters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Engine {
    /// Events processed.
    pub events: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// One flow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flow {
    /// Name.
    pub name: String,
    /// Source node.
    pub from: usize,
    /// Destination node (for a flow to the nearest gateway: the one it
    /// reached, if any).
    pub to: Option<usize>,
    /// `bulk`, `cbr` or `request_response`.
    pub kind: String,
    /// `realtime` or `bulk`.
    pub class: String,
    /// Messages sent.
    pub sent_messages: u64,
    /// Distinct messages delivered.
    pub delivered_messages: u64,
    /// Bytes delivered.
    pub delivered_bytes: u64,
    /// Delivered over sent messages.
    pub delivery_ratio: f64,
    /// Goodput over the flow's active time, bits/s.
    pub goodput_bps: u64,
    /// When goodput starts counting (the scenario's warmup), if it has one.
    #[serde(default)]
    pub goodput_from_s: Option<f64>,
    /// The flow's deadline (ms), if it has one.
    #[serde(default)]
    pub deadline_ms: Option<f64>,
    /// The share of messages that arrived within the deadline.
    #[serde(default)]
    pub on_time_ratio: Option<f64>,
    /// Latency, if anything arrived.
    pub latency_ms: Option<Latency>,
    /// When a bulk transfer completed.
    pub completed_s: Option<f64>,
    /// The nodes of its route.
    #[serde(default)]
    pub path: Vec<usize>,
    /// Its route set, if a set carries it.
    #[serde(default)]
    pub route_set: Option<crate::sets::RouteSet>,
}

/// One link direction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Link {
    /// Link index.
    pub link: usize,
    /// Sender.
    pub from: usize,
    /// Receiver.
    pub to: usize,
    /// Medium.
    pub medium: String,
    /// Datagrams offered.
    pub offered: u64,
    /// Datagrams delivered.
    pub delivered: u64,
    /// Bytes delivered.
    pub delivered_bytes: u64,
    /// Share of the run spent transmitting.
    pub utilization: f64,
    /// Drops by cause.
    pub drops: BTreeMap<String, u64>,
}

impl Link {
    /// All drops, whatever the cause.
    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    /// Index.
    pub node: usize,
    /// Name.
    pub name: String,
    /// Its route entries.
    pub routes: NodeRoutes,
}

/// A node's route entries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeRoutes {
    /// Store-and-forward buffer peak, bytes.
    pub buffer_peak_bytes: u64,
    /// Bytes retransmitted hop by hop.
    pub bytes_retransmitted: u64,
}

/// One sample of a flow's time series.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSample {
    /// End of the interval, seconds.
    pub time_s: f64,
    /// Flow name.
    pub flow: String,
    /// Goodput over the interval, bits/s.
    pub goodput_bps: f64,
}

/// One sample of a link direction's time series.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSample {
    /// End of the interval, seconds.
    pub time_s: f64,
    /// Link index (two links may join the same pair: a wifi link and a
    /// tunnel).
    pub link: usize,
    /// Sender.
    pub from: usize,
    /// Receiver.
    pub to: usize,
    /// Share of the interval spent transmitting.
    pub utilization: f64,
    /// Drops so far, all causes.
    pub drops_total: u64,
}

/// One sample of a node's route entries.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSample {
    /// Sample time, seconds.
    pub time_s: f64,
    /// Node.
    pub node: usize,
    /// Bytes held in store-and-forward buffers.
    pub held_bytes: u64,
}

/// One sample of one hop of a flow's route (`timeseries_route_hops.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct HopSample {
    /// Sample time, seconds.
    pub time_s: f64,
    /// The flow's name.
    pub flow: String,
    /// Position on the route, 0 = the origin.
    pub hop: usize,
    /// The node at that hop.
    pub node: usize,
    /// Bytes the route's buffer held there (forward direction).
    pub held_bytes: u64,
}

/// Everything a run directory holds that a report shows.
#[derive(Debug, Clone)]
pub struct RunData {
    /// `summary.json`.
    pub summary: Summary,
    /// `timeseries_flows.csv`.
    pub flows: Vec<FlowSample>,
    /// `timeseries_links.csv`.
    pub links: Vec<LinkSample>,
    /// `timeseries_routes.csv`.
    pub routes: Vec<RouteSample>,
    /// `timeseries_route_hops.csv` (empty for runs that predate it).
    pub hops: Vec<HopSample>,
    /// `latencies.csv`: each flow's latency samples, ms, in delivery order.
    pub latencies: BTreeMap<String, Vec<f64>>,
    /// `scenario.json`, the scenario as run, if the directory has it.
    pub scenario: Option<serde_json::Value>,
    /// `timeseries_discovery.csv` (empty when the nodes ran no discovery).
    pub discovery: Vec<crate::discovery::DiscoverySample>,
}

impl RunData {
    /// Reads a run's output directory.
    pub fn read(dir: &Path) -> Result<Self, ReportError> {
        let summary_path = dir.join("summary.json");
        let summary: Summary =
            serde_json::from_str(&read(&summary_path)?).map_err(|e| ReportError::Parse {
                path: summary_path.display().to_string(),
                message: e.to_string(),
            })?;
        let flows = rows(dir, "timeseries_flows.csv", |r| {
            Ok(FlowSample {
                time_s: r.f64("time_s")?,
                flow: r.str("flow")?.to_string(),
                goodput_bps: r.f64("interval_goodput_bps")?,
            })
        })?;
        let links = rows(dir, "timeseries_links.csv", |r| {
            let drops = ["loss", "queue", "collision", "down", "too_big"]
                .iter()
                .map(|c| r.u64(&format!("drops_{c}")))
                .sum::<Result<u64, String>>()?;
            Ok(LinkSample {
                time_s: r.f64("time_s")?,
                link: r.u64("link")? as usize,
                from: r.u64("from")? as usize,
                to: r.u64("to")? as usize,
                utilization: r.f64("interval_utilization")?,
                drops_total: drops,
            })
        })?;
        let routes = rows(dir, "timeseries_routes.csv", |r| {
            Ok(RouteSample {
                time_s: r.f64("time_s")?,
                node: r.u64("node")? as usize,
                held_bytes: r.u64("held_bytes")?,
            })
        })?;
        let hops = if dir.join("timeseries_route_hops.csv").exists() {
            rows(dir, "timeseries_route_hops.csv", |r| {
                Ok(HopSample {
                    time_s: r.f64("time_s")?,
                    flow: r.str("flow")?.to_string(),
                    hop: r.u64("hop")? as usize,
                    node: r.u64("node")? as usize,
                    held_bytes: r.u64("held_bytes")?,
                })
            })?
        } else {
            Vec::new()
        };
        let mut latencies: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let latency_path = dir.join("latencies.csv");
        if latency_path.exists() {
            let samples = rows(dir, "latencies.csv", |r| {
                Ok((r.str("flow")?.to_string(), r.f64("latency_ms")?))
            })?;
            for (flow, ms) in samples {
                latencies.entry(flow).or_default().push(ms);
            }
        }
        let scenario_path = dir.join("scenario.json");
        let scenario = if scenario_path.exists() {
            Some(
                serde_json::from_str(&read(&scenario_path)?).map_err(|e| ReportError::Parse {
                    path: scenario_path.display().to_string(),
                    message: e.to_string(),
                })?,
            )
        } else {
            None
        };
        let discovery = if dir.join("timeseries_discovery.csv").exists() {
            rows(dir, "timeseries_discovery.csv", |r| {
                Ok(crate::discovery::DiscoverySample {
                    time_s: r.f64("time_s")?,
                    bytes_sent: r.u64("bytes_sent")?,
                })
            })?
        } else {
            Vec::new()
        };
        Ok(RunData {
            discovery,
            summary,
            flows,
            links,
            routes,
            hops,
            latencies,
            scenario,
        })
    }
}

/// Reads the CSV file `name` of `dir` row by row with `f`.
fn rows<T>(
    dir: &Path,
    name: &str,
    f: impl Fn(&crate::csv::Row<'_>) -> Result<T, String>,
) -> Result<Vec<T>, ReportError> {
    let path = dir.join(name);
    Table::parse(&read(&path)?)
        .and_then(|t| t.rows_with(f))
        .map_err(|message| ReportError::Parse {
            path: path.display().to_string(),
            message,
        })
}

pub(crate) fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}
