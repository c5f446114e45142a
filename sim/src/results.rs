//! What a run produces: a deterministic summary (`summary.json`), time
//! series (CSV) and a one-screen text summary. No wall-clock figure appears
//! here, so equal inputs give byte-identical files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use node_core::Time;
use serde::Serialize;

use crate::channel::DropCause;
use crate::engine::World;
use crate::engine::population::Nodes;
use crate::model::{Medium, TrafficKind};
use crate::traffic::Source;

pub mod churn;
mod csv;
pub mod discovery;
pub mod interruptions;
pub mod meshes;
pub mod pay;
pub mod sets;

pub use csv::{flows_csv, latencies_csv, links_csv, route_hops_csv, routes_csv};

/// Everything `summary.json` holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// The seed of the run.
    pub seed: u64,
    /// The crypto suite the nodes ran.
    pub suite: String,
    /// Simulated duration in seconds.
    pub duration_s: f64,
    /// Hash of the trajectory: equal fingerprints mean identical runs.
    pub fingerprint: String,
    /// Engine counters.
    pub engine: EngineSummary,
    /// Per flow.
    pub flows: Vec<FlowSummary>,
    /// Per link direction.
    pub links: Vec<LinkSummary>,
    /// Per node.
    pub nodes: Vec<NodeSummary>,
    /// Tunnels opened during the run (absent when there were none).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tunnels: Vec<TunnelSummary>,
    /// Links whose latency the importer derived from the great-circle
    /// distance between their ends (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub derived_latency_links: Vec<usize>,
    /// Discovery: convergence and the flood's cost (absent when the nodes
    /// run none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<discovery::DiscoverySummary>,
    /// Churn: the tunnel managers' counters and the tunnel mesh over time
    /// (absent without a `churn` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<churn::ChurnSummary>,
    /// Payments: the escrow's ledger and each payee (absent without `pay`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay: Option<pay::PaySummary>,
}

/// A tunnel opened at run time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TunnelSummary {
    /// Its link index (its rows in `links`).
    pub link: usize,
    /// The node that asked for it.
    pub from: usize,
    /// The node it was opened to.
    pub to: usize,
    /// When it opened, simulated seconds.
    pub opened_s: f64,
    /// When it was destroyed (absent: open at the end of the run).
    pub closed_s: Option<f64>,
    /// The node that destroyed it (or crashed).
    pub closed_by: Option<usize>,
}

/// Engine counters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EngineSummary {
    /// Events processed.
    pub events: u64,
    /// Steps fed to the fingerprint.
    pub trajectory_steps: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// One flow.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlowSummary {
    /// Name.
    pub name: String,
    /// Source node.
    pub from: usize,
    /// Destination node; for a flow to the nearest gateway, the one its
    /// latest route reached (`null` if none did).
    pub to: Option<usize>,
    /// The flow went to the nearest gateway (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub to_gateway: bool,
    /// `bulk`, `cbr` or `request_response`.
    pub kind: &'static str,
    /// `realtime` or `bulk`.
    pub class: &'static str,
    /// Messages handed to the source node.
    pub sent_messages: u64,
    /// Bytes handed to the source node.
    pub sent_bytes: u64,
    /// Messages the node refused.
    pub rejected: u64,
    /// Distinct messages delivered (responses for request/response).
    pub delivered_messages: u64,
    /// Bytes of distinct messages delivered.
    pub delivered_bytes: u64,
    /// Delivered over sent messages.
    pub delivery_ratio: f64,
    /// Messages delivered twice (after a session was replaced).
    pub duplicates: u64,
    /// Messages delivered after a later one.
    pub out_of_order: u64,
    /// Delivered bits per second over the flow's active time (for a bulk
    /// transfer: until it completed); with a warmup, only deliveries from
    /// the warmup on, over the active time from then on (0 when the flow
    /// was done before).
    pub goodput_bps: u64,
    /// The warmup's end when the scenario sets one: when goodput starts
    /// counting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goodput_from_s: Option<f64>,
    /// The flow's deadline, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<f64>,
    /// With a deadline: the share of messages offered (sent or refused by
    /// the node) that arrived within it, counting late ones as lost; only
    /// messages offered early enough for their deadline to fall in the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_time_ratio: Option<f64>,
    /// One-way latency (round trip for request/response), if anything arrived.
    pub latency_ms: Option<Latency>,
    /// When a bulk transfer was fully delivered.
    pub completed_s: Option<f64>,
    /// The nodes of its route (of its latest, for a flow that finds its
    /// own path).
    pub path: Vec<usize>,
    /// A flow that finds its own path: how it found it (absent for the
    /// others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_search: Option<discovery::PathSearchSummary>,
    /// Time from the flow's start to its route being up.
    pub route_setup_ms: Option<f64>,
    /// A flow that finds its own path: the longest time between two of
    /// its deliveries, ms (absent for the others; a route set's is in
    /// `route_set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gap_ms: Option<f64>,
    /// A flow to the nearest gateway: messages its gateway's uplink queue
    /// dropped (absent for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink_drops: Option<u64>,
    /// A flow over a route set: what the set did (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_set: Option<sets::SetSummary>,
    /// Why its connection closed for good (or could not open), if it did.
    pub route_closed: Option<String>,
    /// Routes opened again after one broke.
    pub route_reopens: u64,
}

