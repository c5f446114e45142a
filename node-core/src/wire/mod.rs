//! Wire formats: datagrams and the frames carried inside sealed datagrams.
//!
//! Everything here is pure encoding and decoding: no I/O, no cryptography.
//! Decoders are total: they never panic, never index out of bounds, and never
//! allocate proportionally to a length field read from the wire (only to the
//! input actually present, or to a small fixed bound).
//!
//! The layout follows the smoltcp style:
//!
//! * checked views over byte buffers ([`SealedPacket`]): `new_checked`
//!   validates lengths once, then accessors read fields at fixed offsets;
//! * parsed representations ([`HandshakeInit`], [`HandshakeResp`],
//!   [`SealedHeader`], [`Frame`] and its payload structs) with `parse` and
//!   `emit` (append to a `Vec<u8>`).
//!
//! All multi-byte integers are big-endian; "varint" is the QUIC
//! variable-length integer (RFC 9000 §16), see [`put_varint`].
//!
//! # Datagrams
//!
//! The first byte of a datagram is its type:
//!
//! | type | datagram          | length            |
//! |------|-------------------|-------------------|
//! | 0x01 | [`HandshakeInit`] | exactly 88        |
//! | 0x02 | [`HandshakeResp`] | exactly 92        |
//! | 0x03 | sealed            | at least 33 ([`SealedHeader`] + ciphertext + 16-byte tag) |
//!
//! Use [`Datagram::parse`] to dispatch on the type.
//!
//! # Frames
//!
//! The decrypted payload of a sealed datagram is a sequence of frames, each
//! starting with a type byte (see [`Frame`]); iterate them with [`frames`].
//! Route frames (types 0x10..=0x16) name their route by a [`RouteId`]; see
//! [`RouteDataFrame`] and its siblings.

mod ack;
mod advert;
mod data;
mod datagram;
pub mod escrow;
mod frame;
mod handshake;
mod pulse;
pub mod receipt;
mod route;
mod route_ctrl;
mod set;
pub mod upper;
mod varint;

#[cfg(test)]
mod tests;

pub use ack::AckFrame;
pub use advert::{
    ADVERT_VERSION, ADVERT_VERSION_MESHES, Advert, AdvertLink, AdvertLocator, MeshSummary,
};
pub use data::DataFrame;
pub use datagram::{
    AEAD_TAG_LEN, Datagram, PROTOCOL_VERSION, SealedHeader, SealedPacket, TYPE_INIT, TYPE_RESP,
    TYPE_SEALED,
};
pub use frame::{
    Class, CloseFrame, FRAME_ACK, FRAME_CLOSE, FRAME_DATA, FRAME_PADDING, FRAME_PING, FRAME_REKEY,
    Frame, Frames, RekeyFrame, RekeyKind, frames,
};
pub use handshake::{HandshakeInit, HandshakeResp};
pub use pulse::{
    FRAME_PULSE, MAX_ROW, MSG_ROW, PULSE_LEN, Pulse, RowEntry, decode_row, encode_row,
};
pub use route::{
    FRAME_ROUTE_ACK, FRAME_ROUTE_CREATE, FRAME_ROUTE_CREATED, FRAME_ROUTE_CREDIT, FRAME_ROUTE_CTRL,
    FRAME_ROUTE_DATA, FRAME_ROUTE_DATAGRAM, FRAME_ROUTE_PAY, FRAME_ROUTE_TEARDOWN, RouteAckFrame,
    RouteCreateFrame, RouteCreatedFrame, RouteCreditFrame, RouteCtrlFrame, RouteDataFrame,
    RouteFrame, RouteId, RouteTeardownFrame, TEARDOWN_BROKEN, TEARDOWN_CLOSED,
};
pub use route_ctrl::{
    CTRL_MSG_LEN, ControlMessage, DrainSide, ExtendFailure, MAX_SEGMENT_HOPS, RouteKind,
};
pub use set::{SET_DATA, SET_DATA_OVERHEAD, SET_PROBE, SetMessage};
pub use upper::{Owner, UpperFrame};
pub use varint::{VARINT_MAX, get_varint, put_varint, varint_len};

/// Why a datagram or frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The input ended before the structure being decoded was complete.
    #[error("truncated input")]
    Truncated,
    /// The first byte of a datagram is not a known datagram type.
    #[error("unknown datagram type {0:#04x}")]
    UnknownDatagramType(u8),
    /// The first byte of a frame is not a known frame type.
    #[error("unknown frame type {0:#04x}")]
    UnknownFrameType(u8),
    /// A handshake datagram carries a protocol version this node does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A field holds a value that is not allowed (the message says which).
    #[error("invalid field: {0}")]
    Invalid(&'static str),
}

/// Result of a wire decoding operation.
pub type Result<T> = core::result::Result<T, Error>;
