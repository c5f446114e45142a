//! Datagram formats: the two handshake messages and the sealed (encrypted)
//! transport datagram.

use super::handshake::{HandshakeInit, HandshakeResp};
use super::varint::Reader;
use super::{Error, Result};

/// Datagram type byte of a [`HandshakeInit`].
pub const TYPE_INIT: u8 = 0x01;
/// Datagram type byte of a [`HandshakeResp`].
pub const TYPE_RESP: u8 = 0x02;
/// Datagram type byte of a sealed datagram ([`SealedPacket`]).
pub const TYPE_SEALED: u8 = 0x03;

/// The only protocol version this implementation speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// Length of the AEAD authentication tag that ends a sealed datagram.
pub const AEAD_TAG_LEN: usize = 16;

/// Checks the type byte at the start of a datagram.
pub(super) fn expect_type(r: &mut Reader<'_>, expected: u8) -> Result<()> {
    match r.u8()? {
        t if t == expected => Ok(()),
        TYPE_INIT | TYPE_RESP | TYPE_SEALED => Err(Error::Invalid("wrong datagram type")),
        t => Err(Error::UnknownDatagramType(t)),
    }
}

/// Field offsets of a sealed datagram.
mod field {
    use core::ops::Range;
    pub(super) const TYPE: usize = 0;
    pub(super) const RECEIVER_INDEX: Range<usize> = 1..5;
    pub(super) const EPOCH: Range<usize> = 5..9;
    pub(super) const PACKET_NUMBER: Range<usize> = 9..17;
    pub(super) const HEADER_END: usize = 17;
}

/// Cleartext header of a sealed datagram; its 17 encoded bytes are the AEAD
/// associated data.
///
/// Layout: `type = 0x03 (1) | receiver_index (4) | epoch (4) |
/// packet_number (8)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SealedHeader {
    /// Session index chosen by the receiver of this datagram.
    pub receiver_index: u32,
    /// Key epoch (incremented by each rekey).
    pub epoch: u32,
    /// Packet number, unique per epoch and direction.
    pub packet_number: u64,
}

impl SealedHeader {
    /// Encoded length, type byte included.
    pub const LEN: usize = field::HEADER_END;

    /// Parses the header at the start of `bytes` (type byte included);
    /// bytes after the header are ignored.
    ///
    /// This does not check that a ciphertext and tag follow; use
    /// [`SealedPacket::new_checked`] for a whole datagram.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        expect_type(&mut r, TYPE_SEALED)?;
        Ok(Self {
            receiver_index: r.u32()?,
            epoch: r.u32()?,
            packet_number: r.u64()?,
        })
    }

    /// Appends the type byte and header fields ([`Self::LEN`] bytes) to
    /// `buf`. The caller then appends the ciphertext and the tag.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(TYPE_SEALED);
        buf.extend_from_slice(&self.receiver_index.to_be_bytes());
        buf.extend_from_slice(&self.epoch.to_be_bytes());
        buf.extend_from_slice(&self.packet_number.to_be_bytes());
    }
}

