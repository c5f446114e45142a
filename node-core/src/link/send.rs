//! Outgoing service messages: queues per class, chunking, retransmission.
//!
//! Each message gets a sequence number in its channel and is cut into DATA
//! frames as room appears in datagrams. Realtime is always served before
//! bulk. Per class, the bytes sent of messages not yet released stay under
//! the link window. A message is released once it and every message started
//! before it in its class are fully acknowledged; the oldest unreleased
//! message also gives back its acknowledged prefix as it grows, so a message
//! larger than the window flows. This bounds what the peer must buffer to
//! deliver in order: the window plus one message under reassembly per class.

use std::collections::{BTreeMap, VecDeque};

use super::recv::PENDING_OVERHEAD;
use super::sent::SentFrame;
use crate::range_set::RangeSet;
use crate::wire::{Class, DataFrame, Frame};

struct OutMessage {
    channel: u16,
    seq: u64,
    class: Class,
    data: Vec<u8>,
    /// Offset of the first byte never sent.
    next_new: u32,
    acked: RangeSet,
    /// Fully acknowledged (tracked apart so empty messages work too).
    done: bool,
    /// Bytes of its acknowledged prefix already taken off the window.
    released: u32,
    /// Off the window for good (it and every message before it in its
    /// class are acknowledged). It is forgotten only once every earlier
    /// message of its channel is acknowledged too: until then the receiver
    /// may hold it undelivered (waiting for an earlier message of another
    /// class), and a new session must send it again.
    window_released: bool,
}

impl OutMessage {
    fn len(&self) -> u32 {
        // Cannot truncate: messages are checked against max_message_size,
        // which fits in u32, before they are queued.
        self.data.len() as u32
    }

    /// The first part of `[offset, offset + len)` not yet acknowledged.
    fn first_missing(&self, offset: u32, len: u32) -> Option<(u32, u32)> {
        if self.done {
            return None;
        }
        if len == 0 {
            return Some((offset, 0));
        }
        let end = u64::from(offset) + u64::from(len);
        let gap = self
            .acked
            .missing_in(u64::from(offset)..end)
            .into_iter()
            .next()?;
        Some((gap.start as u32, (gap.end - gap.start) as u32))
    }
}

fn class_index(class: Class) -> usize {
    match class {
        Class::Realtime => 0,
        Class::Bulk => 1,
    }
}

/// The send side of a link's service channels, made at the first message.
///
/// Most links never carry one (routes' frames are the upper layers'): the
/// state is 296 bytes, which every link of a 10^5-node mesh paid idle.
/// Once made it stays (its message ids must not start again while a lost
/// frame may still name an old one).
#[derive(Default)]
pub struct SendStreams {
    streams: Option<Box<Streams>>,
}

impl SendStreams {
    /// Queues a message (already checked against the size limit).
    pub fn push(&mut self, channel: u16, class: Class, data: Vec<u8>) {
        self.streams
            .get_or_insert_with(Default::default)
            .push(channel, class, data);
    }

    /// Bytes of messages not yet fully acknowledged.
    pub fn backlog(&self) -> usize {
        self.streams.as_ref().map_or(0, |s| s.backlog)
    }

    /// Messages not yet fully acknowledged.
    pub fn pending_messages(&self) -> usize {
        self.streams.as_ref().map_or(0, |s| s.messages.len())
    }

    /// Whether a DATA frame could be written now (may be a false positive
    /// when queued retransmissions were meanwhile acknowledged).
    pub fn wants_to_send(&self, window: usize) -> bool {
        self.streams
            .as_ref()
            .is_some_and(|s| s.wants_to_send(window))
    }

    /// Writes one DATA frame of `class` that fits in `space` bytes into
    /// `buf`: a lost chunk first, else new data within the window.
    pub fn write_frame<T>(
        &mut self,
        class: Class,
        space: usize,
        window: usize,
        buf: &mut Vec<u8>,
    ) -> Option<SentFrame<T>> {
        self.streams
            .as_mut()?
            .write_frame(class, space, window, buf)
    }

