//! A link session: handshake, keys, reliability and service streams for one
//! link to one peer.
//!
//! The link knows nothing above it. Its boundary with the upper layers is
//! [`Upper`]: the link asks it for frames while it assembles a packet (each
//! comes with an opaque token), reports every token back as acknowledged or
//! lost, hands up every frame of an upper type without looking into it
//! (see [`wire::upper`](crate::wire::upper)), and reports what happens to
//! the session as [`LinkEvent`] values, which the node dispatches. Files: `handshake` (the key exchange),
//! `keys` (epochs and the rekey ratchet), `session` (packet protection),
//! `replay`, `ack`, `sent`, `rtt` (reliability), `send` and `recv` (service
//! messages), `input` (the receive path), `transmit` (packet assembly) and
//! `timer` (every timer of a link).

mod ack;
pub mod handshake;
mod handshake_state;
mod input;
pub mod keys;
mod pacer;
mod recv;
pub mod replay;
pub mod rtt;
mod send;
mod sent;
mod session;
mod timer;
mod transmit;

use std::collections::VecDeque;

use rand_chacha::ChaCha20Rng;

pub use timer::LinkTimer;
use timer::jittered;

use self::handshake_state::{OurInit, PendingResponse};
use self::keys::Role;
use self::pacer::Pacer;
use self::recv::{RecvLimits, RecvStreams};
use self::rtt::RttEstimator;
use self::send::SendStreams;
use self::sent::SentFrame;
use self::session::Session;
use crate::config::Config;
use crate::crypto::{CryptoSuite, TAG_LEN};
use crate::identity::{Identity, PublicKey};
use crate::interface::{CloseReason, CommandError, LinkId};
use crate::stats::LinkStats;
use crate::time::{Duration, Time};
use crate::wire::{Class, RekeyFrame, SealedHeader, UpperFrame};

/// The smallest MTU a link may have: a handshake response and a padded
/// control frame must fit.
pub const MIN_MTU: usize = 128;

/// What a link borrows from its node while it works.
pub(crate) struct Ctx<'a> {
    pub config: &'a Config,
    pub identity: &'a Identity,
    pub suite: &'static dyn CryptoSuite,
    pub rng: &'a mut ChaCha20Rng,
    /// The node's INIT MAC keys of configured peers.
    pub mac_keys: &'a mut handshake::MacKeys,
}

/// What a link tells the layers above it, as values (the node decides
/// what each means for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// A session was established with a proven peer.
    Established {
        /// The link.
        link: LinkId,
        /// The peer's proven static key.
        peer: PublicKey,
        /// It replaced a live session: the peer restarted or lost its
        /// state, and with it everything it held for us.
        replaced: bool,
        /// Service messages sent again from their start.
        resent_messages: usize,
        /// The link's rate as the driver gave it, if it did.
        rate_bps: Option<u64>,
    },
    /// Nothing authenticated arrived for `dead_interval`; the session is
    /// gone (the link keeps trying to handshake).
    Dead {
        /// The link.
        link: LinkId,
    },
    /// The link was closed and will not be used again.
    Closed {
        /// The link.
        link: LinkId,
        /// Who closed it.
        reason: CloseReason,
        /// Service messages still unsent or unacknowledged.
        unsent_messages: usize,
    },
    /// A peer offered a static key other than the configured one.
    PeerRejected {
        /// The link.
        link: LinkId,
        /// The key it offered.
        offered: PublicKey,
    },
    /// A service message arrived on a channel.
    Message {
        /// The link.
        link: LinkId,
        /// Its channel.
        channel: u16,
        /// Its contents.
        data: Vec<u8>,
    },
}

/// What an upper frame the link wrote asks of it.
pub(crate) enum Written<T> {
    /// The frame must arrive: report the token as acknowledged or lost.
    Reliable(T),
    /// The frame is sent once; nothing is reported.
    Unreliable,
}

/// The most doublings of the RTO that realtime data waits for when the
/// link is backing off (see `Link::realtime_timeout`).
const REALTIME_MAX_BACKOFF: u32 = 1;

/// Realtime data in flight beyond this many bytes backs off like the rest:
/// the exception is for a small share of a link (voice), not for a heavy
/// flow that calls itself realtime (measured: a 12 Mb/s realtime flow over
/// a saturated wifi chain fell from 3.3 to 1.4 Mb/s without this bound).
const REALTIME_EXEMPT_BYTES: usize = 16 << 10;

