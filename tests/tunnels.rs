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
    // When the wifi link is back (30 s, a new handshake), the faster link
    // carries again: the route moves back, still without closing.
    let after = delivered_between(&r, 33.0, 39.0) as f64 * 8.0 / 6.0;
    assert!(after > 15e6, "back on the wifi link: {after} b/s");
    let route = r.world.sources()[0].route.expect("a route");
    let info = r.world.node(0).route(route).expect("the route's entry");
    assert_eq!(info.downstream, Some(LinkId(0)));
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

fn parse(text: &str) -> sim::model::Scenario {
    sim::scenario::parse(text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

/// Two nodes whose only shared link is a tunnel; `faults` on the path
/// group "isp" (node 1's provider).
fn group_scenario(faults: &str) -> String {
    format!(
        r#"{{
        "name": "path-group", "seed": 3, "duration": "6s",
        "protocol": {{ "suite": "modeled" }},
        "topology": {{ "generator": "chain", "nodes": 3, "link": {{ "bandwidth": "10Mbps", "latency": "5ms" }} }},
        "underlay": {{ "path": {{ "latency": "30ms" }}, "groups": [ {{ "name": "isp", "nodes": [2] }} ] }},
        "tunnels": [ {{ "from": 0, "to": 2, "at": "0s" }} ],
        "faults": [ {faults} ]
    }}"#
    )
}

#[test]
fn a_path_group_that_goes_down_takes_its_tunnels_down_and_back() {
    let r = sim::run::run(
        parse(&group_scenario(
            r#"{ "at": "1s", "path_group": "isp", "down_for": "2s" }"#,
        )),
        &mut |_| {},
    )
    .expect("runs");
    let tunnel = |from| {
        r.summary
            .links
            .iter()
            .find(|l| l.medium == "tunnel" && l.from == from)
            .expect("the tunnel's row")
    };
    // Keepalives and handshakes crossed it, and those sent while the
    // group was down were dropped as such.
    for from in [0, 2] {
        let t = tunnel(from);
        assert!(t.drops.get("down").copied().unwrap_or(0) > 0, "{t:?}");
        assert!(t.delivered > 0, "{t:?}");
    }
    // The link came back (the 10 s dead interval was not reached).
    let l = r.world.node(0).link(LinkId(2)).expect("the tunnel link");
    assert!(l.established, "{l:?}");
}

#[test]
fn a_path_group_latency_fault_slows_its_tunnels() {
    let rtt = |faults: &str| {
        let r = sim::run::run(parse(&group_scenario(faults)), &mut |_| {}).expect("runs");
        r.world.node(0).link(LinkId(2)).expect("tunnel").srtt
    };
    let plain = rtt("");
    // The fault holds to the end of the run, where the RTT is read (read
    // after it, the estimate would depend on how many keepalives crossed
    // since).
    let slow = rtt(r#"{ "at": "1s", "path_group": "isp", "add_latency": "100ms", "for": "5s" }"#);
    // 2 x 30 ms plain. Under the fault the samples are 100 ms longer, but
    // the smoothed estimate (1/8 of each sample) started from the plain RTT
    // (the handshake's, before the fault) and has a keepalive's samples
    // every second or two to move by: well above plain, short of the
    // samples.
    assert!(plain < node_core::Duration::from_millis(80), "{plain:?}");
    assert!(
        slow > plain + node_core::Duration::from_millis(60),
        "{plain:?} -> {slow:?}"
    );
}

#[test]
fn path_groups_are_checked_and_faults_name_them() {
    let err = sim::scenario::parse(
        &group_scenario(r#"{ "at": "1s", "path_group": "isq", "down_for": "1s" }"#),
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("faults[0].path_group"), "{err}");
    assert!(err.contains("underlay.groups has: isp"), "{err}");
    let err = sim::scenario::parse(
        &group_scenario("").replace(r#""nodes": [2]"#, r#""nodes": [7]"#),
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("underlay.groups[0].nodes[0]"), "{err}");
}

#[test]
fn underlay_latency_grows_with_the_distance_between_positions() {
    let sc = parse(
        r#"{
        "name": "far", "seed": 4, "duration": "1s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "geometric", "nodes": 6, "area": [300000, 300000], "radio_range": 1000, "connected": false,
                      "link": { "bandwidth": "10Mbps", "latency": "1ms" } },
        "underlay": { "path": { "latency": "2ms" }, "latency_per_km": "5us",
                      "pairs": [ { "between": [0, 1], "path": { "latency": "9ms" } } ] }
    }"#,
    );
    let u = sc.underlay.as_ref().expect("underlay");
    let nodes = &sc.network.nodes;
    let (a, b) = (nodes[2].position.unwrap(), nodes[3].position.unwrap());
    let km = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() / 1000.0;
    let expected = 2e6 + 5e3 * km;
    let got = u.path(2, 3, nodes).latency.as_nanos() as f64;
    assert!((got - expected).abs() <= 1.0, "{got} vs {expected}");
    assert!(km > 1.0, "the nodes are apart: {km} km");
    // A pair the file lists keeps its own latency.
    assert_eq!(
        u.path(1, 0, nodes).latency,
        node_core::Duration::from_millis(9)
    );
}

#[test]
fn a_tunnel_opened_during_a_partition_is_cut_until_it_ends() {
    let sc = parse(
        r#"{
        "name": "partitioned-tunnel", "seed": 5, "duration": "8s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "chain", "nodes": 3, "link": { "bandwidth": "10Mbps", "latency": "5ms" } },
        "underlay": { "path": { "latency": "30ms" } },
        "tunnels": [ { "from": 0, "to": 2, "at": "2s" } ],
        "faults": [ { "at": "1s", "partition": [[0], [1, 2]], "for": "3s" } ]
    }"#,
    );
    let r = sim::run::run(sc, &mut |_| {}).expect("runs");
    let t = r
        .summary
        .links
        .iter()
        .find(|l| l.medium == "tunnel" && l.from == 0)
        .expect("the tunnel's row");
    // Its handshakes while the partition held were dropped as "down"...
    assert!(t.drops.get("down").copied().unwrap_or(0) > 0, "{t:?}");
    // ...and it came up once the partition was over.
    let l = r.world.node(0).link(LinkId(2)).expect("the tunnel link");
    assert!(l.established, "{l:?}");
}
