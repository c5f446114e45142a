//! One direction of a route at one node: the store-and-forward buffer and
//! the credits on both sides of it.
//!
//! A hop keeps every byte it received from upstream until the next hop's
//! link has acknowledged it (the first ack of the seed). It forwards only
//! below the limit the next hop advertised (the second ack, CREDIT: "you may
//! send up to this offset"), and advertises to its own upstream a limit of
//! its lowest held offset plus its buffer size. So a hop never holds more
//! than its buffer, nothing is ever dropped for lack of space, and a full
//! buffer stops the upstream, hop by hop, back to the source.

use std::collections::VecDeque;

use crate::range_set::RangeSet;
use crate::time::{Duration, Time};

/// Bytes of a route's stream held at one hop, by offset.
#[derive(Debug)]
pub struct StreamBuffer {
    /// Lowest offset still held: everything below was passed on for good.
    base: u64,
    /// Bytes from `base` on (gaps zero-filled), starting at `data[start]`.
    data: Vec<u8>,
    start: usize,
    /// Offsets received (all >= base).
    have: RangeSet,
    capacity: usize,
    /// Part of the capacity taken by bytes that left the buffer but are
    /// still held at this node (a destination's message under reassembly):
    /// counted in the credit, so reassembly cannot grow past it.
    reserved: usize,
}

/// A DATA frame beyond the credit its sender was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditViolation;

impl StreamBuffer {
    /// An empty buffer of `capacity` bytes starting at offset 0.
    pub fn new(capacity: usize) -> Self {
        StreamBuffer {
            base: 0,
            data: Vec::new(),
            start: 0,
            have: RangeSet::new(),
            capacity,
            reserved: 0,
        }
    }

    /// The credit to advertise upstream: offsets below it may be sent.
    pub fn limit(&self) -> u64 {
        self.base + self.capacity.saturating_sub(self.reserved) as u64
    }

    /// Bytes this buffer may make the node hold (what its credit exposes).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Grows the buffer to `capacity` bytes. Never shrinks it: credit once
    /// given cannot be taken back.
    pub fn grow(&mut self, capacity: usize) {
        self.capacity = self.capacity.max(capacity);
    }

    /// Sets the bytes held elsewhere on this buffer's account. The caller
    /// keeps the limit from falling: `reserved` grows by at most what
    /// `release` moved `base` by (reassembly keeps less than it consumed).
    pub fn set_reserved(&mut self, reserved: usize) {
        self.reserved = reserved;
    }

    /// Lowest offset held.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// End of the contiguous bytes from `base` (what can be passed on in order).
    pub fn contiguous_end(&self) -> u64 {
        self.have.first_gap_from(self.base)
    }

    /// Highest offset received plus one.
    pub fn end(&self) -> u64 {
        self.have.max().map_or(self.base, |m| m + 1)
    }

    /// Bytes held (received, not yet released).
    pub fn held(&self) -> u64 {
        self.have.total()
    }

    /// Free space at the tail (for a source appending in order).
    pub fn room(&self) -> usize {
        self.limit().saturating_sub(self.end()) as usize
    }

    /// Stores bytes at `offset`. Bytes below `base` are duplicates and are
    /// ignored; bytes at or beyond the limit break the credit rule.
    pub fn insert(&mut self, offset: u64, bytes: &[u8]) -> Result<(), CreditViolation> {
        let end = offset.saturating_add(bytes.len() as u64);
        if end > self.limit() {
            return Err(CreditViolation);
        }
        if end <= self.base {
            return Ok(());
        }
        let first = offset.max(self.base);
        // Only the missing parts: what is held stays as it was.
        for gap in self.have.missing_in(first..end) {
            let src = &bytes[(gap.start - offset) as usize..(gap.end - offset) as usize];
            let at = self.start + (gap.start - self.base) as usize;
            if at == self.data.len() {
                // In order, the usual case: append without zero-filling first.
                self.data.extend_from_slice(src);
            } else {
                if at + src.len() > self.data.len() {
                    self.data.resize(at + src.len(), 0);
                }
                self.data[at..at + src.len()].copy_from_slice(src);
            }
        }
        self.have.insert(first..end);
        Ok(())
    }

