//! Metrics samples: every `metrics.interval` the engine records each
//! flow's progress, each link direction's counters, each node's route
//! entries, and each flow's route hop by hop.

use super::protocol::{Population, Protocol, RouteTotals};
use super::{DirCounters, World};
use node_core::Time;

/// A snapshot for the time series, taken every metrics interval.
///
/// Link directions and nodes are kept as changes: a sample holds the
/// counters of the directions and the route totals of the nodes that
/// changed since the sample before (an idle mesh of 10^5 nodes kept every
/// direction's counters every interval: memory that grew with the run).
/// [`World::link_series`] and [`World::route_series`] give them back whole.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When.
    pub time: Time,
    /// Per flow: (delivered messages, delivered bytes), cumulative.
    pub flows: Vec<(u64, u64)>,
    /// How many link directions existed (links are only ever added, so
    /// these are the first `links` of the end's list).
    links: usize,
    /// The directions whose counters changed, by position in that list.
    link_changes: Vec<(u32, DirCounters)>,
    /// The nodes whose route totals changed (held bytes are a snapshot).
    route_changes: Vec<(u32, RouteTotals)>,
    /// Per flow: its route's entry at each hop, origin first (empty while
    /// the flow has no route).
    pub hops: Vec<Vec<HopSample>>,
}

/// One sample's link directions whole: (link, direction, counters).
pub type LinkRows = Vec<(usize, usize, DirCounters)>;

/// The samples, and the route totals the next one is compared with (the
/// link directions say themselves whether their counters changed).
#[derive(Debug, Default)]
pub(super) struct Series {
    pub(super) samples: Vec<Sample>,
    routes_now: Vec<RouteTotals>,
}

/// One hop of a flow's route at a sample: the forward direction (origin to
/// destination) of that node's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopSample {
    /// The node.
    pub node: usize,
    /// Bytes held in its store-and-forward buffer (a snapshot).
    pub held: u64,
    /// Bytes it sent downstream the first time (cumulative).
    pub bytes_sent: u64,
    /// Bytes it sent downstream again after a loss (cumulative).
    pub bytes_retransmitted: u64,
    /// Time it waited for the next hop's credit (cumulative), ns.
    pub credit_stall_ns: u64,
}

impl<P: Population> World<P> {
    pub(super) fn take_sample(&mut self) {
        let flows = self
            .sources
            .iter()
            .map(|s| (s.stats.delivered_messages, s.stats.delivered_bytes))
            .collect();
        let series = &mut self.samples;
        let mut link_changes = Vec::new();
        let mut at = 0;
        for l in &mut self.links.links {
            for dir in l.dirs.iter_mut().flatten() {
                // A new direction starts from zero counters (as the series
                // gives them back): only a change is kept.
                if dir.take_unsampled() {
                    link_changes.push((at as u32, dir.counters().clone()));
                }
                at += 1;
            }
        }
        let mut route_changes = Vec::new();
        series
            .routes_now
            .resize(self.nodes.len(), RouteTotals::default());
        for (i, n) in self.nodes.iter().enumerate() {
            let t = n.node.route_totals();
            if t != series.routes_now[i] {
                series.routes_now[i] = t;
                route_changes.push((i as u32, t));
            }
        }
        // Kept for the whole run: no room beyond what they hold.
        link_changes.shrink_to_fit();
        route_changes.shrink_to_fit();
        let hops = (0..self.sources.len())
            .map(|f| self.route_hops(f))
            .collect();
        self.samples.samples.push(Sample {
            time: self.now,
            flows,
            links: at,
            link_changes,
            route_changes,
            hops,
        });
    }

    /// Each sample's link directions whole, in the order of
    /// [`Self::samples`]: (link, direction, counters) for every direction
    /// that existed then, in link order.
    pub fn link_series(&self) -> impl Iterator<Item = LinkRows> + '_ {
        let ids: Vec<(usize, usize)> = self
            .links
            .links
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                l.dirs
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.is_some())
                    .map(move |(d, _)| (i, d))
            })
            .collect();
        let mut now: Vec<DirCounters> = Vec::new();
        self.samples.samples.iter().map(move |s| {
            now.resize(s.links, DirCounters::default());
            for (at, c) in &s.link_changes {
                now[*at as usize] = c.clone();
            }
            ids.iter()
                .zip(&now)
                .map(|(&(l, d), c)| (l, d, c.clone()))
                .collect()
        })
    }

    /// Node `i`'s route totals at each sample, in the order of
    /// [`Self::samples`].
    pub fn route_series_of(&self, i: usize) -> impl Iterator<Item = RouteTotals> + '_ {
        let mut now = RouteTotals::default();
        self.samples.samples.iter().map(move |s| {
            if let Ok(k) = s.route_changes.binary_search_by_key(&(i as u32), |c| c.0) {
                now = s.route_changes[k].1;
            }
            now
        })
    }

    /// Each sample's route totals of every node, in the order of
    /// [`Self::samples`].
    pub fn route_series(&self) -> impl Iterator<Item = Vec<RouteTotals>> + '_ {
        let mut now = vec![RouteTotals::default(); self.nodes.len()];
        self.samples.samples.iter().map(move |s| {
            for (i, t) in &s.route_changes {
                now[*i as usize] = *t;
            }
            now.clone()
        })
    }

    /// Follows flow `f`'s route from its origin, hop by hop: each entry's
    /// link and route id downstream name the next node's entry. The
    /// simulator sees every node; no node knows more than its neighbours.
    fn route_hops(&self, f: usize) -> Vec<HopSample> {
        const FORWARD: usize = 0;
        let s = &self.sources[f];
        let mut out = Vec::new();
        let Some(route) = s.route else { return out };
        let mut node = s.spec.from;
        let mut info = self.nodes[node].node.route_info(route);
        while let Some(i) = info.take() {
            let dir = &i.sent[FORWARD];
            out.push(HopSample {
                node,
                held: i.held[FORWARD],
                bytes_sent: dir.bytes_sent,
                bytes_retransmitted: dir.bytes_retransmitted,
                credit_stall_ns: dir.credit_stall.as_nanos(),
            });
            let (Some(link), Some(id)) = (i.downstream, i.downstream_id) else {
                break;
            };
            // A link has the same id at both ends; its other end is the
            // next node. A path never visits a node twice.
            let spec = &self.links.links[link.0 as usize].spec;
            node = if spec.a == node { spec.b } else { spec.a };
            if out.len() > self.nodes.len() {
                break;
            }
            info = self.nodes[node].node.route_from_upstream(link, id);
        }
        out
    }
}
