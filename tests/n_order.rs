//! re6st's n-order mesh (issue 14, claim 21): the membership `churn.meshes`
//! draws, the routing table sizes computed on the tunnel graph, the
//! registry's scoping, and the located errors of a bad `meshes` key.

use std::collections::BTreeSet;
use std::path::Path;

use sim::model::{MeshPlan, Scenario};

/// A churn-only scenario: `n` hosts, `k` tunnels each, `refresh`, and the
/// `meshes` object given (line 8 of the text).
fn mesh(n: usize, k: usize, refresh: &str, duration: &str, meshes: &str) -> String {
    format!(
        r#"{{
        "name": "n-order", "seed": 5, "duration": "{duration}",
        "metrics": {{ "interval": "10s" }},
        "protocol": {{ "suite": "modeled", "rekey_interval": "10min", "max_key_age": "1h", "keepalive_interval": "10s", "dead_interval": "30s" }},
        "topology": {{ "generator": "hosts", "nodes": {n} }},
        "underlay": {{ "path": {{ "latency": "10ms" }} }},
        "churn": {{ "tunnels_per_node": {k}, "refresh": "{refresh}", "adverts": false, "sample": "10s",
          "meshes": {meshes} }}
    }}"#
    )
}

fn parse(text: &str) -> Scenario {
    sim::scenario::parse(text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn plan(sc: &Scenario) -> &MeshPlan {
    sc.churn
        .as_ref()
        .and_then(|c| c.meshes.as_ref())
        .expect("meshes")
}

fn run(text: &str) -> sim::results::Summary {
    sim::run::run(parse(text), &mut |_| {})
        .expect("runs")
        .summary
}

#[test]
fn membership_is_balanced_random_and_deterministic() {
    for n in [400, 410] {
        let sc = parse(&mesh(n, 5, "1h", "10s", r#"{ "order": 2 }"#));
        let p = plan(&sc);
        let count = usize::from(p.count);
        assert_eq!(count, (n as f64).sqrt().round() as usize, "n {n}");
        for ms in &p.membership {
            assert!(ms.len() == 1 || ms.len() == 2, "{ms:?}");
            assert!(
                ms.windows(2).all(|w| w[0] < w[1]),
                "sorted, distinct: {ms:?}"
            );
            assert!(ms.iter().all(|&m| usize::from(m) < count));
        }
        // Meshes of near-equal size: each has its n / count or n / count + 1
        // home nodes, and the border nodes that joined it.
        let members = p.members();
        let least = members.iter().map(Vec::len).min().unwrap();
        assert!(least >= n / count, "n {n}: {least}");
        // Border nodes: round(0.1 x home size) per mesh, 10% overall.
        let b = p.border_nodes();
        let expected: usize = (0..count)
            .map(|m| {
                let size = (m + 1) * n / count - m * n / count;
                (0.1 * size as f64).round() as usize
            })
            .sum();
        assert_eq!(b, expected, "n {n}");
        assert!((b as f64 / n as f64 - 0.1).abs() < 0.02, "n {n}: {b}");
        // Each mesh's members: its home nodes and the border nodes that
        // joined it: together n + b.
        assert_eq!(members.iter().map(Vec::len).sum::<usize>(), n + b);
        // Deterministic for a seed; another seed draws another membership,
        // and setting the seed back draws the first again.
        let again = parse(&mesh(n, 5, "1h", "10s", r#"{ "order": 2 }"#));
        assert_eq!(plan(&again), p);
        let mut other = parse(&mesh(n, 5, "1h", "10s", r#"{ "order": 2 }"#));
        other.set_seed(6);
        assert_ne!(plan(&other).membership, p.membership);
        other.set_seed(5);
        assert_eq!(plan(&other), p);
    }
    // Order 1: everyone in mesh 0.
    let sc = parse(&mesh(50, 5, "1h", "10s", r#"{ "order": 1 }"#));
    assert!(plan(&sc).membership.iter().all(|m| m == &[0]));
    assert_eq!(plan(&sc).border_nodes(), 0);
}

/// The table a node would hold if each mesh's tunnels connected all its
/// members and every mesh were reachable: its meshes' other members, plus
/// one entry per other mesh.
fn ideal(p: &MeshPlan, i: usize) -> usize {
    let members = p.members();
    let mut union: BTreeSet<usize> = BTreeSet::new();
    for &m in &p.membership[i] {
        union.extend(&members[usize::from(m)]);
    }
    union.len() - 1 + usize::from(p.count) - p.membership[i].len()
}

#[test]
fn a_two_order_mesh_holds_about_twice_and_three_times_a_mesh() {
    let n = 400;
    let root = (n as f64).sqrt();
    let text = mesh(n, 5, "1h", "20s", r#"{ "order": 2 }"#);
    let sc = parse(&text);
    let p = plan(&sc).clone();
    let s = run(&text);
    let c = s.churn.as_ref().expect("churn block");
    let last = c.samples.last().expect("samples");
    assert_eq!(last.tunnels, n * 5, "{:?}", c.counters);
    let t = last.tables.as_ref().expect("split tables");
    let (interior, border) = (t.interior_mean.unwrap(), t.border_mean.unwrap());
    // Against the ideal of this membership: every mesh's tunnels connect
    // its members (5 tunnels each in meshes of 20 to 27), and the border
    // nodes join all 20 meshes (40 random joins among 20 meshes).
    let mean = |border: bool| {
        let v: Vec<usize> = (0..n)
            .filter(|&i| (p.membership[i].len() > 1) == border)
            .map(|i| ideal(&p, i))
            .collect();
        v.iter().sum::<usize>() as f64 / v.len() as f64
    };
    assert!(
        (interior - mean(false)).abs() < 0.01,
        "{interior} vs {}",
        mean(false)
    );
    assert!(
        (border - mean(true)).abs() < 0.01,
        "{border} vs {}",
        mean(true)
    );
    // The article: about twice a single mesh's at nodes in one mesh, three
    // times at border nodes. A node in one mesh of (1 + b) sqrt(n) members
    // (its home nodes and the border nodes that joined it, b = 0.1) holds
    // (1 + b) sqrt(n) - 1 nodes and sqrt(n) - 1 meshes: (2 + b) sqrt(n) - 2,
    // 40 at n = 400; a border node about (3 + 2b) sqrt(n) - 3, 65, less
    // the nodes in both of its meshes: measured 61.7. Within 5% of 2 and 3
    // sqrt(n) (a 10% share makes the 2-order tables 0 to 5% larger).
    assert!((interior / (2.0 * root) - 1.0).abs() < 0.05, "{interior}");
    assert!((border / (3.0 * root) - 1.0).abs() < 0.05, "{border}");
    assert_eq!(t.meshes_mean.round() as usize, usize::from(p.count) - 1);
    let m = c.meshes.as_ref().expect("meshes block");
    assert_eq!((m.order, m.count, m.border_nodes), (2, 20, 40));
    // Order 1: every node holds the n - 1 others.
    let s = run(&mesh(n, 5, "1h", "20s", r#"{ "order": 1 }"#));
    let last = s.churn.as_ref().unwrap().samples.last().cloned().unwrap();
    assert_eq!((last.table_min, last.table_max), (n - 1, n - 1));
    let t = last.tables.expect("split tables");
    assert_eq!(t.border_mean, None);
    assert_eq!(t.meshes_mean, 0.0);
}

#[test]
fn the_registry_offers_only_peers_that_share_a_mesh() {
    // 12 meshes of 12 under churn (30% replaced every 10 s): every tunnel
    // ever opened joins two nodes with a mesh in common.
    let text = mesh(144, 3, "10s", "40s", r#"{ "order": 2 }"#);
    let sc = parse(&text);
    let p = plan(&sc).clone();
    let s = run(&text);
    assert!(s.tunnels.len() > 144 * 3, "{} tunnels", s.tunnels.len());
    for t in &s.tunnels {
        let (a, b) = (&p.membership[t.from], &p.membership[t.to]);
        assert!(
            a.iter().any(|m| b.contains(m)),
            "tunnel {} -> {}: meshes {a:?} and {b:?}",
            t.from,
            t.to
        );
    }
    // Border nodes open tunnels into both of their meshes.
    let both = (0..144)
        .filter(|&i| p.membership[i].len() == 2)
        .filter(|&i| {
            let peers: Vec<usize> = s
                .tunnels
                .iter()
                .filter(|t| t.from == i)
                .map(|t| t.to)
                .collect();
            p.membership[i]
                .iter()
                .all(|m| peers.iter().any(|&j| p.membership[j].contains(m)))
        })
        .count();
    assert!(
        both * 2 > p.border_nodes(),
        "{both} of {}",
        p.border_nodes()
    );
}

#[test]
fn a_mesh_too_small_for_its_tunnels_runs_with_fewer() {
    // Meshes of 10 (and the border nodes that join): 5 tunnels each would
    // need 50 of their 45 pairs. The managers keep asking the registry;
    // the run ends all the same, with fewer tunnels.
    let s = run(&mesh(100, 5, "1h", "10s", r#"{ "order": 2 }"#));
    let last = s.churn.as_ref().unwrap().samples.last().cloned().unwrap();
    assert!(last.tunnels < 500 && last.tunnels > 400, "{}", last.tunnels);
}

#[test]
fn a_bad_meshes_key_is_a_located_error() {
    let cases = [
        (r#"{ "order": 3 }"#, "churn.meshes.order", "order 3"),
        (
            r#"{ "order": 2, "count": 0 }"#,
            "churn.meshes.count",
            "at least 2",
        ),
        (
            r#"{ "order": 2, "count": 1 }"#,
            "churn.meshes.count",
            "at least 2",
        ),
        (
            r#"{ "order": 2, "count": 401 }"#,
            "churn.meshes.count",
            "at most one per",
        ),
        (
            r#"{ "order": 2, "count": 80 }"#,
            "churn.meshes.count",
            "too few to keep 5 tunnels",
        ),
        (
            r#"{ "order": 1, "count": 4 }"#,
            "churn.meshes.count",
            "1-order",
        ),
        (
            r#"{ "order": 2, "border_share": 1.5 }"#,
            "churn.meshes.border_share",
            "outside [0, 1]",
        ),
        (
            r#"{ "order": 2, "borders": 0.1 }"#,
            "churn.meshes",
            "borders",
        ),
        (r#"{ "count": 4 }"#, "churn.meshes", "order"),
    ];
    for (meshes, path, what) in cases {
        let text = mesh(400, 5, "1h", "10s", meshes);
        let e = sim::scenario::parse(&text, Path::new("."))
            .expect_err(meshes)
            .to_string();
        assert!(e.contains(path), "{meshes}: {e}");
        assert!(e.contains(what), "{meshes}: {e}");
        assert!(e.contains(":8:"), "{meshes}: no line in {e}");
    }
}

#[test]
fn flows_into_other_meshes_go_through_border_nodes() {
    // The packet-level scenario, shortened: routes to nodes of another
    // mesh are built past border nodes (segments) and carry their flows.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/re6st-n-order-adverts.json"),
    )
    .expect("scenario");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["duration"] = serde_json::json!("150s");
    let s = run(&v.to_string());
    let m = s.churn.as_ref().unwrap().meshes.as_ref().unwrap();
    assert!(m.cross_mesh_flows >= 2, "{m:?}");
    // At least one segment per flow across meshes, each answered.
    assert!(m.segments_asked >= m.cross_mesh_flows as u64, "{m:?}");
    assert_eq!(m.segments_answered, m.segments_asked, "{m:?}");
    assert_eq!(m.segments_refused, 0, "{m:?}");
    for f in &s.flows {
        assert!(f.delivery_ratio > 0.99, "{}: {}", f.name, f.delivery_ratio);
    }
}
