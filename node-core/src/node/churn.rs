//! The node's side of the tunnel manager (see [`crate::churn`]): what it
//! needs from the links, the routes and the topology database.

use std::collections::{BTreeMap, VecDeque};

use super::Node;
use crate::churn::manager::{AUDIT_EVERY, ESTABLISH_TIMEOUT, TOP_UP_EVERY};
use crate::churn::{self, ChurnStats, TunnelView};
use crate::discovery::db::TopologyDb;
use crate::identity::{Address, PublicKey};
use crate::interface::{Event, Locator};
use crate::time::Time;
use crate::wire::AdvertLocator;

/// Peers the database knows how to reach by tunnel: (address, key,
/// locator), in address order.
fn reachable(db: &TopologyDb) -> Vec<(Address, PublicKey, Locator)> {
    db.origins()
        .filter_map(|(a, key)| {
            let loc = db.locators(&a).into_iter().next()?;
            let loc = match loc {
                AdvertLocator::Underlay(i) => Locator::Underlay(i),
                AdvertLocator::Socket(s) => Locator::Socket(s),
            };
            Some((a, key, loc))
        })
        .collect()
}

/// re6st's heuristic's count: for each neighbour of `me`, the nodes whose
/// shortest path (fewest hops on the database's two-way links; ties to
/// the neighbour first reached, in address order) starts with it.
fn routed_through(db: &TopologyDb, me: Address) -> BTreeMap<Address, usize> {
    let mut adj: BTreeMap<Address, Vec<Address>> = BTreeMap::new();
    for (a, b, _) in db.links() {
        adj.entry(a).or_default().push(b);
    }
    let mut first: BTreeMap<Address, Address> = BTreeMap::new();
    let mut queue: VecDeque<Address> = VecDeque::new();
    for &n in adj.get(&me).map_or(&[][..], |v| v.as_slice()) {
        if first.insert(n, n).is_none() {
            queue.push_back(n);
        }
    }
    while let Some(v) = queue.pop_front() {
        let via = first[&v];
        for &w in adj.get(&v).map_or(&[][..], |x| x.as_slice()) {
            if w != me && !first.contains_key(&w) {
                first.insert(w, via);
                queue.push_back(w);
            }
        }
    }
    let mut count: BTreeMap<Address, usize> = BTreeMap::new();
    for via in first.values() {
        *count.entry(*via).or_default() += 1;
    }
    count
}

impl Node {
    /// The tunnel manager's timer: a refresh when it is due, then topping
    /// the tunnels up to `tunnels_per_node`.
    pub(super) fn fire_churn(&mut self, now: Time) {
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        let links = &self.links;
        let gone: Vec<crate::LinkId> = m
            .ours
            .keys()
            .filter(|l| {
                links
                    .get(l)
                    .is_none_or(|x| x.state() == crate::LinkState::Closed)
            })
            .copied()
            .collect();
        for l in gone {
            m.forget(l);
        }
        // A tunnel that died (no answer for `dead_interval`: its underlay
        // path failed) carries nothing: it is closed and replaced, as
        // re6st restarts a tunnel whose pings stop. One that never came up
        // is given up the same way, and its peer rests.
        let stuck: Vec<(crate::LinkId, bool)> = m
            .ours
            .keys()
            .filter_map(|l| match links.get(l).map(|x| x.state()) {
                Some(crate::LinkState::Dead) => Some((*l, false)),
                Some(crate::LinkState::Establishing)
                    if m.since
                        .get(l)
                        .is_some_and(|&t| now >= t + ESTABLISH_TIMEOUT) =>
                {
                    Some((*l, true))
                }
                _ => None,
            })
            .collect();
        for (link, never_up) in stuck {
            let m = self.churn.as_mut().expect("checked above");
            if let Some(peer) = m.forget(link) {
                if never_up {
                    m.stats.refused += 1;
                    m.note_failed(now, peer);
                } else {
                    m.stats.lost += 1;
                }
            }
            let _ = self.close(link);
            self.mark_dirty(link);
        }
        // Two tunnels between one pair (each end drew the other at once):
        // one is redundant. The end with the higher address gives its own
        // up, drained onto the other (the one case where draining moves
        // the traffic in place), and draws another peer.
        let me = self.identity.address();
        let m = self.churn.as_ref().expect("checked above");
        let twice: Vec<crate::LinkId> = m
            .ours
            .iter()
            .filter(|&(l, p)| {
                me > *p
                    && self.neighbours.link_count(p) > 1
                    && self.neighbours.peer_of(*l) == Some(*p)
            })
            .map(|(l, _)| *l)
            .collect();
        let drain_max = m.config.drain_max;
        for link in twice {
            if self.drain_link(link, drain_max).is_err() {
                let _ = self.close(link);
            }
            let m = self.churn.as_mut().expect("checked above");
            m.forget(link);
            m.stats.duplicates += 1;
            m.next_top_up = now;
            self.mark_dirty(link);
        }
        let m = self.churn.as_mut().expect("checked above");
        if now >= m.next_refresh {
            self.refresh_tunnels(now);
        }
        self.top_up_tunnels(now);
    }

