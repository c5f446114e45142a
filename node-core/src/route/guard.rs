//! Bounds that no neighbour can push past: route entries, the credit it
//! may hold at this node, and the rate of its CREATEs.
//!
//! A node relays strangers' routes. Each entry costs memory, each CREATE
//! an ECDH or three, and each byte of credit a byte that the neighbour may
//! make this node hold. So every entry and every byte of credit a neighbour
//! can use is drawn from two pools: the neighbour's own share and the
//! node's. A neighbour that exhausts its share stops there; the others are
//! not affected until the node's pool runs out. Entries are charged to the
//! neighbour that created them (the upstream), credit to the neighbour that
//! sends into the buffer (upstream for the forward direction, downstream
//! for the backward one). What this node's own application opens (an
//! origin's buffers, a destination's sending side) is the application's
//! choice and not charged.
//!
//! A new hop gets a small credit (`route_initial_credit`) until the origin
//! extends the route through it or ends the route there: a neighbour cannot
//! make a hop that was never told its role hold a full buffer.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::identity::Address;
use crate::time::{Duration, Time};

/// Bytes charged for a route entry itself (the entry, its keys, its index
/// entries), on top of its buffers' credit.
pub const ENTRY_COST: usize = 2048;

/// Why a neighbour's request was refused, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The node holds `max_route_entries` entries.
    NodeEntries,
    /// The neighbour holds `max_route_entries_per_neighbour` entries.
    PeerEntries,
    /// The neighbour's share of the credit pool is spent.
    PeerCredit,
    /// The node's credit pool is spent.
    NodeCredit,
    /// CREATEs arrive faster than `route_create_rate`.
    Rate,
}

/// Refusals of the route layer's bounds, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusalStats {
    /// CREATEs refused: the node's entry limit.
    pub node_entries: u64,
    /// CREATEs refused: the neighbour's entry limit.
    pub peer_entries: u64,
    /// Credit refused (a CREATE, or a buffer that could not grow): the
    /// neighbour's share.
    pub peer_credit: u64,
    /// Credit refused: the node's pool.
    pub node_credit: u64,
    /// CREATEs refused: over the rate limit.
    pub rate: u64,
    /// Extensions refused: the path is longer than `max_path_len`, or
    /// turns straight back to the hop it came from.
    pub path: u64,
    /// Control frames dropped: `MAX_CTRL_QUEUE` already waited for the
    /// neighbour.
    pub ctrl_queue: u64,
    /// New routes refused over a draining link (a CREATE from, or an
    /// EXTEND to, a neighbour whose only link drains).
    pub draining: u64,
}

impl RefusalStats {
    fn count(&mut self, why: Refusal) {
        match why {
            Refusal::NodeEntries => self.node_entries += 1,
            Refusal::PeerEntries => self.peer_entries += 1,
            Refusal::PeerCredit => self.peer_credit += 1,
            Refusal::NodeCredit => self.node_credit += 1,
            Refusal::Rate => self.rate += 1,
        }
    }

    /// All refusals together.
    pub fn total(&self) -> u64 {
        self.node_entries
            + self.peer_entries
            + self.peer_credit
            + self.node_credit
            + self.rate
            + self.path
            + self.ctrl_queue
    }
}

#[derive(Debug, Default)]
struct PeerUse {
    entries: usize,
    credit: usize,
    /// The CREATE rate limit as a GCRA: when the bucket would be empty.
    tat: Time,
}

/// What the node and each neighbour hold, against the limits.
#[derive(Debug)]
pub(super) struct Guard {
    max_entries: usize,
    max_entries_per_peer: usize,
    pool: usize,
    pool_per_peer: usize,
    /// Time one CREATE takes of the bucket, and the bucket's depth.
    create_interval: Duration,
    create_burst: Duration,
    entries: usize,
    credit: usize,
    peers: BTreeMap<Address, PeerUse>,
    pub stats: RefusalStats,
}

