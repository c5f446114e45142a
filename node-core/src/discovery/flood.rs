//! Flooding link-state adverts: the discovery layer's state in a node.
//!
//! - **Origination.** A node signs an advert of its neighbours (what each
//!   of their carrier links measured: RTT, loss, rate), its locators and
//!   its gateway capacity; again [`DiscoveryConfig::hold_down`] after its
//!   neighbours change (so a burst of changes makes one advert), and every
//!   [`DiscoveryConfig::refresh`] with fresh metrics. Two originations are
//!   at least the database's `min_update_interval` apart, since every
//!   database refuses a faster origin.
//! - **Flooding.** An advert the database takes as news goes on to every
//!   other neighbour; a neighbour that comes up is sent the whole
//!   database. What waits for a neighbour is a set of (origin, part), not
//!   copies: a newer advert of an origin replaces the older in the
//!   database, so a slow link carries only the latest, and what waits is
//!   bounded by the database. Adverts travel as service messages on the
//!   control channel ([`crate::CONTROL_CHANNEL`]), reliable and in order
//!   per link, one message `MSG_ADVERT | advert`; the node moves them
//!   into a link while its backlog is under [`FLOOD_BACKLOG`].
//! - **Checks, cheapest first.** Decode (canonical form, bounds); is it
//!   news to the database (a copy or an older advert is dropped without
//!   verifying it); the sending neighbour's verification budget
//!   ([`DiscoveryConfig::verify_rate`], a token bucket per neighbour: a
//!   peer that sends forged adverts nonstop costs a bounded share of the
//!   CPU); contents and signature; then the database's own bounds.
//!   Every refusal is counted.
//! - **Our own adverts from elsewhere.** One with a sequence number at
//!   least ours was signed by an earlier run of this node (its counter
//!   started again after a restart): our counter jumps past it and a new
//!   advert goes out, as OSPF does, so a restarted node is not refused as
//!   stale until its old adverts expire.

use std::collections::{BTreeMap, BTreeSet};

use super::adverts::{self, AdvertError};
use super::db::{DbLimits, Insert, TopologyDb};
use super::meshes::{self, RoutingTable};
use crate::crypto::{CryptoSuite, SIG_LEN};
use crate::identity::{Address, Identity};
use crate::time::{Duration, Time};
use crate::wire::{Advert, AdvertLink, AdvertLocator, MeshSummary};

/// Verification budgets kept, at most (current neighbours always keep
/// theirs; gone ones are forgotten past this).
const MAX_BUCKETS: usize = 4096;

/// The type byte of a control-channel message that carries an advert (in
/// the discovery owner's range of `wire::upper`).
pub const MSG_ADVERT: u8 = 0x20;

/// Bytes of control messages a link may hold unacknowledged before the
/// flood waits for it (the flood is clocked by the link's acks).
pub const FLOOD_BACKLOG: usize = 32 * 1024;

/// Adverts in a row that follow early because a link's metrics were
/// guessed (a link that never answers is not re-advertised every second).
pub const MAX_EARLY: u32 = 3;

/// Settings of the discovery layer (`Config::discovery`; `None` runs none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// A fresh advert with fresh metrics at least this often.
    pub refresh: Duration,
    /// How long an advert lives (at least twice `refresh`, at most a day).
    pub lifetime: Duration,
    /// The wait after a neighbour change before the new advert.
    pub hold_down: Duration,
    /// The first sequence number. A driver that can (a real node: the wall
    /// clock's seconds times 2^20) gives one that grows across restarts.
    pub seq_base: u64,
    /// Clearnet egress capacity advertised, bits/s (0: not a gateway).
    pub gateway_bps: u64,
    /// Where this node can be reached by tunnel (at most 4).
    pub locators: Vec<AdvertLocator>,
    /// The database's bounds.
    pub limits: DbLimits,
    /// Signature verifications per neighbour per second, on average.
    pub verify_rate: u32,
    /// Verifications a neighbour may use at once (a new neighbour's whole
    /// database must fit).
    pub verify_burst: u32,
    /// One-way latency pulses in a group (NOIA), if any.
    pub pulse: Option<super::pulse::PulseConfig>,
    /// The meshes this node belongs to (re6st's n-order mesh: see
    /// [`super::meshes`]), ascending, 1 ..= [`super::meshes::MAX_MESHES`];
    /// `[0]`, one mesh, by default.
    pub meshes: Vec<u16>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            refresh: Duration::from_secs(30),
            lifetime: Duration::from_secs(120),
            hold_down: Duration::from_millis(50),
            seq_base: 0,
            gateway_bps: 0,
            locators: Vec::new(),
            limits: DbLimits::default(),
            verify_rate: 1000,
            verify_burst: 20_000,
            pulse: None,
            meshes: vec![0],
        }
    }
}

