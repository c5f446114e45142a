//! Route frames (types 0x10..=0x16): the frames of source routes, carried
//! inside a link's sealed datagrams next to the link's own frames.
//!
//! A route id is chosen by the hop that *receives* on it (label swapping),
//! so every frame names the route by the id its receiver picked and a relay
//! forwards with one table lookup, whatever the route's length.
//!
//! | type | frame | body after the type byte |
//! |------|-------|--------------------------|
//! | 0x10 | [ROUTE_DATA](RouteDataFrame) | `route (16) \| flags (1) \| offset (varint) \| len (varint) \| data` |
//! | 0x11 | [ROUTE_CREDIT](RouteCreditFrame) | `route (16) \| limit (varint)` |
//! | 0x12 | [ROUTE_CTRL](RouteCtrlFrame) | `route (16) \| nonce (8) \| len (varint) \| payload` |
//! | 0x13 | [ROUTE_CREATE](RouteCreateFrame) | `reply_route (16) \| eph_pub (33)` |
//! | 0x14 | [ROUTE_CREATED](RouteCreatedFrame) | `reply_route (16) \| route (16) \| eph_pub (33) \| static_pub (33) \| auth (16)` |
//! | 0x15 | [ROUTE_TEARDOWN](RouteTeardownFrame) | `route (16) \| reason (1)` |
//! | 0x16 | [ROUTE_ACK](RouteAckFrame) | `route (16) \| len (varint) \| payload` |
//!
//! Types 0x17..=0x1f stay reserved for later route frames.

use core::fmt;

use super::varint::{Reader, VARINT_MAX, max_len_prefixed, put_varint, varint_len};
use super::{Error, Result};

/// Frame type byte of ROUTE_DATA.
pub const FRAME_ROUTE_DATA: u8 = 0x10;
/// Frame type byte of ROUTE_CREDIT.
pub const FRAME_ROUTE_CREDIT: u8 = 0x11;
/// Frame type byte of ROUTE_CTRL.
pub const FRAME_ROUTE_CTRL: u8 = 0x12;
/// Frame type byte of ROUTE_CREATE.
pub const FRAME_ROUTE_CREATE: u8 = 0x13;
/// Frame type byte of ROUTE_CREATED.
pub const FRAME_ROUTE_CREATED: u8 = 0x14;
/// Frame type byte of ROUTE_TEARDOWN.
pub const FRAME_ROUTE_TEARDOWN: u8 = 0x15;
/// Frame type byte of ROUTE_ACK.
pub const FRAME_ROUTE_ACK: u8 = 0x16;

/// ROUTE_DATA flag: the chunk is sent once and never retransmitted.
const FLAG_UNRELIABLE: u8 = 0x01;
/// ROUTE_DATA flag: the stream ends at `offset + len`.
const FLAG_FIN: u8 = 0x02;

/// A 128-bit route id, chosen by the hop that receives frames on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteId(pub [u8; 16]);

impl RouteId {
    /// Encoded length.
    pub const LEN: usize = 16;
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Reads a `len (varint) | bytes` field. The length is only ever compared
/// with the input actually present, never used to allocate.
fn payload<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    // A length that does not fit usize cannot be present in the input either.
    let len = usize::try_from(r.varint()?).map_err(|_| Error::Truncated)?;
    r.bytes(len)
}

fn route_id(r: &mut Reader<'_>) -> Result<RouteId> {
    r.array().map(RouteId)
}

/// A chunk of a route's byte stream.
///
/// Wire layout after the type byte: `route (16) | flags (1) | offset
/// (varint) | len (varint) | data`. Flags: bit 0 = unreliable, bit 1 = fin;
/// the other bits must be zero.
///
/// Invariant (checked by parse, required by emit): `offset + data.len() <=`
/// [`VARINT_MAX`], so that the end of the stream and any credit limit past
/// it stay encodable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteDataFrame<'a> {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Sent once, never retransmitted (realtime datagrams).
    pub unreliable: bool,
    /// The stream ends with this chunk, at `offset + data.len()`.
    pub fin: bool,
    /// Offset of this chunk in the route's byte stream.
    pub offset: u64,
    /// The chunk bytes.
    pub data: &'a [u8],
}

