//! Metrics samples: every `metrics.interval` the engine records each
//! flow's progress, each link direction's counters, each node's route
//! entries, and each flow's route hop by hop.

use super::protocol::{Population, Protocol, RouteTotals};
use super::{DirCounters, World};
use node_core::Time;

/// A snapshot for the time series, taken every metrics interval.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When.
    pub time: Time,
    /// Per flow: (delivered messages, delivered bytes), cumulative.
    pub flows: Vec<(u64, u64)>,
    /// Per link direction (link, dir): counters, cumulative.
    pub links: Vec<(usize, usize, DirCounters)>,
    /// Per node: its route entries, summed (held bytes are a snapshot).
    pub routes: Vec<RouteTotals>,
    /// Per flow: its route's entry at each hop, origin first (empty while
    /// the flow has no route).
    pub hops: Vec<Vec<HopSample>>,
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
        let mut links = Vec::new();
        for (i, l) in self.links.links.iter().enumerate() {
            for (d, dir) in l.dirs.iter().enumerate() {
                if let Some(dir) = dir {
                    links.push((i, d, dir.counters.clone()));
                }
            }
        }
        let routes = self.nodes.iter().map(|n| n.node.route_totals()).collect();
        let hops = (0..self.sources.len())
            .map(|f| self.route_hops(f))
            .collect();
        self.samples.push(Sample {
            time: self.now,
            flows,
            links,
            routes,
            hops,
        });
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
