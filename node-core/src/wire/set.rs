//! Messages of a route set (`crate::sets`), end to end on each of the
//! set's routes, inside the routes' end-to-end encryption (no relay reads
//! them). The route's BEGIN names the set; every message on it is one of:
//!
//! ```text
//! DATA:  0x01 | seq (8) | low (8) | payload
//!                                    the set's message number `seq`; every
//!                                    message before `low` was confirmed
//! PROBE: 0x02 | nonce (8)            keeps a standby route alive and
//!                                    measures it; the receiver drops it
//! ```
//!
//! `seq` numbers one direction's messages across all of the set's routes:
//! the receiver puts them back in order and drops copies (a message sent
//! again on another route after its first route failed). `low` lets a
//! receiver that starts afresh (its end of the set closed and was opened
//! again, or a gateway chosen anew) start where the sender is, instead of
//! waiting forever for messages an earlier incarnation took.

/// The first byte of a DATA message.
pub const SET_DATA: u8 = 0x01;
/// The first byte of a PROBE message.
pub const SET_PROBE: u8 = 0x02;
/// Bytes a DATA message adds to its payload.
pub const SET_DATA_OVERHEAD: usize = 17;

/// A decoded set message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMessage<'a> {
    /// Message `seq` of the set.
    Data {
        /// Its number.
        seq: u64,
        /// Every message before this one was confirmed (at most `seq`).
        low: u64,
        /// Its contents.
        payload: &'a [u8],
    },
    /// A probe.
    Probe(u64),
}

impl<'a> SetMessage<'a> {
    /// Decodes a message; `None` if it is not one (never panics).
    pub fn decode(b: &'a [u8]) -> Option<SetMessage<'a>> {
        let (&t, rest) = b.split_first()?;
        let (n, rest) = rest.split_first_chunk::<8>()?;
        let n = u64::from_be_bytes(*n);
        match t {
            SET_DATA => {
                let (low, payload) = rest.split_first_chunk::<8>()?;
                let low = u64::from_be_bytes(*low);
                (low <= n).then_some(SetMessage::Data {
                    seq: n,
                    low,
                    payload,
                })
            }
            SET_PROBE if rest.is_empty() => Some(SetMessage::Probe(n)),
            _ => None,
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            SetMessage::Data { seq, low, payload } => {
                let mut v = Vec::with_capacity(SET_DATA_OVERHEAD + payload.len());
                v.push(SET_DATA);
                v.extend_from_slice(&seq.to_be_bytes());
                v.extend_from_slice(&low.to_be_bytes());
                v.extend_from_slice(payload);
                v
            }
            SetMessage::Probe(n) => {
                let mut v = vec![SET_PROBE];
                v.extend_from_slice(&n.to_be_bytes());
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_a_set_message() {
        for m in [
            SetMessage::Data {
                seq: 7,
                low: 3,
                payload: b"hello",
            },
            SetMessage::Data {
                seq: u64::MAX,
                low: 0,
                payload: b"",
            },
            SetMessage::Probe(3),
        ] {
            assert_eq!(SetMessage::decode(&m.encode()), Some(m));
        }
        for bad in [
            &[][..],
            &[1, 0, 0],
            &[2, 0, 0, 0, 0, 0, 0, 0, 0, 9],
            &[3; 12],
        ] {
            assert_eq!(SetMessage::decode(bad), None, "{bad:?}");
        }
    }
}
