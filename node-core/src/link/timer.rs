//! Every timer a link can have, in one place.
//!
//! Deadlines are not stored: each is derived from the link's state whenever
//! the node asks for its next wake-up, so a timer can never be left armed by
//! a forgotten code path.

use core::fmt;

/// A timer of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkTimer {
    /// Resend our unanswered handshake INIT (with backoff).
    HandshakeRetry,
    /// Forget a responder session that the initiator never confirmed.
    HandshakeExpiry,
    /// Send a delayed ACK.
    Ack,
    /// Retransmission timeout: packets in flight longer than the RTO are lost.
    Loss,
    /// Send a PING so the peer hears from us.
    Keepalive,
    /// Nothing heard for `dead_interval`: the link is dead.
    Dead,
    /// Start the next key rotation.
    Rekey,
    /// Drop a retired key whose grace period is over.
    KeyDiscard,
    /// Data held back by the pacer may leave.
    Pacing,
    /// A draining link's deadline: it closes now even if still in use.
    Drain,
}

impl LinkTimer {
    /// All timers, in the order they are checked when several are due.
    pub const ALL: [LinkTimer; 10] = [
        LinkTimer::HandshakeRetry,
        LinkTimer::HandshakeExpiry,
        LinkTimer::Dead,
        LinkTimer::Loss,
        LinkTimer::Ack,
        LinkTimer::Keepalive,
        LinkTimer::Rekey,
        LinkTimer::KeyDiscard,
        LinkTimer::Pacing,
        LinkTimer::Drain,
    ];
}

impl fmt::Display for LinkTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkTimer::HandshakeRetry => "handshake-retry",
            LinkTimer::HandshakeExpiry => "handshake-expiry",
            LinkTimer::Ack => "ack",
            LinkTimer::Loss => "loss",
            LinkTimer::Keepalive => "keepalive",
            LinkTimer::Dead => "dead",
            LinkTimer::Rekey => "rekey",
            LinkTimer::KeyDiscard => "key-discard",
            LinkTimer::Pacing => "pacing",
            LinkTimer::Drain => "drain",
        })
    }
}
