//! Discovery in the simulator: every node's topology database converges
//! to the true topology and follows it when links and nodes fail; flows
//! find their own paths and deliver over them; a flow that finds no path
//! says why, and the run goes on. Figures are deterministic.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::{flow, run_with, scenario_text};
use sim::results::Summary;

/// The ring scenario's summary (runs once for the tests that read it).
fn ring() -> &'static Summary {
    static RING: OnceLock<Summary> = OnceLock::new();
    RING.get_or_init(|| run_with(&scenario_text("discovery-ring.json"), &[]))
}

#[test]
fn the_ring_converges_and_reconverges_after_each_change_the_same_every_run() {
    let a = ring();
    let b = run_with(&scenario_text("discovery-ring.json"), &[]);
    assert_eq!(
        serde_json::to_string(a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        "two runs differ"
    );
    let d = a.discovery.as_ref().expect("the ring runs discovery");
    // 24 nodes, 12 hops at most between two, 2 ms a hop: one flood.
    let at = d.converged_s.expect("converged");
    assert!(at > 0.0 && at <= 0.5, "converged at {at} s");
    assert!(d.settled_at_end);
    assert_eq!(d.links_at_end, 24);
    let changes: Vec<&str> = d.reconvergence.iter().map(|r| r.change.as_str()).collect();
    assert_eq!(
        changes,
        [
            "link 5-6 down",
            "link 5-6 up",
            "node 20 crashes",
            "node 20 restarts"
        ]
    );
    for r in &d.reconvergence {
        let ms = r
            .after_ms
            .unwrap_or_else(|| panic!("{} never settled", r.change));
        let (lo, hi) = match r.change.as_str() {
            // A failure is known once its neighbours find it dead (1 s),
            // then a hold-down and a flood.
            "link 5-6 down" | "node 20 crashes" => (1000.0, 1400.0),
            // A link back: a handshake (retries at most 1 s apart), then
            // adverts at most one a second per origin.
            _ => (0.0, 2100.0),
        };
        assert!(
            (lo..=hi).contains(&ms),
            "{}: settled after {ms} ms",
            r.change
        );
    }
    // The flood's cost: each of 24 adverts crosses each of the other
    // link directions about once per round.
    assert!((24.0..=24.0 * 8.0).contains(&d.adverts_per_node), "{d:?}");
    assert!(d.bytes_per_node_per_s > 0.0 && d.bytes_until_converged.unwrap() > 0);
    assert_eq!(d.refused, 0);
    let per_node: u64 = a
        .nodes
        .iter()
        .map(|n| n.discovery.as_ref().unwrap().bytes_sent)
        .sum();
    assert_eq!(per_node, d.bytes_sent);
}

/// Whether consecutive nodes of `path` are neighbours on a ring of `n`.
fn along_the_ring(path: &[usize], n: usize) -> bool {
    path.windows(2)
        .all(|w| (w[0] + 1) % n == w[1] || (w[1] + 1) % n == w[0])
}

#[test]
fn flows_that_find_their_paths_deliver_over_them() {
    let s = ring();
    let d = s.discovery.as_ref().unwrap();
    assert_eq!((d.discovering_flows, d.flows_without_path), (3, 0));
    // Started before the databases converged: it waited for a path.
    let voice = flow(s, "voice-0-11");
    let search = voice.path_search.as_ref().unwrap();
    assert!(search.tries >= 2, "{search:?}");
    assert!(search.found_after_ms.unwrap() > 0.0 && search.no_path.is_none());
    assert!(voice.delivered_messages > 0);
    // Each route broke at the cut (and at the failed gateway) and the
    // database gave the next one.
    for f in [voice, flow(s, "cbr-3-9")] {
        assert_eq!(f.path.first(), Some(&f.from));
        assert_eq!(f.path.last().copied(), f.to);
        assert!(along_the_ring(&f.path, 24), "{}: {:?}", f.name, f.path);
        assert!(f.route_reopens >= 1, "{}", f.name);
        assert!(f.delivered_messages > 0 && f.route_closed.is_none());
    }
    let rr = flow(s, "rr-18-gateway");
    assert!(rr.to_gateway);
    assert!(matches!(rr.to, Some(12 | 20)), "{:?}", rr.to);
    assert!(rr.delivered_messages > 0);
}

const NO_PATH: &str = r#"{
  "name": "no-path",
  "seed": 5,
  "duration": "4s",
  "protocol": { "suite": "modeled", "dead_interval": "500ms", "keepalive_interval": "100ms" },
  "topology": { "generator": "ring", "nodes": 8, "link": { "bandwidth": "10Mbps", "latency": "1ms" } },
  "discovery": { "path_retry": "100ms", "path_wait": "1s", "nodes": [ { "node": 4, "gateway": "10Mbps" } ] },
  "traffic": [
    { "name": "to-dead", "from": 0, "to": 4, "path": "discover", "kind": "cbr", "rate": "64kbps", "start": "500ms" },
    { "name": "to-gateway", "from": 0, "to": "gateway", "kind": "cbr", "rate": "64kbps", "start": "500ms" },
    { "name": "across", "from": 1, "to": 6, "path": "discover", "kind": "cbr", "rate": "64kbps", "start": "2s" },
    { "name": "near", "from": 1, "to": 2, "path": "discover", "kind": "cbr", "rate": "64kbps", "start": "2s" }
  ],
  "faults": [ { "at": "0s", "node": 4 }, { "at": "1s", "partition": [[0, 1, 2]] } ]
}"#;

