//! Tunnels at run time: links the core asks the driver for, and links
//! other nodes open to this one.
//!
//! The core never opens a socket. It asks with [`Output::OpenTunnel`] (a
//! request id, the peer's key and a locator); the driver answers with
//! [`Input::TunnelOpened`] (the new link, which then handshakes like any
//! other, proving the requested key) or [`Input::TunnelFailed`]. Incoming
//! tunnels arrive as [`Input::IncomingTunnel`] and are accepted or refused
//! here, by the node's policy, not by the driver. When the node is done
//! with a tunnel (it closed, or was refused) it says [`Output::CloseTunnel`]
//! and the driver destroys it.
//!
//! Every tunnel, both ways, and every request still waiting counts against
//! `max_tunnels`, so no peer can make the node hold more.

use std::collections::{BTreeMap, VecDeque};

use crate::config::{Config, IncomingTunnels};
use crate::identity::PublicKey;
use crate::interface::{LinkId, Locator, Output, TunnelRequest};

/// Who opened a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelDirection {
    /// This node asked for it.
    Outgoing,
    /// Another node opened it to this one.
    Incoming,
}

/// Counters of the tunnel layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// Tunnels asked for.
    pub requested: u64,
    /// Tunnels the driver opened for this node.
    pub opened: u64,
    /// Requests the driver could not carry out.
    pub failed: u64,
    /// Incoming tunnels accepted.
    pub accepted: u64,
    /// Incoming tunnels refused (policy, limit, or an unaccepted key).
    pub refused: u64,
    /// Tunnels handed back to the driver to destroy.
    pub closed: u64,
    /// Answers for requests this node does not have (stale or forged by a
    /// buggy driver): ignored.
    pub unknown_answers: u64,
}

/// What the node holds of its tunnels.
#[derive(Debug, Default)]
pub(crate) struct Tunnels {
    /// Requests waiting for the driver's answer: the peer they are for.
    pending: BTreeMap<TunnelRequest, PublicKey>,
    /// Live tunnels and who opened them.
    links: BTreeMap<LinkId, TunnelDirection>,
    next_request: u64,
    outbox: VecDeque<Output>,
    stats: TunnelStats,
}

impl Tunnels {
    /// Incoming tunnels held now.
    pub fn incoming_held(&self) -> usize {
        self.links
            .values()
            .filter(|d| matches!(d, TunnelDirection::Incoming))
            .count()
    }

    fn held(&self) -> usize {
        self.pending.len() + self.links.len()
    }

    /// Asks the driver for a tunnel; `None` at the tunnel limit.
    pub fn request(
        &mut self,
        config: &Config,
        peer: PublicKey,
        locator: Locator,
    ) -> Option<TunnelRequest> {
        if self.held() >= config.max_tunnels {
            return None;
        }
        let request = TunnelRequest(self.next_request);
        self.next_request += 1;
        self.pending.insert(request, peer);
        self.stats.requested += 1;
        self.outbox.push_back(Output::OpenTunnel {
            request,
            peer,
            locator,
        });
        Some(request)
    }

    /// The driver opened `request` as `link`: the key the link must prove.
    pub fn opened(&mut self, request: TunnelRequest, link: LinkId) -> Option<PublicKey> {
        let Some(peer) = self.pending.remove(&request) else {
            self.stats.unknown_answers += 1;
            return None;
        };
        self.links.insert(link, TunnelDirection::Outgoing);
        self.stats.opened += 1;
        Some(peer)
    }

    /// The driver could not open `request`; false if it was not pending.
    pub fn failed(&mut self, request: TunnelRequest) -> bool {
        if self.pending.remove(&request).is_none() {
            self.stats.unknown_answers += 1;
            return false;
        }
        self.stats.failed += 1;
        true
    }

    /// Another node opened `link` to this one: whether it is accepted
    /// (`room`: whether a layer above still takes one, e.g. the tunnel
    /// manager below its `max_peers`). A refused tunnel is handed back to
    /// the driver at once.
    pub fn incoming(
        &mut self,
        config: &Config,
        link: LinkId,
        offered: Option<&PublicKey>,
        room: bool,
    ) -> bool {
        let key_ok = match (&config.incoming_tunnels, offered) {
            (IncomingTunnels::Refuse, _) => false,
            (IncomingTunnels::Keys(keys), Some(k)) => keys.contains(k),
            // Checked once the handshake proves a key (`accepts`).
            _ => true,
        };
        let allowed =
            room && key_ok && self.held() < config.max_tunnels && !self.links.contains_key(&link);
        if !allowed {
            self.refuse(link);
            return false;
        }
        self.links.insert(link, TunnelDirection::Incoming);
        self.stats.accepted += 1;
        true
    }

