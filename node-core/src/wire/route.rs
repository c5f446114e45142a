//! Route frames (types 0x10..=0x16, and 0x90 for best-effort data): the
//! frames of source routes, carried inside a link's sealed datagrams next to
//! the link's own frames, each in the upper-layer envelope `type (1) | len
//! (varint) | body` (see [`upper`](super::upper)). The link hands their
//! bodies up; [`RouteFrame::parse`] decodes them. Every body must be
//! consumed exactly.
//!
//! A route id is chosen by the hop that *receives* on it (label swapping),
//! so every frame names the route by the id its receiver picked and a relay
//! forwards with one table lookup, whatever the route's length.
//!
//! | type | frame | body |
//! |------|-------|------|
//! | 0x10 | [ROUTE_DATA](RouteDataFrame) | `route (16) \| flags (1) \| offset (varint) \| data (rest)` |
//! | 0x90 | ROUTE_DATA, best effort (not ack-eliciting) | as 0x10 |
//! | 0x11 | [ROUTE_CREDIT](RouteCreditFrame) | `route (16) \| limit (varint)` |
//! | 0x12 | [ROUTE_CTRL](RouteCtrlFrame) | `route (16) \| nonce (8) \| payload (rest)` |
//! | 0x13 | [ROUTE_CREATE](RouteCreateFrame) | `reply_route (16) \| eph_pub (33)` |
//! | 0x14 | [ROUTE_CREATED](RouteCreatedFrame) | `reply_route (16) \| route (16) \| eph_pub (33) \| static_pub (33) \| auth (16)` |
//! | 0x15 | [ROUTE_TEARDOWN](RouteTeardownFrame) | `route (16) \| reason (1)` |
//! | 0x16 | [ROUTE_ACK](RouteAckFrame) | `route (16) \| payload (rest)` |
//! | 0x17 | ROUTE_PAY ([`RouteCtrlFrame`]) | as ROUTE_CTRL: a payment message from the origin to a hop (issue 15) |
//!
//! Types 0x18..=0x1f stay reserved for later route frames.

use core::fmt;

use super::upper::{self, NOT_ACK_ELICITING, UpperFrame, finish};
use super::varint::{Reader, VARINT_MAX, put_varint, varint_len};
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
/// Frame type byte of ROUTE_PAY: onion-layered like ROUTE_CTRL, forward
/// only, for payment messages (`wire::receipt`). A type of its own because
/// relays bound the control messages they pass on by the path length (an
/// EXTEND each), and receipts flow for as long as the route carries.
pub const FRAME_ROUTE_PAY: u8 = 0x17;

/// Frame type byte of best-effort ROUTE_DATA: sent once, never
/// retransmitted, and so not ack-eliciting (bit 7).
pub const FRAME_ROUTE_DATAGRAM: u8 = FRAME_ROUTE_DATA | NOT_ACK_ELICITING;

/// ROUTE_DATA flag: the stream ends at `offset + len`. (Bit 0 was the
/// unreliable flag; the frame type says that now. It must be zero.)
const FLAG_FIN: u8 = 0x02;

/// A 128-bit route id, chosen by the hop that receives frames on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteId(pub [u8; 16]);

