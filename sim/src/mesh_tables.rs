//! Routing table sizes of an n-order mesh, computed on the tunnel graph
//! (`churn.adverts: false`), with the definition node-core's
//! `RoutingTable` counts at packet level:
//!
//! - `nodes`: the other nodes a node reaches over tunnels inside one of its
//!   meshes (a tunnel a-b belongs to mesh m's subgraph when both a and b
//!   are members of m), the union over its meshes;
//! - `meshes`: the meshes not among its own that it can reach, each held
//!   as one summarized entry. On the graph of node-in-mesh *instances*
//!   (v, m), with an edge (a, m)-(b, m) for each tunnel of m's subgraph
//!   and (v, m1)-(v, m2) for a node in both m1 and m2, mesh X is reachable
//!   from v when some instance (u, X) is in the component of v's
//!   instances.
//!
//! The size is `nodes + meshes`. With one mesh it is the size of the
//! node's component less one. Two union-finds over the instances (the
//! second adds the border joins to the first), then sorts: O(I log I) for
//! I instances, milliseconds at 10,000 nodes.

/// One node's routing table: entries for nodes of its meshes, and one
/// summarized entry per other mesh it reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Table {
    /// Other nodes reached inside its meshes.
    pub nodes: usize,
    /// Other meshes reached.
    pub meshes: usize,
}

impl Table {
    /// Entries: `nodes + meshes`.
    pub fn size(&self) -> usize {
        self.nodes + self.meshes
    }
}

/// Union-find with path halving and union by size.
struct Sets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Sets {
    fn new(n: usize) -> Sets {
        Sets {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = p;
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// The table of each member, for members with meshes `membership[k]`
/// (ascending, at least one each) and the tunnels `edges` (pairs of member
/// indices; duplicates and self-loops do nothing).
pub fn tables(membership: &[Vec<u16>], edges: &[(u32, u32)]) -> Vec<Table> {
    let n = membership.len();
    // Instance ids: member k's meshes are first[k] .. first[k + 1].
    let mut first = Vec::with_capacity(n + 1);
    first.push(0u32);
    for ms in membership {
        first.push(first[first.len() - 1] + ms.len() as u32);
    }
    let instances = first[n] as usize;
    let instance = |k: usize, m: u16| -> Option<u32> {
        membership[k]
            .binary_search(&m)
            .ok()
            .map(|j| first[k] + j as u32)
    };
    // Inside the meshes: one tunnel joins its ends' instances in every
    // mesh both belong to.
    let mut inside = Sets::new(instances);
    for &(a, b) in edges {
        let (a, b) = (a as usize, b as usize);
        if a == b || a >= n || b >= n {
            continue;
        }
        for &m in &membership[a] {
            if let (Some(x), Some(y)) = (instance(a, m), instance(b, m)) {
                inside.union(x, y);
            }
        }
    }
    let root_in: Vec<u32> = (0..instances as u32).map(|x| inside.find(x)).collect();
    // Across the meshes: a border node joins its instances.
    let mut across = Sets {
        parent: root_in.clone(),
        size: inside.size.clone(),
    };
    for k in 0..n {
        for x in first[k] + 1..first[k + 1] {
            across.union(first[k], x);
        }
    }
    // The meshes present in each component across: (root, mesh), unique.
    let mut present: Vec<(u32, u16)> = Vec::with_capacity(instances);
    for (k, ms) in membership.iter().enumerate() {
        for (j, &m) in ms.iter().enumerate() {
            present.push((across.find(first[k] + j as u32), m));
        }
    }
    present.sort_unstable();
    present.dedup();
    let mut meshes_of = vec![0u32; instances];
    for &(r, _) in &present {
        meshes_of[r as usize] += 1;
    }
    // Members of each component inside, for the nodes in several meshes
    // (a node reached in both of its meshes counts once).
    let several = membership.iter().any(|m| m.len() > 1);
    let mut by_root: Vec<(u32, u32)> = Vec::new();
    if several {
        by_root = (0..n)
            .flat_map(|k| (first[k]..first[k + 1]).map(move |x| (x, k as u32)))
            .map(|(x, k)| (root_in[x as usize], k))
            .collect();
        by_root.sort_unstable();
    }
    let members = |r: u32| -> &[(u32, u32)] {
        let lo = by_root.partition_point(|&(q, _)| q < r);
        let hi = by_root.partition_point(|&(q, _)| q <= r);
        &by_root[lo..hi]
    };
    let mut seen: Vec<u32> = Vec::new();
    (0..n)
        .map(|k| {
            let own = membership[k].len();
            if own == 0 {
                return Table::default();
            }
            let x = first[k];
            let nodes = if own == 1 {
                inside.size[root_in[x as usize] as usize] as usize - 1
            } else {
                seen.clear();
                for y in first[k]..first[k + 1] {
                    seen.extend(members(root_in[y as usize]).iter().map(|&(_, v)| v));
                }
                seen.sort_unstable();
                seen.dedup();
                seen.len() - 1
            };
            let meshes = meshes_of[across.find(x) as usize] as usize - own;
            Table { nodes, meshes }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mesh_is_the_component_less_one() {
        let m = vec![vec![0u16]; 5];
        // {0,1,2} and {3,4}.
        let t = tables(&m, &[(0, 1), (1, 2), (3, 4)]);
        let sizes: Vec<usize> = t.iter().map(Table::size).collect();
        assert_eq!(sizes, [2, 2, 2, 1, 1]);
        assert!(t.iter().all(|t| t.meshes == 0));
    }

    #[test]
    fn two_meshes_joined_by_a_border_node() {
        // Mesh 0: 0, 1, 2 (2 is also in mesh 1); mesh 1: 2, 3, 4; mesh 2:
        // 5, 6, cut off from the others.
        let m = vec![
            vec![0],
            vec![0],
            vec![0, 1],
            vec![1],
            vec![1],
            vec![2],
            vec![2],
        ];
        // 1-3 is a tunnel between meshes: it belongs to no mesh's subgraph.
        let t = tables(&m, &[(0, 1), (1, 2), (2, 3), (3, 4), (1, 3), (5, 6)]);
        assert_eq!(
            t[0],
            Table {
                nodes: 2,
                meshes: 1
            }
        );
        assert_eq!(
            t[2],
            Table {
                nodes: 4,
                meshes: 0
            }
        );
        assert_eq!(
            t[4],
            Table {
                nodes: 2,
                meshes: 1
            }
        );
        assert_eq!(
            t[5],
            Table {
                nodes: 1,
                meshes: 0
            }
        );
    }

    #[test]
    fn a_node_reached_in_both_meshes_counts_once() {
        // 0 and 1 are both in meshes 0 and 1, joined by one tunnel that
        // belongs to both subgraphs; 2 in mesh 0, 3 in mesh 1.
        let m = vec![vec![0, 1], vec![0, 1], vec![0], vec![1]];
        let t = tables(&m, &[(0, 1), (1, 2), (1, 3)]);
        assert_eq!(
            t[0],
            Table {
                nodes: 3,
                meshes: 0
            }
        );
        assert_eq!(
            t[2],
            Table {
                nodes: 2,
                meshes: 1
            }
        );
    }
}
