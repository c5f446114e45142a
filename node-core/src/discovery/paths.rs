//! Path finding on a node's own view of the network.
//!
//! A [`Graph`] holds nodes `0..n` and directed edges with integer costs (a
//! two-way link is two edges). On it:
//!
//! - [`shortest`]: the least-cost path (Dijkstra).
//! - [`disjoint`]: up to `k` pairwise link-disjoint or node-disjoint paths
//!   of least total cost (a unit-capacity min-cost flow: Suurballe's and
//!   Bhandari's method generalized to `k` paths).
//! - [`nearest`]: fewest-hops paths to the nearest nodes that pass a test
//!   (gateways, say).
//!
//! Every result depends only on the graph's edges, never on the order they
//! were added, and ties are broken by node index (each function says how).
//! Path costs are summed exactly in 128 bits and compared exactly; only the
//! reported [`Path::cost`] saturates at `u64::MAX`.
//!
//! Nothing here panics. A node index `>= node_count` is out of range: such
//! an edge is ignored and a search from or to such a node finds nothing
//! (`None` or an empty `Vec`). Memory is O(V + E), where V is one more than
//! the highest index of a node with an edge (a graph made with a huge
//! `node_count` but few edges stays small).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

#[cfg(test)]
mod tests;

/// A directed graph of node indices `0..n` with integer edge costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    nodes: usize,
    /// Out-edges `(to, cost)` by node, in the order added; only as long as
    /// the highest-indexed node with an edge.
    adj: Vec<Vec<(u32, u64)>>,
}

impl Graph {
    /// A graph of nodes `0..nodes` and no edges.
    pub fn new(nodes: usize) -> Graph {
        Graph {
            nodes,
            adj: Vec::new(),
        }
    }

    /// A directed edge; a two-way link is two edges. Parallel edges are
    /// allowed (a path's hop costs the cheapest of them); self-loops and
    /// edges with an endpoint out of range are ignored.
    pub fn add_edge(&mut self, from: u32, to: u32, cost: u64) {
        if from == to || !self.contains(from) || !self.contains(to) {
            return;
        }
        let high = from.max(to) as usize;
        if self.adj.len() <= high {
            self.adj.resize_with(high + 1, Vec::new);
        }
        self.adj[from as usize].push((to, cost));
    }

    /// A two-way link: the edges `a -> b` and `b -> a`, both of `cost`.
    pub fn add_link(&mut self, a: u32, b: u32, cost: u64) {
        self.add_edge(a, b, cost);
        self.add_edge(b, a, cost);
    }

    /// How many nodes the graph has (as given to [`Graph::new`]).
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// The edges out of `n` as `(to, cost)`, in the order added (none if `n`
    /// is out of range).
    pub fn edges_from(&self, n: u32) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.adj.get(n as usize).into_iter().flatten().copied()
    }

    fn contains(&self, n: u32) -> bool {
        (n as usize) < self.nodes
    }

    /// The out-edges of `u` (dense index), empty past the last node with one.
    fn out(&self, u: usize) -> &[(u32, u64)] {
        self.adj.get(u).map_or(&[], Vec::as_slice)
    }
}

/// A path: its nodes from first (`nodes[0]`, where it starts) to last (where
/// it ends), and its cost, the sum of its hops' costs (each hop costs the
/// cheapest edge between its nodes), saturating at `u64::MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The nodes in order, from start to end; no node twice.
    pub nodes: Vec<u32>,
    /// The sum of the hops' edge costs (saturating at `u64::MAX`).
    pub cost: u64,
}

impl Path {
    fn trivial(node: u32) -> Path {
        Path {
            nodes: vec![node],
            cost: 0,
        }
    }
}

/// What paths found by [`disjoint`] may not share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disjoint {
    /// No two paths use the same link: the unordered node pair `{a, b}`,
    /// whichever direction each path crosses it in and whichever of
    /// parallel edges it takes. Paths may share nodes.
    Links,
    /// No two paths share a node other than the two ends, and hence no link
    /// either (so at most one of them is the direct hop between the ends).
    Nodes,
}

/// Saturates an exact cost to what a [`Path`] reports.
fn saturate(cost: u128) -> u64 {
    u64::try_from(cost).unwrap_or(u64::MAX)
}

