use std::collections::BTreeSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::*;

fn path(nodes: &[u32], cost: u64) -> Path {
    Path {
        nodes: nodes.to_vec(),
        cost,
    }
}

/// The cheapest edge `u -> v`.
fn hop_cost(g: &Graph, u: u32, v: u32) -> Option<u64> {
    g.edges_from(u).filter(|e| e.0 == v).map(|e| e.1).min()
}

fn links_of(p: &Path) -> BTreeSet<(u32, u32)> {
    p.nodes
        .windows(2)
        .map(|h| (h[0].min(h[1]), h[0].max(h[1])))
        .collect()
}

fn inner_of(p: &Path) -> BTreeSet<u32> {
    let n = p.nodes.len();
    p.nodes[1..n.saturating_sub(1).max(1)]
        .iter()
        .copied()
        .collect()
}

fn compatible(a: &Path, b: &Path, kind: Disjoint) -> bool {
    links_of(a).is_disjoint(&links_of(b))
        && (kind == Disjoint::Links || inner_of(a).is_disjoint(&inner_of(b)))
}

/// Asserts that `paths` are valid paths from `s` to `t`, pairwise disjoint
/// per `kind`, sorted; returns their total cost.
fn check(g: &Graph, s: u32, t: u32, paths: &[Path], kind: Disjoint) -> u128 {
    let mut total = 0;
    for p in paths {
        assert_eq!(p.nodes.first(), Some(&s), "{p:?}");
        assert_eq!(p.nodes.last(), Some(&t), "{p:?}");
        let distinct: BTreeSet<u32> = p.nodes.iter().copied().collect();
        assert_eq!(distinct.len(), p.nodes.len(), "not simple: {p:?}");
        let mut cost = 0u128;
        for h in p.nodes.windows(2) {
            cost += u128::from(hop_cost(g, h[0], h[1]).expect("hop without an edge"));
        }
        assert_eq!(u128::from(p.cost), cost, "{p:?}");
        total += cost;
    }
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            assert!(compatible(a, b, kind), "{kind:?} overlap: {a:?} {b:?}");
        }
    }
    assert!(
        paths
            .windows(2)
            .all(|w| (w[0].cost, &w[0].nodes) <= (w[1].cost, &w[1].nodes))
    );
    total
}

/// Every simple path from `s` to `t` (each hop at its cheapest edge).
fn simple_paths(g: &Graph, s: u32, t: u32) -> Vec<Path> {
    fn extend(g: &Graph, t: u32, walk: &mut Vec<u32>, cost: u64, out: &mut Vec<Path>) {
        let at = *walk.last().unwrap();
        if at == t {
            out.push(path(walk, cost));
            return;
        }
        let next: BTreeSet<u32> = g.edges_from(at).map(|e| e.0).collect();
        for v in next {
            if !walk.contains(&v) {
                walk.push(v);
                extend(g, t, walk, cost + hop_cost(g, at, v).unwrap(), out);
                walk.pop();
            }
        }
    }
    let mut out = Vec::new();
    extend(g, t, &mut vec![s], 0, &mut out);
    out
}

/// `best[r]`: the least total cost of `r` pairwise disjoint paths, for `r`
/// up to `k` (`None`: no such set).
fn brute(paths: &[Path], k: usize, kind: Disjoint) -> Vec<Option<u128>> {
    fn search(
        paths: &[Path],
        from: usize,
        chosen: &mut Vec<usize>,
        total: u128,
        kind: Disjoint,
        best: &mut Vec<Option<u128>>,
    ) {
        let r = chosen.len();
        best[r] = Some(best[r].map_or(total, |b| b.min(total)));
        if r + 1 == best.len() {
            return;
        }
        for i in from..paths.len() {
            if chosen
                .iter()
                .all(|&j| compatible(&paths[i], &paths[j], kind))
            {
                chosen.push(i);
                search(
                    paths,
                    i + 1,
                    chosen,
                    total + u128::from(paths[i].cost),
                    kind,
                    best,
                );
                chosen.pop();
            }
        }
    }
    let mut best = vec![None; k + 1];
    search(paths, 0, &mut Vec::new(), 0, kind, &mut best);
    best
}

