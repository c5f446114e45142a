//! The escrow's ledger against forged, replayed, oversized and flooding
//! requests, and conservation over random operations.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::escrow::{Escrow, Limits, Refused};
use super::money::{COIN, Droplets};
use super::receipt;
use crate::crypto::{CryptoSuite, SuiteKind};
use crate::identity::{Address, Identity, PublicKey, SecretKey};
use crate::wire::receipt::Receipt;

fn suite() -> &'static dyn CryptoSuite {
    SuiteKind::Modeled.suite()
}

fn pseudonym(seed: u64) -> (SecretKey, PublicKey) {
    let id = Identity::generate(SuiteKind::Modeled, &mut ChaCha20Rng::seed_from_u64(seed));
    (id.secret().clone(), *id.public_key())
}

fn receipt(secret: &SecretKey, relay: Address, owed: u64, seq: u64) -> Receipt {
    let mut r = Receipt {
        pseudonym: PublicKey([0; 33]),
        relay,
        bytes: owed * 1000,
        back: 0,
        owed,
        seq,
        signature: [0; 64],
    };
    receipt::sign(suite(), secret, &mut r).expect("a valid key");
    r
}

#[test]
fn receipts_pay_once_and_forged_replayed_or_uncovered_ones_nothing() {
    let mut e = Escrow::new(Limits::default(), 100_000); // a 10% fee
    let (sk, pk) = pseudonym(1);
    let relay = Address([5; 16]);
    e.open(pk).unwrap();
    assert_eq!(e.open(pk), Err(Refused::Exists));
    e.deposit(&pk, Droplets(3 * COIN)).unwrap();
    assert!(e.can_pay(&pk, Droplets(3 * COIN)));
    assert!(!e.can_pay(&pk, Droplets(3 * COIN + 1)));
    // Cumulative: the second pays only what it adds.
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 1000, 1)),
        Ok(Droplets(900))
    );
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 2500, 2)),
        Ok(Droplets(1350))
    );
    // Replayed, or an older one after a newer: nothing.
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 2500, 2)),
        Err(Refused::Replayed)
    );
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 1000, 1)),
        Err(Refused::Replayed)
    );
    // A newer sequence owing less: refused too.
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 2000, 3)),
        Err(Refused::Replayed)
    );
    // Forged: a changed field, or signed by another key.
    let mut forged = receipt(&sk, relay, 9000, 4);
    forged.owed = 90_000;
    assert_eq!(e.redeem(suite(), &forged), Err(Refused::Forged));
    let (other, _) = pseudonym(2);
    let mut stolen = receipt(&other, relay, 9000, 4);
    stolen.pseudonym = pk;
    assert_eq!(e.redeem(suite(), &stolen), Err(Refused::Forged));
    // Drawn on an account never opened.
    assert_eq!(
        e.redeem(suite(), &receipt(&other, relay, 10, 1)),
        Err(Refused::UnknownAccount)
    );
    // Beyond the deposit: refused whole (the relay's credit limit is its
    // risk), and the account keeps what it had.
    let before = e.balance(&pk).unwrap();
    assert_eq!(
        e.redeem(suite(), &receipt(&sk, relay, 4 * COIN, 5)),
        Err(Refused::BeyondDeposit)
    );
    assert_eq!(e.balance(&pk), Some(before));
    let s = e.stats;
    assert_eq!(
        (
            s.redeemed,
            s.replayed,
            s.forged,
            s.unknown_account,
            s.beyond_deposit
        ),
        (2, 3, 2, 1, 1)
    );
    assert_eq!(e.relay_balance(&relay), Droplets(2250));
    assert_eq!(e.fees(), 250);
    assert_eq!(e.conservation_error(), 0);
}

#[test]
fn withdrawals_need_the_threshold_and_a_fresh_address() {
    let mut e = Escrow::new(Limits::default(), 0);
    let (sk, pk) = pseudonym(3);
    let relay = Address([6; 16]);
    e.open(pk).unwrap();
    e.deposit(&pk, Droplets(5 * COIN)).unwrap();
    e.redeem(suite(), &receipt(&sk, relay, COIN - 1, 1))
        .unwrap();
    assert_eq!(e.withdraw(&relay, [1; 32]), Err(Refused::BelowThreshold));
    e.redeem(suite(), &receipt(&sk, relay, 2 * COIN, 2))
        .unwrap();
    let w = e.withdraw(&relay, [1; 32]).unwrap();
    assert_eq!(w.amount, Droplets(2 * COIN));
    assert_eq!(e.relay_balance(&relay), Droplets(0));
    e.redeem(suite(), &receipt(&sk, relay, 3 * COIN, 3))
        .unwrap();
    assert_eq!(e.withdraw(&relay, [1; 32]), Err(Refused::UsedAddress));
    assert!(e.withdraw(&relay, [2; 32]).is_ok());
    assert_eq!(e.withdrawals.len(), 2);
    assert_eq!(e.stats.withdrawals_refused, 2);
    assert_eq!(e.conservation_error(), 0);
}

#[test]
fn a_client_that_floods_accounts_or_pairs_hits_the_bounds() {
    let limits = Limits {
        accounts: 8,
        redeemed: 4,
        relays: 3,
        addresses: 2,
    };
    let mut e = Escrow::new(limits, 0);
    let keys: Vec<_> = (0..20).map(pseudonym).collect();
    let opened = keys.iter().filter(|(_, pk)| e.open(*pk).is_ok()).count();
    assert_eq!(opened, 8);
    assert_eq!(e.stats.full, 12);
    let (sk, pk) = &keys[0];
    e.deposit(pk, Droplets(COIN)).unwrap();
    // Receipts to ever new relays: three relays, four pairs at most.
    let paid = (0..10u8)
        .filter(|&i| {
            e.redeem(suite(), &receipt(sk, Address([i; 16]), 10, 1))
                .is_ok()
        })
        .count();
    assert_eq!(paid, 3);
    assert_eq!(e.conservation_error(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn coins_are_conserved_whatever_is_asked(
        ops in proptest::collection::vec((0u8..4, 0usize..3, 0usize..3, 0u64..3 * COIN, 0u64..6), 1..60),
        fee in 0u32..300_000,
    ) {
        let mut e = Escrow::new(Limits::default(), fee);
        let keys: Vec<_> = (10..13).map(pseudonym).collect();
        for (_, pk) in &keys {
            e.open(*pk).unwrap();
        }
        let relays = [Address([1; 16]), Address([2; 16]), Address([3; 16])];
        let mut addr = 0u8;
        for (op, who, relay, amount, seq) in ops {
            let (sk, pk) = &keys[who];
            match op {
                0 => { let _ = e.deposit(pk, Droplets(amount)); }
                1 => { let _ = e.redeem(suite(), &receipt(sk, relays[relay], amount, seq)); }
                2 => {
                    addr = addr.wrapping_add(1);
                    let _ = e.withdraw(&relays[relay], [addr; 32]);
                }
                _ => {
                    let mut r = receipt(sk, relays[relay], amount, seq);
                    r.owed = r.owed.wrapping_add(1);
                    prop_assert_eq!(e.redeem(suite(), &r), Err(Refused::Forged));
                }
            }
            prop_assert_eq!(e.conservation_error(), 0);
        }
    }
}
