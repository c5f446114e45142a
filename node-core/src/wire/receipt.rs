//! Payment receipts (issue 15): what an origin signs for a relay of its
//! route, under a pseudonym of its own for that relay alone.
//!
//! ```text
//! version (1: 0x01) | pseudonym (33, compressed secp256k1 point) | relay (16, address)
//! | bytes (8, BE) | back (8, BE) | owed (8, BE, droplets) | seq (8, BE) | signature (64)
//! ```
//!
//! 146 bytes, one size. `bytes`, `back` and `owed` are cumulative (all the
//! relay carried for this pseudonym so far, of which `back` toward the
//! origin, and all it is owed for it: a relay's credit holds per
//! direction, see `pay::gate`), `seq`
//! counts up: a receipt replaces the ones before it, so losing one loses
//! nothing, and redeeming an old one again pays nothing (see `pay`).

use crate::identity::{Address, PUBLIC_KEY_LEN, PublicKey};

/// A signed receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The origin's pseudonym toward this relay (the key that signs, and
    /// the escrow account it draws on).
    pub pseudonym: PublicKey,
    /// The relay paid (its payout account at the escrow).
    pub relay: Address,
    /// Bytes the relay carried for the pseudonym, in all.
    pub bytes: u64,
    /// Of which toward the origin (at most `bytes`).
    pub back: u64,
    /// Droplets owed for them, in all.
    pub owed: u64,
    /// Counts up with every receipt of the pseudonym to the relay.
    pub seq: u64,
    /// The pseudonym's signature over the fields above.
    pub signature: [u8; 64],
}

/// Why bytes are not a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not [`Receipt::LEN`] bytes.
    #[error("a receipt is 146 bytes")]
    Length,
    /// An unknown version.
    #[error("unknown receipt version {0}")]
    Version(u8),
}

impl Receipt {
    /// Encoded length.
    pub const LEN: usize = 1 + PUBLIC_KEY_LEN + 16 + 8 + 8 + 8 + 8 + 64;
    /// The version written.
    pub const VERSION: u8 = 1;

    /// The fields the signature covers, encoded.
    pub fn signed_fields(&self) -> [u8; Self::LEN - 64] {
        let mut b = [0u8; Self::LEN - 64];
        b[0] = Self::VERSION;
        b[1..34].copy_from_slice(&self.pseudonym.0);
        b[34..50].copy_from_slice(&self.relay.0);
        b[50..58].copy_from_slice(&self.bytes.to_be_bytes());
        b[58..66].copy_from_slice(&self.back.to_be_bytes());
        b[66..74].copy_from_slice(&self.owed.to_be_bytes());
        b[74..82].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Encodes the receipt.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..Self::LEN - 64].copy_from_slice(&self.signed_fields());
        b[Self::LEN - 64..].copy_from_slice(&self.signature);
        b
    }

    /// Decodes a receipt (the signature is not checked here: `pay`
    /// verifies it). Never panics.
    pub fn decode(b: &[u8]) -> Result<Receipt, ReceiptError> {
        if b.len() != Self::LEN {
            return Err(ReceiptError::Length);
        }
        if b[0] != Self::VERSION {
            return Err(ReceiptError::Version(b[0]));
        }
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Ok(Receipt {
            pseudonym: PublicKey(b[1..34].try_into().expect("33 bytes")),
            relay: Address(b[34..50].try_into().expect("16 bytes")),
            bytes: u64_at(50),
            back: u64_at(58),
            owed: u64_at(66),
            seq: u64_at(74),
            signature: b[82..].try_into().expect("64 bytes"),
        })
    }
}

/// The length of every payment message a ROUTE_PAY frame carries (from
/// the origin to a hop, under the onion), padding included: room for a
/// receipt and for a later message kind.
pub const PAY_MSG_LEN: usize = 160;

/// A payment message for a hop: its receipt, padded with zeros to
/// [`PAY_MSG_LEN`]. (The receipt's version byte is the message's kind.)
pub fn encode_pay(r: &Receipt) -> Vec<u8> {
    let mut out = Vec::with_capacity(PAY_MSG_LEN);
    out.extend_from_slice(&r.encode());
    out.resize(PAY_MSG_LEN, 0);
    out
}

/// Decodes a payment message; `None` if it is not one (never panics): the
/// length must be [`PAY_MSG_LEN`] and the padding zeros.
pub fn decode_pay(b: &[u8]) -> Option<Receipt> {
    if b.len() != PAY_MSG_LEN || b[Receipt::LEN..].iter().any(|&p| p != 0) {
        return None;
    }
    Receipt::decode(&b[..Receipt::LEN]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_messages_round_trip_and_refuse_padding_and_sizes() {
        let r = Receipt {
            pseudonym: PublicKey([2; 33]),
            relay: Address([3; 16]),
            bytes: 5,
            back: 2,
            owed: 6,
            seq: 1,
            signature: [4; 64],
        };
        let m = encode_pay(&r);
        assert_eq!(m.len(), PAY_MSG_LEN);
        assert_eq!(decode_pay(&m), Some(r));
        let mut bad = m.clone();
        bad[PAY_MSG_LEN - 1] = 1;
        assert_eq!(decode_pay(&bad), None);
        assert_eq!(decode_pay(&m[..PAY_MSG_LEN - 1]), None);
        let mut v = m;
        v[0] = 9;
        assert_eq!(decode_pay(&v), None);
    }

    #[test]
    fn round_trips_and_refuses_other_sizes_and_versions() {
        let r = Receipt {
            pseudonym: PublicKey([2; 33]),
            relay: Address([3; 16]),
            bytes: 1 << 40,
            back: 1 << 39,
            owed: 12_345,
            seq: 7,
            signature: [9; 64],
        };
        let e = r.encode();
        assert_eq!(e.len(), Receipt::LEN);
        assert_eq!(Receipt::decode(&e), Ok(r));
        for cut in 0..e.len() {
            assert_eq!(Receipt::decode(&e[..cut]), Err(ReceiptError::Length));
        }
        let mut long = e.to_vec();
        long.push(0);
        assert_eq!(Receipt::decode(&long), Err(ReceiptError::Length));
        let mut v2 = e;
        v2[0] = 2;
        assert_eq!(Receipt::decode(&v2), Err(ReceiptError::Version(2)));
    }
}