/// Reads `N` bytes at `start`, or zeros if out of bounds (cannot happen for
/// a checked packet; this keeps accessors panic-free regardless).
fn array_at<const N: usize>(bytes: &[u8], start: usize) -> [u8; N] {
    bytes
        .get(start..)
        .and_then(|b| b.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

/// A checked view of a sealed datagram: header, ciphertext, AEAD tag.
///
/// [`Self::new_checked`] validates the type byte and minimum length once;
/// the accessors then cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SealedPacket<T> {
    /// Length of the AEAD tag at the end of the datagram.
    pub const TAG_LEN: usize = AEAD_TAG_LEN;
    /// Minimum datagram length: header plus tag (empty ciphertext).
    pub const MIN_LEN: usize = SealedHeader::LEN + AEAD_TAG_LEN;

    /// Wraps `buffer` after checking that it starts with [`TYPE_SEALED`] and
    /// is at least [`Self::MIN_LEN`] bytes long.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let bytes = buffer.as_ref();
        match bytes.get(field::TYPE) {
            None => return Err(Error::Truncated),
            Some(&TYPE_SEALED) => {}
            Some(&(TYPE_INIT | TYPE_RESP)) => return Err(Error::Invalid("wrong datagram type")),
            Some(&t) => return Err(Error::UnknownDatagramType(t)),
        }
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::Truncated);
        }
        Ok(Self { buffer })
    }

    /// The decoded cleartext header.
    pub fn header(&self) -> SealedHeader {
        let bytes = self.buffer.as_ref();
        SealedHeader {
            receiver_index: u32::from_be_bytes(array_at(bytes, field::RECEIVER_INDEX.start)),
            epoch: u32::from_be_bytes(array_at(bytes, field::EPOCH.start)),
            packet_number: u64::from_be_bytes(array_at(bytes, field::PACKET_NUMBER.start)),
        }
    }

    /// The [`SealedHeader::LEN`] header bytes: the AEAD associated data.
    pub fn header_bytes(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        bytes.get(..field::HEADER_END).unwrap_or(bytes)
    }

    /// Range of the ciphertext within the buffer.
    fn ciphertext_range(len: usize) -> core::ops::Range<usize> {
        field::HEADER_END..len.saturating_sub(AEAD_TAG_LEN).max(field::HEADER_END)
    }

    /// The ciphertext between the header and the tag (may be empty).
    pub fn ciphertext(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        bytes
            .get(Self::ciphertext_range(bytes.len()))
            .unwrap_or_default()
    }

    /// The 16-byte AEAD tag at the end of the datagram.
    pub fn tag(&self) -> [u8; 16] {
        self.buffer
            .as_ref()
            .last_chunk::<AEAD_TAG_LEN>()
            .copied()
            .unwrap_or([0; AEAD_TAG_LEN])
    }

    /// Gives back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SealedPacket<T> {
    /// The ciphertext, mutably (for in-place decryption or encryption).
    pub fn ciphertext_mut(&mut self) -> &mut [u8] {
        let bytes = self.buffer.as_mut();
        let range = Self::ciphertext_range(bytes.len());
        bytes.get_mut(range).unwrap_or_default()
    }
}

/// Any datagram, dispatched on its type byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// A [`HandshakeInit`] (type 0x01).
    Init(HandshakeInit),
    /// A [`HandshakeResp`] (type 0x02).
    Resp(HandshakeResp),
    /// A sealed datagram (type 0x03), still encrypted.
    Sealed(SealedPacket<&'a [u8]>),
}

