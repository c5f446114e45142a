//! The key ring of one session: epochs, the rekey ratchet and the grace period.
//!
//! Rotation is driven by the handshake initiator only, so the two ends never
//! race to rotate. One exchange, epoch n -> n+1:
//!
//! ```text
//! initiator                                   responder
//!   REKEY(request, n+1, e) ------------------>  root' = ratchet(root_n, DH(e', e))
//!                                               installs n+1 (receive only)
//!   <------------------ REKEY(response, n+1, e')
//!   root' = ratchet(root_n, DH(e, e'))
//!   the peer has confirmed: seals with n+1
//!   packet(n+1) ------------------------------>  the peer has switched: seals with n+1
//! ```
//! After a switch the previous epoch still opens packets for a grace period
//! (packets already in flight), then its keys are dropped.

use rand::Rng;

use crate::crypto::kdf::{self, DirectionalKeys};
use crate::crypto::{CryptoSuite, Key};
use crate::identity::{PUBLIC_KEY_LEN, PublicKey, SecretKey};
use crate::time::Time;
use crate::wire::{RekeyFrame, RekeyKind};

/// Which end of the handshake this node was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent the handshake init; drives key rotation.
    Initiator,
    /// Answered the init; follows rotations.
    Responder,
}

struct Epoch {
    number: u32,
    root: Key,
    seal: Key,
    open: Key,
    /// When the keys are dropped; `NEVER` for the current and the next epoch.
    discard_at: Time,
}

struct Request {
    epoch: u32,
    secret: SecretKey,
    frame: RekeyFrame,
}

/// The keys of one session and the state of its rotation.
pub struct KeyRing {
    role: Role,
    epochs: Vec<Epoch>,
    send_epoch: u32,
    request: Option<Request>,
    response: Option<RekeyFrame>,
    last_switch: Time,
    /// When the responder last answered a new request (or the session began).
    last_answer: Time,
    /// A request that came too soon after the last answer, answered
    /// when [`Self::deferred_until`] comes.
    deferred: Option<RekeyFrame>,
}

/// What a REKEY frame asks of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RekeyOutcome {
    /// Send this frame to the peer.
    Reply(RekeyFrame),
    /// The sending key changed.
    Switched,
    /// Nothing to do (a duplicate, or a frame for another epoch).
    Ignored,
    /// The frame carried a public key that is not a valid point.
    Invalid,
    /// A request sooner than `min_gap` after the last answer: answered
    /// then (see [`KeyRing::on_frame`]).
    Deferred,
}

impl KeyRing {
    /// The key ring of a session that starts with `root` (from the handshake).
    pub fn new(role: Role, root: Key, now: Time) -> Self {
        let mut ring = KeyRing {
            role,
            epochs: Vec::with_capacity(3),
            send_epoch: 0,
            request: None,
            response: None,
            last_switch: now,
            last_answer: now,
            deferred: None,
        };
        ring.install(0, root);
        ring
    }

    fn install(&mut self, number: u32, root: Key) {
        let DirectionalKeys { i2r, r2i } = kdf::epoch_keys(&root);
        let (seal, open) = match self.role {
            Role::Initiator => (i2r, r2i),
            Role::Responder => (r2i, i2r),
        };
        self.epochs.push(Epoch {
            number,
            root,
            seal,
            open,
            discard_at: Time::NEVER,
        });
    }

