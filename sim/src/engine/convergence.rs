//! Discovery convergence, measured by the engine (which sees every node).
//!
//! **The truth** is the set of links that carry an established session:
//! both ends alive, no fault holding the link down, and each end's link
//! session established. A link is in it once per direction, as node-core's
//! `TopologyDb::links` lists it, so a node's database *matches* when its
//! two-way-checked links are exactly the truth of its connected component
//! (a node cannot know what lies beyond a partition; once cut off, the
//! other side's links stay in its database until their adverts expire,
//! and it does not match until then). The network is *settled* when every
//! live node matches and every link that could carry a session does (the
//! truth is complete: no link is still handshaking, as at the start or
//! after a link comes back).
//!
//! **Cheap enough for thousands of nodes.** The check runs every
//! `discovery.check_interval` (so a time is known to that resolution). The
//! truth is recomputed only after something that can change it (a link
//! session established, dead or closed, a fault, a tunnel); a node's match
//! is recomputed only when its database changed since (its `accepted` or
//! `expired` counter moved, or it restarted) or the truth did; a node that
//! does not hold every origin of its component is refused without listing
//! its links; and the check stops at the first node that does not match,
//! starting there the next time.
//!
//! **Figures**: the time the network first settled; for each scenario
//! fault that changes the topology (its start and its end), the first
//! settled check at or after it; the discovery layer's counters over every
//! incarnation of every node.

use node_core::discovery::db::TopologyDb;
use node_core::discovery::flood::DiscoveryStats;
use node_core::{Address, Duration, LinkId, Time};

use super::World;
use super::protocol::{Population, Protocol};

/// The discovery layer's counters of a node, summed over its incarnations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscoveryCounters {
    /// Adverts it signed.
    pub originated: u64,
    /// Advert messages it sent to neighbours.
    pub adverts_sent: u64,
    /// Bytes of those messages.
    pub bytes_sent: u64,
    /// Advert messages it received.
    pub adverts_received: u64,
    /// Bytes of those messages.
    pub bytes_received: u64,
    /// Adverts it refused: malformed, bad signature, impossible, over its
    /// neighbour's verification budget.
    pub refused: u64,
    /// Its own adverts of an earlier incarnation that moved its counter on.
    pub own_superseded: u64,
}

impl DiscoveryCounters {
    fn add(&mut self, s: &DiscoveryStats) {
        self.originated += s.originated;
        self.adverts_sent += s.adverts_sent;
        self.bytes_sent += s.bytes_sent;
        self.adverts_received += s.adverts_received;
        self.bytes_received += s.bytes_received;
        self.refused += s.malformed + s.bad_signature + s.impossible + s.over_rate;
        self.own_superseded += s.own_superseded;
    }
}

/// A scenario fault that changed the topology, and when the network
/// settled after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopologyChange {
    /// Index in `scenario.faults`.
    pub fault: usize,
    /// Its start (`true`) or its end.
    pub start: bool,
    /// When.
    pub at: Time,
    /// The first settled check at or after it.
    pub settled_at: Option<Time>,
}

/// One convergence check, for the time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSample {
    /// When.
    pub time: Time,
    /// Every live node's database matched the truth.
    pub matched: bool,
    /// Matched, and every link that could carry a session did.
    pub settled: bool,
    /// Two-way links in the truth.
    pub links: usize,
    /// Advert messages sent so far, all nodes.
    pub adverts_sent: u64,
    /// Bytes of those, so far.
    pub bytes_sent: u64,
}

/// The truth at one moment (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Truth {
    /// Per connected component: its links, both directions, sorted.
    expected: Vec<Vec<(Address, Address)>>,
    /// Per component: its nodes.
    members: Vec<usize>,
    /// Per node: its component (`usize::MAX` while it is down).
    component: Vec<usize>,
    /// Two-way links.
    links: usize,
    /// Every link that could carry a session does.
    complete: bool,
}

/// What a node's last check saw: its incarnation, its database's
/// `accepted` and `expired` counters, and the truth's version.
type Stamp = (u32, u64, u64, u64);

