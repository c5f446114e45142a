//! One route set at one end: its routes, the sending side's store of
//! messages not yet confirmed, and the receiving side's reordering.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::member::Member;
use super::reorder::Reorder;
use super::{Find, SetConfig, SetMode, SetStats};
use crate::connection::ConnectionHandle;
use crate::discovery::find::Destination;
use crate::identity::Address;
use crate::interface::{Event, RouteCloseReason, RouteHandle};
use crate::route::{RouteKind, Routes};
use crate::time::Time;
use crate::wire::{Class, SET_DATA_OVERHEAD, SetMessage};

/// Where the origin's routes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Paths found in the topology database, each time routes are built.
    Discover(Destination),
    /// Paths the application gave (rebuilt along the same paths).
    Paths(Vec<Vec<Address>>),
}

pub(crate) struct RouteSet {
    pub handle: ConnectionHandle,
    pub token: [u8; 16],
    pub class: Class,
    pub mode: SetMode,
    /// Routes kept (the origin's; the receiving end takes what comes).
    pub count: usize,
    /// `Some` at the origin.
    pub target: Option<Target>,
    pub members: Vec<Member>,
    /// The route that carries traffic (failover, and the receiving end's
    /// replies).
    pub active: Option<RouteHandle>,
    /// Every message from the oldest unconfirmed one on: its data until
    /// it is confirmed (`None` after), and its length until every older
    /// one is confirmed too. The window counts all of them, so the
    /// receiver, which holds at most what lies past its first missing
    /// message, never holds more than the window.
    store: BTreeMap<u64, (Option<Vec<u8>>, usize)>,
    /// Bytes of the messages in `store`, confirmed or not, each charged
    /// `reorder::ENTRY_COST` more, as a receiver charges what it holds.
    pub store_bytes: usize,
    next_seq: u64,
    /// Stored messages on no live route.
    unsent: BTreeSet<u64>,
    /// Of those, the ones a lost route had carried.
    resend: BTreeSet<u64>,
    pub reorder: Reorder,
    /// Links of failed routes, left out of path finding until `avoid_until`.
    avoid: BTreeSet<(Address, Address)>,
    avoid_until: Time,
    /// When the origin builds the routes it lacks.
    pub rebuild_at: Time,
    /// Builds in a row that brought no route up.
    pub failures: u32,
    announced: bool,
    /// The receiving end: since when it has had no route.
    pub empty_since: Option<Time>,
    /// The last route to break, and why.
    pub last_break: Option<(RouteHandle, RouteCloseReason)>,
    /// Steered: the path the pulses advise, and when to ask again.
    desired: Option<Vec<Address>>,
    pub steer_at: Time,
    pub stats: SetStats,
}

impl RouteSet {
    pub fn new(
        handle: ConnectionHandle,
        token: [u8; 16],
        class: Class,
        (mode, count): (SetMode, usize),
        target: Option<Target>,
    ) -> RouteSet {
        RouteSet {
            handle,
            token,
            class,
            mode,
            count,
            target,
            members: Vec::new(),
            active: None,
            store: BTreeMap::new(),
            store_bytes: 0,
            next_seq: 0,
            unsent: BTreeSet::new(),
            resend: BTreeSet::new(),
            reorder: Reorder::default(),
            avoid: BTreeSet::new(),
            avoid_until: Time::ZERO,
            rebuild_at: Time::NEVER,
            failures: 0,
            announced: false,
            empty_since: None,
            last_break: None,
            desired: None,
            steer_at: if mode == SetMode::Steered {
                Time::ZERO
            } else {
                Time::NEVER
            },
            stats: SetStats::default(),
        }
    }

    pub fn is_origin(&self) -> bool {
        self.target.is_some()
    }

