//! Counters per link and per node. Plain integers, so results can be
//! snapshot-tested.

use core::ops::AddAssign;

/// Datagrams dropped, by cause. A dropped datagram changes no state but this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropStats {
    /// The AEAD tag did not verify (tampered, corrupted or forged).
    pub bad_tag: u64,
    /// A packet number already seen, or older than the replay window.
    pub replay: u64,
    /// Bytes that do not parse (truncated, unknown type, bad field, bad frame).
    pub malformed: u64,
    /// A sealed packet for no session or key epoch this link has.
    pub unknown_session: u64,
    /// A handshake whose static key is not the configured peer's, or whose
    /// proof does not verify.
    pub unauthenticated: u64,
    /// A well-formed message that does not fit the state (a response to no
    /// request, a datagram on a link never brought up).
    pub unexpected: u64,
    /// A new handshake INIT over the link's rate limit (each costs key
    /// agreements).
    pub rate_limited: u64,
}

impl DropStats {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.bad_tag
            + self.replay
            + self.malformed
            + self.unknown_session
            + self.unauthenticated
            + self.unexpected
            + self.rate_limited
    }
}

impl AddAssign for DropStats {
    fn add_assign(&mut self, o: DropStats) {
        self.bad_tag += o.bad_tag;
        self.replay += o.replay;
        self.malformed += o.malformed;
        self.unknown_session += o.unknown_session;
        self.unauthenticated += o.unauthenticated;
        self.unexpected += o.unexpected;
        self.rate_limited += o.rate_limited;
    }
}

/// Counters of one link (or, summed, of a node).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to the driver.
    pub datagrams_sent: u64,
    /// Datagrams received and accepted.
    pub datagrams_received: u64,
    /// Bytes handed to the driver.
    pub bytes_sent: u64,
    /// Bytes of accepted datagrams.
    pub bytes_received: u64,
    /// Sealed packets declared lost.
    pub packets_lost: u64,
    /// Frames sent again because the packet carrying them was lost.
    pub frames_retransmitted: u64,
    /// Completed key rotations.
    pub rekeys: u64,
    /// Rotation requests answered later: they came sooner than half the
    /// rekey interval after the last rotation (`link::keys`).
    pub rekeys_deferred: u64,
    /// Completed handshakes.
    pub handshakes: u64,
    /// Service messages sent (accepted for sending).
    pub messages_sent: u64,
    /// Service messages delivered to the application.
    pub messages_delivered: u64,
    /// Service bytes delivered to the application.
    pub message_bytes_delivered: u64,
    /// Authenticated frames an honest peer would not send (ignored).
    pub protocol_violations: u64,
    /// Drains that reached their deadline while the link was still in use
    /// (closed anyway).
    pub drains_forced: u64,
    /// Datagrams dropped, by cause.
    pub drops: DropStats,
}

impl AddAssign for LinkStats {
    fn add_assign(&mut self, o: LinkStats) {
        self.datagrams_sent += o.datagrams_sent;
        self.datagrams_received += o.datagrams_received;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        self.packets_lost += o.packets_lost;
        self.frames_retransmitted += o.frames_retransmitted;
        self.rekeys += o.rekeys;
        self.rekeys_deferred += o.rekeys_deferred;
        self.handshakes += o.handshakes;
        self.messages_sent += o.messages_sent;
        self.messages_delivered += o.messages_delivered;
        self.message_bytes_delivered += o.message_bytes_delivered;
        self.protocol_violations += o.protocol_violations;
        self.drains_forced += o.drains_forced;
        self.drops += o.drops;
    }
}

/// Counters of a node: its links' sums, plus what belongs to no link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Which crypto suite produced these numbers.
    pub suite: crate::crypto::SuiteKind,
    /// Sum over current and past links.
    pub links: LinkStats,
    /// Datagrams that arrived on a link the driver never brought up.
    pub unknown_link: u64,
    /// Upper-layer frames skipped because this version does not know their
    /// type or does not run their layer (the version rule of `wire::upper`).
    pub unknown_frames: u64,
}
