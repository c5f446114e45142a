//! Measurements of a tunnel mesh as a graph: connected components (for
//! unreachable pairs and routing table sizes) and the mean shortest-path
//! hop count over reachable ordered pairs, by BFS.
//!
//! `avg_path_hops` is exact (BFS from every node) up to a size; above it,
//! BFS runs from a seeded random sample of sources and the figure is the
//! ratio of the sampled hop sums to the sampled reachable pairs, with its
//! standard error from the spread of the per-source means (so a reader
//! sees the precision: 400 sources put it well under 1% on the meshes
//! studied here; the summary says which way each figure was made).

use rand::Rng;

/// A graph of `n` members and undirected edges, as adjacency arrays.
#[derive(Debug, Clone)]
pub struct MeshGraph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl MeshGraph {
    /// The graph of `n` members with `edges` (pairs of member indices;
    /// self-loops and duplicates are ignored).
    pub fn new(n: usize, edges: &[(u32, u32)]) -> MeshGraph {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(edges.len() * 2);
        for &(a, b) in edges {
            if a != b && (a as usize) < n && (b as usize) < n {
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut offsets = vec![0u32; n + 1];
        for &(a, _) in &pairs {
            offsets[a as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        MeshGraph {
            offsets,
            targets: pairs.into_iter().map(|(_, b)| b).collect(),
        }
    }

    /// Members.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the graph has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Undirected edges.
    pub fn edges(&self) -> usize {
        self.targets.len() / 2
    }

    fn neighbours(&self, v: usize) -> &[u32] {
        &self.targets[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    /// Each member's component id (the least member of it).
    pub fn components(&self) -> Vec<u32> {
        let n = self.len();
        let mut comp = vec![u32::MAX; n];
        let mut stack = Vec::new();
        for s in 0..n {
            if comp[s] != u32::MAX {
                continue;
            }
            comp[s] = s as u32;
            stack.push(s as u32);
            while let Some(v) = stack.pop() {
                for &w in self.neighbours(v as usize) {
                    if comp[w as usize] == u32::MAX {
                        comp[w as usize] = s as u32;
                        stack.push(w);
                    }
                }
            }
        }
        comp
    }

    /// BFS from `s`: (sum of hop counts, members reached other than `s`).
    fn bfs(&self, s: usize, dist: &mut [u32], queue: &mut Vec<u32>) -> (u64, u64) {
        dist.fill(u32::MAX);
        queue.clear();
        dist[s] = 0;
        queue.push(s as u32);
        let (mut sum, mut reached) = (0u64, 0u64);
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head] as usize;
            head += 1;
            let d = dist[v] + 1;
            for &w in self.neighbours(v) {
                if dist[w as usize] == u32::MAX {
                    dist[w as usize] = d;
                    sum += u64::from(d);
                    reached += 1;
                    queue.push(w);
                }
            }
        }
        (sum, reached)
    }

    /// The mean shortest-path hop count over reachable ordered pairs:
    /// exact when the graph has at most `exact_up_to` members, else from
    /// `sources` distinct members drawn with `rng`.
    pub fn path_hops(&self, exact_up_to: usize, sources: usize, rng: &mut impl Rng) -> PathHops {
        let n = self.len();
        let exact = n <= exact_up_to || sources >= n;
        let chosen: Vec<usize> = if exact {
            (0..n).collect()
        } else {
            distinct(n, sources, rng)
        };
        let mut dist = vec![u32::MAX; n];
        let mut queue = Vec::with_capacity(n);
        let (mut sum, mut reached) = (0u64, 0u64);
        let mut means: Vec<f64> = Vec::with_capacity(chosen.len());
        for &s in &chosen {
            let (a, b) = self.bfs(s, &mut dist, &mut queue);
            sum += a;
            reached += b;
            if b > 0 {
                means.push(a as f64 / b as f64);
            }
        }
        let mean = (reached > 0).then(|| sum as f64 / reached as f64);
        let se = if exact || means.len() < 2 {
            0.0
        } else {
            let m = means.iter().sum::<f64>() / means.len() as f64;
            let var =
                means.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (means.len() - 1) as f64;
            // Sampling without replacement from n sources.
            let fpc = 1.0 - means.len() as f64 / n as f64;
            (var * fpc / means.len() as f64).sqrt()
        };
        PathHops {
            mean,
            standard_error: se,
            exact,
            sources: chosen.len(),
        }
    }
}

/// `avg_path_hops` and how it was made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathHops {
    /// Mean hops over reachable ordered pairs (`None`: no pair reachable).
    pub mean: Option<f64>,
    /// Its standard error (0 when exact).
    pub standard_error: f64,
    /// Whether every member was a BFS source.
    pub exact: bool,
    /// BFS sources used.
    pub sources: usize,
}

/// Component sizes and what follows from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Ordered pairs of distinct members with no path.
    pub unreachable_pairs: u64,
    /// Ordered pairs of distinct members.
    pub pairs: u64,
    /// Connected components.
    pub components: usize,
    /// Members of the largest one.
    pub largest: usize,
}

/// Reachability from each member's component id.
pub fn reach(comp: &[u32]) -> (Reach, Vec<u64>) {
    let n = comp.len();
    let mut size = vec![0u64; n];
    for &c in comp {
        size[c as usize] += 1;
    }
    let n64 = n as u64;
    let pairs = n64 * n64.saturating_sub(1);
    let reachable: u64 = size.iter().map(|&s| s * s.saturating_sub(1)).sum();
    let components = size.iter().filter(|&&s| s > 0).count();
    let largest = size.iter().copied().max().unwrap_or(0) as usize;
    (
        Reach {
            unreachable_pairs: pairs - reachable,
            pairs,
            components,
            largest,
        },
        size,
    )
}

/// `k` distinct values below `n` (k <= n), by partial Fisher-Yates.
fn distinct(n: usize, k: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + below(rng, n - i);
        v.swap(i, j);
    }
    v.truncate(k.min(n));
    v
}

/// A uniform draw below `n`, unbiased: node-core's, which the tunnel
/// manager draws with.
pub use node_core::churn::below;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn a_ring_has_known_distances_and_one_component() {
        // A ring of 6: from any node, hops 1,1,2,2,3: mean 9/5.
        let edges: Vec<(u32, u32)> = (0..6).map(|i| (i, (i + 1) % 6)).collect();
        let g = MeshGraph::new(6, &edges);
        assert_eq!(g.edges(), 6);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let h = g.path_hops(100, 10, &mut rng);
        assert!(h.exact);
        assert!((h.mean.unwrap() - 1.8).abs() < 1e-12);
        let (r, _) = reach(&g.components());
        assert_eq!(
            (r.unreachable_pairs, r.pairs, r.components, r.largest),
            (0, 30, 1, 6)
        );
    }