    /// Destroys the share of its tunnels the policy chooses. The
    /// exception: one that carries routes is drained (its traffic moves to
    /// another link of the neighbour if there is one; it closes when idle,
    /// or at `drain_max`), unless draining is off.
    fn refresh_tunnels(&mut self, now: Time) {
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        m.next_refresh = now + m.config.refresh;
        m.stats.refreshes += 1;
        let ours: Vec<(crate::LinkId, Address)> = m.ours.iter().map(|(l, a)| (*l, *a)).collect();
        // With adverts, "routes" are the database's (as babel's in
        // re6st); without, the source routes through the peer.
        let routed = (m.config.policy == churn::Policy::FewestRoutes
            && self.config.discovery.is_some())
        .then(|| routed_through(&self.discovery.db, self.identity.address()));
        let views: Vec<TunnelView> = ours
            .iter()
            .map(|&(l, peer)| {
                let info = self.links.get(&l).map(|x| x.info(l));
                let sent = info.as_ref().map_or(0, |i| i.stats.bytes_sent);
                TunnelView {
                    peer,
                    rtt_us: info.map_or(u64::MAX, |i| i.srtt.as_nanos() / 1000),
                    used_bytes: sent.saturating_sub(m.used_mark.get(&l).copied().unwrap_or(0)),
                    routed_nodes: match &routed {
                        Some(r) => r.get(&peer).copied().unwrap_or(0),
                        None => self.routes.count_through(peer),
                    },
                }
            })
            .collect();
        let chosen = churn::to_destroy(&m.config, &views, &mut m.rng);
        let (drain, drain_max) = (m.config.drain, m.config.drain_max);
        for i in chosen {
            let (link, peer) = ours[i];
            let m = self.churn.as_mut().expect("checked above");
            m.forget(link);
            if drain
                && self.routes.count_through(peer) > 0
                && self.drain_link(link, drain_max).is_ok()
            {
                self.churn.as_mut().expect("checked").stats.drained += 1;
            } else {
                let _ = self.close(link);
                self.churn.as_mut().expect("checked").stats.destroyed += 1;
            }
            self.mark_dirty(link);
        }
        let m = self.churn.as_mut().expect("checked above");
        for (l, _) in &ours {
            if m.ours.contains_key(l)
                && let Some(x) = self.links.get(l)
            {
                m.used_mark.insert(*l, x.stats().bytes_sent);
            }
        }
    }

