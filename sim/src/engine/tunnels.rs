//! Tunnels at run time: the engine's side of `Output::OpenTunnel` and
//! `Output::CloseTunnel`, over the scenario's underlay.
//!
//! A node asks for a tunnel to a locator (`Locator::Underlay(node)`); the
//! engine makes a new link between the two nodes whose directions follow
//! the underlay's path between them, behind each sender's shared access
//! link, answers the asking node with `Input::TunnelOpened` and gives the
//! other `Input::IncomingTunnel` (its core decides whether to accept). A
//! node that is done with a tunnel says `Output::CloseTunnel`: the engine
//! destroys it (what is in flight is lost) and tells the other end
//! `Input::LinkDown`. Every tunnel is recorded with its open and close
//! times for `summary.json`.

use node_core::{Input, LinkId, Locator, Time, TunnelFailure, TunnelRequest};

use super::World;
use super::fingerprint::Step;
use super::protocol::{Population, Protocol};
use crate::model::{LinkSpec, Medium};

/// A tunnel of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelRecord {
    /// Its link index (as in the link tables).
    pub link: usize,
    /// The node that asked for it.
    pub a: usize,
    /// The node it was opened to.
    pub b: usize,
    /// When it opened.
    pub opened_at: Time,
    /// When it was destroyed, and by which node (or by a crash of it).
    pub closed: Option<(Time, usize)>,
    /// The scenario's `tunnels` entry that asked for it, if one did.
    pub plan: Option<usize>,
}

impl<P: Population> World<P> {
    /// The scenario's tunnel plan `index` is due: its node asks for the
    /// tunnel (`open`), or closes it gracefully.
    pub(super) fn run_tunnel_plan(&mut self, index: usize, open: bool) {
        let plan = self.scenario.tunnels[index].clone();
        if !self.nodes[plan.from].alive {
            return;
        }
        if open {
            let Some(peer) = self.population.public_key(plan.to) else {
                return;
            };
            let locator = Locator::Underlay(plan.to as u64);
            if let Ok(request) = self.nodes[plan.from].node.open_tunnel(peer, locator) {
                self.plan_requests.insert((plan.from, request), index);
            }
        } else if let Some(t) = self
            .tunnels
            .iter()
            .find(|t| t.plan == Some(index) && t.closed.is_none())
        {
            let link = LinkId(t.link as u64);
            let close = Input::Command(node_core::Command::Close { link });
            self.nodes[plan.from].input(self.now, close);
        }
        self.drive(plan.from);
    }

    /// Node `i` asks for a tunnel.
    pub(super) fn open_tunnel(&mut self, i: usize, request: TunnelRequest, locator: Locator) {
        let plan = self.plan_requests.remove(&(i, request));
        let to = match locator {
            Locator::Underlay(to) => to as usize,
            Locator::Socket(_) => usize::MAX,
        };
        let reachable = self.scenario.underlay.is_some()
            && to < self.nodes.len()
            && to != i
            && self.nodes[to].alive;
        if !reachable {
            let reason = TunnelFailure::Unreachable;
            let input = Input::TunnelFailed { request, reason };
            self.nodes[i].input(self.now, input);
            return;
        }
        let underlay = self.scenario.underlay.as_ref().expect("checked");
        let nodes = &self.scenario.network.nodes;
        let (ab, ba) = (underlay.path(i, to, nodes), underlay.path(to, i, nodes));
        // What each end may send at: its path, or its access link if slower.
        let rate = |p: &crate::model::ChannelParams| {
            let access = underlay
                .access
                .as_ref()
                .map_or(u64::MAX, |a| a.bandwidth_bps);
            p.bandwidth_bps.min(access)
        };
        let (rate_ab, rate_ba, mtu) = (rate(&ab), rate(&ba), ab.mtu.min(ba.mtu));
        let index = self.links.add_tunnel(LinkSpec {
            a: i,
            b: to,
            ab,
            ba: Some(ba),
            medium: Medium::Tunnel,
        });
        let link = LinkId(index as u64);
        self.node_links[i].push((link, index, 0));
        self.node_links[to].push((link, index, 1));
        self.tunnels.push(TunnelRecord {
            link: index,
            a: i,
            b: to,
            opened_at: self.now,
            closed: None,
            plan,
        });
        self.fingerprint.record(self.now, i, Step::Tunnel, index);
        if let Some(c) = self.convergence.as_mut() {
            c.topology_may_change();
        }
        // A path that is down or slow now is so for a new tunnel too.
        let groups: Vec<usize> = underlay.groups_of(i, to, nodes).collect();
        let mut extra = node_core::Duration::ZERO;
        for g in groups {
            if self.path_groups[g].down > 0 {
                self.links.hold_down(index, true, self.now);
            }
            extra = extra + self.path_groups[g].extra;
        }
        if extra > node_core::Duration::ZERO {
            self.links.set_extra_latency(index, extra);
        }
        for &f in &self.partitions {
            if let crate::model::FaultKind::Partition { groups } = &self.scenario.faults[f].kind
                && super::partition_group(groups, i) != super::partition_group(groups, to)
            {
                self.links.hold_down(index, true, self.now);
            }
        }
        let opened = Input::TunnelOpened {
            request,
            link,
            mtu,
            rate_bps: Some(rate_ab),
        };
        self.nodes[i].input(self.now, opened);
        let incoming = Input::IncomingTunnel {
            link,
            mtu,
            rate_bps: Some(rate_ba),
            offered: None,
        };
        self.nodes[to].input(self.now, incoming);
        self.drive(to);
    }

