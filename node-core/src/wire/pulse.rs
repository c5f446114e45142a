//! One-way latency pulses (NOIA SR-WAN; `discovery::pulse`).
//!
//! ```text
//! PULSE frame (type 0xa1: discovery's range, not ack-eliciting):
//!     seq (4) | clock_ns (8)        the sender's clock when it sent it
//! ROW message (control channel, type 0x21): what one node measured of
//! the pulses it receives, for the group's sources to choose paths by:
//!     n (1), n <= MAX_ROW, each:
//!     from (16) | current_ns (8, signed) | baseline_ns (8, signed)
//! ```
//! A pulse is never sent again when lost: a late copy would measure the
//! retransmission, not the path. Measured one-way delays are the
//! receiver's clock minus the sender's, so they include the difference of
//! the two clocks (unknown, drifting): only changes of one pair's value,
//! and sums over paths with the same two ends, mean anything.

use super::varint::Reader;
use super::{Error, Result};
use crate::identity::Address;

/// The PULSE frame type.
pub const FRAME_PULSE: u8 = 0xa1;
/// The ROW control message type.
pub const MSG_ROW: u8 = 0x21;
/// Entries of a row, at most.
pub const MAX_ROW: usize = 64;
/// The body of a PULSE frame.
pub const PULSE_LEN: usize = 12;

/// A pulse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulse {
    /// The sender's pulse number.
    pub seq: u32,
    /// The sender's clock, ns.
    pub clock_ns: u64,
}

impl Pulse {
    /// The frame body.
    pub fn encode(&self) -> [u8; PULSE_LEN] {
        let mut b = [0u8; PULSE_LEN];
        b[..4].copy_from_slice(&self.seq.to_be_bytes());
        b[4..].copy_from_slice(&self.clock_ns.to_be_bytes());
        b
    }

    /// Parses a frame body.
    pub fn decode(b: &[u8]) -> Result<Pulse> {
        let b: &[u8; PULSE_LEN] = b.try_into().map_err(|_| Error::Invalid("pulse length"))?;
        Ok(Pulse {
            seq: u32::from_be_bytes(b[..4].try_into().expect("4 bytes")),
            clock_ns: u64::from_be_bytes(b[4..].try_into().expect("8 bytes")),
        })
    }
}

/// One entry of a row: what the row's sender measured of pulses `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowEntry {
    /// The pulses' sender.
    pub from: Address,
    /// Its one-way delay now (a median of the last pulses), ns, clock
    /// difference included.
    pub current_ns: i64,
    /// Its baseline (the least over a window), ns, likewise.
    pub baseline_ns: i64,
}

/// Encodes a ROW message (type byte included). At most [`MAX_ROW`]
/// entries are written.
pub fn encode_row(entries: &[RowEntry]) -> Vec<u8> {
    let n = entries.len().min(MAX_ROW);
    let mut v = Vec::with_capacity(2 + n * 32);
    v.push(MSG_ROW);
    v.push(n as u8);
    for e in &entries[..n] {
        v.extend_from_slice(&e.from.0);
        v.extend_from_slice(&e.current_ns.to_be_bytes());
        v.extend_from_slice(&e.baseline_ns.to_be_bytes());
    }
    v
}

/// Decodes a ROW message's body (after the type byte).
pub fn decode_row(b: &[u8]) -> Result<Vec<RowEntry>> {
    let mut r = Reader::new(b);
    let n = usize::from(r.u8()?);
    if n > MAX_ROW {
        return Err(Error::Invalid("row too long"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let from = Address(r.bytes(16)?.try_into().expect("16 bytes"));
        let current_ns = i64::from_be_bytes(r.bytes(8)?.try_into().expect("8 bytes"));
        let baseline_ns = i64::from_be_bytes(r.bytes(8)?.try_into().expect("8 bytes"));
        out.push(RowEntry {
            from,
            current_ns,
            baseline_ns,
        });
    }
    if !r.rest().is_empty() {
        return Err(Error::Invalid("trailing bytes in row"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulses_and_rows_round_trip_and_garbage_is_refused() {
        let p = Pulse {
            seq: 9,
            clock_ns: 1 << 40,
        };
        assert_eq!(Pulse::decode(&p.encode()), Ok(p));
        assert!(Pulse::decode(&[0; 11]).is_err());
        let row = vec![
            RowEntry {
                from: Address([1; 16]),
                current_ns: -5,
                baseline_ns: -7,
            },
            RowEntry {
                from: Address([2; 16]),
                current_ns: i64::MAX,
                baseline_ns: 0,
            },
        ];
        let b = encode_row(&row);
        assert_eq!(b[0], MSG_ROW);
        assert_eq!(decode_row(&b[1..]), Ok(row));
        assert!(decode_row(&b[1..b.len() - 1]).is_err());
        let mut long = b[1..].to_vec();
        long.push(0);
        assert!(decode_row(&long).is_err());
        assert!(decode_row(&[65]).is_err());
        assert!(decode_row(&[]).is_err());
    }
}