/// The least-cost path from `from` to `to`, if any.
///
/// Ties: among least-cost paths, one with the fewest hops; among those, the
/// one where each node's predecessor (walking back from `to`) is the
/// lowest-indexed node that reaches it at its least cost and hop count.
/// `from == to` gives the one-node path of cost 0; an unreachable or
/// out-of-range end gives `None`. O(E log V).
pub fn shortest(g: &Graph, from: u32, to: u32) -> Option<Path> {
    if !g.contains(from) || !g.contains(to) {
        return None;
    }
    if from == to {
        return Some(Path::trivial(from));
    }
    let (s, t, m) = (from as usize, to as usize, g.adj.len());
    if s >= m || t >= m {
        return None;
    }
    // Labels (cost, hops) compared lexicographically: every hop adds one, so
    // a node's best predecessors all settle before it, even across 0-cost
    // edges, and the predecessor links never form a cycle.
    let mut best: Vec<Option<(u128, usize)>> = vec![None; m];
    let mut pred = vec![usize::MAX; m];
    let mut done = vec![false; m];
    let mut heap = BinaryHeap::new();
    best[s] = Some((0, 0));
    heap.push(Reverse((0u128, 0usize, s)));
    while let Some(Reverse((cost, hops, u))) = heap.pop() {
        if done[u] {
            continue;
        }
        done[u] = true;
        if u == t {
            break;
        }
        for &(v, w) in g.out(u) {
            let v = v as usize;
            let label = (cost + u128::from(w), hops + 1);
            match best[v] {
                Some(b) if b < label => {}
                Some(b) if b == label => pred[v] = pred[v].min(u),
                _ => {
                    best[v] = Some(label);
                    pred[v] = u;
                    heap.push(Reverse((label.0, label.1, v)));
                }
            }
        }
    }
    let (cost, hops) = best[t].filter(|_| done[t])?;
    let mut nodes = Vec::with_capacity(hops + 1);
    let mut v = t;
    while v != s && nodes.len() < hops {
        nodes.push(v as u32);
        v = pred[v];
    }
    nodes.push(from);
    nodes.reverse();
    Some(Path {
        nodes,
        cost: saturate(cost),
    })
}

/// Fewest-hops paths from `from` to the nearest nodes for which `is_target`
/// holds, at most `max` of them: nearest (fewest hops) first, ties by node
/// index. Each path has the fewest hops; among those the least cost; among
/// those, each node's predecessor is the lowest-indexed one. A path may pass
/// through other targets.
///
/// `from` itself counts (its one-node path comes first) if it is a target;
/// filter it out in `is_target` if not wanted. An out-of-range `from` or
/// `max == 0` gives nothing. `is_target` is called at most once per node
/// reached. O(E + V log V).
pub fn nearest(g: &Graph, from: u32, is_target: impl Fn(u32) -> bool, max: usize) -> Vec<Path> {
    let mut found = Vec::new();
    if !g.contains(from) || max == 0 {
        return found;
    }
    let (s, m) = (from as usize, g.adj.len());
    if s >= m {
        if is_target(from) {
            found.push(Path::trivial(from));
        }
        return found;
    }
    let mut hops = vec![usize::MAX; m];
    let mut cost = vec![0u128; m];
    let mut pred = vec![usize::MAX; m];
    hops[s] = 0;
    let mut level = vec![s];
    let mut depth = 0;
    while !level.is_empty() {
        // The level's costs and predecessors are final: report its targets.
        for &v in &level {
            if !is_target(v as u32) {
                continue;
            }
            let mut nodes = Vec::with_capacity(depth + 1);
            let mut x = v;
            while x != s && nodes.len() < depth {
                nodes.push(x as u32);
                x = pred[x];
            }
            nodes.push(from);
            nodes.reverse();
            found.push(Path {
                nodes,
                cost: saturate(cost[v]),
            });
            if found.len() == max {
                return found;
            }
        }
        let mut next = Vec::new();
        for &u in &level {
            for &(v, w) in g.out(u) {
                let v = v as usize;
                let c = cost[u] + u128::from(w);
                if hops[v] == usize::MAX {
                    hops[v] = depth + 1;
                    cost[v] = c;
                    pred[v] = u;
                    next.push(v);
                } else if hops[v] == depth + 1 && (c, u) < (cost[v], pred[v]) {
                    cost[v] = c;
                    pred[v] = u;
                }
            }
        }
        next.sort_unstable();
        level = next;
        depth += 1;
    }
    found
}