    /// Appends bytes at the end (the source of a route); the caller checked
    /// [`room`](Self::room).
    pub fn append(&mut self, bytes: &[u8]) {
        let end = self.end();
        // Cannot fail: the caller checked the room.
        self.insert(end, bytes).expect("appended within the room");
    }

    /// The held bytes at `[offset, offset + len)` (must be held).
    pub fn read(&self, offset: u64, len: usize) -> &[u8] {
        let at = self.start + (offset - self.base) as usize;
        &self.data[at..at + len]
    }

    /// Releases everything below `up_to` (passed on for good).
    pub fn release(&mut self, up_to: u64) {
        if up_to <= self.base {
            return;
        }
        let n = (up_to - self.base) as usize;
        self.base = up_to;
        self.start = (self.start + n).min(self.data.len());
        self.have.remove_below(up_to);
        // Compact now and then; amortized O(1) per byte.
        if self.start > self.capacity.max(4096) {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }
}

/// Sending one direction of a route to the next hop.
#[derive(Debug, Default)]
pub struct Forwarder {
    /// First offset never sent.
    next_send: u64,
    /// The next hop's credit: offsets below it may be sent.
    credit: u64,
    /// Offsets the next hop's link acknowledged.
    acked: RangeSet,
    /// Chunks lost on the link, to send again.
    retransmit: VecDeque<(u64, u64)>,
    /// Since when data waits for credit (for the stall metric).
    stalled_since: Option<Time>,
    /// Counters.
    pub stats: ForwardStats,
}

/// What a forwarder measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardStats {
    /// Bytes sent the first time.
    pub bytes_sent: u64,
    /// Bytes sent again after a link loss.
    pub bytes_retransmitted: u64,
    /// Chunks sent again.
    pub chunks_retransmitted: u64,
    /// Total time data waited for credit.
    pub credit_stall: Duration,
    /// Times the sender ran into the credit limit.
    pub credit_stalls: u64,
}

impl Forwarder {
    /// The next chunk to send: a lost one first, else new bytes that are
    /// held contiguously and within credit. `max_len(offset)` is the room a
    /// frame at `offset` has for data.
    pub fn next_chunk(
        &mut self,
        buf: &StreamBuffer,
        now: Time,
        max_len: impl Fn(u64) -> usize,
    ) -> Option<(u64, usize)> {
        while let Some(&(off, len)) = self.retransmit.front() {
            let gap = self
                .acked
                .missing_in(off.max(buf.base())..off + len)
                .into_iter()
                .next();
            let Some(gap) = gap else {
                self.retransmit.pop_front();
                continue;
            };
            let n = ((gap.end - gap.start) as usize).min(max_len(gap.start));
            if n == 0 {
                return None;
            }
            self.retransmit.pop_front();
            if gap.start + (n as u64) < off + len {
                self.retransmit
                    .push_front((gap.start + n as u64, off + len - gap.start - n as u64));
            }
            self.stats.bytes_retransmitted += n as u64;
            self.stats.chunks_retransmitted += 1;
            return Some((gap.start, n));
        }
        let available = buf.contiguous_end().min(self.credit);
        if self.next_send >= available {
            if self.next_send < buf.contiguous_end() && self.stalled_since.is_none() {
                self.stalled_since = Some(now);
                self.stats.credit_stalls += 1;
            }
            return None;
        }
        let n = ((available - self.next_send) as usize).min(max_len(self.next_send));
        if n == 0 {
            return None;
        }
        let off = self.next_send;
        self.next_send += n as u64;
        self.stats.bytes_sent += n as u64;
        Some((off, n))
    }

    /// Whether its next chunk is new bytes (no retransmission waits, and
    /// the credit lets some go).
    pub fn sends_new(&self, buf: &StreamBuffer) -> bool {
        self.retransmit.is_empty() && self.next_send < buf.contiguous_end().min(self.credit)
    }

