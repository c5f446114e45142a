//! Frames: the contents of a sealed datagram's decrypted payload.
//!
//! | type       | frame              | body |
//! |------------|--------------------|------|
//! | 0x00       | PADDING            | all remaining bytes are 0x00 |
//! | 0x01       | PING               | none |
//! | 0x02       | [ACK](AckFrame)    | varints, see [`AckFrame`] |
//! | 0x03       | [DATA](DataFrame)  | see [`DataFrame`] |
//! | 0x04       | [REKEY](RekeyFrame)| `kind (1) | epoch (4) | eph_pub (33)` |
//! | 0x05       | [CLOSE](CloseFrame)| `reason (2)` |
//! | 0x06..0x0f | reserved for later link frames (a packet holding one is malformed) | |
//! | 0x10..0xff | [upper-layer frames](UpperFrame) | `len (varint) \| body`, handed up by type (see [`upper`](super::upper)) |

use core::iter::FusedIterator;

use super::upper::{FRAME_UPPER_MIN, NOT_ACK_ELICITING, UpperFrame};
use super::varint::Reader;
use super::{AckFrame, DataFrame};
use super::{Error, Result};

/// Frame type byte of PADDING.
pub const FRAME_PADDING: u8 = 0x00;
/// Frame type byte of PING.
pub const FRAME_PING: u8 = 0x01;
/// Frame type byte of ACK.
pub const FRAME_ACK: u8 = 0x02;
/// Frame type byte of DATA.
pub const FRAME_DATA: u8 = 0x03;
/// Frame type byte of REKEY.
pub const FRAME_REKEY: u8 = 0x04;
/// Frame type byte of CLOSE.
pub const FRAME_CLOSE: u8 = 0x05;

/// Traffic class of a message. Realtime is served before bulk (hence
/// `Realtime < Bulk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Latency-sensitive traffic (wire value 0).
    Realtime,
    /// Throughput traffic (wire value 1).
    Bulk,
}

impl Class {
    /// The wire value of this class.
    pub fn to_u8(self) -> u8 {
        match self {
            Class::Realtime => 0,
            Class::Bulk => 1,
        }
    }

    /// The class with wire value `v`, if any.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Class::Realtime),
            1 => Some(Class::Bulk),
            _ => None,
        }
    }
}

/// Whether a [`RekeyFrame`] starts or answers a rekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RekeyKind {
    /// Proposes a new epoch (wire value 0).
    Request,
    /// Accepts a proposed epoch (wire value 1).
    Response,
}

/// Key update: a fresh ephemeral key for a new epoch.
///
/// Wire layout after the type byte: `kind (1) | epoch (4) | eph_pub (33)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RekeyFrame {
    /// Request or response.
    pub kind: RekeyKind,
    /// The epoch the new keys will be used for.
    pub epoch: u32,
    /// Sender's fresh ephemeral public key (compressed secp256k1).
    pub eph_pub: [u8; 33],
}

impl RekeyFrame {
    /// Encoded length, type byte included.
    pub const LEN: usize = 1 + 1 + 4 + 33;

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_REKEY);
        buf.push(match self.kind {
            RekeyKind::Request => 0,
            RekeyKind::Response => 1,
        });
        buf.extend_from_slice(&self.epoch.to_be_bytes());
        buf.extend_from_slice(&self.eph_pub);
    }

    /// Parses the frame body (after the type byte).
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let kind = match r.u8()? {
            0 => RekeyKind::Request,
            1 => RekeyKind::Response,
            _ => return Err(Error::Invalid("unknown rekey kind")),
        };
        Ok(Self {
            kind,
            epoch: r.u32()?,
            eph_pub: r.array()?,
        })
    }
}

/// The sender is closing the session.
///
/// Wire layout after the type byte: `reason (2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// Application-defined reason code.
    pub reason: u16,
}

impl CloseFrame {
    /// Encoded length, type byte included.
    pub const LEN: usize = 1 + 2;

    /// Appends the encoded frame (type byte included) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.push(FRAME_CLOSE);
        buf.extend_from_slice(&self.reason.to_be_bytes());
    }
}