/// One direction of a link.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkSummary {
    /// Link index.
    pub link: usize,
    /// Sending node.
    pub from: usize,
    /// Receiving node.
    pub to: usize,
    /// `wired`, `wifi` or `sonet`.
    pub medium: &'static str,
    /// Datagrams offered.
    pub offered: u64,
    /// Datagrams delivered.
    pub delivered: u64,
    /// Bytes delivered.
    pub delivered_bytes: u64,
    /// Share of the run the sender spent transmitting.
    pub utilization: f64,
    /// Drops by cause.
    pub drops: BTreeMap<&'static str, u64>,
}

/// One node (all incarnations together).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeSummary {
    /// Index.
    pub node: usize,
    /// Name.
    pub name: String,
    /// Restarts after crashes.
    pub restarts: u32,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Datagrams accepted.
    pub datagrams_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Packets declared lost.
    pub packets_lost: u64,
    /// Frames retransmitted.
    pub frames_retransmitted: u64,
    /// Key rotations.
    pub rekeys: u64,
    /// Handshakes completed.
    pub handshakes: u64,
    /// Service messages delivered to applications.
    pub messages_delivered: u64,
    /// Datagrams dropped by node-core, by cause.
    pub drops: BTreeMap<&'static str, u64>,
    /// Its route entries (as origin, relay or destination).
    pub routes: RouteSummary,
    /// Its discovery layer (absent when the nodes run none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<discovery::NodeDiscovery>,
    /// A gateway: what its uplink to the Internet sent and dropped (absent
    /// for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<sets::UplinkSummary>,
}

/// What a node's route entries did (maxima over the samples: relays forget
/// an entry when its route closes).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteSummary {
    /// Route entries held at once, at most.
    pub entries_peak: u64,
    /// Bytes held in store-and-forward buffers at once, at most (sampled).
    pub buffer_peak_bytes: u64,
    /// Bytes sent to next hops.
    pub bytes_sent: u64,
    /// Bytes sent again after link losses (hop-by-hop retransmission).
    pub bytes_retransmitted: u64,
    /// Times a direction waited for credit.
    pub credit_stalls: u64,
    /// Time spent waiting for credit.
    pub credit_stall_ms: f64,
    /// End-to-end mode: frames dropped by this node's relay queues.
    pub relay_queue_drops: u64,
    /// End-to-end mode: segments its sources retransmitted.
    pub e2e_retransmissions: u64,
    /// End-to-end mode: its sources' retransmission timeouts.
    pub e2e_timeouts: u64,
    /// Requests refused by the route layer's bounds (entries, credit,
    /// CREATE rate, path length): none in an honest run within the limits.
    pub refused: u64,
    /// Route frames that broke the protocol.
    pub violations: u64,
}

