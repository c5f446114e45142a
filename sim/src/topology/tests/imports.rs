//! GML and JSON imports, from the fixtures and from temporary files.

use node_core::Duration;

use super::build;
use crate::model::{LossModel, Medium};
use crate::scenario::ScenarioError;

/// The line and column of the `n`-th (0-based) occurrence of `needle`.
fn position(text: &str, needle: &str, n: usize) -> (usize, usize) {
    // An empty needle stands for the end of the text.
    let offset = if needle.is_empty() {
        text.len()
    } else {
        text.match_indices(needle)
            .nth(n)
            .unwrap_or_else(|| panic!("{needle:?}"))
            .0
    };
    crate::scenario::locate::line_column(text, offset)
}

/// Imports `content` written to a temporary file named `name`.
fn import_text(name: &str, content: &str) -> Result<crate::model::Network, ScenarioError> {
    import_with(name, content, "")
}

/// Imports `content` as file `name`, with `extra` topology members.
fn import_with(
    name: &str,
    content: &str,
    extra: &str,
) -> Result<crate::model::Network, ScenarioError> {
    let dir = std::env::temp_dir().join(format!("meshsim-import-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, content).unwrap();
    let topo = format!(
        r#"{{ "generator": "import", "file": "{}"{extra} }}"#,
        file.display()
    );
    let result = build(&topo);
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

#[test]
fn gml_directed_edges_are_one_way_and_reverse_pairs_merge() {
    let net = build(
        r#"{ "generator": "import", "file": "shadow-small.gml", "link": { "queue": "8KiB" } }"#,
    )
    .unwrap();
    let names: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["gateway", "relay", "n2", "edge"]);
    // The self-loop is ignored; three links in order of first appearance.
    assert_eq!(net.links.len(), 3);
    let l = &net.links[0];
    assert_eq!((l.a, l.b), (0, 1));
    assert_eq!(l.ab.latency, Duration::from_millis(10));
    assert_eq!(l.ab.bandwidth_bps, 10_000_000);
    assert_eq!(l.ab.loss, LossModel::Bernoulli { p: 0.01 });
    assert_eq!(l.ab.queue_bytes, 8 << 10);
    let back = l.ba.as_ref().unwrap();
    assert_eq!(
        (back.latency, back.bandwidth_bps),
        (Duration::from_millis(12), 2_000_000)
    );
    assert_eq!(back.loss, LossModel::None);
    assert_eq!(back.queue_bytes, 8 << 10);
    let l = &net.links[1];
    assert_eq!((l.a, l.b, l.ba.is_none()), (1, 2, true));
    assert_eq!(
        (l.ab.latency, l.ab.jitter),
        (Duration::from_millis(5), Duration::from_millis(1))
    );
    let l = &net.links[2];
    assert_eq!((l.a, l.b), (2, 3));
    assert_eq!(
        (l.ab.latency, l.ab.bandwidth_bps),
        (Duration::from_micros(2500), 1_000_000)
    );
    let back = l.ba.as_ref().unwrap();
    assert_eq!(
        (back.latency, back.bandwidth_bps),
        (Duration::from_micros(2500), 1_000_000_000)
    );
    assert!(net.links.iter().all(|l| l.medium == Medium::Wired));
}

#[test]
fn undirected_gml_makes_two_way_links() {
    let gml = "graph [ node [ id 0 ] node [ id 1 ] node [ id 2 ]\n edge [ source 0 target 1 latency \"3 ms\" ]\n edge [ source 2 target 1 ] ]";
    let net = import_text("u.gml", gml).unwrap();
    assert_eq!(net.links.len(), 2);
    assert_eq!(net.links[0].ba, Some(net.links[0].ab.clone()));
    assert_eq!(net.links[0].ab.latency, Duration::from_millis(3));
    assert_eq!((net.links[1].a, net.links[1].b), (2, 1));
}

#[test]
fn gml_errors_name_the_file_line_and_column() {
    for (gml, path, (at, n), needle) in [
        (
            "graph [ node [ id 0 ] node [ id 1 ]\n  edge [ source 0 target 5 ] ]",
            "graph.edge[0].target",
            ("5 ]", 0),
            "no node has id 5",
        ),
        (
            "graph [ node [ id 0 ] node [ id 0 ] ]",
            "graph.node[1].id",
            ("0 ]", 1),
            "used twice",
        ),
        (
            "graph [ node [ id 0 ] node [ id 1 ]\n edge [ source 0 target 1 latency \"5 parsecs\" ] ]",
            "graph.edge[0].latency",
            ("\"5 p", 0),
            "unknown unit",
        ),
        (
            "graph [ node [ id 0 ] node [ id 1 ]\n edge [ source 0 target 1 packet_loss 2 ] ]",
            "graph.edge[0].packet_loss",
            ("2 ]", 0),
            "outside [0, 1]",
        ),
        (
            "graph [ node [ id 0 ] node [ id 1 ]\n edge [ target 1 ] ]",
            "graph.edge[0]",
            ("[ target", 0),
            "needs a `source`",
        ),
        (
            "graph [ node [ label \"x\" ] ]",
            "graph.node[0]",
            ("[ label", 0),
            "needs an `id`",
        ),
        (
            "graph [ node [ id 1.5 ] ]",
            "graph.node[0].id",
            ("1.5", 0),
            "not an integer",
        ),
        (
            "graph [ node [ id 0 ] node [ id 1 ]\n edge [ source 0 target 1 LinkSpeedRaw 0 ] ]",
            "graph.edge[0].LinkSpeedRaw",
            ("0 ] ]", 0),
            "not a link speed",
        ),
        (
            "graph [ node [ id 0 Latitude 95 Longitude 0 ] ]",
            "graph.node[0]",
            ("[ id 0", 0),
            "not a place on Earth",
        ),
        ("graph [ ]", "graph", ("graph", 0), "no nodes"),
        ("creator \"me\"", "graph", ("creator", 0), "no `graph"),
        ("graph [ node [ id 0 ]\n", "", ("", 0), "missing `]`"),
    ] {
        let e = import_text("bad.gml", gml).unwrap_err();
        assert!(e.file.as_ref().unwrap().ends_with("bad.gml"), "{e}");
        let (line, column) = position(gml, at, n);
        assert_eq!(
            (e.path.as_str(), e.line, e.column),
            (path, line, column),
            "{gml}: {e}"
        );
        assert!(e.message.contains(needle), "{gml}: {e}");
    }
}

#[test]
fn json_import_reads_nodes_links_and_directions() {
    let net = build(r#"{ "generator": "import", "file": "small-topology.json", "link": { "latency": "1ms", "mtu": 1200 } }"#).unwrap();
    let names: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "n2", "d"]);
    assert_eq!(net.nodes[1].position, Some([10.0, 0.0]));
    assert_eq!(net.nodes[2].position, None);
    let [l0, l1, l2] = &net.links[..] else {
        panic!("{:?}", net.links)
    };
    assert_eq!(l0.ab.latency, Duration::from_millis(5));
    assert_eq!(l0.ab.mtu, 1200);
    assert_eq!(l0.ba, Some(l0.ab.clone()));
    assert_eq!(l1.ab.bandwidth_bps, 10_000_000);
    let back = l1.ba.as_ref().unwrap();
    assert_eq!(
        (back.bandwidth_bps, back.loss),
        (1_000_000, LossModel::Bernoulli { p: 0.1 })
    );
    assert_eq!(back.latency, Duration::from_millis(1));
    assert_eq!(
        (l2.a, l2.b, l2.ba.is_none(), l2.ab.queue_bytes),
        (3, 2, true, 64 << 10)
    );
    // An override turns the one-way link two-way: b-to-a copies a-to-b.
    let net = build(r#"{ "generator": "import", "file": "small-topology.json",
        "overrides": { "links": [ { "between": [3, 2], "one_way": false, "ba": { "latency": "9ms" } } ] } }"#)
    .unwrap();
    let back = net.links[2].ba.as_ref().unwrap();
    assert_eq!(
        (back.latency, back.queue_bytes),
        (Duration::from_millis(9), 64 << 10)
    );
    // The wrong way round, a one-way link has no `ab` to override.
    let e = build(
        r#"{ "generator": "import", "file": "small-topology.json",
        "overrides": { "links": [ { "between": [2, 3], "ab": {} } ] } }"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "topology.overrides.links[0].ab", "{e}");
}

#[test]
fn json_import_errors_point_into_the_imported_file() {
    for (json, path, (at, n), needle) in [
        (
            "{ \"nodes\": [ {}, {} ],\n  \"links\": [ { \"between\": [0, 0] } ] }",
            "links[0].between",
            ("[0, 0]", 0),
            "itself",
        ),
        (
            "{ \"nodes\": [ {}, {} ],\n  \"links\": [ { \"between\": [0, 1] }, { \"between\": [1, 0] } ] }",
            "links[1].between",
            ("[1, 0]", 0),
            "already joins",
        ),
        (
            "{ \"nodes\": [ {}, {} ],\n  \"links\": [ { \"between\": [0, 2] } ] }",
            "links[0].between[1]",
            ("2]", 0),
            "node 2 does not exist",
        ),
        (
            "{ \"nodes\": [ {}, {} ],\n  \"links\": [ { \"between\": [0, 1], \"one_way\": true, \"ba\": {} } ] }",
            "links[0].ba",
            ("{} }", 0),
            "one-way",
        ),
        (
            "{ \"nodes\": [ { \"name\": \"x\" }, { \"name\": \"x\" } ] }",
            "nodes[1].name",
            ("\"x\"", 1),
            "already named",
        ),
        (
            "{ \"nodes\": [ { \"nme\": \"x\" } ] }",
            "nodes[0].nme",
            ("\"x\"", 0),
            "unknown field",
        ),
        ("{ \"nodes\": [] }", "nodes", ("[]", 0), "at least one node"),
        ("{ \"nodes\": [ {} ], }", "", ("}", 1), "trailing comma"),
    ] {
        let e = import_text("bad.json", json).unwrap_err();
        assert!(e.file.as_ref().unwrap().ends_with("bad.json"), "{e}");
        let (line, column) = position(json, at, n);
        assert_eq!(
            (e.path.as_str(), e.line, e.column),
            (path, line, column),
            "{json}: {e}"
        );
        assert!(e.message.contains(needle), "{json}: {e}");
    }
}

/// Two nodes joined by two edges (a real map's parallel links).
const PARALLEL: &str = "graph [ node [ id 0 ] node [ id 1 ]
  edge [ source 0 target 1 LinkSpeedRaw 1000000000 ]
  edge [ source 1 target 0 LinkSpeedRaw 2.5E9 latency \"3 ms\" ] ]";

#[test]
fn parallel_edges_are_merged_by_default_kept_or_refused_on_request() {
    let net = import_text("par.gml", PARALLEL).unwrap();
    assert_eq!(net.links.len(), 1);
    let l = &net.links[0];
    // Capacities add up; the lower latency stands (3 ms against the
    // default 1 ms... the first edge has none and no coordinates).
    assert_eq!(l.ab.bandwidth_bps, 3_500_000_000);
    assert_eq!(l.ba.as_ref().unwrap().bandwidth_bps, 3_500_000_000);
    let net = import_with("par.gml", PARALLEL, r#", "parallel": "keep""#).unwrap();
    assert_eq!(net.links.len(), 2);
    assert_eq!(
        (net.links[0].ab.bandwidth_bps, net.links[1].ab.bandwidth_bps),
        (1_000_000_000, 2_500_000_000)
    );
    assert_eq!(net.links[1].ab.latency, Duration::from_millis(3));
    let e = import_with("par.gml", PARALLEL, r#", "parallel": "refuse""#).unwrap_err();
    assert!(
        e.message.contains("a second edge from node 1 to node 0"),
        "{e}"
    );
    assert!(e.message.contains("\"parallel\""), "{e}");
    assert_eq!(e.path, "graph.edge[1]");
}

#[test]
fn labels_are_names_made_unique_and_missing_ones_get_an_index() {
    let gml = r#"graph [ node [ id 0 label "Paris" ] node [ id 1 label "Paris" ]
      node [ id 2 label "None" ] node [ id 3 ] node [ id 4 label "Paris (2)" ]
      node [ id 5 label "Paris" ] ]"#;
    let net = import_text("labels.gml", gml).unwrap();
    let names: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Paris",
            "Paris (2)",
            "n2",
            "n3",
            "Paris (2) (2)",
            "Paris (3)"
        ]
    );
}

#[test]
fn latency_is_derived_from_coordinates_where_an_edge_gives_none() {
    // New York - Chicago (Abilene's coordinates): about 1,145 km.
    let gml = "graph [
      node [ id 0 Latitude 40.71427 Longitude -74.00597 ]
      node [ id 1 Latitude 41.85003 Longitude -87.65005 ]
      node [ id 2 ]
      edge [ source 0 target 1 ]
      edge [ source 1 target 2 ]
      edge [ source 0 target 2 latency \"7 ms\" ] ]";
    let net = import_with("geo.gml", gml, r#", "link": { "latency": "2ms" }"#).unwrap();
    assert_eq!(net.nodes[0].geo, Some([40.71427, -74.00597]));
    assert_eq!(net.nodes[2].geo, None);
    let km = crate::topology::gml::great_circle_km([40.71427, -74.00597], [41.85003, -87.65005]);
    assert!((1130.0..1160.0).contains(&km), "{km}");
    let derived = net.links[0].ab.latency.as_nanos() as f64 / 1e6;
    assert!((5.6..5.9).contains(&derived), "{derived} ms");
    // No coordinates at one end: the layer below (topology.link); an
    // edge's own latency always wins.
    assert_eq!(net.links[1].ab.latency, Duration::from_millis(2));
    assert_eq!(net.links[2].ab.latency, Duration::from_millis(7));
    assert_eq!(net.derived_latency, [0]);
}

/// Every Topology Zoo file shipped under `tests/fixtures/zoo` imports as
/// published, with unique names, places for the nodes that have
/// coordinates, and derived latencies only where the file gives none.
#[test]
fn every_shipped_topology_zoo_file_imports() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zoo");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let topo = format!(r#"{{ "generator": "import", "file": "{}" }}"#, f.display());
        let net = build(&topo).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let edges = text.matches("edge [").count();
        assert!(
            !net.nodes.is_empty() && !net.links.is_empty(),
            "{}",
            f.display()
        );
        assert!(net.links.len() <= edges, "{}", f.display());
        let names: std::collections::BTreeSet<_> = net.nodes.iter().map(|n| &n.name).collect();
        assert_eq!(
            names.len(),
            net.nodes.len(),
            "{}: names are unique",
            f.display()
        );
        let placed = net.nodes.iter().filter(|n| n.geo.is_some()).count();
        assert_eq!(
            placed,
            text.matches("Latitude").count().min(net.nodes.len()),
            "{}",
            f.display()
        );
        for &l in &net.derived_latency {
            let link = &net.links[l];
            assert!(net.nodes[link.a].geo.is_some() && net.nodes[link.b].geo.is_some());
        }
        // Kept parallel edges give one link per edge (self-loops aside).
        let kept = build(&topo.replace(" }", r#", "parallel": "keep" }"#)).unwrap();
        assert!(kept.links.len() >= net.links.len(), "{}", f.display());
    }
}

#[test]
fn graphml_and_gml_of_the_same_zoo_network_import_alike() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zoo");
    let net = |file: &str| {
        let topo = format!(
            r#"{{ "generator": "import", "file": "{}" }}"#,
            dir.join(file).display()
        );
        build(&topo).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    let (gml, graphml) = (net("Abilene.gml"), net("Abilene.graphml"));
    assert_eq!(graphml.nodes.len(), 11);
    assert_eq!(graphml.nodes, gml.nodes);
    assert_eq!(graphml.links, gml.links);
    assert_eq!(graphml.derived_latency, gml.derived_latency);
}

#[test]
fn graphml_errors_are_located() {
    let bad = r#"<?xml version="1.0"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <graph edgedefault="undirected">
    <node id="a"/>
    <edge source="a" target="b"/>
  </graph>
</graphml>"#;
    let e = import_text("bad.graphml", bad).unwrap_err();
    assert_eq!((e.line, e.column), (5, 5), "{e}");
    assert!(e.message.contains("no node has id \"b\""), "{e}");
    let e = import_text("bad.graphml", "<graphml><graph>").unwrap_err();
    assert!(e.message.contains("not XML"), "{e}");
}
