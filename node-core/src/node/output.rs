//! Polling the node for its next output: events first, tunnels, then each
//! link in turn (round robin), then the next deadline.

use std::ops::Bound;

use super::{Node, Parts};
use crate::interface::Output;
use crate::time::Time;

impl Node {
    /// The next output. Call until it returns [`Output::Timeout`].
    pub fn poll_output(&mut self, now: Time) -> Output {
        let now = self.advance(now);
        if let Some(e) = self.next_event(now) {
            return Output::Event(e);
        }
        if let Some(o) = self.tunnels.pop_output() {
            if let Output::CloseTunnel { link } = o {
                // The driver destroys the tunnel: the node is done with it.
                self.forget_link(link);
            }
            return o;
        }
        if let Some(m) = self.churn.as_mut()
            && m.want > 0
        {
            let count = core::mem::take(&mut m.want);
            m.stats.peers_asked += count as u64;
            return Output::WantPeers { count };
        }
        self.close_idle_drained(now);
        self.pump_discovery(now);
        while let Some(link) = self.refuse.pop() {
            // The peer proved a key the incoming policy does not accept.
            if let Some((l, _, mut above)) = self.split(link) {
                l.close(now, &mut above);
            }
            self.mark_dirty(link);
        }
        // Once more when an event turned into work for the links (a route
        // set resends what a lost route carried as it hears of the loss).
        loop {
            let Parts {
                links,
                mut ctx,
                mut above,
                cursor,
                dirty_links,
            } = self.parts();
            // Round robin: start after the link that sent last.
            let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
            let mut transmit = None;
            for (&id, l) in links.range_mut((start, Bound::Unbounded)) {
                let sent = l.poll_transmit(now, &mut ctx, &mut above);
                if l.take_timers_moved() && l.mark_dirty() {
                    dirty_links.push(id);
                }
                if let Some(bytes) = sent {
                    transmit = Some((id, bytes));
                    break;
                }
            }
            if transmit.is_none()
                && let Some(c) = *cursor
            {
                for (&id, l) in links.range_mut(..=c) {
                    let sent = l.poll_transmit(now, &mut ctx, &mut above);
                    if l.take_timers_moved() && l.mark_dirty() {
                        dirty_links.push(id);
                    }
                    if let Some(bytes) = sent {
                        transmit = Some((id, bytes));
                        break;
                    }
                }
            }
            if let Some((link, bytes)) = transmit {
                *cursor = Some(link);
                return Output::Transmit { link, bytes };
            }
            if let Some(e) = self.next_event(now) {
                return Output::Event(e);
            }
            if !self.sets.take_pumped() {
                break;
            }
        }
        self.refresh_timers();
        let (at, owner) = self.timers.next().unzip();
        self.last_timeout = owner;
        Output::Timeout(at.unwrap_or(Time::NEVER))
    }
}