impl Guard {
    pub fn new(config: &Config) -> Guard {
        let rate = u64::from(config.route_create_rate.max(1));
        let interval = Duration::from_nanos(1_000_000_000 / rate);
        Guard {
            max_entries: config.max_route_entries,
            max_entries_per_peer: config.max_route_entries_per_neighbour,
            pool: config.route_credit_pool,
            pool_per_peer: config.route_credit_per_neighbour,
            create_interval: interval,
            create_burst: interval.saturating_mul(u64::from(config.route_create_burst)),
            entries: 0,
            credit: 0,
            peers: BTreeMap::new(),
            stats: RefusalStats::default(),
        }
    }

    /// A CREATE from `peer`: admits an entry with `credit` bytes of initial
    /// credit, charged to `peer`, or says why not (counted).
    pub fn admit_entry(&mut self, now: Time, peer: Address, credit: usize) -> Result<(), Refusal> {
        let result = self.check_entry(now, peer, credit);
        match result {
            Ok(()) => {
                let p = self.peers.entry(peer).or_default();
                p.tat = p.tat.max(now) + self.create_interval;
                p.entries += 1;
                p.credit += ENTRY_COST + credit;
                self.entries += 1;
                self.credit += ENTRY_COST + credit;
            }
            Err(why) => self.stats.count(why),
        }
        result
    }

    fn check_entry(&self, now: Time, peer: Address, credit: usize) -> Result<(), Refusal> {
        let p = self.peers.get(&peer);
        let tat = p.map_or(Time::ZERO, |p| p.tat);
        if tat > now + self.create_burst {
            return Err(Refusal::Rate);
        }
        if self.entries >= self.max_entries {
            return Err(Refusal::NodeEntries);
        }
        if p.is_some_and(|p| p.entries >= self.max_entries_per_peer) {
            return Err(Refusal::PeerEntries);
        }
        self.check_credit(peer, ENTRY_COST + credit)
    }

    fn check_credit(&self, peer: Address, bytes: usize) -> Result<(), Refusal> {
        let held = self.peers.get(&peer).map_or(0, |p| p.credit);
        if held + bytes > self.pool_per_peer {
            return Err(Refusal::PeerCredit);
        }
        if self.credit + bytes > self.pool {
            return Err(Refusal::NodeCredit);
        }
        Ok(())
    }

    /// Up to `want` more bytes of credit for `peer`, at least `need` of
    /// them: the bytes granted (charged), or why not even `need` (counted).
    pub fn grant(&mut self, peer: Address, want: usize, need: usize) -> Result<usize, Refusal> {
        let held = self.peers.get(&peer).map_or(0, |p| p.credit);
        let peer_room = self.pool_per_peer.saturating_sub(held);
        let node_room = self.pool.saturating_sub(self.credit);
        // The tighter of the two pools is the one that limits.
        let (room, limit) = if peer_room <= node_room {
            (peer_room, Refusal::PeerCredit)
        } else {
            (node_room, Refusal::NodeCredit)
        };
        let bytes = want.min(room);
        if bytes < need {
            self.stats.count(limit);
            return Err(limit);
        }
        if bytes < want {
            // Granted less than asked: the route runs on a smaller buffer.
            self.stats.count(limit);
        }
        self.peers.entry(peer).or_default().credit += bytes;
        self.credit += bytes;
        Ok(bytes)
    }

    /// Gives back what an entry held: `credit` bytes charged to `peer`,
    /// and the entry itself if `entry`.
    pub fn refund(&mut self, peer: Address, credit: usize, entry: bool) {
        let bytes = credit + if entry { ENTRY_COST } else { 0 };
        self.credit = self.credit.saturating_sub(bytes);
        if entry {
            self.entries = self.entries.saturating_sub(1);
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.credit = p.credit.saturating_sub(bytes);
            if entry {
                p.entries = p.entries.saturating_sub(1);
            }
            // The entry stays, with its rate state, even when nothing is
            // charged: forgetting it would refill the CREATE bucket of a
            // neighbour that tears its entries down as fast as it makes
            // them. It goes with the neighbour (`forget`).
        }
    }

