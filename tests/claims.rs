//! The claims of CLAIMS.md rows 1-6, each checked on its scenario: not
//! that it ran, but that the behaviour the seed describes is there. The
//! measured figures are printed (`cargo test -p meshsim-tests --test claims
//! -- --nocapture`).

mod common;

use std::path::Path;

use common::{flow, run_with, scenario_text};
use serde_json::Value;
use sim::results::Summary;

fn node_routes(s: &Summary, n: usize) -> &sim::results::RouteSummary {
    &s.nodes[n].routes
}

fn chain_edits(hops: usize, loss: f64, mode: &str) -> Vec<(&'static str, Value)> {
    let mut e = vec![
        ("/topology/nodes", Value::from(hops + 1)),
        ("/traffic/0/to", Value::from(hops)),
        ("/protocol/mode", Value::from(mode)),
    ];
    e.push((
        "/topology/link/loss",
        if loss > 0.0 {
            serde_json::json!({ "bernoulli": loss })
        } else {
            Value::Null
        },
    ));
    e
}

/// Claim 1: over lossy hops store-and-forward keeps delivering where the
/// end-to-end (TCP-like) baseline collapses.
#[test]
fn claim1_store_and_forward_beats_end_to_end_on_lossy_chains() {
    let text = scenario_text("sf-vs-e2e-chain.json");
    let mut table = Vec::new();
    for hops in 1usize..=8 {
        for loss in [0.0, 0.1, 0.3, 0.5] {
            let g =
                |mode| flow(&run_with(&text, &chain_edits(hops, loss, mode)), "bulk").goodput_bps;
            let (sf, e2e) = (g("store-and-forward"), g("end-to-end"));
            eprintln!(
                "claim1 hops={hops} loss={loss}: store-and-forward {sf} bps, end-to-end {e2e} bps"
            );
            table.push((hops, loss, sf, e2e));
        }
    }
    let at = |h, l: f64| *table.iter().find(|r| r.0 == h && r.1 == l).expect("row");
    let (_, _, sf, e2e) = at(8, 0.5);
    assert!(
        sf > 0,
        "store-and-forward must deliver over 8 hops at 50% loss"
    );
    assert!(
        sf >= 20 * e2e,
        "8 hops, 50% loss: store-and-forward {sf} bps vs end-to-end {e2e} bps"
    );
    // Without loss both deliver the whole transfer.
    for hops in 1..=8 {
        let (_, _, sf, e2e) = at(hops, 0.0);
        assert!(
            sf > 1_000_000 && e2e > 1_000_000,
            "lossless {hops} hops: {sf} / {e2e}"
        );
    }
}

/// Claim 1, the arithmetic: one end-to-end attempt crosses n hops of loss p
/// with probability (1-p)^n (1/256 at 8 hops and 50%).
#[test]
fn claim1_end_to_end_attempts_succeed_with_probability_one_minus_p_to_the_n() {
    let text = scenario_text("sf-vs-e2e-chain.json");
    for (hops, loss) in [(8usize, 0.5), (4, 0.3), (2, 0.1)] {
        let mut edits = chain_edits(hops, loss, "end-to-end");
        // Building a route over 8 hops at 50% loss takes 10-20 s of link
        // retries: time enough after it for over 10,000 attempts.
        edits.push(("/duration", Value::from("45s")));
        edits.push((
            "/traffic/0",
            serde_json::json!({ "name": "probe", "from": 0, "to": hops, "kind": "cbr", "rate": "800kbps",
                                "message": "100B", "start": "5s", "transport": "datagram" }),
        ));
        let s = run_with(&text, &edits);
        let f = flow(&s, "probe");
        let n = f.sent_messages as f64;
        let q = (1.0 - loss).powi(hops as i32);
        let measured = f.delivered_messages as f64 / n;
        let se = (q * (1.0 - q) / n).sqrt();
        eprintln!(
            "claim1 per attempt: {hops} hops, p={loss}: measured {measured:.5} over {n} attempts, (1-p)^n = {q:.5}, 3 SE = {:.5}",
            3.0 * se
        );
        assert!(n > 10_000.0, "enough attempts ({n})");
        assert!(
            (measured - q).abs() <= 3.0 * se,
            "{hops} hops, p={loss}: {measured} vs {q} (3 SE {})",
            3.0 * se
        );
    }
}