/// Greedy for contrast: the shortest path, then the shortest avoiding
/// what it used, and so on.
fn greedy(g: &Graph, s: u32, t: u32, k: usize, kind: Disjoint) -> Vec<Path> {
    let mut found: Vec<Path> = Vec::new();
    while found.len() < k {
        let mut rest = Graph::new(g.node_count());
        for u in 0..g.node_count() as u32 {
            for (v, c) in g.edges_from(u) {
                let link = (u.min(v), u.max(v));
                let taken = found.iter().any(|p| {
                    links_of(p).contains(&link)
                        || (kind == Disjoint::Nodes
                            && (inner_of(p).contains(&u) || inner_of(p).contains(&v)))
                });
                if !taken {
                    rest.add_edge(u, v, c);
                }
            }
        }
        match shortest(&rest, s, t) {
            Some(p) => found.push(p),
            None => break,
        }
    }
    found
}

#[test]
fn shortest_on_small_graphs() {
    let mut g = Graph::new(6);
    g.add_link(0, 1, 4);
    g.add_link(0, 2, 1);
    g.add_link(2, 1, 2);
    g.add_link(1, 3, 1);
    g.add_link(2, 3, 5);
    g.add_edge(3, 4, 1); // one way
    g.add_edge(0, 1, 10);
    g.add_edge(0, 1, 3); // parallel, cheaper: 0-1-3 costs 4 too, but 2 hops
    assert_eq!(g.node_count(), 6);
    assert_eq!(g.edges_from(0).count(), 4);
    assert_eq!(shortest(&g, 0, 3), Some(path(&[0, 1, 3], 4)));
    assert_eq!(shortest(&g, 0, 4), Some(path(&[0, 1, 3, 4], 5)));
    assert_eq!(shortest(&g, 2, 0), Some(path(&[2, 0], 1)));
    assert_eq!(shortest(&g, 4, 0), None); // one-way edge
    assert_eq!(shortest(&g, 0, 5), None); // isolated
    assert_eq!(shortest(&g, 2, 2), Some(path(&[2], 0)));
    assert_eq!(shortest(&g, 5, 5), Some(path(&[5], 0)));
    assert_eq!(shortest(&g, 0, 6), None); // out of range
    assert_eq!(shortest(&g, 6, 6), None);
    g.add_edge(0, 9, 1); // ignored
    g.add_edge(1, 1, 0); // ignored
    assert_eq!(
        g.edges_from(9).count() + g.edges_from(1).filter(|e| e.0 == 1).count(),
        0
    );

    // Ties: the same cost and hops, lowest predecessor; fewer hops first;
    // the edge order does not matter.
    for order in [[0, 1, 2, 3], [3, 2, 1, 0]] {
        let links = [(0, 2, 1), (2, 3, 1), (0, 1, 1), (1, 3, 1)];
        let mut sq = Graph::new(4);
        for i in order {
            let (a, b, c) = links[i];
            sq.add_link(a, b, c);
        }
        assert_eq!(shortest(&sq, 0, 3), Some(path(&[0, 1, 3], 2)));
        sq.add_link(0, 3, 2);
        assert_eq!(shortest(&sq, 0, 3), Some(path(&[0, 3], 2)));
    }
    // 2 settles before 1, yet 1 is the lower predecessor of 3.
    let mut late = Graph::new(4);
    late.add_link(0, 2, 1);
    late.add_link(2, 3, 2);
    late.add_link(0, 1, 2);
    late.add_link(1, 3, 1);
    assert_eq!(shortest(&late, 0, 3), Some(path(&[0, 1, 3], 3)));
    let mut zero = Graph::new(3);
    zero.add_link(0, 1, 0);
    zero.add_link(1, 2, 0);
    zero.add_link(0, 2, 0);
    assert_eq!(shortest(&zero, 0, 2), Some(path(&[0, 2], 0)));
}

