//! The escrow role against its clients: every request, and a hostile
//! client (malformed requests, forged withdrawals, a flood of accounts).

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::escrow::Limits;
use super::money::COIN;
use super::receipt;
use super::service::{EscrowRole, EscrowService};
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity, PublicKey};
use crate::wire::escrow::{
    EscrowAnswer, EscrowRefusal, EscrowRequest, refund_digest, withdraw_digest,
};
use crate::wire::receipt::Receipt;

fn ask(s: &mut EscrowService, id: u32, q: EscrowRequest) -> EscrowAnswer {
    let bytes = s
        .handle(SuiteKind::Modeled.suite(), &q.encode(id))
        .expect("an answer");
    let (got, a) = EscrowAnswer::decode(&bytes).expect("an answer");
    assert_eq!(got, id);
    a
}

#[test]
fn accounts_receipts_and_withdrawals_over_the_wire() {
    let suite = SuiteKind::Modeled;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut s = EscrowService::new(EscrowRole {
        fee_ppm: 10_000,
        ..EscrowRole::default()
    });
    let origin = Identity::generate(suite, &mut rng);
    let relay = Identity::generate(suite, &mut rng);
    let pk = *origin.public_key();
    assert_eq!(
        ask(&mut s, 1, EscrowRequest::Open(pk)),
        EscrowAnswer::Done(0)
    );
    assert_eq!(
        ask(&mut s, 2, EscrowRequest::Open(pk)),
        EscrowAnswer::Refused(EscrowRefusal::Exists)
    );
    assert_eq!(
        ask(&mut s, 3, EscrowRequest::Deposit(pk, 3 * COIN)),
        EscrowAnswer::Done(3 * COIN)
    );
    assert_eq!(
        ask(&mut s, 4, EscrowRequest::Check(pk, 3 * COIN)),
        EscrowAnswer::Yes(true)
    );
    assert_eq!(
        ask(&mut s, 5, EscrowRequest::Check(pk, 3 * COIN + 1)),
        EscrowAnswer::Yes(false)
    );
    let mut r = Receipt {
        pseudonym: pk,
        relay: relay.address(),
        bytes: 1_000_000,
        back: 0,
        owed: 2 * COIN,
        seq: 1,
        signature: [0; 64],
    };
    receipt::sign(suite.suite(), origin.secret(), &mut r).unwrap();
    let paid = 2 * COIN - 2 * COIN / 100;
    assert_eq!(
        ask(&mut s, 6, EscrowRequest::Redeem(r)),
        EscrowAnswer::Done(paid)
    );
    assert_eq!(
        ask(&mut s, 7, EscrowRequest::Redeem(r)),
        EscrowAnswer::Refused(EscrowRefusal::Replayed)
    );
    assert_eq!(
        ask(&mut s, 8, EscrowRequest::Balance(relay.address())),
        EscrowAnswer::Done(paid)
    );
    // A withdrawal signed by someone else is refused; the relay's own is
    // paid; the same address again is refused.
    let to = [0x42; 32];
    let forged = suite
        .suite()
        .sign(origin.secret(), &withdraw_digest(&to))
        .unwrap();
    let w = |signature| EscrowRequest::Withdraw {
        key: *relay.public_key(),
        to,
        signature,
    };
    assert_eq!(
        ask(&mut s, 9, w(forged)),
        EscrowAnswer::Refused(EscrowRefusal::BadSignature)
    );
    let good = suite
        .suite()
        .sign(relay.secret(), &withdraw_digest(&to))
        .unwrap();
    assert_eq!(ask(&mut s, 10, w(good)), EscrowAnswer::Done(paid));
    assert_eq!(
        ask(&mut s, 11, w(good)),
        EscrowAnswer::Refused(EscrowRefusal::BelowThreshold)
    );
    assert_eq!(s.ledger.conservation_error(), 0);
    assert_eq!((s.stats.answered, s.stats.bad_signatures), (11, 1));
    // The origin takes back what its account has left: signed by the
    // pseudonym (the relay cannot), once; the account is closed after.
    let back = [0x43; 32];
    let refund = |signature| EscrowRequest::Refund {
        pseudonym: pk,
        to: back,
        signature,
    };
    let by_relay = suite
        .suite()
        .sign(relay.secret(), &refund_digest(&back))
        .unwrap();
    assert_eq!(
        ask(&mut s, 12, refund(by_relay)),
        EscrowAnswer::Refused(EscrowRefusal::BadSignature)
    );
    let own = suite
        .suite()
        .sign(origin.secret(), &refund_digest(&back))
        .unwrap();
    assert_eq!(ask(&mut s, 13, refund(own)), EscrowAnswer::Done(COIN));
    assert_eq!(
        ask(&mut s, 14, refund(own)),
        EscrowAnswer::Refused(EscrowRefusal::UnknownAccount)
    );
    r.owed = 2 * COIN + 1;
    r.seq = 2;
    receipt::sign(suite.suite(), origin.secret(), &mut r).unwrap();
    assert_eq!(
        ask(&mut s, 15, EscrowRequest::Redeem(r)),
        EscrowAnswer::Refused(EscrowRefusal::UnknownAccount)
    );
    assert_eq!(s.ledger.conservation_error(), 0);
}

#[test]
fn malformed_requests_and_floods_get_counted_and_bounded() {
    let mut s = EscrowService::new(EscrowRole {
        fee_ppm: 0,
        limits: Limits {
            accounts: 100,
            ..Limits::default()
        },
    });
    let suite = SuiteKind::Modeled.suite();
    // Not a request: no answer, counted.
    let ok = EscrowRequest::Balance(Address([1; 16])).encode(1);
    for bad in [
        &b"MSE1"[..],
        &ok[..ok.len() - 1],
        &[ok.clone(), vec![0]].concat(),
    ] {
        assert_eq!(s.handle(suite, bad), None);
    }
    assert_eq!(s.stats.malformed, 3);
    // 10,000 accounts asked for: 100 opened, the rest refused (full).
    let mut full = 0;
    for i in 0..10_000u32 {
        let mut k = [2u8; 33];
        k[1..5].copy_from_slice(&i.to_be_bytes());
        if ask(&mut s, i, EscrowRequest::Open(PublicKey(k)))
            == EscrowAnswer::Refused(EscrowRefusal::Full)
        {
            full += 1;
        }
    }
    assert_eq!(full, 9_900);
    assert_eq!(s.ledger.stats.full, 9_900);
}
