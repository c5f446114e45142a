//! Faults with real node-core nodes: crash and restart, partitions, latency
//! changes. Each test checks what the fault must do to the traffic.

use std::path::Path;

use sim::results::FlowSummary;

fn run(json: &str) -> sim::run::Run {
    let sc = sim::scenario::parse(json, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(sc, &mut |_| {}).expect("runs")
}

fn flow<'a>(r: &'a sim::run::Run, name: &str) -> &'a FlowSummary {
    r.summary
        .flows
        .iter()
        .find(|f| f.name == name)
        .expect("flow exists")
}

#[test]
fn a_crashed_node_restarts_with_its_key_and_traffic_resumes() {
    let r = run(r#"{
        "name": "crash", "seed": 1, "duration": "6s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "chain", "nodes": 2, "link": { "bandwidth": "10Mbps", "latency": "5ms" } },
        "traffic": [ { "name": "voice", "from": 0, "to": 1, "kind": "cbr", "rate": "64kbps", "start": "0.5s" } ],
        "faults": [ { "at": "2s", "node": 1, "crash_for": "1s" } ]
    }"#);
    let s = &r.summary;
    assert_eq!(s.nodes[1].restarts, 1);
    // Node 0 handshook again with the restarted node (same key, new state).
    assert!(s.nodes[0].handshakes >= 2, "{:?}", s.nodes[0]);
    let voice = flow(&r, "voice");
    // 50 messages per second for 5.5 s; the second of the crash is lost at
    // most (messages unacknowledged at the crash are sent again).
    assert!(voice.delivered_messages >= 200, "{voice:?}");
    assert!(voice.delivered_messages < voice.sent_messages, "{voice:?}");
    let arrivals_after = r
        .world
        .samples()
        .iter()
        .filter(|x| x.time.as_secs_f64() > 3.5)
        .map(|x| x.flows[0].0);
    let (first, last) = (
        arrivals_after.clone().next().unwrap(),
        arrivals_after.clone().next_back().unwrap(),
    );
    assert!(last > first + 50, "traffic resumed after the restart");
}

#[test]
fn a_partition_stops_traffic_across_it_and_healing_resumes_it() {
    let r = run(r#"{
        "name": "partition", "seed": 2, "duration": "8s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "ring", "nodes": 4, "link": { "bandwidth": "10Mbps", "latency": "2ms" } },
        "traffic": [
            { "name": "across", "from": 1, "to": 2, "kind": "cbr", "rate": "64kbps", "start": "0.5s" },
            { "name": "inside", "from": 0, "to": 1, "kind": "cbr", "rate": "64kbps", "start": "0.5s" }
        ],
        "faults": [ { "at": "2s", "partition": [[0, 1], [2, 3]], "for": "2s" } ]
    }"#);
    let across = flow(&r, "across");
    let inside = flow(&r, "inside");
    let during = |i: usize| {
        let at = |t: f64| {
            r.world
                .samples()
                .iter()
                .find(|x| x.time.as_secs_f64() >= t)
                .unwrap()
                .flows[i]
                .0
        };
        at(3.9) - at(2.1)
    };
    assert_eq!(during(0), 0, "nothing crosses the partition");
    assert!(during(1) > 80, "traffic inside a group goes on");
    // Afterwards the link layer retransmits what waited: everything arrives,
    // the oldest of it about as late as the partition was long.
    assert!(
        across.delivered_messages + 1 >= across.sent_messages,
        "at most the last is in flight: {across:?}"
    );
    assert!(
        across.latency_ms.as_ref().unwrap().max >= 1_900.0,
        "{across:?}"
    );
    assert!(inside.latency_ms.as_ref().unwrap().max < 50.0, "{inside:?}");
    assert!(r.summary.links.iter().any(|l| l.drops["down"] > 0));
}

#[test]
fn a_latency_change_shows_for_its_period_only() {
    let r = run(r#"{
        "name": "latency", "seed": 3, "duration": "10s",
        "protocol": { "suite": "modeled" },
        "topology": { "generator": "chain", "nodes": 2, "link": { "bandwidth": "10Mbps", "latency": "10ms" } },
        "traffic": [ { "name": "voice", "from": 0, "to": 1, "kind": "cbr", "rate": "64kbps", "start": "0s" } ],
        "faults": [ { "at": "4s", "link": [0, 1], "add_latency": "100ms", "for": "2s" } ]
    }"#);
    let l = flow(&r, "voice").latency_ms.clone().unwrap();
    // A fifth of the messages cross during the anomaly.
    assert!(l.p50 < 11.0, "{l:?}");
    assert!(l.p99 >= 110.0 && l.p99 < 111.0, "{l:?}");
}
