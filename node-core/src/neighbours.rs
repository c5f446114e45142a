//! The neighbour table: who is reachable over which links.
//!
//! A peer may be reachable over several links at once (a wifi link and a
//! tunnel to the same node). Layers above the link address a *neighbour*,
//! never a link: the table names, for each neighbour, the one link that
//! carries its traffic now (the *carrier*), and changes it when that link
//! fails or is drained, so the routes through the neighbour move instead of
//! breaking. Only established links are in the table.

use std::collections::BTreeMap;

use crate::identity::Address;
use crate::interface::LinkId;

/// One established link to a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Draining links carry only while no other link is up.
    draining: bool,
    /// Order of establishment: the oldest usable link is preferred (a
    /// stable choice, so traffic does not flap between equal links).
    since: u64,
}

#[derive(Debug, Default)]
struct Neighbour {
    links: BTreeMap<LinkId, Entry>,
    carrier: Option<LinkId>,
}

impl Neighbour {
    /// Keeps the carrier while it is usable; otherwise the oldest link that
    /// is not draining, or (as a last resort: a draining link still works)
    /// the oldest draining one.
    fn choose(&mut self) {
        if let Some(c) = self.carrier
            && self.links.get(&c).is_some_and(|e| !e.draining)
        {
            return;
        }
        let best = |draining: bool| {
            self.links
                .iter()
                .filter(|(_, e)| e.draining == draining)
                .min_by_key(|(id, e)| (e.since, **id))
                .map(|(id, _)| *id)
        };
        self.carrier = best(false).or_else(|| best(true));
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
    /// Its established links, in id order, with whether each is draining.
    pub links: Vec<(LinkId, bool)>,
    /// The link that carries its traffic now.
    pub carrier: Option<LinkId>,
}

/// Every neighbour with at least one established link.
#[derive(Debug, Default)]
pub(crate) struct Neighbours {
    peers: BTreeMap<Address, Neighbour>,
    by_link: BTreeMap<LinkId, Address>,
    /// Carrier links and their neighbours: asked at every poll of every
    /// link, so one lookup.
    carrying: BTreeMap<LinkId, Address>,
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
            }
        }
    }

    /// `link` established a session with `peer`. A link still in the
    /// table (its session was replaced) must be removed with
    /// [`Self::link_gone`] first, so that its old neighbour's change is
    /// seen; here it would be silently moved.
    pub fn link_up(&mut self, link: LinkId, peer: Address) -> Change {
        debug_assert!(!self.by_link.contains_key(&link), "{link} is in the table");
        self.link_gone(link);
        self.by_link.insert(link, peer);
        let since = self.next_since;
        self.next_since += 1;
        let n = self.peers.entry(peer).or_default();
        let first = n.links.is_empty();
        n.links.insert(
            link,
            Entry {
                draining: false,
                since,
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

    /// The neighbour whose traffic `link` carries, if it is the carrier.
    pub fn carried_by(&self, link: LinkId) -> Option<Address> {
        self.carrying.get(&link).copied()
    }

    /// Every neighbour, in address order.
    pub fn iter(&self) -> impl Iterator<Item = NeighbourInfo> + '_ {
        self.peers.iter().map(|(a, n)| NeighbourInfo {
            address: *a,
            links: n.links.iter().map(|(l, e)| (*l, e.draining)).collect(),
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
        assert_eq!(t.link_up(l1, a), Change::Reachable(a));
        assert_eq!(t.link_up(l2, a), Change::None);
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
        t.link_up(l1, a);
        t.set_draining(l1);
        // Nothing else: the draining link still carries (it still works).
        assert_eq!(t.carrier(&a), Some(l1));
        t.link_up(l2, a);
        assert_eq!(t.carrier(&a), Some(l2));
        t.set_draining(l2);
        // Both draining: the older one.
        assert_eq!(t.carrier(&a), Some(l1));
    }

    #[test]
    fn a_link_that_comes_back_with_another_peer_moves() {
        let mut t = Neighbours::default();
        let (a, b, l) = (addr(1), addr(2), LinkId(7));
        t.link_up(l, a);
        assert_eq!(t.link_gone(l), Change::Unreachable(a));
        assert_eq!(t.link_up(l, b), Change::Reachable(b));
        assert_eq!(t.carrier(&a), None);
        assert_eq!(t.peer_of(l), Some(b));
    }
}
