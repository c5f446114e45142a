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