/// Up to `k` paths from `from` to `to`, pairwise disjoint as `kind` says,
/// of least total cost: as many paths as such a set can have (fewer than
/// `k` where the graph allows no more), and among all sets of that many,
/// one of least total cost. Sorted by `(cost, nodes)`.
///
/// `k == 0`, an unreachable or an out-of-range end give nothing; `from ==
/// to` gives the one-node path of cost 0 once (more copies would be the
/// same path). Which least-cost set comes back is a function of the
/// graph's edges alone (not of the order they were added).
///
/// # Algorithm
///
/// A min-cost flow of unit capacities, found by successive shortest
/// augmenting paths (Suurballe/Bhandari for `k` paths): each round finds a
/// least-cost path in the residual graph, where an arc carrying flow offers
/// a reverse arc of negated cost, by Dijkstra on costs reduced by Johnson
/// potentials (the distances of the previous round), then pushes one unit
/// along it. Each round gives the least-cost flow of one more unit, so `r`
/// rounds give the least total cost of `r` disjoint paths. The flow is then
/// split into paths. O(k E log V), plus O(E log E) to merge parallel edges.
///
/// - Parallel edges merge into their cheapest (one arc per ordered pair),
///   so two paths never take the same pair.
/// - [`Disjoint::Nodes`]: each node other than the ends is split into an
///   in-node and an out-node joined by one arc of capacity 1.
/// - [`Disjoint::Links`]: a link is one arc each way, each of capacity 1.
///   Units crossing a link both ways cancel (their total cost is at least
///   0, so the flow without them costs no more); after that each link
///   carries at most one unit. Walking the flow from `from` may revisit a
///   node; the cycle so closed is dropped (it costs at least 0 too), so each
///   path is simple and the total stays least.
/// - Edges into `from` and out of `to` are left out: no simple path uses
///   them.
pub fn disjoint(g: &Graph, from: u32, to: u32, k: usize, kind: Disjoint) -> Vec<Path> {
    if k == 0 || !g.contains(from) || !g.contains(to) {
        return Vec::new();
    }
    if from == to {
        return vec![Path::trivial(from)];
    }
    let (s, t, m) = (from as usize, to as usize, g.adj.len());
    if s >= m || t >= m {
        return Vec::new();
    }
    // One arc per ordered pair, the cheapest, sorted by far end.
    let merged: Vec<Vec<(u32, u64)>> = g
        .adj
        .iter()
        .map(|edges| {
            let mut edges = edges.clone();
            edges.sort_unstable();
            edges.dedup_by_key(|e| e.0);
            edges
        })
        .collect();
    let split = kind == Disjoint::Nodes;
    let in_node = |v: usize| if split { 2 * v } else { v };
    let out_node = |v: usize| if split { 2 * v + 1 } else { v };
    let mut net = Network::new(if split { 2 * m } else { m });
    if split {
        for v in (0..m).filter(|&v| v != s && v != t) {
            net.add(in_node(v), out_node(v), 0, None);
        }
    }
    for (u, edges) in merged.iter().enumerate().filter(|&(u, _)| u != t) {
        for &(v, c) in edges {
            let v = v as usize;
            if v != s {
                net.add(out_node(u), in_node(v), i128::from(c), Some((u, v)));
            }
        }
    }
    let units = net.max_flow_min_cost(out_node(s), in_node(t), k);
    let mut paths = Vec::with_capacity(units);
    for walk in flow_paths(net.flow_links().collect(), s, t, units) {
        let cost = walk
            .windows(2)
            .map(|hop| {
                let edges = &merged[hop[0]];
                edges
                    .binary_search_by_key(&(hop[1] as u32), |e| e.0)
                    .map_or(0, |i| u128::from(edges[i].1))
            })
            .sum();
        paths.push(Path {
            nodes: walk.into_iter().map(|v| v as u32).collect(),
            cost: saturate(cost),
        });
    }
    paths.sort_by(|a, b| (a.cost, &a.nodes).cmp(&(b.cost, &b.nodes)));
    paths
}

