//! The tunnel manager's state in a node: the tunnels it opened, the
//! requests it waits on, the peers that failed lately, and when it acts
//! next. The decisions are the pure functions of [`super`].

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;

use super::ChurnConfig;
use crate::identity::Address;
use crate::interface::{LinkId, TunnelRequest};
use crate::time::{Duration, Time};

/// How long a peer whose tunnel failed is not asked again.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);
/// How often the manager tops its tunnels up when it has too few.
pub const TOP_UP_EVERY: Duration = Duration::from_secs(1);
/// How often it looks over its tunnels when it has all of them (one that
/// died is closed and replaced; a lost one re-arms the top-up at once).
pub const AUDIT_EVERY: Duration = Duration::from_secs(10);
/// A tunnel of ours not up this long after it opened is given up (its
/// peer is treated as refusing: the path may be cut).
pub const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);
/// Offered candidates the manager keeps, per tunnel it keeps (the pool is
/// bounded: a driver or peer that offers more fills nothing).
pub const MAX_OFFERED: usize = 4;

/// What the tunnel manager did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChurnStats {
    /// Tunnels asked of the driver.
    pub requested: u64,
    /// Tunnels the driver opened.
    pub opened: u64,
    /// Requests that failed (the driver, or the peer refused).
    pub failed: u64,
    /// Tunnels destroyed at once (no routes on them, or no draining).
    pub destroyed: u64,
    /// Tunnels drained first (they carried routes: the exception).
    pub drained: u64,
    /// Refreshes run.
    pub refreshes: u64,
    /// Our tunnels that went down before they were up (the peer refused
    /// it, e.g. at its `max_peers`, or never answered): that peer waits
    /// [`RETRY_AFTER`] and another is drawn.
    pub refused: u64,
    /// Our tunnels the peer closed, or that died, after they were up.
    pub lost: u64,
    /// Incoming tunnels refused because `max_peers` were held.
    pub refused_incoming: u64,
    /// Drains that hit `drain_max` and closed while still in use (the
    /// node's links' count: every drain, not only the manager's).
    pub forced: u64,
    /// Our tunnels given up because the peer opened one to us too (both
    /// drew each other at once): the end with the higher address gives
    /// its own up, drained onto the other, and draws again.
    pub duplicates: u64,
    /// Candidates asked of the driver ([`crate::Output::WantPeers`]).
    pub peers_asked: u64,
    /// Offered candidates dropped: the pool was full, or they were us.
    pub offers_dropped: u64,
}

pub(crate) struct Manager {
    pub config: ChurnConfig,
    pub rng: ChaCha20Rng,
    /// Tunnels it opened, by link, with their peers.
    pub ours: BTreeMap<LinkId, Address>,
    /// Requests waiting for the driver, with their peers.
    pub pending: BTreeMap<TunnelRequest, Address>,
    /// Peers that failed lately, until when they are not asked again.
    pub failed: BTreeMap<Address, Time>,
    /// When each of its tunnels opened.
    pub since: BTreeMap<LinkId, Time>,
    /// Bytes each of its tunnels had sent at the last refresh.
    pub used_mark: BTreeMap<LinkId, u64>,
    pub next_refresh: Time,
    pub next_top_up: Time,
    pub stats: ChurnStats,
    /// Timer entry last given to the node's table.
    pub table_at: Time,
    /// Candidates offered by the driver, oldest first (bounded by
    /// [`MAX_OFFERED`] per tunnel kept).
    pub offered: Vec<(
        Address,
        crate::identity::PublicKey,
        crate::interface::Locator,
    )>,
    /// Candidates to ask the driver for at the next poll.
    pub want: usize,
    /// When the driver was last asked for candidates: at most once per
    /// [`TOP_UP_EVERY`], so a driver that answers at once with too few
    /// (a small mesh, a registry that knows few) is not asked again in
    /// the same instant, over and over.
    pub asked: Option<Time>,
}

impl Manager {
    pub fn new(config: ChurnConfig, mut rng: ChaCha20Rng) -> Manager {
        // The first refresh at a random phase, between half and one and a
        // half periods: nodes that start together do not all destroy
        // their tunnels at the same instant (re6st's nodes start at
        // different times); every `refresh` after that.
        let period = config.refresh.as_nanos();
        let ms = (period / 1_000_000).clamp(1, u64::from(u32::MAX)) as usize;
        let phase = period / 2 + super::below(&mut rng, ms) as u64 * 1_000_000;
        Manager {
            next_refresh: Time::ZERO + crate::time::Duration::from_nanos(phase),
            next_top_up: Time::ZERO,
            config,
            rng,
            ours: BTreeMap::new(),
            pending: BTreeMap::new(),
            failed: BTreeMap::new(),
            used_mark: BTreeMap::new(),
            since: BTreeMap::new(),
            stats: ChurnStats::default(),
            table_at: Time::NEVER,
            offered: Vec::new(),
            want: 0,
            asked: None,
        }
    }

    pub fn deadline(&self) -> Time {
        self.next_refresh.min(self.next_top_up)
    }

    /// The driver opened request `r` as `link`.
    pub fn on_opened(&mut self, now: Time, r: TunnelRequest, link: LinkId) {
        if let Some(peer) = self.pending.remove(&r) {
            self.ours.insert(link, peer);
            self.since.insert(link, now);
            self.stats.opened += 1;
        }
    }

    /// Request `r` failed: its peer waits [`RETRY_AFTER`].
    pub fn on_failed(&mut self, now: Time, r: TunnelRequest) {
        if let Some(peer) = self.pending.remove(&r) {
            self.stats.failed += 1;
            self.note_failed(now, peer);
        }
    }

    /// `peer` failed (a request, or its tunnel closed before it was up).
    pub fn note_failed(&mut self, now: Time, peer: Address) {
        // Bounded: one entry per peer asked lately; old ones go.
        self.failed.retain(|_, &mut until| until > now);
        self.failed.insert(peer, now + RETRY_AFTER);
    }

    /// Peers not to draw now: ours, pending, failed lately.
    pub fn busy_peers(&self, now: Time) -> BTreeSet<Address> {
        let mut s: BTreeSet<Address> = self.ours.values().copied().collect();
        s.extend(self.pending.values().copied());
        s.extend(
            self.failed
                .iter()
                .filter(|&(_, &t)| t > now)
                .map(|(a, _)| *a),
        );
        s
    }

    /// Forgets tunnel `link` (gone, or closed by the manager).
    pub fn forget(&mut self, link: LinkId) -> Option<Address> {
        self.used_mark.remove(&link);
        self.since.remove(&link);
        self.ours.remove(&link)
    }

    /// Takes the driver's candidates into the pool: not `me`, not twice,
    /// at most [`MAX_OFFERED`] per tunnel kept (the rest is counted).
    pub fn offer(
        &mut self,
        me: Address,
        peers: Vec<(crate::identity::PublicKey, crate::interface::Locator)>,
    ) {
        let cap = MAX_OFFERED * self.config.tunnels_per_node;
        for (key, locator) in peers {
            let a = Address::of(&key);
            if a == me || self.offered.iter().any(|o| o.0 == a) || self.offered.len() >= cap {
                self.stats.offers_dropped += 1;
                continue;
            }
            self.offered.push((a, key, locator));
        }
    }

    /// Tunnels more to open now.
    pub fn missing(&self) -> usize {
        self.config
            .tunnels_per_node
            .saturating_sub(self.ours.len() + self.pending.len())
    }
}
