//! Claims about the re6st tunnel mesh (issue 14). Claim 20: destroying a
//! tunnel in use breaks the routes through it; draining it first (its end
//! tells the routes' origins, which build around it and move before it
//! goes) removes the breaks.

mod common;

use common::{run_with, scenario_text};
use serde_json::{Value, json};

/// `re6st-drain` made smaller for a test: 24 hosts, a refresh every 90 s
/// for 8 minutes, ten flows from 1 minute on.
fn drain_run(drain: bool) -> sim::results::Summary {
    let flows: Vec<Value> = (0..10)
        .map(|i| {
            json!({ "name": format!("call{i}"), "from": i, "to": 23 - i, "path": "discover",
                    "routes": { "count": 1, "mode": "failover" }, "kind": "cbr", "rate": "64kbps",
                    "message": "160B", "class": "realtime", "start": "1min" })
        })
        .collect();
    run_with(
        &scenario_text("re6st-drain.json"),
        &[
            ("/duration", json!("8min")),
            ("/topology/nodes", json!(24)),
            ("/churn/refresh", json!("90s")),
            ("/churn/drain", json!(drain)),
            ("/traffic", Value::Array(flows)),
        ],
    )
}

#[test]
fn claim20_draining_tunnels_in_use_removes_the_route_breaks() {
    let on = drain_run(true);
    let off = drain_run(false);
    let (c_on, c_off) = (on.churn.as_ref().unwrap(), off.churn.as_ref().unwrap());
    let (x_on, x_off) = (
        c_on.interruptions.as_ref().unwrap(),
        c_off.interruptions.as_ref().unwrap(),
    );
    assert_eq!(x_on.flows, 10);
    assert_eq!(x_off.flows, 10);
    // Without draining, destroyed tunnels took routes down with them.
    assert_eq!(c_off.counters.drained, 0);
    assert!(c_off.counters.destroyed > 0);
    assert!(x_off.breaks > 0, "{x_off:?}");
    // With it, tunnels in use were drained, none had to be forced, and no
    // flow lost its route or a quarter second of delivery.
    assert!(c_on.counters.drained > 0, "{:?}", c_on.counters);
    assert_eq!(c_on.counters.forced, 0);
    assert_eq!(x_on.breaks, 0, "{x_on:?}");
    assert_eq!(x_on.count, 0, "{x_on:?}");
    assert!(x_on.outage_s <= x_off.outage_s);
    // Nothing was lost on the way: every flow delivered all it sent but
    // what was in flight at the end.
    for f in &on.flows {
        assert!(f.delivery_ratio > 0.999, "{}: {}", f.name, f.delivery_ratio);
        assert_eq!(f.duplicates, 0);
    }
}

/// `re6st-crisis` with 2 tunnels per node (the sparse end of its sweep,
/// where a policy's choice of tunnels decides connectivity), the
/// fast-paths crisis alone, for `policy` and `seed`.
fn crisis_run(policy: &str, seed: u64) -> sim::results::churn::CrisisSummary {
    let s = run_with(
        &scenario_text("re6st-crisis.json"),
        &[
            ("/seed", json!(seed)),
            ("/duration", json!("450s")),
            ("/churn/tunnels_per_node", json!(2)),
            ("/churn/policy", json!(policy)),
            (
                "/faults",
                json!([{ "at": "6min", "path_group": "fast-paths", "down_for": "90s" }]),
            ),
        ],
    );
    let c = s.churn.expect("a churn block");
    assert_eq!(c.crises.len(), 1);
    c.crises[0].clone()
}

#[test]
fn claim19_when_the_best_paths_fail_together_the_random_mesh_keeps_more() {
    // The article's case: the fastest underlay paths fail at once. `best`
    // kept exactly those tunnels, so it loses more of them than `random`,
    // and more pairs of nodes are cut off or pushed onto longer paths.
    let (mut random, mut best) = (Vec::new(), Vec::new());
    for seed in [19, 20, 21] {
        random.push(crisis_run("random", seed));
        best.push(crisis_run("best", seed));
    }
    let mean = |v: &[sim::results::churn::CrisisSummary],
                f: fn(&sim::results::churn::CrisisSummary) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len() as f64
    };
    let kept = |c: &sim::results::churn::CrisisSummary| {
        c.onset_tunnels as f64 / c.before_tunnels.max(1) as f64
    };
    let reach = |c: &sim::results::churn::CrisisSummary| c.onset_reachable;
    let hops = |c: &sim::results::churn::CrisisSummary| c.onset_hops.unwrap_or(f64::MAX);
    eprintln!(
        "claim 19 (2 tunnels/node, 3 seeds): tunnels kept random {:.3} best {:.3}; \
         reachable at onset random {:?} best {:?}; hops random {:.2} best {:.2}",
        mean(&random, kept),
        mean(&best, kept),
        random.iter().map(reach).collect::<Vec<_>>(),
        best.iter().map(reach).collect::<Vec<_>>(),
        mean(&random, hops),
        mean(&best, hops),
    );
    // Before the crisis, both meshes were whole.
    for c in random.iter().chain(&best) {
        assert_eq!(c.before_reachable, 1.0, "{c:?}");
    }
    assert!(mean(&best, kept) < 0.9 * mean(&random, kept));
    assert!(mean(&best, reach) < mean(&random, reach));
    assert!(mean(&best, hops) > mean(&random, hops));
}
