//! The receive path of a link: handshake messages and sealed packets.

use super::handshake::{self, HandshakeError};
use super::handshake_state::{MAX_PENDING_RESPONSES, PendingResponse};
use super::keys::{RekeyOutcome, Role};
use super::sent::{SentFrame, SentPacket};
use super::session::{OpenError, Session};
use super::{Ctx, Link, LinkEvent, Upper};
use crate::crypto::TAG_LEN;
use crate::identity::PublicKey;
use crate::interface::CloseReason;
use crate::time::{Duration, Time};
use crate::wire::{AckFrame, Datagram, Frame, HandshakeInit, HandshakeResp, SealedHeader, frames};

/// Frames of a received packet parsed onto the stack before any spills to
/// the heap.
const INLINE_FRAMES: usize = 4;

/// New INITs a link answers per second at most (each costs four key
/// agreements), after a burst of `INIT_BURST`.
const INIT_INTERVAL: Duration = Duration::from_millis(50);
const INIT_BURST: u64 = 8;

impl<T> Link<T> {
    /// Takes any bytes that arrived on this link. Whatever they are, the
    /// link either accepts them or drops them and counts why.
    pub fn handle_datagram<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        mut bytes: Vec<u8>,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        let header = match Datagram::parse(&bytes) {
            Err(_) => {
                self.stats.drops.malformed += 1;
                return;
            }
            Ok(Datagram::Init(init)) => return self.on_init(now, &init, bytes.len(), ctx, up),
            Ok(Datagram::Resp(resp)) => return self.on_resp(now, &resp, bytes.len(), ctx, up),
            Ok(Datagram::Sealed(packet)) => packet.header(),
        };
        // Sealed packets on a closed link are unexpected, except those of a
        // new session the peer handshook after closing it (see
        // `Link::finish_close`).
        let reopening = self
            .pending
            .iter()
            .any(|p| p.session.local_index == header.receiver_index);
        if self.closed && (self.closed_here || !reopening) {
            self.stats.drops.unexpected += 1;
            return;
        }
        self.on_sealed(now, header, &mut bytes, ctx, up);
    }

    fn accept_handshake_bytes(&mut self, len: usize) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += len as u64;
    }

    /// Refuses a static key other than the configured one.
    fn check_peer<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        offered: PublicKey,
        up: &mut U,
    ) -> bool {
        match self.configured_peer {
            Some(k) if k != offered => {
                self.stats.drops.unauthenticated += 1;
                up.on_event(
                    now,
                    LinkEvent::PeerRejected {
                        link: self.id,
                        offered,
                    },
                );
                false
            }
            _ => true,
        }
    }

    fn on_init<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        init: &HandshakeInit,
        len: usize,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        if self.closed && self.closed_here {
            // This node closed the link for good: nothing to answer.
            self.stats.drops.unexpected += 1;
            return;
        }
        let offered = PublicKey(init.static_pub);
        if !self.check_peer(now, offered, up) {
            return;
        }
        if let Some(p) = self
            .pending
            .iter()
            .find(|p| p.init_key == (init.initiator_index, init.eph_pub))
        {
            // Our RESP was lost: answer the repeated INIT with the same RESP.
            self.handshake_tx.push_back(p.resp.clone());
            self.accept_handshake_bytes(len);
            return;
        }
        if self.configured_peer.is_some() && init.mac == [0; 16] {
            // A link with a key configured takes only INITs that prove the
            // sender (anybody can name a public key); one without a MAC
            // costs nothing to refuse.
            self.stats.drops.unauthenticated += 1;
            return;
        }
        // New INITs cost key agreements: at most one per INIT_INTERVAL
        // (and a burst of INIT_BURST) per link; the rest are dropped and
        // counted.
        if self.init_tat > now + INIT_INTERVAL.saturating_mul(INIT_BURST) {
            self.stats.drops.rate_limited += 1;
            return;
        }
        self.init_tat = self.init_tat.max(now) + INIT_INTERVAL;
        // A key the node takes by configuration: its MAC key is kept. A
        // key anybody may offer (the far end of a tunnel under open
        // peering) is not.
        let configured = (!self.await_opener && self.configured_peer == Some(offered))
            || matches!(&ctx.config.incoming_tunnels,
                crate::IncomingTunnels::Keys(keys) if keys.contains(&offered));
        let proven =
            match handshake::check_init(ctx.suite, ctx.identity, init, ctx.mac_keys, configured) {
                Ok(handshake::InitAuth::Proven) => true,
                Ok(handshake::InitAuth::Unproven) if self.configured_peer.is_none() => false,
                Ok(handshake::InitAuth::Unproven) | Err(_) => {
                    // Refused before any state changed: our own INIT and any
                    // pending answer stay as they were.
                    self.stats.drops.unauthenticated += 1;
                    return;
                }
            };
        if let Some(ours) = self.ours.as_mut() {
            // Both ends initiated at once: an INIT with a MAC beats one
            // without (the peer may refuse ours: it cannot tell it from a
            // forgery), else the smaller static key's INIT wins, so exactly
            // one handshake completes.
            let we_win = if ours.proven != proven {
                ours.proven
            } else {
                ctx.identity.public_key() < &offered
            };
            if we_win {
                self.accept_handshake_bytes(len);
                return;
            }
            if proven {
                self.ours = None;
            } else {
                // An exception to "the smaller key's INIT wins": an INIT
                // without a MAC may be a forgery, so ours is not given up,
                // only held back for two retry intervals. If the peer is
                // genuine its first packet establishes the session within
                // a round trip; if not, ours goes out again.
                ours.next_retry = ours.next_retry.max(now + ours.backoff.saturating_mul(2));
            }
        }
        let index = self.fresh_index(ctx.rng);
        match handshake::respond(ctx.suite, ctx.identity, init, index, ctx.rng) {
            Ok((resp, est)) => {
                self.accept_handshake_bytes(len);
                self.handshake_tx.push_back(resp.clone());
                if self.pending.len() >= MAX_PENDING_RESPONSES {
                    // Room for the new one: the oldest unproven answer goes
                    // (or, if every answer is proven, the oldest).
                    let at = self.pending.iter().position(|p| !p.proven).unwrap_or(0);
                    self.pending.remove(at);
                }
                // One answer is the rule, more the exception (a repeated or
                // forged INIT): room for one, not the four a push would take.
                self.pending.reserve_exact(1);
                self.pending.push(PendingResponse {
                    session: Session::new(
                        Role::Responder,
                        est.root,
                        index,
                        est.remote_index,
                        est.peer,
                        now,
                    ),
                    resp,
                    init_key: (init.initiator_index, init.eph_pub),
                    proven,
                    expires: now + ctx.config.handshake_max_retry.saturating_mul(2),
                });
            }
            Err(HandshakeError::InvalidKey | HandshakeError::BadConfirmation) => {
                self.stats.drops.unauthenticated += 1;
                if self.session.is_none() && self.ours.is_none() && !self.closed {
                    // We gave up our INIT for this one; keep trying ourselves.
                    self.initiate(now, ctx);
                }
            }
        }
    }

    fn on_resp<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        resp: &HandshakeResp,
        len: usize,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        let ours_matches = self
            .ours
            .as_ref()
            .is_some_and(|o| o.init.local_index == resp.initiator_index);
        if !ours_matches {
            self.stats.drops.unexpected += 1;
            return;
        }
        if !self.check_peer(now, PublicKey(resp.static_pub), up) {
            return;
        }
        let ours = &self.ours.as_ref().expect("checked above").init;
        let index = ours.local_index;
        match handshake::complete(ctx.suite, ctx.identity, ours, resp) {
            Ok(est) => {
                self.accept_handshake_bytes(len);
                let session = Session::new(
                    Role::Initiator,
                    est.root,
                    index,
                    est.remote_index,
                    est.peer,
                    now,
                );
                self.install(session, now, up);
            }
            Err(_) => self.stats.drops.unauthenticated += 1,
        }
    }

    fn on_sealed<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        header: SealedHeader,
        bytes: &mut [u8],
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        let suite = ctx.suite;
        let current = self
            .session
            .as_ref()
            .is_some_and(|s| s.local_index == header.receiver_index);
        let slot = self
            .pending
            .iter()
            .position(|p| p.session.local_index == header.receiver_index);
        let pending = match (current, slot) {
            (true, _) => None,
            (false, Some(i)) => Some(i),
            (false, None) => {
                self.stats.drops.unknown_session += 1;
                return;
            }
        };
        let session = match pending {
            Some(i) => &mut self.pending[i].session,
            None => self.session.as_mut().expect("matched above"),
        };
        match session.open(suite, &header, bytes) {
            Ok(()) => {}
            Err(OpenError::Replay) => return self.stats.drops.replay += 1,
            Err(OpenError::UnknownEpoch) => return self.stats.drops.unknown_session += 1,
            Err(OpenError::BadTag) => return self.stats.drops.bad_tag += 1,
            Err(OpenError::OutOfRange) => return self.stats.drops.malformed += 1,
        }
        let plaintext = &bytes[SealedHeader::LEN..bytes.len() - TAG_LEN];
        // Validate every frame before acting on any, so a packet is taken
        // whole or not at all. Parsed once: the first few frames (a packet
        // usually holds one or two) on the stack, any others in a vector.
        let mut ack_eliciting = false;
        // Whether the only frames that ask for an ack are PINGs.
        let mut probe_only = true;
        let mut first: [Option<Frame<'_>>; INLINE_FRAMES] = Default::default();
        let mut more = Vec::new();
        for (i, f) in frames(plaintext).enumerate() {
            match f {
                Ok(f) => {
                    ack_eliciting |= f.is_ack_eliciting();
                    probe_only &= !f.is_ack_eliciting() || matches!(f, Frame::Ping);
                    match first.get_mut(i) {
                        Some(slot) => *slot = Some(f),
                        None => more.push(f),
                    }
                }
                Err(_) => return self.stats.drops.malformed += 1,
            }
        }
        if let Some(i) = pending {
            // The initiator's first packet proves its static key: the
            // session is now established; the other answers are void.
            let p = self.pending.swap_remove(i);
            self.install(p.session, now, up);
        }
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        self.last_recv = now;
        if ack_eliciting {
            self.last_eliciting_recv = now;
        }
        let grace = self.key_grace(ctx.config);
        let session = self.session.as_mut().expect("installed above");
        if session.keys.on_packet_opened(header.epoch, now, grace) {
            self.stats.rekeys += 1;
        }
        session
            .acks
            .on_packet(header.packet_number, ack_eliciting, now, ctx.config);
        if ack_eliciting && probe_only {
            // A PING alone (a keepalive, a loss probe) is acked at once:
            // its sender asks for proof of life or of the path, and on a
            // link with nothing else to send, holding the ack batches
            // nothing and only delays the answer (QUIC's ACK frequency
            // extension has IMMEDIATE_ACK for the same reason).
            session.acks.ack_now(now);
        }

        let mut delivered = Vec::new();
        for f in first.into_iter().flatten().chain(more) {
            match f {
                Frame::Padding(_) | Frame::Ping => {}
                Frame::Ack(ack) => self.on_ack(now, &ack, ctx, up),
                Frame::Data(d) => {
                    // Channel 0 carries the node's own control messages
                    // (adverts): delivered like any other, and handed to
                    // the layers above, which own their contents.
                    let result =
                        self.recv
                            .on_data(&d, Self::recv_limits(ctx.config), &mut delivered);
                    if result.is_err() {
                        self.stats.protocol_violations += 1;
                    }
                }
                Frame::Rekey(r) => {
                    let Some(s) = self.session.as_mut() else {
                        continue;
                    };
                    let gap = super::rekey_gap(ctx.config);
                    match s.keys.on_frame(&r, ctx.suite, ctx.rng, now, grace, gap) {
                        RekeyOutcome::Reply(reply) => self.rekey_tx.push_back(reply),
                        RekeyOutcome::Switched => self.stats.rekeys += 1,
                        RekeyOutcome::Ignored => {}
                        RekeyOutcome::Invalid => self.stats.protocol_violations += 1,
                        RekeyOutcome::Deferred => self.stats.rekeys_deferred += 1,
                    }
                }
                Frame::Close(c) => {
                    self.deliver(now, delivered, up);
                    return self.finish_close(now, CloseReason::Peer(c.reason), up);
                }
                Frame::Upper(f) => up.on_frame(now, self.id, f),
            }
        }
        self.deliver(now, delivered, up);
    }

    fn deliver<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        delivered: Vec<(u16, Vec<u8>)>,
        up: &mut U,
    ) {
        for (channel, data) in delivered {
            self.stats.messages_delivered += 1;
            self.stats.message_bytes_delivered += data.len() as u64;
            up.on_event(
                now,
                LinkEvent::Message {
                    link: self.id,
                    channel,
                    data,
                },
            );
        }
    }

    fn on_ack<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        ack: &AckFrame,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        // An ACK for packets never sent is a broken or hostile peer: believing
        // it would poison the loss detection (everything below its bogus
        // largest looks lost on every later ACK, and the resends snowball).
        if ack.largest().is_none_or(|l| l >= s.next_pn()) {
            self.stats.protocol_violations += 1;
            return;
        }
        let out = s.sent.on_ack(ack);
        if let Some(sent_at) = out.rtt_sample_from {
            // The peer chooses the delay it reports; never believe more than
            // it is allowed to wait.
            let delay = Duration::from_micros(ack.ack_delay_us).min(ctx.config.max_ack_delay);
            self.rtt
                .on_sample(now.saturating_since(sent_at).as_nanos(), delay.as_nanos());
        }
        if !out.acked.is_empty() {
            self.rtt.reset_backoff();
        }
        for p in out.acked {
            for f in p.frames {
                match f {
                    SentFrame::Data {
                        msg,
                        class,
                        offset,
                        len,
                    } => self.send.on_acked(msg, class, offset, len),
                    SentFrame::Upper(t) => up.on_acked(self.id, t),
                    SentFrame::Rekey(_) | SentFrame::Ping => {}
                }
            }
        }
        let lost = s.sent.lost_by_threshold(ctx.config.packet_threshold);
        self.on_lost(lost, up);
    }

    /// Gives the frames of lost packets back to their owners.
    pub(super) fn on_lost<U: Upper<Token = T>>(&mut self, lost: Vec<SentPacket<T>>, up: &mut U) {
        for p in lost {
            self.stats.packets_lost += 1;
            for f in p.frames {
                let again = match f {
                    SentFrame::Data {
                        msg,
                        class,
                        offset,
                        len,
                    } => self.send.on_lost(msg, class, offset, len),
                    SentFrame::Rekey(r) => {
                        let needed = self
                            .session
                            .as_ref()
                            .is_some_and(|s| s.keys.still_needed(&r));
                        if needed && !self.rekey_tx.contains(&r) {
                            self.rekey_tx.push_back(r);
                        }
                        needed
                    }
                    SentFrame::Ping => {
                        // Only the PING that proves the initiator must arrive;
                        // a lost keepalive is replaced by the next one.
                        let proving = self.session.as_ref().is_some_and(|s| !s.heard_from_peer);
                        self.ping_pending |= proving;
                        proving
                    }
                    SentFrame::Upper(t) => {
                        up.on_lost(self.id, t);
                        true
                    }
                };
                if again {
                    self.stats.frames_retransmitted += 1;
                }
            }
        }
    }
}