/// Whether realtime data in flight is small enough to keep its exception.
pub(super) fn realtime_exempt_bytes(bytes: usize) -> bool {
    bytes <= REALTIME_EXEMPT_BYTES
}

/// The narrow boundary between a link and the layers above it. The node
/// implements it; the link calls it and knows nothing else above it.
pub(crate) trait Upper {
    /// The upper layers' name for a frame in flight.
    type Token;
    /// Whether upper frames wait for `link`.
    fn wants(&self, link: LinkId) -> bool;
    /// Appends one upper frame of `class` for `link` to `buf`, within
    /// `space` bytes; `None` when nothing (more) waits or fits.
    fn write_frame(
        &mut self,
        now: Time,
        link: LinkId,
        class: Class,
        space: usize,
        buf: &mut Vec<u8>,
    ) -> Option<Written<Self::Token>>;
    /// A frame of an upper type arrived on `link` (authenticated).
    fn on_frame(&mut self, now: Time, link: LinkId, frame: UpperFrame<'_>);
    /// Whether the token's frame is realtime data (resent without backoff
    /// when lost: see `Link::realtime_timeout`).
    fn realtime_data(&self, token: &Self::Token) -> bool;
    /// The peer acknowledged the packet that carried the token's frame.
    fn on_acked(&mut self, link: LinkId, token: Self::Token);
    /// The token's frame is lost: by loss detection, or because its session
    /// ended before it was acknowledged.
    fn on_lost(&mut self, link: LinkId, token: Self::Token);
    /// Something happened to the session.
    fn on_event(&mut self, now: Time, event: LinkEvent);
}

/// Where a link is in its life (see [`Node::link_state`](crate::Node)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkState {
    /// Handshaking; not yet usable.
    Establishing,
    /// Established and carrying traffic.
    Up,
    /// Established, but to go away: it takes no new work, what it carries
    /// moves to another link to the same peer, and it closes when idle or
    /// at its deadline.
    Draining,
    /// It was established, then fell silent for `dead_interval`; it keeps
    /// handshaking while the driver keeps it.
    Dead,
    /// Closed by either end; never used again.
    Closed,
}

/// Tests: damages a packet's plaintext before it is sealed.
#[cfg(test)]
pub(crate) type Corruptor = Box<dyn FnMut(&mut [u8])>;

/// The least time between two rotations a responder answers: 100 ms, or
/// half its own rekey interval if that is shorter. An honest initiator
/// (one rotation per interval, its own or a longer one) is then not held
/// back, and a peer that asks nonstop costs at most ten key agreements a
/// second. Not the responder's whole interval: a responder configured to
/// rotate slowly would hold a faster initiator back until its keys grew
/// too old, and a new handshake costs more than the rotations it saved.
fn rekey_gap(config: &Config) -> Duration {
    const MAX_GAP: Duration = Duration::from_millis(100);
    Duration::from_nanos(config.rekey_interval.as_nanos() / 2).min(MAX_GAP)
}

/// One link to one peer; `T` is the upper layers' frame token.
pub(crate) struct Link<T> {
    id: LinkId,
    mtu: usize,
    configured_peer: Option<PublicKey>,
    /// Our INIT while we wait for its answer (boxed: 88 bytes every
    /// established link paid).
    ours: Option<Box<OurInit>>,
    /// Answers INITs, never sends one, until a session is established: the
    /// far end of a tunnel, which its opener initiates. The INIT that made
    /// the tunnel may come from a spoofed address, so nothing but an
    /// answer to it (about its size) ever goes there: no INIT of ours, no
    /// retries, no new INIT when the answer expires untaken (which would
    /// reflect and amplify a spoofed flood).
    await_opener: bool,
    pending: Vec<PendingResponse<T>>,
    /// The INIT rate limit (a GCRA): when the bucket would be empty.
    init_tat: Time,
    session: Option<Session<T>>,
    closed: bool,
    /// A session was established at least once (tells `Dead` from
    /// `Establishing`).
    ever_established: bool,
    /// Closed by this node (for good), not by the peer's CLOSE.
    closed_here: bool,
    /// Draining: close at this time at the latest.
    drain_deadline: Option<Time>,
    /// A poll may have moved a deadline (see `take_timers_moved`).
    timers_moved: bool,
    /// In the node's list of links whose deadlines may have moved.
    dirty: bool,
    /// Its deadline as the node's timer table holds it.
    pub table_at: Time,
    handshake_tx: VecDeque<Vec<u8>>,
    rtt: RttEstimator,
    send: SendStreams,
    recv: RecvStreams,
    stats: LinkStats,
    last_recv: Time,
    last_eliciting_sent: Time,
    /// When the peer last sent a packet that asked for an ack (see the
    /// keepalive timer).
    last_eliciting_recv: Time,
    ping_pending: bool,
    /// Spaces datagrams at the link's rate, when the driver gave one.
    pacer: Option<Pacer>,
    /// Tests: damages the plaintext of every packet before it is sealed.
    #[cfg(test)]
    pub(crate) corrupt: Option<Corruptor>,
    close_pending: Option<u16>,
    rekey_tx: VecDeque<RekeyFrame>,
}