fn route_summary(world: &World<Nodes>, i: usize) -> RouteSummary {
    use crate::engine::protocol::Protocol;
    let last = world.node(i).route_totals();
    let all = world.route_series_of(i).chain([last]);
    let mut m = crate::engine::protocol::RouteTotals::default();
    let mut peak_entries = 0;
    for t in all {
        peak_entries = peak_entries.max(t.entries);
        m.held = m.held.max(t.held);
        m.bytes_sent = m.bytes_sent.max(t.bytes_sent);
        m.bytes_retransmitted = m.bytes_retransmitted.max(t.bytes_retransmitted);
        m.credit_stalls = m.credit_stalls.max(t.credit_stalls);
        m.credit_stall_ns = m.credit_stall_ns.max(t.credit_stall_ns);
        m.queue_drops = m.queue_drops.max(t.queue_drops);
        m.e2e_retransmissions = m.e2e_retransmissions.max(t.e2e_retransmissions);
        m.e2e_timeouts = m.e2e_timeouts.max(t.e2e_timeouts);
        m.refused = m.refused.max(t.refused);
        m.violations = m.violations.max(t.violations);
    }
    RouteSummary {
        entries_peak: peak_entries,
        buffer_peak_bytes: m.held,
        bytes_sent: m.bytes_sent,
        bytes_retransmitted: m.bytes_retransmitted,
        credit_stalls: m.credit_stalls,
        credit_stall_ms: round(m.credit_stall_ns as f64 / 1e6, 3),
        relay_queue_drops: m.queue_drops,
        e2e_retransmissions: m.e2e_retransmissions,
        e2e_timeouts: m.e2e_timeouts,
        refused: m.refused,
        violations: m.violations,
    }
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn flow_summary(world: &World<Nodes>, s: &Source, end: Time) -> FlowSummary {
    let spec = &s.spec;
    let st = &s.stats;
    let start = Time::ZERO + spec.start;
    let (kind, completed) = match spec.kind {
        TrafficKind::Bulk { size, .. } => (
            "bulk",
            (st.delivered_bytes >= size && size > 0)
                .then_some(st.last_delivery)
                .flatten(),
        ),
        TrafficKind::Cbr { .. } => ("cbr", None),
        TrafficKind::RequestResponse { .. } => ("request_response", None),
    };
    let stop = spec.stop.map_or(end, |s| (Time::ZERO + s).min(end));
    let measured_from = start.max(st.measured_from);
    let active = completed
        .unwrap_or(stop)
        .saturating_since(measured_from)
        .as_secs_f64();
    let mut lat = st.latencies_ns.clone();
    lat.sort_unstable();
    let ms = |ns: u64| round(ns as f64 / 1e6, 3);
    let path = match &s.search {
        Some(search) => search.path.clone(),
        None => spec.path.clone(),
    };
    FlowSummary {
        name: spec.name.clone(),
        from: spec.from,
        to: spec
            .to
            .or_else(|| path.last().copied().filter(|_| path.len() > 1)),
        to_gateway: spec.to.is_none(),
        path_search: discovery::path_search(s),
        kind,
        class: match spec.class {
            node_core::Class::Realtime => "realtime",
            node_core::Class::Bulk => "bulk",
        },
        sent_messages: st.sent_messages,
        sent_bytes: st.sent_bytes,
        rejected: st.rejected,
        delivered_messages: st.delivered_messages,
        delivered_bytes: st.delivered_bytes,
        delivery_ratio: if st.sent_messages == 0 {
            0.0
        } else {
            round(st.delivered_messages as f64 / st.sent_messages as f64, 6)
        },
        duplicates: st.duplicates,
        out_of_order: st.out_of_order,
        goodput_bps: if active > 0.0 {
            (st.measured_bytes as f64 * 8.0 / active) as u64
        } else {
            0
        },
        deadline_ms: st.deadline.map(|d| round(d.as_nanos() as f64 / 1e6, 3)),
        on_time_ratio: st.on_time_ratio(end).map(|r| round(r, 6)),
        goodput_from_s: (st.measured_from > Time::ZERO)
            .then(|| round(st.measured_from.as_secs_f64(), 9)),
        latency_ms: (!lat.is_empty()).then(|| Latency {
            p50: ms(percentile(&lat, 0.5)),
            p99: ms(percentile(&lat, 0.99)),
            max: ms(*lat.last().expect("not empty")),
        }),
        completed_s: completed.map(|t| round(t.as_secs_f64(), 9)),
        path,
        route_setup_ms: st.route_setup.map(|d| round(d.as_secs_f64() * 1e3, 3)),
        route_closed: s.closed.clone(),
        route_reopens: st.reopens,
        max_gap_ms: (spec.discover && spec.routes.is_none())
            .then(|| sets::max_gap(s).map(|g| g.0))
            .flatten(),
        uplink_drops: spec.to.is_none().then_some(st.uplink_drops),
        route_set: sets::summary(world, s),
    }
}

fn drops_map(drops: &[u64; 5]) -> BTreeMap<&'static str, u64> {
    DropCause::ALL
        .iter()
        .map(|c| (c.name(), drops[*c as usize]))
        .collect()
}

