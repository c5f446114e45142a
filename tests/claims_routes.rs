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