/// The engine's convergence measurement (see the module docs).
pub struct Convergence {
    interval: Duration,
    addresses: Vec<Address>,
    /// (address, node), sorted by address.
    by_address: Vec<(Address, usize)>,
    truth: Truth,
    truth_dirty: bool,
    truth_version: u64,
    /// Per node: the stamp of its last check and whether it matched.
    cache: Vec<Option<(Stamp, bool)>>,
    /// Where the next check starts: the node that did not match last.
    resume_at: usize,
    /// Counters of crashed incarnations, per node.
    retired: Vec<DiscoveryCounters>,
    /// When the network first settled.
    pub first_settled: Option<Time>,
    /// Advert bytes sent by then, all nodes.
    pub bytes_at_first_settled: u64,
    /// Topology changes of the scenario's faults, in order.
    pub changes: Vec<TopologyChange>,
    /// Every check.
    pub samples: Vec<CheckSample>,
    /// Node databases whose links were listed and compared (the check's
    /// cost; deterministic).
    pub db_comparisons: u64,
}

impl Convergence {
    /// A measurement of `addresses.len()` nodes, checked every `interval`.
    pub fn new(interval: Duration, addresses: Vec<Address>) -> Convergence {
        let n = addresses.len();
        let mut by_address: Vec<(Address, usize)> =
            addresses.iter().enumerate().map(|(i, a)| (*a, i)).collect();
        by_address.sort_unstable();
        Convergence {
            interval,
            addresses,
            by_address,
            truth: Truth::default(),
            truth_dirty: true,
            truth_version: 0,
            cache: vec![None; n],
            resume_at: 0,
            retired: vec![DiscoveryCounters::default(); n],
            first_settled: None,
            bytes_at_first_settled: 0,
            changes: Vec::new(),
            samples: Vec::new(),
            db_comparisons: 0,
        }
    }

    /// Something happened that may change the truth.
    pub(super) fn topology_may_change(&mut self) {
        self.truth_dirty = true;
    }

    /// The check interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Node `i`'s address.
    pub fn address(&self, i: usize) -> Address {
        self.addresses[i]
    }

    /// The node whose address is `a`.
    pub fn index_of(&self, a: &Address) -> Option<usize> {
        self.by_address
            .binary_search_by_key(a, |x| x.0)
            .ok()
            .map(|k| self.by_address[k].1)
    }
}

/// Whether `db` holds exactly `expected`, the links of a component of
/// `members` nodes.
fn matches(db: &TopologyDb, expected: &[(Address, Address)], members: usize) -> bool {
    // A link is two-way only if both ends' adverts are held.
    if members >= 2 && db.len() < members {
        return false;
    }
    let links = db.links();
    links.len() == expected.len() && links.iter().zip(expected).all(|(l, e)| (l.0, l.1) == *e)
}

/// The root of `i` in a union-find forest (path halving).
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

impl<P: Population> World<P> {
    /// Something happened that may change the truth: it is recomputed at
    /// the next check.
    pub(super) fn topology_may_change(&mut self) {
        if let Some(c) = self.convergence.as_mut() {
            c.topology_may_change();
        }
    }

    /// Scenario fault `index` started (or ended) and changed the topology.
    pub(super) fn topology_changed_by_fault(&mut self, index: usize, start: bool) {
        let now = self.now;
        if let Some(c) = self.convergence.as_mut() {
            c.truth_dirty = true;
            c.changes.push(TopologyChange {
                fault: index,
                start,
                at: now,
                settled_at: None,
            });
        }
    }

    /// Node `i` crashes: its discovery counters so far are kept.
    pub(super) fn retire_discovery(&mut self, i: usize) {
        let stats = self.nodes[i].node.discovery_stats();
        if let (Some(c), Some(s)) = (self.convergence.as_mut(), stats) {
            c.retired[i].add(&s);
        }
    }

    /// Node `i`'s discovery counters over all its incarnations.
    pub fn discovery_counters(&self, i: usize) -> Option<DiscoveryCounters> {
        let c = self.convergence.as_ref()?;
        let mut total = c.retired[i];
        if self.nodes[i].alive
            && let Some(s) = self.nodes[i].node.discovery_stats()
        {
            total.add(&s);
        }
        Some(total)
    }

    /// The convergence measurement, when the nodes run discovery.
    pub fn convergence(&self) -> Option<&Convergence> {
        self.convergence.as_ref()
    }

