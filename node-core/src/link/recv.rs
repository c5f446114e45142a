//! Incoming service messages: reassembly and in-order delivery per channel.

use std::collections::BTreeMap;

use crate::range_set::RangeSet;
use crate::wire::DataFrame;

/// How far ahead of the next deliverable message a sequence number may be.
const MAX_AHEAD: u64 = 1 << 16;

/// Bytes charged for each message waiting for reassembly or for an earlier
/// message, whatever its length: its bookkeeping (the map entry, the range
/// set, the vector header) costs memory even when it holds no data. The
/// sender charges its window the same per message (`send.rs`), so an honest
/// peer stays within the receiver's limits however small its messages are.
pub const PENDING_OVERHEAD: usize = 128;

struct InMessage {
    len: u32,
    data: Vec<u8>,
    received: RangeSet,
    complete: bool,
}

#[derive(Default)]
struct ChannelIn {
    next_seq: u64,
    pending: BTreeMap<u64, InMessage>,
}

/// Limits that protect the receiver from a peer that breaks the rules.
#[derive(Debug, Clone, Copy)]
pub struct RecvLimits {
    /// Largest message accepted.
    pub max_message: usize,
    /// Bytes that may wait for reassembly or for an earlier message, each
    /// pending message counted with [`PENDING_OVERHEAD`] on top of its data.
    pub max_buffered: usize,
    /// Messages that may wait, over all channels of the link.
    pub max_pending: usize,
}

/// A DATA frame that an honest peer would not send. The frame is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation(pub &'static str);

/// The receive side of a link's service channels.
#[derive(Default)]
pub struct RecvStreams {
    channels: BTreeMap<u16, ChannelIn>,
    /// Data bytes of pending messages plus [`PENDING_OVERHEAD`] for each.
    buffered: usize,
    pending: usize,
}

impl RecvStreams {
    /// Takes a DATA frame; complete messages that are next in their channel
    /// are appended to `out` in order. Duplicates are ignored.
    pub fn on_data(
        &mut self,
        f: &DataFrame<'_>,
        limits: RecvLimits,
        out: &mut Vec<(u16, Vec<u8>)>,
    ) -> Result<(), Violation> {
        if f.msg_len as usize > limits.max_message {
            return Err(Violation("message larger than the limit"));
        }
        if f.data.is_empty() && f.msg_len > 0 {
            // An honest sender never sends an empty chunk of a non-empty
            // message; accepting one would let a peer open pending messages
            // that carry nothing.
            return Err(Violation("empty chunk of a non-empty message"));
        }
        let ch = self.channels.entry(f.channel).or_default();
        if f.seq < ch.next_seq {
            return Ok(());
        }
        if f.seq - ch.next_seq >= MAX_AHEAD {
            return Err(Violation("message sequence too far ahead"));
        }
        // The common case: a whole message, next in line, in one frame.
        if f.seq == ch.next_seq && f.offset == 0 && f.data.len() == f.msg_len as usize {
            if let Some(m) = ch.pending.get(&f.seq) {
                if m.len != f.msg_len {
                    return Err(Violation("message length changed"));
                }
                self.buffered -= m.data.len() + PENDING_OVERHEAD;
                self.pending -= 1;
                ch.pending.remove(&f.seq);
            }
            out.push((f.channel, f.data.to_vec()));
            ch.next_seq += 1;
            let freed = deliver_ready(f.channel, ch, out);
            self.release(freed);
            return Ok(());
        }

        let end = f.offset as usize + f.data.len();
        let (have, new) = match ch.pending.get(&f.seq) {
            Some(m) if m.len != f.msg_len => return Err(Violation("message length changed")),
            Some(m) => (m.data.len(), 0),
            None => (0, PENDING_OVERHEAD),
        };
        let growth = end.saturating_sub(have);
        if self.buffered + growth + new > limits.max_buffered {
            return Err(Violation("receive buffer exceeded"));
        }
        if new > 0 && self.pending >= limits.max_pending {
            return Err(Violation("too many messages waiting"));
        }
        if new > 0 {
            self.pending += 1;
            self.buffered += new;
        }
        // Memory follows the bytes received, never the length announced.
        let m = ch.pending.entry(f.seq).or_insert_with(|| InMessage {
            len: f.msg_len,
            data: Vec::new(),
            received: RangeSet::new(),
            complete: false,
        });
        if !m.complete {
            let start = f.offset as usize;
            self.buffered += growth;
            if start == m.data.len() {
                // In order, the usual case: append without zero-filling first.
                m.data.extend_from_slice(f.data);
            } else {
                if growth > 0 {
                    m.data.resize(end, 0);
                }
                m.data[start..end].copy_from_slice(f.data);
            }
            m.received.insert(start as u64..end as u64);
            m.complete = m.received.total() == u64::from(m.len);
        }
        let freed = deliver_ready(f.channel, ch, out);
        self.release(freed);
        Ok(())
    }

    fn release(&mut self, (messages, bytes): (usize, usize)) {
        self.pending -= messages;
        self.buffered -= bytes + messages * PENDING_OVERHEAD;
    }

    /// Bytes waiting for reassembly or delivery, [`PENDING_OVERHEAD`]
    /// counted for each waiting message.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Messages waiting for reassembly or for an earlier message.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending
    }
}