impl<T> Link<T> {
    /// A link the driver just brought up; the handshake starts at once,
    /// or, with `await_opener`, when the peer's INIT comes.
    pub fn new(
        id: LinkId,
        configured_peer: Option<PublicKey>,
        (mtu, rate_bps): (usize, Option<u64>),
        await_opener: bool,
        now: Time,
        ctx: &mut Ctx<'_>,
    ) -> Self {
        let c = ctx.config;
        let mut link = Link {
            id,
            mtu,
            configured_peer,
            ours: None,
            await_opener,
            pending: Vec::new(),
            init_tat: Time::ZERO,
            session: None,
            closed: false,
            closed_here: false,
            ever_established: false,
            drain_deadline: None,
            timers_moved: false,
            dirty: false,
            table_at: Time::NEVER,
            handshake_tx: VecDeque::new(),
            rtt: RttEstimator::new(
                c.initial_rtt.as_nanos(),
                c.min_rto.as_nanos(),
                c.max_rto.as_nanos(),
            ),
            send: SendStreams::default(),
            recv: RecvStreams::default(),
            stats: LinkStats::default(),
            last_recv: now,
            last_eliciting_sent: now,
            last_eliciting_recv: now,
            ping_pending: false,
            pacer: rate_bps.map(Pacer::new),
            #[cfg(test)]
            corrupt: None,
            close_pending: None,
            rekey_tx: VecDeque::new(),
        };
        // Nothing to compute for a link that waits: an INIT flood from
        // spoofed addresses costs no key generation here.
        link.initiate(now, ctx);
        link
    }

    /// This link's counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// The proven peer, if a session is established.
    pub fn peer(&self) -> Option<&PublicKey> {
        self.session.as_ref().map(|s| &s.peer)
    }

    /// Whether a session is established.
    pub fn is_established(&self) -> bool {
        self.session.is_some()
    }

    /// Whether the polls since the last call may have moved one of the
    /// link's deadlines. Every *input* to a link may move them; of its
    /// polls, only one that sent, or held data back for the pacer, does.
    pub fn take_timers_moved(&mut self) -> bool {
        core::mem::take(&mut self.timers_moved)
    }

    /// Marks the link as in the node's dirty list; false if it already was.
    pub fn mark_dirty(&mut self) -> bool {
        !core::mem::replace(&mut self.dirty, true)
    }

    /// The node refreshed the link's timer entry.
    pub fn clear_dirty(&mut self) {
        self.dirty = false;
    }

    /// Where the link is in its life.
    pub fn state(&self) -> LinkState {
        if self.closed {
            LinkState::Closed
        } else if self.session.is_some() {
            if self.drain_deadline.is_some() {
                LinkState::Draining
            } else {
                LinkState::Up
            }
        } else if self.ever_established {
            LinkState::Dead
        } else {
            LinkState::Establishing
        }
    }

    /// Starts draining: the link closes by `deadline` at the latest (the
    /// node closes it earlier once it is idle). Returns false if it is
    /// closed already.
    pub fn start_drain(&mut self, deadline: Time) -> bool {
        if self.closed {
            return false;
        }
        self.drain_deadline = Some(self.drain_deadline.map_or(deadline, |d| d.min(deadline)));
        true
    }

    /// Whether the link is draining.
    pub fn is_draining(&self) -> bool {
        self.drain_deadline.is_some() && !self.closed
    }

    /// Whether nothing of the link's own waits or is in flight: no service
    /// message unacknowledged and no ack-eliciting packet unacknowledged.
    pub fn is_idle(&self) -> bool {
        self.send.pending_messages() == 0
            && self
                .session
                .as_ref()
                .is_none_or(|s| s.sent.bytes_in_flight() == 0)
    }

    /// Bytes of service messages not yet acknowledged.
    pub fn send_backlog(&self) -> usize {
        self.send.backlog()
    }

    /// Whether the round-trip time was measured yet (not the initial guess).
    pub fn rtt_sampled(&self) -> bool {
        self.rtt.has_sample()
    }

