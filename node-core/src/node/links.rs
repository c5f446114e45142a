//! A node's links over their life: draining, and tunnels asked of the
//! driver.

use super::Node;
use crate::identity::PublicKey;
use crate::interface::{CommandError, LinkId};
use crate::time::{Duration, Time};
use crate::tunnels::TunnelStats;

impl Node {
    /// Drains a link: it takes no new work, the traffic of its neighbour
    /// moves to another established link to the same peer (make before
    /// break: what is in flight on the drained link is still acknowledged
    /// there, and what it loses goes out on the new one), and it closes as
    /// soon as nothing of its own is in flight, or after `max` at the
    /// latest.
    ///
    /// With no other link to the peer (a tunnel usually is the only one)
    /// the traffic cannot move in place: the link keeps carrying, leaves
    /// our advert (no new path takes it), and every route through the
    /// peer is told (a DRAINING notice to its origin, which builds around
    /// the link and moves first). It closes once no route uses the peer
    /// and nothing is in flight, or at `max`.
    pub fn drain_link(&mut self, link: LinkId, max: Duration) -> Result<(), CommandError> {
        let deadline = self.now + max;
        let l = self
            .links
            .get_mut(&link)
            .ok_or(CommandError::UnknownLink(link))?;
        if !l.start_drain(deadline) {
            return Err(CommandError::LinkClosed(link));
        }
        self.ready.insert(link);
        // The neighbour's traffic may move to another of its links: the
        // neighbour table records the move, and the next poll asks it.
        self.neighbours.set_draining(link);
        self.draining.insert(link);
        if let Some(peer) = self.neighbours.peer_of(link)
            && self.neighbours.carrier(&peer) == Some(link)
        {
            self.routes.tell_draining(peer);
            self.discovery.on_neighbour_changed(self.now);
        }
        Ok(())
    }

    /// Asks the driver for a tunnel to `peer` at `locator`
    /// ([`Output::OpenTunnel`]). Once the driver opened it, it is a link
    /// like any other, on which `peer` must prove its key. Closing it
    /// ([`Node::close`], or draining) hands it back to the driver
    /// ([`Output::CloseTunnel`]).
    pub fn open_tunnel(
        &mut self,
        peer: PublicKey,
        locator: crate::interface::Locator,
    ) -> Result<crate::interface::TunnelRequest, CommandError> {
        self.tunnels
            .request(&self.config, peer, locator)
            .ok_or(CommandError::TooManyTunnels(self.config.max_tunnels))
    }

    /// Counters of the tunnel layer.
    pub fn tunnel_stats(&self) -> TunnelStats {
        self.tunnels.stats()
    }

    /// Whether `link` is a tunnel, and who opened it.
    pub fn tunnel(&self, link: LinkId) -> Option<crate::tunnels::TunnelDirection> {
        self.tunnels.direction(link)
    }

    /// Closes every draining link that no longer carries anything.
    pub(super) fn close_idle_drained(&mut self, now: Time) {
        if self.draining.is_empty() {
            return;
        }
        let draining: Vec<LinkId> = self.draining.iter().copied().collect();
        for link in draining {
            // The carrier of its neighbour stays while routes use the
            // neighbour (their origins were told, and move first).
            let carrier = self
                .neighbours
                .carried_by(link)
                .is_some_and(|peer| self.routes.count_through(peer) > 0);
            let Some((l, _, mut above)) = self.split(link) else {
                self.draining.remove(&link);
                continue;
            };
            if !l.is_draining() {
                // Closed, dead or replaced meanwhile: nothing to drain.
                self.draining.remove(&link);
            } else if !carrier && l.is_idle() {
                l.close(now, &mut above);
                self.draining.remove(&link);
                self.mark_dirty(link);
            }
        }
    }

    /// Fuzzing only: seals `plaintext` (any bytes, frames or not) as this
    /// node's next packet on `link`'s live session, as a hostile but
    /// authenticated peer could. `None` without a session.
    #[cfg(feature = "fuzzing-hooks")]
    pub fn fuzz_seal(&mut self, link: LinkId, plaintext: &[u8]) -> Option<Vec<u8>> {
        let suite = self.config.suite.suite();
        self.links.get_mut(&link)?.seal_raw(suite, plaintext)
    }
}
