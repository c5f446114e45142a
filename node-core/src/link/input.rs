//! The receive path of a link: handshake messages and sealed packets.

use super::handshake::{self, HandshakeError};
use super::keys::{RekeyOutcome, Role};
use super::recv::Violation;
use super::sent::{SentFrame, SentPacket};
use super::session::{OpenError, Session};
use super::{Ctx, Link, LinkEvent, PendingResponse, Upper};
use crate::crypto::TAG_LEN;
use crate::identity::PublicKey;
use crate::interface::{CONTROL_CHANNEL, CloseReason};
use crate::time::{Duration, Time};
use crate::wire::{AckFrame, Datagram, Frame, HandshakeInit, HandshakeResp, SealedHeader, frames};

/// Frames of a received packet parsed onto the stack before any spills to
/// the heap.
const INLINE_FRAMES: usize = 4;

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
            .as_ref()
            .is_some_and(|p| p.session.local_index == header.receiver_index);
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
        if let Some(p) = &self.pending
            && p.init_key == (init.initiator_index, init.eph_pub)
        {
            // Our RESP was lost: answer the repeated INIT with the same RESP.
            self.handshake_tx.push_back(p.resp.clone());
            self.accept_handshake_bytes(len);
            return;
        }
        if self.ours.is_some() {
            // Both ends initiated at once: the smaller static key's INIT wins,
            // so exactly one handshake completes.
            if ctx.identity.public_key() < &offered {
                self.accept_handshake_bytes(len);
                return;
            }
            self.ours = None;
        }
        let index = self.fresh_index(ctx.rng);
        match handshake::respond(ctx.suite, ctx.identity, init, index, ctx.rng) {
            Ok((resp, est)) => {
                self.accept_handshake_bytes(len);
                self.handshake_tx.push_back(resp.clone());
                self.pending = Some(PendingResponse {
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
        let pending = match (&mut self.session, &mut self.pending) {
            (Some(s), _) if s.local_index == header.receiver_index => false,
            (_, Some(p)) if p.session.local_index == header.receiver_index => true,
            _ => {
                self.stats.drops.unknown_session += 1;
                return;
            }
        };
        let session = if pending {
            &mut self.pending.as_mut().expect("matched above").session
        } else {
            self.session.as_mut().expect("matched above")
        };
        match session.open(suite, &header, bytes) {
            Ok(()) => {}
            Err(OpenError::Replay) => return self.stats.drops.replay += 1,
            Err(OpenError::UnknownEpoch) => return self.stats.drops.unknown_session += 1,
            Err(OpenError::BadTag) => return self.stats.drops.bad_tag += 1,
        }
        let plaintext = &bytes[SealedHeader::LEN..bytes.len() - TAG_LEN];
        // Validate every frame before acting on any, so a packet is taken
        // whole or not at all. Parsed once: the first few frames (a packet
        // usually holds one or two) on the stack, any others in a vector.
        let mut ack_eliciting = false;
        let mut first: [Option<Frame<'_>>; INLINE_FRAMES] = Default::default();
        let mut more = Vec::new();
        for (i, f) in frames(plaintext).enumerate() {
            match f {
                Ok(f) => {
                    ack_eliciting |= f.is_ack_eliciting();
                    match first.get_mut(i) {
                        Some(slot) => *slot = Some(f),
                        None => more.push(f),
                    }
                }
                Err(_) => return self.stats.drops.malformed += 1,
            }
        }
        if pending {
            // The initiator's first packet proves its static key: the
            // session is now established.
            let p = self.pending.take().expect("matched above");
            self.install(p.session, now, up);
        }
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        self.last_recv = now;
        let grace = self.key_grace(ctx.config);
        let session = self.session.as_mut().expect("installed above");
        if session.keys.on_packet_opened(header.epoch, now, grace) {
            self.stats.rekeys += 1;
        }
        session
            .acks
            .on_packet(header.packet_number, ack_eliciting, now, ctx.config);

        let mut delivered = Vec::new();
        for f in first.into_iter().flatten().chain(more) {
            match f {
                Frame::Padding(_) | Frame::Ping => {}
                Frame::Ack(ack) => self.on_ack(now, &ack, ctx, up),
                Frame::Data(d) => {
                    let result = if d.channel == CONTROL_CHANNEL {
                        Err(Violation("data on the reserved control channel"))
                    } else {
                        self.recv
                            .on_data(&d, Self::recv_limits(ctx.config), &mut delivered)
                    };
                    if result.is_err() {
                        self.stats.protocol_violations += 1;
                    }
                }
                Frame::Rekey(r) => {
                    let Some(s) = self.session.as_mut() else {
                        continue;
                    };
                    match s.keys.on_frame(&r, ctx.suite, ctx.rng, now, grace) {
                        RekeyOutcome::Reply(reply) => self.rekey_tx.push_back(reply),
                        RekeyOutcome::Switched => self.stats.rekeys += 1,
                        RekeyOutcome::Ignored => {}
                        RekeyOutcome::Invalid => self.stats.protocol_violations += 1,
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