    /// Destroys tunnel `link` on node `by`'s word (or its crash); the other
    /// end hears `LinkDown` (`by` is done with it already).
    pub(super) fn close_tunnel(&mut self, by: usize, link: LinkId) {
        let index = link.0 as usize;
        // Records are in the order tunnels opened, which is link order.
        let Ok(k) = self.tunnels.binary_search_by_key(&index, |t| t.link) else {
            return;
        };
        let t = &mut self.tunnels[k];
        if t.closed.is_some() {
            return;
        }
        if t.a != by && t.b != by {
            return;
        }
        t.closed = Some((self.now, by));
        let other = if t.a == by { t.b } else { t.a };
        self.links.close_tunnel(index, self.now);
        for n in [by, other] {
            self.node_links[n].retain(|&(l, _, _)| l != link);
        }
        self.fingerprint.record(self.now, by, Step::Tunnel, index);
        self.topology_may_change();
        let down = Input::LinkDown { link };
        if self.nodes[other].alive {
            self.nodes[other].input(self.now, down);
            self.drive(other);
        }
    }

    /// Node `i` crashed: its tunnels go with it.
    pub(super) fn close_tunnels_of(&mut self, i: usize) {
        let open: Vec<LinkId> = self
            .tunnels
            .iter()
            .filter(|t| t.closed.is_none() && (t.a == i || t.b == i))
            .map(|t| LinkId(t.link as u64))
            .collect();
        for link in open {
            self.close_tunnel(i, link);
        }
    }

    /// Every tunnel of the run so far.
    pub fn tunnels(&self) -> &[TunnelRecord] {
        &self.tunnels
    }
}

/// A path group's faults now.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PathGroupState {
    /// Down faults in force.
    pub down: u32,
    /// Latency its latency faults add, summed.
    pub extra: node_core::Duration,
}

impl<P: Population> World<P> {
    /// A path group fault starts (or ends): the open tunnels across the
    /// group's paths go down or get the latency (later ones at opening).
    pub(super) fn path_group_fault(
        &mut self,
        group: usize,
        start: bool,
        extra: Option<node_core::Duration>,
    ) {
        let g = &mut self.path_groups[group];
        let edge = match extra {
            None => {
                let before = g.down;
                g.down = if start {
                    g.down + 1
                } else {
                    g.down.saturating_sub(1)
                };
                (before == 0) != (g.down == 0)
            }
            Some(d) => {
                g.extra = if start {
                    g.extra + d
                } else {
                    node_core::Duration::from_nanos(g.extra.as_nanos().saturating_sub(d.as_nanos()))
                };
                true
            }
        };
        if !edge {
            return;
        }
        let underlay = self
            .scenario
            .underlay
            .as_ref()
            .expect("path groups need an underlay");
        let nodes = &self.scenario.network.nodes;
        for t in self.tunnels.iter().filter(|t| t.closed.is_none()) {
            if !underlay.groups_of(t.a, t.b, nodes).any(|x| x == group) {
                continue;
            }
            match extra {
                None => self.links.hold_down(t.link, start, self.now),
                Some(_) => {
                    let sum = underlay
                        .groups_of(t.a, t.b, nodes)
                        .fold(node_core::Duration::ZERO, |s, x| {
                            s + self.path_groups[x].extra
                        });
                    self.links.set_extra_latency(t.link, sum);
                }
            }
        }
    }
}