    /// A snapshot for status displays.
    pub fn info(&self, id: LinkId) -> crate::node::LinkInfo {
        crate::node::LinkInfo {
            id,
            peer: self.peer().copied(),
            established: self.is_established(),
            closed: self.closed,
            state: self.state(),
            srtt: Duration::from_nanos(self.rtt.srtt()),
            send_epoch: self.session.as_ref().map(|s| s.keys.send_epoch()),
            send_backlog: self.send.backlog(),
            recv_buffered: self.recv.buffered(),
            bytes_in_flight: self
                .session
                .as_ref()
                .map_or(0, |s| s.sent.bytes_in_flight()),
            stats: self.stats,
        }
    }

    /// Fuzzing only: `plaintext` sealed as the next packet of the session.
    #[cfg(feature = "fuzzing-hooks")]
    pub fn seal_raw(
        &mut self,
        suite: &dyn crate::crypto::CryptoSuite,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let s = self.session.as_mut()?;
        let mut buf = Vec::new();
        let pn = s.begin_packet(&mut buf);
        buf.extend_from_slice(plaintext);
        s.seal(suite, pn, &mut buf);
        Some(buf)
    }

    /// Queues a service message.
    pub fn send_message(
        &mut self,
        channel: u16,
        class: Class,
        data: Vec<u8>,
        config: &Config,
    ) -> Result<(), CommandError> {
        if self.closed {
            return Err(CommandError::LinkClosed(self.id));
        }
        if data.len() > config.max_message_size {
            return Err(CommandError::MessageTooLarge {
                size: data.len(),
                limit: config.max_message_size,
            });
        }
        if self.send.backlog() + data.len() > config.max_send_backlog {
            return Err(CommandError::BacklogFull(self.id));
        }
        self.stats.messages_sent += 1;
        self.send.push(channel, class, data);
        Ok(())
    }

    /// Starts a key rotation now (only the handshake initiator rotates).
    /// Answers a rotation request kept for later, if its time came.
    fn answer_deferred_rekey(&mut self, now: Time, ctx: &mut Ctx<'_>) {
        let (grace, gap) = (self.key_grace(ctx.config), rekey_gap(ctx.config));
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.keys.deferred_until(gap) > now {
            return;
        }
        if let Some(f) = s.keys.take_deferred() {
            match s.keys.on_frame(&f, ctx.suite, ctx.rng, now, grace, gap) {
                keys::RekeyOutcome::Reply(reply) => self.rekey_tx.push_back(reply),
                keys::RekeyOutcome::Invalid => self.stats.protocol_violations += 1,
                _ => {}
            }
        }
    }

    pub fn rekey_now(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(s) = self.session.as_mut()
            && let Some(f) = s.keys.start_rotation(ctx.suite, ctx.rng)
        {
            self.rekey_tx.push_back(f);
        }
    }

    /// Closes the link gracefully: a CLOSE frame goes out with the next
    /// datagram, then the link is done. Without a session it closes at once.
    pub fn close<U: Upper<Token = T>>(&mut self, now: Time, up: &mut U) {
        if self.closed {
            return;
        }
        if self.session.is_some() {
            self.close_pending = Some(0);
        } else {
            self.finish_close(now, CloseReason::Local, up);
        }
    }

    /// The driver took the link away: the session ends without a CLOSE.
    pub fn on_down<U: Upper<Token = T>>(&mut self, now: Time, up: &mut U) {
        if !self.closed {
            self.finish_close(now, CloseReason::LinkDown, up);
        }
    }

