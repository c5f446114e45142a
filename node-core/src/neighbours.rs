//! The neighbour table: who is reachable over which links.
//!
//! A peer may be reachable over several links at once (a wifi link and a
//! tunnel to the same node). Layers above the link address a *neighbour*,
//! never a link: the table names, for each neighbour, the one link that
//! carries its traffic now (the *carrier*), and changes it when that link
//! fails or is drained, so the routes through the neighbour move instead of
//! breaking. Only established links are in the table.
//!
//! **Which link carries.** The fastest link that is not draining, by the
//! rate the driver gave it (an interface or tunnel rate; a link without
//! one counts as slower than any with one), the oldest among equals. The
//! choice is made again only when the table changes (a link comes, goes,
//! or starts draining), never per packet, so traffic does not flap: a
//! faster link that comes back takes the traffic back; an equal one does
//! not.

use crate::vec_map::VecMap;

use crate::identity::Address;
use crate::interface::LinkId;

/// One established link to a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Draining links carry only while no other link is up.
    draining: bool,
    /// Order of establishment: the oldest usable link is preferred among
    /// equals (a stable choice, so traffic does not flap between them).
    since: u64,
    /// The link's rate, if the driver gave one.
    rate_bps: Option<u64>,
}

impl Entry {
    /// Preference order: smaller is better.
    fn rank(&self, id: LinkId) -> (bool, std::cmp::Reverse<Option<u64>>, u64, LinkId) {
        (
            self.draining,
            std::cmp::Reverse(self.rate_bps),
            self.since,
            id,
        )
    }
}

#[derive(Debug, Default)]
struct Neighbour {
    links: VecMap<LinkId, Entry>,
    carrier: Option<LinkId>,
}

impl Neighbour {
    /// The best link by [`Entry::rank`]: not draining before draining (a
    /// draining link still works, so it carries when nothing else is up),
    /// then the fastest, then the oldest. The carrier changes only for a
    /// strictly better link.
    fn choose(&mut self) {
        let best = self
            .links
            .iter()
            .min_by_key(|(id, e)| e.rank(**id))
            .map(|(id, e)| (*id, *e));
        let current = self.carrier.and_then(|c| self.links.get(&c));
        // Equal but for age: the current carrier stays.
        let keep = match (current, best) {
            (Some(e), Some((_, b))) => {
                (e.draining, std::cmp::Reverse(e.rate_bps))
                    <= (b.draining, std::cmp::Reverse(b.rate_bps))
            }
            _ => false,
        };
        if !keep {
            self.carrier = best.map(|(id, _)| id);
        }
    }
}

/// What a change to the table did to a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing the layers above need to hear.
    None,
    /// The neighbour became reachable (its first link).
    Reachable(Address),
    /// The neighbour is no longer reachable (its last link went).
    Unreachable(Address),
}

/// A neighbour as status displays see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourInfo {
    /// The neighbour's address.
    pub address: Address,
    /// Its established links, in id order.
    pub links: Vec<NeighbourLink>,
    /// The link that carries its traffic now.
    pub carrier: Option<LinkId>,
}

/// One link to a neighbour, with what was measured on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourLink {
    /// The link.
    pub link: LinkId,
    /// Whether it is draining.
    pub draining: bool,
    /// Its rate as the driver gave it.
    pub rate_bps: Option<u64>,
    /// Its smoothed round-trip time (filled in by the node from the link).
    pub srtt: crate::time::Duration,
    /// Packets it declared lost.
    pub lost: u64,
    /// Datagrams it sent.
    pub sent: u64,
}

/// Every neighbour with at least one established link.
#[derive(Debug, Default)]
pub(crate) struct Neighbours {
    peers: VecMap<Address, Neighbour>,
    by_link: VecMap<LinkId, Address>,
    /// Carrier links and their neighbours: asked at every poll of every
    /// link, so one lookup.
    carrying: VecMap<LinkId, Address>,
    /// Links that became a neighbour's carrier since the node last asked
    /// ([`Self::take_moved`]): the neighbour's queued work is theirs now.
    moved: Vec<LinkId>,
    next_since: u64,
}

