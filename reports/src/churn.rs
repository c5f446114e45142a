//! The churn section of a run report: what the tunnel managers did, the
//! tunnel mesh's connectivity, path length and routing table size over
//! time, and the mesh around each crisis.

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::html::Page;
use crate::plot::{self, Chart, Series};

/// `summary.json`'s `churn` (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Churn {
    /// Tunnels each node keeps.
    pub tunnels_per_node: usize,
    /// Incoming tunnels accepted at most.
    pub max_peers: usize,
    /// Refresh period, s.
    pub refresh_s: f64,
    /// Share replaced per refresh.
    pub refresh_share: f64,
    /// Destruction policy.
    pub policy: String,
    /// Whether tunnels carrying routes were drained.
    pub drain: bool,
    /// Whether the nodes flooded adverts.
    pub adverts: bool,
    /// Nodes running the manager.
    pub nodes: usize,
    /// `exact` or `sampled`.
    pub path_hops_method: String,
    /// BFS sources per sample.
    pub sources: usize,
    /// The managers' counters.
    pub counters: Counters,
    /// Around each lasting fault.
    #[serde(default)]
    pub crises: Vec<Crisis>,
    /// The constant-rate flows' route interruptions.
    #[serde(default)]
    pub interruptions: Option<Interruptions>,
    /// re6st's n-order mesh membership (absent: one mesh).
    #[serde(default)]
    pub meshes: Option<Meshes>,
    /// The mesh at each sample.
    #[serde(default)]
    pub samples: Vec<MeshSample>,
}

/// `churn.meshes`: an n-order mesh's membership.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meshes {
    /// 1 or 2.
    pub order: u8,
    /// Meshes.
    pub count: u16,
    /// Share of each mesh's nodes also in another.
    pub border_share: f64,
    /// Nodes in two meshes.
    pub border_nodes: usize,
    /// Members per mesh, mean.
    pub mesh_size_mean: f64,
    /// Least.
    pub mesh_size_min: usize,
    /// Most.
    pub mesh_size_max: usize,
    /// Flows whose ends share no mesh.
    #[serde(default)]
    pub cross_mesh_flows: usize,
    /// Segments asked by origins.
    #[serde(default)]
    pub segments_asked: u64,
    /// Segments answered by border nodes.
    #[serde(default)]
    pub segments_answered: u64,
    /// Segments not answered, or refused.
    #[serde(default)]
    pub segments_refused: u64,
}

/// A sample's routing table sizes by kind of node (n-order mesh).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tables {
    /// Nodes in one mesh: least.
    pub interior_min: Option<usize>,
    /// Mean.
    pub interior_mean: Option<f64>,
    /// Most.
    pub interior_max: Option<usize>,
    /// Border nodes: least.
    pub border_min: Option<usize>,
    /// Mean.
    pub border_mean: Option<f64>,
    /// Most.
    pub border_max: Option<usize>,
    /// Mean node entries.
    pub nodes_mean: f64,
    /// Mean summarized-mesh entries.
    pub meshes_mean: f64,
}

/// `churn.interruptions` (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interruptions {
    /// Shortest gap counted, s.
    pub threshold_s: f64,
    /// Flows watched.
    pub flows: usize,
    /// Flows that never delivered.
    pub never_delivered: usize,
    /// Flow-hours watched.
    pub flow_hours: f64,
    /// Connections that lost their last route.
    #[serde(default)]
    pub breaks: u64,
    /// Per flow-hour.
    #[serde(default)]
    pub breaks_per_hour: f64,
    /// Interruptions.
    pub count: u64,
    /// Per flow-hour.
    pub per_hour: f64,
    /// Outage per flow-hour, s.
    pub outage_s_per_hour: f64,
    /// Longest, s.
    pub longest_s: f64,
    /// Median, s.
    pub median_s: Option<f64>,
}

/// The managers' counters, summed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counters {
    /// Opened.
    pub opened: u64,
    /// Destroyed at once.
    pub destroyed: u64,
    /// Drained first.
    pub drained: u64,
    /// Drains that hit drain_max.
    pub forced: u64,
    /// Refused by the peer.
    pub refused: u64,
    /// Lost after up.
    pub lost: u64,
    /// Refreshes.
    pub refreshes: u64,
}

/// The mesh around one fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Crisis {
    /// Fault index.
    pub fault: usize,
    /// Start, s.
    pub from_s: f64,
    /// End, s.
    pub to_s: f64,
    /// Reachable share before.
    pub before_reachable: f64,
    /// Hops before.
    pub before_hops: Option<f64>,
    /// Reachable share at onset.
    pub onset_reachable: f64,
    /// Hops at onset.
    pub onset_hops: Option<f64>,
    /// Least reachable share during.
    pub min_reachable: f64,
    /// Tunnels at onset.
    pub onset_tunnels: usize,
    /// Tunnels before.
    pub before_tunnels: usize,
}