// Ordered as the big-endian number the bytes spell (the same order as the
// bytes' lexicographic one), compared as one integer: these are the keys
// of the node's hottest tables.
impl PartialOrd for RouteId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RouteId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl RouteId {
    /// Encoded length.
    pub const LEN: usize = 16;
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

fn route_id(r: &mut Reader<'_>) -> Result<RouteId> {
    r.array().map(RouteId)
}

/// A route frame, decoded from the body the link handed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteFrame<'a> {
    /// A chunk of a route's byte stream.
    Data(RouteDataFrame<'a>),
    /// Flow-control credit of a route.
    Credit(RouteCreditFrame),
    /// An onion-layered route control message.
    Ctrl(RouteCtrlFrame<'a>),
    /// Asks the receiver to become the next hop of a route.
    Create(RouteCreateFrame),
    /// Answers a route create.
    Created(RouteCreatedFrame),
    /// Tears a route down.
    Teardown(RouteTeardownFrame),
    /// An end-to-end acknowledgement travelling backward on a route.
    Ack(RouteAckFrame<'a>),
    /// An onion-layered payment message, origin to hop.
    Pay(RouteCtrlFrame<'a>),
}

impl<'a> RouteFrame<'a> {
    /// Decodes an upper frame of the route layer's range. A type of the
    /// range that this version does not know is `UnknownFrameType` (the
    /// caller skips and counts it: the version rule in [`upper`]).
    pub fn parse(frame: UpperFrame<'a>) -> Result<Self> {
        let mut r = Reader::new(frame.body);
        let f = match frame.ty {
            FRAME_ROUTE_DATA | FRAME_ROUTE_DATAGRAM => RouteFrame::Data(RouteDataFrame::parse(
                frame.ty == FRAME_ROUTE_DATAGRAM,
                &mut r,
            )?),
            FRAME_ROUTE_CREDIT => RouteFrame::Credit(RouteCreditFrame::parse(&mut r)?),
            FRAME_ROUTE_CTRL => RouteFrame::Ctrl(RouteCtrlFrame::parse(&mut r)?),
            FRAME_ROUTE_CREATE => RouteFrame::Create(RouteCreateFrame::parse(&mut r)?),
            FRAME_ROUTE_CREATED => RouteFrame::Created(RouteCreatedFrame::parse(&mut r)?),
            FRAME_ROUTE_TEARDOWN => RouteFrame::Teardown(RouteTeardownFrame::parse(&mut r)?),
            FRAME_ROUTE_ACK => RouteFrame::Ack(RouteAckFrame::parse(&mut r)?),
            FRAME_ROUTE_PAY => RouteFrame::Pay(RouteCtrlFrame::parse(&mut r)?),
            t => return Err(Error::UnknownFrameType(t)),
        };
        finish(r, f)
    }

    /// Appends the encoded frame, envelope included, to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        match self {
            RouteFrame::Data(f) => f.emit(buf),
            RouteFrame::Credit(f) => f.emit(buf),
            RouteFrame::Ctrl(f) => f.emit(buf),
            RouteFrame::Create(f) => f.emit(buf),
            RouteFrame::Created(f) => f.emit(buf),
            RouteFrame::Teardown(f) => f.emit(buf),
            RouteFrame::Ack(f) => f.emit(buf),
            RouteFrame::Pay(f) => f.emit_as(FRAME_ROUTE_PAY, buf),
        }
    }

    /// Number of bytes [`Self::emit`] appends.
    pub fn encoded_len(&self) -> usize {
        match self {
            RouteFrame::Data(f) => f.encoded_len(),
            RouteFrame::Credit(f) => f.encoded_len(),
            RouteFrame::Ctrl(f) => f.encoded_len(),
            RouteFrame::Create(_) => RouteCreateFrame::LEN,
            RouteFrame::Created(_) => RouteCreatedFrame::LEN,
            RouteFrame::Teardown(_) => RouteTeardownFrame::LEN,
            RouteFrame::Ack(f) => f.encoded_len(),
            RouteFrame::Pay(f) => f.encoded_len(),
        }
    }

    /// The encoded frame in a vector of its own.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.emit(&mut buf);
        buf
    }
}

/// A chunk of a route's byte stream.
///
/// Body: `route (16) | flags (1) | offset (varint) | data (the rest)`.
/// Flags: bit 1 = fin; the other bits must be zero. Best-effort chunks
/// (`unreliable`) have their own frame type, [`FRAME_ROUTE_DATAGRAM`], which
/// is not ack-eliciting.
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
    fn body_len(offset: u64, len: usize) -> usize {
        RouteId::LEN + 1 + varint_len(offset) + len
    }

