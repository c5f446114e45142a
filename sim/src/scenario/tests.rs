//! Scenario parsing: the documented example, defaults, merges and the
//! shipped scenario files. Error cases are in `error_tests`.

use std::path::{Path, PathBuf};

use node_core::{Class, Duration, SuiteKind};

use super::*;
use crate::model::{FaultKind, LossModel, Medium, TrafficKind};

mod discovery;
mod errors;
mod never_panics;
mod readme;

/// The example of the brief and the README, in full.
pub(super) const EXAMPLE: &str = r#"{
  "name": "wifi-chain-8hop",
  "description": "8 hops",
  "seed": 7,
  "duration": "60s",
  "metrics": { "interval": "100ms" },
  "protocol": { "suite": "real", "rekey_interval": "1s", "link_window": "1MiB", "padding": 16,
                "dead_interval": "10s", "keepalive_interval": "2s", "max_message_size": "16MiB" },
  "topology": {
    "generator": "chain",
    "nodes": 9,
    "link": { "bandwidth": "20Mbps", "latency": "2ms", "jitter": "0ms", "reorder": false,
              "queue": "256KiB", "mtu": 1400,
              "loss": { "bernoulli": 0.5 } },
    "overrides": {
      "nodes": [ { "node": 3, "name": "gateway" } ],
      "links": [ { "between": [4, 3], "one_way": false,
                   "link": { "latency": "20ms" },
                   "ab": { "bandwidth": "1Mbps" },
                   "ba": { "loss": { "gilbert_elliott": { "p_good_to_bad": 0.01, "p_bad_to_good": 0.2, "loss_good": 0.0, "loss_bad": 0.9 } } } } ]
    }
  },
  "traffic": [
    { "name": "bulk0", "from": 0, "to": 1, "kind": "bulk", "size": "10MB", "message": "64KiB", "start": "1s", "class": "bulk", "channel": 1 },
    { "from": 1, "to": 2, "kind": "cbr", "rate": "64kbps", "message": "160B", "start": "0s", "stop": "10s", "class": "realtime" },
    { "from": 2, "to": 3, "kind": "request_response", "request": "200B", "response": "10KiB", "interval": "100ms", "count": 100 }
  ],
  "faults": [
    { "at": "30s", "link": [3, 4], "down_for": "5s" },
    { "at": "10s", "node": 2, "crash_for": "3s" },
    { "at": "5s", "partition": [[0, 1], [2, 3]], "for": "5s" },
    { "at": "10s", "link": [0, 1], "add_latency": "100ms", "for": "10m" },
    { "at": "40s", "node": 5 }
  ]
}"#;

pub(super) fn here() -> &'static Path {
    Path::new(".")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn the_example_resolves() {
    let s = parse(EXAMPLE, here()).unwrap();
    assert_eq!(s.name, "wifi-chain-8hop");
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration, Duration::from_secs(60));
    assert_eq!(s.metrics_interval, Duration::from_millis(100));
    assert_eq!(s.protocol.suite, SuiteKind::Real);
    assert_eq!(s.protocol.link_window, 1 << 20);
    let net = &s.network;
    assert_eq!(net.nodes.len(), 9);
    assert_eq!(net.links.len(), 8);
    assert_eq!(net.nodes[3].name, "gateway");
    assert_eq!(net.nodes[4].name, "n4");
    let plain = &net.links[0];
    assert_eq!(plain.ab.bandwidth_bps, 20_000_000);
    assert_eq!(plain.ab.latency, Duration::from_millis(2));
    assert_eq!(plain.ab.queue_bytes, 256 << 10);
    assert_eq!(plain.ab.loss, LossModel::Bernoulli { p: 0.5 });
    assert_eq!(plain.ba, Some(plain.ab.clone()));
    assert_eq!(plain.medium, Medium::Wired);
    // The override names the link 3-4 as [4, 3]: its `ab` is 4 -> 3, the
    // stored `ba`.
    let over = &net.links[3];
    assert_eq!((over.a, over.b), (3, 4));
    let back = over.ba.as_ref().unwrap();
    assert_eq!(back.bandwidth_bps, 1_000_000);
    assert_eq!(back.latency, Duration::from_millis(20));
    assert_eq!(back.loss, LossModel::Bernoulli { p: 0.5 });
    assert_eq!(over.ab.bandwidth_bps, 20_000_000);
    assert_eq!(over.ab.latency, Duration::from_millis(20));
    assert!(matches!(over.ab.loss, LossModel::GilbertElliott { loss_bad, .. } if loss_bad == 0.9));

    let t = &s.traffic;
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].name, "bulk0");
    assert_eq!(
        t[0].kind,
        TrafficKind::Bulk {
            size: 10_000_000,
            message: 65_536
        }
    );
    assert_eq!(t[0].start, Duration::from_secs(1));
    assert_eq!(t[1].name, "flow1");
    assert_eq!(t[1].class, Class::Realtime);
    assert_eq!(t[1].stop, Some(Duration::from_secs(10)));
    assert_eq!(
        t[1].kind,
        TrafficKind::Cbr {
            rate_bps: 64_000,
            message: 160
        }
    );
    assert_eq!(t[2].class, Class::Bulk);
    assert_eq!(t[2].channel, 1);
    assert_eq!(
        t[2].kind,
        TrafficKind::RequestResponse {
            request: 200,
            response: 10 << 10,
            interval: Duration::from_millis(100),
            count: Some(100),
        }
    );

    let f = &s.faults;
    assert_eq!(f[0].kind, FaultKind::LinkDown { link: 3 });
    assert_eq!(f[0].duration, Some(Duration::from_secs(5)));
    assert_eq!(f[1].kind, FaultKind::NodeCrash { node: 2 });
    assert_eq!(
        f[2].kind,
        FaultKind::Partition {
            groups: vec![vec![0, 1], vec![2, 3]]
        }
    );
    assert_eq!(
        f[3].kind,
        FaultKind::LatencyChange {
            link: 0,
            extra: Duration::from_millis(100)
        }
    );
    assert_eq!(f[3].duration, Some(Duration::from_secs(600)));
    assert_eq!(f[4].duration, None);
}

