//! The two handshake datagrams.

use super::datagram::{PROTOCOL_VERSION, TYPE_INIT, TYPE_RESP, expect_type};
use super::varint::Reader;
use super::{Error, Result};

/// Length of a compressed secp256k1 public key.
const PUB_LEN: usize = 33;

/// Reads and checks the version byte of a handshake datagram.
fn expect_version(r: &mut Reader<'_>) -> Result<u8> {
    match r.u8()? {
        PROTOCOL_VERSION => Ok(PROTOCOL_VERSION),
        v => Err(Error::UnsupportedVersion(v)),
    }
}

/// Fails if the reader has bytes left.
fn expect_end(r: &Reader<'_>) -> Result<()> {
    if r.remaining() == 0 {
        Ok(())
    } else {
        Err(Error::Invalid("trailing bytes"))
    }
}

/// First handshake message, initiator to responder.
///
/// Layout (88 bytes): `type = 0x01 (1) | version (1) | initiator_index (4) |
/// eph_pub (33) | static_pub (33) | mac (16)`. The MAC covers bytes
/// `[..MAC_OFFSET]` under a key from the static-static DH of both ends
/// (all zeros when the initiator does not know the responder's key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandshakeInit {
    /// Protocol version; only [`PROTOCOL_VERSION`] is accepted by `parse`.
    pub version: u8,
    /// Session index chosen by the initiator; the responder echoes it.
    pub initiator_index: u32,
    /// Initiator's ephemeral public key (compressed secp256k1).
    pub eph_pub: [u8; 33],
    /// Initiator's static public key (compressed secp256k1).
    pub static_pub: [u8; 33],
    /// Proof that the sender holds `static_pub`'s secret, to a responder
    /// that holds its own: a MAC under `KDF(DH(s_i, S_r))`.
    pub mac: [u8; 16],
}

impl HandshakeInit {
    /// Exact encoded length, type byte included.
    pub const LEN: usize = Self::MAC_OFFSET + 16;
    /// Offset of `mac`: it covers `bytes[..MAC_OFFSET]`.
    pub const MAC_OFFSET: usize = 1 + 1 + 4 + PUB_LEN + PUB_LEN;

    /// Parses a whole datagram (type byte included).
    ///
    /// Errors: [`Error::Truncated`] if short, [`Error::UnsupportedVersion`],
    /// `Invalid("trailing bytes")` if longer than [`Self::LEN`],
    /// [`Error::UnknownDatagramType`] / `Invalid("wrong datagram type")` if
    /// the type byte is not [`TYPE_INIT`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, TYPE_INIT)?;
        let version = expect_version(&mut r)?;
        let out = Self {
            version,
            initiator_index: r.u32()?,
            eph_pub: r.array()?,
            static_pub: r.array()?,
            mac: r.array()?,
        };
        expect_end(&r)?;
        Ok(out)
    }

    /// Appends the encoded datagram ([`Self::LEN`] bytes) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.reserve(Self::LEN);
        buf.push(TYPE_INIT);
        buf.push(self.version);
        buf.extend_from_slice(&self.initiator_index.to_be_bytes());
        buf.extend_from_slice(&self.eph_pub);
        buf.extend_from_slice(&self.static_pub);
        buf.extend_from_slice(&self.mac);
    }
}

/// Second handshake message, responder to initiator.
///
/// Layout (92 bytes): `type = 0x02 (1) | version (1) | initiator_index (4) |
/// responder_index (4) | eph_pub (33) | static_pub (33) | confirm_tag (16)`.
/// The tag authenticates bytes `[..TAG_OFFSET]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandshakeResp {
    /// Protocol version; only [`PROTOCOL_VERSION`] is accepted by `parse`.
    pub version: u8,
    /// The initiator's session index, echoed from [`HandshakeInit`].
    pub initiator_index: u32,
    /// Session index chosen by the responder.
    pub responder_index: u32,
    /// Responder's ephemeral public key (compressed secp256k1).
    pub eph_pub: [u8; 33],
    /// Responder's static public key (compressed secp256k1).
    pub static_pub: [u8; 33],
    /// Key-confirmation tag over the bytes before [`Self::TAG_OFFSET`].
    pub confirm_tag: [u8; 16],
}

impl HandshakeResp {
    /// Exact encoded length, type byte included.
    pub const LEN: usize = Self::TAG_OFFSET + 16;
    /// Offset of `confirm_tag` in the encoded datagram: the tag covers
    /// `bytes[..TAG_OFFSET]`.
    pub const TAG_OFFSET: usize = 1 + 1 + 4 + 4 + PUB_LEN + PUB_LEN;

    /// Parses a whole datagram (type byte included).
    ///
    /// Errors as for [`HandshakeInit::parse`] (with [`TYPE_RESP`]).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, TYPE_RESP)?;
        let version = expect_version(&mut r)?;
        let out = Self {
            version,
            initiator_index: r.u32()?,
            responder_index: r.u32()?,
            eph_pub: r.array()?,
            static_pub: r.array()?,
            confirm_tag: r.array()?,
        };
        expect_end(&r)?;
        Ok(out)
    }

    /// Appends the whole encoded datagram ([`Self::LEN`] bytes, tag
    /// included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.reserve(Self::LEN);
        buf.push(TYPE_RESP);
        buf.push(self.version);
        buf.extend_from_slice(&self.initiator_index.to_be_bytes());
        buf.extend_from_slice(&self.responder_index.to_be_bytes());
        buf.extend_from_slice(&self.eph_pub);
        buf.extend_from_slice(&self.static_pub);
        buf.extend_from_slice(&self.confirm_tag);
    }
}

const _: () = assert!(HandshakeInit::MAC_OFFSET == 72 && HandshakeInit::LEN == 88);
const _: () = assert!(HandshakeResp::TAG_OFFSET == 76 && HandshakeResp::LEN == 92);