impl DiscoveryConfig {
    /// Why the settings cannot work, if they cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        let lifetime_s = self.lifetime.as_nanos() / 1_000_000_000;
        if self.refresh < Duration::from_secs(1)
            || self.lifetime < self.refresh.saturating_mul(2)
            || lifetime_s > u64::from(Advert::MAX_LIFETIME_S)
        {
            return Err(
                "discovery: refresh must be at least 1 s, lifetime at least twice refresh and at most a day",
            );
        }
        if self.locators.len() > Advert::MAX_LOCATORS {
            return Err("discovery: at most 4 locators");
        }
        if self.verify_rate == 0 || self.verify_burst == 0 || self.limits.max_origins == 0 {
            return Err("discovery: verify_rate, verify_burst and max_origins must be positive");
        }
        let m = &self.meshes;
        if m.is_empty() || m.len() > Advert::MAX_MESHES || m.windows(2).any(|w| w[0] >= w[1]) {
            return Err("discovery: 1 to 4 meshes, ascending");
        }
        Ok(())
    }
}

/// What the discovery layer did, by outcome (the database's own counters
/// are in [`TopologyDb::stats`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryStats {
    /// Adverts this node signed (parts counted one by one).
    pub originated: u64,
    /// Advert messages sent to neighbours, and their bytes.
    pub adverts_sent: u64,
    /// Bytes of those messages.
    pub bytes_sent: u64,
    /// Advert messages received, and their bytes.
    pub adverts_received: u64,
    /// Bytes of those messages.
    pub bytes_received: u64,
    /// Refused: did not decode.
    pub malformed: u64,
    /// Refused: the signature did not verify.
    pub bad_signature: u64,
    /// Refused: impossible contents (a link to itself, an unusable locator).
    pub impossible: u64,
    /// Refused unverified: the sending neighbour's budget was spent.
    pub over_rate: u64,
    /// Our own adverts of an earlier run, which moved our counter on.
    pub own_superseded: u64,
    /// Dropped unverified: the origin shares no mesh with this node.
    pub out_of_scope: u64,
}

/// A neighbour's verification budget.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u64,
    at: Time,
}

/// The discovery layer of one node (see the module docs).
pub(crate) struct Discovery {
    /// Boxed: 200 bytes in every node of a network that runs no discovery.
    config: Option<Box<DiscoveryConfig>>,
    me: Address,
    /// The database: every origin's latest advert, ours included.
    pub db: TopologyDb,
    /// The next sequence number to sign.
    seq: u64,
    /// When we last originated.
    last: Option<Time>,
    /// When the next advert is due (a change, a refresh, a superseded one).
    originate_at: Time,
    /// Adverts in a row sent early for metrics not measured yet.
    early: u32,
    /// Neighbours reachable now.
    peers: BTreeSet<Address>,
    /// What waits to be sent to each neighbour.
    pending: BTreeMap<Address, BTreeSet<(Address, u8)>>,
    buckets: BTreeMap<Address, Bucket>,
    /// Counters.
    pub stats: DiscoveryStats,
    /// Timer entry last given to the node's table.
    pub table_at: Time,
    /// One-way latency pulses.
    pub pulses: super::pulse::Pulses,
    /// The summarized meshes of our last advert (a border node's).
    advertised: Vec<MeshSummary>,
}

