//! QUIC variable-length integers (RFC 9000 §16) and a bounds-checked byte
//! reader used by every decoder in [`wire`](super).
//!
//! A varint stores its length in the two most significant bits of the first
//! byte: `00` = 1 byte (6-bit value), `01` = 2 bytes (14 bits), `10` = 4 bytes
//! (30 bits), `11` = 8 bytes (62 bits). The remaining bits hold the value,
//! big-endian. Decoding accepts non-minimal encodings (as QUIC does);
//! encoding always produces the shortest one.

use super::{Error, Result};

/// The largest value a varint can hold: 2^62 - 1.
pub const VARINT_MAX: u64 = (1 << 62) - 1;

/// Number of bytes [`put_varint`] uses to encode `v` (1, 2, 4 or 8).
///
/// Values above [`VARINT_MAX`] cannot be encoded; for them this returns 8.
pub fn varint_len(v: u64) -> usize {
    if v < 1 << 6 {
        1
    } else if v < 1 << 14 {
        2
    } else if v < 1 << 30 {
        4
    } else {
        8
    }
}

/// The largest `n` such that `fixed + varint_len(n) + n <= space`: how many
/// payload bytes fit after `fixed` bytes of header and a varint length. 0 if
/// none do (check `fixed + 1 <= space` to know whether an empty one fits).
pub fn max_len_prefixed(fixed: usize, space: usize) -> usize {
    // For each varint width, the largest length encodable at that width.
    [
        (1, (1 << 6) - 1),
        (2, (1 << 14) - 1),
        (4, (1 << 30) - 1),
        (8, usize::MAX),
    ]
    .into_iter()
    .filter_map(|(width, cap): (usize, usize)| space.checked_sub(fixed + width).map(|n| n.min(cap)))
    .max()
    .unwrap_or(0)
}

/// Appends the shortest varint encoding of `v` to `buf`.
///
/// Precondition: `v <= VARINT_MAX` (2^62 - 1). Callers guarantee it; it is
/// checked with a `debug_assert!`. In release builds an out-of-range value
/// is silently truncated to its low 62 bits (it never panics).
pub fn put_varint(buf: &mut Vec<u8>, v: u64) {
    debug_assert!(v <= VARINT_MAX, "varint out of range: {v}");
    let v = v & VARINT_MAX;
    match varint_len(v) {
        1 => buf.push(v as u8),
        2 => buf.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        4 => buf.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
        _ => buf.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes()),
    }
}

/// Decodes a varint from the start of `bytes`.
///
/// Returns the value and the number of bytes consumed, or
/// [`Error::Truncated`] if `bytes` is shorter than the encoding.
pub fn get_varint(bytes: &[u8]) -> Result<(u64, usize)> {
    let first = *bytes.first().ok_or(Error::Truncated)?;
    let len = 1usize << (first >> 6);
    let encoded = bytes.get(..len).ok_or(Error::Truncated)?;
    let mut value = u64::from(first & 0x3f);
    for &b in encoded.iter().skip(1) {
        value = (value << 8) | u64::from(b);
    }
    Ok((value, len))
}

/// A cursor over a byte slice whose reads are all bounds-checked.
///
/// Every read either returns the requested item and advances, or returns
/// [`Error::Truncated`] and leaves the cursor where it was.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Number of bytes not yet read.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes not yet read (does not advance).
    pub(super) fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// Reads the next `n` bytes.
    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.bytes.split_at_checked(n).ok_or(Error::Truncated)?;
        self.bytes = tail;
        Ok(head)
    }

    /// Reads the next `N` bytes as an array.
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (head, tail) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(Error::Truncated)?;
        self.bytes = tail;
        Ok(*head)
    }

    /// Reads one byte.
    pub(super) fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// Reads a big-endian `u16`.
    pub(super) fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    pub(super) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// Reads a big-endian `u64`.
    pub(super) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    /// Reads a varint.
    pub(super) fn varint(&mut self) -> Result<u64> {
        let (value, len) = get_varint(self.bytes)?;
        self.bytes = self.bytes.get(len..).unwrap_or_default();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        put_varint(&mut buf, v);
        buf
    }

    #[test]
    fn boundaries() {
        let cases: [(u64, usize); 9] = [
            (0, 1),
            (63, 1),
            (64, 2),
            (16383, 2),
            (16384, 4),
            ((1 << 30) - 1, 4),
            (1 << 30, 8),
            (VARINT_MAX - 1, 8),
            (VARINT_MAX, 8),
        ];
        for (v, len) in cases {
            assert_eq!(varint_len(v), len, "len of {v}");
            let buf = enc(v);
            assert_eq!(buf.len(), len, "encoding of {v}");
            assert_eq!(get_varint(&buf), Ok((v, len)), "decoding of {v}");
            for cut in 0..len {
                assert_eq!(get_varint(&buf[..cut]), Err(Error::Truncated));
            }
        }
    }

    #[test]
    fn rfc9000_examples() {
        // RFC 9000 Appendix A.1 sample encodings.
        let samples: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, v) in samples {
            assert_eq!(get_varint(bytes), Ok((v, bytes.len())));
            assert_eq!(enc(v), bytes);
        }
        // Non-minimal encoding of 37 is accepted.
        assert_eq!(get_varint(&[0x40, 0x25]), Ok((37, 2)));
    }

    #[test]
    fn trailing_bytes_ignored() {
        assert_eq!(get_varint(&[0x25, 0xff, 0xff]), Ok((37, 1)));
    }

    #[test]
    fn reader() {
        let bytes = [
            1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0x40, 0x40, 9, 8, 7,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.u64(), Ok(4));
        assert_eq!(r.varint(), Ok(64));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.array::<2>(), Ok([9, 8]));
        assert_eq!(r.u16(), Err(Error::Truncated));
        assert_eq!(r.bytes(2), Err(Error::Truncated));
        assert_eq!(r.rest(), &[7]);
        assert_eq!(r.bytes(1), Ok(&[7][..]));
        assert_eq!(r.u8(), Err(Error::Truncated));
        assert_eq!(r.varint(), Err(Error::Truncated));
        assert_eq!(r.remaining(), 0);
    }

    proptest! {
        #[test]
        fn round_trip(v in 0..=VARINT_MAX) {
            let buf = enc(v);
            prop_assert_eq!(buf.len(), varint_len(v));
            prop_assert_eq!(get_varint(&buf), Ok((v, buf.len())));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..10)) {
            if let Ok((v, len)) = get_varint(&bytes) {
                prop_assert!(v <= VARINT_MAX);
                prop_assert!(len <= bytes.len());
            }
        }
    }
}