impl<'a> Datagram<'a> {
    /// Parses a datagram.
    ///
    /// Errors: [`Error::Truncated`] if empty or short,
    /// [`Error::UnknownDatagramType`] for an unknown first byte, otherwise
    /// as for the specific datagram's parser.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        match bytes.first() {
            None => Err(Error::Truncated),
            Some(&TYPE_INIT) => HandshakeInit::parse(bytes).map(Datagram::Init),
            Some(&TYPE_RESP) => HandshakeResp::parse(bytes).map(Datagram::Resp),
            Some(&TYPE_SEALED) => SealedPacket::new_checked(bytes).map(Datagram::Sealed),
            Some(&t) => Err(Error::UnknownDatagramType(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> HandshakeInit {
        HandshakeInit {
            version: PROTOCOL_VERSION,
            initiator_index: 0x0102_0304,
            eph_pub: [0x11; 33],
            static_pub: [0x22; 33],
            mac: [0x66; 16],
        }
    }

    fn resp() -> HandshakeResp {
        HandshakeResp {
            version: PROTOCOL_VERSION,
            initiator_index: 0x0102_0304,
            responder_index: 0x0506_0708,
            eph_pub: [0x33; 33],
            static_pub: [0x44; 33],
            confirm_tag: [0x55; 16],
        }
    }

    fn sealed(ciphertext: &[u8]) -> (SealedHeader, Vec<u8>) {
        let header = SealedHeader {
            receiver_index: 0xdead_beef,
            epoch: 3,
            packet_number: 0x0102_0304_0506_0708,
        };
        let mut buf = Vec::new();
        header.emit(&mut buf);
        assert_eq!(buf.len(), SealedHeader::LEN);
        buf.extend_from_slice(ciphertext);
        buf.extend_from_slice(&[0x99; 16]);
        (header, buf)
    }

    #[test]
    fn init_round_trip() {
        let mut buf = Vec::new();
        init().emit(&mut buf);
        assert_eq!(buf.len(), 88);
        assert_eq!(buf[..6], [TYPE_INIT, 1, 1, 2, 3, 4]);
        assert_eq!(HandshakeInit::parse(&buf), Ok(init()));
        assert_eq!(Datagram::parse(&buf), Ok(Datagram::Init(init())));
    }

    #[test]
    fn resp_round_trip() {
        let mut buf = Vec::new();
        resp().emit(&mut buf);
        assert_eq!(buf.len(), 92);
        assert_eq!(buf[HandshakeResp::TAG_OFFSET..], [0x55; 16]);
        assert_eq!(buf[HandshakeResp::TAG_OFFSET - 1], 0x44);
        assert_eq!(HandshakeResp::parse(&buf), Ok(resp()));
        assert_eq!(Datagram::parse(&buf), Ok(Datagram::Resp(resp())));
    }

    #[test]
    fn sealed_view() {
        for ct in [&[][..], &[1, 2, 3][..]] {
            let (header, mut buf) = sealed(ct);
            assert_eq!(buf.len(), 33 + ct.len());
            let Ok(Datagram::Sealed(p)) = Datagram::parse(&buf) else {
                panic!("not sealed");
            };
            assert_eq!(p.header(), header);
            assert_eq!(SealedHeader::parse(&buf), Ok(header));
            assert_eq!(p.header_bytes(), &buf[..17]);
            assert_eq!(p.ciphertext(), ct);
            assert_eq!(p.tag(), [0x99; 16]);
            assert_eq!(p.into_inner(), &buf[..]);

            let mut p = SealedPacket::new_checked(&mut buf[..]).unwrap();
            p.ciphertext_mut().iter_mut().for_each(|b| *b ^= 0xff);
            let expected: Vec<u8> = ct.iter().map(|b| b ^ 0xff).collect();
            assert_eq!(p.ciphertext(), expected);
            assert_eq!(p.tag(), [0x99; 16]);
        }
    }

    #[test]
    fn sealed_new_checked_errors() {
        let (_, buf) = sealed(&[]);
        assert_eq!(SealedPacket::new_checked(&buf[..32]), Err(Error::Truncated));
        assert_eq!(SealedPacket::new_checked(&[][..]), Err(Error::Truncated));
        let mut other = buf.clone();
        other[0] = TYPE_INIT;
        assert_eq!(
            SealedPacket::new_checked(&other),
            Err(Error::Invalid("wrong datagram type"))
        );
        other[0] = 9;
        assert_eq!(
            SealedPacket::new_checked(&other),
            Err(Error::UnknownDatagramType(9))
        );
    }

    #[test]
    fn truncation_at_every_prefix() {
        let mut init_buf = Vec::new();
        init().emit(&mut init_buf);
        let mut resp_buf = Vec::new();
        resp().emit(&mut resp_buf);
        let (_, sealed_buf) = sealed(&[]);
        for buf in [&init_buf, &resp_buf, &sealed_buf] {
            for cut in 0..buf.len() {
                assert_eq!(
                    Datagram::parse(&buf[..cut]),
                    Err(Error::Truncated),
                    "cut at {cut}"
                );
            }
        }
        for cut in 0..init_buf.len() {
            assert_eq!(
                HandshakeInit::parse(&init_buf[..cut]),
                Err(Error::Truncated)
            );
        }
        for cut in 0..resp_buf.len() {
            assert_eq!(
                HandshakeResp::parse(&resp_buf[..cut]),
                Err(Error::Truncated)
            );
        }
        for cut in 0..SealedHeader::LEN {
            assert_eq!(
                SealedHeader::parse(&sealed_buf[..cut]),
                Err(Error::Truncated)
            );
        }
    }

    #[test]
    fn trailing_bytes_and_version() {
        for mut buf in [
            {
                let mut b = Vec::new();
                init().emit(&mut b);
                b
            },
            {
                let mut b = Vec::new();
                resp().emit(&mut b);
                b
            },
        ] {
            let mut longer = buf.clone();
            longer.push(0);
            assert_eq!(
                Datagram::parse(&longer),
                Err(Error::Invalid("trailing bytes"))
            );
            buf[1] = 2;
            assert_eq!(Datagram::parse(&buf), Err(Error::UnsupportedVersion(2)));
            buf[1] = 0;
            assert_eq!(Datagram::parse(&buf), Err(Error::UnsupportedVersion(0)));
        }
    }

    #[test]
    fn unknown_and_mismatched_types() {
        assert_eq!(Datagram::parse(&[]), Err(Error::Truncated));
        for t in [0, 4, 0x10, 0xff] {
            assert_eq!(
                Datagram::parse(&[t; 100]),
                Err(Error::UnknownDatagramType(t))
            );
        }
        let mut buf = Vec::new();
        init().emit(&mut buf);
        assert_eq!(
            HandshakeResp::parse(&buf),
            Err(Error::Invalid("wrong datagram type"))
        );
        buf[0] = 0x77;
        assert_eq!(
            HandshakeInit::parse(&buf),
            Err(Error::UnknownDatagramType(0x77))
        );
    }
}