    /// A DATA frame was acknowledged.
    pub fn on_acked(&mut self, id: u64, class: Class, offset: u32, len: u32) {
        if let Some(s) = self.streams.as_mut() {
            s.on_acked(id, class, offset, len);
        }
    }

    /// A DATA frame was lost; returns whether it will be sent again.
    pub fn on_lost(&mut self, id: u64, class: Class, offset: u32, len: u32) -> bool {
        self.streams
            .as_mut()
            .is_some_and(|s| s.on_lost(id, class, offset, len))
    }

    /// A new session replaces the old one: the peer's receive state is gone,
    /// so every message not yet acknowledged is sent again from its start,
    /// renumbered from zero in each channel. Returns how many had started.
    pub fn restart(&mut self) -> usize {
        self.streams.as_mut().map_or(0, |s| s.restart())
    }
}

#[derive(Default)]
struct Streams {
    messages: BTreeMap<u64, OutMessage>,
    unsent: [VecDeque<u64>; 2],
    retransmit: [VecDeque<(u64, u32, u32)>; 2],
    started: [VecDeque<u64>; 2],
    span: [usize; 2],
    next_id: u64,
    next_seq: BTreeMap<u16, u64>,
    /// Per channel, the messages not yet forgotten, in order.
    by_channel: BTreeMap<u16, VecDeque<u64>>,
    backlog: usize,
}

impl Streams {
    fn push(&mut self, channel: u16, class: Class, data: Vec<u8>) {
        let seq = self.next_seq.entry(channel).or_insert(0);
        let id = self.next_id;
        self.next_id += 1;
        self.backlog += data.len();
        self.messages.insert(
            id,
            OutMessage {
                channel,
                seq: *seq,
                class,
                data,
                next_new: 0,
                acked: RangeSet::new(),
                done: false,
                released: 0,
                window_released: false,
            },
        );
        *seq += 1;
        self.unsent[class_index(class)].push_back(id);
        self.by_channel.entry(channel).or_default().push_back(id);
    }

    fn wants_to_send(&self, window: usize) -> bool {
        (0..2).any(|c| {
            !self.retransmit[c].is_empty() || (!self.unsent[c].is_empty() && self.span[c] < window)
        })
    }

    /// Writes one DATA frame of `class` that fits in `space` bytes into
    /// `buf`: a lost chunk first, else new data within the window.
    fn write_frame<T>(
        &mut self,
        class: Class,
        space: usize,
        window: usize,
        buf: &mut Vec<u8>,
    ) -> Option<SentFrame<T>> {
        let c = class_index(class);
        while let Some(&(id, offset, len)) = self.retransmit[c].front() {
            let Some(msg) = self.messages.get(&id) else {
                self.retransmit[c].pop_front();
                continue;
            };
            let Some((start, missing)) = msg.first_missing(offset, len) else {
                self.retransmit[c].pop_front();
                continue;
            };
            let chunk = fit(msg, start, missing, space)?;
            self.retransmit[c].pop_front();
            let end = offset + len;
            if start + chunk < end {
                self.retransmit[c].push_front((id, start + chunk, end - start - chunk));
            }
            return Some(emit(id, msg, start, chunk, buf));
        }

        let &id = self.unsent[c].front()?;
        let open = window.saturating_sub(self.span[c]);
        // Cannot fail: ids in `unsent` always name a queued message.
        let msg = self
            .messages
            .get_mut(&id)
            .expect("unsent message is queued");
        let remaining = msg.len() - msg.next_new;
        if open == 0 && remaining > 0 {
            return None;
        }
        let allowance = remaining.min(open.min(u32::MAX as usize) as u32);
        let chunk = fit(msg, msg.next_new, allowance, space)?;
        let start = msg.next_new;
        if start == 0 {
            self.started[c].push_back(id);
            // Every message costs the peer bookkeeping while it waits, even
            // an empty one: the window counts it as the receiver does.
            self.span[c] += PENDING_OVERHEAD;
        }
        msg.next_new += chunk;
        self.span[c] += chunk as usize;
        if msg.next_new == msg.len() {
            self.unsent[c].pop_front();
        }
        Some(emit(id, msg, start, chunk, buf))
    }