#[test]
fn huge_costs_compare_exactly_and_saturate() {
    let max = u64::MAX;
    let mut g = Graph::new(4);
    g.add_edge(0, 1, max);
    g.add_edge(1, 3, max);
    g.add_edge(0, 2, max);
    g.add_edge(2, 3, max - 1);
    // Both cost more than u64::MAX; the cheaper goes through 2.
    assert_eq!(shortest(&g, 0, 3), Some(path(&[0, 2, 3], max)));
    let two = disjoint(&g, 0, 3, 2, Disjoint::Nodes);
    assert_eq!(two, vec![path(&[0, 1, 3], max), path(&[0, 2, 3], max)]);
    assert_eq!(
        disjoint(&g, 0, 3, 1, Disjoint::Links),
        vec![path(&[0, 2, 3], max)]
    );
}

#[test]
fn nearest_on_a_small_graph() {
    //   0 -1- 1 -1- 2 -1- 3
    //   |5          |
    //   4 ----5---- 3 (also 4-3), 1-6 (9), 4-6 (1), 7 isolated
    let mut g = Graph::new(9);
    g.add_link(0, 1, 1);
    g.add_link(1, 2, 1);
    g.add_link(2, 3, 1);
    g.add_link(0, 4, 5);
    g.add_link(4, 3, 5);
    g.add_link(1, 6, 9);
    g.add_link(4, 6, 1);
    g.add_link(1, 5, 2);
    g.add_link(4, 5, 3); // 5: 0-1-5 = 3, 0-4-5 = 8
    let targets = [2u32, 3, 5, 6, 7];
    let is_target = |n: u32| targets.contains(&n);
    let all = nearest(&g, 0, is_target, 10);
    assert_eq!(
        all,
        vec![
            path(&[0, 1, 2], 2),
            path(&[0, 4, 3], 10), // fewest hops beats the cheaper 0-1-2-3
            path(&[0, 1, 5], 3),
            path(&[0, 4, 6], 6), // cheaper of the two 2-hop paths
        ]
    );
    assert_eq!(nearest(&g, 0, is_target, 2), all[..2].to_vec());
    assert_eq!(nearest(&g, 0, is_target, 0), vec![]);
    assert_eq!(
        nearest(&g, 2, is_target, 2),
        vec![path(&[2], 0), path(&[2, 3], 1)]
    );
    assert_eq!(nearest(&g, 7, is_target, 3), vec![path(&[7], 0)]);
    assert_eq!(nearest(&g, 8, is_target, 3), vec![]);
    assert_eq!(nearest(&g, 9, |_| true, 3), vec![]); // out of range
    assert_eq!(nearest(&g, 0, |_| false, 3), vec![]);
    // Equal hops and cost: the lower predecessor.
    let mut sq = Graph::new(4);
    sq.add_link(0, 2, 1);
    sq.add_link(2, 3, 1);
    sq.add_link(0, 1, 1);
    sq.add_link(1, 3, 1);
    assert_eq!(nearest(&sq, 0, |n| n == 3, 1), vec![path(&[0, 1, 3], 2)]);
}

#[test]
fn the_trap_defeats_greedy_but_not_disjoint() {
    // The shortest path 0-1-2-3 (cost 3) blocks both others; the two
    // disjoint paths are 0-1-3 and 0-2-3 (4 each).
    let mut g = Graph::new(4);
    g.add_link(0, 1, 1);
    g.add_link(1, 2, 1);
    g.add_link(2, 3, 1);
    g.add_link(1, 3, 3);
    g.add_link(0, 2, 3);
    for kind in [Disjoint::Links, Disjoint::Nodes] {
        assert_eq!(greedy(&g, 0, 3, 2, kind).len(), 1, "{kind:?}");
        let found = disjoint(&g, 0, 3, 2, kind);
        assert_eq!(
            found,
            vec![path(&[0, 1, 3], 4), path(&[0, 2, 3], 4)],
            "{kind:?}"
        );
        assert_eq!(disjoint(&g, 0, 3, 8, kind), found);
        assert_eq!(disjoint(&g, 0, 3, 1, kind), vec![path(&[0, 1, 2, 3], 3)]);
        assert_eq!(disjoint(&g, 0, 3, 0, kind), vec![]);
        assert_eq!(disjoint(&g, 2, 2, 3, kind), vec![path(&[2], 0)]);
        assert_eq!(disjoint(&g, 0, 4, 2, kind), vec![]);
        assert_eq!(disjoint(&Graph::new(usize::MAX), 0, 7, 2, kind), vec![]);
    }
}

