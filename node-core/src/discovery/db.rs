//! A node's topology database: the latest verified advert of every origin
//! it heard of, aged out when their lifetimes end.
//!
//! An origin's advert replaces the one held if its sequence number is
//! higher; the parts of one sequence number fill in one by one (each is
//! verified on its own). A link is in the graph only when both of its ends
//! advertise it (the two-way check), so one node cannot invent links to
//! others. Bounds a peer cannot push past, each refusal counted: at most
//! [`DbLimits::max_origins`] origins (a new one past that is refused, not
//! swapped in: a flood of fresh keys cannot evict the origins already
//! known), one new sequence number per origin per
//! [`DbLimits::min_update_interval`] on average, with a burst of
//! [`UPDATE_BURST`] (a node that re-signs nonstop floods nobody; the burst
//! is there because adverts an origin signed a second apart can arrive
//! closer together, by paths of unequal delay, or all at once when a new
//! neighbour hands over its database), and at most [`Advert::MAX_PARTS`]
//! parts of bounded size each. An advert refused as too frequent is
//! superseded by its origin's next one (its refresh at the latest).
//!
//! **After a restart** an origin's counter starts again, and its new
//! adverts are older than the ones the network holds. The flood layer
//! handles it (a node that hears an advert of its own past its counter
//! moves the counter on, as OSPF does); a driver can also give the node a
//! sequence base that grows across restarts. The database only compares
//! numbers.

use std::collections::BTreeMap;

use crate::identity::Address;
use crate::time::{Duration, Time};
use crate::wire::{Advert, AdvertLink, AdvertLocator};

/// The database's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbLimits {
    /// Origins held, at most.
    pub max_origins: usize,
    /// The least time between two sequence numbers of one origin.
    pub min_update_interval: Duration,
}

impl Default for DbLimits {
    fn default() -> Self {
        DbLimits {
            max_origins: 16_384,
            min_update_interval: Duration::from_secs(1),
        }
    }
}

/// What the database did with adverts, by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DbStats {
    /// Taken: new origins, new sequence numbers, new parts.
    pub accepted: u64,
    /// Already held (a flooded copy that came another way).
    pub duplicate: u64,
    /// Older than the one held, or already expired on arrival.
    pub stale: u64,
    /// A new sequence number sooner than `min_update_interval`.
    pub too_frequent: u64,
    /// A new origin while `max_origins` were held.
    pub full: u64,
    /// A part that contradicts the parts held (another part count).
    pub inconsistent: u64,
    /// Origins dropped when their adverts' lifetimes ended.
    pub expired: u64,
}

/// What [`TopologyDb::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// New to this node: flood it on.
    New,
    /// Held already, or refused (see [`DbStats`]): not flooded.
    Dropped,
}

struct Origin {
    seq: u64,
    /// One slot per part of `seq`.
    parts: Vec<Option<Advert>>,
    /// When each held part expires.
    expires: Vec<Time>,
    /// New sequence numbers this origin may still bring at once, as of
    /// `tokens_at`.
    tokens: u32,
    tokens_at: Time,
}

/// New sequence numbers of one origin the database takes at once (see the
/// module docs).
pub const UPDATE_BURST: u32 = 4;

impl Origin {
    fn expiry(&self) -> Time {
        self.parts
            .iter()
            .zip(&self.expires)
            .filter(|(p, _)| p.is_some())
            .map(|(_, &t)| t)
            .min()
            .unwrap_or(Time::NEVER)
    }
}

/// A node's topology database (see the module docs).
pub struct TopologyDb {
    limits: DbLimits,
    origins: BTreeMap<Address, Origin>,
    /// No part expires before this (kept on insert, recomputed by
    /// `expire`): may be early after a part was replaced, never late.
    earliest: Time,
    /// Counters.
    pub stats: DbStats,
}

impl TopologyDb {
    /// An empty database.
    pub fn new(limits: DbLimits) -> TopologyDb {
        TopologyDb {
            limits,
            origins: BTreeMap::new(),
            earliest: Time::NEVER,
            stats: DbStats::default(),
        }
    }

    /// Origins held.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Whether no origin is held.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Takes this node's own advert: never refused for the origin bound
    /// or the update rate (a full database must still hold its own node,
    /// and the node keeps its own rate).
    pub fn insert_own(&mut self, now: Time, advert: Advert) -> Insert {
        self.insert_with(now, advert, true)
    }

    /// Takes a verified advert (see [`super::adverts::verify`]) heard at `now`.
    pub fn insert(&mut self, now: Time, advert: Advert) -> Insert {
        self.insert_with(now, advert, false)
    }

