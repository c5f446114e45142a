//! Escrow messages (issue 15): what clients ask a node with the escrow
//! role, and its answers, carried as route messages over a route to it.
//!
//! Every message starts with the magic `MSE1` (so the escrow tells its
//! requests from other traffic on its routes), a kind byte and a request
//! id the answer repeats:
//!
//! ```text
//! "MSE1" | kind (1) | id (4, BE) | body
//!
//! requests:  0x01 OPEN     pseudonym (33)
//!            0x02 DEPOSIT  pseudonym (33) | amount (8)
//!            0x03 CHECK    pseudonym (33) | amount (8)      can it pay `amount`? yes or no
//!            0x04 REDEEM   receipt (146)
//!            0x05 WITHDRAW relay key (33) | to (32) | signature (64)   by the relay's key, over `to`
//!            0x06 BALANCE  relay (16)
//!            0x07 REFUND   pseudonym (33) | to (32) | signature (64)  by the pseudonym, over `to`
//! answers:   0x81 DONE     amount (8)    (OPEN: 0; DEPOSIT, REDEEM, WITHDRAW, BALANCE: droplets)
//!            0x82 REFUSED  why (1)
//!            0x83 ANSWER   yes (1)       (CHECK)
//! ```
//!
//! Each kind has one length; anything else is not a message (never a
//! panic). A DEPOSIT is taken as told: a real deployment checks the
//! payment on the chain behind it (not simulated).

use crate::identity::{Address, PUBLIC_KEY_LEN, PublicKey};
use crate::wire::receipt::Receipt;

/// The first bytes of every escrow message.
pub const ESCROW_MAGIC: [u8; 4] = *b"MSE1";

const HEAD: usize = 4 + 1 + 4;

/// A request to the escrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscrowRequest {
    /// Open the account of a pseudonym.
    Open(PublicKey),
    /// Deposit droplets into an account.
    Deposit(PublicKey, u64),
    /// Whether an account holds at least this much.
    Check(PublicKey, u64),
    /// Redeem a receipt (for its relay).
    Redeem(Receipt),
    /// Withdraw a relay's balance to `to`, signed by the relay's key.
    Withdraw {
        /// The relay's public key (its address is derived from it).
        key: PublicKey,
        /// A fresh address.
        to: [u8; 32],
        /// The relay's signature over `to` (see [`withdraw_digest`]).
        signature: [u8; 64],
    },
    /// A relay's balance.
    Balance(Address),
    /// Refund what a pseudonym's account has left to `to` (and close it),
    /// signed by the pseudonym.
    Refund {
        /// The account.
        pseudonym: PublicKey,
        /// A fresh address.
        to: [u8; 32],
        /// The pseudonym's signature over `to` (see [`refund_digest`]).
        signature: [u8; 64],
    },
}

/// Why the escrow refused (the ledger's reasons, and a malformed request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowRefusal {
    /// The account exists.
    Exists = 1,
    /// No such account.
    UnknownAccount = 2,
    /// A bound of the ledger is reached.
    Full = 3,
    /// The receipt's signature is not its pseudonym's.
    Forged = 4,
    /// A replayed or older receipt.
    Replayed = 5,
    /// It owes more than the account holds.
    BeyondDeposit = 6,
    /// The balance is below the withdrawal threshold.
    BelowThreshold = 7,
    /// The address was withdrawn to before.
    UsedAddress = 8,
    /// An amount out of range.
    Overflow = 9,
    /// A WITHDRAW not signed by the relay's key.
    BadSignature = 10,
}

impl EscrowRefusal {
    fn from_u8(b: u8) -> Option<EscrowRefusal> {
        use EscrowRefusal::*;
        Some(match b {
            1 => Exists,
            2 => UnknownAccount,
            3 => Full,
            4 => Forged,
            5 => Replayed,
            6 => BeyondDeposit,
            7 => BelowThreshold,
            8 => UsedAddress,
            9 => Overflow,
            10 => BadSignature,
            _ => return None,
        })
    }
}

