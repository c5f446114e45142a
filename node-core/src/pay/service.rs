//! The escrow role (issue 15): a node that answers escrow requests
//! (`wire::escrow`) arriving as route messages, from its ledger. Pure: the
//! node hands it each message and sends back the answer on the same
//! route.
//!
//! What a client can make it hold is the ledger's bounds ([`Limits`]):
//! accounts, redeemed pairs, relays, used addresses; past them a request
//! is refused and counted. A malformed request is counted and gets no
//! answer (a client that cannot speak the format learns nothing from it).

use super::escrow::{Escrow, Limits, Refused};
use super::money::Droplets;
use crate::crypto::CryptoSuite;
use crate::identity::Address;
use crate::wire::escrow::{
    EscrowAnswer, EscrowRefusal, EscrowRequest, refund_digest, withdraw_digest,
};

/// The escrow role's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscrowRole {
    /// The fee on each redemption, parts per million.
    pub fee_ppm: u32,
    /// The ledger's bounds.
    pub limits: Limits,
}

/// Counters of the escrow role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Requests answered.
    pub answered: u64,
    /// Messages with the escrow's magic that are not a request (dropped).
    pub malformed: u64,
    /// WITHDRAWs not signed by the relay's key.
    pub bad_signatures: u64,
}

/// The escrow role's state.
#[derive(Debug, Clone)]
pub struct EscrowService {
    /// The ledger.
    pub ledger: Escrow,
    /// Counters.
    pub stats: ServiceStats,
}

fn refusal(r: Refused) -> EscrowRefusal {
    match r {
        Refused::Exists => EscrowRefusal::Exists,
        Refused::UnknownAccount => EscrowRefusal::UnknownAccount,
        Refused::Full => EscrowRefusal::Full,
        Refused::Forged => EscrowRefusal::Forged,
        Refused::Replayed => EscrowRefusal::Replayed,
        Refused::BeyondDeposit => EscrowRefusal::BeyondDeposit,
        Refused::BelowThreshold => EscrowRefusal::BelowThreshold,
        Refused::UsedAddress => EscrowRefusal::UsedAddress,
        Refused::Overflow => EscrowRefusal::Overflow,
    }
}

fn answer(r: Result<Droplets, Refused>) -> EscrowAnswer {
    match r {
        Ok(d) => EscrowAnswer::Done(d.0),
        Err(e) => EscrowAnswer::Refused(refusal(e)),
    }
}

impl EscrowService {
    /// An empty ledger with `role`'s settings.
    pub fn new(role: EscrowRole) -> EscrowService {
        EscrowService {
            ledger: Escrow::new(role.limits, role.fee_ppm),
            stats: ServiceStats::default(),
        }
    }

    /// Answers the request in `msg`; `None` (counted) if it is not one.
    pub fn handle(&mut self, suite: &dyn CryptoSuite, msg: &[u8]) -> Option<Vec<u8>> {
        let Some((id, req)) = EscrowRequest::decode(msg) else {
            self.stats.malformed += 1;
            return None;
        };
        let l = &mut self.ledger;
        let a = match req {
            EscrowRequest::Open(pk) => answer(l.open(pk).map(|()| Droplets(0))),
            EscrowRequest::Deposit(pk, amount) => {
                answer(l.deposit(&pk, Droplets(amount)).map(|()| Droplets(amount)))
            }
            EscrowRequest::Check(pk, amount) => EscrowAnswer::Yes(l.can_pay(&pk, Droplets(amount))),
            EscrowRequest::Redeem(r) => answer(l.redeem(suite, &r)),
            EscrowRequest::Withdraw { key, to, signature } => {
                if !suite.verify(&key, &withdraw_digest(&to), &signature) {
                    self.stats.bad_signatures += 1;
                    EscrowAnswer::Refused(EscrowRefusal::BadSignature)
                } else {
                    answer(l.withdraw(&Address::of(&key), to).map(|w| w.amount))
                }
            }
            EscrowRequest::Balance(a) => EscrowAnswer::Done(l.relay_balance(&a).0),
            EscrowRequest::Refund {
                pseudonym,
                to,
                signature,
            } => {
                if !suite.verify(&pseudonym, &refund_digest(&to), &signature) {
                    self.stats.bad_signatures += 1;
                    EscrowAnswer::Refused(EscrowRefusal::BadSignature)
                } else {
                    answer(l.refund(&pseudonym, to))
                }
            }
        };
        self.stats.answered += 1;
        Some(a.encode(id))
    }
}
