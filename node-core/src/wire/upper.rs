//! The envelope of frames that belong to the layers above the link.
//!
//! The link parses its own frames (types below [`FRAME_UPPER_MIN`]) and
//! nothing else. Every other frame is `type (1) | len (varint) | body`: the
//! link checks only the envelope and hands `(type, body)` up to the layer
//! that owns the type's range, so a new layer (discovery, churn, payments)
//! adds frame types without touching the link's parser.
//!
//! | type bits | meaning |
//! |-----------|---------|
//! | `0x80` | set: the frame is **not** ack-eliciting (its sender keeps no state an ack could settle) |
//! | `0x70` | the owner: 1 route, 2 discovery, 3 churn, 4 pay, 5..7 reserved |
//! | `0x0f` | the frame within its owner's range |
//!
//! Types `0x06..=0x0f` (and `0x86..=0x8f`) are reserved for future *link*
//! frames: a packet holding one is malformed, since the link cannot know
//! its length. [`UpperFrame::is_ack_eliciting`] is read from the type alone,
//! so the link never needs to understand a body to acknowledge a packet.
//!
//! **The version rule.** A node that receives an upper frame whose owner
//! it does not run, or whose type its owner does not know, skips it and
//! counts it (`unknown_frames`); the rest of the packet is processed and
//! acknowledged as usual. Nodes of two versions can therefore share a mesh:
//! a newer node must never *depend* on an older peer understanding a frame
//! type it introduced (it learns what a peer runs from the peer's own
//! frames, e.g. its adverts), and an unknown frame costs its receiver only
//! a skip.

use super::varint::{Reader, max_len_prefixed, put_varint, varint_len};
use super::{Error, Result};

/// The smallest frame type that belongs to an upper layer.
pub const FRAME_UPPER_MIN: u8 = 0x10;
/// Type bit: the frame is not ack-eliciting.
pub const NOT_ACK_ELICITING: u8 = 0x80;

/// The layer that owns a frame type's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// `0x10..=0x1f`: source routes.
    Route,
    /// `0x20..=0x2f`: link-state adverts and path finding.
    Discovery,
    /// `0x30..=0x3f`: the tunnel manager.
    Churn,
    /// `0x40..=0x4f`: accounting, receipts and settlement.
    Pay,
    /// `0x50..=0x7f`: not assigned yet (the high nibble, 5..=7).
    Reserved(u8),
}

impl Owner {
    /// The owner of frame type `ty` (`None` for the link's own types).
    pub fn of(ty: u8) -> Option<Owner> {
        match (ty & !NOT_ACK_ELICITING) >> 4 {
            0 => None,
            1 => Some(Owner::Route),
            2 => Some(Owner::Discovery),
            3 => Some(Owner::Churn),
            4 => Some(Owner::Pay),
            n => Some(Owner::Reserved(n)),
        }
    }
}

/// A frame of an upper layer, as the link sees it: a type and a body it
/// does not look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpperFrame<'a> {
    /// The frame type (at least [`FRAME_UPPER_MIN`], bit 7 aside).
    pub ty: u8,
    /// The body, parsed by the owner.
    pub body: &'a [u8],
}

impl<'a> UpperFrame<'a> {
    /// The layer the frame belongs to.
    pub fn owner(&self) -> Owner {
        // Cannot fail: parsed and built upper frames have upper types.
        Owner::of(self.ty).unwrap_or(Owner::Reserved(0))
    }

    /// Whether receiving it obliges an ack (from the type's bit 7).
    pub fn is_ack_eliciting(&self) -> bool {
        self.ty & NOT_ACK_ELICITING == 0
    }

    /// Encoded length, envelope included.
    pub fn encoded_len(&self) -> usize {
        overhead(self.body.len()) + self.body.len()
    }

    /// Appends the envelope and body to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        begin(buf, self.ty, self.body.len());
        buf.extend_from_slice(self.body);
    }

    /// Parses the rest of an envelope whose type byte was `ty`.
    pub(super) fn parse(ty: u8, r: &mut Reader<'a>) -> Result<Self> {
        // A length that does not fit usize cannot be present either.
        let len = usize::try_from(r.varint()?).map_err(|_| Error::Truncated)?;
        Ok(UpperFrame {
            ty,
            body: r.bytes(len)?,
        })
    }
}

/// Bytes of the envelope of a body of `body_len` bytes.
pub fn overhead(body_len: usize) -> usize {
    1 + varint_len(body_len as u64)
}

/// Writes the envelope of a frame of type `ty` whose body of `body_len`
/// bytes the caller appends next.
pub fn begin(buf: &mut Vec<u8>, ty: u8, body_len: usize) {
    debug_assert!(
        Owner::of(ty).is_some(),
        "not an upper frame type: {ty:#04x}"
    );
    buf.reserve(overhead(body_len) + body_len);
    buf.push(ty);
    put_varint(buf, body_len as u64);
}

/// The largest body whose frame fits in `space` bytes (0 if none does).
pub fn max_body_len(space: usize) -> usize {
    max_len_prefixed(1, space)
}

/// A reader over a body that must be consumed exactly.
pub(super) fn finish<T>(r: Reader<'_>, value: T) -> Result<T> {
    if r.rest().is_empty() {
        Ok(value)
    } else {
        Err(Error::Invalid("trailing bytes in frame body"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_by_range_and_ack_bit() {
        assert_eq!(Owner::of(0x05), None);
        assert_eq!(Owner::of(0x8f), None);
        assert_eq!(Owner::of(0x10), Some(Owner::Route));
        assert_eq!(Owner::of(0x9f), Some(Owner::Route));
        assert_eq!(Owner::of(0x2a), Some(Owner::Discovery));
        assert_eq!(Owner::of(0x31), Some(Owner::Churn));
        assert_eq!(Owner::of(0xc0), Some(Owner::Pay));
        assert_eq!(Owner::of(0x7f), Some(Owner::Reserved(7)));
        let f = UpperFrame {
            ty: 0x90,
            body: &[],
        };
        assert!(!f.is_ack_eliciting());
        assert!(
            UpperFrame {
                ty: 0x10,
                body: &[]
            }
            .is_ack_eliciting()
        );
    }

    #[test]
    fn max_body_len_is_tight() {
        for space in 0..20_000 {
            let n = max_body_len(space);
            if overhead(0) > space {
                assert_eq!(n, 0);
                continue;
            }
            assert!(overhead(n) + n <= space, "space {space}");
            assert!(overhead(n + 1) + n + 1 > space, "space {space}");
        }
    }
}