    /// Whether a chunk could be sent now.
    pub fn wants_to_send(&self, buf: &StreamBuffer) -> bool {
        !self.retransmit.is_empty() || self.next_send < buf.contiguous_end().min(self.credit)
    }

    /// The next hop's link acknowledged a chunk; returns the offset below
    /// which everything is acknowledged (what may be released).
    pub fn on_acked(&mut self, offset: u64, len: u64, base: u64) -> u64 {
        self.acked.insert(offset..offset + len);
        let done = self.acked.first_gap_from(base);
        self.acked.remove_below(done);
        done
    }

    /// A chunk was lost on the link: send it again.
    pub fn on_lost(&mut self, offset: u64, len: u64) {
        self.retransmit.push_back((offset, len));
    }

    /// The next hop advertised a new limit.
    pub fn on_credit(&mut self, limit: u64, now: Time) {
        if limit > self.credit {
            self.credit = limit;
            if let Some(since) = self.stalled_since.take() {
                self.stats.credit_stall = self.stats.credit_stall + now.saturating_since(since);
            }
        }
    }

    /// The credit the next hop gave.
    pub fn credit(&self) -> u64 {
        self.credit
    }

    /// First offset never sent.
    pub fn next_send(&self) -> u64 {
        self.next_send
    }
}

/// The credit this hop advertises to its upstream.
#[derive(Debug, Default)]
pub struct CreditAdvert {
    /// The limit last sent.
    sent: u64,
    /// A CREDIT frame should go out.
    pub dirty: bool,
}

impl CreditAdvert {
    /// The buffer's limit moved to `limit`: worth telling the upstream once
    /// it grew by `threshold` or more (or the upstream may be waiting on it:
    /// `urgent`).
    pub fn update(&mut self, limit: u64, threshold: u64, urgent: bool) {
        if limit > self.sent && (limit - self.sent >= threshold || urgent) {
            self.dirty = true;
        }
    }

    /// The frame carrying `limit` was written.
    pub fn on_sent(&mut self, limit: u64) {
        self.sent = self.sent.max(limit);
        self.dirty = false;
    }

    /// The frame was lost: the current limit must go out again.
    pub fn on_lost(&mut self) {
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_holds_within_its_limit_and_releases() {
        let mut b = StreamBuffer::new(100);
        b.insert(10, &[1; 20]).unwrap();
        assert_eq!(b.contiguous_end(), 0);
        b.insert(0, &[2; 10]).unwrap();
        assert_eq!(b.contiguous_end(), 30);
        assert_eq!(b.read(8, 4), &[2, 2, 1, 1]);
        assert_eq!(b.insert(90, &[0; 11]), Err(CreditViolation));
        b.release(25);
        assert_eq!((b.base(), b.limit(), b.held()), (25, 125, 5));
        b.insert(0, &[9; 30]).unwrap(); // duplicates below base: ignored
        assert_eq!(b.read(25, 5), &[1; 5]);
    }

    #[test]
    fn forwarder_respects_credit_and_retransmits_losses() {
        let mut b = StreamBuffer::new(1000);
        b.append(&[7; 500]);
        let mut f = Forwarder::default();
        let t = Time::ZERO;
        assert_eq!(f.next_chunk(&b, t, |_| 100), None, "no credit yet");
        f.on_credit(250, Time::from_nanos(1_000));
        assert_eq!(f.stats.credit_stall, Duration::from_nanos(1_000));
        let chunks: Vec<_> = std::iter::from_fn(|| f.next_chunk(&b, t, |_| 100)).collect();
        assert_eq!(chunks, vec![(0, 100), (100, 100), (200, 50)]);
        assert_eq!(f.on_acked(100, 100, 0), 0);
        f.on_lost(0, 100);
        assert_eq!(f.next_chunk(&b, t, |_| 60), Some((0, 60)));
        assert_eq!(f.next_chunk(&b, t, |_| 60), Some((60, 40)));
        assert_eq!(f.on_acked(0, 100, 0), 200);
        assert_eq!(f.stats.bytes_retransmitted, 100);
    }
}
