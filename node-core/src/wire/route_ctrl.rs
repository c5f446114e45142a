//! Route control messages: between a route's origin and one of its hops,
//! carried inside onion-layered ROUTE_CTRL frames (only the addressed hop
//! can read one). Their codec lives here with every other byte format.
//!
//! ```text
//! forward (origin -> hop):  EXTEND { next: Address, eph_pub }   grow the route by one hop
//!                           BEGIN { class, kind, set? }         you are the destination
//!                                                               (set: the route belongs to the
//!                                                               route set of that 16-byte token)
//!                           SEGMENT { dest, mesh }              (n-order meshes) find the way on
//!                                                               to `dest` of mesh `mesh`
//! backward (hop -> origin): EXTENDED { eph_pub, static_pub, auth }   the new hop's answer
//!                           EXTEND_FAILED { reason }
//!                           DRAINING { side }   a link of this hop is being drained (issue 14):
//!                                               build around it and move before it goes
//!                           SEGMENT_HOPS { hops (1..=6), done }   the hops that continue the
//!                                               route (to `dest`, or to the next border node)
//!                           PRICE { per_gb, credit }   (payments, issue 15) this relay's price
//!                                               and the credit it grants the route
//!                           INVOICE { bytes, owed }   this relay paused the route: what it
//!                                               counts carried and owed
//! ```
//!
//! (The origin's receipts to its relays go forward in ROUTE_PAY frames,
//! `wire::receipt`, not here: relays bound the control messages they pass
//! on by the path length.)
//!
//! Every message is padded with zeros to [`CTRL_MSG_LEN`] bytes, so every
//! control frame of every route has one size: a relay cannot tell an
//! EXTEND from a BEGIN (its distance to the destination) or an EXTENDED
//! from an EXTEND_FAILED by length, and no control frame can be too large
//! for a link to carry.

use super::Class;
use crate::identity::Address;

/// The length of every encoded control message (the longest, EXTENDED, is
/// 99 bytes), padding included.
pub const CTRL_MSG_LEN: usize = 112;

/// How a route carries data end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// A reliable, ordered stream of messages.
    Stream,
    /// Unreliable datagrams (UDP-like) in the end-to-end mode; a stream in
    /// store-and-forward mode, where every hop delivers reliably anyway.
    Datagram,
}

/// Why a hop could not extend a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendFailure {
    /// The hop has no established link to the requested next hop.
    NoLink,
    /// The next hop did not answer in time, or refused.
    NoAnswer,
    /// The next hop's answer did not prove its key.
    BadAnswer,
    /// The hop refused: the path is longer than it allows, turns straight
    /// back, or the hop's bounds (entries, credit) are reached.
    Refused,
}

/// Which of a hop's links on a route is being drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainSide {
    /// The link towards the origin (to the previous hop).
    TowardOrigin,
    /// The link towards the destination (to the next hop).
    TowardDestination,
}

/// A control message of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    /// Extend the route to `next`, handing it the origin's ephemeral key.
    /// The receiving hop becomes a relay of class `class`.
    Extend {
        /// The next hop's address.
        next: Address,
        /// The origin's ephemeral key for that hop.
        eph_pub: [u8; 33],
        /// The route's class (relays schedule by it).
        class: Class,
    },
    /// The receiving hop is the destination.
    Begin {
        /// The route's class.
        class: Class,
        /// The route's kind.
        kind: RouteKind,
        /// The route set the route belongs to (`crate::sets`): only the
        /// destination reads it, under the onion.
        set: Option<[u8; 16]>,
    },
    /// The new hop's answer to an EXTEND, for the origin to verify.
    Extended {
        /// Its ephemeral key.
        eph_pub: [u8; 33],
        /// Its static key.
        static_pub: [u8; 33],
        /// Proof that it holds the static key.
        auth: [u8; 16],
    },
    /// The extension failed.
    ExtendFailed(ExtendFailure),
    /// The sending hop drains one of its links on the route: the route
    /// will break when the link goes, so the origin builds another around
    /// it and moves its traffic first (make before break). Sent on live
    /// routes too, unlike the other backward messages.
    Draining(DrainSide),
    /// To the route's last hop, a border node (n-order meshes): compute
    /// the way on to `dest`, a node of mesh `mesh` the origin's database
    /// does not hold, in this hop's own meshes (a segment).
    Segment {
        /// The node the route is for.
        dest: Address,
        /// Its mesh.
        mesh: u16,
    },
    /// The border node's answer to a SEGMENT: the hops after it, which the
    /// origin extends the route through as through its own path; `done`:
    /// the last is `dest` (else it is the next border node, asked again).
    SegmentHops {
        /// 1 to [`MAX_SEGMENT_HOPS`] hops.
        hops: Vec<Address>,
        /// Whether the last hop is the destination.
        done: bool,
    },
    /// A relay's terms (payments): its price in droplets per GB, and the
    /// credit in droplets it grants the route before it pauses it.
    Price {
        /// Droplets per 10^9 bytes.
        per_gb: u64,
        /// Droplets it carries unpaid, at most.
        credit: u64,
    },
    /// A relay paused the route for want of a receipt: what it counts
    /// carried and owed (the origin pays what its own count says).
    Invoice {
        /// Bytes carried, in all.
        bytes: u64,
        /// Droplets owed for them, in all.
        owed: u64,
    },
}

