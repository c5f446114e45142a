//! Generators, imports and overrides.

use std::collections::BTreeSet;
use std::path::Path;

use node_core::Duration;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::generators::{self, is_connected};
use crate::model::{LossModel, Medium, Network, NodeRole};
use crate::scenario::spec::default_channel;
use crate::scenario::{ScenarioError, parse};

mod imports;

/// The network of a scenario whose topology section is `topology`.
fn build(topology: &str) -> Result<Network, ScenarioError> {
    let text = format!(
        "{{ \"name\": \"t\", \"seed\": 9, \"duration\": \"1s\",\n  \"topology\": {topology} }}"
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    parse(&text, &fixtures).map(|s| s.network)
}

fn pairs(net: &Network) -> Vec<(usize, usize)> {
    net.links.iter().map(|l| (l.a, l.b)).collect()
}

fn degrees(net: &Network) -> Vec<usize> {
    let mut d = vec![0; net.nodes.len()];
    for l in &net.links {
        d[l.a] += 1;
        d[l.b] += 1;
    }
    d
}

/// No self-links, no pair linked twice, every end a node.
fn assert_simple(net: &Network) {
    let mut seen = BTreeSet::new();
    for l in &net.links {
        assert!(
            l.a != l.b && l.a < net.nodes.len() && l.b < net.nodes.len(),
            "{l:?}"
        );
        assert!(seen.insert((l.a.min(l.b), l.a.max(l.b))), "duplicate {l:?}");
    }
}

#[test]
fn deterministic_generators_have_their_shape() {
    let c = default_channel();
    let chain = generators::chain(5, &c);
    assert_eq!(pairs(&chain), [(0, 1), (1, 2), (2, 3), (3, 4)]);
    assert_eq!(chain.nodes[4].name, "n4");
    assert!(
        chain
            .nodes
            .iter()
            .all(|n| n.role == NodeRole::Host && n.position.is_none())
    );
    assert_eq!(
        pairs(&generators::ring(4, &c)),
        [(0, 1), (1, 2), (2, 3), (3, 0)]
    );
    assert_eq!(pairs(&generators::star(4, &c)), [(0, 1), (0, 2), (0, 3)]);
    let mesh = generators::full_mesh(5, &c);
    assert_eq!(mesh.links.len(), 10);
    assert_eq!(degrees(&mesh), [4; 5]);
    for net in [&chain, &mesh] {
        assert_simple(net);
        assert!(is_connected(net));
        assert!(
            net.links
                .iter()
                .all(|l| l.ba.as_ref() == Some(&l.ab) && l.medium == Medium::Wired)
        );
    }
    // Degenerate sizes give smaller networks, never duplicates or panics.
    assert!(generators::ring(2, &c).links.len() == 1);
    assert!(generators::chain(0, &c).nodes.is_empty());
}

#[test]
fn grid_links_the_four_neighbours() {
    let (rows, cols) = (3, 4);
    let net = generators::grid(rows, cols, &default_channel());
    assert_eq!(net.nodes.len(), 12);
    assert_eq!(net.links.len(), rows * (cols - 1) + cols * (rows - 1));
    assert_eq!(&pairs(&net)[..3], [(0, 1), (0, 4), (1, 2)]);
    assert_simple(&net);
    let linked: BTreeSet<(usize, usize)> = pairs(&net).into_iter().collect();
    for a in 0..12 {
        for b in a + 1..12 {
            let (ra, ca, rb, cb) = (a / cols, a % cols, b / cols, b % cols);
            let adjacent = ra.abs_diff(rb) + ca.abs_diff(cb) == 1;
            assert_eq!(linked.contains(&(a, b)), adjacent, "{a} {b}");
        }
    }
    assert_eq!(degrees(&net).iter().filter(|&&d| d == 4).count(), 2);
}

#[test]
fn erdos_renyi_is_deterministic_per_seed() {
    let c = default_channel();
    let draw = |seed, p| {
        generators::erdos_renyi(40, p, &c, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
    };
    assert_eq!(draw(1, 0.2), draw(1, 0.2));
    assert_ne!(draw(1, 0.2), draw(2, 0.2));
    assert!(draw(1, 0.0).links.is_empty());
    assert_eq!(draw(1, 1.0).links.len(), 40 * 39 / 2);
    let links = draw(3, 0.2).links.len();
    // 780 pairs at p = 0.2: 156 expected, sd about 11.
    assert!((100..220).contains(&links), "{links}");
    assert_simple(&draw(3, 0.2));
}

#[test]
fn barabasi_albert_attaches_preferentially() {
    let c = default_channel();
    for (n, m) in [(50, 1), (60, 2), (40, 3), (4, 3)] {
        let net = generators::barabasi_albert(n, m, &c, &mut ChaCha20Rng::seed_from_u64(5));
        let expected = m * (m + 1) / 2 + (n - m - 1) * m;
        assert_eq!(net.links.len(), expected, "n {n} m {m}");
        assert_eq!(degrees(&net).iter().sum::<usize>(), 2 * expected);
        assert!(degrees(&net).iter().all(|&d| d >= m));
        assert_simple(&net);
        assert!(is_connected(&net));
    }
    let a = generators::barabasi_albert(80, 2, &c, &mut ChaCha20Rng::seed_from_u64(1));
    let b = generators::barabasi_albert(80, 2, &c, &mut ChaCha20Rng::seed_from_u64(1));
    let other = generators::barabasi_albert(80, 2, &c, &mut ChaCha20Rng::seed_from_u64(2));
    assert_eq!(a, b);
    assert_ne!(a, other);
    // Early nodes collect links: a hub well above the minimum degree.
    assert!(degrees(&a).iter().max().copied().unwrap_or(0) >= 8);
}

#[test]
fn geometric_links_nodes_within_radio_range() {
    let topo = r#"{ "generator": "geometric", "nodes": 20, "area": [200, 100],
                    "radio_range": 60, "loss_near": 0.05 }"#;
    let net = build(topo).unwrap();
    assert_eq!(net, build(topo).unwrap());
    let wifi = net.wifi.clone().unwrap();
    assert_eq!((wifi.radio_range, wifi.interference_range), (60.0, 120.0));
    assert_eq!((wifi.loss_near, wifi.loss_at_range), (0.05, 0.3));
    assert!(is_connected(&net));
    assert_simple(&net);
    let pos: Vec<[f64; 2]> = net.nodes.iter().map(|n| n.position.unwrap()).collect();
    assert!(
        pos.iter()
            .all(|p| (0.0..200.0).contains(&p[0]) && (0.0..100.0).contains(&p[1]))
    );
    let linked: BTreeSet<(usize, usize)> = pairs(&net).into_iter().collect();
    for a in 0..20 {
        for b in a + 1..20 {
            let d = ((pos[a][0] - pos[b][0]).powi(2) + (pos[a][1] - pos[b][1]).powi(2)).sqrt();
            assert_eq!(linked.contains(&(a, b)), d <= 60.0, "{a} {b} {d}");
        }
    }
    assert!(net.links.iter().all(|l| l.medium == Medium::Wifi));
    let other = build(&topo.replace("20,", "20, \"connected\": false,")).unwrap();
    assert_eq!(other.nodes.len(), 20);
}

#[test]
fn geometric_errors() {
    let e = build(
        r#"{ "generator": "geometric", "nodes": 30, "area": [10000, 10000], "radio_range": 1 }"#,
    )
    .unwrap_err();
    assert_eq!(
        (e.path.as_str(), e.line, e.column),
        ("topology", 2, 15),
        "{e}"
    );
    assert!(e.message.contains("no connected graph"), "{e}");
    let ok = r#"{ "generator": "geometric", "nodes": 30, "area": [10000, 10000], "radio_range": 1, "connected": false }"#;
    assert!(build(ok).unwrap().links.len() < 5);
    for (topo, path) in [
        (
            r#"{ "generator": "geometric", "nodes": 3, "area": [0, 10], "radio_range": 1 }"#,
            "topology.area[0]",
        ),
        (
            r#"{ "generator": "geometric", "nodes": 3, "area": [10, 10], "radio_range": -1 }"#,
            "topology.radio_range",
        ),
        (
            r#"{ "generator": "geometric", "nodes": 3, "area": [10, 10], "radio_range": 5, "interference_range": 4 }"#,
            "topology.interference_range",
        ),
        (
            r#"{ "generator": "geometric", "nodes": 3, "area": [10, 10], "radio_range": 5, "loss_near": 0.5 }"#,
            "topology.loss_near",
        ),
        (
            r#"{ "generator": "geometric", "nodes": 3, "area": [10, 10, 1], "radio_range": 5 }"#,
            "topology.area",
        ),
        (
            r#"{ "generator": "geometric", "nodes": 0, "area": [10, 10], "radio_range": 5 }"#,
            "topology.nodes",
        ),
    ] {
        let e = build(topo).unwrap_err();
        assert_eq!(e.path, path, "{e}");
    }
}

#[test]
fn sonet_ring_has_cities_spans_and_access_nodes() {
    let net = build(
        r#"{ "generator": "sonet_ring", "cities": 4, "access_per_city": 2,
                         "link": { "queue": "2MiB" }, "access_link": { "latency": "2ms" } }"#,
    )
    .unwrap();
    assert_eq!(net.nodes.len(), 12);
    assert!(net.nodes[..4].iter().all(|n| n.role == NodeRole::City));
    assert!(net.nodes[4..].iter().all(|n| n.role == NodeRole::Access));
    assert_eq!(net.nodes[5].name, "city0-access1");
    let ring = &net.sonet_rings[..];
    assert_eq!(ring.len(), 1);
    assert_eq!(ring[0].cities, [0, 1, 2, 3]);
    assert_eq!(ring[0].spans, [0, 1, 2, 3]);
    assert_eq!(ring[0].switch_time, Duration::from_millis(30));
    for (i, &s) in ring[0].spans.iter().enumerate() {
        let l = &net.links[s];
        assert_eq!((l.a, l.b), (i, (i + 1) % 4));
        assert_eq!(l.medium, Medium::SonetSpan { ring: 0, span: i });
        assert_eq!(l.ab.bandwidth_bps, 10_000_000_000);
        assert_eq!(l.ab.latency, Duration::from_millis(1));
        assert_eq!(l.ab.queue_bytes, 2 << 20);
    }
    assert_eq!(
        pairs(&net)[4..],
        [
            (0, 4),
            (0, 5),
            (1, 6),
            (1, 7),
            (2, 8),
            (2, 9),
            (3, 10),
            (3, 11)
        ]
    );
    let access = &net.links[4];
    assert_eq!(
        (access.ab.bandwidth_bps, access.ab.latency),
        (1_000_000_000, Duration::from_millis(2))
    );
    assert_eq!(access.ab.queue_bytes, 2 << 20);
    assert_eq!(access.medium, Medium::Wired);
    assert_simple(&net);

    let e =
        build(r#"{ "generator": "sonet_ring", "cities": 4, "switch_time": "60ms" }"#).unwrap_err();
    assert_eq!(e.path, "topology.switch_time", "{e}");
    let e = build(r#"{ "generator": "sonet_ring", "cities": 2 }"#).unwrap_err();
    assert_eq!(e.path, "topology.cities", "{e}");
}

#[test]
fn generator_parameters_are_checked() {
    for (topo, path, needle) in [
        (
            r#"{ "generator": "chain", "nodes": 1 }"#,
            "topology.nodes",
            "at least 2",
        ),
        (
            r#"{ "generator": "star", "nodes": 1 }"#,
            "topology.nodes",
            "at least 2",
        ),
        (
            r#"{ "generator": "full_mesh", "nodes": 0 }"#,
            "topology.nodes",
            "at least 1",
        ),
        (
            r#"{ "generator": "full_mesh", "nodes": 5000 }"#,
            "topology.nodes",
            "links",
        ),
        (
            r#"{ "generator": "chain", "nodes": 1000000000 }"#,
            "topology.nodes",
            "at most",
        ),
        (
            r#"{ "generator": "grid", "rows": 0, "cols": 3 }"#,
            "topology.rows",
            "at least 1",
        ),
        (
            r#"{ "generator": "grid", "rows": 1000, "cols": 1000 }"#,
            "topology",
            "nodes",
        ),
        (
            r#"{ "generator": "erdos_renyi", "nodes": 10, "p": 2 }"#,
            "topology.p",
            "outside [0, 1]",
        ),
        (
            r#"{ "generator": "barabasi_albert", "nodes": 3, "m": 3 }"#,
            "topology.nodes",
            "at least 4",
        ),
        (
            r#"{ "generator": "barabasi_albert", "nodes": 3, "m": 0 }"#,
            "topology.m",
            "at least 1",
        ),
        (
            r#"{ "generator": "chain", "nodes": 3, "m": 0 }"#,
            "topology.m",
            "chain generator",
        ),
        (
            r#"{ "generator": "chain", "nodes": 3.5 }"#,
            "topology.nodes",
            "invalid type",
        ),
        (
            r#"{ "generator": "import", "file": "topo.txt" }"#,
            "topology.file",
            "format",
        ),
        (
            r#"{ "generator": "import", "file": "nope.gml" }"#,
            "topology.file",
            "cannot read",
        ),
    ] {
        let e = build(topo).unwrap_err();
        assert_eq!(e.path, path, "{topo}: {e}");
        assert!(e.message.contains(needle), "{topo}: {e}");
    }
}

#[test]
fn overrides_apply_to_every_generator() {
    let net = build(
        r#"{ "generator": "star", "nodes": 3,
        "overrides": { "nodes": [ { "node": 0, "name": "hub", "position": [1, 2] } ],
                       "links": [ { "between": [2, 0], "one_way": true,
                                    "link": { "loss": { "bernoulli": 0.25 } },
                                    "ab": { "latency": "7ms" } } ] } }"#,
    )
    .unwrap();
    assert_eq!(net.nodes[0].name, "hub");
    assert_eq!(net.nodes[0].position, Some([1.0, 2.0]));
    let l = &net.links[1];
    assert_eq!((l.a, l.b, l.ba.is_none()), (2, 0, true));
    assert_eq!(l.ab.latency, Duration::from_millis(7));
    assert_eq!(l.ab.loss, LossModel::Bernoulli { p: 0.25 });
    assert_eq!(net.links[0].ab, default_channel());

    for (overrides, path, needle) in [
        (
            r#"{ "links": [ { "between": [1, 2] } ] }"#,
            "topology.overrides.links[0].between",
            "no link",
        ),
        (
            r#"{ "links": [ { "between": [0, 1] }, { "between": [1, 0] } ] }"#,
            "topology.overrides.links[1].between",
            "already overridden",
        ),
        (
            r#"{ "links": [ { "between": [0, 1], "one_way": true, "ba": {} } ] }"#,
            "topology.overrides.links[0].ba",
            "one-way",
        ),
        (
            r#"{ "nodes": [ { "node": 1, "name": "n2" } ] }"#,
            "topology.overrides.nodes[0].name",
            "both be named",
        ),
        (
            r#"{ "nodes": [ { "node": 1 }, { "node": 1 } ] }"#,
            "topology.overrides.nodes[1].node",
            "already overridden",
        ),
        (
            r#"{ "nodes": [ { "node": 1, "name": "" } ] }"#,
            "topology.overrides.nodes[0].name",
            "empty",
        ),
        (
            r#"{ "links": [ { "between": [0, 1], "link": { "mtu": 1 } } ] }"#,
            "topology.overrides.links[0].link.mtu",
            "mtu",
        ),
        (
            r#"{ "edges": [] }"#,
            "topology.overrides.edges",
            "unknown field",
        ),
    ] {
        let topo = format!(r#"{{ "generator": "star", "nodes": 3, "overrides": {overrides} }}"#);
        let e = build(&topo).unwrap_err();
        assert_eq!(e.path, path, "{overrides}: {e}");
        assert!(e.message.contains(needle), "{overrides}: {e}");
    }
    // Renaming two nodes into each other's names in one go is fine.
    let swap = r#"{ "generator": "star", "nodes": 3, "overrides": { "nodes": [
        { "node": 1, "name": "n2" }, { "node": 2, "name": "n1" } ] } }"#;
    assert_eq!(build(swap).unwrap().nodes[1].name, "n2");
}
