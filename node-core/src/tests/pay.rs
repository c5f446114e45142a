//! Payments on live routes (issue 15): relays with prices and credits
//! pause and resume a route, the origin pays what it knows they carried,
//! and the escrow's ledger redeems what their wallets kept.

use super::harness::{Net, WireParams};
use super::routes::{addresses, config, message, open, route_messages, send_all};
use crate::config::RouteMode;
use crate::pay::escrow::{Escrow, Limits};
use crate::pay::money::{COIN, Droplets, Meter, Price, split};
use crate::pay::{OriginPricing, PayConfig, RelayTerms};
use crate::*;
use rand::SeedableRng as _;

/// Relays 1, 2, 3 of the chain 0 - 1 - 2 - 3 - 4: their prices (droplets
/// per MB) and credits (droplets).
fn terms(credit_bytes: u64) -> [RelayTerms; 3] {
    [2_000, 5_000, 13_000].map(|per_mb| {
        let price = Price::per_mb(per_mb);
        RelayTerms {
            price,
            credit: Droplets(price.per_gb * credit_bytes / 1_000_000_000),
        }
    })
}

fn paying_chain(t: [RelayTerms; 3], origin: OriginPricing, wire: WireParams, seed: u64) -> Net {
    let base = Config {
        route_setup_timeout: Duration::from_secs(20),
        ..config(RouteMode::StoreAndForward)
    };
    let mut net = Net::new_each(5, base, seed, |i, c| {
        c.pay = PayConfig {
            relay: (1..=3).contains(&i).then(|| t[i - 1]),
            origin,
            escrow: None,
        };
    });
    for i in 0..4 {
        net.connect(i, i + 1, wire);
    }
    assert!(net.run_until_cond(Duration::from_secs(30), |n| {
        (0..4).all(|i| n.established(i, i + 1))
    }));
    net
}

