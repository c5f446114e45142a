//! Every timer a link can have, in one place.
//!
//! Deadlines are not stored: each is derived from the link's state whenever
//! the node asks for its next wake-up, so a timer can never be left armed by
//! a forgotten code path.

use core::fmt;

use rand_chacha::ChaCha20Rng;

use super::pacer::Pacer;
use super::{Ctx, Link, LinkEvent, Upper};
use crate::config::Config;
use crate::time::{Duration, Time};

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

impl<T> Link<T> {
    /// Every timer of this link with its deadline (`NEVER` when not armed).
    pub fn timers(&self, config: &Config) -> [(LinkTimer, Time); 10] {
        LinkTimer::ALL.map(|timer| (timer, self.deadline(timer, config)))
    }

    /// The earliest armed timer (the first in [`LinkTimer::ALL`] order on a
    /// tie), or `NEVER`. Asked after every input, so written out rather than
    /// built from [`Self::timers`].
    pub fn next_timer(&self, config: &Config) -> (Time, LinkTimer) {
        let mut next = (Time::NEVER, LinkTimer::ALL[0]);
        if self.closed {
            return next;
        }
        for timer in LinkTimer::ALL {
            let at = self.deadline(timer, config);
            if at < next.0 {
                next = (at, timer);
            }
        }
        next
    }

    /// When `timer` fires (`NEVER` when it is not armed).
    #[inline]
    fn deadline(&self, timer: LinkTimer, config: &Config) -> Time {
        let never = Time::NEVER;
        if self.closed {
            return never;
        }
        let s = self.session.as_ref();
        match timer {
            LinkTimer::HandshakeRetry => self.ours.as_ref().map_or(never, |o| o.next_retry),
            LinkTimer::HandshakeExpiry => self
                .pending
                .iter()
                .map(|p| p.expires)
                .min()
                .unwrap_or(never),
            LinkTimer::Ack => s.map_or(never, |s| s.acks.deadline()),
            LinkTimer::Loss => s.map_or(never, |s| {
                let any = s
                    .sent
                    .oldest()
                    .map_or(never, |t| t + self.retransmission_timeout(config));
                let realtime = super::realtime_exempt_bytes(s.sent.realtime_bytes())
                    .then(|| s.sent.oldest_realtime())
                    .flatten()
                    .map_or(never, |t| t + self.realtime_timeout(config));
                any.min(realtime)
            }),
            // Only the session's initiator keeps an idle link alive: the
            // responder acks its PINGs (the ACK is what the initiator
            // hears) and pings only when no packet that asked for an ack
            // came for a whole interval (the initiator is gone, or its
            // direction broken). Each end still hears from the other
            // every interval, so the dead timer is as before, at half the
            // packets of both ends pinging.
            LinkTimer::Keepalive => s.map_or(never, |s| {
                let since = if s.keys.is_initiator() {
                    self.last_eliciting_sent
                } else {
                    self.last_eliciting_sent.max(self.last_eliciting_recv)
                };
                since + config.keepalive_interval
            }),
            LinkTimer::Dead => s.map_or(never, |_| self.last_recv + config.dead_interval),
            LinkTimer::Rekey => s.map_or(never, |s| {
                let twice_rtt = Duration::from_nanos(self.rtt.srtt()).saturating_mul(2);
                let rotation = s.keys.next_rotation(config.rekey_interval.max(twice_rtt));
                // While a handshake replaces keys that are too old, only
                // the rotation counts.
                let expiry = if self.ours.is_some() {
                    never
                } else {
                    s.keys.expires_at(config.max_key_age)
                };
                rotation
                    .min(expiry)
                    .min(s.keys.deferred_until(super::rekey_gap(config)))
            }),
            LinkTimer::KeyDiscard => s.map_or(never, |s| s.keys.next_discard()),
            LinkTimer::Pacing => self.pacer.as_ref().map_or(never, Pacer::deadline),
            LinkTimer::Drain => self.drain_deadline.unwrap_or(never),
        }
    }

