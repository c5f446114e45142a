//! The path of a flow: given in the scenario (and checked), or the shortest
//! path by hop count. Discovery comes later; for now the simulator, which
//! sees the whole topology, plays that part.

use std::collections::VecDeque;

use crate::model::Network;

/// Two-way neighbours of every node, in index order (so breadth-first
/// search breaks ties toward lower indices, deterministically).
fn neighbours(network: &Network) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); network.nodes.len()];
    for l in &network.links {
        // A route needs both directions: acknowledgements and credit flow back.
        if l.ba.is_some() {
            adj[l.a].push(l.b);
            adj[l.b].push(l.a);
        }
    }
    for a in &mut adj {
        a.sort_unstable();
        a.dedup();
    }
    adj
}

/// The nodes of the shortest path from `from` to `to`, both included.
pub fn shortest(network: &Network, from: usize, to: usize) -> Option<Vec<usize>> {
    let adj = neighbours(network);
    let mut prev = vec![usize::MAX; adj.len()];
    prev[from] = from;
    let mut queue = VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut path = vec![to];
            while *path.last().expect("not empty") != from {
                path.push(prev[*path.last().expect("not empty")]);
            }
            path.reverse();
            return Some(path);
        }
        for &m in &adj[n] {
            if prev[m] == usize::MAX {
                prev[m] = n;
                queue.push_back(m);
            }
        }
    }
    None
}

/// Checks a path given in full: from `from` to `to`, each step a two-way
/// link, no node twice. The error names what is wrong.
pub fn check(network: &Network, from: usize, to: usize, path: &[usize]) -> Result<(), String> {
    if path.len() < 2 || path[0] != from || path[path.len() - 1] != to {
        return Err(format!(
            "a path lists every node from {from} to {to}, both included"
        ));
    }
    if let Some(&bad) = path.iter().find(|&&n| n >= network.nodes.len()) {
        return Err(format!(
            "node {bad} does not exist (the topology has {} nodes)",
            network.nodes.len()
        ));
    }
    let adj = neighbours(network);
    for (i, w) in path.windows(2).enumerate() {
        if !adj[w[0]].contains(&w[1]) {
            return Err(format!(
                "step {i}: nodes {} and {} have no two-way link",
                w[0], w[1]
            ));
        }
    }
    let mut seen = path.to_vec();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err("a path may not visit a node twice".into());
    }
    Ok(())
}