#[test]
fn a_flow_that_finds_no_path_says_why_and_the_run_goes_on() {
    let s = run_with(NO_PATH, &[]);
    let d = s.discovery.as_ref().unwrap();
    assert_eq!((d.discovering_flows, d.flows_without_path), (4, 3));
    // Node 4 was down from the start: no database ever heard of it.
    let unknown = "not in this node's topology database";
    for (name, to) in [("to-dead", "node 4"), ("to-gateway", "the nearest gateway")] {
        let f = flow(&s, name);
        let search = f.path_search.as_ref().unwrap();
        assert_eq!(search.no_path.as_deref(), Some(unknown), "{name}");
        // Every 100 ms from 0.5 s to 1.5 s.
        assert_eq!(search.tries, 11, "{name}");
        assert!(search.found_after_ms.is_none());
        let closed = f.route_closed.as_deref().unwrap();
        assert!(
            closed.starts_with(&format!("no path to {to}: {unknown}")),
            "{closed}"
        );
        assert_eq!((f.sent_messages, f.delivered_messages), (0, 0));
    }
    // Node 6 is known from before the partition, but cut off.
    let across = flow(&s, "across");
    assert_eq!(
        across.path_search.as_ref().unwrap().no_path.as_deref(),
        Some("known, but no path of two-way links reaches it")
    );
    assert!(across.route_closed.is_some() && across.delivered_messages == 0);
    // On this side of the partition, paths are found and used.
    let near = flow(&s, "near");
    assert_eq!(near.path, [1, 2]);
    assert!(near.delivered_messages > 0 && near.path_search.as_ref().unwrap().tries == 1);
}

#[test]
fn the_report_has_the_discovery_section() {
    let text = scenario_text("discovery-ring.json");
    let mut sc = sim::scenario::parse(&text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    sc.duration = node_core::Duration::from_secs(2);
    let run = sim::run::run(sc, &mut |_| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("meshsim-discovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    sim::run::write(&run, &dir).unwrap();
    sim::run::write_report(&dir).unwrap();
    let csv = std::fs::read_to_string(dir.join("timeseries_discovery.csv")).unwrap();
    assert!(csv.starts_with("time_s,matched,settled,links,"));
    // One row a check: every 50 ms from 0 to 2 s.
    assert_eq!(csv.lines().count(), 1 + 41);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, opts).expect("well-formed");
    assert!(
        doc.descendants()
            .any(|n| n.tag_name().name() == "h2" && n.text() == Some("Discovery"))
    );
    for needle in [
        "converged at",
        "link 5-6 down",
        "advert bytes per node per second",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(dir.join("plots/discovery.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gateway_sends_what_reaches_it_through_its_uplink_and_drops_past_its_queue() {
    let text = r#"{
      "name": "uplink", "seed": 5, "duration": "6s",
      "protocol": { "suite": "modeled" },
      "topology": { "generator": "chain", "nodes": 3, "link": { "bandwidth": "10Mbps", "latency": "2ms" } },
      "discovery": { "gateway_queue": "64KiB", "nodes": [ { "node": 2, "gateway": "1Mbps" } ] },
      "traffic": [ { "name": "up", "from": 0, "to": "gateway", "kind": "bulk", "size": "4MB",
                     "message": "1000B", "start": "1s" } ]
    }"#;
    let sc = sim::scenario::parse(text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let s = sim::run::run(sc, &mut |_| {}).expect("runs").summary;
    let f = flow(&s, "up");
    // Delivered means sent out by the 1 Mb/s uplink: at most its rate over
    // the five seconds, though the mesh carried it ten times as fast.
    assert!(
        f.delivered_bytes <= 5 * 1_000_000 / 8 + 2000,
        "{}",
        f.delivered_bytes
    );
    assert!(
        f.delivered_bytes > 3 * 1_000_000 / 8,
        "{}",
        f.delivered_bytes
    );
    let u = s.nodes[2].uplink.as_ref().expect("node 2 is a gateway");
    assert_eq!(u.own_bytes, 0);
    assert_eq!(u.relayed_bytes, f.delivered_bytes);
    assert!(u.relayed_drops > 0 && f.uplink_drops == Some(u.relayed_drops));
    assert!(u.max_queued <= 64 * 1024);
    assert!(s.nodes[0].uplink.is_none());
}