/// Sends `fwd` messages of 4 kB from 0 to 4 and `back` from 4 to 0, and
/// waits until all arrived and the last acknowledgements are in.
fn carry(net: &mut Net, fwd: usize, back: usize) -> RouteHandle {
    let r = open(net, 0, &[1, 2, 3, 4], Class::Bulk, RouteKind::Stream);
    net.run_for(Duration::from_millis(100));
    let at_dest = net.nodes[4].routes().next().expect("the destination");
    let there: Vec<_> = (0..fwd).map(|i| message(i, 4_000)).collect();
    let back_msgs: Vec<_> = (0..back).map(|i| message(i + 7, 4_000)).collect();
    send_all(net, 0, r, &there, Duration::from_secs(120));
    send_all(net, 4, at_dest, &back_msgs, Duration::from_secs(120));
    assert!(
        net.run_until_cond(Duration::from_secs(120), |n| route_messages(n, 4).len()
            == fwd
            && route_messages(n, 0).len() == back),
        "stuck: {} of {fwd} there, {} of {back} back; {:#?}",
        route_messages(net, 4).len(),
        route_messages(net, 0).len(),
        (0..5)
            .map(|i| (
                net.nodes[i].pay_stats(),
                net.nodes[i]
                    .routes()
                    .next()
                    .and_then(|h| net.nodes[i].route_gate(h)),
                net.nodes[i]
                    .routes()
                    .next()
                    .and_then(|h| net.nodes[i].route(h))
                    .map(|r| (r.held, r.sent.map(|s| (s.bytes_sent, s.credit_stalls))))
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(route_messages(net, 4), there);
    assert_eq!(route_messages(net, 0), back_msgs);
    net.run_for(Duration::from_secs(2));
    r
}

/// Each relay's gate: (bytes, charged, paid), in path order.
fn gates(net: &Net) -> Vec<(u64, u64, u64)> {
    (1..=3)
        .map(|i| {
            let h = net.nodes[i].routes().next().expect("a relay entry");
            net.nodes[i].route_gate(h).expect("a paying relay")
        })
        .collect()
}

/// The stream bytes relay `i` forwarded both ways (first sends only:
/// `bytes_sent` leaves retransmissions out), by its forwarders' own
/// counters: what its gate must have charged.
fn forwarded(net: &Net, i: usize) -> u64 {
    let h = net.nodes[i].routes().next().expect("a relay entry");
    let info = net.nodes[i].route(h).unwrap();
    info.sent.iter().map(|s| s.bytes_sent).sum()
}

#[test]
fn relays_are_paid_what_they_carried_and_pauses_never_stick() {
    // Each relay grants what 50 kB cost it.
    let t = terms(50_000);
    let mut net = paying_chain(t, OriginPricing::AsAsked, WireParams::default(), 1);
    let r = carry(&mut net, 300, 100);
    let origin = net.nodes[0].pay_stats();
    assert_eq!(origin.prices_heard, 3);
    let before_close = gates(&net);
    let mut pauses = 0;
    for (k, i) in (1..=3).enumerate() {
        let s = net.nodes[i].pay_stats();
        assert_eq!(s.prices_sent, 1);
        assert!(s.receipts_taken > 0);
        assert_eq!((s.forged, s.foreign, s.stale, s.flood), (0, 0, 0, 0));
        pauses += s.pauses;
        let (bytes, charged, paid) = before_close[k];
        // The gate charged exactly what the relay forwarded (retransmits
        // not again), at its price, and never ran past its credit by more
        // than a chunk.
        assert_eq!(bytes, forwarded(&net, i));
        let mut m = Meter::new(t[k].price);
        m.charge(bytes);
        assert_eq!(charged, m.charged().0);
        assert!(paid <= charged && charged - paid <= t[k].credit.0 + 100);
    }
    // 1.6 MB through credits of 50 kB: the route paused and resumed.
    assert!(pauses > 10, "{pauses} pauses");
    // Closing settles: the last receipts go before the TEARDOWN.
    net.nodes[0].close_route(r).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_secs(1));
    let mut escrow = Escrow::new(Limits::default(), 20_000);
    let accounts = net.nodes[0].take_pay_accounts();
    assert_eq!(accounts.len(), 3, "one pseudonym per relay");
    for pk in &accounts {
        escrow.open(*pk).unwrap();
        escrow.deposit(pk, Droplets(COIN)).unwrap();
    }
    for (k, i) in (1..=3).enumerate() {
        let wallet = net.nodes[i].take_receipts();
        assert_eq!(wallet.len(), 1, "one pseudonym per route");
        let receipt = wallet[0];
        let (bytes, charged, _) = before_close[k];
        // Everything was delivered and acknowledged: the settled receipt
        // pays all the relay counted, no more.
        assert_eq!((receipt.bytes, receipt.owed), (bytes, charged));
        let got = escrow.redeem(SuiteKind::Modeled.suite(), &receipt).unwrap();
        assert_eq!(got.0, charged - charged * 20_000 / 1_000_000);
        let relay = net.identities[i].address();
        assert_eq!(escrow.relay_balance(&relay), got);
        // A replay of the same receipt pays nothing.
        assert!(escrow.redeem(SuiteKind::Modeled.suite(), &receipt).is_err());
    }
    assert_eq!(escrow.conservation_error(), 0);
    assert_eq!(escrow.stats.replayed, 3);
}

#[test]
fn no_credit_and_a_lossy_route_still_carry_everything() {
    // Credit 0: each direction runs at most one end-to-end record (16 kB,
    // the gate's floor) ahead of the receipts, over links that lose 10% of
    // their datagrams.
    let lossy = WireParams {
        loss: 0.1,
        ..WireParams::default()
    };
    let mut net = paying_chain(terms(0), OriginPricing::AsAsked, lossy, 2);
    carry(&mut net, 40, 10);
    let h = net.nodes[2].routes().next().unwrap();
    let retransmitted: u64 = net.nodes[2]
        .route(h)
        .unwrap()
        .sent
        .iter()
        .map(|s| s.bytes_retransmitted)
        .sum();
    assert!(retransmitted > 0, "the lossy links made relays resend");
    for (k, (bytes, charged, paid)) in gates(&net).into_iter().enumerate() {
        assert_eq!(bytes, forwarded(&net, k + 1));
        assert!(
            charged - paid <= 100,
            "relay {k}: {charged} charged, {paid} paid"
        );
    }
    let pauses: u64 = (1..=3).map(|i| net.nodes[i].pay_stats().pauses).sum();
    // 200 kB in records of 4 kB: the route paused about once a record.
    assert!(pauses > 20, "{pauses}");
}

#[test]
fn noia_pricing_pays_each_relay_an_equal_share_less_the_infrastructure() {
    // The route costs 30,000 droplets per MB; the infrastructure keeps
    // 10%; the three relays ask nothing (a floor of 0) and split the rest.
    let infra = Address([0xee; 16]);
    let pricing = OriginPricing::Noia {
        price: Price::per_mb(30_000),
        infra_ppm: 100_000,
        infra,
    };
    let free = [RelayTerms {
        price: Price::default(),
        credit: Droplets(0),
    }; 3];
    let mut net = paying_chain(free, pricing, WireParams::default(), 3);
    let r = carry(&mut net, 50, 0);
    net.nodes[0].close_route(r).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_secs(1));
    let paid: Vec<_> = (1..=3).map(|i| net.nodes[i].take_receipts()[0]).collect();
    let bytes = paid[0].bytes;
    assert!(bytes > 200_000);
    let mut m = Meter::new(Price::per_mb(30_000));
    m.charge(bytes);
    let parts = split(m.charged(), 3, 100_000);
    for p in &paid {
        assert_eq!((p.bytes, p.owed), (bytes, parts.per_relay.0));
    }
    // The infrastructure's share is the origin's to hand to the escrow.
    let origin = net.nodes[0].take_receipts();
    assert_eq!(origin.len(), 1);
    assert_eq!(
        (origin[0].relay, origin[0].owed),
        (infra, parts.infrastructure.0)
    );
    assert_eq!(
        u128::from(origin[0].owed) + 3 * u128::from(paid[0].owed),
        u128::from(m.charged().0)
    );
    let _ = addresses(&net, &[0]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Over random prices, credits, loss and traffic, and routes replaced
    /// one after another: everything arrives, no relay is paid for bytes
    /// its own gate did not charge (what it forwarded), every relay is
    /// paid in full once each route settles, and the escrow conserves
    /// coins.
    #[test]
    fn payments_conserve_coins_and_pay_only_what_was_forwarded(
        prices in proptest::collection::vec(0u64..200_000, 3),
        credits in proptest::collection::vec(0u64..1_000_000, 3),
        loss in 0.0f64..0.15,
        fwd in 1usize..40,
        back in 0usize..20,
        routes in 1usize..3,
        seed in 0u64..1_000,
    ) {
        let t = [0, 1, 2].map(|k| RelayTerms {
            price: Price::per_mb(prices[k]),
            credit: Droplets(credits[k]),
        });
        let wire = WireParams { loss, ..WireParams::default() };
        let mut net = paying_chain(t, OriginPricing::AsAsked, wire, seed);
        let mut escrow = Escrow::new(Limits::default(), 10_000);
        let mut wallets = Vec::new();
        for _ in 0..routes {
            let before: Vec<usize> = (0..5).map(|i| route_messages(&net, i).len()).collect();
            let r = open(&mut net, 0, &[1, 2, 3, 4], Class::Bulk, RouteKind::Stream);
            let is_dest = |n: &Net, h: RouteHandle| {
                n.nodes[4].route(h).is_some_and(|i| i.role == "destination")
            };
            let up = net.run_until_cond(Duration::from_secs(30), |n| {
                n.nodes[4].routes().any(|h| is_dest(n, h))
            });
            proptest::prop_assert!(up, "no destination");
            let at_dest = net.nodes[4].routes().find(|h| is_dest(&net, *h)).unwrap();
            let there: Vec<_> = (0..fwd).map(|i| message(i, 3_000)).collect();
            let back_msgs: Vec<_> = (0..back).map(|i| message(i, 3_000)).collect();
            send_all(&mut net, 0, r, &there, Duration::from_secs(120));
            send_all(&mut net, 4, at_dest, &back_msgs, Duration::from_secs(120));
            let done = net.run_until_cond(Duration::from_secs(120), |n| {
                route_messages(n, 4).len() == before[4] + fwd
                    && route_messages(n, 0).len() == before[0] + back
            });
            proptest::prop_assert!(done, "stuck");
            net.run_for(Duration::from_secs(2));
            net.nodes[0].close_route(r).unwrap();
            net.input(0, Input::Timeout);
            net.run_for(Duration::from_secs(2));
            for pk in net.nodes[0].take_pay_accounts() {
                escrow.open(pk).unwrap();
                escrow.deposit(&pk, Droplets(100 * COIN)).unwrap();
            }
            for i in 1..=3 {
                for r in net.nodes[i].take_receipts() {
                    wallets.push((i, r));
                }
            }
        }
        proptest::prop_assert!(wallets.len() >= 3 * routes, "{} receipts kept", wallets.len());
        for i in 1..=3 {
            let charged = net.nodes[i].pay_stats().bytes_charged;
            proptest::prop_assert!(charged >= (fwd * 3_000) as u64 * routes as u64);
            let paid: u64 = wallets.iter().filter(|(k, _)| *k == i).map(|(_, r)| r.bytes).sum();
            // Paid only for what it forwarded, and, settled, all of it.
            proptest::prop_assert_eq!(paid, charged, "relay {}", i);
        }
        for (_, r) in &wallets {
            proptest::prop_assert!(escrow.redeem(SuiteKind::Modeled.suite(), r).is_ok());
            proptest::prop_assert_eq!(escrow.conservation_error(), 0);
        }
    }
}

/// The escrow role over a route: node 3 plays it; node 0 opens an
/// account, deposits, asks whether it can pay, and redeems a receipt for
/// relay 1, all as messages on a route to node 3; the answers come back on
/// it, and node 3's application sees none of the requests.
#[test]
fn the_escrow_answers_over_a_route() {
    use crate::pay::service::EscrowRole;
    use crate::wire::escrow::{EscrowAnswer, EscrowRequest};
    let base = config(RouteMode::StoreAndForward);
    let mut net = Net::new_each(4, base, 7, |i, c| {
        if i == 3 {
            c.pay.escrow = Some(EscrowRole::default());
        }
    });
    for i in 0..3 {
        net.connect(i, i + 1, WireParams::default());
    }
    assert!(net.run_until_cond(Duration::from_secs(30), |n| {
        (0..3).all(|i| n.established(i, i + 1))
    }));
    let r = open(&mut net, 0, &[1, 2, 3], Class::Bulk, RouteKind::Stream);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let pseudonym = Identity::generate(SuiteKind::Modeled, &mut rng);
    let pk = *pseudonym.public_key();
    let mut receipt = crate::wire::receipt::Receipt {
        pseudonym: pk,
        relay: net.identities[1].address(),
        bytes: 1_000,
        back: 0,
        owed: 500,
        seq: 1,
        signature: [0; 64],
    };
    crate::pay::receipt::sign(SuiteKind::Modeled.suite(), pseudonym.secret(), &mut receipt)
        .unwrap();
    let requests = [
        EscrowRequest::Open(pk),
        EscrowRequest::Deposit(pk, 2 * COIN),
        EscrowRequest::Check(pk, COIN),
        EscrowRequest::Redeem(receipt),
        EscrowRequest::Redeem(receipt),
    ];
    for (id, q) in requests.iter().enumerate() {
        net.nodes[0].route_send(r, q.encode(id as u32)).unwrap();
    }
    net.input(0, Input::Timeout);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| route_messages(n, 0).len() == 5));
    let answers: Vec<_> = route_messages(&net, 0)
        .iter()
        .map(|m| EscrowAnswer::decode(m).expect("an answer"))
        .collect();
    use crate::wire::escrow::EscrowRefusal;
    assert_eq!(
        answers,
        vec![
            (0, EscrowAnswer::Done(0)),
            (1, EscrowAnswer::Done(2 * COIN)),
            (2, EscrowAnswer::Yes(true)),
            (3, EscrowAnswer::Done(500)),
            (4, EscrowAnswer::Refused(EscrowRefusal::Replayed)),
        ]
    );
    assert!(route_messages(&net, 3).is_empty());
    let escrow = net.nodes[3].escrow().expect("the role");
    assert_eq!(
        escrow.ledger.relay_balance(&net.identities[1].address()).0,
        500
    );
    assert_eq!(escrow.ledger.conservation_error(), 0);
}
