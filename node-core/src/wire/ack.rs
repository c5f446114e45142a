//! The ACK frame (type 0x02), encoded like a QUIC ACK (RFC 9000 §19.3).

use core::ops::RangeInclusive;

use super::frame::FRAME_ACK;
use super::varint::{Reader, VARINT_MAX, put_varint, varint_len};
use super::{Error, Result};

/// Acknowledged packet numbers, as descending inclusive ranges.
///
/// Wire layout after the type byte: `largest (varint) | ack_delay_us
/// (varint) | range_count (varint) | first_range (varint)` then
/// `range_count` times `gap (varint) | range_len (varint)`. The first range
/// is `[largest - first_range, largest]`; each following range has
/// `largest = previous smallest - gap - 2` and `smallest = largest -
/// range_len`.
///
/// A *well-formed* ack (see [`Self::is_well_formed`]) has a non-empty
/// `ranges` list, in descending order, with every range non-empty
/// (`start <= end`), consecutive ranges separated by at least one
/// unacknowledged number, and every packet number at most
/// [`VARINT_MAX`]. [`parse`](super::frames) only yields that shape, and
/// [`Self::emit`] requires it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckFrame {
    /// Time the receiver held the largest acknowledged packet before
    /// sending this ack, in microseconds. Values above [`VARINT_MAX`] are
    /// clamped on emit.
    pub ack_delay_us: u64,
    /// Acknowledged packet numbers, highest range first.
    pub ranges: Vec<RangeInclusive<u64>>,
}

impl AckFrame {
    /// Maximum number of ranges (the first one included) in one ACK frame.
    ///
    /// Parsing rejects frames with more (`Invalid("too many ack ranges")`);
    /// [`Self::emit`] only writes the first (highest) `MAX_RANGES` ranges, so
    /// callers should pass at most this many.
    pub const MAX_RANGES: usize = 256;

    /// The largest acknowledged packet number, if any.
    pub fn largest(&self) -> Option<u64> {
        self.ranges.first().map(|r| *r.end())
    }

    /// Whether `ranges` has the shape [`Self::emit`] requires (see the type
    /// documentation). The number of ranges is not checked.
    pub fn is_well_formed(&self) -> bool {
        let Some(first) = self.ranges.first() else {
            return false;
        };
        if first.start() > first.end() || *first.end() > VARINT_MAX {
            return false;
        }
        self.ranges.windows(2).all(|w| match w {
            [hi, lo] => lo.start() <= lo.end() && lo.end().saturating_add(1) < *hi.start(),
            _ => true,
        })
    }

    /// The ranges that [`Self::emit`] writes (at most [`Self::MAX_RANGES`]).
    fn emitted_ranges(&self) -> &[RangeInclusive<u64>] {
        self.ranges.get(..Self::MAX_RANGES).unwrap_or(&self.ranges)
    }

    /// Calls `f` with each varint of the encoding after the type byte.
    fn for_each_varint(&self, mut f: impl FnMut(u64)) {
        let ranges = self.emitted_ranges();
        let Some((first, rest)) = ranges.split_first() else {
            return;
        };
        f(*first.end());
        f(self.ack_delay_us.min(VARINT_MAX));
        f(rest.len() as u64);
        f(first.end().saturating_sub(*first.start()));
        let mut smallest = *first.start();
        for r in rest {
            f(smallest.saturating_sub(*r.end()).saturating_sub(2));
            f(r.end().saturating_sub(*r.start()));
            smallest = *r.start();
        }
    }

    /// Encoded length, type byte included (0 if `ranges` is empty, since
    /// nothing is emitted then).
    pub fn encoded_len(&self) -> usize {
        if self.ranges.is_empty() {
            return 0;
        }
        let mut len = 1;
        self.for_each_varint(|v| len += varint_len(v));
        len
    }