impl Discovery {
    /// The layer of node `me`; runs nothing unless `config` is given.
    pub fn new(config: Option<DiscoveryConfig>, me: Address) -> Discovery {
        let limits = config.as_ref().map(|c| c.limits).unwrap_or_default();
        let pulse = config.as_ref().and_then(|c| c.pulse.clone());
        Discovery {
            pulses: super::pulse::Pulses::new(pulse, me),
            seq: config.as_ref().map_or(0, |c| c.seq_base),
            // The first advert goes out once the first neighbours are up.
            originate_at: Time::NEVER,
            early: 0,
            config: config.map(Box::new),
            me,
            db: TopologyDb::new(limits),
            last: None,
            peers: BTreeSet::new(),
            pending: BTreeMap::new(),
            buckets: BTreeMap::new(),
            stats: DiscoveryStats::default(),
            table_at: Time::NEVER,
            advertised: Vec::new(),
        }
    }

    /// This node's meshes (`[0]` when discovery is off).
    pub fn meshes(&self) -> &[u16] {
        self.config.as_ref().map_or(&[0], |c| c.meshes.as_slice())
    }

    /// The entries this node holds to route (see [`super::meshes`]).
    pub fn routing_table(&self) -> RoutingTable {
        meshes::table(&self.db, self.me, self.meshes())
    }

    /// A border node: a new advert when what it would summarize changed
    /// (an advert that names meshes came or went).
    fn check_summaries(&mut self, now: Time) {
        let Some(c) = &self.config else { return };
        if c.meshes.len() < 2 {
            return;
        }
        let hold = c.hold_down;
        if meshes::summaries(&self.db, self.me, &c.meshes) != self.advertised {
            self.schedule(now, hold);
        }
    }

