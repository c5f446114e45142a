//! Incoming service messages: reassembly and in-order delivery per channel.

use std::collections::BTreeMap;

use crate::range_set::RangeSet;
use crate::wire::DataFrame;

/// How far ahead of the next deliverable message a sequence number may be.
const MAX_AHEAD: u64 = 1 << 16;

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
    /// Bytes that may wait for reassembly or for an earlier message.
    pub max_buffered: usize,
}

/// A DATA frame that an honest peer would not send. The frame is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation(pub &'static str);

/// The receive side of a link's service channels.
#[derive(Default)]
pub struct RecvStreams {
    channels: BTreeMap<u16, ChannelIn>,
    buffered: usize,
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
                self.buffered -= m.data.len();
                ch.pending.remove(&f.seq);
            }
            out.push((f.channel, f.data.to_vec()));
            ch.next_seq += 1;
            self.buffered -= deliver_ready(f.channel, ch, out);
            return Ok(());
        }

        let end = f.offset as usize + f.data.len();
        let have = match ch.pending.get(&f.seq) {
            Some(m) if m.len != f.msg_len => return Err(Violation("message length changed")),
            Some(m) => m.data.len(),
            None => 0,
        };
        let growth = end.saturating_sub(have);
        if self.buffered + growth > limits.max_buffered {
            return Err(Violation("receive buffer exceeded"));
        }
        let m = ch.pending.entry(f.seq).or_insert_with(|| InMessage {
            len: f.msg_len,
            data: Vec::with_capacity((f.msg_len as usize).min(64 << 10)),
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
        self.buffered -= deliver_ready(f.channel, ch, out);
        Ok(())
    }

    /// Bytes waiting for reassembly or delivery.
    pub fn buffered(&self) -> usize {
        self.buffered
    }
}

/// Delivers complete messages at the head of the channel; returns the bytes
/// that left the buffer.
fn deliver_ready(channel: u16, ch: &mut ChannelIn, out: &mut Vec<(u16, Vec<u8>)>) -> usize {
    let mut freed = 0;
    while let Some(entry) = ch.pending.first_entry() {
        if *entry.key() != ch.next_seq || !entry.get().complete {
            break;
        }
        let m = entry.remove();
        freed += m.data.len();
        out.push((channel, m.data));
        ch.next_seq += 1;
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Class;

    const LIMITS: RecvLimits = RecvLimits {
        max_message: 1000,
        max_buffered: 100,
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
        r.on_data(&frame(0, 9, 1, b"a"), LIMITS, &mut out).unwrap();
        assert!(r.on_data(&frame(0, 8, 0, b"a"), LIMITS, &mut out).is_err());
    }
}