/// One frame of a decrypted payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame<'a> {
    /// `n` zero bytes (type byte included) running to the end of the
    /// payload. Parsing yields `n >= 1`; `Padding(0)` emits nothing.
    Padding(usize),
    /// Elicits an ack; no body.
    Ping,
    /// Acknowledges packet numbers.
    Ack(AckFrame),
    /// A chunk of a message.
    Data(DataFrame<'a>),
    /// Key update.
    Rekey(RekeyFrame),
    /// Session close.
    Close(CloseFrame),
    /// A frame of a layer above the link (routes, discovery, ...), handed
    /// up by type without being looked into.
    Upper(UpperFrame<'a>),
}

impl Frame<'_> {
    /// Appends the encoded frame to `buf` (see each frame's `emit` for its
    /// preconditions).
    pub fn emit(&self, buf: &mut Vec<u8>) {
        match self {
            Frame::Padding(n) => buf.resize(buf.len().saturating_add(*n), FRAME_PADDING),
            Frame::Ping => buf.push(FRAME_PING),
            Frame::Ack(f) => f.emit(buf),
            Frame::Data(f) => f.emit(buf),
            Frame::Rekey(f) => f.emit(buf),
            Frame::Close(f) => f.emit(buf),
            Frame::Upper(f) => f.emit(buf),
        }
    }

    /// Number of bytes [`Self::emit`] appends.
    pub fn encoded_len(&self) -> usize {
        match self {
            Frame::Padding(n) => *n,
            Frame::Ping => 1,
            Frame::Ack(f) => f.encoded_len(),
            Frame::Data(f) => f.encoded_len(),
            Frame::Rekey(_) => RekeyFrame::LEN,
            Frame::Close(_) => CloseFrame::LEN,
            Frame::Upper(f) => f.encoded_len(),
        }
    }

    /// Whether receiving this frame obliges the receiver to send an ack:
    /// every frame its sender retransmits until acked. PADDING and ACK do
    /// not, nor an upper frame whose type has bit 7 set (e.g. the end-to-end
    /// baseline's best-effort ROUTE_DATA): its sender keeps no state an ack
    /// could settle, so acking it would only cost a datagram per two.
    pub fn is_ack_eliciting(&self) -> bool {
        match self {
            Frame::Padding(_) | Frame::Ack(_) => false,
            Frame::Upper(f) => f.is_ack_eliciting(),
            _ => true,
        }
    }
}

/// Iterates over the frames of a decrypted payload.
///
/// See [`Frames`].
pub fn frames(payload: &[u8]) -> Frames<'_> {
    Frames {
        rest: payload,
        failed: false,
    }
}

/// Iterator over the frames of a payload, created by [`frames`].
///
/// Yields `Ok(frame)` for each frame in order. On the first malformed frame
/// it yields one `Err` and then stops for good (it is fused).
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Frames<'a> {
    /// The bytes not yet parsed (empty after an error).
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Parses one frame from the start of `self.rest`, advancing past it.
    fn parse_one(&mut self) -> Result<Frame<'a>> {
        let mut r = Reader::new(self.rest);
        let frame = match r.u8()? {
            FRAME_PADDING => {
                if r.rest().iter().any(|&b| b != 0) {
                    return Err(Error::Invalid("non-zero padding"));
                }
                let n = self.rest.len();
                self.rest = &[];
                return Ok(Frame::Padding(n));
            }
            FRAME_PING => Frame::Ping,
            FRAME_ACK => Frame::Ack(AckFrame::parse(&mut r)?),
            FRAME_DATA => Frame::Data(DataFrame::parse(&mut r)?),
            FRAME_REKEY => Frame::Rekey(RekeyFrame::parse(&mut r)?),
            FRAME_CLOSE => Frame::Close(CloseFrame { reason: r.u16()? }),
            t if t & !NOT_ACK_ELICITING >= FRAME_UPPER_MIN => {
                Frame::Upper(UpperFrame::parse(t, &mut r)?)
            }
            t => return Err(Error::UnknownFrameType(t)),
        };
        self.rest = r.rest();
        Ok(frame)
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = self.parse_one();
        if item.is_err() {
            self.failed = true;
            self.rest = &[];
        }
        Some(item)
    }
}

