//! Packet assembly: what goes into the next datagram of a link.
//!
//! Order inside a packet: ACK, CLOSE, REKEY, PING, then realtime DATA, then
//! bulk DATA, then padding to a multiple of the configured block. Frames of
//! every kind share one datagram up to the MTU.

use std::collections::VecDeque;

use super::ack::SENT_RANGES;
use super::sent::{SentFrame, SentPacket};
use super::{Ctx, Link, Upper, Written};
use crate::interface::CloseReason;
use crate::time::Time;
use crate::wire::{Class, CloseFrame, Frame, SealedHeader};

impl<T> Link<T> {
    /// The next datagram this link wants to send, if any.
    pub fn poll_transmit<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) -> Option<Vec<u8>> {
        if let Some(bytes) = self.handshake_tx.pop_front() {
            if self.handshake_tx.is_empty() {
                // Handshakes are rare: an emptied queue gives its room back.
                self.handshake_tx = VecDeque::new();
            }
            self.timers_moved = true;
            self.count_sent(now, bytes.len());
            return Some(bytes);
        }
        let config = ctx.config;
        let window = config.link_window;
        let space = self.plaintext_capacity(config.padding);
        let session = self.session.as_mut()?;
        let must_ack = session.acks.must_send(now, config);
        let control =
            self.close_pending.is_some() || self.ping_pending || !self.rekey_tx.is_empty();
        let wants_data = self.send.wants_to_send(window) || up.wants(self.id);
        // Only data waits for the pacer: acks and control frames are small
        // and late ones cost more than they save (they are still charged).
        let data_now = wants_data && self.pacer.as_mut().is_none_or(|p| p.admit(now));
        if !(must_ack || control || data_now) {
            // Data held back by the pacer armed its timer.
            self.timers_moved |= wants_data;
            return None;
        }
        self.timers_moved = true;

        let mut buf = Vec::with_capacity(self.mtu);
        let pn = session.begin_packet(&mut buf);
        let mut sent = Vec::new();
        let room = |buf: &Vec<u8>| space - (buf.len() - SealedHeader::LEN);

        if (must_ack || session.acks.worth_piggybacking())
            && let Some(mut ack) = session.acks.build(now, SENT_RANGES)
        {
            // An ACK never takes more than half a packet.
            while ack.encoded_len() > space / 2 && ack.ranges.len() > 1 {
                ack.ranges.pop();
            }
            if ack.encoded_len() <= space {
                Frame::Ack(ack).emit(&mut buf);
            }
        }
        let closing = self.close_pending.take();
        if let Some(reason) = closing {
            Frame::Close(CloseFrame { reason }).emit(&mut buf);
        }
        while let Some(r) = self.rekey_tx.front() {
            if Frame::Rekey(*r).encoded_len() > room(&buf) {
                break;
            }
            Frame::Rekey(*r).emit(&mut buf);
            sent.push(SentFrame::Rekey(*r));
            self.rekey_tx.pop_front();
            if self.rekey_tx.is_empty() {
                // One rotation a second at most: no room kept between them.
                self.rekey_tx = VecDeque::new();
            }
        }
        if self.ping_pending && room(&buf) >= 1 {
            Frame::Ping.emit(&mut buf);
            sent.push(SentFrame::Ping);
            self.ping_pending = false;
        }
        if closing.is_none() && data_now {
            for class in [Class::Realtime, Class::Bulk] {
                while let Some(f) = self.send.write_frame(class, room(&buf), window, &mut buf) {
                    sent.push(f);
                }
                while let Some(w) = up.write_frame(now, self.id, class, room(&buf), &mut buf) {
                    if let Written::Reliable(t) = w {
                        sent.push(SentFrame::Upper(t));
                    }
                }
            }
        }
        if buf.len() == SealedHeader::LEN {
            // Only stale work was queued: nothing to say after all (the
            // packet number is not consumed).
            return None;
        }
        #[cfg(test)]
        if let Some(corrupt) = self.corrupt.as_mut() {
            // Tests play a buggy or malicious peer: its frames are damaged
            // after it wrote them, yet sealed, so the receiver's link layer
            // accepts them and its upper layers must cope.
            corrupt(&mut buf[SealedHeader::LEN..]);
        }
        let plaintext = buf.len() - SealedHeader::LEN;
        let padded = plaintext.div_ceil(config.padding) * config.padding;
        buf.resize(SealedHeader::LEN + padded, 0);
        session.seal(ctx.suite, pn, &mut buf);

        if !sent.is_empty() {
            // Only a packet of realtime data alone escapes the backoff (see
            // `Link::realtime_timeout`): control frames (credits, route
            // setup) and bulk data that share a packet keep it.
            let realtime = sent.iter().all(|f| match f {
                SentFrame::Data { class, .. } => *class == Class::Realtime,
                SentFrame::Upper(t) => up.realtime_data(t),
                _ => false,
            });
            session.sent.on_sent(
                pn,
                SentPacket {
                    time: now,
                    size: buf.len(),
                    frames: sent,
                    realtime,
                },
            );
            self.last_eliciting_sent = now;
        }
        self.count_sent(now, buf.len());
        if closing.is_some() {
            // CLOSE is sent once and not retransmitted: the peer that misses
            // it finds the link dead after `dead_interval`.
            self.finish_close(now, CloseReason::Local, up);
        }
        Some(buf)
    }

    fn count_sent(&mut self, now: Time, len: usize) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += len as u64;
        if let Some(p) = self.pacer.as_mut() {
            p.on_sent(now, len);
        }
    }
}