    /// Encoded length of a ROUTE_DATA frame excluding the chunk itself
    /// (envelope included), for a chunk of `len` bytes at `offset`.
    pub fn overhead(offset: u64, len: usize) -> usize {
        let body = Self::body_len(offset, len);
        upper::overhead(body) + body - len
    }

    /// The largest chunk length `n` such that a well-formed ROUTE_DATA frame
    /// at `offset` with an `n`-byte chunk fits in `space` bytes
    /// (`overhead(offset, n) + n <= space`); 0 if even an empty chunk does
    /// not fit (check `overhead(offset, 0) <= space` for that).
    pub fn max_chunk_len(offset: u64, space: usize) -> usize {
        // Chunks never run the stream past VARINT_MAX (the invariant).
        let room = usize::try_from(VARINT_MAX.saturating_sub(offset)).unwrap_or(usize::MAX);
        upper::max_body_len(space)
            .saturating_sub(Self::body_len(offset, 0))
            .min(room)
    }

    /// Encoded length, envelope and chunk included.
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

    /// Appends the encoded frame (envelope included) to `buf`.
    ///
    /// Requires [`Self::is_well_formed`] (checked with a `debug_assert!`);
    /// otherwise the output is rejected by the parser, but this never panics
    /// in release builds.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        debug_assert!(self.is_well_formed(), "malformed route data frame");
        let ty = if self.unreliable {
            FRAME_ROUTE_DATAGRAM
        } else {
            FRAME_ROUTE_DATA
        };
        upper::begin(buf, ty, Self::body_len(self.offset, self.data.len()));
        buf.extend_from_slice(&self.route.0);
        buf.push(if self.fin { FLAG_FIN } else { 0 });
        put_varint(buf, self.offset);
        buf.extend_from_slice(self.data);
    }

    fn parse(unreliable: bool, r: &mut Reader<'a>) -> Result<Self> {
        let route = route_id(r)?;
        let flags = r.u8()?;
        if flags & !FLAG_FIN != 0 {
            return Err(Error::Invalid("unknown route data flags"));
        }
        let offset = r.varint()?;
        let data = r.bytes(r.remaining())?;
        // offset is below 2^62 and data is in memory: no overflow.
        if offset + data.len() as u64 > VARINT_MAX {
            return Err(Error::Invalid("route data beyond maximum offset"));
        }
        Ok(Self {
            route,
            unreliable,
            fin: flags & FLAG_FIN != 0,
            offset,
            data,
        })
    }
}

/// Flow control: the upstream may send stream bytes below `limit`.
///
/// Body: `route (16) | limit (varint)`. The limit is an absolute stream
/// offset, so a repeated or reordered credit is harmless. Emit requires
/// `limit <=` [`VARINT_MAX`] (see [`put_varint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCreditFrame {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Absolute stream offset the upstream may send up to (exclusive).
    pub limit: u64,
}

impl RouteCreditFrame {
    fn body_len(&self) -> usize {
        RouteId::LEN + varint_len(self.limit)
    }

    /// Encoded length, envelope included.
    pub fn encoded_len(&self) -> usize {
        upper::overhead(self.body_len()) + self.body_len()
    }

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        upper::begin(buf, FRAME_ROUTE_CREDIT, self.body_len());
        buf.extend_from_slice(&self.route.0);
        put_varint(buf, self.limit);
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            limit: r.varint()?,
        })
    }
}

/// An onion-layered control message (opaque at this layer).
///
/// Body: `route (16) | nonce (8) | payload (the rest)`. The nonce travels in
/// clear because every hop needs it to peel or add its layer.
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
    /// envelope and payload included.
    pub fn len_with_payload(len: usize) -> usize {
        let body = RouteId::LEN + 8 + len;
        upper::overhead(body) + body
    }

    /// Encoded length, envelope and payload included.
    pub fn encoded_len(&self) -> usize {
        Self::len_with_payload(self.payload.len())
    }

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        self.emit_as(FRAME_ROUTE_CTRL, buf);
    }

    /// Appends the frame under type `ty` (ROUTE_CTRL or ROUTE_PAY).
    fn emit_as(&self, ty: u8, buf: &mut Vec<u8>) {
        upper::begin(buf, ty, RouteId::LEN + 8 + self.payload.len());
        buf.extend_from_slice(&self.route.0);
        buf.extend_from_slice(&self.nonce.to_be_bytes());
        buf.extend_from_slice(self.payload);
    }

    fn parse(r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            nonce: r.u64()?,
            payload: r.bytes(r.remaining())?,
        })
    }
}

