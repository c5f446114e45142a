//! End-to-end delivery at a route's ends: records handed to the endpoint,
//! credit freed, and the end-to-end acknowledgements (sent, forwarded by
//! relays, and taken by the source).

use super::inbound::{ACK_BYTES, ACK_DELAY, CREDIT_STEPS};
use super::{BACKWARD, FORWARD, RoleKind, Routes, Side, crypto};
use crate::config::RouteMode;
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteHandle};
use crate::time::Time;
use crate::wire::{RouteAckFrame, RouteFrame};

/// Bytes of an end-to-end acknowledgement's payload: its nonce, and the
/// sealed 8-byte offset with its tag.
pub(super) const ACK_PAYLOAD_LEN: usize = 8 + 8 + crate::crypto::TAG_LEN;

impl Routes {
    /// Hands the contiguous bytes of direction `d` to the endpoint, frees
    /// the buffer, and schedules credit and the end-to-end acknowledgement.
    pub(super) fn deliver(&mut self, now: Time, h: u64, d: usize) {
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("route exists");
        let threshold = (r.dirs[d].buf.capacity() / CREDIT_STEPS).max(1) as u64;
        let origin = d == BACKWARD && r.role.kind() == RoleKind::Origin;
        let Some(ep) = r.role.endpoint_mut() else {
            return;
        };
        let buf = &mut r.dirs[d].buf;
        let (start, end) = (buf.base(), buf.contiguous_end());
        let mut messages = Vec::new();
        if end > start {
            match ep.rx.consume(
                suite,
                buf.read(start, (end - start) as usize),
                &mut messages,
            ) {
                Ok(used) => {
                    buf.release(start + used as u64);
                    // A message under reassembly stays on the route's
                    // credit: what the upstream can make this end hold is
                    // the buffer, whatever the messages' lengths. (In the
                    // end-to-end mode the source's window does not know of
                    // it: there the end holds at most the buffer plus one
                    // message, itself at most a buffer.)
                    if self.mode == RouteMode::StoreAndForward {
                        buf.set_reserved(ep.rx.pending_len());
                    }
                    ep.consumed = start + used as u64;
                }
                Err(_) => {
                    self.stats.violations += 1;
                    self.teardown(h, RouteCloseReason::Remote, None);
                    return;
                }
            }
        }
        let received = buf.contiguous_end();
        let emptied = buf.held() == 0;
        let limit = buf.limit();
        r.dirs[d].advert.update(limit, threshold, emptied);
        let ack_value = if self.mode == RouteMode::EndToEnd {
            received
        } else {
            ep.consumed
        };
        let ack_now = self.mode == RouteMode::EndToEnd
            || ack_value >= ep.acked + ACK_BYTES
            || (emptied && ack_value > ep.acked);
        if !ack_now && ack_value > ep.acked && ep.ack_due.is_none() {
            ep.ack_due = Some(now + ACK_DELAY);
        }
        let from = if d == FORWARD { r.up } else { r.down };
        let credit_due = r.dirs[d].advert.dirty;
        for data in messages {
            self.events.push_back(Event::RouteMessage {
                route: RouteHandle(h),
                data,
            });
        }
        if credit_due
            && self.mode == RouteMode::StoreAndForward
            && let Some(a) = from
        {
            self.work_for(a.peer).credits.insert((h, d));
        }
        if ack_now {
            self.send_e2e_ack(h);
        }
        if origin {
            self.pay_received(h, received);
        }
    }

    pub(super) fn on_ack(&mut self, now: Time, peer: Address, f: &RouteAckFrame<'_>) {
        let Some((h, side)) = self.lookup(now, peer, f.route) else {
            return;
        };
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        // Acknowledgements of direction d travel the other way.
        let (is_end, d) = match (r.role.kind(), side) {
            (RoleKind::Origin, Side::Down) => (true, FORWARD),
            (RoleKind::Destination, Side::Up) => (true, BACKWARD),
            _ => (false, 0),
        };
        if !is_end {
            let to = if side == Side::Down { r.up } else { r.down };
            let Some(to) = to else { return };
            let frame = RouteFrame::Ack(RouteAckFrame {
                route: to.tx,
                payload: f.payload,
            });
            if self.mode == RouteMode::EndToEnd {
                let mut bytes = Vec::with_capacity(frame.encoded_len());
                frame.emit(&mut bytes);
                if !self.enqueue_unreliable(to.peer, bytes) {
                    self.routes.get_mut(&h).expect("exists").queue_drops += 1;
                }
            } else {
                self.queue_ctrl(to.peer, frame);
            }
            return;
        }
        let Some(ep) = r.role.endpoint_mut() else {
            return;
        };
        let Some(value) = open_ack(suite, &ep.ack_rx, f.payload) else {
            self.stats.violations += 1;
            return;
        };
        let delivered = value.saturating_sub(ep.confirmed);
        if value > ep.confirmed {
            ep.confirmed = value;
            self.events.push_back(Event::RouteDelivered {
                route: RouteHandle(h),
                bytes: value,
            });
        }
        if let Some(reno) = ep.reno.as_mut() {
            reno.on_ack(now, value);
            let una = reno.snd_una();
            r.dirs[d].buf.release(una);
            let (class, to) = (r.class, if d == FORWARD { r.down } else { r.up });
            if let Some(to) = to {
                self.activate(to.peer, class, h, d);
            }
        }
        if delivered > 0 && d == FORWARD {
            self.pay_delivered(h, delivered, value);
        }
    }

    /// Sends the end-to-end acknowledgement of the incoming direction.
    pub(super) fn send_e2e_ack(&mut self, h: u64) {
        let suite = self.suite;
        let e2e = self.mode == RouteMode::EndToEnd;
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        let (d_in, to) = match r.role.kind() {
            RoleKind::Origin => (BACKWARD, r.down),
            _ => (FORWARD, r.up),
        };
        let (Some(ep), Some(to)) = (r.role.endpoint_mut(), to) else {
            return;
        };
        let value = if e2e {
            r.dirs[d_in].buf.contiguous_end()
        } else {
            ep.consumed
        };
        ep.acked = value;
        ep.ack_due = None;
        let nonce = ep.ack_nonce;
        ep.ack_nonce += 1;
        let mut payload = nonce.to_be_bytes().to_vec();
        payload.extend_from_slice(&crypto::seal_datagram(
            suite,
            &ep.ack_tx,
            nonce,
            &value.to_be_bytes(),
        ));
        let frame = RouteFrame::Ack(RouteAckFrame {
            route: to.tx,
            payload: &payload,
        });
        if e2e {
            let mut bytes = Vec::with_capacity(frame.encoded_len());
            frame.emit(&mut bytes);
            self.enqueue_unreliable(to.peer, bytes);
        } else {
            self.queue_ctrl(to.peer, frame);
        }
    }
}

fn open_ack(
    suite: &'static dyn crate::crypto::CryptoSuite,
    key: &crate::crypto::Key,
    payload: &[u8],
) -> Option<u64> {
    let (nonce, sealed) = payload.split_first_chunk::<8>()?;
    let plain = crypto::open_datagram(suite, key, u64::from_be_bytes(*nonce), sealed).ok()?;
    Some(u64::from_be_bytes(plain.as_slice().try_into().ok()?))
}