#[test]
fn links_versus_nodes_and_parallel_edges() {
    // Two triangles sharing node 2: two link-disjoint paths, one
    // node-disjoint; parallel edges 0-1 do not make two links.
    let mut g = Graph::new(5);
    for (a, b) in [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (2, 4)] {
        g.add_link(a, b, 1);
    }
    g.add_link(0, 4, 10);
    g.add_link(0, 4, 20);
    // Links: 0-2-4 and 0-1-2-3-4, or 0-1-2-4 and 0-2-3-4 (the same links),
    // and 0-4 at its cheaper edge.
    let links = disjoint(&g, 0, 4, 4, Disjoint::Links);
    assert_eq!(check(&g, 0, 4, &links, Disjoint::Links), 16);
    assert_eq!((links.len(), &links[2]), (3, &path(&[0, 4], 10)));
    let nodes = disjoint(&g, 0, 4, 4, Disjoint::Nodes);
    assert_eq!(nodes, vec![path(&[0, 2, 4], 2), path(&[0, 4], 10)]);
}

#[test]
fn a_flow_splits_into_simple_disjoint_paths() {
    let flow = |arcs: &[(usize, usize)]| arcs.iter().copied().collect::<BTreeSet<_>>();
    // Units crossing 2-3 both ways cancel: 0-2-1 and 0-3-1, not 0-2-3-1
    // and 0-3-2-1 sharing the link.
    let crossed = flow(&[(0, 2), (2, 3), (3, 1), (0, 3), (3, 2), (2, 1)]);
    let mut split = flow_paths(crossed, 0, 1, 2);
    split.sort();
    assert_eq!(split, [vec![0, 2, 1], vec![0, 3, 1]]);
    // A cycle 2-3-4-2 on the way is dropped (the walk from 2 takes 3 first).
    let cycle = flow(&[(0, 2), (2, 1), (2, 3), (3, 4), (4, 2)]);
    assert_eq!(flow_paths(cycle, 0, 1, 1), [vec![0, 2, 1]]);
    // Never more paths than the flow holds.
    assert_eq!(flow_paths(flow(&[(0, 1)]), 0, 1, 3), [vec![0, 1]]);
}