/// Hops one SEGMENT_HOPS carries, at most (six addresses fill the message).
pub const MAX_SEGMENT_HOPS: usize = 6;

impl ControlMessage {
    /// Encodes the message, padded to [`CTRL_MSG_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CTRL_MSG_LEN);
        match self {
            ControlMessage::Extend {
                next,
                eph_pub,
                class,
            } => {
                out.push(0x01);
                out.extend_from_slice(&next.0);
                out.extend_from_slice(eph_pub);
                out.push(class.to_u8());
            }
            ControlMessage::Begin { class, kind, set } => {
                out.push(0x02);
                out.push(class.to_u8());
                out.push(match kind {
                    RouteKind::Stream => 0,
                    RouteKind::Datagram => 1,
                });
                // Absent, the flag is the padding's zero: a BEGIN of a
                // version without sets reads as "no set".
                match set {
                    Some(t) => {
                        out.push(1);
                        out.extend_from_slice(t);
                    }
                    None => out.push(0),
                }
            }
            ControlMessage::Extended {
                eph_pub,
                static_pub,
                auth,
            } => {
                out.push(0x81);
                out.extend_from_slice(eph_pub);
                out.extend_from_slice(static_pub);
                out.extend_from_slice(auth);
            }
            ControlMessage::ExtendFailed(reason) => {
                out.push(0x82);
                out.push(match reason {
                    ExtendFailure::NoLink => 1,
                    ExtendFailure::NoAnswer => 2,
                    ExtendFailure::BadAnswer => 3,
                    ExtendFailure::Refused => 4,
                });
            }
            ControlMessage::Draining(side) => {
                out.push(0x83);
                out.push(match side {
                    DrainSide::TowardOrigin => 1,
                    DrainSide::TowardDestination => 2,
                });
            }
            ControlMessage::Segment { dest, mesh } => {
                out.push(0x03);
                out.extend_from_slice(&dest.0);
                out.extend_from_slice(&mesh.to_be_bytes());
            }
            ControlMessage::SegmentHops { hops, done } => {
                // Encoding a message out of bounds is a bug of the caller:
                // the hops are cut to what one message holds (and a
                // decoder refuses an empty list).
                let n = hops.len().min(MAX_SEGMENT_HOPS);
                out.push(0x84);
                out.push(n as u8 | if *done { 0x80 } else { 0 });
                for h in &hops[..n] {
                    out.extend_from_slice(&h.0);
                }
            }
            ControlMessage::Price { per_gb, credit } => {
                out.push(0x85);
                out.extend_from_slice(&per_gb.to_be_bytes());
                out.extend_from_slice(&credit.to_be_bytes());
            }
            ControlMessage::Invoice { bytes, owed } => {
                out.push(0x86);
                out.extend_from_slice(&bytes.to_be_bytes());
                out.extend_from_slice(&owed.to_be_bytes());
            }
        }
        out.resize(CTRL_MSG_LEN, 0);
        out
    }

    /// Decodes a message; `None` if it is not one (never panics): the
    /// length must be [`CTRL_MSG_LEN`] and the padding zeros.
    pub fn decode(b: &[u8]) -> Option<ControlMessage> {
        if b.len() != CTRL_MSG_LEN {
            return None;
        }
        let (&t, rest) = b.split_first()?;
        let arr33 = |s: &[u8]| -> Option<[u8; 33]> { s.try_into().ok() };
        let used = match t {
            0x01 => 50,
            0x02 => 19,
            0x81 => 82,
            0x82 | 0x83 => 1,
            0x03 => 18,
            0x85 | 0x86 => 16,
            0x84 => 1 + 16 * usize::from(rest.first().map_or(0, |c| c & 0x7f)),
            _ => return None,
        };
        if used > rest.len() {
            return None;
        }
        let (rest, padding) = rest.split_at(used);
        if padding.iter().any(|&p| p != 0) {
            return None;
        }
        match t {
            0x01 => Some(ControlMessage::Extend {
                next: Address(rest[..16].try_into().ok()?),
                eph_pub: arr33(&rest[16..49])?,
                class: Class::from_u8(rest[49])?,
            }),
            0x02 => Some(ControlMessage::Begin {
                class: Class::from_u8(rest[0])?,
                kind: match rest[1] {
                    0 => RouteKind::Stream,
                    1 => RouteKind::Datagram,
                    _ => return None,
                },
                set: match rest[2] {
                    0 if rest[3..19].iter().all(|&b| b == 0) => None,
                    1 => Some(rest[3..19].try_into().ok()?),
                    _ => return None,
                },
            }),
            0x81 => Some(ControlMessage::Extended {
                eph_pub: arr33(&rest[..33])?,
                static_pub: arr33(&rest[33..66])?,
                auth: rest[66..].try_into().ok()?,
            }),
            0x03 => Some(ControlMessage::Segment {
                dest: Address(rest[..16].try_into().ok()?),
                mesh: u16::from_be_bytes(rest[16..18].try_into().ok()?),
            }),
            0x84 => {
                let n = usize::from(rest[0] & 0x7f);
                if n == 0 || n > MAX_SEGMENT_HOPS {
                    return None;
                }
                let hops = rest[1..used]
                    .chunks_exact(16)
                    .map(|c| Address(c.try_into().expect("16 bytes")))
                    .collect();
                Some(ControlMessage::SegmentHops {
                    hops,
                    done: rest[0] & 0x80 != 0,
                })
            }
            0x85 | 0x86 => {
                let a = u64::from_be_bytes(rest[..8].try_into().ok()?);
                let b = u64::from_be_bytes(rest[8..16].try_into().ok()?);
                Some(if t == 0x85 {
                    ControlMessage::Price {
                        per_gb: a,
                        credit: b,
                    }
                } else {
                    ControlMessage::Invoice { bytes: a, owed: b }
                })
            }
            0x83 => Some(ControlMessage::Draining(match rest[0] {
                1 => DrainSide::TowardOrigin,
                2 => DrainSide::TowardDestination,
                _ => return None,
            })),
            _ => Some(ControlMessage::ExtendFailed(match rest[0] {
                1 => ExtendFailure::NoLink,
                2 => ExtendFailure::NoAnswer,
                3 => ExtendFailure::BadAnswer,
                4 => ExtendFailure::Refused,
                _ => return None,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let msgs = [
            ControlMessage::Extend {
                next: Address([3; 16]),
                eph_pub: [2; 33],
                class: Class::Bulk,
            },
            ControlMessage::Begin {
                class: Class::Realtime,
                kind: RouteKind::Datagram,
                set: None,
            },
            ControlMessage::Begin {
                class: Class::Bulk,
                kind: RouteKind::Stream,
                set: Some([7; 16]),
            },
            ControlMessage::Extended {
                eph_pub: [1; 33],
                static_pub: [4; 33],
                auth: [5; 16],
            },
            ControlMessage::ExtendFailed(ExtendFailure::NoLink),
            ControlMessage::Draining(DrainSide::TowardOrigin),
            ControlMessage::Draining(DrainSide::TowardDestination),
            ControlMessage::Segment {
                dest: Address([9; 16]),
                mesh: 513,
            },
            ControlMessage::SegmentHops {
                hops: vec![Address([1; 16])],
                done: false,
            },
            ControlMessage::SegmentHops {
                hops: (1..=6).map(|i| Address([i; 16])).collect(),
                done: true,
            },
            ControlMessage::Price {
                per_gb: 1_000_000,
                credit: u64::MAX,
            },
            ControlMessage::Invoice {
                bytes: 1 << 40,
                owed: 3,
            },
        ];
        for m in msgs {
            let e = m.encode();
            assert_eq!(e.len(), CTRL_MSG_LEN, "one size for all: {m:?}");
            assert_eq!(ControlMessage::decode(&e), Some(m));
            for cut in 0..e.len() {
                assert_eq!(ControlMessage::decode(&e[..cut]), None);
            }
            let mut dirty = e.clone();
            dirty[CTRL_MSG_LEN - 1] = 1;
            assert_eq!(ControlMessage::decode(&dirty), None, "padding is zeros");
        }
        let mut bad = vec![0x02, 9, 0];
        bad.resize(CTRL_MSG_LEN, 0);
        assert_eq!(ControlMessage::decode(&bad), None);
        for side in [0, 3, 0xff] {
            let mut bad = vec![0x83, side];
            bad.resize(CTRL_MSG_LEN, 0);
            assert_eq!(ControlMessage::decode(&bad), None, "side {side}");
        }
        // SEGMENT_HOPS: no hops, or more than one message holds.
        for count in [0u8, 0x80, 7, 0x87, 0x7f] {
            let mut bad = vec![0x84, count];
            bad.resize(CTRL_MSG_LEN, 0);
            assert_eq!(ControlMessage::decode(&bad), None, "count {count:#x}");
        }
    }
}
