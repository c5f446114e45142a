//! Claims 16 and 18 of CLAIMS.md (issue 15): per-hop payments conserve
//! coins and pay each relay for what it forwarded, within its credit; and
//! NOIA's split pays each relay of a route an equal share of the price
//! less the infrastructure's. The figures are printed (`cargo test -p
//! meshsim-tests --test claims_pay -- --nocapture`).

mod common;

use common::{flow, run_with, scenario_text};
use serde_json::Value;

/// Claim 16: the escrow's ledger balances at every sample; each relay's
/// receipts cover no more than its own count of what it forwarded, and
/// that count no more than what the simulator's link counters saw it
/// send; what is unpaid at the end stays within its credit; earnings are
/// the price of the paid bytes less the fee; balances past 1 coin are
/// withdrawn.
#[test]
fn claim16_payments_conserve_coins_and_pay_relays_for_what_they_forwarded() {
    let text = scenario_text("pay-relays.json");
    let s = run_with(&text, &[]);
    let p = s.pay.as_ref().expect("a pay section");
    eprintln!(
        "claim16: conservation_error {} over {} checks; {} withdrawals ({} droplets), fees {}",
        p.conservation_error, p.conservation_checks, p.withdrawals, p.withdrawn, p.fees
    );
    assert_eq!(p.conservation_error, 0);
    assert!(p.conservation_checks >= 40);
    assert!(p.withdrawals > 0, "balances past 1 coin are withdrawn");
    assert!(p.refused.is_empty(), "{:?}", p.refused);
    assert_eq!(p.payees.len(), 4);
    for r in &p.payees {
        let price = r.price_per_mb.expect("relays ask a price");
        let credit = r.credit.expect("and grant a credit");
        eprintln!(
            "claim16 relay {:?}: {price}/MB, earned {} for {} bytes paid of {} charged; link bytes {} (paid share {})",
            r.node,
            r.earned,
            r.paid_bytes,
            r.charged_bytes,
            r.link_bytes_sent,
            r.paid_share_of_link_bytes
        );
        // Paid only for bytes it forwarded, and it forwarded no more than
        // its links carried (the rest is the protocol's overhead).
        assert!(r.paid_bytes <= r.charged_bytes);
        assert!(r.charged_bytes <= r.link_bytes_sent);
        assert!(
            r.paid_share_of_link_bytes > 0.85,
            "{}",
            r.paid_share_of_link_bytes
        );
        // Unpaid at the end: within what the credit lets both directions
        // run ahead (plus one record each way, the gate's floor).
        let credit_bytes = credit * 1_000_000 / price;
        assert!(r.charged_bytes - r.paid_bytes <= credit_bytes + 2 * 16_402);
        // The price of the paid bytes, less the 2% fee (rounded down at
        // each redemption: a few droplets).
        let gross = r.paid_bytes as u128 * price as u128 / 1_000_000;
        let net = gross - gross * 20_000 / 1_000_000;
        assert!(
            (r.earned as u128) <= net + 400 && r.earned as u128 + 400 >= net,
            "earned {} against {net}",
            r.earned
        );
    }
    // Every relay carried the same bytes, so the one that asks 6.5 times
    // as much earned 6.5 times as much.
    let by_node = |n| p.payees.iter().find(|r| r.node == Some(n)).unwrap();
    let ratio = by_node(3).earned as f64 / by_node(1).earned as f64;
    assert!((ratio - 6.5).abs() < 0.01, "{ratio}");
}

/// Claim 16's cost: a relay's credit must cover the bytes in flight over
/// the payment loop (its bytes to the far end, the end-to-end
/// acknowledgement to the origin, the receipt back), or the route runs at
/// credit / loop time. With credits worth 200 kB the bulk flows run at a
/// third of the unpaid rate; four times the credit gives it all back.
#[test]
fn claim16_a_credit_below_the_payment_loop_costs_throughput() {
    let text = scenario_text("pay-relays.json");
    let unpaid = run_with(&text, &[("/pay", Value::Null)]);
    let paid = run_with(&text, &[]);
    let mut more = vec![];
    for (i, c) in [4000u64, 10000, 26000, 16000].iter().enumerate() {
        more.push((
            [
                "/pay/nodes/0/credit",
                "/pay/nodes/1/credit",
                "/pay/nodes/2/credit",
                "/pay/nodes/3/credit",
            ][i],
            Value::from(c * 4),
        ));
    }
    let generous = run_with(&text, &more);
    let g = |s| flow(s, "bulk-0-5").goodput_bps;
    eprintln!(
        "claim16 goodput of bulk-0-5: unpaid {} bps, credit x1 {} bps, credit x4 {} bps",
        g(&unpaid),
        g(&paid),
        g(&generous)
    );
    assert!(g(&paid) * 2 < g(&unpaid));
    assert!(g(&generous) * 100 >= g(&unpaid) * 98);
}

