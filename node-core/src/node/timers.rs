//! Keeping the node's one timer table up to date.

use super::Node;
use crate::interface::LinkId;
use crate::time::Time;
use crate::timers::Owner;

impl Node {
    /// Notes that `link`'s deadlines may have moved.
    pub(super) fn mark_dirty(&mut self, link: LinkId) {
        // A link that is gone is listed too: its entry must go.
        if self.links.contains_key(&link) {
            self.ready.insert(link);
        }
        if self.links.get_mut(&link).is_none_or(|l| l.mark_dirty()) {
            self.dirty_links.push(link);
        }
    }

    /// Brings the entries of every touched owner up to date.
    pub(super) fn refresh_timers(&mut self) {
        let timers = &mut self.timers;
        let at = self.connections.deadline();
        if at != self.connections.table_at {
            self.connections.table_at = at;
            timers.set(Owner::Connections, at);
        }
        if let Some(m) = self.churn.as_mut() {
            let at = m.deadline();
            if at != m.table_at {
                m.table_at = at;
                timers.set(Owner::Churn, at);
            }
        }
        let at = self.sets.deadline(&self.config.sets);
        if at != self.sets.table_at {
            self.sets.table_at = at;
            timers.set(Owner::Sets, at);
        }
        let at = self.discovery.deadline();
        if at != self.discovery.table_at {
            self.discovery.table_at = at;
            timers.set(Owner::Discovery, at);
        }
        self.routes
            .refresh_dirty(|h, at| timers.set(Owner::Route(h), at));
        for id in self.dirty_links.drain(..) {
            match self.links.get_mut(&id) {
                Some(l) => {
                    l.clear_dirty();
                    let at = l.next_timer(&self.config).0;
                    if at != l.table_at {
                        l.table_at = at;
                        timers.set(Owner::Link(id), at);
                    }
                }
                None => timers.set(Owner::Link(id), Time::NEVER),
            }
        }
    }

    /// Tests: the table's next deadline and the one recomputed from every
    /// owner's state, after a refresh.
    #[cfg(test)]
    pub(crate) fn check_timers(&mut self) -> (Time, Time) {
        self.refresh_timers();
        let table = self.timers.next().map_or(Time::NEVER, |(t, _)| t);
        let mut truth = Time::NEVER;
        for l in self.links.values() {
            truth = truth.min(l.next_timer(&self.config).0);
        }
        truth = truth.min(self.connections.deadline());
        truth = truth.min(self.discovery.deadline());
        truth = truth.min(self.sets.deadline(&self.config.sets));
        truth = truth.min(self.churn.as_ref().map_or(Time::NEVER, |m| m.deadline()));
        for h in self.routes.handles() {
            truth = truth.min(self.routes.deadline(h.0).map_or(Time::NEVER, |(t, _)| t));
        }
        for (&id, l) in &self.links {
            assert_eq!(
                self.timers.get(Owner::Link(id)),
                l.next_timer(&self.config).0,
                "{id}"
            );
        }
        (table, truth)
    }
}