/// Asks a neighbour to become the next hop of a route.
///
/// Body: `reply_route (16) | eph_pub (33)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteCreateFrame {
    /// The id the creator receives backward frames of this route on.
    pub reply_route: RouteId,
    /// The route origin's ephemeral public key for this hop.
    pub eph_pub: [u8; 33],
}

impl RouteCreateFrame {
    const BODY: usize = RouteId::LEN + 33;
    /// Encoded length, envelope included.
    pub const LEN: usize = 2 + Self::BODY;

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        upper::begin(buf, FRAME_ROUTE_CREATE, Self::BODY);
        buf.extend_from_slice(&self.reply_route.0);
        buf.extend_from_slice(&self.eph_pub);
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            reply_route: route_id(r)?,
            eph_pub: r.array()?,
        })
    }
}

/// The answer to a [`RouteCreateFrame`]: the new hop's route id and its
/// half of the key agreement.
///
/// Body: `reply_route (16) | route (16) | eph_pub (33) | static_pub (33) |
/// auth (16)`.
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
    const BODY: usize = 2 * RouteId::LEN + 33 + 33 + 16;
    /// Encoded length, envelope included (the body's length takes two
    /// varint bytes).
    pub const LEN: usize = 3 + Self::BODY;

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        upper::begin(buf, FRAME_ROUTE_CREATED, Self::BODY);
        buf.extend_from_slice(&self.reply_route.0);
        buf.extend_from_slice(&self.route.0);
        buf.extend_from_slice(&self.eph_pub);
        buf.extend_from_slice(&self.static_pub);
        buf.extend_from_slice(&self.auth);
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
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
/// Body: `route (16) | reason (1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteTeardownFrame {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// Why: [`TEARDOWN_CLOSED`] or [`TEARDOWN_BROKEN`] (another value is
    /// read as broken).
    pub reason: u8,
}

/// ROUTE_TEARDOWN reason: an end of the route closed it.
pub const TEARDOWN_CLOSED: u8 = 0;
/// ROUTE_TEARDOWN reason: the route broke at a hop (its link failed, it
/// idled out, or the hop refused what it carried).
pub const TEARDOWN_BROKEN: u8 = 1;

impl RouteTeardownFrame {
    const BODY: usize = RouteId::LEN + 1;
    /// Encoded length, envelope included.
    pub const LEN: usize = 2 + Self::BODY;

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        upper::begin(buf, FRAME_ROUTE_TEARDOWN, Self::BODY);
        buf.extend_from_slice(&self.route.0);
        buf.push(self.reason);
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            reason: r.u8()?,
        })
    }
}

/// An end-to-end sealed acknowledgement travelling backward (opaque here).
///
/// Body: `route (16) | payload (the rest)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteAckFrame<'a> {
    /// The route, as named by the receiver of this frame.
    pub route: RouteId,
    /// The sealed acknowledgement.
    pub payload: &'a [u8],
}

impl<'a> RouteAckFrame<'a> {
    /// Encoded length, envelope and payload included.
    pub fn encoded_len(&self) -> usize {
        let body = RouteId::LEN + self.payload.len();
        upper::overhead(body) + body
    }

    /// Appends the encoded frame (envelope included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        upper::begin(buf, FRAME_ROUTE_ACK, RouteId::LEN + self.payload.len());
        buf.extend_from_slice(&self.route.0);
        buf.extend_from_slice(self.payload);
    }

    fn parse(r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            route: route_id(r)?,
            payload: r.bytes(r.remaining())?,
        })
    }
}

#[cfg(test)]
mod tests;