    /// Appends the encoded frame (type byte included) to `buf`.
    ///
    /// Requires a well-formed ack ([`Self::is_well_formed`]), checked with
    /// a `debug_assert!`. In release builds an empty `ranges` emits
    /// nothing, and ranges beyond [`Self::MAX_RANGES`] are dropped; other
    /// malformed input produces a frame that may acknowledge the wrong
    /// packets, but never panics.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        debug_assert!(self.is_well_formed(), "malformed ack: {self:?}");
        if self.ranges.is_empty() {
            return;
        }
        buf.push(FRAME_ACK);
        self.for_each_varint(|v| put_varint(buf, v));
    }

    /// Parses the frame body (after the type byte).
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        const UNDERFLOW: Error = Error::Invalid("ack range underflow");
        let largest = r.varint()?;
        let ack_delay_us = r.varint()?;
        let range_count = r.varint()?;
        let first_range = r.varint()?;
        // Bound the allocation by a constant before trusting range_count.
        let extra = usize::try_from(range_count)
            .ok()
            .filter(|&n| n < Self::MAX_RANGES)
            .ok_or(Error::Invalid("too many ack ranges"))?;
        let mut ranges = Vec::with_capacity(extra + 1);
        let mut smallest = largest.checked_sub(first_range).ok_or(UNDERFLOW)?;
        ranges.push(smallest..=largest);
        for _ in 0..extra {
            let gap = r.varint()?;
            let range_len = r.varint()?;
            let hi = smallest
                .checked_sub(gap)
                .and_then(|v| v.checked_sub(2))
                .ok_or(UNDERFLOW)?;
            smallest = hi.checked_sub(range_len).ok_or(UNDERFLOW)?;
            ranges.push(smallest..=hi);
        }
        Ok(Self {
            ack_delay_us,
            ranges,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Frame, frames};
    use super::*;

    fn round_trip(ack: &AckFrame) -> Vec<u8> {
        let mut buf = Vec::new();
        ack.emit(&mut buf);
        assert_eq!(buf.len(), ack.encoded_len());
        let parsed: Vec<_> = frames(&buf).collect();
        assert_eq!(parsed, vec![Ok(Frame::Ack(ack.clone()))]);
        buf
    }

    #[test]
    fn single_range() {
        let ack = AckFrame {
            ack_delay_us: 25,
            ranges: vec![7..=10],
        };
        let buf = round_trip(&ack);
        assert_eq!(buf, [FRAME_ACK, 10, 25, 0, 3]);
    }

    #[test]
    fn several_ranges() {
        let ack = AckFrame {
            ack_delay_us: 1000,
            ranges: vec![90..=100, 80..=88, 50..=50, 0..=48],
        };
        assert!(ack.is_well_formed());
        assert_eq!(ack.largest(), Some(100));
        let buf = round_trip(&ack);
        // type, largest 100 (2 bytes), delay 1000 (2), count 3, first 10,
        // then (gap, len) = (0, 8), (28, 0), (0, 48).
        assert_eq!(
            buf,
            [FRAME_ACK, 0x40, 100, 0x43, 0xe8, 3, 10, 0, 8, 28, 0, 0, 48]
        );
        for cut in 1..buf.len() {
            let got: Vec<_> = frames(&buf[..cut]).collect();
            assert_eq!(got, vec![Err(Error::Truncated)], "cut at {cut}");
        }
    }

    #[test]
    fn extreme_values() {
        let ack = AckFrame {
            ack_delay_us: u64::MAX,
            ranges: vec![VARINT_MAX..=VARINT_MAX, 0..=VARINT_MAX - 2],
        };
        assert!(ack.is_well_formed());
        let mut buf = Vec::new();
        ack.emit(&mut buf);
        let parsed: Vec<_> = frames(&buf).collect();
        let expected = AckFrame {
            ack_delay_us: VARINT_MAX,
            ..ack
        };
        assert_eq!(parsed, vec![Ok(Frame::Ack(expected))]);
    }

    #[test]
    fn underflow_rejected() {
        const BAD: Error = Error::Invalid("ack range underflow");
        // first_range > largest
        assert_eq!(frames(&[FRAME_ACK, 5, 0, 0, 6]).next(), Some(Err(BAD)));
        // gap underflow: smallest 5 - gap 4 - 2 < 0
        assert_eq!(
            frames(&[FRAME_ACK, 5, 0, 1, 0, 4, 0]).next(),
            Some(Err(BAD))
        );
        // gap exactly reaching zero is fine: 5 - 3 - 2 = 0
        assert_eq!(
            frames(&[FRAME_ACK, 5, 0, 1, 0, 3, 0]).next(),
            Some(Ok(Frame::Ack(AckFrame {
                ack_delay_us: 0,
                ranges: vec![5..=5, 0..=0]
            })))
        );
        // range_len underflow
        assert_eq!(
            frames(&[FRAME_ACK, 5, 0, 1, 0, 0, 4]).next(),
            Some(Err(BAD))
        );
    }

    #[test]
    fn huge_range_count() {
        // range_count = 2^60 with nothing behind it: must fail quickly.
        let mut buf = vec![FRAME_ACK, 5, 0];
        put_varint(&mut buf, 1 << 60);
        buf.push(0);
        let got: Vec<_> = frames(&buf).collect();
        assert_eq!(got, vec![Err(Error::Invalid("too many ack ranges"))]);
    }

    #[test]
    fn max_ranges() {
        let ranges: Vec<_> = (0..AckFrame::MAX_RANGES as u64 + 1)
            .rev()
            .map(|i| 2 * i..=2 * i)
            .collect();
        let ok = AckFrame {
            ack_delay_us: 0,
            ranges: ranges[..AckFrame::MAX_RANGES].to_vec(),
        };
        round_trip(&ok);
        // More than MAX_RANGES: emit keeps the highest ones.
        let too_many = AckFrame {
            ack_delay_us: 0,
            ranges,
        };
        let mut buf = Vec::new();
        too_many.emit(&mut buf);
        assert_eq!(buf.len(), too_many.encoded_len());
        assert_eq!(frames(&buf).collect::<Vec<_>>(), vec![Ok(Frame::Ack(ok))]);
        // A hand-made frame with 257 ranges is rejected.
        let mut buf = vec![FRAME_ACK];
        put_varint(&mut buf, 10_000);
        buf.extend_from_slice(&[0, 0x41, 0x00, 0]);
        buf.extend(core::iter::repeat_n([0u8, 0], 256).flatten());
        assert_eq!(
            frames(&buf).next(),
            Some(Err(Error::Invalid("too many ack ranges")))
        );
    }

    #[test]
    fn well_formed() {
        let ack = |ranges: Vec<RangeInclusive<u64>>| AckFrame {
            ack_delay_us: 0,
            ranges,
        };
        assert!(!ack(vec![]).is_well_formed());
        assert!(ack(vec![3..=3]).is_well_formed());
        assert!(!ack(vec![RangeInclusive::new(4, 3)]).is_well_formed());
        assert!(!ack(vec![5..=6, 3..=4]).is_well_formed()); // adjacent
        assert!(!ack(vec![5..=6, 3..=5]).is_well_formed()); // overlapping
        assert!(!ack(vec![3..=4, 6..=7]).is_well_formed()); // ascending
        assert!(ack(vec![5..=6, 2..=3]).is_well_formed());
        assert!(!ack(vec![0..=VARINT_MAX + 1]).is_well_formed());
    }
}