/// The summary of a finished run.
pub fn summarize(world: &World<Nodes>) -> Summary {
    let sc = world.scenario();
    let end = world.now();
    let secs = end.as_secs_f64().max(1e-9);
    let mut links = Vec::new();
    for (i, l) in world.links().links.iter().enumerate() {
        for (d, dir) in l.dirs.iter().enumerate() {
            let Some(dir) = dir else { continue };
            let c = dir.counters();
            let (from, to) = if d == 0 {
                (l.spec.a, l.spec.b)
            } else {
                (l.spec.b, l.spec.a)
            };
            links.push(LinkSummary {
                link: i,
                from,
                to,
                medium: match l.spec.medium {
                    Medium::Wired => "wired",
                    Medium::Wifi => "wifi",
                    Medium::SonetSpan { .. } => "sonet",
                    Medium::Tunnel => "tunnel",
                },
                offered: c.offered,
                delivered: c.delivered,
                delivered_bytes: c.delivered_bytes,
                utilization: round(c.busy_by(end) as f64 / 1e9 / secs, 4),
                drops: drops_map(&c.drops),
            });
        }
    }
    let nodes = (0..sc.network.nodes.len())
        .map(|i| {
            let s = world.node_stats(i).unwrap_or_default().links;
            let d = s.drops;
            NodeSummary {
                node: i,
                name: sc.network.nodes[i].name.clone(),
                restarts: world.incarnation(i),
                datagrams_sent: s.datagrams_sent,
                datagrams_received: s.datagrams_received,
                bytes_sent: s.bytes_sent,
                packets_lost: s.packets_lost,
                frames_retransmitted: s.frames_retransmitted,
                rekeys: s.rekeys,
                handshakes: s.handshakes,
                messages_delivered: s.messages_delivered,
                drops: BTreeMap::from([
                    ("bad_tag", d.bad_tag),
                    ("malformed", d.malformed),
                    ("replay", d.replay),
                    ("unauthenticated", d.unauthenticated),
                    ("unexpected", d.unexpected),
                    ("unknown_session", d.unknown_session),
                ]),
                routes: route_summary(world, i),
                discovery: discovery::node(world, i),
                uplink: world.uplink(i).map(sets::uplink),
            }
        })
        .collect();
    Summary {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        seed: sc.seed,
        suite: sc.protocol.suite.name().to_string(),
        duration_s: round(sc.duration.as_secs_f64(), 9),
        fingerprint: world.fingerprint().hex(),
        engine: EngineSummary {
            events: world.events(),
            trajectory_steps: world.fingerprint().steps(),
            simulated_s: round(end.as_secs_f64(), 9),
        },
        flows: world
            .sources()
            .iter()
            .map(|s| flow_summary(world, s, end))
            .collect(),
        links,
        nodes,
        tunnels: world
            .tunnels()
            .iter()
            .map(|t| TunnelSummary {
                link: t.link,
                from: t.a,
                to: t.b,
                opened_s: round(t.opened_at.as_secs_f64(), 9),
                closed_s: t.closed.map(|(at, _)| round(at.as_secs_f64(), 9)),
                closed_by: t.closed.map(|(_, by)| by),
            })
            .collect(),
        derived_latency_links: sc.network.derived_latency.clone(),
        discovery: discovery::summary(world, end),
        churn: churn::summary(world),
        pay: pay::summary(world),
    }
}

