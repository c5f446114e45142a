//! An established (or, at the responder, nearly established) session:
//! packet protection and the packet-number spaces.

use super::ack::AckTracker;
use super::keys::{KeyRing, Role};
use super::replay::{ReplayCheck, ReplayWindow};
use super::sent::SentPackets;
use crate::crypto::{CryptoSuite, TAG_LEN};
use crate::identity::PublicKey;
use crate::time::Time;
use crate::wire::{SealedHeader, SealedPacket};

/// Why a sealed packet is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Packet number seen before or older than the window.
    Replay,
    /// No key for that epoch (never installed or already discarded).
    UnknownEpoch,
    /// The tag does not verify.
    BadTag,
    /// A packet number at or above 2^62: no honest sender reaches it (ACK
    /// ranges could not name it), so it is refused before anything else.
    OutOfRange,
}

/// One session on a link.
pub struct Session<T> {
    /// Our index: the peer puts it in every packet to us.
    pub local_index: u32,
    /// The peer's index: we put it in every packet to the peer.
    pub remote_index: u32,
    /// The peer's proven static key.
    pub peer: PublicKey,
    /// Keys and their rotation.
    pub keys: KeyRing,
    replay: ReplayWindow,
    next_pn: u64,
    /// Our ack-eliciting packets in flight.
    pub sent: SentPackets<T>,
    /// What we received, to acknowledge.
    pub acks: AckTracker,
    /// Whether any packet of the peer opened in this session.
    pub heard_from_peer: bool,
}

impl<T> Session<T> {
    /// A new session from a handshake's root key.
    pub fn new(
        role: Role,
        root: crate::crypto::Key,
        local: u32,
        remote: u32,
        peer: PublicKey,
        now: Time,
    ) -> Self {
        Session {
            local_index: local,
            remote_index: remote,
            peer,
            keys: KeyRing::new(role, root, now),
            replay: ReplayWindow::new(),
            next_pn: 0,
            sent: SentPackets::default(),
            acks: AckTracker::default(),
            heard_from_peer: false,
        }
    }

    /// The packet number the next sealed packet gets.
    pub fn next_pn(&self) -> u64 {
        self.next_pn
    }

    /// Starts a packet in `buf`: writes the header and returns the packet
    /// number. The number is consumed only when the packet is sealed: an
    /// abandoned packet leaves no gap, and gaps would split the peer's ACK
    /// ranges (and, once an ACK must be trimmed, look like losses).
    pub fn begin_packet(&mut self, buf: &mut Vec<u8>) -> u64 {
        let pn = self.next_pn;
        SealedHeader {
            receiver_index: self.remote_index,
            epoch: self.keys.seal_key().0,
            packet_number: pn,
        }
        .emit(buf);
        pn
    }

    /// Seals the packet begun in `buf` (header + padded plaintext), appending the tag.
    pub fn seal(&mut self, suite: &dyn CryptoSuite, pn: u64, buf: &mut Vec<u8>) {
        let (header, plaintext) = buf.split_at_mut(SealedHeader::LEN);
        let tag = suite.seal(self.keys.seal_key().1, pn, header, plaintext);
        buf.extend_from_slice(&tag);
        self.next_pn = pn + 1;
    }

    /// Authenticates and decrypts a sealed packet in place. On success the
    /// plaintext is `bytes[SealedHeader::LEN..bytes.len() - TAG_LEN]`.
    pub fn open(
        &mut self,
        suite: &dyn CryptoSuite,
        header: &SealedHeader,
        bytes: &mut [u8],
    ) -> Result<(), OpenError> {
        // The window is only checked before decrypting and updated after the
        // tag verified, so forged packets cannot move it.
        if header.packet_number > crate::wire::VARINT_MAX {
            return Err(OpenError::OutOfRange);
        }
        if self.replay.check(header.packet_number) != ReplayCheck::Fresh {
            return Err(OpenError::Replay);
        }
        let key = self
            .keys
            .open_key(header.epoch)
            .ok_or(OpenError::UnknownEpoch)?;
        let tag = SealedPacket::new_checked(&*bytes)
            .map_err(|_| OpenError::BadTag)?
            .tag();
        let (head, rest) = bytes.split_at_mut(SealedHeader::LEN);
        let ct_len = rest.len() - TAG_LEN;
        suite
            .open(key, header.packet_number, head, &mut rest[..ct_len], &tag)
            .map_err(|_| OpenError::BadTag)?;
        self.replay.commit(header.packet_number);
        self.heard_from_peer = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SuiteKind;
    use crate::wire::VARINT_MAX;

    /// Finding 8: packet numbers at or above 2^62 were accepted (a debug
    /// panic when the ACK was written, a wrong ACK in release builds).
    #[test]
    fn packet_numbers_beyond_the_ack_range_are_refused() {
        let suite = SuiteKind::Modeled.suite();
        let peer = crate::identity::PublicKey([2; 33]);
        let now = Time::ZERO;
        let mut a: Session<()> = Session::new(Role::Initiator, [7; 32], 1, 2, peer, now);
        let mut b: Session<()> = Session::new(Role::Responder, [7; 32], 2, 1, peer, now);
        for (pn, ok) in [
            (VARINT_MAX, true),
            (VARINT_MAX + 1, false),
            (1 << 63, false),
        ] {
            a.next_pn = pn;
            let mut buf = Vec::new();
            let pn = a.begin_packet(&mut buf);
            buf.resize(SealedHeader::LEN + 16, 0);
            a.seal(suite, pn, &mut buf);
            let header = SealedHeader::parse(&buf).unwrap();
            let result = b.open(suite, &header, &mut buf);
            if ok {
                assert_eq!(result, Ok(()));
            } else {
                assert_eq!(result, Err(OpenError::OutOfRange), "{pn}");
            }
        }
    }
}