    fn insert_with(&mut self, now: Time, advert: Advert, own: bool) -> Insert {
        let Some(left) = advert
            .lifetime_s
            .checked_sub(advert.age_s)
            .filter(|&l| l > 0)
        else {
            self.stats.stale += 1;
            return Insert::Dropped;
        };
        let expires = now + Duration::from_secs(u64::from(left));
        let held = self.earliest;
        // Only taken adverts move it; an early value is harmless.
        let taken = |db: &mut Self| db.earliest = held.min(expires);
        let addr = crate::identity::Address::of(&advert.origin);
        let part = usize::from(advert.part);
        let parts = usize::from(advert.parts);
        match self.origins.get_mut(&addr) {
            Some(o) if advert.seq < o.seq => {
                self.stats.stale += 1;
                Insert::Dropped
            }
            Some(o) if advert.seq == o.seq => {
                if o.parts.len() != parts {
                    self.stats.inconsistent += 1;
                    return Insert::Dropped;
                }
                if o.parts[part].is_some() {
                    self.stats.duplicate += 1;
                    return Insert::Dropped;
                }
                o.parts[part] = Some(advert);
                o.expires[part] = expires;
                self.stats.accepted += 1;
                taken(self);
                Insert::New
            }
            Some(o) => {
                let interval = self.limits.min_update_interval.as_nanos().max(1);
                let earned = (now.as_nanos().saturating_sub(o.tokens_at.as_nanos()) / interval)
                    .min(u64::from(UPDATE_BURST)) as u32;
                let tokens = (o.tokens + earned).min(UPDATE_BURST);
                if tokens == 0 && !own {
                    self.stats.too_frequent += 1;
                    return Insert::Dropped;
                }
                // The remainder of an interval is kept, unless the bucket
                // was full.
                let tokens_at = if tokens == UPDATE_BURST {
                    now
                } else {
                    o.tokens_at + Duration::from_nanos(u64::from(earned) * interval)
                };
                *o = Self::origin(now, advert, expires);
                o.tokens = tokens.saturating_sub(1);
                o.tokens_at = tokens_at;
                self.stats.accepted += 1;
                taken(self);
                Insert::New
            }
            None => {
                if self.origins.len() >= self.limits.max_origins && !own {
                    self.stats.full += 1;
                    return Insert::Dropped;
                }
                self.origins
                    .insert(addr, Self::origin(now, advert, expires));
                self.stats.accepted += 1;
                taken(self);
                Insert::New
            }
        }
    }

    fn origin(now: Time, advert: Advert, expires: Time) -> Origin {
        let parts = usize::from(advert.parts);
        let part = usize::from(advert.part);
        let mut o = Origin {
            seq: advert.seq,
            parts: vec![None; parts],
            expires: vec![Time::NEVER; parts],
            tokens: UPDATE_BURST - 1,
            tokens_at: now,
        };
        o.expires[part] = expires;
        o.parts[part] = Some(advert);
        o
    }

    /// Drops the parts whose lifetimes ended, and the origins left with
    /// none; returns how many origins went.
    pub fn expire(&mut self, now: Time) -> usize {
        if now < self.earliest {
            return 0;
        }
        let before = self.origins.len();
        for o in self.origins.values_mut() {
            for (p, &t) in o.parts.iter_mut().zip(&o.expires) {
                if t <= now {
                    *p = None;
                }
            }
        }
        self.origins
            .retain(|_, o| o.parts.iter().any(Option::is_some));
        self.earliest = self
            .origins
            .values()
            .map(Origin::expiry)
            .min()
            .unwrap_or(Time::NEVER);
        let gone = before - self.origins.len();
        self.stats.expired += gone as u64;
        gone
    }

    /// Whether `advert` would be taken (before its signature is checked:
    /// a copy already held, or an older one, is refused without the cost
    /// of a verification). Counts nothing.
    pub fn is_news(&self, advert: &Advert) -> bool {
        let addr = Address::of(&advert.origin);
        match self.origins.get(&addr) {
            None => true,
            Some(o) if advert.seq > o.seq => true,
            Some(o) if advert.seq == o.seq => o
                .parts
                .get(usize::from(advert.part))
                .is_some_and(|p| p.is_none() && o.parts.len() == usize::from(advert.parts)),
            Some(_) => false,
        }
    }