/// Splits a flow of `units` from `s` to `t`, given as the links `(u, v)`
/// carrying one unit each, into `units` simple paths: units crossing a link
/// both ways cancel, and a walk that comes back to a node drops the cycle.
fn flow_paths(
    mut used: BTreeSet<(usize, usize)>,
    s: usize,
    t: usize,
    units: usize,
) -> Vec<Vec<usize>> {
    let both_ways: Vec<(usize, usize)> = used
        .iter()
        .filter(|&&(u, v)| u < v && used.contains(&(v, u)))
        .copied()
        .collect();
    for (u, v) in both_ways {
        used.remove(&(u, v));
        used.remove(&(v, u));
    }
    let mut next: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (u, v) in used {
        next.entry(u).or_default().push(v);
    }
    let mut paths = Vec::with_capacity(units);
    'units: for _ in 0..units {
        let mut walk = vec![s];
        let mut position = BTreeMap::from([(s, 0)]);
        let mut at = s;
        while at != t {
            let Some(v) = next.get_mut(&at).and_then(Vec::pop) else {
                break 'units; // unreachable: the flow is conserved
            };
            if let Some(&p) = position.get(&v) {
                for dropped in walk.drain(p + 1..) {
                    position.remove(&dropped);
                }
            } else {
                position.insert(v, walk.len());
                walk.push(v);
            }
            at = v;
        }
        paths.push(walk);
    }
    paths
}

/// A flow network of unit-capacity arcs; arc `2i` is the `i`th arc added,
/// `2i + 1` its residual reverse.
struct Network {
    arcs_out: Vec<Vec<usize>>,
    head: Vec<usize>,
    cost: Vec<i128>,
    /// Whether the arc can take one more unit.
    open: Vec<bool>,
    /// The graph link `(u, v)` each added arc stands for (none: a node's
    /// inner arc).
    link: Vec<Option<(usize, usize)>>,
}

impl Network {
    fn new(nodes: usize) -> Network {
        Network {
            arcs_out: vec![Vec::new(); nodes],
            head: Vec::new(),
            cost: Vec::new(),
            open: Vec::new(),
            link: Vec::new(),
        }
    }

    fn add(&mut self, u: usize, v: usize, cost: i128, link: Option<(usize, usize)>) {
        let e = self.head.len();
        self.arcs_out[u].push(e);
        self.arcs_out[v].push(e + 1);
        self.head.extend([v, u]);
        self.cost.extend([cost, -cost]);
        self.open.extend([true, false]);
        self.link.push(link);
    }

    /// Pushes up to `k` units from `s` to `t`, each along a least-cost
    /// residual path; returns how many.
    fn max_flow_min_cost(&mut self, s: usize, t: usize, k: usize) -> usize {
        let n = self.arcs_out.len();
        // Johnson potentials: all arcs start at cost >= 0 (reverse arcs
        // closed), so 0 is valid; after each round a node's potential is
        // its residual distance, keeping reduced costs >= 0. A node out of
        // reach stays so (augmenting only adds arcs among reached nodes).
        // Potentials and distances stay within n * 2^64 in size, far
        // inside i128.
        let mut potential = vec![0i128; n];
        let mut dist = vec![i128::MAX; n];
        let mut via = vec![usize::MAX; n];
        let mut heap = BinaryHeap::new();
        let mut units = 0;
        while units < k {
            dist.fill(i128::MAX);
            dist[s] = 0;
            heap.push(Reverse((0i128, s)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                for &e in &self.arcs_out[u] {
                    let v = self.head[e];
                    if !self.open[e] {
                        continue;
                    }
                    let reduced = self.cost[e] + potential[u] - potential[v];
                    let nd = d + reduced.max(0);
                    if nd < dist[v] {
                        dist[v] = nd;
                        via[v] = e;
                        heap.push(Reverse((nd, v)));
                    }
                }
            }
            if dist[t] == i128::MAX {
                break;
            }
            for (p, &d) in potential.iter_mut().zip(&dist) {
                if d != i128::MAX {
                    *p += d;
                }
            }
            let mut v = t;
            for _ in 0..n {
                if v == s {
                    break;
                }
                let e = via[v];
                self.open[e] = false;
                self.open[e ^ 1] = true;
                v = self.head[e ^ 1];
            }
            units += 1;
        }
        units
    }

    /// The graph links whose arcs carry a unit.
    fn flow_links(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.link
            .iter()
            .enumerate()
            .filter(|&(i, _)| !self.open[2 * i])
            .filter_map(|(_, link)| *link)
    }
}