/// Claim 2: normal operation of the worked example.
#[test]
fn claim2_normal_operation() {
    let s = run_with(&scenario_text("sf-normal.json"), &[]);
    let f = flow(&s, "A-to-C");
    assert_eq!(
        (f.delivered_bytes, f.delivery_ratio, f.out_of_order),
        (512 << 10, 1.0, 0)
    );
    assert_eq!(
        node_routes(&s, 0).credit_stalls,
        0,
        "512 KB fits in B's 1024 KB: A never waits"
    );
    assert!(node_routes(&s, 1).buffer_peak_bytes <= 1 << 20);
    eprintln!(
        "claim2: completed at {:?} s, B peak {} bytes",
        f.completed_s,
        node_routes(&s, 1).buffer_peak_bytes
    );
}

/// Claim 3: congestion. A stops when B is full and resumes as credit
/// returns; nothing is dropped for lack of buffer.
#[test]
fn claim3_congestion_stops_the_source_and_drops_nothing() {
    let s = run_with(&scenario_text("sf-congestion.json"), &[]);
    let f = flow(&s, "A-to-C");
    assert_eq!(
        (f.delivered_bytes, f.delivery_ratio, f.out_of_order),
        (1536 << 10, 1.0, 0)
    );
    let (a, b) = (node_routes(&s, 0), node_routes(&s, 1));
    assert!(
        a.credit_stalls > 0 && a.credit_stall_ms > 100.0,
        "A waited for credit: {a:?}"
    );
    assert!(
        b.buffer_peak_bytes <= 1 << 20,
        "B never holds more than its buffer: {b:?}"
    );
    assert!(b.buffer_peak_bytes >= 900 << 10, "B's buffer filled: {b:?}");
    let drops: u64 = s.links.iter().map(|l| l.drops.values().sum::<u64>()).sum();
    assert_eq!(drops, 0, "no datagram dropped anywhere");
    assert_eq!(b.relay_queue_drops, 0);
    eprintln!(
        "claim3: A stalled {} times for {} ms; B peak {} bytes",
        a.credit_stalls, a.credit_stall_ms, b.buffer_peak_bytes
    );
}