    #[test]
    fn two_islands_count_their_unreachable_pairs() {
        // {0,1,2} a triangle, {3,4} a pair, 5 alone.
        let g = MeshGraph::new(6, &[(0, 1), (1, 2), (2, 0), (3, 4), (4, 3), (5, 5)]);
        assert_eq!(g.edges(), 4);
        let (r, sizes) = reach(&g.components());
        // Reachable ordered pairs: 3*2 + 2*1 = 8 of 30.
        assert_eq!(r.unreachable_pairs, 22);
        assert_eq!(r.components, 3);
        assert_eq!(r.largest, 3);
        assert_eq!(sizes.iter().sum::<u64>(), 6);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let h = g.path_hops(100, 10, &mut rng);
        assert!((h.mean.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn sampled_sources_estimate_the_exact_mean_within_their_error() {
        // A random graph of 2000 nodes, mean degree 10.
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let n = 2000;
        let edges: Vec<(u32, u32)> = (0..n * 5)
            .map(|_| (below(&mut rng, n) as u32, below(&mut rng, n) as u32))
            .collect();
        let g = MeshGraph::new(n, &edges);
        let exact = g.path_hops(n, 0, &mut rng);
        let sampled = g.path_hops(100, 200, &mut rng);
        assert!(exact.exact && !sampled.exact);
        assert_eq!(sampled.sources, 200);
        let (e, s) = (exact.mean.unwrap(), sampled.mean.unwrap());
        assert!(sampled.standard_error > 0.0 && sampled.standard_error < 0.01 * e);
        assert!(
            (e - s).abs() < 4.0 * sampled.standard_error + 1e-9,
            "{e} vs {s}"
        );
    }
}
