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
