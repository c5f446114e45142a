//! The `discovery` section and flows that find their own paths: what they
//! resolve to, and the errors of what cannot work.

use node_core::Duration;

use super::super::*;
use super::here;

const BASE: &str = r#"{
  "name": "t",
  "seed": 1,
  "duration": "10s",
  "protocol": { "suite": "modeled" },
  "topology": { "generator": "ring", "nodes": 6 },
  "discovery": {
    "refresh": "20s", "lifetime": "60s", "hold_down": "10ms", "max_origins": 100,
    "min_update_interval": "500ms", "verify_rate": 50, "verify_burst": 500,
    "check_interval": "20ms", "path_retry": "50ms", "path_wait": "2s",
    "nodes": [ { "node": 4, "gateway": "10Mbps" }, { "node": 2 } ]
  },
  "traffic": [
    { "from": 0, "to": 3, "path": "discover", "kind": "cbr", "rate": "64kbps" },
    { "from": 1, "to": "gateway", "kind": "cbr", "rate": "64kbps" },
    { "from": 1, "to": 5, "path": [1, 0, 5], "kind": "cbr", "rate": "64kbps" }
  ]
}"#;

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Parses `text`, expecting an error at `path` whose message contains
/// `needle`.
#[track_caller]
fn expect(text: &str, path: &str, needle: &str) {
    let e = parse(text, here()).unwrap_err();
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(needle), "{e}");
}

#[test]
fn the_section_sets_every_node_and_the_engine() {
    let s = parse(BASE, here()).unwrap();
    let d = s.protocol.discovery.as_ref().expect("discovery on");
    assert_eq!(d.refresh, Duration::from_secs(20));
    assert_eq!(d.lifetime, Duration::from_secs(60));
    assert_eq!(d.hold_down, Duration::from_millis(10));
    assert_eq!(d.limits.max_origins, 100);
    assert_eq!(d.limits.min_update_interval, Duration::from_millis(500));
    assert_eq!((d.verify_rate, d.verify_burst), (50, 500));
    // The capacity is per node: the shared config advertises none.
    assert_eq!(d.gateway_bps, 0);
    let plan = s.discovery.as_ref().unwrap();
    assert_eq!(plan.check_interval, Duration::from_millis(20));
    assert_eq!(plan.path_retry, Duration::from_millis(50));
    assert_eq!(plan.path_wait, Duration::from_secs(2));
    assert_eq!(plan.gateways, vec![(4, 10_000_000)]);
    assert_eq!((plan.gateway_bps(4), plan.gateway_bps(2)), (10_000_000, 0));
    let t = &s.traffic;
    assert!(t[0].discover && t[0].path.is_empty() && t[0].to == Some(3));
    assert!(t[1].discover && t[1].path.is_empty() && t[1].to.is_none());
    assert!(!t[2].discover && t[2].path == vec![1, 0, 5]);
}

#[test]
fn defaults_are_node_cores_and_the_engines() {
    let text = r#"{ "name": "t", "seed": 1, "duration": "1s",
        "topology": { "generator": "ring", "nodes": 4 }, "discovery": {} }"#;
    let s = parse(text, here()).unwrap();
    assert_eq!(
        s.protocol.discovery,
        Some(node_core::DiscoveryConfig::default())
    );
    let plan = s.discovery.unwrap();
    assert_eq!(plan.check_interval, Duration::from_millis(100));
    assert_eq!(plan.path_retry, Duration::from_millis(100));
    assert_eq!(plan.path_wait, Duration::from_secs(10));
    assert!(plan.gateways.is_empty());
    // Without the section no node runs discovery.
    let s = parse(&text.replace(", \"discovery\": {}", ""), here()).unwrap();
    assert!(s.protocol.discovery.is_none() && s.discovery.is_none());
}

#[test]
fn flows_that_find_their_paths_need_discovery_and_gateways() {
    let without = {
        let start = BASE.find("  \"discovery\"").unwrap();
        let end = BASE.find("  \"traffic\"").unwrap();
        format!("{}{}", &BASE[..start], &BASE[end..])
    };
    expect(&without, "traffic[0].path", "needs the `discovery` section");
    let gateway_only = without.replace("\"path\": \"discover\", ", "");
    expect(
        &gateway_only,
        "traffic[1].to",
        "needs the `discovery` section",
    );
    expect(
        &edit(
            "{ \"node\": 4, \"gateway\": \"10Mbps\" }",
            "{ \"node\": 4 }",
        ),
        "traffic[1].to",
        "no node is a gateway",
    );
    expect(
        &edit(
            "\"to\": \"gateway\",",
            "\"to\": \"gateway\", \"path\": [1, 2],",
        ),
        "traffic[1].path",
        "finds its own path",
    );
    expect(
        &edit("\"path\": \"discover\"", "\"path\": \"discovr\""),
        "traffic[0].path",
        "a list of node indices or \"discover\"",
    );
    expect(
        &edit("\"to\": \"gateway\"", "\"to\": \"gatewy\""),
        "traffic[1].to",
        "a node index or \"gateway\"",
    );
    expect(
        &edit("\"to\": 3, \"path\"", "\"to\": 9, \"path\""),
        "traffic[0].to",
        "node 9 does not exist",
    );
}

#[test]
fn bad_discovery_settings_are_refused_where_they_are() {
    expect(
        &edit("\"refresh\": \"20s\"", "\"refresh\": \"500ms\""),
        "discovery",
        "refresh must be at least 1 s",
    );
    expect(
        &edit("\"lifetime\": \"60s\"", "\"lifetime\": \"30s\""),
        "discovery",
        "lifetime at least twice refresh",
    );
    expect(
        &edit("\"check_interval\": \"20ms\"", "\"check_interval\": \"0s\""),
        "discovery.check_interval",
        "greater than zero",
    );
    expect(
        &edit("{ \"node\": 2 }", "{ \"node\": 4 }"),
        "discovery.nodes[1].node",
        "already set by discovery.nodes[0]",
    );
    expect(
        &edit("{ \"node\": 2 }", "{ \"node\": 6 }"),
        "discovery.nodes[1].node",
        "node 6 does not exist",
    );
    expect(
        &edit("\"verify_rate\": 50", "\"verify_rate\": 0"),
        "discovery",
        "must be positive",
    );
    expect(
        &edit("\"hold_down\"", "\"holddown\""),
        "discovery.holddown",
        "unknown field",
    );
    expect(
        &edit("\"gateway\": \"10Mbps\"", "\"gateway\": 10"),
        "discovery.nodes[0].gateway",
        "a rate string",
    );
}