    fn compute_truth(&self) -> Truth {
        let n = self.nodes.len();
        let mut parent: Vec<usize> = (0..n).collect();
        let mut pairs = Vec::new();
        let mut complete = true;
        for (l, state) in self.links.links.iter().enumerate() {
            let (a, b) = (state.spec.a, state.spec.b);
            if !self.nodes[a].alive || !self.nodes[b].alive || !self.links.carries(l) {
                continue;
            }
            let id = LinkId(l as u64);
            if self.nodes[a].node.link_established(id) && self.nodes[b].node.link_established(id) {
                pairs.push((a, b));
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            } else {
                complete = false;
            }
        }
        // Components numbered in the order of their lowest node.
        let mut component = vec![usize::MAX; n];
        let mut by_root = vec![usize::MAX; n];
        let mut members = Vec::new();
        for i in (0..n).filter(|&i| self.nodes[i].alive) {
            let r = root(&mut parent, i);
            if by_root[r] == usize::MAX {
                by_root[r] = members.len();
                members.push(0);
            }
            component[i] = by_root[r];
            members[by_root[r]] += 1;
        }
        let c = self.convergence.as_ref().expect("discovery runs");
        let mut expected = vec![Vec::new(); members.len()];
        for &(a, b) in &pairs {
            let (x, y) = (c.addresses[a], c.addresses[b]);
            expected[component[a]].extend([(x, y), (y, x)]);
        }
        for e in &mut expected {
            e.sort_unstable();
            // Parallel links join the same pair once.
            e.dedup();
        }
        let links = expected.iter().map(Vec::len).sum::<usize>() / 2;
        Truth {
            expected,
            members,
            component,
            links,
            complete,
        }
    }

    /// Whether every live node's database matches the truth, checking
    /// only what may have changed (see the module docs).
    fn all_match(&mut self, c: &mut Convergence) -> bool {
        let n = self.nodes.len();
        for k in 0..n {
            let i = (c.resume_at + k) % n;
            let slot = &self.nodes[i];
            if !slot.alive {
                continue;
            }
            let Some(db) = slot.node.topology() else {
                return false;
            };
            let stamp = (
                slot.incarnation,
                db.stats.accepted,
                db.stats.expired,
                c.truth_version,
            );
            let ok = match c.cache[i] {
                Some((s, ok)) if s == stamp => ok,
                _ => {
                    let comp = c.truth.component[i];
                    c.db_comparisons += 1;
                    let ok = matches(db, &c.truth.expected[comp], c.truth.members[comp]);
                    c.cache[i] = Some((stamp, ok));
                    ok
                }
            };
            if !ok {
                c.resume_at = i;
                return false;
            }
        }
        true
    }

    /// The periodic check (see the module docs).
    pub(super) fn check_convergence(&mut self) {
        let Some(mut c) = self.convergence.take() else {
            return;
        };
        if c.truth_dirty {
            c.truth_dirty = false;
            // `compute_truth` reads the addresses from `self`.
            self.convergence = Some(c);
            let truth = self.compute_truth();
            c = self.convergence.take().expect("put back above");
            if truth != c.truth {
                c.truth = truth;
                c.truth_version += 1;
            }
        }
        let matched = c.truth.links > 0 && self.all_match(&mut c);
        let settled = matched && c.truth.complete;
        let (mut adverts_sent, mut bytes_sent) = (0, 0);
        for (i, r) in c.retired.iter().enumerate() {
            adverts_sent += r.adverts_sent;
            bytes_sent += r.bytes_sent;
            if self.nodes[i].alive
                && let Some(s) = self.nodes[i].node.discovery_stats()
            {
                adverts_sent += s.adverts_sent;
                bytes_sent += s.bytes_sent;
            }
        }
        if settled {
            if c.first_settled.is_none() {
                c.first_settled = Some(self.now);
                c.bytes_at_first_settled = bytes_sent;
            }
            for ch in c.changes.iter_mut().filter(|ch| ch.settled_at.is_none()) {
                ch.settled_at = Some(self.now);
            }
        }
        c.samples.push(CheckSample {
            time: self.now,
            matched,
            settled,
            links: c.truth.links,
            adverts_sent,
            bytes_sent,
        });
        self.convergence = Some(c);
    }
}
