//! Tunnels at run time: a core asks for a tunnel and gets it over the
//! scenario's underlay; when its other link fails, the route moves onto the
//! tunnel without closing (scenarios/tunnel-failover.json).

use std::path::Path;

use node_core::{LinkId, Time};

fn run_file(path: &str) -> sim::run::Run {
    let text = std::fs::read_to_string(path).expect("scenario file");
    let sc = sim::scenario::parse(&text, Path::new("..")).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(sc, &mut |_| {}).expect("runs")
}

/// Bytes delivered to flow 0 between two instants (from the time series).
fn delivered_between(r: &sim::run::Run, from_s: f64, to_s: f64) -> u64 {
    let at = |t: f64| {
        r.world
            .samples()
            .iter()
            .rev()
            .find(|s| s.time <= Time::ZERO + node_core::Duration::from_nanos((t * 1e9) as u64))
            .map_or(0, |s| s.flows[0].1)
    };
    at(to_s) - at(from_s)
}

#[test]
fn a_route_moves_onto_a_tunnel_when_the_other_link_fails() {
    let r = run_file("../scenarios/tunnel-failover.json");
    let s = &r.summary;
    // The tunnel node 0 asked for exists, with its open time, as link 1
    // (after the topology's link 0), and stayed open.
    assert_eq!(s.tunnels.len(), 1, "{:?}", s.tunnels);
    let t = &s.tunnels[0];
    assert_eq!((t.link, t.from, t.to, t.opened_s), (1, 0, 1, 0.0));
    assert_eq!(t.closed_s, None);
    assert!(s.links.iter().any(|l| l.link == 1 && l.medium == "tunnel"));
    // The route was never replaced: it moved.
    let flow = &s.flows[0];
    assert_eq!(flow.route_reopens, 0, "{flow:?}");
    // Before the fault the wifi link carries ~19 Mb/s; during it the
    // tunnel carries what the 8 Mb/s access link allows.
    let before = delivered_between(&r, 2.0, 10.0) as f64 * 8.0 / 8.0;
    let during = delivered_between(&r, 14.0, 30.0) as f64 * 8.0 / 16.0;
    assert!(before > 15e6, "before the fault: {before} b/s");
    assert!(
        during > 5e6 && during < 8.5e6,
        "on the tunnel: {during} b/s"
    );
    // After the failover node 0's route is carried by the tunnel.
    let route = r.world.sources()[0].route.expect("a route");
    let info = r.world.node(0).route(route).expect("the route's entry");
    assert_eq!(info.downstream, Some(LinkId(1)));
}

#[test]
fn a_tunnel_plan_opens_and_closes_a_tunnel_and_both_ends_see_it() {
    let sc = sim::scenario::parse(
        r#"{
        "name": "tunnel-open-close", "seed": 2, "duration": "5s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "chain", "nodes": 3, "link": { "bandwidth": "10Mbps", "latency": "5ms" } },
        "underlay": { "path": { "latency": "30ms" } },
        "tunnels": [ { "from": 0, "to": 2, "at": "1s", "close_at": "3s" } ]
    }"#,
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = sim::run::run(sc, &mut |_| {}).expect("runs");
    let t = &r.summary.tunnels[0];
    assert_eq!((t.from, t.to, t.opened_s), (0, 2, 1.0));
    // Closed gracefully by node 0 (its CLOSE goes out, then the tunnel).
    assert_eq!(t.closed_by, Some(0));
    let closed = t.closed_s.expect("closed");
    assert!((3.0..3.1).contains(&closed), "{closed}");
    // Both ends handshook on it.
    assert!(r.summary.nodes[0].handshakes >= 2 && r.summary.nodes[2].handshakes >= 2);
    assert_eq!(r.world.node(0).tunnel_stats().opened, 1);
    assert_eq!(r.world.node(2).tunnel_stats().accepted, 1);
}

#[test]
fn tunnels_without_an_underlay_are_refused_with_a_located_error() {
    let e = sim::scenario::parse(
        r#"{ "name": "x", "seed": 1, "duration": "1s",
        "topology": { "generator": "chain", "nodes": 2 },
        "tunnels": [ { "from": 0, "to": 1 } ] }"#,
        Path::new("."),
    )
    .expect_err("no underlay");
    assert!(e.to_string().contains("tunnels[0]"), "{e}");
    assert!(e.to_string().contains("underlay"), "{e}");
}