impl FusedIterator for Frames<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit(frame: &Frame<'_>) -> Vec<u8> {
        let mut buf = Vec::new();
        frame.emit(&mut buf);
        assert_eq!(buf.len(), frame.encoded_len());
        buf
    }

    fn parse_all(bytes: &[u8]) -> Vec<Result<Frame<'_>>> {
        frames(bytes).collect()
    }

    fn sample_frames(data: &[u8]) -> Vec<Frame<'_>> {
        vec![
            Frame::Ping,
            Frame::Ack(AckFrame {
                ack_delay_us: 300,
                ranges: vec![20..=30, 5..=10],
            }),
            Frame::Data(DataFrame {
                class: Class::Bulk,
                channel: 0xbeef,
                seq: 70,
                msg_len: 1000,
                offset: 990,
                data,
            }),
            Frame::Rekey(RekeyFrame {
                kind: RekeyKind::Response,
                epoch: 7,
                eph_pub: [0xaa; 33],
            }),
            Frame::Close(CloseFrame { reason: 0x0102 }),
        ]
    }

    #[test]
    fn each_frame_round_trips_with_exact_length() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let expected_lens = [1, 8, 1 + 1 + 2 + 2 + 4 + 2 + 1 + 10, 39, 3];
        for (frame, len) in sample_frames(&data).into_iter().zip(expected_lens) {
            let buf = emit(&frame);
            assert_eq!(buf.len(), len, "{frame:?}");
            assert_eq!(parse_all(&buf), vec![Ok(frame)]);
        }
    }

    #[test]
    fn exact_bytes() {
        let data = Frame::Data(DataFrame {
            class: Class::Realtime,
            channel: 0x0102,
            seq: 3,
            msg_len: 5,
            offset: 1,
            data: &[9, 9],
        });
        assert_eq!(
            emit(&data),
            [FRAME_DATA, 0, 1, 2, 3, 0, 0, 0, 5, 1, 2, 9, 9]
        );
        let rekey = Frame::Rekey(RekeyFrame {
            kind: RekeyKind::Request,
            epoch: 0x0a0b0c0d,
            eph_pub: [2; 33],
        });
        let buf = emit(&rekey);
        assert_eq!(buf[..6], [FRAME_REKEY, 0, 0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(buf[6..], [2; 33]);
        assert_eq!(
            emit(&Frame::Close(CloseFrame { reason: 0xabcd })),
            [FRAME_CLOSE, 0xab, 0xcd]
        );
        assert_eq!(emit(&Frame::Padding(3)), [0, 0, 0]);
        assert_eq!(emit(&Frame::Padding(0)), [0u8; 0]);
    }

    #[test]
    fn concatenated_frames() {
        let data = [42u8; 10];
        let all = sample_frames(&data);
        let mut buf = Vec::new();
        for f in &all {
            f.emit(&mut buf);
        }
        Frame::Padding(4).emit(&mut buf);
        let mut expected: Vec<_> = all.into_iter().map(Ok).collect();
        expected.push(Ok(Frame::Padding(4)));
        assert_eq!(parse_all(&buf), expected);
    }

    #[test]
    fn truncation_at_every_prefix() {
        let data = [7u8; 10];
        for frame in sample_frames(&data) {
            let buf = emit(&frame);
            for cut in 1..buf.len() {
                assert_eq!(
                    parse_all(&buf[..cut]),
                    vec![Err(Error::Truncated)],
                    "{frame:?} cut at {cut}"
                );
            }
        }
        assert_eq!(parse_all(&[]), vec![]);
    }

    #[test]
    fn padding() {
        assert_eq!(parse_all(&[0]), vec![Ok(Frame::Padding(1))]);
        assert_eq!(parse_all(&[0; 5]), vec![Ok(Frame::Padding(5))]);
        assert_eq!(
            parse_all(&[FRAME_PING, 0, 0, 0]),
            vec![Ok(Frame::Ping), Ok(Frame::Padding(3))]
        );
        assert_eq!(
            parse_all(&[FRAME_PING, 0, 0, 1]),
            vec![Ok(Frame::Ping), Err(Error::Invalid("non-zero padding"))]
        );
        assert_eq!(
            parse_all(&[0, FRAME_PING]),
            vec![Err(Error::Invalid("non-zero padding"))]
        );
    }

    #[test]
    fn rekey_kind_validated() {
        let mut buf = emit(&sample_frames(&[])[3]);
        buf[1] = 2;
        assert_eq!(
            parse_all(&buf),
            vec![Err(Error::Invalid("unknown rekey kind"))]
        );
    }

    #[test]
    fn unknown_types_and_fusing() {
        for t in [0x06, 0x0f, 0x80, 0x8f] {
            assert_eq!(
                parse_all(&[FRAME_PING, t, FRAME_PING]),
                vec![Ok(Frame::Ping), Err(Error::UnknownFrameType(t))]
            );
        }
        let mut it = frames(&[0x0a, FRAME_PING]);
        assert_eq!(it.next(), Some(Err(Error::UnknownFrameType(0x0a))));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        assert!(it.remaining().is_empty());
    }

    #[test]
    fn upper_frames_are_enveloped_and_handed_up_unparsed() {
        for t in [0x17, 0x1f, 0x20, 0x5a, 0x90, 0xff] {
            let body = [1u8, 2, 3];
            let f = Frame::Upper(UpperFrame { ty: t, body: &body });
            let buf = emit(&f);
            assert_eq!(buf, [t, 3, 1, 2, 3]);
            assert_eq!(parse_all(&buf), vec![Ok(f.clone())]);
            assert_eq!(f.is_ack_eliciting(), t & 0x80 == 0);
            for cut in 1..buf.len() {
                assert_eq!(parse_all(&buf[..cut]), vec![Err(Error::Truncated)]);
            }
        }
    }

    #[test]
    fn ack_eliciting() {
        let data = [0u8; 1];
        for f in sample_frames(&data) {
            assert_eq!(f.is_ack_eliciting(), !matches!(f, Frame::Ack(_)));
        }
        assert!(!Frame::Padding(1).is_ack_eliciting());
    }

    #[test]
    fn class_order_and_values() {
        assert!(Class::Realtime < Class::Bulk);
        for c in [Class::Realtime, Class::Bulk] {
            assert_eq!(Class::from_u8(c.to_u8()), Some(c));
        }
        assert_eq!(Class::from_u8(2), None);
    }
}
