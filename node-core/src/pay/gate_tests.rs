//! A route's payments end to end, as pure state: the origin's payer, the
//! relays' gates, and the escrow that redeems what the gates kept.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::escrow::{Escrow, Limits};
use super::gate::{Gate, GateRefusal};
use super::money::{COIN, Droplets, Price};
use super::payer::Payer;
use crate::crypto::SuiteKind;
use crate::identity::Address;

fn relays() -> Vec<(Address, Price)> {
    // Three relays at different prices: 2,000, 5,000 and 13,000 droplets
    // (0.002 to 0.013 coin) per MB.
    vec![
        (Address([1; 16]), Price::per_mb(2_000)),
        (Address([2; 16]), Price::per_mb(5_000)),
        (Address([3; 16]), Price::per_mb(13_000)),
    ]
}

#[test]
fn relays_pause_at_their_credit_and_receipts_resume_them_without_deadlock() {
    let suite = SuiteKind::Modeled;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut payer = Payer::with_relays(suite, &relays(), &mut rng);
    // Each grants what 50 kB costs it.
    let mut gates: Vec<Gate> = relays()
        .iter()
        .map(|&(a, p)| Gate::new(a, p, Droplets(p.per_gb / 20_000), 0))
        .collect();
    let (total, chunk) = (10_000_000u64, 1_200u64);
    let (mut sent, mut rounds) = (0u64, 0u32);
    while sent < total {
        rounds += 1;
        assert!(rounds < 100_000, "stuck at {sent} bytes");
        let n = chunk.min(total - sent);
        if gates.iter_mut().all(|g| g.may_forward(0, n)) {
            for g in &mut gates {
                g.forwarded(0, n);
            }
            payer.carried(0, n);
            sent += n;
        } else {
            // A paused relay: the origin.s receipts go on the control
            // channel, which the pause does not hold.
            for (i, g) in gates.iter_mut().enumerate() {
                let r = payer.receipt(i).unwrap();
                g.on_receipt(suite.suite(), &r).unwrap();
            }
        }
    }
    // The route paused again and again (each relay grants what 50 kB
    // costs it: about one pause per 50 kB), and always resumed.
    let pauses: u64 = gates.iter().map(|g| g.stats.pauses).sum();
    assert!(pauses > 150, "{pauses}");
    for (g, (_, price)) in gates.iter().zip(relays()) {
        assert_eq!(g.bytes(), total);
        assert!(g.unpaid().0 <= price.per_gb / 20_000);
    }
    // The escrow redeems each gate's best receipt: each relay is paid what
    // its own count says it carried, less what is unpaid, less the fee.
    let mut e = Escrow::new(Limits::default(), 50_000);
    for i in 0..3 {
        let pk = *payer.pseudonym(i).unwrap();
        e.open(pk).unwrap();
        e.deposit(&pk, Droplets(COIN)).unwrap();
    }
    for (g, (relay, price)) in gates.iter().zip(relays()) {
        let best = g.best().unwrap();
        let paid = e.redeem(suite.suite(), best).unwrap();
        let owed = total as u128 * u128::from(price.per_gb) / 1_000_000_000;
        assert!(u128::from(best.owed) + u128::from(g.unpaid().0) == owed);
        assert_eq!(paid, e.relay_balance(&relay));
    }
    assert_eq!(e.conservation_error(), 0);
    // Pseudonyms: one per relay, none the same.
    let p: Vec<_> = (0..3).map(|i| *payer.pseudonym(i).unwrap()).collect();
    assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
}

#[test]
fn no_credit_setting_stops_a_route_for_good() {
    // A credit of 0, and one below a chunk's cost: a chunk per receipt.
    let suite = SuiteKind::Modeled;
    for credit in [0, 1] {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let r = relays();
        let mut payer = Payer::with_relays(suite, &r[2..], &mut rng);
        let mut g = Gate::new(r[2].0, r[2].1, Droplets(credit), 0);
        let (mut sent, mut rounds) = (0u64, 0u32);
        while sent < 120_000 {
            rounds += 1;
            assert!(rounds < 1_000, "credit {credit}: stuck at {sent}");
            if g.may_forward(0, 1_200) {
                g.forwarded(0, 1_200);
                payer.carried(0, 1_200);
                sent += 1_200;
            } else {
                g.on_receipt(suite.suite(), &payer.receipt(0).unwrap())
                    .unwrap();
            }
            // Never more unpaid than one chunk's cost (15.6 droplets).
            assert!(g.unpaid().0 <= 16, "{:?}", g.unpaid());
        }
    }
}

#[test]
fn forged_foreign_and_stale_receipts_are_counted_and_resume_nothing() {
    let suite = SuiteKind::Modeled;
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let r = relays();
    let mut payer = Payer::with_relays(suite, &r, &mut rng);
    let mut other = Payer::with_relays(suite, &r, &mut rng);
    let mut g = Gate::new(r[0].0, r[0].1, Droplets(1), 0);
    // Half a MB forwarded (1,000 droplets unpaid): 1 MB more is past the
    // credit of 1.
    g.forwarded(0, 500_000);
    assert!(!g.may_forward(0, 1_000_000));
    payer.carried(0, 1_000_000);
    other.carried(0, 1_000_000);
    let good = payer.receipt(0).unwrap();
    // Forged: a field changed after signing.
    let mut forged = good;
    forged.owed += 1_000;
    assert_eq!(
        g.on_receipt(suite.suite(), &forged),
        Err(GateRefusal::Forged)
    );
    // For relay 2, not this one.
    let theirs = payer.receipt(1).unwrap();
    assert_eq!(
        g.on_receipt(suite.suite(), &theirs),
        Err(GateRefusal::Foreign)
    );
    // The real one binds the route's pseudonym; another's is foreign after.
    assert_eq!(g.on_receipt(suite.suite(), &good), Ok(()));
    let stranger = other.receipt(0).unwrap();
    assert_eq!(
        g.on_receipt(suite.suite(), &stranger),
        Err(GateRefusal::Foreign)
    );
    // Replayed.
    assert_eq!(g.on_receipt(suite.suite(), &good), Err(GateRefusal::Stale));
    let s = g.stats;
    assert_eq!((s.receipts, s.forged, s.foreign, s.stale), (1, 1, 2, 1));
    assert_eq!(g.best(), Some(&good));
    // Paid in full (the receipt covers 1 MB), it forwards again.
    assert!(g.may_forward(0, 1_000));
}

#[test]
fn an_inflated_invoice_gets_receipts_sooner_but_never_more_than_the_origin_counted() {
    let suite = SuiteKind::Modeled;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let r = relays();
    let mut payer = Payer::with_relays(suite, &r[..1], &mut rng);
    payer.carried(0, 100_000);
    let first = payer.receipt(0).unwrap();
    // The relay claims it carried 1 TB: the origin pays when its own count
    // grows, and only what it counted.
    payer.invoice(0, 1 << 40);
    assert!(payer.due().is_empty(), "nothing new counted");
    payer.carried(0, 1_000);
    assert_eq!(payer.due(), vec![0]);
    let next = payer.receipt(0).unwrap();
    assert_eq!(next.bytes, 101_000);
    assert_eq!(next.owed, 101_000 * 2_000 / 1_000_000);
    assert!(next.owed > first.owed);
}