#[test]
fn disjoint_is_optimal_on_random_graphs_by_brute_force() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let (mut cases, mut greedy_worse, mut triples, mut zero_hops) = (0, 0, 0, 0);
    for round in 0..300 {
        let n = rng.random_range(5..=8u32);
        // Many 0-cost links in some: ties, and units crossing a link both
        // ways (to be cancelled).
        let costs = [8, 2, 1][round % 3];
        let mut edges = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                if rng.random_bool(0.45) {
                    let c = rng.random_range(0..costs);
                    edges.extend([(a, b, c), (b, a, c)]);
                }
                if rng.random_bool(0.1) {
                    edges.push((b, a, rng.random_range(0..costs))); // one-way or parallel
                }
            }
        }
        let (s, t) = (rng.random_range(0..n), rng.random_range(0..n));
        let mut g = Graph::new(n as usize);
        let mut reversed = Graph::new(n as usize);
        for &(a, b, c) in &edges {
            g.add_edge(a, b, c);
        }
        for &(a, b, c) in edges.iter().rev() {
            reversed.add_edge(a, b, c);
        }
        let all = simple_paths(&g, s, t);
        assert_eq!(
            shortest(&g, s, t).map(|p| p.cost),
            all.iter().map(|p| p.cost).min()
        );
        assert_eq!(shortest(&reversed, s, t), shortest(&g, s, t));
        if s == t {
            assert_eq!(disjoint(&g, s, t, 3, Disjoint::Links), vec![path(&[s], 0)]);
            continue;
        }
        for kind in [Disjoint::Links, Disjoint::Nodes] {
            let best = brute(&all, 3, kind);
            for k in 1..=3 {
                let found = disjoint(&g, s, t, k, kind);
                let total = check(&g, s, t, &found, kind);
                let most = (0..=k).rev().find(|&r| best[r].is_some()).unwrap();
                assert_eq!(found.len(), most, "{kind:?} k={k} {edges:?} {s}->{t}");
                assert_eq!(Some(total), best[most], "{kind:?} k={k} {edges:?} {s}->{t}");
                assert_eq!(disjoint(&reversed, s, t, k, kind), found);
                cases += 1;
                triples += usize::from(found.len() == 3);
                // 0-cost hops: where units may cross a link both ways.
                let zero_cost = found.iter().any(|p| {
                    p.nodes
                        .windows(2)
                        .any(|h| hop_cost(&g, h[0], h[1]) == Some(0))
                });
                zero_hops += usize::from(k > 1 && zero_cost);
                if k == 2 {
                    let gr = greedy(&g, s, t, 2, kind);
                    let gr_total: u128 = gr.iter().map(|p| u128::from(p.cost)).sum();
                    greedy_worse += usize::from(gr.len() < most || gr_total > total);
                }
            }
        }
    }
    // The cases are varied enough to tell greedy from optimal.
    assert!(cases > 1000, "{cases}");
    assert!(
        greedy_worse > 0 && triples > 50 && zero_hops > 50,
        "{greedy_worse} {triples} {zero_hops}"
    );
}

#[test]
fn ten_thousand_nodes() {
    // A ring with chords i - i+100: 4-regular, so 4 disjoint paths at most,
    // and (a connected circulant) it has 4 of each kind.
    let n = 10_000u32;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut ring = Graph::new(n as usize);
    for i in 0..n {
        ring.add_link(i, (i + 1) % n, rng.random_range(1..100));
        ring.add_link(i, (i + 100) % n, rng.random_range(1..100));
    }
    for kind in [Disjoint::Links, Disjoint::Nodes] {
        let found = disjoint(&ring, 0, 5_000, 8, kind);
        check(&ring, 0, 5_000, &found, kind);
        assert_eq!(found.len(), 4, "{kind:?}");
        let one = disjoint(&ring, 0, 5_000, 1, kind);
        assert_eq!(one, vec![shortest(&ring, 0, 5_000).unwrap()]);
    }
    let near = nearest(&ring, 0, |v| v % 1000 == 999, 3);
    assert_eq!(
        near.iter()
            .map(|p| *p.nodes.last().unwrap())
            .collect::<Vec<_>>(),
        [9999, 999, 8999]
    );
    assert_eq!(
        near.iter().map(|p| p.nodes.len()).collect::<Vec<_>>(),
        [2, 12, 12]
    );

    // A 100 x 100 grid of unit links, corner to corner: two paths of 198
    // hops each at best (every path has at least 198), no more.
    let side = 100u32;
    let mut grid = Graph::new((side * side) as usize);
    for y in 0..side {
        for x in 0..side {
            let v = y * side + x;
            if x + 1 < side {
                grid.add_link(v, v + 1, 1);
            }
            if y + 1 < side {
                grid.add_link(v, v + side, 1);
            }
        }
    }
    let far = side * side - 1;
    for kind in [Disjoint::Links, Disjoint::Nodes] {
        let found = disjoint(&grid, 0, far, 8, kind);
        assert_eq!(check(&grid, 0, far, &found, kind), 396, "{kind:?}");
        assert_eq!(found.len(), 2);
    }
}