impl Neighbours {
    /// Re-chooses `peer`'s carrier and keeps `carrying` in step.
    fn rechoose(&mut self, peer: Address) {
        let Some(n) = self.peers.get_mut(&peer) else {
            return;
        };
        let old = n.carrier;
        n.choose();
        if old != n.carrier {
            if let Some(o) = old {
                self.carrying.remove(&o);
            }
            if let Some(c) = n.carrier {
                self.carrying.insert(c, peer);
                self.moved.push(c);
            }
        }
    }

    /// The links that became a carrier since the last call. Whatever moved
    /// the carrier (a link up, gone, draining, here or at the peer), the
    /// neighbour's queued work must be asked of the new one: the node puts
    /// them in its ready set.
    pub fn take_moved(&mut self) -> Vec<LinkId> {
        std::mem::take(&mut self.moved)
    }

    /// `link` established a session with `peer`. A link still in the
    /// table (its session was replaced) must be removed with
    /// [`Self::link_gone`] first, so that its old neighbour's change is
    /// seen; here it would be silently moved.
    pub fn link_up(&mut self, link: LinkId, peer: Address, rate_bps: Option<u64>) -> Change {
        debug_assert!(!self.by_link.contains_key(&link), "{link} is in the table");
        self.link_gone(link);
        self.by_link.insert(link, peer);
        let since = self.next_since;
        self.next_since += 1;
        let n = self.peers.get_or_insert_with(peer, Neighbour::default);
        let first = n.links.is_empty();
        n.links.insert(
            link,
            Entry {
                draining: false,
                since,
                rate_bps,
            },
        );
        self.rechoose(peer);
        if first {
            Change::Reachable(peer)
        } else {
            Change::None
        }
    }

    /// `link` lost its session (dead, closed, or the driver took it).
    /// Returns what that did to its neighbour; a link not in the table does
    /// nothing.
    pub fn link_gone(&mut self, link: LinkId) -> Change {
        let Some(peer) = self.by_link.remove(&link) else {
            return Change::None;
        };
        let Some(n) = self.peers.get_mut(&peer) else {
            return Change::None;
        };
        n.links.remove(&link);
        if n.links.is_empty() {
            self.peers.remove(&peer);
            self.carrying.remove(&link);
            return Change::Unreachable(peer);
        }
        self.rechoose(peer);
        Change::None
    }

    /// `link` is draining: its neighbour's traffic moves to another link
    /// if there is one.
    pub fn set_draining(&mut self, link: LinkId) {
        let Some(&peer) = self.by_link.get(&link) else {
            return;
        };
        if let Some(e) = self
            .peers
            .get_mut(&peer)
            .and_then(|n| n.links.get_mut(&link))
        {
            e.draining = true;
        }
        self.rechoose(peer);
    }

    /// The neighbour at the other end of an established `link`.
    pub fn peer_of(&self, link: LinkId) -> Option<Address> {
        self.by_link.get(&link).copied()
    }

    /// The link that carries traffic to `peer` now.
    pub fn carrier(&self, peer: &Address) -> Option<LinkId> {
        self.peers.get(peer).and_then(|n| n.carrier)
    }

    /// Whether `peer`'s carrier is draining (it has no other link up).
    pub fn carrier_draining(&self, peer: &Address) -> bool {
        self.peers.get(peer).is_some_and(|n| {
            n.carrier
                .and_then(|c| n.links.get(&c))
                .is_some_and(|e| e.draining)
        })
    }

    /// Established links to `peer`.
    pub fn link_count(&self, peer: &Address) -> usize {
        self.peers.get(peer).map_or(0, |n| n.links.len())
    }