/// Datagrams delivered on the link directions along each flow's path: the
/// packet-hops a packet-level simulator would count for the same traffic.
pub fn packet_hops(summary: &Summary) -> u64 {
    let mut along = std::collections::BTreeSet::new();
    for f in &summary.flows {
        for w in f.path.windows(2) {
            along.insert((w[0], w[1]));
        }
    }
    summary
        .links
        .iter()
        .filter(|l| along.contains(&(l.from, l.to)))
        .map(|l| l.delivered)
        .sum()
}

/// A one-screen text summary.
pub fn text(summary: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario {} (seed {}, suite {})",
        summary.scenario, summary.seed, summary.suite
    );
    let _ = writeln!(
        o,
        "simulated {:.3} s, {} events",
        summary.engine.simulated_s, summary.engine.events
    );
    let _ = writeln!(
        o,
        "\n{:<12} {:>5} {:>5} {:>8} {:>10} {:>8} {:>12} {:>9} {:>9}",
        "flow", "from", "to", "kind", "delivered", "ratio", "goodput", "p50 ms", "p99 ms"
    );
    for f in &summary.flows {
        let (p50, p99) = f
            .latency_ms
            .as_ref()
            .map_or((f64::NAN, f64::NAN), |l| (l.p50, l.p99));
        let _ = writeln!(
            o,
            "{:<12} {:>5} {:>5} {:>8} {:>10} {:>8.4} {:>12} {:>9.3} {:>9.3}",
            f.name,
            f.from,
            f.to.map_or("-".to_string(), |t| t.to_string()),
            f.kind,
            f.delivered_messages,
            f.delivery_ratio,
            crate::units::fmt_rate(f.goodput_bps),
            p50,
            p99
        );
    }
    let busiest: Vec<_> = {
        let mut l: Vec<_> = summary.links.iter().collect();
        l.sort_by(|a, b| {
            b.utilization
                .total_cmp(&a.utilization)
                .then(a.link.cmp(&b.link))
        });
        l.into_iter().take(8).collect()
    };
    let _ = writeln!(
        o,
        "\n{:<10} {:>5} {:<7} {:>9} {:>10} {:>8}  drops",
        "direction", "link", "medium", "offered", "delivered", "util"
    );
    for l in busiest {
        let drops: Vec<String> = l
            .drops
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        let _ = writeln!(
            o,
            "{:<10} {:>5} {:<7} {:>9} {:>10} {:>7.1}%  {}",
            format!("{}->{}", l.from, l.to),
            l.link,
            l.medium,
            l.offered,
            l.delivered,
            l.utilization * 100.0,
            drops.join(" ")
        );
    }
    if let Some(d) = &summary.discovery {
        discovery::text(d, &mut o);
    }
    if let Some(c) = &summary.churn {
        churn::text(c, &mut o);
    }
    if let Some(p) = &summary.pay {
        pay::text(p, &mut o);
    }
    let _ = writeln!(o, "\nfingerprint {}", summary.fingerprint);
    o
}
