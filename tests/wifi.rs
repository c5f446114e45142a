//! Wifi fidelity (issue 11, CLAIMS.md row 7): the capacity of a chain
//! against the published references, utilization and goodput against
//! offered load on a shared medium, and voice on time over a lossy hop.
//! The measured figures are printed (`cargo test -p meshsim-tests --test
//! wifi -- --nocapture`).

mod common;

use common::{flow, run_with, scenario_text};
use serde_json::Value;

/// Goodput of the chain scenario's bulk flow over `hops` hops.
fn chain_goodput(text: &str, hops: usize, interference: f64, rts_cts: bool) -> f64 {
    let s = run_with(
        text,
        &[
            ("/topology/nodes", Value::from(hops + 1)),
            ("/traffic/0/to", Value::from(hops)),
            ("/topology/interference_range", Value::from(interference)),
            ("/topology/rts_cts", Value::from(rts_cts)),
        ],
    );
    flow(&s, "bulk").goodput_bps as f64
}

/// Li et al. (MobiCom 2001): ideal scheduling gives a chain 1/3 of one
/// hop's capacity (interference range = radio range) or 1/4 (twice it);
/// measured 802.11 reaches about 1/7 on long chains. The model, in the
/// configuration their 802.11 simulation used (RTS/CTS, interference
/// range about twice the radio range) and with the interference range
/// equal to the radio range, lands in [1/7, 1/3] for 4..10 hops, at or
/// below the ideal of its geometry.
#[test]
fn chain_capacity_lands_between_the_references_interference_twice_the_range() {
    chain_band(240.0, 1.0 / 4.0);
}

/// The same with the interference range equal to the radio range (ideal 1/3).
#[test]
fn chain_capacity_lands_between_the_references_interference_equal_to_the_range() {
    chain_band(120.0, 1.0 / 3.0);
}

fn chain_band(interference: f64, ideal: f64) {
    let text = scenario_text("wifi-chain.json");
    {
        let one = chain_goodput(&text, 1, interference, true);
        assert!(one > 15e6, "one hop carries most of 20 Mb/s: {one}");
        let mut previous = 1.0;
        for hops in 4..=10 {
            let ratio = chain_goodput(&text, hops, interference, true) / one;
            println!("wifi-chain rts_cts interference={interference}: {hops} hops {ratio:.3}");
            assert!(
                (1.0 / 7.0..=ideal * 1.05).contains(&ratio),
                "{hops} hops, interference {interference}: {ratio:.3} of one hop"
            );
            // Longer chains never gain much (spatial reuse is bounded).
            assert!(
                ratio < previous + 0.03,
                "{hops} hops: {ratio:.3} after {previous:.3}"
            );
            previous = ratio;
        }
    }
}

/// One point of claim 7's sweep, the mean of three seeds (one seed's
/// figure moves by 10% past saturation): (goodput b/s, share of frames the
/// air lost or a radio's queue refused, busiest link direction's
/// utilization).
fn capacity_point(text: &str, rate_mbps: u64, mode: &str) -> (f64, f64, f64) {
    let seeds = [7u64, 8, 9];
    let (mut goodput, mut drop, mut busy) = (0.0, 0.0, 0.0);
    for seed in seeds {
        let s = run_with(
            text,
            &[
                ("/traffic/0/rate", Value::from(format!("{rate_mbps}Mbps"))),
                ("/protocol/mode", Value::from(mode)),
                ("/seed", Value::from(seed)),
            ],
        );
        let offered: u64 = s.links.iter().map(|l| l.offered).sum();
        let dropped: u64 = s.links.iter().map(|l| l.drops.values().sum::<u64>()).sum();
        let busiest = s.links.iter().map(|l| l.utilization).fold(0.0, f64::max);
        let f = flow(&s, "cbr");
        println!(
            "claim7 {mode} offered {rate_mbps} Mb/s seed {seed}: goodput {:.3} Mb/s, delivery {:.3}, air drops {:.3}, busiest radio {busiest:.3}",
            f.goodput_bps as f64 / 1e6,
            f.delivery_ratio,
            dropped as f64 / offered as f64
        );
        goodput += f.goodput_bps as f64 / seeds.len() as f64;
        drop += dropped as f64 / offered as f64 / seeds.len() as f64;
        busy += busiest / seeds.len() as f64;
    }
    (goodput, drop, busy)
}