/// One sample of the mesh.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MeshSample {
    /// s.
    pub t: f64,
    /// Tunnels carrying.
    pub tunnels: usize,
    /// Mean hops.
    pub avg_path_hops: Option<f64>,
    /// Reachable share.
    pub reachable_share: f64,
    /// Mean table size.
    pub table_mean: f64,
    /// Largest table.
    pub table_max: usize,
    /// Smallest table.
    pub table_min: usize,
    /// By kind of node, in an n-order mesh.
    #[serde(default)]
    pub tables: Option<Tables>,
}

fn hops(h: Option<f64>) -> String {
    h.map_or("-".into(), |h| format!("{h:.3}"))
}

/// The random-graph approximation of the mean path length for `n` nodes
/// of mean degree `2k` (Fronczak, Fronczak and Holyst 2004).
pub fn analytic_hops(n: usize, k: usize) -> f64 {
    ((n as f64).ln() - 0.5772) / ((2 * k) as f64).ln() + 0.5
}

fn chart(title: &str, y: &str, series: Vec<Series>) -> Result<String, ReportError> {
    plot::svg(&Chart {
        title: title.into(),
        x_label: "time (s)".into(),
        y_label: y.into(),
        series,
        ..Chart::default()
    })
    .map_err(ReportError::Plot)
}

/// Writes the section for `c`.
pub fn section(page: &mut Page, c: &Churn) -> Result<(), ReportError> {
    page.heading("Tunnel churn");
    page.paragraph(&format!(
        "{} nodes each keep {} random tunnels (accepting at most {} incoming); every {} s a \
         share of {} of each node's tunnels is destroyed by the {} policy and replaced by random \
         ones{}. The mesh measured is the graph of established tunnels that no fault holds down. \
         Path length: mean shortest-path hops over reachable ordered pairs ({}{}). Routing table \
         size: the entries a node must hold to route, {}.",
        c.nodes,
        c.tunnels_per_node,
        c.max_peers,
        c.refresh_s,
        c.refresh_share,
        c.policy,
        if c.drain {
            "; a tunnel that carries routes is drained first"
        } else {
            "; tunnels are closed at once"
        },
        c.path_hops_method,
        if c.path_hops_method == "sampled" {
            format!(
                ": BFS from {} seeded random nodes, standard error per sample in summary.json",
                c.sources
            )
        } else {
            ": BFS from every node".into()
        },
        match (c.adverts, c.meshes.is_some()) {
            (true, false) => "the origins in its topology database",
            (true, true) => "its routing table: the nodes of its meshes it holds plus one summarized entry per other mesh",
            (false, false) => "computed on the tunnel graph: the other nodes of its component",
            (false, true) =>
                "computed on the tunnel graph: the other nodes it reaches over tunnels inside its meshes, plus one entry per other mesh it reaches through border nodes",
        }
    ));
    if let Some(m) = &c.meshes {
        meshes_facts(page, m, c.samples.last().and_then(|s| s.tables.as_ref()));
    }
    let k = c.counters;
    page.facts(&[
        ("tunnels opened", k.opened.to_string()),
        (
            "destroyed / drained / forced",
            format!("{} / {} / {}", k.destroyed, k.drained, k.forced),
        ),
        (
            "refused by peers / lost",
            format!("{} / {}", k.refused, k.lost),
        ),
        ("refreshes", k.refreshes.to_string()),
        (
            "random-graph approximation",
            format!(
                "{:.3} hops ((ln n - 0.5772) / ln 2k + 1/2)",
                analytic_hops(c.nodes, c.tunnels_per_node)
            ),
        ),
    ]);
    if let Some(x) = &c.interruptions {
        page.paragraph(&format!(
            "Route interruptions: a delivery gap of at least {} s in a constant-rate flow (or \
             from its last delivery to the end of the run), watched from each flow's first \
             delivery; outage is the gap less the flow's message interval.",
            x.threshold_s
        ));
        page.facts(&[
            (
                "interruptions",
                format!(
                    "{} over {:.3} flow-hours of {} flows: {:.3} per hour",
                    x.count, x.flow_hours, x.flows, x.per_hour
                ),
            ),
            (
                "outage",
                format!("{:.3} s per flow-hour", x.outage_s_per_hour),
            ),
            (
                "route breaks",
                format!(
                    "{} ({:.3} per flow-hour): a flow's last route lost, however short the gap",
                    x.breaks, x.breaks_per_hour
                ),
            ),
            (
                "longest / median",
                format!(
                    "{} s / {}",
                    x.longest_s,
                    x.median_s.map_or("-".into(), |m| format!("{m} s"))
                ),
            ),
            ("flows that never delivered", x.never_delivered.to_string()),
        ]);
    }
    if !c.crises.is_empty() {
        let rows: Vec<Vec<String>> = c
            .crises
            .iter()
            .map(|x| {
                vec![
                    format!("fault {} ({}-{} s)", x.fault, x.from_s, x.to_s),
                    format!("{:.4}", x.before_reachable),
                    format!("{:.4}", x.onset_reachable),
                    format!("{:.4}", x.min_reachable),
                    format!("{} -> {}", hops(x.before_hops), hops(x.onset_hops)),
                    format!("{} -> {}", x.before_tunnels, x.onset_tunnels),
                ]
            })
            .collect();
        page.table(
            &[
                "crisis",
                "reachable before",
                "at onset",
                "least during",
                "hops before -> onset",
                "tunnels before -> onset",
            ],
            &rows,
        );
    }
    if c.samples.len() < 2 {
        return Ok(());
    }
    let line = |name: &str, f: &dyn Fn(&MeshSample) -> Option<f64>| Series {
        name: name.into(),
        points: c
            .samples
            .iter()
            .filter_map(|s| Some((s.t, f(s)?)))
            .collect(),
        ..Series::default()
    };
    let reach = chart(
        "Tunnel mesh: connectivity",
        "share of ordered pairs reachable",
        vec![line("reachable pairs", &|s| Some(s.reachable_share))],
    )?;
    page.plot(
        "churn-reach",
        "The share of ordered node pairs joined by a tunnel path, at each sample; a crisis shows as a dip until the managers replace the dead tunnels.",
        reach,
    );
    let analytic = analytic_hops(c.nodes, c.tunnels_per_node);
    let (t0, t1) = (c.samples[0].t, c.samples[c.samples.len() - 1].t);
    let path = chart(
        "Tunnel mesh: path length",
        "mean shortest path (hops)",
        vec![
            line("avg_path_hops", &|s| s.avg_path_hops),
            Series {
                name: "random-graph approximation".into(),
                points: vec![(t0, analytic), (t1, analytic)],
                reference: true,
                ..Series::default()
            },
        ],
    )?;
    page.plot(
        "churn-hops",
        "Mean shortest-path hop count over reachable pairs, beside the random-graph approximation for n nodes of mean degree 2k (dashed).",
        path,
    );
    let tables = chart(
        "Routing table size",
        "entries per node",
        vec![
            line("mean", &|s| Some(s.table_mean)),
            line("max", &|s| Some(s.table_max as f64)),
            line("min", &|s| Some(s.table_min as f64)),
        ],
    )?;
    page.plot(
        "churn-tables",
        "Routing table size per node (least, mean, most) at each sample.",
        tables,
    );
    if c.meshes.is_some() {
        let kind =
            |f: fn(&Tables) -> Option<f64>| move |s: &MeshSample| s.tables.as_ref().and_then(f);
        let split = chart(
            "Routing table size by kind of node",
            "entries per node (mean)",
            vec![
                line("nodes in one mesh", &kind(|t| t.interior_mean)),
                line("border nodes (two meshes)", &kind(|t| t.border_mean)),
                line(
                    "summarized meshes (all nodes)",
                    &kind(|t| Some(t.meshes_mean)),
                ),
            ],
        )?;
        page.plot(
            "churn-tables-split",
            "Mean routing table size of the nodes in one mesh and of the border nodes, and the mean number of summarized-mesh entries, at each sample.",
            split,
        );
    }
    Ok(())
}