    /// Every held part, as (origin, part), in order.
    pub fn held(&self) -> impl Iterator<Item = (Address, u8)> + '_ {
        self.origins.iter().flat_map(|(a, o)| {
            o.parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_some())
                .map(move |(i, _)| (*a, i as u8))
        })
    }

    /// A held part as it is passed on at `now`: its age counts the time it
    /// was held here, rounded up, plus one second for the hop. `None` if it
    /// is not held, or would arrive expired.
    pub fn to_flood(&self, origin: &Address, part: u8, now: Time) -> Option<Advert> {
        let o = self.origins.get(origin)?;
        let i = usize::from(part);
        let p = o.parts.get(i)?.as_ref()?;
        let left_ns = o.expires[i].as_nanos().checked_sub(now.as_nanos())?;
        let left_s = (left_ns / 1_000_000_000) as u32;
        let age = p.lifetime_s.saturating_sub(left_s).saturating_add(1);
        if age >= p.lifetime_s {
            return None;
        }
        let mut a = p.clone();
        a.age_s = age;
        Some(a)
    }

    /// No part expires before this time (it may be early: a part that
    /// was replaced; [`Self::expire`] then finds nothing and moves it on).
    /// O(1): the node asks at every input.
    pub fn next_expiry(&self) -> Time {
        self.earliest
    }

    /// The sequence number held for `origin`.
    pub fn seq(&self, origin: &Address) -> Option<u64> {
        self.origins.get(origin).map(|o| o.seq)
    }

    /// The held parts of `origin`'s advert.
    pub fn parts(&self, origin: &Address) -> impl Iterator<Item = &Advert> + '_ {
        self.origins
            .get(origin)
            .into_iter()
            .flat_map(|o| o.parts.iter().flatten())
    }

    /// The neighbours `origin` advertises (all held parts).
    pub fn advertised_neighbours(&self, origin: &Address) -> impl Iterator<Item = Address> + '_ {
        self.advertised(origin).map(|l| l.neighbour)
    }

    /// The links `origin` advertises (all held parts).
    fn advertised(&self, origin: &Address) -> impl Iterator<Item = &AdvertLink> + '_ {
        self.parts(origin).flat_map(|p| p.neighbours.iter())
    }

    /// Whether `b` is among the neighbours `a` advertises.
    fn lists(&self, a: &Address, b: &Address) -> bool {
        self.parts(a).any(|p| {
            p.neighbours
                .binary_search_by(|n| n.neighbour.cmp(b))
                .is_ok()
        })
    }

    /// Every link both of whose ends advertise it, once per direction, as
    /// (from, to, what `from` measured), in address order.
    pub fn links(&self) -> Vec<(Address, Address, AdvertLink)> {
        let mut out = Vec::new();
        for a in self.origins.keys() {
            for l in self.advertised(a) {
                if self.lists(&l.neighbour, a) {
                    out.push((*a, l.neighbour, *l));
                }
            }
        }
        out.sort_by_key(|x| (x.0, x.1));
        out.dedup_by(|x, y| (x.0, x.1) == (y.0, y.1));
        out
    }

    /// The graph of the two-way links, for path finding: node `i` is
    /// `nodes[i]` (the origins held and the ends of their links, in address
    /// order), each direction's cost is `metric` of what its start
    /// measured.
    pub fn graph(
        &self,
        metric: impl Fn(&AdvertLink) -> u64,
    ) -> (super::paths::Graph, Vec<Address>) {
        self.graph_where(|_, l| Some(metric(l)))
    }

    /// [`Self::graph`] with a cost per direction `(from, what from
    /// measured)`; `None` leaves the direction out.
    pub fn graph_where(
        &self,
        metric: impl Fn(&Address, &AdvertLink) -> Option<u64>,
    ) -> (super::paths::Graph, Vec<Address>) {
        let links = self.links();
        let mut nodes: Vec<Address> = self.origins.keys().copied().collect();
        nodes.extend(links.iter().map(|l| l.1));
        nodes.sort();
        nodes.dedup();
        let index = |a: &Address| nodes.binary_search(a).expect("listed above") as u32;
        let mut g = super::paths::Graph::new(nodes.len());
        for (a, b, l) in &links {
            if let Some(c) = metric(a, l) {
                g.add_edge(index(a), index(b), c);
            }
        }
        (g, nodes)
    }

    /// The gateways known, with their advertised capacities.
    pub fn gateways(&self) -> Vec<(Address, u64)> {
        self.origins
            .keys()
            .filter_map(|a| {
                let bps = self.parts(a).map(|p| p.gateway_bps).max()?;
                (bps > 0).then_some((*a, bps))
            })
            .collect()
    }

    /// Every origin held, with its key, in address order.
    pub fn origins(&self) -> impl Iterator<Item = (Address, crate::identity::PublicKey)> + '_ {
        self.origins.iter().filter_map(|(a, o)| {
            let part = o.parts.iter().flatten().next()?;
            Some((*a, part.origin))
        })
    }

    /// Where `origin` says it can be reached.
    pub fn locators(&self, origin: &Address) -> Vec<AdvertLocator> {
        let mut l: Vec<AdvertLocator> = self
            .parts(origin)
            .flat_map(|p| p.locators.iter().copied())
            .collect();
        l.sort();
        l.dedup();
        l
    }
}

#[cfg(test)]
mod tests;