    /// Whether this node runs pulses.
    pub fn pulses_on(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.pulse.is_some())
    }

    /// The earliest of the layer's deadlines.
    pub fn deadline(&self) -> Time {
        if self.config.is_none() {
            return Time::NEVER;
        }
        self.originate_at
            .min(self.db.next_expiry())
            .min(self.pulses.deadline())
    }

    /// An advert of ours is due no sooner than `wait` from `now`, and no
    /// sooner than the database's interval after the last one.
    fn schedule(&mut self, now: Time, wait: Duration) {
        let Some(c) = &self.config else { return };
        let mut at = now + wait;
        if let Some(last) = self.last {
            at = at.max(last + c.limits.min_update_interval);
        }
        self.originate_at = self.originate_at.min(at);
    }

    /// Ages the database out; whether an advert of ours is due.
    pub fn fire(&mut self, now: Time) -> bool {
        if self.db.expire(now) > 0 {
            self.check_summaries(now);
        }
        self.pulses.fire(now);
        self.config.is_some() && self.originate_at <= now
    }

    /// A neighbour became reachable: it gets the whole database, and our
    /// advert changes.
    pub fn on_neighbour_up(&mut self, now: Time, peer: Address) {
        let Some(c) = &self.config else { return };
        let burst = u64::from(c.verify_burst);
        let hold = c.hold_down;
        self.peers.insert(peer);
        self.pulses.on_neighbour(peer, true);
        // A neighbour that comes back keeps what it spent: reconnecting
        // must not refill its budget. The map keeps gone neighbours'
        // buckets, at most `MAX_BUCKETS` of them.
        if self.buckets.len() >= MAX_BUCKETS {
            let peers = &self.peers;
            self.buckets.retain(|a, _| peers.contains(a));
        }
        self.buckets.entry(peer).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let all: BTreeSet<(Address, u8)> = self.db.held().collect();
        if !all.is_empty() {
            self.pending.insert(peer, all);
        }
        self.schedule(now, hold);
    }

    /// What we advertise of a neighbour changed (its last link started
    /// draining): a new advert, after the hold-down.
    pub fn on_neighbour_changed(&mut self, now: Time) {
        let Some(c) = &self.config else { return };
        let hold = c.hold_down;
        self.schedule(now, hold);
    }

    /// A neighbour is no longer reachable: nothing waits for it, and our
    /// advert changes.
    pub fn on_neighbour_gone(&mut self, now: Time, peer: Address) {
        let Some(c) = &self.config else { return };
        let hold = c.hold_down;
        self.peers.remove(&peer);
        self.pulses.on_neighbour(peer, false);
        self.pending.remove(&peer);
        self.schedule(now, hold);
    }

    /// Signs and floods our advert of `links` (one per neighbour, any
    /// order). `guessed`: some metrics are not measured yet, so the next
    /// advert follows as soon as the database interval allows (at most
    /// [`MAX_EARLY`] times in a row). Returns how many parts went out.
    pub fn originate(
        &mut self,
        now: Time,
        identity: &Identity,
        suite: &dyn CryptoSuite,
        mut links: Vec<AdvertLink>,
        guessed: bool,
    ) -> usize {
        let Some(c) = &self.config else { return 0 };
        links.sort();
        links.dedup_by_key(|l| l.neighbour);
        let max_links = Advert::MAX_NEIGHBOURS * usize::from(Advert::MAX_PARTS);
        // A node with more neighbours than adverts can name advertises the
        // first ones by address (never reached with the tunnel limits).
        links.truncate(max_links);
        let chunks: Vec<&[AdvertLink]> = if links.is_empty() {
            vec![&[]]
        } else {
            links.chunks(Advert::MAX_NEIGHBOURS).collect()
        };
        let template = Advert {
            origin: *identity.public_key(),
            seq: self.seq,
            lifetime_s: (c.lifetime.as_nanos() / 1_000_000_000) as u32,
            part: 0,
            parts: chunks.len() as u8,
            gateway_bps: c.gateway_bps,
            locators: c.locators.clone(),
            neighbours: Vec::new(),
            meshes: c.meshes.clone(),
            summaries: Vec::new(),
            signature: [0; SIG_LEN],
            age_s: 0,
        };
        let (refresh, interval) = (c.refresh, c.limits.min_update_interval);
        self.advertised = meshes::summaries(&self.db, self.me, &c.meshes);
        self.seq += 1;
        self.last = Some(now);
        self.originate_at = if guessed && self.early < MAX_EARLY {
            self.early += 1;
            now + interval
        } else {
            self.early = 0;
            now + refresh
        };
        let mut sent = 0;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut a = template.clone();
            a.part = i as u8;
            a.neighbours = chunk.to_vec();
            if i == 0 {
                a.summaries = self.advertised.clone();
            }
            if adverts::sign(suite, identity, &mut a).is_none() {
                continue;
            }
            self.stats.originated += 1;
            if self.db.insert_own(now, a) == Insert::New {
                self.flood(self.me, i as u8, None);
                sent += 1;
            }
        }
        sent
    }

    /// Queues (origin, part) for every neighbour but `from`.
    fn flood(&mut self, origin: Address, part: u8, from: Option<Address>) {
        for p in &self.peers {
            if Some(*p) != from && *p != origin {
                self.pending.entry(*p).or_default().insert((origin, part));
            }
        }
    }

    /// A control message from neighbour `from` (its type byte first).
    /// Returns `false` for a type this layer does not own.
    pub fn on_message(
        &mut self,
        now: Time,
        from: Address,
        data: &[u8],
        suite: &dyn CryptoSuite,
    ) -> bool {
        if self.config.is_none() {
            return false;
        }
        if data.first() == Some(&crate::wire::MSG_ROW) {
            match crate::wire::decode_row(&data[1..]) {
                Ok(row) => self.pulses.on_row(from, &row),
                Err(_) => self.pulses.stats.refused += 1,
            }
            return true;
        }
        if data.first() != Some(&MSG_ADVERT) {
            return false;
        }
        self.stats.adverts_received += 1;
        self.stats.bytes_received += data.len() as u64;
        let Ok(advert) = Advert::decode(&data[1..]) else {
            self.stats.malformed += 1;
            return true;
        };
        let origin = Address::of(&advert.origin);
        if origin == self.me {
            self.on_own(now, from, &advert, suite);
            return true;
        }
        if !meshes::shares(self.meshes(), &advert.meshes) {
            // Another mesh's: not ours to hold or flood (n-order meshes).
            self.stats.out_of_scope += 1;
            return true;
        }
        if !self.db.is_news(&advert) {
            // Counted by the database as a duplicate or stale.
            self.db.insert(now, advert);
            return true;
        }
        if !self.take_token(now, from) {
            self.stats.over_rate += 1;
            return true;
        }
        match adverts::check(suite, &advert) {
            Ok(()) => {}
            Err(AdvertError::BadSignature) => {
                self.stats.bad_signature += 1;
                return true;
            }
            Err(_) => {
                self.stats.impossible += 1;
                return true;
            }
        }
        let part = advert.part;
        let scoped = advert.is_scoped();
        if self.db.insert(now, advert) == Insert::New {
            self.flood(origin, part, Some(from));
            if scoped {
                self.check_summaries(now);
            }
        }
        true
    }

    /// An advert of ours came back. One that names a sequence number we
    /// have not signed in this run (a checked signature: anyone could
    /// claim one) moves our counter past it.
    fn on_own(&mut self, now: Time, from: Address, advert: &Advert, suite: &dyn CryptoSuite) {
        if advert.seq < self.seq || self.config.is_none() {
            return;
        }
        if !self.take_token(now, from) {
            self.stats.over_rate += 1;
            return;
        }
        if adverts::check(suite, advert).is_err() {
            self.stats.bad_signature += 1;
            return;
        }
        self.stats.own_superseded += 1;
        self.seq = advert.seq.saturating_add(1);
        self.schedule(now, Duration::ZERO);
    }

    fn take_token(&mut self, now: Time, from: Address) -> bool {
        let Some(c) = &self.config else { return false };
        let (rate, burst) = (u64::from(c.verify_rate), u64::from(c.verify_burst));
        let b = self.buckets.entry(from).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.as_nanos().saturating_sub(b.at.as_nanos());
        let earned = elapsed.saturating_mul(rate) / 1_000_000_000;
        if earned > 0 {
            b.tokens = (b.tokens + earned).min(burst);
            // Keep the remainder of a token for later.
            b.at += Duration::from_nanos(earned * 1_000_000_000 / rate);
        }
        if b.tokens == 0 {
            return false;
        }
        b.tokens -= 1;
        true
    }

    /// Neighbours something waits for, in order.
    pub fn waiting(&self) -> Vec<Address> {
        self.pending.keys().copied().collect()
    }

    /// Whether anything waits for any neighbour.
    pub fn has_waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next control message for `peer`, if one waits.
    pub fn next_message(&mut self, now: Time, peer: Address) -> Option<Vec<u8>> {
        loop {
            let set = self.pending.get_mut(&peer)?;
            let Some((origin, part)) = set.pop_first() else {
                self.pending.remove(&peer);
                return None;
            };
            if set.is_empty() {
                self.pending.remove(&peer);
            }
            // Gone or expired since it was queued: nothing to send.
            let Some(a) = self.db.to_flood(&origin, part, now) else {
                continue;
            };
            // A neighbour of other meshes only, when we know its meshes,
            // would drop it (the scope is checked where it arrives).
            if meshes::meshes_of(&self.db, &peer).is_some_and(|m| !meshes::shares(m, &a.meshes)) {
                continue;
            }
            let mut msg = Vec::with_capacity(1 + Advert::MAX_LEN);
            msg.push(MSG_ADVERT);
            a.encode(&mut msg);
            self.stats.adverts_sent += 1;
            self.stats.bytes_sent += msg.len() as u64;
            return Some(msg);
        }
    }

    /// Drops what waits for `peer` (it has no link to carry it).
    pub fn drop_waiting(&mut self, peer: Address) {
        self.pending.remove(&peer);
    }
}

#[cfg(test)]
mod tests;