    /// The session's frames in flight will never be acknowledged: their
    /// owners get them back as lost (so a route moves its data to another
    /// link of the same peer).
    fn abandon_in_flight<U: Upper<Token = T>>(&mut self, up: &mut U) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        for p in s.sent.take_all() {
            for f in p.frames {
                if let SentFrame::Upper(t) = f {
                    up.on_lost(self.id, t);
                }
            }
        }
    }

    fn finish_close<U: Upper<Token = T>>(&mut self, now: Time, reason: CloseReason, up: &mut U) {
        self.abandon_in_flight(up);
        self.closed = true;
        // A link this node closed (or the driver took) is done. One the
        // peer closed stays open to a new handshake from that peer, while
        // the driver keeps it: the peer may have restarted its session, or
        // sent a CLOSE it never meant (an authenticated but buggy peer),
        // and the link heals as it does after a dead interval.
        self.closed_here = !matches!(reason, CloseReason::Peer(_));
        self.session = None;
        // Dropped, not cleared: an established link keeps no room for
        // answers it will not make (about 3 kB, the most a link holds).
        self.pending = Vec::new();
        self.ours = None;
        self.close_pending = None;
        self.drain_deadline = None;
        self.rekey_tx.clear();
        up.on_event(
            now,
            LinkEvent::Closed {
                link: self.id,
                reason,
                unsent_messages: self.send.pending_messages(),
            },
        );
    }

    /// Makes `session` the link's session, replacing any previous one.
    fn install<U: Upper<Token = T>>(&mut self, session: Session<T>, now: Time, up: &mut U) {
        let peer = session.peer;
        let replaced = self.session.is_some();
        // A new session replaces a live one: the peer restarted or lost
        // its state; what was in flight in the old one is gone.
        self.abandon_in_flight(up);
        if session.keys.role() == Role::Initiator {
            // Our first packet is the proof the responder waits for.
            self.ping_pending = true;
        }
        self.session = Some(session);
        // Dropped, not cleared: an established link keeps no room for
        // answers it will not make (about 3 kB, the most a link holds).
        self.pending = Vec::new();
        self.ours = None;
        self.await_opener = false;
        self.closed = false;
        self.rekey_tx.clear();
        self.recv = RecvStreams::default();
        let resent_messages = self.send.restart();
        self.last_recv = now;
        self.last_eliciting_sent = now;
        self.last_eliciting_recv = now;
        self.stats.handshakes += 1;
        self.ever_established = true;
        up.on_event(
            now,
            LinkEvent::Established {
                link: self.id,
                peer,
                replaced,
                resent_messages,
                rate_bps: self.pacer.as_ref().map(Pacer::rate_bps),
            },
        );
    }

    /// How long a packet may go unacknowledged before it counts as lost:
    /// the RFC 6298 RTO plus the time the peer may hold its ACK back. RTT
    /// samples leave the ACK delay out, so without it every delayed ACK
    /// would look like a loss (QUIC's PTO adds it the same way).
    fn retransmission_timeout(&self, config: &Config) -> Duration {
        Duration::from_nanos(self.rtt.rto()) + config.max_ack_delay
    }

    /// How long a packet of realtime data may go unacknowledged: the RTO
    /// with at most [`REALTIME_MAX_BACKOFF`] doublings, plus the ACK delay.
    ///
    /// An exception to the backoff principle (RFC 6298 §5.5), made on
    /// purpose: backoff protects a path from a sender that keeps resending
    /// into congestion, but a voice packet recovered after four doublings
    /// (30 ms -> 480 ms) is as good as lost. So a packet that carries only
    /// realtime data (no control frames, no bulk) is resent at most two
    /// plain RTOs after it left, every time, while everything else keeps
    /// the backed-off timer. Bounded so it cannot become a storm: realtime
    /// traffic is a small share of a link (it goes first, so it must stay
    /// small to leave room for the rest), one doubling still halves the
    /// resend rate when the link stalls, and a link that really is dead
    /// stops it after `dead_interval`. Unbounded (no doubling at all), a
    /// wifi mesh with a bulk flow beside the voice made its voice worse.
    fn realtime_timeout(&self, config: &Config) -> Duration {
        let doublings = self.rtt.backoff().min(REALTIME_MAX_BACKOFF);
        Duration::from_nanos(self.rtt.base_rto() << doublings) + config.max_ack_delay
    }

    fn key_grace(&self, config: &Config) -> Duration {
        config
            .key_grace
            .max(Duration::from_nanos(self.rtt.rto()).saturating_mul(3))
    }

    fn recv_limits(config: &Config) -> RecvLimits {
        RecvLimits {
            max_message: config.max_message_size,
            // What an honest peer can make us hold, per class: its window
            // plus one message under reassembly, with a little slack.
            max_buffered: config
                .link_window
                .saturating_add(config.max_message_size)
                .saturating_add(1 << 16)
                .saturating_mul(2),
            // Each message in the window costs the sender PENDING_OVERHEAD
            // of it: the window holds at most window / overhead of them,
            // plus the one under reassembly, per class; twice that again.
            max_pending: (config.link_window / recv::PENDING_OVERHEAD + 1).saturating_mul(4),
        }
    }

    /// Plaintext bytes a sealed packet can carry on this link.
    fn plaintext_capacity(&self, padding: usize) -> usize {
        let raw = self.mtu.saturating_sub(SealedHeader::LEN + TAG_LEN);
        raw - raw % padding
    }
}