    /// Fires every timer that is due at `now`.
    pub fn handle_timeout<U: Upper<Token = T>>(
        &mut self,
        now: Time,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        for (timer, at) in self.timers(ctx.config) {
            if at <= now {
                self.fire(timer, now, ctx, up);
            }
        }
    }

    fn fire<U: Upper<Token = T>>(
        &mut self,
        timer: LinkTimer,
        now: Time,
        ctx: &mut Ctx<'_>,
        up: &mut U,
    ) {
        let config = ctx.config;
        match timer {
            LinkTimer::HandshakeRetry => {
                if let Some(o) = self.ours.as_mut() {
                    self.handshake_tx.push_back(o.init.bytes.clone());
                    o.backoff = (o.backoff.saturating_mul(2)).min(config.handshake_max_retry);
                    o.next_retry = now + jittered(o.backoff, ctx.rng);
                }
            }
            LinkTimer::HandshakeExpiry => {
                self.pending.retain(|p| p.expires > now);
                if self.pending.is_empty() && self.session.is_none() && self.ours.is_none() {
                    // We gave up our INIT for an answer that was never
                    // taken up (a stale or replayed INIT): try ourselves.
                    self.initiate(now, ctx);
                }
            }
            // The ACK goes out with the next datagram; `must_send` is now true.
            LinkTimer::Ack => {}
            LinkTimer::Loss => {
                let rto = self.retransmission_timeout(config);
                let realtime = self.realtime_timeout(config);
                if let Some(s) = self.session.as_mut() {
                    // Only the backed-off timer backs off further: a
                    // realtime packet's own timeout never does (see
                    // `realtime_timeout`).
                    let backs_off = s.sent.oldest().is_some_and(|t| t + rto <= now);
                    let realtime_cutoff = if super::realtime_exempt_bytes(s.sent.realtime_bytes()) {
                        now - realtime
                    } else {
                        Time::ZERO
                    };
                    let lost = s.sent.lost_by_timeout(now - rto, realtime_cutoff);
                    if backs_off {
                        self.rtt.on_timeout();
                    }
                    self.on_lost(lost, up);
                }
            }
            LinkTimer::Keepalive => {
                self.ping_pending = true;
                // Re-armed from now even if the PING waits behind the window.
                self.last_eliciting_sent = now;
            }
            LinkTimer::Dead => {
                self.abandon_in_flight(up);
                self.session = None;
                self.rekey_tx.clear();
                self.ping_pending = false;
                // A dead link is not drained: it carries nothing.
                self.drain_deadline = None;
                up.on_event(now, LinkEvent::Dead { link: self.id });
                if self.ours.is_none() {
                    self.initiate(now, ctx);
                }
            }
            LinkTimer::Rekey => {
                self.answer_deferred_rekey(now, ctx);
                let expired = self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.keys.expires_at(config.max_key_age) <= now);
                if expired && self.ours.is_none() {
                    // No rotation for `max_key_age`: the peer neither asked
                    // for one nor answered ours. A new handshake replaces
                    // the session (and with it the keys).
                    self.initiate(now, ctx);
                } else {
                    self.rekey_now(ctx);
                }
            }
            LinkTimer::KeyDiscard => {
                if let Some(s) = self.session.as_mut() {
                    s.keys.discard_expired(now);
                }
            }
            LinkTimer::Pacing => {
                if let Some(p) = self.pacer.as_mut() {
                    p.on_timeout();
                }
            }
            // Draining took too long: close anyway. What still used the
            // link was moved where it could be; the rest breaks now.
            LinkTimer::Drain => {
                self.stats.drains_forced += 1;
                self.close(now, up);
            }
        }
    }
}

/// `d` plus a random quarter of it, so that nodes that started together do
/// not retry together (on a shared medium they would collide every time).
pub(super) fn jittered(d: Duration, rng: &mut ChaCha20Rng) -> Duration {
    use rand::RngExt as _;
    let quarter = d.as_nanos() / 4;
    d + Duration::from_nanos(rng.random_range(0..=quarter))
}
