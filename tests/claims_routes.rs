//! Claims about routes the nodes find and keep themselves (issue 13):
//! failover to a standby route (claim 22), aggregation over parallel routes
//! (claim 8), routes to gateways found by BFS (claim 9) and rerouting
//! around latency anomalies found by one-way pulses (claim 17).

mod common;

use std::path::Path;

use common::{flow, scenario_text};
use sim::results::Summary;

/// Runs `scenarios/<name>` (its files relative to `scenarios/`).
fn run(name: &str) -> Summary {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let sc = sim::scenario::parse(&scenario_text(name), &dir).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(sc, &mut |_| {}).expect("runs").summary
}

#[test]
fn claim22_a_standby_route_takes_over_within_two_rtts_and_beats_rediscovery() {
    let s = run("failover-standby.json");
    let standby = flow(&s, "standby");
    let rediscovery = flow(&s, "rediscovery");
    let plain = flow(&s, "plain");
    let (a, b) = (
        standby.route_set.as_ref().expect("a set"),
        rediscovery.route_set.as_ref().expect("a set"),
    );
    // The same detector suspects both active routes, once, soon after the
    // cut at 8 s (far below the 3 s dead interval).
    for set in [a, b] {
        assert_eq!(set.suspected_s.len(), 1, "{set:?}");
        let detect = set.suspected_s[0] - 8.0;
        assert!(detect > 0.0 && detect < 0.5, "detected after {detect} s");
    }
    assert_eq!(
        a.switched_s, a.suspected_s,
        "the standby takes over at once"
    );
    assert!(b.switched_s.is_empty(), "no standby to switch to");
    // The new path (0-5-4-3) has three 8 ms hops: an RTT of 48 ms. The
    // standby delivers again within two of them.
    let resumed = a.resumed_after_ms[0];
    assert!(
        resumed <= 96.0,
        "standby delivering again after {resumed} ms"
    );
    // Rediscovery builds the new path hop by hop first.
    assert!(b.resumed_after_ms[0] > resumed + 48.0, "{b:?}");
    let (gap_a, gap_b) = (a.max_gap_ms.unwrap(), b.max_gap_ms.unwrap());
    assert!(
        gap_a < gap_b,
        "standby gap {gap_a} ms, rediscovery {gap_b} ms"
    );
    // Both deliver everything, once, in order: what the broken route held
    // was sent again from the origin's store.
    for f in [standby, rediscovery] {
        assert_eq!(f.delivered_bytes, 10_000_000, "{}", f.name);
        assert!(f.completed_s.is_some());
        assert_eq!((f.duplicates, f.out_of_order), (0, 0), "{}", f.name);
        let set = f.route_set.as_ref().unwrap();
        assert!(set.resent_bytes > 0, "{}: nothing held at the cut?", f.name);
    }
    // The plain connection waits for the dead interval, and what its
    // broken route held is lost.
    assert!(plain.delivered_bytes < 10_000_000);
    assert!(plain.completed_s.is_none());
    assert!(plain.route_reopens >= 1);
}

#[test]
fn claim8_two_modems_aggregate_to_nearly_twice_one() {
    let s = run("multihome-aggregate.json");
    let one = flow(&s, "one-route");
    let two = flow(&s, "aggregated");
    let ratio = two.goodput_bps as f64 / one.goodput_bps as f64;
    assert!(
        ratio >= 1.8,
        "aggregate {} vs one route {} b/s: {ratio:.2}x",
        two.goodput_bps,
        one.goodput_bps
    );
    // One route: the user's own 2 Mb/s modem, near its rate.
    assert!(one.goodput_bps > 1_700_000 && one.goodput_bps <= 2_000_000);
    let set = two.route_set.as_ref().unwrap();
    let mut paths: Vec<Vec<usize>> = set.routes.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, vec![vec![3, 4, 5], vec![3, 5]]);
    assert_eq!((two.duplicates, two.out_of_order), (0, 0));
}

#[test]
fn claim9_three_routes_to_the_internet_carry_near_the_max_flow() {
    let s = run("gateway-bfs.json");
    let up = flow(&s, "upload");
    let set = up.route_set.as_ref().unwrap();
    let mut paths: Vec<Vec<usize>> = set.routes.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    // Own modem; wifi to the neighbour's modem; wifi, the roof's 5 GHz
    // link and the business's fiber.
    assert_eq!(paths, vec![vec![0, 1, 4], vec![0, 2, 3, 4], vec![0, 4]]);
    // The max-flow is 30 Mb/s (the sum of the seed's bottlenecks, 50, is
    // not reachable: the wifi links share one channel).
    let max_flow = 30_000_000.0;
    let share = up.goodput_bps as f64 / max_flow;
    assert!(
        share > 0.85 && share <= 1.0,
        "{} b/s: {share:.3} of the max-flow",
        up.goodput_bps
    );
    assert_eq!((up.duplicates, up.out_of_order), (0, 0));
}

#[test]
fn claim17_pulses_move_traffic_around_a_latency_anomaly_and_back() {
    // Two seeds: two draws of the nodes' clock offsets and drifts.
    for seed in [17, 18] {
        let text = scenario_text("noia-anomaly.json")
            .replace("\"seed\": 17", &format!("\"seed\": {seed}"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let sc = sim::scenario::parse(&text, &dir).unwrap_or_else(|e| panic!("{e}"));
        let s = sim::run::run(sc, &mut |_| {}).expect("runs").summary;
        let steered = flow(&s, "steered");
        let fixed = flow(&s, "fixed");
        let set = steered.route_set.as_ref().unwrap();
        // Two moves: onto a relay after the anomaly began at 20 s, back
        // after it ended at 140 s; none in between (hysteresis).
        assert_eq!(set.switched_s.len(), 2, "seed {seed}: {set:?}");
        let (onto, back) = (set.switched_s[0] - 20.0, set.switched_s[1] - 140.0);
        assert!(
            onto > 0.0 && onto < 3.0,
            "seed {seed}: detected after {onto} s"
        );
        assert!(back > 0.0 && back < 3.0, "seed {seed}: back after {back} s");
        // Most messages go 0-2-1 (30 ms) or 0-1 (25 ms) when rerouted; the
        // fixed path takes 125 ms for the two minutes of the anomaly.
        let (p50_s, p50_f) = (
            steered.latency_ms.as_ref().unwrap().p50,
            fixed.latency_ms.as_ref().unwrap().p50,
        );
        assert!(p50_s < 40.0, "seed {seed}: steered median {p50_s} ms");
        assert!(p50_f > 120.0, "seed {seed}: fixed median {p50_f} ms");
        assert_eq!((steered.duplicates, steered.out_of_order), (0, 0));
        assert!(steered.delivered_messages + 2 >= fixed.delivered_messages);
    }
}