    /// Whether the policy accepts `peer` on the incoming tunnel `link`.
    pub fn accepts(&self, config: &Config, link: LinkId, peer: &PublicKey) -> bool {
        match (self.links.get(&link), &config.incoming_tunnels) {
            (Some(TunnelDirection::Incoming), IncomingTunnels::Keys(keys)) => keys.contains(peer),
            _ => true,
        }
    }

    /// The peer of the incoming tunnel `link` proved a key the policy
    /// refuses: counted; the link closes and is then handed back.
    pub fn note_refused_peer(&mut self, link: LinkId) {
        if self.links.contains_key(&link) {
            self.stats.refused += 1;
            self.stats.accepted -= 1;
        }
    }

    /// Refuses `link` (counted) and hands it back to the driver.
    /// Never a live tunnel: those close and are handed back by
    /// `on_link_closed`.
    pub fn refuse(&mut self, link: LinkId) {
        self.stats.refused += 1;
        self.stats.closed += 1;
        self.outbox.push_back(Output::CloseTunnel { link });
    }

    /// The link `link` closed for good: a tunnel goes back to the driver.
    pub fn on_link_closed(&mut self, link: LinkId) {
        if self.links.remove(&link).is_some() {
            self.stats.closed += 1;
            self.outbox.push_back(Output::CloseTunnel { link });
        }
    }

    /// The driver took `link` away itself: nothing to hand back.
    pub fn on_link_down(&mut self, link: LinkId) {
        self.links.remove(&link);
    }

    /// Whether `link` is a tunnel, and who opened it.
    pub fn direction(&self, link: LinkId) -> Option<TunnelDirection> {
        self.links.get(&link).copied()
    }

    /// The next request for the driver.
    pub fn pop_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> TunnelStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 33])
    }

    #[test]
    fn requests_answers_and_the_limit() {
        let config = Config {
            max_tunnels: 2,
            ..Config::default()
        };
        let mut t = Tunnels::default();
        let r = t.request(&config, key(1), Locator::Underlay(4)).unwrap();
        assert!(matches!(t.pop_output(), Some(Output::OpenTunnel { request, .. }) if request == r));
        assert!(t.incoming(&config, LinkId(9), None, true));
        // Pending plus live reach the limit: no more either way.
        assert_eq!(t.request(&config, key(2), Locator::Underlay(5)), None);
        assert!(!t.incoming(&config, LinkId(10), None, true));
        assert_eq!(
            t.pop_output(),
            Some(Output::CloseTunnel { link: LinkId(10) })
        );
        assert_eq!(t.opened(r, LinkId(3)), Some(key(1)));
        // A second answer to the same request, or to none, is ignored.
        assert_eq!(t.opened(r, LinkId(4)), None);
        assert!(!t.failed(TunnelRequest(77)));
        assert_eq!(t.stats().unknown_answers, 2);
        t.on_link_closed(LinkId(3));
        assert_eq!(
            t.pop_output(),
            Some(Output::CloseTunnel { link: LinkId(3) })
        );
        // Not a tunnel: nothing to hand back.
        t.on_link_closed(LinkId(3));
        assert_eq!(t.pop_output(), None);
    }

    #[test]
    fn the_key_policy_applies_to_incoming_tunnels_only() {
        let config = Config {
            incoming_tunnels: IncomingTunnels::Keys(vec![key(1)]),
            ..Config::default()
        };
        let mut t = Tunnels::default();
        assert!(t.incoming(&config, LinkId(1), None, true));
        assert!(t.accepts(&config, LinkId(1), &key(1)));
        assert!(!t.accepts(&config, LinkId(1), &key(2)));
        let r = t.request(&config, key(2), Locator::Underlay(0)).unwrap();
        t.opened(r, LinkId(2));
        assert!(t.accepts(&config, LinkId(2), &key(2)));
        let refuse = Config {
            incoming_tunnels: IncomingTunnels::Refuse,
            ..Config::default()
        };
        assert!(!t.incoming(&refuse, LinkId(5), None, true));
        // A key the first INIT claims is judged before any handshake work.
        assert!(!t.incoming(&config, LinkId(6), Some(&key(2)), true));
        assert!(t.incoming(&config, LinkId(7), Some(&key(1)), true));
        assert!(matches!(t.pop_output(), Some(Output::OpenTunnel { .. })));
        assert_eq!(
            t.pop_output(),
            Some(Output::CloseTunnel { link: LinkId(5) })
        );
        assert_eq!(
            t.pop_output(),
            Some(Output::CloseTunnel { link: LinkId(6) })
        );
        assert_eq!(t.pop_output(), None);
    }
}