#[test]
fn defaults_apply() {
    let text = r#"{ "name": "d", "seed": 1, "duration": "1s",
        "topology": { "generator": "chain", "nodes": 2 },
        "traffic": [ { "from": 0, "to": 1, "kind": "bulk", "size": "1MB" },
                     { "from": 1, "to": 0, "kind": "cbr", "rate": "8kbps" } ] }"#;
    let s = parse(text, here()).unwrap();
    assert_eq!(s.description, "");
    assert_eq!(s.metrics_interval, Duration::from_millis(100));
    assert_eq!(s.protocol, node_core::Config::default());
    assert_eq!(s.network.links[0].ab, spec::default_channel());
    assert_eq!(s.network.links[0].ab.bandwidth_bps, 100_000_000);
    assert_eq!(s.network.links[0].ab.mtu, 1400);
    assert!(s.faults.is_empty());
    let [bulk, cbr] = &s.traffic[..] else {
        panic!()
    };
    assert_eq!(
        (bulk.class, bulk.channel, bulk.start, bulk.stop),
        (Class::Bulk, 1, Duration::ZERO, None)
    );
    assert_eq!(
        bulk.kind,
        TrafficKind::Bulk {
            size: 1_000_000,
            message: 64 << 10
        }
    );
    assert_eq!(cbr.class, Class::Realtime);
    assert_eq!(
        cbr.kind,
        TrafficKind::Cbr {
            rate_bps: 8_000,
            message: 160
        }
    );
}

#[test]
fn loss_null_and_none_clear_the_base_loss_and_one_way_drops_ba() {
    let text = r#"{ "name": "d", "seed": 1, "duration": "1s",
        "topology": { "generator": "ring", "nodes": 3,
            "link": { "loss": { "bernoulli": 0.1 }, "jitter": "1ms", "reorder": true },
            "overrides": { "links": [
                { "between": [0, 1], "link": { "loss": null } },
                { "between": [2, 1], "ab": { "loss": "none" }, "one_way": true },
                { "between": [0, 2], "ba": { "mtu": 576 } } ] } } }"#;
    let s = parse(text, here()).unwrap();
    let l = &s.network.links;
    assert_eq!(l[0].ab.loss, LossModel::None);
    assert_eq!(l[0].ba.as_ref().unwrap().loss, LossModel::None);
    // Link 1 was stored 1 -> 2; one-way from 2 to 1 turns it around.
    assert_eq!((l[1].a, l[1].b), (2, 1));
    assert_eq!(l[1].ab.loss, LossModel::None);
    assert_eq!(l[1].ba, None);
    assert_eq!(l[1].ab.jitter, Duration::from_millis(1));
    assert!(l[1].ab.reorder);
    // Link 2 is stored 2 -> 0; the override's `ba` is 2 -> 0.
    assert_eq!((l[2].a, l[2].b), (2, 0));
    assert_eq!(l[2].ab.mtu, 576);
    assert_eq!(l[2].ba.as_ref().unwrap().mtu, 1400);
}

#[test]
fn the_shipped_scenarios_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for expected in [
        "asymmetric-pair",
        "lossy-chain-ge",
        "sonet-ring-cut",
        "wifi-mesh",
    ] {
        assert!(
            names.iter().any(|p| p.file_stem().unwrap() == expected),
            "{expected} missing"
        );
    }
    for path in &names {
        let s = load(path).unwrap_or_else(|e| panic!("{e}"));
        let (name, description) = describe(path).unwrap();
        assert_eq!(name, s.name);
        assert_eq!(description, s.description);
        assert_eq!(path.file_stem().unwrap().to_str(), Some(name.as_str()));
        // A churn study may be the tunnel mesh alone.
        assert!(!s.traffic.is_empty() || s.churn.is_some(), "{name}");
    }
    let sonet = load(&dir.join("sonet-ring-cut.json")).unwrap();
    assert_eq!(sonet.faults[0].kind, FaultKind::LinkDown { link: 2 });
    let wifi = load(&dir.join("wifi-mesh.json")).unwrap();
    assert!(wifi.network.wifi.is_some());
}

#[test]
fn imports_resolve_against_the_scenario_directory() {
    let s = load(&fixtures().join("import-gml.json")).unwrap();
    assert_eq!(s.network.nodes.len(), 4);
    assert_eq!(s.network.nodes[2].name, "host30");
    assert_eq!(s.network.links[0].ab.queue_bytes, 256 << 10);
    // The same text given to `parse` needs the directory.
    let text = std::fs::read_to_string(fixtures().join("import-gml.json")).unwrap();
    assert!(parse(&text, &fixtures()).is_ok());
    let e = parse(&text, Path::new("/nonexistent")).unwrap_err();
    assert_eq!(e.path, "topology.file");
    assert!(e.message.contains("cannot read"), "{e}");
}

#[test]
fn same_seed_same_scenario() {
    let text = r#"{ "name": "g", "seed": 42, "duration": "1s",
        "topology": { "generator": "barabasi_albert", "nodes": 30, "m": 2 } }"#;
    let a = parse(text, here()).unwrap();
    let b = parse(text, here()).unwrap();
    assert_eq!(a.network, b.network);
    let c = parse(&text.replace("42", "43"), here()).unwrap();
    assert_ne!(a.network, c.network);
}