impl<'a> RouteDataFrame<'a> {
    /// Encoded length of a ROUTE_DATA frame excluding the chunk itself (type
    /// byte included), for a chunk of `len` bytes at `offset`.
    pub fn overhead(offset: u64, len: usize) -> usize {
        1 + RouteId::LEN + 1 + varint_len(offset) + varint_len(len as u64)
    }

    /// The largest chunk length `n` such that a well-formed ROUTE_DATA frame
    /// at `offset` with an `n`-byte chunk fits in `space` bytes
    /// (`overhead(offset, n) + n <= space`); 0 if even an empty chunk does
    /// not fit (check `overhead(offset, 0) <= space` for that).
    pub fn max_chunk_len(offset: u64, space: usize) -> usize {
        // Overhead without the len varint.
        let base = Self::overhead(offset, 0) - 1;
        // Chunks never run the stream past VARINT_MAX (the invariant).
        let room = usize::try_from(VARINT_MAX.saturating_sub(offset)).unwrap_or(usize::MAX);
        max_len_prefixed(base, space).min(room)
    }

    /// Encoded length, type byte and chunk included.
    pub fn encoded_len(&self) -> usize {
        Self::overhead(self.offset, self.data.len()) + self.data.len()
    }

    /// The stream offset just past this chunk (saturating).
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.data.len() as u64)
    }

    /// Whether the invariant listed on the type holds.
    pub fn is_well_formed(&self) -> bool {
        self.offset
            .checked_add(self.data.len() as u64)
            .is_some_and(|end| end <= VARINT_MAX)
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    ///
    /// Requires [`Self::is_well_formed`] (checked with a `debug_assert!`);
    /// otherwise the output is rejected by the parser, but this never panics
    /// in release builds.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        debug_assert!(self.is_well_formed(), "malformed route data frame");
        buf.reserve(self.encoded_len());
        buf.push(FRAME_ROUTE_DATA);
        buf.extend_from_slice(&self.route.0);
        let mut flags = 0;
        if self.unreliable {
            flags |= FLAG_UNRELIABLE;
        }
        if self.fin {
            flags |= FLAG_FIN;
        }
        buf.push(flags);
        put_varint(buf, self.offset);
        put_varint(buf, self.data.len() as u64);
        buf.extend_from_slice(self.data);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let route = route_id(r)?;
        let flags = r.u8()?;
        if flags & !(FLAG_UNRELIABLE | FLAG_FIN) != 0 {
            return Err(Error::Invalid("unknown route data flags"));
        }
        let offset = r.varint()?;
        let len = r.varint()?;
        // Both are below 2^62: the sum cannot overflow.
        if offset + len > VARINT_MAX {
            return Err(Error::Invalid("route data beyond maximum offset"));
        }
        let len = usize::try_from(len).map_err(|_| Error::Truncated)?;
        let data = r.bytes(len)?;
        Ok(Self {
            route,
            unreliable: flags & FLAG_UNRELIABLE != 0,
            fin: flags & FLAG_FIN != 0,
            offset,
            data,
        })
    }
}

/// Flow control: the upstream may send stream bytes below `limit`.
///
/// Wire layout after the type byte: `route (16) | limit (varint)`. The limit
/// is an absolute stream offset, so a repeated or reordered credit is
/// harmless. Emit requires `limit <=` [`VARINT_MAX`] (see [`put_varint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCreditFrame {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Absolute stream offset the upstream may send up to (exclusive).
    pub limit: u64,
}

impl RouteCreditFrame {
    /// Encoded length, type byte included.
    pub fn encoded_len(&self) -> usize {
        1 + RouteId::LEN + varint_len(self.limit)
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_ROUTE_CREDIT);
        buf.extend_from_slice(&self.route.0);
        put_varint(buf, self.limit);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            limit: r.varint()?,
        })
    }
}

/// An onion-layered control message (opaque at this layer).
///
/// Wire layout after the type byte: `route (16) | nonce (8) | len (varint)
/// | payload`. The nonce travels in clear because every hop needs it to
/// peel or add its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCtrlFrame<'a> {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Nonce of the layers and of the innermost AEAD.
    pub nonce: u64,
    /// The layered message.
    pub payload: &'a [u8],
}