/// Claim 18: under NOIA pricing each relay of a route of k relays earns
/// exactly floor((C - floor(C x 10%)) / k) for C = the route's price of
/// its bytes, and the infrastructure the rest: nothing is created or lost.
#[test]
fn claim18_noia_splits_the_price_equally_less_the_infrastructure() {
    let text = scenario_text("noia-split.json");
    let s = run_with(&text, &[]);
    let p = s.pay.as_ref().expect("a pay section");
    assert_eq!(p.conservation_error, 0);
    assert!(p.refused.is_empty(), "{:?}", p.refused);
    let routes: [&[usize]; 5] = [
        &[2, 3],
        &[4, 5, 6],
        &[7, 8, 9, 10],
        &[11, 12, 13, 14, 15],
        &[16, 17, 18, 19, 20, 21],
    ];
    let mut total = 0u128;
    for relays in routes {
        let k = relays.len() as u128;
        let mine: Vec<_> = relays
            .iter()
            .map(|&n| p.payees.iter().find(|r| r.node == Some(n)).expect("paid"))
            .collect();
        let bytes = mine[0].paid_bytes;
        let c = bytes as u128 * 60_000 / 1_000_000;
        let share = (c - c * 100_000 / 1_000_000) / k;
        eprintln!(
            "claim18 {k} relays: {bytes} bytes cost {c} droplets; each relay {} (formula {share})",
            mine[0].earned
        );
        for r in &mine {
            assert_eq!(r.paid_bytes, bytes);
            assert_eq!(r.charged_bytes, bytes, "settled in full");
            assert_eq!(r.earned as u128, share);
        }
        total += c;
    }
    let infra = p.payees.iter().find(|r| r.node.is_none()).expect("infra");
    let relays: u128 = p
        .payees
        .iter()
        .filter(|r| r.node.is_some())
        .map(|r| r.earned as u128)
        .sum();
    eprintln!("claim18 infrastructure {} of {total}", infra.earned);
    assert_eq!(relays + infra.earned as u128, total);
}

/// Cheaters (`pay-cheaters`): an origin that funds its accounts with less
/// than it will owe, and a relay that presents every receipt twice. With
/// the relays' balance checks answered, no relay is left holding receipts
/// the escrow refuses (it closes the underfunded routes as their receipts
/// outgrow the deposit), and a replay earns nothing; with them off, each
/// relay is left with unpaid receipts worth far more than its credit.
#[test]
fn pay_cheaters_gain_nothing_and_checks_bound_what_an_underfunded_origin_costs() {
    let text = scenario_text("pay-cheaters.json");
    let checked = run_with(&text, &[]);
    let unchecked = run_with(&text, &[("/pay/escrow/check", Value::from(false))]);
    for (name, s) in [("checked", &checked), ("unchecked", &unchecked)] {
        let p = s.pay.as_ref().unwrap();
        eprintln!(
            "pay-cheaters {name}: refused {:?}, balance checks {} ({} no), underfunded flow delivered {}",
            p.refused,
            p.checks,
            p.checks_refused,
            flow(s, "underfunded-4-0").delivery_ratio
        );
        for r in &p.payees {
            eprintln!(
                "  relay {:?}: earned {}, unpaid receipts {}, carried unpaid {} bytes",
                r.node,
                r.earned,
                r.unpaid,
                r.charged_bytes - r.paid_bytes
            );
        }
        assert_eq!(p.conservation_error, 0);
        assert!(p.refused["replayed"] > 0);
        // The replaying relay earned what the honest ones did.
        let earned: Vec<u64> = p.payees.iter().map(|r| r.earned).collect();
        assert!(earned.iter().all(|&e| e == earned[0]), "{earned:?}");
    }
    let (c, u) = (
        checked.pay.as_ref().unwrap(),
        unchecked.pay.as_ref().unwrap(),
    );
    assert!(c.checks_refused > 0);
    for r in &c.payees {
        assert_eq!(r.unpaid, 0);
        // What it carried unpaid: within its credit (40,000 droplets at
        // 50,000 per MB: 800 kB) and a record each way.
        assert!(r.charged_bytes - r.paid_bytes <= 800_000 + 2 * 16_402);
    }
    for r in &u.payees {
        assert!(r.unpaid > 5 * 40_000, "{}", r.unpaid);
    }
    assert_eq!(flow(&checked, "honest-0-4").delivery_ratio, 1.0);
}

/// Claim 10 (`gateway-lends`): a business's 100/30 Mb/s gateway lends its
/// spare uplink to mesh users and is paid for it, while its own traffic
/// (realtime class) keeps priority: its latency with the lending flows
/// is within one uplink datagram's serialization (1,400 bytes at 30 Mb/s:
/// 0.37 ms, a frame being sent is not preempted) of its latency without.
#[test]
fn claim10_a_gateway_lends_its_spare_uplink_and_its_own_traffic_keeps_priority() {
    let text = scenario_text("gateway-lends.json");
    let lending = run_with(&text, &[]);
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let own: Vec<Value> = v["traffic"].as_array().unwrap()[..2].to_vec();
    v["traffic"] = Value::from(own);
    let alone = run_with(&v.to_string(), &[]);
    for name in ["own-video", "own-web"] {
        let (a, l) = (flow(&alone, name), flow(&lending, name));
        let (la, ll) = (
            a.latency_ms.as_ref().unwrap(),
            l.latency_ms.as_ref().unwrap(),
        );
        eprintln!(
            "claim10 {name}: alone p50 {} p99 {} ms, lending p50 {} p99 {} ms; delivered {} / {}",
            la.p50, la.p99, ll.p50, ll.p99, a.delivery_ratio, l.delivery_ratio
        );
        assert!(ll.p50 - la.p50 <= 0.5 && ll.p99 - la.p99 <= 0.5);
        assert!(l.delivery_ratio >= a.delivery_ratio - 0.001);
    }
    let relayed: u64 = ["lent-0", "lent-1"]
        .iter()
        .map(|f| flow(&lending, f).delivered_bytes)
        .sum();
    let p = lending.pay.as_ref().unwrap();
    let gw = p.payees.iter().find(|r| r.node == Some(2)).unwrap();
    eprintln!(
        "claim10 relayed {relayed} bytes; the gateway earned {} droplets for {} paid bytes",
        gw.earned, gw.paid_bytes
    );
    assert!(relayed > 50_000_000);
    assert_eq!(p.conservation_error, 0);
    let gross = gw.paid_bytes as u128 * 100_000 / 1_000_000;
    assert!((gw.earned as u128) <= gross && gw.earned as u128 * 100 >= gross * 97);
}