/// The escrow's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowAnswer {
    /// Done; an amount where the request has one.
    Done(u64),
    /// Refused.
    Refused(EscrowRefusal),
    /// CHECK's answer.
    Yes(bool),
}

/// The digest a REFUND's signature covers.
pub fn refund_digest(to: &[u8; 32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"meshsim escrow refund v1");
    h.update(to);
    h.finalize().into()
}

/// The digest a WITHDRAW's signature covers.
pub fn withdraw_digest(to: &[u8; 32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"meshsim escrow withdraw v1");
    h.update(to);
    h.finalize().into()
}

fn head(kind: u8, id: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEAD + Receipt::LEN);
    b.extend_from_slice(&ESCROW_MAGIC);
    b.push(kind);
    b.extend_from_slice(&id.to_be_bytes());
    b
}

/// Whether `b` is an escrow message (by its magic; it may still be
/// malformed).
pub fn is_escrow(b: &[u8]) -> bool {
    b.starts_with(&ESCROW_MAGIC)
}

fn split(b: &[u8]) -> Option<(u8, u32, &[u8])> {
    if b.len() < HEAD || !is_escrow(b) {
        return None;
    }
    let id = u32::from_be_bytes(b[5..9].try_into().ok()?);
    Some((b[4], id, &b[HEAD..]))
}

