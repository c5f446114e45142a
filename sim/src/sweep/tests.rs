use std::path::Path;

use super::*;

fn scenario(sweep: &str) -> String {
    format!(
        r#"{{
  "name": "t", "seed": 3, "duration": "1s",
  "protocol": {{ "suite": "modeled" }},
  "topology": {{ "generator": "chain", "nodes": 3, "link": {{ "latency": "1ms" }} }},
  "traffic": [ {{ "name": "bulk", "from": 0, "to": 2, "kind": "bulk", "size": "10kB" }} ],
  "sweep": {sweep}
}}"#
    )
}

fn err(sweep: &str) -> String {
    plan_text(&scenario(sweep), Path::new("."))
        .map(|p| panic!("expected an error, got {} runs", p.runs.len()))
        .unwrap_err()
        .to_string()
}

#[test]
fn grid_is_cartesian_with_repeats_innermost() {
    let p = plan_text(
        &scenario(r#"{ "protocol.mode": ["store-and-forward", "end-to-end"], "topology.link.latency": ["1ms", "5ms", "9ms"], "repeat": 2 }"#),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(p.runs.len(), 12);
    let r = &p.runs[3];
    assert_eq!((r.index, r.point, r.repeat), (3, 1, 1));
    assert_eq!(
        r.values,
        vec![Value::from("store-and-forward"), Value::from("5ms")]
    );
    assert_eq!(
        p.runs[0].scenario.seed, 3,
        "the first repeat keeps the scenario's seed"
    );
    assert_ne!(p.runs[1].scenario.seed, 3);
    assert_eq!(
        p.runs[1].scenario.seed, p.runs[3].scenario.seed,
        "seeds depend on the repeat only"
    );
    assert_eq!(
        p.runs[11].scenario.protocol.route_mode,
        node_core::config::RouteMode::EndToEnd
    );
}

#[test]
fn zipped_paths_vary_together() {
    let p = plan_text(
        &scenario(r#"{ "traffic[0].to,topology.nodes": [[1, 2], [3, 4]] }"#),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(p.runs.len(), 2);
    assert_eq!(p.runs[1].scenario.network.nodes.len(), 4);
    assert_eq!(p.runs[1].scenario.traffic[0].to, Some(3));
}

#[test]
fn empty_sweeps_are_refused() {
    for s in ["{}", r#"{ "repeat": 1 }"#] {
        let e = err(s);
        assert!(e.contains("the sweep is empty"), "{e}");
    }
    let e = err(r#"{ "protocol.mode": [] }"#);
    assert!(
        e.contains("sweep[\"protocol.mode\"]: the list of values is empty"),
        "{e}"
    );
    let e = plan_text(
        &scenario("{}").replace(",\n  \"sweep\": {}", ""),
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no `sweep` section"), "{e}");
}

#[test]
fn unknown_paths_name_the_path() {
    let e = err(r#"{ "protocol.mood": ["end-to-end"] }"#);
    assert!(e.contains("sweep[\"protocol.mood\"]"), "{e}");
    assert!(e.contains("unknown field `mood`"), "{e}");
    assert!(
        e.starts_with("<scenario>:6:14:"),
        "positioned at the key: {e}"
    );
    let e = err(r#"{ "traffic[3].rate": ["1Mbps"] }"#);
    assert!(
        e.contains("unknown parameter path `traffic[3].rate`: `traffic` has 1 entries, no [3]"),
        "{e}"
    );
    let e = err(r#"{ "seed.x": [1] }"#);
    assert!(e.contains("`seed` is a number, not an object"), "{e}");
    let e = err(r#"{ "protocol..mode": [1] }"#);
    assert!(e.contains("is not a parameter path"), "{e}");
}

#[test]
fn wrong_types_name_the_point_and_the_field() {
    let e = err(r#"{ "topology.nodes": [3, "nine"] }"#);
    assert!(e.contains("sweep[\"topology.nodes\"]"), "{e}");
    assert!(e.contains("topology.nodes = \"nine\""), "{e}");
    assert!(e.contains("invalid type"), "{e}");
    let e = err(r#"{ "topology.link.latency": [5] }"#);
    assert!(e.contains("a duration string"), "{e}");
    let e = err(r#"{ "protocol.mode": "end-to-end" }"#);
    assert!(e.contains("the values of a parameter are a list"), "{e}");
    let e = err(r#"{ "a.b,c.d": [[1]] }"#);
    assert!(e.contains("each value is a list of 2 values"), "{e}");
    let e = err(r#"{ "protocol.mode": ["end-to-end"], "repeat": 0 }"#);
    assert!(e.contains("at least 1"), "{e}");
    let e = err(r#"{ "protocol.mode": ["end-to-end"], "plot": { "x": "nodes" } }"#);
    assert!(e.contains("`nodes` is not an axis"), "{e}");
}

#[test]
fn a_bad_sweep_section_fails_a_plain_load_too() {
    let e = crate::scenario::parse(&scenario(r#"{ "protocol.mode": [] }"#), Path::new("."))
        .unwrap_err();
    assert!(e.to_string().contains("the list of values is empty"), "{e}");
}

#[test]
fn shards_split_the_runs() {
    let s: Shard = "2/3".parse().unwrap();
    let held: Vec<usize> = (0..7).filter(|&i| s.holds(i)).collect();
    assert_eq!(held, vec![1, 4]);
    for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}

#[test]
fn repeat_seeds_are_distinct() {
    let seeds: std::collections::BTreeSet<u64> = (0..100).map(|r| seed_for(7, r)).collect();
    assert_eq!(seeds.len(), 100);
}
