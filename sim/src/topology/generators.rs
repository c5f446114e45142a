//! Topology generators: the nodes and links of each generator, in a stable,
//! documented order.
//!
//! Each function builds a [`Network`] whose links all carry the channel
//! parameters given (the caller merges defaults and `topology.link`); the
//! random ones draw only from the RNG they are given, so a network is a
//! pure function of its parameters and seed. Parameters are checked by the
//! caller, which knows where they were written; out-of-range parameters
//! still never panic here (they give smaller networks).

use std::collections::BTreeMap;

use petgraph::graph::UnGraph;
use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use super::{MAX_LINKS, two_way};
use crate::model::{
    ChannelParams, LinkSpec, Medium, Network, NodeRole, NodeSpec, SonetRingSpec, WifiSpec,
};
use node_core::Duration;

/// `n` hosts named `n0`, `n1`, ... and no links.
pub fn hosts(n: usize) -> Network {
    Network {
        nodes: (0..n)
            .map(|i| NodeSpec {
                name: format!("n{i}"),
                position: None,
                geo: None,
                role: NodeRole::Host,
            })
            .collect(),
        links: Vec::new(),
        wifi: None,
        sonet_rings: Vec::new(),
        derived_latency: Vec::new(),
    }
}

fn wired(a: usize, b: usize, link: &ChannelParams) -> LinkSpec {
    two_way(a, b, link, Medium::Wired)
}

/// A chain 0-1-2-…-(n-1); link i joins nodes i and i+1.
pub fn chain(n: usize, link: &ChannelParams) -> Network {
    let mut net = hosts(n);
    net.links = (1..n).map(|i| wired(i - 1, i, link)).collect();
    net
}

/// A ring: the chain, then link n-1 joining n-1 and 0 (only for n >= 3,
/// below which it would duplicate a link).
pub fn ring(n: usize, link: &ChannelParams) -> Network {
    let mut net = chain(n, link);
    if n >= 3 {
        net.links.push(wired(n - 1, 0, link));
    }
    net
}

/// A `rows` x `cols` grid with 4-neighbour links. Node `r * cols + c` is at
/// row r, column c; links go in node order, each node's right link before
/// its down link.
pub fn grid(rows: usize, cols: usize, link: &ChannelParams) -> Network {
    let mut net = hosts(rows.saturating_mul(cols));
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            if c + 1 < cols {
                net.links.push(wired(i, i + 1, link));
            }
            if r + 1 < rows {
                net.links.push(wired(i, i + cols, link));
            }
        }
    }
    net
}

/// A star: node 0 is the hub; link i-1 joins 0 and i.
pub fn star(n: usize, link: &ChannelParams) -> Network {
    let mut net = hosts(n);
    net.links = (1..n).map(|i| wired(0, i, link)).collect();
    net
}

/// Every pair linked, in order (0,1), (0,2), …, (1,2), ….
pub fn full_mesh(n: usize, link: &ChannelParams) -> Network {
    let mut net = hosts(n);
    for a in 0..n {
        for b in a + 1..n {
            net.links.push(wired(a, b, link));
        }
    }
    net
}

/// Erdős–Rényi G(n, p): each pair, in the order of [`full_mesh`], is linked
/// with probability `p` (one draw per pair). Errors if the graph would have
/// more than [`MAX_LINKS`] links.
pub fn erdos_renyi(
    n: usize,
    p: f64,
    link: &ChannelParams,
    rng: &mut ChaCha20Rng,
) -> Result<Network, String> {
    let mut net = hosts(n);
    for a in 0..n {
        for b in a + 1..n {
            if rng.random::<f64>() < p {
                if net.links.len() == MAX_LINKS {
                    return Err(too_many_links());
                }
                net.links.push(wired(a, b, link));
            }
        }
    }
    Ok(net)
}

fn too_many_links() -> String {
    format!("the graph would have more than {MAX_LINKS} links")
}