/// The per-hop series follow one route through the network: in the
/// congestion example B's entry for the route fills up while A's and C's
/// stay small, and with one route the hop series equal the node series.
#[test]
fn per_hop_series_follow_the_route() {
    let text = scenario_text("sf-congestion.json");
    let sc = sim::scenario::parse(&text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let run = sim::run::run(sc, &mut |_| {}).expect("runs");
    let samples = run.world.samples();
    // While the route is built hop by hop (telescoping) it reaches only
    // part of the way; once up it reaches C, in order.
    let reach: Vec<Vec<usize>> = samples
        .iter()
        .map(|s| s.hops[0].iter().map(|h| h.node).collect())
        .collect();
    assert!(reach.iter().all(|r| [0, 1, 2].starts_with(r)), "{reach:?}");
    let with_route: Vec<_> = samples.iter().filter(|s| s.hops[0].len() == 3).collect();
    assert!(with_route.len() > samples.len() / 2, "the route was up");
    let routes: Vec<_> = run.world.route_series().collect();
    for (s, routes) in samples.iter().zip(&routes) {
        if s.hops[0].len() != 3 {
            continue;
        }
        for h in &s.hops[0] {
            assert_eq!(h.held, routes[h.node].held, "one route: hop = node");
        }
    }
    let peak = |hop: usize| with_route.iter().map(|s| s.hops[0][hop].held).max();
    assert!(peak(1) >= Some(900 << 10), "B filled: {:?}", peak(1));
    let a = with_route.last().unwrap().hops[0][0];
    assert!(
        a.credit_stall_ns > 100_000_000,
        "A waited for B's credit: {a:?}"
    );
    let csv = sim::results::route_hops_csv(&run.world);
    assert!(csv.starts_with("time_s,flow,hop,node,held_bytes,"));
    assert!(csv.lines().any(|l| l.contains(",A-to-C,1,1,")), "B's rows");
}

/// Claim 4: loss on B -> C is repaired by B, from its buffer, and C gets
/// everything in order.
#[test]
fn claim4_a_lost_segment_is_retransmitted_by_the_hop() {
    let s = run_with(&scenario_text("sf-packet-loss.json"), &[]);
    let f = flow(&s, "A-to-C");
    assert_eq!(
        (
            f.delivered_bytes,
            f.delivery_ratio,
            f.out_of_order,
            f.duplicates
        ),
        (1 << 20, 1.0, 0, 0)
    );
    let (a, b) = (node_routes(&s, 0), node_routes(&s, 1));
    assert!(b.bytes_retransmitted > 0, "B retransmitted: {b:?}");
    assert_eq!(
        a.bytes_retransmitted, 0,
        "A's hop lost nothing: the source never resent: {a:?}"
    );
    eprintln!(
        "claim4: B resent {} bytes; completed at {:?} s",
        b.bytes_retransmitted, f.completed_s
    );
}

/// Claim 5: a route buffer of rate x RTT keeps the link busy; less buffer
/// gives proportionally less.
#[test]
fn claim5_goodput_follows_buffer_up_to_the_bandwidth_delay_product() {
    let text = scenario_text("bdp-buffer.json");
    let rate = 20e6;
    let bdp = 200_000.0;
    for frac in [0.125, 0.25, 0.5, 1.0, 2.0] {
        let buffer = format!("{}B", (bdp * frac) as u64);
        let s = run_with(
            &text,
            &[("/protocol/route_buffer", Value::from(buffer.clone()))],
        );
        let g = flow(&s, "bulk").goodput_bps as f64;
        eprintln!(
            "claim5: buffer {buffer} ({frac} x BDP): goodput {:.2} Mbps ({:.0}% of the link)",
            g / 1e6,
            100.0 * g / rate
        );
        if frac >= 1.0 {
            assert!(g >= 0.8 * rate, "{frac} x BDP: {g}");
        } else {
            let ideal = frac * rate;
            assert!(
                (0.75 * ideal..=1.1 * ideal).contains(&g),
                "{frac} x BDP: {g} vs {ideal}"
            );
        }
    }
}

/// Claim 6: realtime first. With classes, VoIP latency stays near the
/// unloaded one under saturating bulk; without, it waits its turn behind
/// every bulk route (routes of one class share a link in turns); the link
/// stays busy either way.
#[test]
fn claim6_realtime_is_served_first() {
    let text = scenario_text("qos-realtime-bulk.json");
    let p99 = |s: &Summary| {
        flow(s, "voice")
            .latency_ms
            .as_ref()
            .expect("voice arrived")
            .p99
    };
    let busiest = |s: &Summary| s.links.iter().map(|l| l.utilization).fold(0.0, f64::max);
    let mut quiet: Vec<(String, Value)> = Vec::new();
    for i in 1..=6 {
        quiet.push((format!("/traffic/{i}/start"), Value::from("4.99s")));
    }
    let quiet: Vec<(&str, Value)> = quiet.iter().map(|(p, v)| (p.as_str(), v.clone())).collect();
    let unloaded = run_with(&text, &quiet);
    let classes = run_with(&text, &[]);
    let no_classes = run_with(&text, &[("/traffic/0/class", Value::from("bulk"))]);
    let (u, c, n) = (p99(&unloaded), p99(&classes), p99(&no_classes));
    eprintln!(
        "claim6: voice p99 unloaded {u} ms, with classes {c} ms, without {n} ms; busiest link {:.1}% / {:.1}%",
        100.0 * busiest(&classes),
        100.0 * busiest(&no_classes)
    );
    // A 1400-byte packet takes 5.6 ms at 2 Mb/s; "a few" is three per hop,
    // over two hops. Without classes, voice takes its turn behind each of
    // the six bulk routes at every hop.
    let few = 3.0 * 2.0 * 5.6;
    assert!(c <= u + few, "with classes {c} ms vs unloaded {u} ms");
    assert!(
        n > u + few,
        "without classes realtime waits behind bulk: {n} ms vs unloaded {u} ms"
    );
    assert!(busiest(&classes) > 0.8 && busiest(&no_classes) > 0.8);
}