    /// A DATA frame was acknowledged.
    fn on_acked(&mut self, id: u64, class: Class, offset: u32, len: u32) {
        let Some(msg) = self.messages.get_mut(&id) else {
            return;
        };
        msg.acked
            .insert(u64::from(offset)..u64::from(offset) + u64::from(len));
        if msg.acked.total() == u64::from(msg.len()) && msg.next_new == msg.len() {
            msg.done = true;
        }
        let c = class_index(class);
        while let Some(&front) = self.started[c].front() {
            let Some(m) = self.messages.get_mut(&front) else {
                self.started[c].pop_front();
                continue;
            };
            if !m.done {
                let prefix = (m.acked.first_gap_from(0) as u32).min(m.next_new);
                if prefix > m.released {
                    self.span[c] -= (prefix - m.released) as usize;
                    m.released = prefix;
                }
                break;
            }
            self.span[c] -= (m.len() - m.released) as usize + PENDING_OVERHEAD;
            m.window_released = true;
            let channel = m.channel;
            self.started[c].pop_front();
            self.forget_delivered(channel);
        }
    }

    /// Forgets the messages at the head of `channel` that are off the
    /// window: the receiver has delivered them (each, and everything before
    /// it in the channel, arrived whole).
    fn forget_delivered(&mut self, channel: u16) {
        let Some(queue) = self.by_channel.get_mut(&channel) else {
            return;
        };
        while let Some(&id) = queue.front() {
            match self.messages.get(&id) {
                Some(m) if !m.window_released => break,
                Some(m) => {
                    self.backlog -= m.data.len();
                    self.messages.remove(&id);
                }
                None => {}
            }
            queue.pop_front();
        }
        if queue.is_empty() {
            self.by_channel.remove(&channel);
        }
    }

    /// A DATA frame was lost; returns whether it will be sent again.
    fn on_lost(&mut self, id: u64, class: Class, offset: u32, len: u32) -> bool {
        match self.messages.get(&id) {
            Some(m) if m.first_missing(offset, len).is_some() => {
                self.retransmit[class_index(class)].push_back((id, offset, len));
                true
            }
            _ => false,
        }
    }

    /// A new session replaces the old one: the peer's receive state is gone,
    /// so every message not yet acknowledged is sent again from its start,
    /// renumbered from zero in each channel. Returns how many had started.
    fn restart(&mut self) -> usize {
        let mut resent = 0;
        self.next_seq.clear();
        self.unsent = Default::default();
        self.retransmit = Default::default();
        self.started = Default::default();
        self.span = [0, 0];
        for (&id, msg) in self.messages.iter_mut() {
            if msg.next_new > 0 {
                resent += 1;
            }
            let seq = self.next_seq.entry(msg.channel).or_insert(0);
            msg.seq = *seq;
            *seq += 1;
            msg.next_new = 0;
            msg.acked = RangeSet::new();
            msg.done = false;
            msg.released = 0;
            msg.window_released = false;
            self.unsent[class_index(msg.class)].push_back(id);
        }
        resent
    }
}

/// How much of `want` bytes at `offset` fits in `space`; `None` if not even
/// one byte (or, for an empty message, not the frame) fits.
fn fit(msg: &OutMessage, offset: u32, want: u32, space: usize) -> Option<u32> {
    if DataFrame::overhead(msg.seq, offset, 0) > space {
        return None;
    }
    let max = DataFrame::max_chunk_len(msg.seq, offset, space);
    let chunk = want.min(max.min(u32::MAX as usize) as u32);
    (chunk > 0 || want == 0).then_some(chunk)
}

fn emit<T>(id: u64, msg: &OutMessage, offset: u32, len: u32, buf: &mut Vec<u8>) -> SentFrame<T> {
    let data = &msg.data[offset as usize..(offset + len) as usize];
    Frame::Data(DataFrame {
        class: msg.class,
        channel: msg.channel,
        seq: msg.seq,
        msg_len: msg.len(),
        offset,
        data,
    })
    .emit(buf);
    SentFrame::Data {
        msg: id,
        class: msg.class,
        offset,
        len,
    }
}