    fn epoch(&self, number: u32) -> Option<&Epoch> {
        self.epochs.iter().find(|e| e.number == number)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The epoch and key to seal the next packet with.
    pub fn seal_key(&self) -> (u32, &Key) {
        let e = self
            .epoch(self.send_epoch)
            .expect("the send epoch is always installed");
        (e.number, &e.seal)
    }

    /// The key that opens packets of `epoch`, if it is (still) installed.
    pub fn open_key(&self, epoch: u32) -> Option<&Key> {
        self.epoch(epoch).map(|e| &e.open)
    }

    /// Whether this end initiated the session's handshake.
    pub fn is_initiator(&self) -> bool {
        self.role == Role::Initiator
    }

    /// The epoch currently used for sealing.
    pub fn send_epoch(&self) -> u32 {
        self.send_epoch
    }

    /// When the initiator should start the next rotation: `interval` after
    /// the last switch, and never while a request is outstanding. The
    /// responder need not have switched yet: the next request travels sealed
    /// with the new epoch, and opening it switches the responder before the
    /// request is read.
    pub fn next_rotation(&self, interval: crate::time::Duration) -> Time {
        if self.role == Role::Initiator && self.request.is_none() {
            self.last_switch + interval
        } else {
            Time::NEVER
        }
    }

    /// When these keys are too old (`max_age` after the last switch),
    /// whichever end should have rotated them.
    pub fn expires_at(&self, max_age: crate::time::Duration) -> Time {
        self.last_switch + max_age
    }

    /// Starts a rotation (initiator only); returns the request to send.
    pub fn start_rotation<R: Rng + ?Sized>(
        &mut self,
        suite: &dyn CryptoSuite,
        rng: &mut R,
    ) -> Option<RekeyFrame> {
        if self.role != Role::Initiator || self.request.is_some() {
            return None;
        }
        let (secret, public) = ephemeral(suite, rng);
        let frame = RekeyFrame {
            kind: RekeyKind::Request,
            epoch: self.send_epoch.wrapping_add(1),
            eph_pub: public.0,
        };
        self.request = Some(Request {
            epoch: frame.epoch,
            secret,
            frame,
        });
        Some(frame)
    }

    /// Whether a REKEY frame that was lost should be sent again.
    pub fn still_needed(&self, frame: &RekeyFrame) -> bool {
        match frame.kind {
            RekeyKind::Request => self.request.as_ref().is_some_and(|r| r.frame == *frame),
            RekeyKind::Response => {
                self.response.as_ref() == Some(frame) && self.send_epoch != frame.epoch
            }
        }
    }

    /// When a deferred request is answered (`NEVER` without one).
    pub fn deferred_until(&self, min_gap: crate::time::Duration) -> Time {
        self.deferred
            .map_or(Time::NEVER, |_| self.last_answer + min_gap)
    }

    /// The deferred request, to answer now.
    pub fn take_deferred(&mut self) -> Option<RekeyFrame> {
        self.deferred.take()
    }

    /// Handles a REKEY frame from the peer. A responder answers a new
    /// request at most once per `min_gap` (counted from its last answer,
    /// not from its switch, which on an idle link happens only when the
    /// next request comes): each
    /// answer costs a key pair and a key agreement, and the epoch rule
    /// alone would let an authenticated peer ask once per round trip. A
    /// request that comes sooner is not refused (its packet is acked, so
    /// the initiator would wait for an answer that never comes) but kept
    /// and answered when the gap is over.
    pub fn on_frame<R: Rng + ?Sized>(
        &mut self,
        frame: &RekeyFrame,
        suite: &dyn CryptoSuite,
        rng: &mut R,
        now: Time,
        grace: crate::time::Duration,
        min_gap: crate::time::Duration,
    ) -> RekeyOutcome {
        let peer_pub = PublicKey(frame.eph_pub);
        match (self.role, frame.kind) {
            (Role::Responder, RekeyKind::Request) => {
                if let Some(resp) = self.response.filter(|r| r.epoch == frame.epoch) {
                    // Our response was lost or the request was repeated: answer
                    // the same way, so both ends derive the same root.
                    return if self.send_epoch == frame.epoch {
                        RekeyOutcome::Ignored
                    } else {
                        RekeyOutcome::Reply(resp)
                    };
                }
                if frame.epoch != self.send_epoch.wrapping_add(1) {
                    return RekeyOutcome::Ignored;
                }
                if now < self.last_answer + min_gap {
                    self.deferred = Some(*frame);
                    return RekeyOutcome::Deferred;
                }
                self.deferred = None;
                self.last_answer = now;
                let (secret, public) = ephemeral(suite, rng);
                let Some(dh) = suite.dh(&secret, &peer_pub) else {
                    return RekeyOutcome::Invalid;
                };
                let root = kdf::ratchet(&self.current().root, &dh);
                self.install(frame.epoch, root);
                let resp = RekeyFrame {
                    kind: RekeyKind::Response,
                    epoch: frame.epoch,
                    eph_pub: public.0,
                };
                self.response = Some(resp);
                RekeyOutcome::Reply(resp)
            }
            (Role::Initiator, RekeyKind::Response) => {
                let Some(req) = self.request.as_ref().filter(|r| r.epoch == frame.epoch) else {
                    return RekeyOutcome::Ignored;
                };
                let Some(dh) = suite.dh(&req.secret, &peer_pub) else {
                    return RekeyOutcome::Invalid;
                };
                let root = kdf::ratchet(&self.current().root, &dh);
                self.request = None;
                self.install(frame.epoch, root);
                // The response proves the peer holds the new keys: switch now.
                self.switch_to(frame.epoch, now, grace);
                RekeyOutcome::Switched
            }
            _ => RekeyOutcome::Ignored,
        }
    }

    /// Notes that a packet sealed with `epoch` authenticated. For the
    /// responder, the first packet of a new epoch is the initiator's
    /// confirmation that it switched: the responder switches too.
    pub fn on_packet_opened(
        &mut self,
        epoch: u32,
        now: Time,
        grace: crate::time::Duration,
    ) -> bool {
        if self.role == Role::Responder && epoch == self.send_epoch.wrapping_add(1) {
            self.switch_to(epoch, now, grace);
            return true;
        }
        false
    }

    fn current(&self) -> &Epoch {
        self.epoch(self.send_epoch)
            .expect("the send epoch is always installed")
    }

    fn switch_to(&mut self, epoch: u32, now: Time, grace: crate::time::Duration) {
        let old = self.send_epoch;
        for e in self.epochs.iter_mut().filter(|e| e.number == old) {
            e.discard_at = now + grace;
        }
        self.send_epoch = epoch;
        self.last_switch = now;
    }

    /// When the oldest retired key must be dropped.
    pub fn next_discard(&self) -> Time {
        self.epochs
            .iter()
            .map(|e| e.discard_at)
            .min()
            .unwrap_or(Time::NEVER)
    }

    /// Drops retired keys whose grace period is over.
    pub fn discard_expired(&mut self, now: Time) {
        self.epochs.retain(|e| e.discard_at > now);
    }

    /// Number of installed epochs (for tests: never more than three).
    pub fn installed(&self) -> usize {
        self.epochs.len()
    }
}

fn ephemeral<R: Rng + ?Sized>(suite: &dyn CryptoSuite, rng: &mut R) -> (SecretKey, PublicKey) {
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = SecretKey(bytes);
        if let Some(public) = suite.public_key(&secret) {
            return (secret, public);
        }
    }
}