/// The n-order mesh's membership and its tables at the last sample.
fn meshes_facts(page: &mut Page, m: &Meshes, last: Option<&Tables>) {
    let f = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.1}"));
    let single = m.mesh_size_mean - 1.0;
    let mut facts = vec![
        (
            "n-order mesh",
            format!(
                "order {}: {} meshes of {:.1} members ({} to {}), border share {}",
                m.order,
                m.count,
                m.mesh_size_mean,
                m.mesh_size_min,
                m.mesh_size_max,
                m.border_share
            ),
        ),
        ("border nodes (in two meshes)", m.border_nodes.to_string()),
    ];
    if m.cross_mesh_flows > 0 || m.segments_asked > 0 {
        facts.push((
            "routes across meshes",
            format!(
                "{} flows; segments asked {}, answered {}, refused {}",
                m.cross_mesh_flows, m.segments_asked, m.segments_answered, m.segments_refused
            ),
        ));
    }
    if let Some(t) = last {
        let rel = |x: Option<f64>| match x {
            Some(x) if single > 0.0 => {
                format!(" ({:.2} x a single mesh's {single:.1})", x / single)
            }
            _ => String::new(),
        };
        facts.push((
            "table at the end, nodes in one mesh",
            format!("{}{}", f(t.interior_mean), rel(t.interior_mean)),
        ));
        facts.push((
            "table at the end, border nodes",
            format!("{}{}", f(t.border_mean), rel(t.border_mean)),
        ));
        facts.push((
            "of which (all nodes, mean)",
            format!(
                "{:.1} nodes + {:.1} summarized meshes",
                t.nodes_mean, t.meshes_mean
            ),
        ));
    }
    page.facts(&facts);
}
