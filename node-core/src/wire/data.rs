//! The DATA frame (type 0x03): one chunk of a message on a channel.

use super::frame::{Class, FRAME_DATA};
use super::varint::{Reader, VARINT_MAX, max_len_prefixed, put_varint, varint_len};
use super::{Error, Result};

/// One chunk of a message on a channel.
///
/// Wire layout after the type byte: `class (1) | channel (2) | seq (varint)
/// | msg_len (4) | offset (varint) | chunk_len (varint) | chunk`.
///
/// Invariants (checked by parse, required by emit): `seq <= VARINT_MAX`
/// and `offset + data.len() <= msg_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataFrame<'a> {
    /// Traffic class of the message.
    pub class: Class,
    /// Channel the message belongs to.
    pub channel: u16,
    /// Message sequence number within the channel.
    pub seq: u64,
    /// Total length of the message.
    pub msg_len: u32,
    /// Offset of this chunk within the message.
    pub offset: u32,
    /// The chunk bytes.
    pub data: &'a [u8],
}

impl<'a> DataFrame<'a> {
    /// Encoded length of a DATA frame excluding the chunk itself (type byte
    /// included), for a chunk of `chunk_len` bytes.
    pub fn overhead(seq: u64, offset: u32, chunk_len: usize) -> usize {
        1 + 1
            + 2
            + varint_len(seq)
            + 4
            + varint_len(u64::from(offset))
            + varint_len(chunk_len as u64)
    }

    /// The largest chunk length `n` such that a DATA frame with this `seq`
    /// and `offset` and an `n`-byte chunk fits in `space` bytes
    /// (`overhead(seq, offset, n) + n <= space`); 0 if even an empty chunk
    /// does not fit (check `overhead(seq, offset, 0) <= space` for that).
    pub fn max_chunk_len(seq: u64, offset: u32, space: usize) -> usize {
        // Overhead without the chunk_len varint.
        let base = Self::overhead(seq, offset, 0) - 1;
        max_len_prefixed(base, space)
    }

    /// Encoded length, type byte and chunk included.
    pub fn encoded_len(&self) -> usize {
        Self::overhead(self.seq, self.offset, self.data.len()) + self.data.len()
    }

    /// Whether the invariants listed on the type hold.
    pub fn is_well_formed(&self) -> bool {
        self.seq <= VARINT_MAX
            && u64::from(self.offset) + self.data.len() as u64 <= u64::from(self.msg_len)
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    ///
    /// Requires [`Self::is_well_formed`] (checked with a `debug_assert!`);
    /// otherwise the output is rejected by the parser, but this never panics
    /// in release builds.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        debug_assert!(self.is_well_formed(), "malformed data frame");
        buf.reserve(self.encoded_len());
        buf.push(FRAME_DATA);
        buf.push(self.class.to_u8());
        buf.extend_from_slice(&self.channel.to_be_bytes());
        put_varint(buf, self.seq);
        buf.extend_from_slice(&self.msg_len.to_be_bytes());
        put_varint(buf, u64::from(self.offset));
        put_varint(buf, self.data.len() as u64);
        buf.extend_from_slice(self.data);
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let class = Class::from_u8(r.u8()?).ok_or(Error::Invalid("unknown class"))?;
        let channel = r.u16()?;
        let seq = r.varint()?;
        let msg_len = r.u32()?;
        let offset =
            u32::try_from(r.varint()?).map_err(|_| Error::Invalid("data offset too large"))?;
        let chunk_len = r.varint()?;
        // offset < 2^32 and chunk_len < 2^62: the sum cannot overflow.
        if u64::from(offset) + chunk_len > u64::from(msg_len) {
            return Err(Error::Invalid("data beyond message length"));
        }
        // chunk_len <= msg_len < 2^32, so it fits any usize >= 32 bits.
        let chunk_len = usize::try_from(chunk_len).map_err(|_| Error::Truncated)?;
        let data = r.bytes(chunk_len)?;
        Ok(Self {
            class,
            channel,
            seq,
            msg_len,
            offset,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Frame, frames};
    use super::*;

    fn parse_all(bytes: &[u8]) -> Vec<Result<Frame<'_>>> {
        frames(bytes).collect()
    }

    #[test]
    fn data_validation() {
        let frame = |offset: u8, len: u8, msg_len: u8| {
            let mut b = vec![FRAME_DATA, 1, 0, 0, 0, 0, 0, 0, msg_len, offset, len];
            b.extend(core::iter::repeat_n(0xee, len.into()));
            b
        };
        assert!(parse_all(&frame(2, 3, 5))[0].is_ok());
        assert!(parse_all(&frame(5, 0, 5))[0].is_ok());
        assert!(parse_all(&frame(0, 0, 0))[0].is_ok());
        const BEYOND: Error = Error::Invalid("data beyond message length");
        assert_eq!(parse_all(&frame(3, 3, 5)), vec![Err(BEYOND)]);
        assert_eq!(parse_all(&frame(6, 0, 5)), vec![Err(BEYOND)]);
        // chunk_len huge, no bytes behind it: rejected by the length check.
        let mut b = vec![FRAME_DATA, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0];
        put_varint(&mut b, VARINT_MAX);
        assert_eq!(parse_all(&b), vec![Err(BEYOND)]);
        // offset must fit u32.
        let mut b = vec![FRAME_DATA, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        put_varint(&mut b, 1 << 32);
        b.push(0);
        assert_eq!(
            parse_all(&b),
            vec![Err(Error::Invalid("data offset too large"))]
        );
        // unknown class.
        let mut b = frame(0, 0, 0);
        b[1] = 2;
        assert_eq!(parse_all(&b), vec![Err(Error::Invalid("unknown class"))]);
    }

    #[test]
    fn max_chunk_len_is_tight() {
        for seq in [0, 63, 64, 1 << 20, VARINT_MAX] {
            for offset in [0, 63, 64, u32::MAX] {
                let fits = |n: usize| DataFrame::overhead(seq, offset, n) + n;
                for space in (0..200).chain(16370..16400).chain([1 << 30, 1 << 31]) {
                    let n = DataFrame::max_chunk_len(seq, offset, space);
                    if fits(0) <= space {
                        assert!(fits(n) <= space, "seq {seq} off {offset} space {space}");
                        assert!(fits(n + 1) > space, "seq {seq} off {offset} space {space}");
                    } else {
                        assert_eq!(n, 0);
                    }
                }
            }
        }
    }
}
