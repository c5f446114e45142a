//! Polling the node for its next output: events first, tunnels, then each
//! link in turn (round robin), then the next deadline.
//!
//! **Which links are asked.** Only those that may have something to send
//! (`Node::ready`): a link goes in whenever anything changes it (an input
//! for it, its timer, a command, new work for its neighbour from the
//! layers above) and leaves when a poll finds it has nothing. A node with
//! sixty idle tunnels no longer asks all sixty after every keepalive. In
//! debug builds every poll that finds nothing also asks the others, and a
//! link that had something after all is a bug (a panic in the tests).

use std::ops::Bound;

use super::{Node, Parts};
use crate::interface::LinkId;
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
        self.answer_segments();
        while let Some(link) = self.refuse.pop() {
            // The peer proved a key the incoming policy does not accept.
            if let Some((l, _, mut above)) = self.split(link) {
                l.close(now, &mut above);
            }
            self.mark_dirty(link);
        }
        // Once more when an event turned into work for the links (a route
        // set resends what a lost route carried as it hears of the loss).
        let mut repolls = 0;
        loop {
            self.note_upper_work();
            if let Some((link, bytes)) = self.poll_ready(now) {
                return Output::Transmit { link, bytes };
            }
            if self.routes.has_ready_peers() && repolls < 4 {
                // Work queued while the links were polled (a relay's
                // INVOICE, written as its gate pauses a route). Bounded:
                // only new work marks a neighbour, and a poll that finds
                // nothing queues none, so one more pass is the rule.
                repolls += 1;
                continue;
            }
            #[cfg(debug_assertions)]
            self.check_none_missed(now);
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
        // Idle: the event queues give their room back (288 bytes each that
        // every node of a large mesh kept between bursts).
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = Default::default();
        }
        if self.sets.out.is_empty() && self.sets.out.capacity() > 0 {
            self.sets.out = Default::default();
        }
        Output::Timeout(at.unwrap_or(Time::NEVER))
    }
}

impl Node {
    /// The carriers of the neighbours the layers above have new work for.
    fn note_upper_work(&mut self) {
        for c in self.neighbours.take_moved() {
            self.ready.insert(c);
        }
        for peer in self.routes.take_ready_peers() {
            if let Some(c) = self.neighbours.carrier(&peer) {
                self.ready.insert(c);
            }
        }
        for peer in self.discovery.pulses.due_peers() {
            if let Some(c) = self.neighbours.carrier(peer) {
                self.ready.insert(c);
            }
        }
    }

    /// Asks the ready links in turn, starting after the one that sent last
    /// (round robin); a link with nothing to send leaves the set.
    fn poll_ready(&mut self, now: Time) -> Option<(LinkId, Vec<u8>)> {
        let order: Vec<LinkId> = match self.cursor {
            None => self.ready.iter().copied().collect(),
            Some(c) => self
                .ready
                .range((Bound::Excluded(c), Bound::Unbounded))
                .chain(self.ready.range(..=c))
                .copied()
                .collect(),
        };
        let Parts {
            links,
            mut ctx,
            mut above,
            cursor,
            dirty_links,
        } = self.parts();
        let mut idle = Vec::new();
        let mut transmit = None;
        for id in order {
            let Some(l) = links.get_mut(&id) else {
                idle.push(id);
                continue;
            };
            let sent = l.poll_transmit(now, &mut ctx, &mut above);
            if l.take_timers_moved() && l.mark_dirty() {
                dirty_links.push(id);
            }
            match sent {
                Some(bytes) => {
                    *cursor = Some(id);
                    transmit = Some((id, bytes));
                    break;
                }
                None => idle.push(id),
            }
        }
        for id in idle {
            self.ready.remove(&id);
        }
        transmit
    }

    /// Debug builds: no link outside the ready set had anything to send.
    #[cfg(debug_assertions)]
    fn check_none_missed(&mut self, now: Time) {
        let Parts {
            links,
            mut ctx,
            mut above,
            dirty_links,
            ..
        } = self.parts();
        for (&id, l) in links.iter_mut() {
            if l.next_timer(ctx.config).0 <= now {
                // Its timer is due: the driver's next Timeout takes it
                // (and puts the link in the set), at this same instant.
                continue;
            }
            let sent = l.poll_transmit(now, &mut ctx, &mut above);
            // (Data the pacer holds back re-arms the link's timer at every
            // poll; it was armed when the link left the set.)
            if l.take_timers_moved() && l.mark_dirty() {
                dirty_links.push(id);
            }
            assert!(
                sent.is_none(),
                "link {id:?} had something to send but was not ready"
            );
        }
    }
}