    fn member(&mut self, r: RouteHandle) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.route == r)
    }

    /// Queues a message; `false` if the window has no room for it.
    pub fn send(&mut self, data: Vec<u8>, cfg: &SetConfig) -> bool {
        if !self.has_room(data.len(), cfg) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // Charged as the receiver charges what it holds.
        let cost = data.len() + super::reorder::ENTRY_COST;
        self.store_bytes += cost;
        self.store.insert(seq, (Some(data), cost));
        self.unsent.insert(seq);
        true
    }

    /// The oldest message not yet confirmed (every older one was): what
    /// a receiver that never saw the older ones starts from.
    fn low(&self) -> u64 {
        self.store
            .first_key_value()
            .map_or(self.next_seq, |(&k, _)| k)
    }

    pub fn has_room(&self, len: usize, cfg: &SetConfig) -> bool {
        self.store.is_empty() || self.store_bytes + len + super::reorder::ENTRY_COST <= cfg.window
    }

    /// Moves unsent messages onto routes, in order, while a route takes
    /// them: failover (and the receiving end) on the active route,
    /// aggregate on whichever route would confirm it soonest.
    pub fn pump(&mut self, now: Time, routes: &mut Routes, caps: (usize, usize)) {
        while let Some(&seq) = self.unsent.first() {
            let low = self.low();
            let Some((Some(data), _)) = self.store.get(&seq) else {
                // Confirmed on another route meanwhile.
                self.unsent.pop_first();
                continue;
            };
            let len = data.len() + SET_DATA_OVERHEAD;
            let Some(i) = self.pick(len, routes, caps) else {
                break;
            };
            let msg = SetMessage::Data {
                seq,
                low,
                payload: data,
            }
            .encode();
            let m = &mut self.members[i];
            if routes.send(m.route, msg).is_err() {
                break;
            }
            m.record(now, Some(seq), len);
            self.unsent.pop_first();
            if self.resend.remove(&seq) {
                self.stats.resent_messages += 1;
                self.stats.resent_bytes += (len - SET_DATA_OVERHEAD) as u64;
            }
        }
    }

    fn takes(m: &Member, len: usize, routes: &Routes, (min, max): (usize, usize)) -> bool {
        m.up && (!m.busy() || m.inflight_bytes + len <= m.cap(min, max))
            && routes.has_room(m.route, len)
    }

    fn pick(&self, len: usize, routes: &Routes, caps: (usize, usize)) -> Option<usize> {
        if self.mode == SetMode::Aggregate && self.is_origin() {
            // A draining route takes only what no other route can.
            let takers = || {
                self.members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| Self::takes(m, len, routes, caps))
            };
            let steady = takers().any(|(_, m)| !m.draining);
            return takers()
                .filter(|(_, m)| !steady || !m.draining)
                .min_by_key(|(_, m)| (m.eta(len), m.route))
                .map(|(i, _)| i);
        }
        let a = self.active?;
        let i = self.members.iter().position(|m| m.route == a)?;
        Self::takes(&self.members[i], len, routes, caps).then_some(i)
    }

    /// The best live route to carry traffic now: one not draining, then
    /// the least smoothed RTT, ties by handle.
    fn best_up(&self) -> Option<RouteHandle> {
        self.members
            .iter()
            .filter(|m| m.up)
            .min_by_key(|m| (m.draining, m.srtt.unwrap_or(u64::MAX), m.route))
            .map(|m| m.route)
    }

    /// A hop of route `r` drains the link `link` (`Event::RouteDraining`):
    /// the origin builds a route around it at once and moves the traffic
    /// there as soon as it is up; `r` stays until then (make before
    /// break) and goes when it holds nothing unconfirmed ([`Self::retire`]).
    pub fn on_draining(
        &mut self,
        now: Time,
        r: RouteHandle,
        link: (Address, Address),
        cfg: &SetConfig,
        out: &mut VecDeque<Event>,
    ) {
        if !self.is_origin() {
            return;
        }
        let Some(m) = self.member(r) else { return };
        if m.draining {
            return; // a second link of the same route: one move is enough
        }
        m.draining = true;
        self.stats.drain_notices += 1;
        self.avoid.insert(link);
        self.avoid_until = self.avoid_until.max(now + cfg.avoid_for);
        self.rebuild_at = now;
        if self.active == Some(r)
            && let Some(to) = self.best_up()
            && to != r
        {
            self.switch_to(to, out);
        }
    }

    /// Draining routes that can go now: another route is up and carries,
    /// and they hold nothing unconfirmed. Removed; the caller closes them.
    pub fn retire(&mut self) -> Vec<RouteHandle> {
        let steady = self.members.iter().any(|m| m.up && !m.draining);
        if !steady || !self.members.iter().any(|m| m.draining) {
            return Vec::new();
        }
        let active = self.active;
        let mut gone = Vec::new();
        self.members.retain(|m| {
            let go = m.draining && !m.busy() && Some(m.route) != active;
            if go {
                gone.push(m.route);
            }
            !go
        });
        self.stats.drained_routes += gone.len() as u64;
        gone
    }

    /// A route of the set came up.
    pub fn on_up(&mut self, now: Time, r: RouteHandle, cfg: &SetConfig, out: &mut VecDeque<Event>) {
        // The set was down (no route up: `ConnectionBroken` said so) or is
        // new: the application hears it is up, as from a plain connection.
        let was_down = !self.members.iter().any(|m| m.up && m.route != r);
        let Some(m) = self.member(r) else { return };
        m.on_up(now, cfg);
        self.stats.routes_up += 1;
        let active_draining = self
            .active
            .is_some_and(|a| self.members.iter().any(|m| m.route == a && m.draining));
        if self.active.is_none() {
            self.active = Some(r);
        } else if active_draining && self.members.iter().any(|m| m.route == r && !m.draining) {
            // The replacement of a draining route: the traffic moves now.
            self.switch_to(r, out);
        } else if self
            .desired
            .as_ref()
            .is_some_and(|d| self.members.iter().any(|m| m.route == r && &m.path == d))
        {
            self.switch_to(r, out);
        }
        if !self.announced || was_down {
            self.announced = true;
            out.push_back(Event::ConnectionUp {
                connection: self.handle,
                route: r,
            });
        }
    }

    /// The other end confirmed `bytes` of route `r`'s stream.
    pub fn on_delivered(
        &mut self,
        now: Time,
        r: RouteHandle,
        bytes: u64,
        cfg: &SetConfig,
        out: &mut VecDeque<Event>,
    ) {
        let Some(m) = self.member(r) else { return };
        let done = m.confirm(now, bytes, cfg);
        self.failures = 0;
        let mut confirmed = 0;
        for (seq, _) in done {
            if let Some((data @ Some(_), _)) = self.store.get_mut(&seq) {
                confirmed += data.take().map_or(0, |d| d.len()) as u64;
                self.unsent.remove(&seq);
                self.resend.remove(&seq);
            }
        }
        // The window moves only past confirmed messages in order.
        while let Some(e) = self.store.first_entry() {
            if e.get().0.is_some() {
                break;
            }
            self.store_bytes -= e.remove().1;
        }
        if confirmed > 0 {
            self.stats.confirmed_bytes += confirmed;
            out.push_back(Event::ConnectionDelivered {
                connection: self.handle,
                route: r,
                bytes: self.stats.confirmed_bytes,
            });
        }
    }

    /// A message arrived on route `r`.
    /// A message arrived on route `r`; `room` is what the node's reorder
    /// budget has left for this set beyond what it holds.
    pub fn on_message(
        &mut self,
        r: RouteHandle,
        data: &[u8],
        (cfg, room): (&SetConfig, usize),
        out: &mut VecDeque<Event>,
    ) {
        match SetMessage::decode(data) {
            Some(SetMessage::Data { seq, low, payload }) => {
                if !self.is_origin() {
                    // Replies go the way the origin's traffic comes.
                    self.active = Some(r);
                }
                let mut ready = Vec::new();
                let limit = cfg
                    .reorder_limit
                    .min(self.reorder.held_bytes().saturating_add(room));
                self.reorder.on_data(seq, low, payload, limit, &mut ready);
                for data in ready {
                    self.stats.delivered_messages += 1;
                    self.stats.delivered_bytes += data.len() as u64;
                    out.push_back(Event::ConnectionMessage {
                        connection: self.handle,
                        data,
                    });
                }
            }
            Some(SetMessage::Probe(_)) => {}
            None => self.stats.malformed += 1,
        }
    }

    /// Route `r` is gone (broke, or suspected and closed): what it carried
    /// unconfirmed goes again on the routes left, the origin builds a
    /// replacement, and a failover set moves its traffic to a standby at
    /// once.
    pub fn on_lost(
        &mut self,
        now: Time,
        r: RouteHandle,
        reason: RouteCloseReason,
        cfg: &SetConfig,
        out: &mut VecDeque<Event>,
    ) {
        let Some(i) = self.members.iter().position(|m| m.route == r) else {
            return;
        };
        let m = self.members.remove(i);
        self.last_break = Some((r, reason));
        // A route that never confirmed anything (refused, or broken as it
        // came up) is a failed build: the next waits longer.
        if !m.progressed() {
            self.failures = self.failures.saturating_add(1);
        }
        for seq in m.unconfirmed() {
            if matches!(self.store.get(&seq), Some((Some(_), _))) {
                self.unsent.insert(seq);
                self.resend.insert(seq);
            }
        }
        if self.is_origin() {
            // Around the failed route's links for a while: the database
            // holds them until their ends notice and advertise it.
            let mut prev = None;
            for hop in &m.path {
                if let Some(p) = prev {
                    self.avoid.insert((p, *hop));
                }
                prev = Some(*hop);
            }
            self.avoid_until = now + cfg.avoid_for;
            // The first replacement at once, later ones backing off.
            let wait = match self.failures {
                0 => crate::time::Duration::ZERO,
                n => cfg.rebuild.wait(n),
            };
            self.rebuild_at = self.rebuild_at.min(now + wait);
        }
        if self.active == Some(r) {
            self.active = self.best_up();
            if let Some(to) = self.active {
                self.stats.switches += 1;
                out.push_back(Event::ConnectionSwitched {
                    connection: self.handle,
                    from: r,
                    to,
                });
            }
        }
        if self.members.is_empty() && !self.is_origin() {
            self.empty_since = Some(now);
        }
    }

    fn switch_to(&mut self, to: RouteHandle, out: &mut VecDeque<Event>) {
        let Some(from) = self.active.replace(to) else {
            return;
        };
        if from != to {
            self.stats.switches += 1;
            out.push_back(Event::ConnectionSwitched {
                connection: self.handle,
                from,
                to,
            });
        }
    }

    /// Steered: follows the pulse layer's advice. The advised path's route
    /// takes the traffic once it is up (built first if the set has none
    /// along it: make before break); the route it leaves stays as the
    /// standby, and a third, idle one is closed. Returns the route it
    /// opened and the one it closed (for the caller to let go of).
    pub fn steer(
        &mut self,
        now: Time,
        advice: Option<Vec<Address>>,
        routes: &mut Routes,
        out: &mut VecDeque<Event>,
        cfg: &SetConfig,
    ) -> (Option<RouteHandle>, Option<RouteHandle>) {
        let Some(want) = advice else {
            return (None, None);
        };
        self.desired = Some(want.clone());
        let active_path = self
            .active
            .and_then(|a| self.members.iter().find(|m| m.route == a))
            .map(|m| m.path.clone());
        if active_path.as_ref() == Some(&want) {
            return (None, None);
        }
        if let Some(m) = self.members.iter().find(|m| m.path == want) {
            if m.up {
                let r = m.route;
                self.switch_to(r, out);
            }
            return (None, None);
        }
        // Room for the new route: close the oldest that carries nothing
        // and is neither active nor the direct path; with none, wait.
        let mut closed = None;
        if self.members.len() >= self.count.max(2).min(cfg.max_members) {
            let direct = want.last().map(|d| vec![*d]);
            let Some(i) = self.members.iter().position(|m| {
                Some(m.route) != self.active && Some(&m.path) != direct.as_ref() && !m.busy()
            }) else {
                return (None, None);
            };
            closed = Some(self.members.remove(i).route);
        }
        let opened = routes
            .open_in_set(
                now,
                want.clone(),
                self.class,
                RouteKind::Stream,
                Some(self.token),
            )
            .ok();
        if let Some(r) = opened {
            self.members.push(Member::new(r, want, now));
            self.stats.routes_built += 1;
        }
        (opened, closed)
    }

    /// Routes the origin lacks: `count` less the live and building ones
    /// that are not draining. A draining route is replaced while it still
    /// carries, so a set holds at most twice `count` routes for a while.
    pub fn missing(&self) -> usize {
        let steady = self.members.iter().filter(|m| !m.draining).count();
        self.count
            .saturating_sub(steady)
            .min((2 * self.count).saturating_sub(self.members.len()))
    }

    /// Builds the routes the origin lacks along paths `find` gives (or the
    /// application's). Returns how many were opened.
    pub fn rebuild(&mut self, now: Time, routes: &mut Routes, find: Find<'_>) -> usize {
        self.rebuild_at = Time::NEVER;
        let need = self.missing();
        if need == 0 {
            return 0;
        }
        if now >= self.avoid_until {
            self.avoid.clear();
        }
        let mut live: Vec<Vec<Address>> = self.members.iter().map(|m| m.path.clone()).collect();
        let candidates = match self.target.as_ref() {
            Some(Target::Paths(p)) => p.clone(),
            Some(Target::Discover(d)) => {
                let k = self.count + live.len();
                match find(*d, k, &self.avoid) {
                    Ok(p) if !p.is_empty() => p,
                    // Nothing around the failed links: any path at all.
                    _ => find(*d, k, &BTreeSet::new()).unwrap_or_default(),
                }
            }
            None => return 0,
        };
        let mut opened = 0;
        // Candidates that share a relay with a live route come last: they
        // would fail with it.
        let relays: BTreeSet<Address> = live
            .iter()
            .flat_map(|p| p.iter().take(p.len().saturating_sub(1)).copied())
            .collect();
        let mut candidates = candidates;
        candidates.sort_by_key(|p| {
            p.iter()
                .take(p.len().saturating_sub(1))
                .any(|n| relays.contains(n))
        });
        for path in candidates {
            if opened == need {
                break;
            }
            if live.contains(&path) {
                continue;
            }
            let set = Some(self.token);
            if let Ok(r) = routes.open_in_set(now, path.clone(), self.class, RouteKind::Stream, set)
            {
                live.push(path.clone());
                self.members.push(Member::new(r, path, now));
                self.stats.routes_built += 1;
                opened += 1;
            }
        }
        opened
    }

    /// The earliest of the set's deadlines.
    pub fn deadline(&self, cfg: &SetConfig) -> Time {
        let mut t = self.rebuild_at.min(self.steer_at);
        for m in &self.members {
            // Both ends watch what they sent; only the origin probes.
            t = t.min(m.suspect_at(cfg));
            if self.is_origin() && m.up && !m.busy() {
                t = t.min(m.next_probe);
            }
        }
        if let Some(since) = self.empty_since {
            t = t.min(since + cfg.linger);
        }
        t
    }

    /// Routes suspected now: up, carrying something, and silent for the
    /// detector's time.
    pub fn suspects(&self, now: Time, cfg: &SetConfig) -> Vec<RouteHandle> {
        self.members
            .iter()
            .filter(|m| m.suspect_at(cfg) <= now)
            .map(|m| m.route)
            .collect()
    }

    /// Probes every idle route whose probe is due (a standby stays alive
    /// past the idle timeout, and its failures are seen).
    pub fn probe(&mut self, now: Time, routes: &mut Routes, cfg: &SetConfig) {
        for m in &mut self.members {
            if m.up && !m.busy() && m.next_probe <= now {
                m.probes += 1;
                let msg = SetMessage::Probe(m.probes).encode();
                let len = msg.len();
                if routes.send(m.route, msg).is_ok() {
                    m.record(now, None, len);
                    self.stats.probes += 1;
                }
                m.next_probe = now + cfg.probe_interval;
            }
        }
    }
}