/// Delivers complete messages at the head of the channel; returns how many
/// messages and data bytes left the buffer.
fn deliver_ready(
    channel: u16,
    ch: &mut ChannelIn,
    out: &mut Vec<(u16, Vec<u8>)>,
) -> (usize, usize) {
    let (mut messages, mut bytes) = (0, 0);
    while let Some(entry) = ch.pending.first_entry() {
        if *entry.key() != ch.next_seq || !entry.get().complete {
            break;
        }
        let m = entry.remove();
        messages += 1;
        bytes += m.data.len();
        out.push((channel, m.data));
        ch.next_seq += 1;
    }
    (messages, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Class;

    const LIMITS: RecvLimits = RecvLimits {
        max_message: 1000,
        max_buffered: 100 + 4 * PENDING_OVERHEAD,
        max_pending: 3,
    };

    fn frame(seq: u64, msg_len: u32, offset: u32, data: &[u8]) -> DataFrame<'_> {
        DataFrame {
            class: Class::Bulk,
            channel: 3,
            seq,
            msg_len,
            offset,
            data,
        }
    }

    #[test]
    fn reassembles_in_order_once() {
        let mut r = RecvStreams::default();
        let mut out = Vec::new();
        r.on_data(&frame(1, 2, 0, b"cd"), LIMITS, &mut out).unwrap();
        r.on_data(&frame(0, 4, 2, b"ab"), LIMITS, &mut out).unwrap();
        assert!(out.is_empty());
        r.on_data(&frame(0, 4, 0, b"xy"), LIMITS, &mut out).unwrap();
        r.on_data(&frame(0, 4, 0, b"xy"), LIMITS, &mut out).unwrap();
        r.on_data(&frame(2, 0, 0, b""), LIMITS, &mut out).unwrap();
        assert_eq!(
            out,
            vec![(3, b"xyab".to_vec()), (3, b"cd".to_vec()), (3, vec![])]
        );
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn violations_are_refused() {
        let mut r = RecvStreams::default();
        let mut out = Vec::new();
        assert!(
            r.on_data(&frame(0, 2000, 0, b"a"), LIMITS, &mut out)
                .is_err()
        );
        assert!(
            r.on_data(&frame(MAX_AHEAD, 2, 0, b"a"), LIMITS, &mut out)
                .is_err()
        );
        assert!(
            r.on_data(&frame(0, 900, 800, b"a"), LIMITS, &mut out)
                .is_err()
        );
        assert!(r.on_data(&frame(0, 9, 0, b""), LIMITS, &mut out).is_err());
        r.on_data(&frame(0, 9, 1, b"a"), LIMITS, &mut out).unwrap();
        assert!(r.on_data(&frame(0, 8, 0, b"a"), LIMITS, &mut out).is_err());
    }

    /// Finding 2 of the hardening review: empty chunks of large messages
    /// reserved memory (`with_capacity(min(msg_len, 64 KiB))`) that
    /// `buffered()` did not see. Now they are refused, and every pending
    /// message is charged, so a flood of tiny fragments stops at the limit.
    #[test]
    fn fragment_floods_are_charged_and_bounded() {
        let limits = RecvLimits {
            max_message: 1 << 20,
            max_buffered: 64 << 10,
            max_pending: 1 << 20,
        };
        let mut r = RecvStreams::default();
        let mut out = Vec::new();
        let mut refused = 0;
        // 20,000 one-byte fragments of 64 KiB messages, all out of order.
        for seq in 1..20_001u64 {
            let f = frame(seq % MAX_AHEAD, 1 << 16, 5, b"x");
            if r.on_data(&f, limits, &mut out).is_err() {
                refused += 1;
            }
            // Empty fragments of non-empty messages never open anything.
            let empty = frame(seq % MAX_AHEAD, 1 << 16, 0, b"");
            assert!(r.on_data(&empty, limits, &mut out).is_err());
        }
        assert!(out.is_empty());
        assert!(r.buffered() <= limits.max_buffered);
        // Each pending message costs its bytes (offset 5 + 1) and the
        // overhead; memory is allocated by bytes received, never by length.
        let per = PENDING_OVERHEAD + 6;
        assert_eq!(r.pending(), limits.max_buffered / per);
        assert_eq!(refused, 20_000 - r.pending());
        let held: usize = r
            .channels
            .values()
            .flat_map(|c| c.pending.values())
            .map(|m| m.data.capacity())
            .sum();
        assert!(held <= 16 * r.pending(), "{held} bytes reserved");
    }

    #[test]
    fn pending_messages_are_capped_per_link() {
        let mut r = RecvStreams::default();
        let mut out = Vec::new();
        for seq in 1..=3 {
            r.on_data(&frame(seq, 0, 0, b""), LIMITS, &mut out).unwrap();
        }
        assert_eq!(r.pending(), 3);
        assert!(r.on_data(&frame(4, 0, 0, b""), LIMITS, &mut out).is_err());
        // The message they wait for frees them all, and the count with them.
        r.on_data(&frame(0, 1, 0, b"a"), LIMITS, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!((r.pending(), r.buffered()), (0, 0));
        r.on_data(&frame(4, 0, 0, b""), LIMITS, &mut out).unwrap();
        assert_eq!(out.len(), 5);
    }
}