/// A fresh ephemeral key pair (for handshakes too).
pub fn ephemeral_pair<R: Rng + ?Sized>(
    suite: &dyn CryptoSuite,
    rng: &mut R,
) -> (SecretKey, [u8; PUBLIC_KEY_LEN]) {
    let (s, p) = ephemeral(suite, rng);
    (s, p.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SuiteKind;
    use crate::time::Duration;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn rotation_ratchets_both_ends_to_the_same_keys() {
        let suite = SuiteKind::Modeled.suite();
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let grace = Duration::from_millis(100);
        let t = Time::from_nanos(1_000);
        let mut i = KeyRing::new(Role::Initiator, [7; 32], Time::ZERO);
        let mut r = KeyRing::new(Role::Responder, [7; 32], Time::ZERO);
        for n in 1..=5u32 {
            let req = i.start_rotation(suite, &mut rng).unwrap();
            assert!(i.start_rotation(suite, &mut rng).is_none(), "one at a time");
            let RekeyOutcome::Reply(resp) =
                r.on_frame(&req, suite, &mut rng, t, grace, Duration::ZERO)
            else {
                panic!("responder must answer")
            };
            // A repeated request gets the same answer.
            assert_eq!(
                r.on_frame(&req, suite, &mut rng, t, grace, Duration::ZERO),
                RekeyOutcome::Reply(resp)
            );
            assert_eq!(r.send_epoch(), n - 1, "responder waits for confirmation");
            assert_eq!(
                i.on_frame(&resp, suite, &mut rng, t, grace, Duration::ZERO),
                RekeyOutcome::Switched
            );
            let (epoch, key) = i.seal_key();
            assert_eq!(epoch, n);
            assert_eq!(r.open_key(n), Some(key));
            assert!(r.on_packet_opened(n, t, grace));
            assert_eq!(r.seal_key().1, i.open_key(n).unwrap());
            assert_eq!(
                i.next_rotation(Duration::from_secs(1)),
                t + Duration::from_secs(1)
            );
            i.discard_expired(t + grace);
            r.discard_expired(t + grace);
            assert_eq!((i.installed(), r.installed()), (1, 1));
        }
    }

    #[test]
    fn a_responder_answers_requests_at_most_once_per_gap_and_defers_the_rest() {
        let suite = SuiteKind::Modeled.suite();
        let mut rng = ChaCha20Rng::from_seed([4; 32]);
        let (grace, gap) = (Duration::from_millis(100), Duration::from_millis(500));
        let mut i = KeyRing::new(Role::Initiator, [7; 32], Time::ZERO);
        let mut r = KeyRing::new(Role::Responder, [7; 32], Time::ZERO);
        let early = Time::ZERO + Duration::from_millis(10);
        let req = i.start_rotation(suite, &mut rng).unwrap();
        // Too soon after the session began: kept, not answered.
        assert_eq!(
            r.on_frame(&req, suite, &mut rng, early, grace, gap),
            RekeyOutcome::Deferred
        );
        assert_eq!(r.deferred_until(gap), Time::ZERO + gap);
        // Repeats while deferred stay deferred.
        assert_eq!(
            r.on_frame(&req, suite, &mut rng, early, grace, gap),
            RekeyOutcome::Deferred
        );
        // When the gap is over the kept request is answered, and the
        // rotation completes as usual.
        let kept = r.take_deferred().unwrap();
        let at = Time::ZERO + gap;
        let RekeyOutcome::Reply(resp) = r.on_frame(&kept, suite, &mut rng, at, grace, gap) else {
            panic!("answered once the gap is over")
        };
        assert_eq!(r.deferred_until(gap), Time::NEVER);
        assert_eq!(
            i.on_frame(&resp, suite, &mut rng, at, grace, gap),
            RekeyOutcome::Switched
        );
        assert!(r.on_packet_opened(1, at, grace));
        // The next request at once is deferred again: one answer per gap.
        let req = i.start_rotation(suite, &mut rng).unwrap();
        assert_eq!(
            r.on_frame(&req, suite, &mut rng, at, grace, gap),
            RekeyOutcome::Deferred
        );
    }
}