/// Barabási–Albert preferential attachment: a clique of `m + 1` nodes (in
/// [`full_mesh`] order), then each new node links to `m` distinct earlier
/// nodes, each drawn with probability proportional to its degree (its
/// links in draw order). The result has m(m+1)/2 + (n-m-1)m links.
pub fn barabasi_albert(n: usize, m: usize, link: &ChannelParams, rng: &mut ChaCha20Rng) -> Network {
    let clique = (m + 1).min(n);
    let mut net = full_mesh(clique, link);
    net.nodes = hosts(n).nodes;
    // Every link end once: drawing a uniform entry draws a node with
    // probability proportional to its degree.
    let mut ends: Vec<usize> = net.links.iter().flat_map(|l| [l.a, l.b]).collect();
    for v in clique..n {
        let mut chosen: Vec<usize> = Vec::with_capacity(m);
        // The clique gives every earlier node degree >= m >= 1 and there
        // are at least m + 1 of them, so m distinct ones are always found.
        while chosen.len() < m && !ends.is_empty() {
            let u = ends[rng.random_range(0..ends.len())];
            if !chosen.contains(&u) {
                chosen.push(u);
            }
        }
        for &u in &chosen {
            net.links.push(wired(u, v, link));
            ends.extend([u, v]);
        }
    }
    net
}

/// Parameters of a random geometric (wifi) graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometric {
    /// Number of nodes.
    pub nodes: usize,
    /// Width and height of the area, in metres.
    pub area: [f64; 2],
    /// The radio medium (its `radio_range` decides the links).
    pub wifi: WifiSpec,
    /// Redraw positions until the graph is connected.
    pub connected: bool,
}

/// How many times positions are redrawn for a connected graph.
pub const GEOMETRIC_ATTEMPTS: usize = 100;

/// A random geometric graph: positions uniform in the area (x then y, node
/// by node), and a wifi link between every pair (in [`full_mesh`] order)
/// closer than the radio range. With `connected`, positions are redrawn
/// (from the same RNG) up to [`GEOMETRIC_ATTEMPTS`] times until the graph
/// is connected.
pub fn geometric(
    g: &Geometric,
    link: &ChannelParams,
    rng: &mut ChaCha20Rng,
) -> Result<Network, String> {
    for _ in 0..GEOMETRIC_ATTEMPTS {
        let mut net = hosts(g.nodes);
        for node in &mut net.nodes {
            let x = rng.random::<f64>() * g.area[0];
            let y = rng.random::<f64>() * g.area[1];
            node.position = Some([x, y]);
        }
        let pos: Vec<[f64; 2]> = net.nodes.iter().filter_map(|n| n.position).collect();
        for (a, b) in within_range(&pos, g.wifi.radio_range) {
            if net.links.len() == MAX_LINKS {
                return Err(too_many_links());
            }
            net.links.push(two_way(a, b, link, Medium::Wifi));
        }
        if !g.connected || is_connected(&net) {
            net.wifi = Some(g.wifi.clone());
            return Ok(net);
        }
    }
    Err(format!(
        "no connected graph in {GEOMETRIC_ATTEMPTS} draws of positions: make radio_range \
         larger or the area smaller, or set \"connected\": false"
    ))
}

/// A straight wifi chain: node i at (i·`spacing`, 0), and a wifi link
/// between every pair at most `radio_range` apart (in full-mesh order), so
/// with `spacing <= radio_range < 2·spacing` only neighbours are linked.
/// The fixed geometry of the chain-capacity studies (Li et al., MobiCom
/// 2001): every node hears the same neighbours whatever the seed.
pub fn wifi_chain(n: usize, spacing: f64, wifi: &WifiSpec, link: &ChannelParams) -> Network {
    let mut net = hosts(n);
    for (i, node) in net.nodes.iter_mut().enumerate() {
        node.position = Some([i as f64 * spacing, 0.0]);
    }
    let pos: Vec<[f64; 2]> = net.nodes.iter().filter_map(|n| n.position).collect();
    for (a, b) in within_range(&pos, wifi.radio_range) {
        if net.links.len() == MAX_LINKS {
            break;
        }
        net.links.push(two_way(a, b, link, Medium::Wifi));
    }
    net.wifi = Some(wifi.clone());
    net
}