impl<'a> RouteCtrlFrame<'a> {
    /// Encoded length of a ROUTE_CTRL frame with a payload of `len` bytes,
    /// type byte and payload included.
    pub fn len_with_payload(len: usize) -> usize {
        1 + RouteId::LEN + 8 + varint_len(len as u64) + len
    }

    /// Encoded length, type byte and payload included.
    pub fn encoded_len(&self) -> usize {
        Self::len_with_payload(self.payload.len())
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.reserve(self.encoded_len());
        buf.push(FRAME_ROUTE_CTRL);
        buf.extend_from_slice(&self.route.0);
        buf.extend_from_slice(&self.nonce.to_be_bytes());
        put_varint(buf, self.payload.len() as u64);
        buf.extend_from_slice(self.payload);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            nonce: r.u64()?,
            payload: payload(r)?,
        })
    }
}

/// Asks a neighbour to become the next hop of a route.
///
/// Wire layout after the type byte: `reply_route (16) | eph_pub (33)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCreateFrame {
    /// The id the creator receives backward frames of this route on.
    pub reply_route: RouteId,
    /// The route origin's ephemeral public key for this hop.
    pub eph_pub: [u8; 33],
}

impl RouteCreateFrame {
    /// Encoded length, type byte included.
    pub const LEN: usize = 1 + RouteId::LEN + 33;

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_ROUTE_CREATE);
        buf.extend_from_slice(&self.reply_route.0);
        buf.extend_from_slice(&self.eph_pub);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            reply_route: route_id(r)?,
            eph_pub: r.array()?,
        })
    }
}

/// The answer to a [`RouteCreateFrame`]: the new hop's route id and its
/// half of the key agreement.
///
/// Wire layout after the type byte: `reply_route (16) | route (16) |
/// eph_pub (33) | static_pub (33) | auth (16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCreatedFrame {
    /// The creator's id from the CREATE this answers.
    pub reply_route: RouteId,
    /// The id the new hop receives forward frames of this route on.
    pub route: RouteId,
    /// The new hop's ephemeral public key.
    pub eph_pub: [u8; 33],
    /// The new hop's static public key (its address is a hash of it).
    pub static_pub: [u8; 33],
    /// Proof that the new hop holds the static secret.
    pub auth: [u8; 16],
}

impl RouteCreatedFrame {
    /// Encoded length, type byte included.
    pub const LEN: usize = 1 + 2 * RouteId::LEN + 33 + 33 + 16;

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_ROUTE_CREATED);
        buf.extend_from_slice(&self.reply_route.0);
        buf.extend_from_slice(&self.route.0);
        buf.extend_from_slice(&self.eph_pub);
        buf.extend_from_slice(&self.static_pub);
        buf.extend_from_slice(&self.auth);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            reply_route: route_id(r)?,
            route: route_id(r)?,
            eph_pub: r.array()?,
            static_pub: r.array()?,
            auth: r.array()?,
        })
    }
}

/// Tears a route down (either direction).
///
/// Wire layout after the type byte: `route (16) | reason (1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteTeardownFrame {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Why (defined by the route layer; opaque here).
    pub reason: u8,
}

impl RouteTeardownFrame {
    /// Encoded length, type byte included.
    pub const LEN: usize = 1 + RouteId::LEN + 1;

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_ROUTE_TEARDOWN);
        buf.extend_from_slice(&self.route.0);
        buf.push(self.reason);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            reason: r.u8()?,
        })
    }
}

/// An end-to-end sealed acknowledgement travelling backward (opaque here).
///
/// Wire layout after the type byte: `route (16) | len (varint) | payload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteAckFrame<'a> {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// The sealed acknowledgement.
    pub payload: &'a [u8],
}

impl<'a> RouteAckFrame<'a> {
    /// Encoded length, type byte and payload included.
    pub fn encoded_len(&self) -> usize {
        1 + RouteId::LEN + varint_len(self.payload.len() as u64) + self.payload.len()
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.reserve(self.encoded_len());
        buf.push(FRAME_ROUTE_ACK);
        buf.extend_from_slice(&self.route.0);
        put_varint(buf, self.payload.len() as u64);
        buf.extend_from_slice(self.payload);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            payload: payload(r)?,
        })
    }
}

#[cfg(test)]
mod tests;
