//! The node's one timer table.
//!
//! Every owner of timers (each link, each route, and later the discovery,
//! churn and payment layers) has one entry: the earliest of its own
//! deadlines. Owners keep deriving their deadlines from their state (a
//! timer can never be left armed by a forgotten path); what changes is
//! who asks. The node recomputes an owner's entry only when the owner was
//! touched (an input reached it, it sent, its state moved), so keeping the
//! table costs O(log n) per touched owner, and the next deadline is the
//! table's first entry.

use std::collections::{BTreeMap, BTreeSet};

use crate::interface::LinkId;
use crate::time::Time;

/// Who a timer belongs to. The order is the firing order of owners that
/// are due at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Owner {
    /// A link's timers.
    Link(LinkId),
    /// A route entry's timers.
    Route(u64),
    /// The connections' next new route.
    Connections,
    /// The discovery layer: its next advert, the database's next expiry.
    Discovery,
    /// Route sets: failure detection, probes, rebuilding.
    Sets,
    /// The tunnel manager: its next refresh or top-up.
    Churn,
}

/// Each owner's earliest deadline, ordered by time.
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    by_time: BTreeSet<(Time, Owner)>,
    at: BTreeMap<Owner, Time>,
}

impl TimerTable {
    /// Sets `owner`'s earliest deadline; `Time::NEVER` removes it.
    pub fn set(&mut self, owner: Owner, at: Time) {
        if at == Time::NEVER {
            self.remove(owner);
            return;
        }
        if let Some(old) = self.at.insert(owner, at) {
            if old == at {
                return;
            }
            self.by_time.remove(&(old, owner));
        }
        self.by_time.insert((at, owner));
    }

    /// Forgets `owner`.
    pub fn remove(&mut self, owner: Owner) {
        if let Some(old) = self.at.remove(&owner) {
            self.by_time.remove(&(old, owner));
        }
    }

    /// The earliest deadline and its owner.
    pub fn next(&self) -> Option<(Time, Owner)> {
        self.by_time.first().copied()
    }

    /// Every owner due at `now`, in firing order.
    pub fn due(&self, now: Time) -> Vec<Owner> {
        self.by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|&(_, o)| o)
            .collect()
    }

    /// The deadline recorded for `owner`.
    #[cfg(test)]
    pub fn get(&self, owner: Owner) -> Time {
        self.at.get(&owner).copied().unwrap_or(Time::NEVER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_owner_in_time_order() {
        let mut t = TimerTable::default();
        let (a, b) = (Owner::Link(LinkId(1)), Owner::Route(7));
        t.set(a, Time::from_nanos(50));
        t.set(b, Time::from_nanos(20));
        assert_eq!(t.next(), Some((Time::from_nanos(20), b)));
        t.set(b, Time::from_nanos(90));
        assert_eq!(t.next(), Some((Time::from_nanos(50), a)));
        assert_eq!(t.due(Time::from_nanos(89)), vec![a]);
        assert_eq!(t.due(Time::from_nanos(90)), vec![a, b]);
        t.set(a, Time::NEVER);
        assert_eq!(t.next(), Some((Time::from_nanos(90), b)));
        t.remove(b);
        assert_eq!(t.next(), None);
        assert_eq!(t.get(a), Time::NEVER);
    }
}
