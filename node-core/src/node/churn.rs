//! The node's side of the tunnel manager (see [`crate::churn`]): what it
//! needs from the links, the routes and the topology database.

use super::Node;
use crate::churn::manager::TOP_UP_EVERY;
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

impl Node {
    /// The tunnel manager's timer: a refresh when it is due, then topping
    /// the tunnels up to `tunnels_per_node`.
    pub(super) fn fire_churn(&mut self, now: Time) {
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        let links = &self.links;
        m.ours.retain(|l, _| {
            links
                .get(l)
                .is_some_and(|x| x.state() != crate::LinkState::Closed)
        });
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
        let views: Vec<TunnelView> = ours
            .iter()
            .map(|&(l, peer)| {
                let info = self.links.get(&l).map(|x| x.info(l));
                let sent = info.as_ref().map_or(0, |i| i.stats.bytes_sent);
                TunnelView {
                    peer,
                    rtt_us: info.map_or(u64::MAX, |i| i.srtt.as_nanos() / 1000),
                    used_bytes: sent.saturating_sub(m.used_mark.get(&l).copied().unwrap_or(0)),
                    routed_nodes: self.routes.count_through(peer),
                }
            })
            .collect();
        let chosen = churn::to_destroy(&m.config, &views, &mut m.rng);
        let (drain, drain_max) = (m.config.drain, m.config.drain_max);
        for i in chosen {
            let (link, peer) = ours[i];
            let m = self.churn.as_mut().expect("checked above");
            m.ours.remove(&link);
            m.used_mark.remove(&link);
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

    /// Opens tunnels to random peers of the database until the manager
    /// holds `tunnels_per_node` (or has none left to ask).
    fn top_up_tunnels(&mut self, now: Time) {
        let Some(m) = self.churn.as_mut() else {
            return;
        };
        m.next_top_up = now + TOP_UP_EVERY;
        let need = m.missing();
        if need == 0 {
            return;
        }
        let known = reachable(&self.discovery.db);
        let mut exclude = m.busy_peers(now);
        exclude.extend(self.neighbours.iter().map(|n| n.address));
        let addresses: Vec<Address> = known.iter().map(|k| k.0).collect();
        let me = self.identity.address();
        let drawn = churn::draw_peers(&m.config, me, &addresses, &[], &exclude, need, &mut m.rng);
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

    /// The tunnel manager's counters (`None` without churn).
    pub fn churn_stats(&self) -> Option<ChurnStats> {
        self.churn.as_ref().map(|m| m.stats)
    }

    /// The tunnels the manager holds now: (link, peer).
    pub fn churn_tunnels(&self) -> Vec<(crate::LinkId, Address)> {
        self.churn
            .as_ref()
            .map_or_else(Vec::new, |m| m.ours.iter().map(|(l, a)| (*l, *a)).collect())
    }
}