    /// The neighbour whose traffic `link` carries, if it is the carrier.
    pub fn carried_by(&self, link: LinkId) -> Option<Address> {
        self.carrying.get(&link).copied()
    }

    /// Every neighbour, in address order.
    pub fn iter(&self) -> impl Iterator<Item = NeighbourInfo> + '_ {
        self.peers.iter().map(|(a, n)| NeighbourInfo {
            address: *a,
            links: n
                .links
                .iter()
                .map(|(l, e)| NeighbourLink {
                    link: *l,
                    draining: e.draining,
                    rate_bps: e.rate_bps,
                    srtt: crate::time::Duration::ZERO,
                    lost: 0,
                    sent: 0,
                })
                .collect(),
            carrier: n.carrier,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: u8) -> Address {
        Address([b; 16])
    }

    #[test]
    fn carrier_moves_when_a_link_goes_and_the_peer_stays() {
        let mut t = Neighbours::default();
        let (a, l1, l2) = (addr(1), LinkId(1), LinkId(2));
        assert_eq!(t.link_up(l1, a, None), Change::Reachable(a));
        assert_eq!(t.link_up(l2, a, None), Change::None);
        assert_eq!(t.carrier(&a), Some(l1));
        assert_eq!(t.carried_by(l2), None);
        assert_eq!(t.link_gone(l1), Change::None);
        assert_eq!(t.carrier(&a), Some(l2));
        assert_eq!(t.link_gone(l2), Change::Unreachable(a));
        assert_eq!(t.carrier(&a), None);
        assert_eq!(t.link_gone(l2), Change::None);
    }

    #[test]
    fn draining_moves_traffic_only_if_another_link_is_up() {
        let mut t = Neighbours::default();
        let (a, l1, l2) = (addr(1), LinkId(1), LinkId(2));
        t.link_up(l1, a, None);
        t.set_draining(l1);
        // Nothing else: the draining link still carries (it still works).
        assert_eq!(t.carrier(&a), Some(l1));
        t.link_up(l2, a, None);
        assert_eq!(t.carrier(&a), Some(l2));
        t.set_draining(l2);
        // Both draining: the carrier stays (l1 was drained first, so it
        // goes first; moving there would only move again).
        assert_eq!(t.carrier(&a), Some(l2));
    }

    #[test]
    fn a_link_that_comes_back_with_another_peer_moves() {
        let mut t = Neighbours::default();
        let (a, b, l) = (addr(1), addr(2), LinkId(7));
        t.link_up(l, a, None);
        assert_eq!(t.link_gone(l), Change::Unreachable(a));
        assert_eq!(t.link_up(l, b, None), Change::Reachable(b));
        assert_eq!(t.carrier(&a), None);
        assert_eq!(t.peer_of(l), Some(b));
    }

    #[test]
    fn the_fastest_link_carries_and_takes_the_traffic_back() {
        let mut t = Neighbours::default();
        let (a, wifi, tunnel, other) = (addr(1), LinkId(1), LinkId(2), LinkId(3));
        t.link_up(tunnel, a, Some(8_000_000));
        t.link_up(wifi, a, Some(20_000_000));
        assert_eq!(t.carrier(&a), Some(wifi));
        t.link_gone(wifi);
        assert_eq!(t.carrier(&a), Some(tunnel));
        // The wifi link comes back: it is faster, so it carries again.
        t.link_up(wifi, a, Some(20_000_000));
        assert_eq!(t.carrier(&a), Some(wifi));
        // An equal link does not take over, nor one of unknown rate.
        t.link_up(other, a, Some(20_000_000));
        assert_eq!(t.carrier(&a), Some(wifi));
        t.link_gone(other);
        t.link_up(other, a, None);
        assert_eq!(t.carrier(&a), Some(wifi));
        // Draining the fast link moves the traffic to the next best.
        t.set_draining(wifi);
        assert_eq!(t.carrier(&a), Some(tunnel));
    }
}