    /// Opens tunnels to random peers it knows (the topology database's
    /// origins with a locator, and what the driver offered) until the
    /// manager holds `tunnels_per_node`; asks the driver for candidates
    /// when it knows too few (re6st: the registry at bootstrap).
    pub(super) fn top_up_tunnels(&mut self, now: Time) {
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        let need = m.missing();
        if need == 0 {
            m.next_top_up = now + AUDIT_EVERY;
            return;
        }
        m.next_top_up = now + TOP_UP_EVERY;
        let mut known = reachable(&self.discovery.db);
        for &(a, key, loc) in &m.offered {
            if let Err(i) = known.binary_search_by_key(&a, |k| k.0) {
                known.insert(i, (a, key, loc));
            }
        }
        let mut exclude = m.busy_peers(now);
        exclude.extend(self.neighbours.iter().map(|n| n.address));
        let addresses: Vec<Address> = known.iter().map(|k| k.0).collect();
        let me = self.identity.address();
        let drawn = churn::draw_peers(&m.config, me, &addresses, &[], &exclude, need, &mut m.rng);
        // Drawn candidates leave the pool; so do those not usable now
        // (ours already, or failed lately): fresh ones are asked for.
        m.offered
            .retain(|o| !drawn.contains(&o.0) && !exclude.contains(&o.0));
        if drawn.len() < need && m.asked.is_none_or(|t| now >= t + TOP_UP_EVERY) {
            m.want = need - drawn.len();
            m.asked = Some(now);
        }
        for a in drawn {
            let Ok(i) = known.binary_search_by_key(&a, |k| k.0) else {
                continue;
            };
            let (_, key, loc) = known[i];
            match self.open_tunnel(key, loc) {
                Ok(request) => {
                    let m = self.churn.as_mut().expect("checked above");
                    m.pending.insert(request, a);
                    m.stats.requested += 1;
                    self.events.push_back(Event::TunnelRequested { request });
                }
                Err(_) => break,
            }
        }
    }

    /// The driver offered candidates: into the pool, and tunnels to them
    /// at once if some are missing.
    pub(super) fn peers_offered(
        &mut self,
        now: Time,
        peers: Vec<(PublicKey, crate::interface::Locator)>,
    ) {
        let me = self.identity.address();
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        m.offer(me, peers);
        if m.missing() > 0 {
            self.top_up_tunnels(now);
        }
    }

    /// `link` went down: if it is one of the manager's, it is replaced at
    /// the next top-up; one that never came up counts as refused, and its
    /// peer is not asked again for a while.
    pub(super) fn churn_link_down(&mut self, now: Time, link: crate::LinkId) {
        let state = self.links.get(&link).map(|l| l.state());
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        let Some(peer) = m.forget(link) else {
            return;
        };
        // Replaced soon, not at the next audit.
        m.next_top_up = m.next_top_up.min(now + TOP_UP_EVERY);
        if matches!(state, Some(crate::LinkState::Establishing)) {
            m.stats.refused += 1;
            m.note_failed(now, peer);
        } else {
            m.stats.lost += 1;
        }
    }

    /// Whether an incoming tunnel may be accepted: fewer than `max_peers`
    /// incoming ones are held (counted when not).
    pub(super) fn churn_accepts_incoming(&mut self) -> bool {
        let held = self.tunnels.incoming_held();
        let Some(m) = self.churn.as_mut() else {
            return true;
        };
        if held >= m.config.max_peers {
            m.stats.refused_incoming += 1;
            return false;
        }
        true
    }

    /// The tunnel manager's counters (`None` without churn).
    pub fn churn_stats(&self) -> Option<ChurnStats> {
        let forced = self.stats().links.drains_forced;
        self.churn
            .as_ref()
            .map(|m| ChurnStats { forced, ..m.stats })
    }

    /// The tunnels the manager holds now: (link, peer).
    pub fn churn_tunnels(&self) -> Vec<(crate::LinkId, Address)> {
        self.churn
            .as_ref()
            .map_or_else(Vec::new, |m| m.ours.iter().map(|(l, a)| (*l, *a)).collect())
    }
}