    /// No link to `peer` is left (its routes are gone): forget it. The map
    /// is thereby bounded by the node's neighbours.
    pub fn forget(&mut self, peer: Address) {
        if let Some(p) = self.peers.remove(&peer) {
            // Anything still charged would be a leak: give it back.
            self.credit = self.credit.saturating_sub(p.credit);
            self.entries = self.entries.saturating_sub(p.entries);
        }
    }

    /// Credit charged to `peer` now (entries included), for tests and status.
    #[cfg(test)]
    pub fn charged(&self, peer: Address) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.credit)
    }

    /// Credit charged over all neighbours.
    pub fn charged_total(&self) -> usize {
        self.credit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            max_route_entries: 10,
            max_route_entries_per_neighbour: 4,
            route_credit_pool: 100 << 10,
            route_credit_per_neighbour: 40 << 10,
            route_create_rate: 10,
            route_create_burst: 3,
            ..Config::default()
        }
    }

    fn peer(n: u8) -> Address {
        Address([n; 16])
    }

    #[test]
    fn creates_are_rate_limited_per_neighbour() {
        let mut g = Guard::new(&config());
        let t = Time::ZERO + Duration::from_secs(10);
        // A burst of 3, plus the one the bucket refills at once.
        let admitted = (0..10)
            .filter(|_| g.admit_entry(t, peer(1), 0).is_ok())
            .count();
        assert_eq!(admitted, 4);
        assert_eq!(g.stats.rate, 6);
        // Another neighbour has its own bucket.
        assert!(g.admit_entry(t, peer(2), 0).is_ok());
        // 100 ms later (rate 10/s) one more.
        let later = t + Duration::from_millis(100);
        assert!(g.admit_entry(later, peer(1), 0).is_err());
        assert_eq!(g.stats.peer_entries, 1);
    }

    #[test]
    fn credit_is_drawn_from_the_neighbours_share_and_the_node_pool() {
        let mut g = Guard::new(&config());
        let mut t = Time::ZERO;
        let mut next = || {
            t += Duration::from_secs(1);
            t
        };
        assert!(g.admit_entry(next(), peer(1), 16 << 10).is_ok());
        assert!(g.admit_entry(next(), peer(1), 16 << 10).is_ok());
        // 2 x (16 KiB + entry) held of 40 KiB: a third does not fit.
        assert_eq!(
            g.admit_entry(next(), peer(1), 16 << 10),
            Err(Refusal::PeerCredit)
        );
        // A grow takes what is left, or refuses below what it needs.
        let left = (40 << 10) - 2 * ((16 << 10) + ENTRY_COST);
        assert_eq!(g.grant(peer(1), 1 << 20, 1024), Ok(left));
        assert_eq!(g.grant(peer(1), 1 << 20, 1), Err(Refusal::PeerCredit));
        assert_eq!(g.charged(peer(1)), 40 << 10);
        // Two more neighbours take the node pool (100 KiB) to its end.
        assert_eq!(g.grant(peer(2), 40 << 10, 1), Ok(40 << 10));
        assert_eq!(g.grant(peer(3), 40 << 10, 1), Ok(20 << 10));
        assert_eq!(g.grant(peer(4), 40 << 10, 1), Err(Refusal::NodeCredit));
        // Refunds free both pools, and forget a neighbour with nothing left.
        g.refund(peer(2), 40 << 10, false);
        assert_eq!(g.charged(peer(2)), 0);
        assert_eq!(g.charged_total(), (100 << 10) - (40 << 10));
        g.refund(peer(1), left, false);
        g.refund(peer(1), 16 << 10, true);
        g.refund(peer(1), 16 << 10, true);
        assert_eq!(g.charged(peer(1)), 0);
        g.forget(peer(1));
        assert!(!g.peers.contains_key(&peer(1)));
    }
}
