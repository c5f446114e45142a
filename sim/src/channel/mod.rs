//! Link models: what happens to a datagram between two nodes.
//!
//! - [`wired`]: one direction of a point-to-point link (serialization,
//!   drop-tail queue, propagation latency, jitter, random loss, up/down).
//! - [`loss`]: random loss processes (Bernoulli, Gilbert-Elliott).
//! - [`wifi`]: the shared radio medium of a geometric topology (carrier
//!   sense, hidden-terminal collisions, loss growing with distance).
//! - [`sonet`]: protection switching on a SONET ring.
//!
//! Every model is deterministic: times are integer nanoseconds, floating
//! point is used only for probabilities and geometry, and randomness comes
//! from the RNG stream the engine passes in.

pub mod loss;
pub mod sonet;
pub mod wifi;
pub mod wired;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use node_core::{Duration, Time};

pub use loss::{LossProcess, stationary_loss};
pub use sonet::SonetRing;
pub use wifi::{TxToken, WifiMedium};
pub use wired::Channel;

/// Why a channel did not deliver a datagram.
///
/// The discriminants are the indices into [`ChannelStats::drops`] (and the
/// order of [`DropCause::ALL`]), so `cause as usize` is a valid index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropCause {
    /// Random loss (the loss model or, on wifi, distance).
    Loss = 0,
    /// The drop-tail queue was full.
    Queue = 1,
    /// A wifi frame overlapped another one at its receiver.
    Collision = 2,
    /// The link was down (or, on a SONET ring, switching or without a
    /// protection path).
    Down = 3,
    /// The datagram exceeded the MTU.
    TooBig = 4,
}

impl DropCause {
    /// Every cause, in index order.
    pub const ALL: [DropCause; 5] = [
        DropCause::Loss,
        DropCause::Queue,
        DropCause::Collision,
        DropCause::Down,
        DropCause::TooBig,
    ];

    /// The cause's index into [`ChannelStats::drops`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DropCause::Loss => "loss",
            DropCause::Queue => "queue",
            DropCause::Collision => "collision",
            DropCause::Down => "down",
            DropCause::TooBig => "too_big",
        }
    }
}

/// Counters of one channel direction (plain integers; deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Datagrams offered to the channel.
    pub offered_datagrams: u64,
    /// Bytes offered to the channel.
    pub offered_bytes: u64,
    /// Datagrams delivered (as reported by the engine).
    pub delivered_datagrams: u64,
    /// Bytes delivered (as reported by the engine).
    pub delivered_bytes: u64,
    /// Drops, indexed by [`DropCause::index`].
    pub drops: [u64; 5],
    /// Time spent serializing datagrams, for utilization.
    pub busy_ns: u64,
}

impl ChannelStats {
    /// Counts a datagram offered to the channel.
    pub fn note_offered(&mut self, len: usize) {
        self.offered_datagrams = self.offered_datagrams.saturating_add(1);
        self.offered_bytes = self.offered_bytes.saturating_add(len as u64);
    }

    /// Counts a delivered datagram.
    pub fn note_delivered(&mut self, len: usize) {
        self.delivered_datagrams = self.delivered_datagrams.saturating_add(1);
        self.delivered_bytes = self.delivered_bytes.saturating_add(len as u64);
    }

    /// Counts a dropped datagram.
    pub fn note_dropped(&mut self, cause: DropCause) {
        let n = &mut self.drops[cause.index()];
        *n = n.saturating_add(1);
    }

    /// Drops of one cause.
    pub fn drops_of(&self, cause: DropCause) -> u64 {
        self.drops[cause.index()]
    }

    /// Drops of every cause together.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().fold(0u64, |a, &b| a.saturating_add(b))
    }
}

/// Time to serialize `len` bytes at `bandwidth_bps`, rounded up to whole
/// nanoseconds (a datagram never takes less than its exact time, so a link
/// never carries more than its rate).
///
/// Precondition: `bandwidth_bps > 0` (scenarios with a zero rate are rejected
/// earlier). Defensively, a zero rate gives the longest duration: the wire
/// never finishes.
pub fn serialization_ns(len: usize, bandwidth_bps: u64) -> u64 {
    debug_assert!(bandwidth_bps > 0, "bandwidth must be positive");
    if bandwidth_bps == 0 {
        return u64::MAX;
    }
    // u128: len * 8e9 overflows u64 for datagrams above ~2 GB.
    let bits_ns = len as u128 * 8 * 1_000_000_000;
    let ns = bits_ns.div_ceil(bandwidth_bps as u128);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// A datagram reserved on a sender's wire: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    start: Time,
    end: Time,
    len: u64,
}

/// The datagrams of one sender whose serialization has not finished, in
/// FIFO order (each starts no earlier than the previous one ends).
///
/// It answers the drop-tail question exactly: the bytes *waiting* at `now`
/// are those of the datagrams whose serialization has not started; the one
/// on the wire does not count (as [`crate::model::ChannelParams::queue_bytes`]
/// says).
#[derive(Debug, Clone, Default)]
pub(crate) struct Backlog {
    slots: VecDeque<Slot>,
    /// Sum of `len` over `slots`.
    bytes: u64,
    /// End of the last reserved datagram (zero-length ones included).
    busy_until: Time,
}

impl Backlog {
    /// Forgets datagrams whose serialization ended by `now`.
    pub(crate) fn prune(&mut self, now: Time) {
        while let Some(s) = self.slots.front() {
            if s.end > now {
                break;
            }
            self.bytes -= s.len;
            self.slots.pop_front();
        }
    }

    /// Bytes waiting to be serialized at `now` (call [`Backlog::prune`]
    /// first): everything but the datagram on the wire.
    pub(crate) fn waiting_bytes(&self, now: Time) -> u64 {
        match self.slots.front() {
            Some(s) if s.start <= now => self.bytes - s.len,
            _ => self.bytes,
        }
    }

    /// Whether a datagram of `len` bytes that would start at `start` fits:
    /// one that starts at once goes straight onto the wire; one that has to
    /// wait needs room in the queue.
    pub(crate) fn admits(&self, now: Time, start: Time, len: u64, capacity: u64) -> bool {
        start <= now || self.waiting_bytes(now).saturating_add(len) <= capacity
    }

    /// When the last reserved datagram ends.
    pub(crate) fn busy_until(&self) -> Time {
        self.busy_until
    }

    /// Reserves `[start, end)` for a datagram of `len` bytes.
    pub(crate) fn push(&mut self, start: Time, end: Time, len: u64) {
        self.busy_until = self.busy_until.max(end);
        // Zero-length datagrams hold no queue space; keeping them out bounds
        // the deque by the queue capacity.
        if len > 0 && end > start {
            self.slots.push_back(Slot { start, end, len });
            self.bytes += len;
        }
    }

    /// Empties the queue at `now` (the link went down). Returns the
    /// serialization time that will not be spent after all.
    pub(crate) fn clear(&mut self, now: Time) -> Duration {
        let unused = self.busy_until.saturating_since(now);
        self.slots.clear();
        self.bytes = 0;
        self.busy_until = self.busy_until.min(now);
        unused
    }
}