/// Every pair (a < b, in lexicographic order) of `pos` at most `range`
/// apart. Nodes are first sorted into square cells of side `range`, so
/// only nodes of neighbouring cells are compared: near-linear for sparse
/// graphs instead of a comparison per pair.
fn within_range(pos: &[[f64; 2]], range: f64) -> Vec<(usize, usize)> {
    // Float-to-int casts saturate: far-away points may share a cell, which
    // costs comparisons, never correctness (the distance decides).
    let cell = |p: [f64; 2]| ((p[0] / range).floor() as i64, (p[1] / range).floor() as i64);
    let mut cells: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, &p) in pos.iter().enumerate() {
        cells.entry(cell(p)).or_default().push(i);
    }
    let range2 = range * range;
    let mut pairs = Vec::new();
    for (a, &pa) in pos.iter().enumerate() {
        let (cx, cy) = cell(pa);
        let mut near: Vec<usize> = Vec::new();
        for dx in -1..=1 {
            for dy in -1..=1 {
                let key = (cx.saturating_add(dx), cy.saturating_add(dy));
                let Some(members) = cells.get(&key) else {
                    continue;
                };
                near.extend(members.iter().copied().filter(|&b| {
                    let (ex, ey) = (pa[0] - pos[b][0], pa[1] - pos[b][1]);
                    b > a && ex * ex + ey * ey <= range2
                }));
            }
        }
        // Saturated cell keys can repeat a cell.
        near.sort_unstable();
        near.dedup();
        pairs.extend(near.into_iter().map(|b| (a, b)));
    }
    pairs
}

/// Whether every node can reach every other over the links.
pub fn is_connected(net: &Network) -> bool {
    let mut graph = UnGraph::<(), ()>::with_capacity(net.nodes.len(), net.links.len());
    let ids: Vec<_> = net.nodes.iter().map(|_| graph.add_node(())).collect();
    for l in &net.links {
        if let (Some(&a), Some(&b)) = (ids.get(l.a), ids.get(l.b)) {
            graph.add_edge(a, b, ());
        }
    }
    petgraph::algo::connected_components(&graph) <= 1
}

/// A SONET ring of `cities` city nodes (nodes 0..cities, role City, in ring
/// order), then `access` access nodes per city (city i's j-th is node
/// `cities + i * access + j`, role Access). Links: span i (link i, between
/// cities i and i+1 mod n, medium `SonetSpan { ring: 0, span: i }`), then
/// the access links in access node order.
pub fn sonet_ring(
    cities: usize,
    access: usize,
    span: &ChannelParams,
    access_link: &ChannelParams,
    switch_time: Duration,
) -> Network {
    let mut net = hosts(0);
    for i in 0..cities {
        net.nodes.push(NodeSpec {
            name: format!("city{i}"),
            position: None,
            geo: None,
            role: NodeRole::City,
        });
    }
    for i in 0..cities {
        for j in 0..access {
            net.nodes.push(NodeSpec {
                name: format!("city{i}-access{j}"),
                position: None,
                geo: None,
                role: NodeRole::Access,
            });
        }
    }
    // Fewer than three cities would join the same pair twice.
    let spans = if cities >= 3 {
        cities
    } else {
        cities.saturating_sub(1)
    };
    for i in 0..spans {
        let medium = Medium::SonetSpan { ring: 0, span: i };
        net.links.push(two_way(i, (i + 1) % cities, span, medium));
    }
    for i in 0..cities {
        for j in 0..access {
            net.links
                .push(wired(i, cities + i * access + j, access_link));
        }
    }
    net.sonet_rings.push(SonetRingSpec {
        cities: (0..cities).collect(),
        spans: (0..spans).collect(),
        switch_time,
    });
    net
}