/// Claim 7 on the 4-hop chain of `wifi-capacity` (capacity about 4 Mb/s),
/// means of three seeds:
/// - store-and-forward carries the offered load up to the chain's
///   capacity, and the air's loss rises fast near saturation (an order of
///   magnitude between a quarter of the capacity and the capacity);
/// - past saturation it does not collapse (backpressure holds the source),
///   but it does not stay at full capacity either: collisions between the
///   hops it keeps busy waste airtime (a fifth of the frames), while
///   end-to-end's congestion control keeps the air's loss near 1% and its
///   goodput about the same. That half of the seed's claim ("full
///   capacity without triggering TCP's congestion control") is refuted
///   here: store-and-forward gains nothing over end-to-end past saturation.
#[test]
fn claim7_utilization_and_goodput_against_offered_load() {
    let text = scenario_text("wifi-capacity.json");
    let (sf_low, sf_low_drop, _) = capacity_point(&text, 1, "store-and-forward");
    let (sf_cap, sf_cap_drop, sf_cap_util) = capacity_point(&text, 4, "store-and-forward");
    let (sf_over, _, _) = capacity_point(&text, 12, "store-and-forward");
    let (_, e2e_cap_drop, _) = capacity_point(&text, 4, "end-to-end");
    let (e2e_over, e2e_over_drop, _) = capacity_point(&text, 12, "end-to-end");
    assert!(sf_low > 0.97e6, "1 Mb/s is carried: {sf_low}");
    assert!(
        sf_cap > 0.95 * 4e6,
        "store-and-forward reaches the capacity: {sf_cap}"
    );
    assert!(sf_cap_util > 0.3, "the first radio is busy: {sf_cap_util}");
    assert!(
        sf_cap_drop > 10.0 * sf_low_drop && sf_cap_drop > 0.1,
        "the air's loss rises fast near saturation: {sf_low_drop:.4} -> {sf_cap_drop:.4}"
    );
    assert!(
        sf_over > 0.7 * sf_cap,
        "no collapse past saturation: {sf_over}"
    );
    assert!(
        e2e_cap_drop < 0.05 && e2e_over_drop < 0.05,
        "end-to-end's congestion control keeps the air's loss low: {e2e_cap_drop:.4}, {e2e_over_drop:.4}"
    );
    assert!(
        sf_over < 0.97 * sf_cap && e2e_over > 0.95 * sf_over,
        "the finding (refuting 'full capacity' past saturation): store-and-forward {sf_over} \
         (at capacity {sf_cap}) vs end-to-end {e2e_over}"
    );
}

/// Voice over a lossy radio hop of `wifi-mesh` (about 13% of frames lost
/// each way, a bulk transfer beside it): at least 99% of the ~3,000 voice
/// packets arrive within 150 ms (ITU-T G.114), late ones counted as lost.
#[test]
fn voice_over_a_lossy_hop_is_on_time() {
    let s = run_with(&scenario_text("wifi-mesh.json"), &[]);
    let f = flow(&s, "voice-0-1");
    let lat = f.latency_ms.as_ref().expect("delivered");
    let on_time = f.on_time_ratio.expect("the flow has a deadline");
    println!(
        "voice-0-1: {} delivered, p50 {} ms, p99 {} ms, max {} ms, on time {on_time:.4}",
        f.delivered_messages, lat.p50, lat.p99, lat.max
    );
    assert!(f.delivered_messages > 2_500);
    assert!(on_time >= 0.99, "on-time ratio {on_time}");
}
