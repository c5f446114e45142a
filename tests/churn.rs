//! re6st-style churn (issue 14): the random tunnel mesh the nodes build
//! agrees with an independent construction of the same random graph, no
//! node holds more than `max_peers` incoming tunnels, and a bad `churn`
//! section is a located error.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sim::mesh_graph::MeshGraph;

/// A churn-only scenario: `n` hosts, `k` tunnels each, no refresh within
/// the run.
fn mesh(n: usize, k: usize, seed: u64, extra: &str) -> String {
    format!(
        r#"{{
        "name": "mesh", "seed": {seed}, "duration": "20s",
        "metrics": {{ "interval": "5s" }},
        "protocol": {{ "suite": "modeled", "rekey_interval": "10min", "max_key_age": "1h", "keepalive_interval": "10s", "dead_interval": "30s" }},
        "topology": {{ "generator": "hosts", "nodes": {n} }},
        "underlay": {{ "path": {{ "latency": "10ms" }} }},
        "churn": {{ "tunnels_per_node": {k}, "refresh": "1h", "adverts": false, "sample": "5s" {extra} }}
    }}"#
    )
}

fn run(text: &str) -> sim::results::Summary {
    let sc = sim::scenario::parse(text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(sc, &mut |_| {}).expect("runs").summary
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// The reference rule, written apart from the simulator: each node in turn
/// opens `k` tunnels to distinct nodes drawn uniformly at random (not
/// itself, not a node it already has a tunnel with), skipping a node that
/// already accepted `max_peers`; the exact mean shortest path of the
/// result.
fn reference_hops(n: usize, k: usize, max_peers: usize, seed: u64) -> f64 {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut incoming = vec![0usize; n];
    let mut adjacent = vec![std::collections::BTreeSet::new(); n];
    let mut edges = Vec::new();
    for a in 0..n {
        let mut opened = 0;
        let mut tries = 0;
        while opened < k && tries < 100 * n {
            tries += 1;
            let b = below(&mut rng, n);
            if b == a || adjacent[a].contains(&b) || incoming[b] >= max_peers {
                continue;
            }
            incoming[b] += 1;
            adjacent[a].insert(b);
            adjacent[b].insert(a);
            edges.push((a as u32, b as u32));
            opened += 1;
        }
    }
    let g = MeshGraph::new(n, &edges);
    g.path_hops(usize::MAX, 0, &mut rng)
        .mean
        .expect("connected")
}

#[test]
fn the_random_mesh_agrees_with_an_independent_construction() {
    for (n, k) in [(100, 5), (240, 10)] {
        let s = run(&mesh(n, k, 3, ""));
        let c = s.churn.as_ref().expect("churn block");
        let last = c.samples.last().expect("samples");
        assert_eq!(c.path_hops_method, "exact");
        // Every node opened its tunnels; the mesh is one component.
        assert_eq!(last.tunnels, n * k, "{n} x {k}: {:?}", c.counters);
        assert_eq!(last.unreachable_pairs, 0);
        assert_eq!(last.table_min, n - 1);
        let ours = last.avg_path_hops.expect("reachable pairs");
        let reference: f64 = (0..5).map(|s| reference_hops(n, k, 2 * k, s)).sum::<f64>() / 5.0;
        let analytic = ((n as f64).ln() - 0.5772) / ((2 * k) as f64).ln() + 0.5;
        let off = (ours - reference).abs() / reference;
        eprintln!("n {n} k {k}: ours {ours:.4}, reference {reference:.4}, analytic {analytic:.4}");
        assert!(
            off < 0.05,
            "n {n} k {k}: ours {ours:.4}, reference {reference:.4} ({:.1}% off), analytic {analytic:.4}",
            off * 100.0
        );
    }
}

#[test]
fn no_node_holds_more_than_max_peers_incoming_tunnels() {
    // 4 tunnels each but at most 5 incoming: the draws hit full nodes,
    // which refuse; their openers draw again elsewhere.
    let s = run(&mesh(40, 4, 5, r#", "max_peers": 5"#));
    let c = s.churn.as_ref().expect("churn block");
    let mut incoming = [0usize; 40];
    for t in s.tunnels.iter().filter(|t| t.closed_s.is_none()) {
        incoming[t.to] += 1;
    }
    assert!(incoming.iter().all(|&i| i <= 5), "{incoming:?}");
    assert!(c.counters.refused_incoming > 0, "{:?}", c.counters);
    assert_eq!(c.counters.refused, c.counters.refused_incoming);
    // Refused openers found room elsewhere: all 160 tunnels stand.
    assert_eq!(c.samples.last().map(|x| x.tunnels), Some(160));
}

#[test]
fn a_bad_churn_section_is_a_located_error() {
    let cases = [
        (r#", "refresh_share": 1.5"#, "churn.refresh_share"),
        (r#", "policy": "oldest""#, "churn.policy"),
        (r#", "sample": "0s""#, "churn.sample"),
        (r#", "adverts": true"#, "churn.adverts"),
    ];
    for (extra, path) in cases {
        let text = mesh(20, 3, 1, extra);
        let e = sim::scenario::parse(&text, Path::new(".")).expect_err(extra);
        assert!(e.to_string().contains(path), "{extra}: {e}");
        assert!(e.to_string().contains(":7:"), "{extra}: no line in {e}");
    }
    let e = sim::scenario::parse(&mesh(20, 20, 1, ""), Path::new(".")).expect_err("k = n");
    assert!(e.to_string().contains("churn.tunnels_per_node"), "{e}");
    assert!(e.to_string().contains("fewer than the 20 nodes"), "{e}");
}
