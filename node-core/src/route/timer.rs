//! The timers of route entries: each entry's earliest deadline, asked for
//! by the node's one timer table, and what firing one does.
//!
//! Deadlines are derived from an entry's state. The route layer notes which
//! entries it touched (`touch`), so the node recomputes only those.

use super::{ExtendFailure, FORWARD, Routes};
use crate::interface::{RouteCloseReason, RouteFailure};
use crate::time::Time;
use crate::wire::ControlMessage;

/// A timer of a route entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteTimer {
    /// Nothing crossed the route for `route_idle_timeout`.
    Idle,
    /// The origin's route was not built in time.
    Setup,
    /// A hop's extension to the next hop was not answered in time.
    Extend,
    /// A delayed end-to-end acknowledgement is due.
    EndToEndAck,
    /// The end-to-end baseline's retransmission timeout.
    Retransmit,
}

impl Routes {
    /// Notes that entry `h`'s deadlines may have moved.
    pub(super) fn touch(&mut self, h: u64) {
        if let Some(r) = self.routes.get_mut(&h)
            && !r.timer_dirty
        {
            r.timer_dirty = true;
            self.dirty.push(h);
        }
    }

    /// Notes that entry `h` is gone (its timers with it).
    pub(super) fn forget_timers(&mut self, h: u64) {
        self.dirty.push(h);
    }

    /// Calls `f(h, deadline)` for every entry whose earliest deadline
    /// changed since the last call (`Time::NEVER` for an entry that is
    /// gone), and forgets which were touched.
    pub fn refresh_dirty(&mut self, mut f: impl FnMut(u64, Time)) {
        let mut dirty = core::mem::take(&mut self.dirty);
        for &h in &dirty {
            let at = self.deadline(h).map_or(Time::NEVER, |(t, _)| t);
            match self.routes.get_mut(&h) {
                Some(r) => {
                    r.timer_dirty = false;
                    if r.table_at != at {
                        r.table_at = at;
                        f(h, at);
                    }
                }
                None => f(h, Time::NEVER),
            }
        }
        // Keep the allocation for next time.
        dirty.clear();
        self.dirty = dirty;
    }

    /// Entry `h`'s earliest deadline and which timer it is (`None` if the
    /// entry is gone). On a tie the first in `RouteTimer` order.
    pub fn deadline(&self, h: u64) -> Option<(Time, RouteTimer)> {
        let r = self.routes.get(&h)?;
        let mut t = (r.idle_check, RouteTimer::Idle);
        let mut consider = |at: Time, timer: RouteTimer| {
            if at < t.0 {
                t = (at, timer);
            }
        };
        if let Some(b) = r.role.building() {
            consider(b.deadline, RouteTimer::Setup);
        }
        if let Some(x) = r.role.extending() {
            consider(x.deadline, RouteTimer::Extend);
        }
        if let Some(e) = r.role.endpoint() {
            consider(e.ack_due.unwrap_or(Time::NEVER), RouteTimer::EndToEndAck);
            if let Some(reno) = &e.reno {
                consider(reno.timer(), RouteTimer::Retransmit);
            }
        }
        Some(t)
    }

    /// Fires what is due of entry `h`.
    pub fn fire(&mut self, now: Time, h: u64) {
        self.touch(h);
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        if r.idle_check <= now {
            let idle_at = r.last_activity + self.idle_timeout;
            if idle_at <= now {
                self.teardown(h, RouteCloseReason::Idle, None);
                return;
            }
            r.idle_check = idle_at;
        }
        if r.role.building().is_some_and(|b| b.deadline <= now) {
            // Still waiting for the first hop's link: there is none.
            let why = if r.down.is_none() {
                RouteFailure::NoLink(0)
            } else {
                RouteFailure::Timeout
            };
            self.fail_setup(h, why);
            return;
        }
        if r.role.extending().is_some_and(|x| x.deadline <= now) {
            let hop = r.role.hop_mut().expect("extending hops are hops");
            let x = hop.extending.take().expect("checked");
            let why = match x.sent {
                Some(key) => {
                    self.inbound.remove(&key);
                    ExtendFailure::NoAnswer
                }
                None => ExtendFailure::NoLink,
            };
            self.reply_to_origin(h, ControlMessage::ExtendFailed(why));
            return;
        }
        let Some(e) = r.role.endpoint_mut() else {
            return;
        };
        if e.ack_due.is_some_and(|t| t <= now) {
            self.send_e2e_ack(h);
        }
        let r = self.routes.get_mut(&h).expect("still there");
        let Some(e) = r.role.endpoint_mut() else {
            return;
        };
        if let Some(reno) = e.reno.as_mut()
            && reno.timer() <= now
        {
            reno.on_timeout(now);
            let (class, peer) = (r.class, r.down.expect("origins have a first hop").peer);
            self.activate(peer, class, h, FORWARD);
        }
    }
}