fn key(b: &[u8]) -> Option<PublicKey> {
    Some(PublicKey(b.get(..PUBLIC_KEY_LEN)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl EscrowRequest {
    /// Encodes the request with id `id`.
    pub fn encode(&self, id: u32) -> Vec<u8> {
        match self {
            EscrowRequest::Open(pk) => {
                let mut b = head(0x01, id);
                b.extend_from_slice(&pk.0);
                b
            }
            EscrowRequest::Deposit(pk, amount) | EscrowRequest::Check(pk, amount) => {
                let kind = if matches!(self, EscrowRequest::Deposit(..)) {
                    0x02
                } else {
                    0x03
                };
                let mut b = head(kind, id);
                b.extend_from_slice(&pk.0);
                b.extend_from_slice(&amount.to_be_bytes());
                b
            }
            EscrowRequest::Redeem(r) => {
                let mut b = head(0x04, id);
                b.extend_from_slice(&r.encode());
                b
            }
            EscrowRequest::Refund {
                pseudonym,
                to,
                signature,
            } => {
                let mut b = head(0x07, id);
                b.extend_from_slice(&pseudonym.0);
                b.extend_from_slice(to);
                b.extend_from_slice(signature);
                b
            }
            EscrowRequest::Withdraw { key, to, signature } => {
                let mut b = head(0x05, id);
                b.extend_from_slice(&key.0);
                b.extend_from_slice(to);
                b.extend_from_slice(signature);
                b
            }
            EscrowRequest::Balance(a) => {
                let mut b = head(0x06, id);
                b.extend_from_slice(&a.0);
                b
            }
        }
    }

    /// Decodes a request and its id; `None` if it is not one.
    pub fn decode(b: &[u8]) -> Option<(u32, EscrowRequest)> {
        let (kind, id, body) = split(b)?;
        let want = match kind {
            0x01 => PUBLIC_KEY_LEN,
            0x02 | 0x03 => PUBLIC_KEY_LEN + 8,
            0x04 => Receipt::LEN,
            0x05 | 0x07 => PUBLIC_KEY_LEN + 32 + 64,
            0x06 => 16,
            _ => return None,
        };
        if body.len() != want {
            return None;
        }
        let req = match kind {
            0x01 => EscrowRequest::Open(key(body)?),
            0x02 => EscrowRequest::Deposit(key(body)?, u64_at(body, PUBLIC_KEY_LEN)?),
            0x03 => EscrowRequest::Check(key(body)?, u64_at(body, PUBLIC_KEY_LEN)?),
            0x04 => EscrowRequest::Redeem(Receipt::decode(body).ok()?),
            0x05 => EscrowRequest::Withdraw {
                key: key(body)?,
                to: body[PUBLIC_KEY_LEN..PUBLIC_KEY_LEN + 32].try_into().ok()?,
                signature: body[PUBLIC_KEY_LEN + 32..].try_into().ok()?,
            },
            0x07 => EscrowRequest::Refund {
                pseudonym: key(body)?,
                to: body[PUBLIC_KEY_LEN..PUBLIC_KEY_LEN + 32].try_into().ok()?,
                signature: body[PUBLIC_KEY_LEN + 32..].try_into().ok()?,
            },
            _ => EscrowRequest::Balance(Address(body.try_into().ok()?)),
        };
        Some((id, req))
    }
}

impl EscrowAnswer {
    /// Encodes the answer to request `id`.
    pub fn encode(&self, id: u32) -> Vec<u8> {
        match *self {
            EscrowAnswer::Done(amount) => {
                let mut b = head(0x81, id);
                b.extend_from_slice(&amount.to_be_bytes());
                b
            }
            EscrowAnswer::Refused(why) => {
                let mut b = head(0x82, id);
                b.push(why as u8);
                b
            }
            EscrowAnswer::Yes(yes) => {
                let mut b = head(0x83, id);
                b.push(u8::from(yes));
                b
            }
        }
    }

    /// Decodes an answer and the id it answers; `None` if it is not one.
    pub fn decode(b: &[u8]) -> Option<(u32, EscrowAnswer)> {
        let (kind, id, body) = split(b)?;
        let a = match (kind, body.len()) {
            (0x81, 8) => EscrowAnswer::Done(u64_at(body, 0)?),
            (0x82, 1) => EscrowAnswer::Refused(EscrowRefusal::from_u8(body[0])?),
            (0x83, 1) if body[0] <= 1 => EscrowAnswer::Yes(body[0] == 1),
            _ => return None,
        };
        Some((id, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips_and_every_cut_or_extension_is_refused() {
        let r = Receipt {
            pseudonym: PublicKey([2; 33]),
            relay: Address([3; 16]),
            bytes: 9,
            back: 4,
            owed: 7,
            seq: 1,
            signature: [5; 64],
        };
        let requests = [
            EscrowRequest::Open(PublicKey([2; 33])),
            EscrowRequest::Deposit(PublicKey([3; 33]), u64::MAX),
            EscrowRequest::Check(PublicKey([4; 33]), 1),
            EscrowRequest::Redeem(r),
            EscrowRequest::Withdraw {
                key: PublicKey([2; 33]),
                to: [8; 32],
                signature: [9; 64],
            },
            EscrowRequest::Balance(Address([1; 16])),
            EscrowRequest::Refund {
                pseudonym: PublicKey([3; 33]),
                to: [7; 32],
                signature: [6; 64],
            },
        ];
        for (i, q) in requests.into_iter().enumerate() {
            let e = q.encode(i as u32 + 7);
            assert_eq!(EscrowRequest::decode(&e), Some((i as u32 + 7, q)));
            for cut in 0..e.len() {
                assert_eq!(EscrowRequest::decode(&e[..cut]), None);
            }
            let mut long = e.clone();
            long.push(0);
            assert_eq!(EscrowRequest::decode(&long), None);
            assert_eq!(EscrowAnswer::decode(&e), None);
        }
        for a in [
            EscrowAnswer::Done(5),
            EscrowAnswer::Refused(EscrowRefusal::Replayed),
            EscrowAnswer::Yes(true),
            EscrowAnswer::Yes(false),
        ] {
            let e = a.encode(3);
            assert_eq!(EscrowAnswer::decode(&e), Some((3, a)));
            assert_eq!(EscrowRequest::decode(&e), None);
        }
        assert_eq!(EscrowAnswer::decode(&head(0x82, 1)), None);
        let mut bad = head(0x82, 1);
        bad.push(0);
        assert_eq!(EscrowAnswer::decode(&bad), None);
        assert!(!is_escrow(b"MSE"));
    }
}
