//! The discrete-event engine.
//!
//! One queue of events ordered by a key derived from each event: (time,
//! who caused it, that origin's own sequence); see `queue`. Each node has one
//! pending wake-up that counts, the earliest it asked for: a `Timeout` that
//! moves earlier schedules a new one and the superseded event is skipped
//! when it pops (lazy cancellation); one that moves later waits for the
//! pending wake-up, which is then merely early. After every input a node is polled until `Timeout`, as
//! node-core's contract requires. Nodes never touch each other: everything
//! between them is a datagram that a link model turns into a scheduled
//! delivery (or a drop).

pub mod churn;
mod clock;
pub mod convergence;
mod discover;
mod gateway;
pub use gateway::UplinkStats;
pub mod fingerprint;
mod links;
pub mod pay;
pub mod population;
pub mod protocol;
pub mod queue;
pub mod rng;
mod sample;
mod sets;
mod sources;
mod tunnels;

use std::collections::BTreeMap;

use node_core::{Input, LinkId, Output, RouteHandle, Time};

use self::fingerprint::{Fingerprint, Step};
use self::links::InFlight;
pub use self::links::{DirCounters, LinkEnds, LinkState, Links};
use self::protocol::{Population, Protocol};
use self::queue::{EventQueue, Origin};
pub use self::sample::{HopSample, LinkRows, Sample};
pub use self::tunnels::TunnelRecord;
use crate::model::{FaultKind, Scenario, TrafficKind};
use crate::traffic::Source;

enum Ev {
    Deliver {
        link: u32,
        dir: u8,
        flight: InFlight,
        bytes: Vec<u8>,
    },
    Wake {
        node: u32,
    },
    Source {
        flow: u32,
    },
    Fault {
        index: u32,
        start: bool,
    },
    /// A scenario tunnel entry opens (or closes) its tunnel.
    TunnelPlan {
        index: u32,
        open: bool,
    },
    Sample,
    /// The discovery convergence check.
    ConvergenceCheck,
    /// The tunnel-mesh measurement.
    ChurnSample,
    /// A gateway's uplink finished sending a message.
    Uplink {
        node: u32,
    },
}

struct Slot<N> {
    node: N,
    alive: bool,
    incarnation: u32,
    /// The wake-up that counts; `NEVER` if none.
    wake_at: Time,
    /// The node's own clock (`"clocks"`): what it is given as the time.
    clock: clock::Clock,
}

impl<N: Protocol> Slot<N> {
    /// Gives the node an input at simulated time `now`, read on its clock.
    fn input(&mut self, now: Time, input: Input) {
        self.node.handle_input(self.clock.local(now), input);
    }

    /// Polls the node at simulated time `now`; a deadline it asks for comes
    /// back in simulated time.
    fn poll(&mut self, now: Time) -> Output {
        match self.node.poll_output(self.clock.local(now)) {
            Output::Timeout(at) => Output::Timeout(self.clock.global(at)),
            o => o,
        }
    }
}

/// Progress of a run, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Simulated time reached.
    pub now: Time,
    /// Events processed so far.
    pub events: u64,
}

/// A running simulation.
pub struct World<P: Population> {
    population: P,
    scenario: Scenario,
    now: Time,
    queue: EventQueue<Ev>,
    nodes: Vec<Slot<P::Node>>,
    links: Links,
    /// For each node: its links as (link id, link index, direction).
    node_links: Vec<Vec<(LinkId, usize, usize)>>,
    sources: Vec<Source>,
    bulk_by_node: Vec<Vec<u32>>,
    fingerprint: Fingerprint,
    events: u64,
    samples: sample::Series,
    /// Counters of crashed incarnations, per node.
    /// (Boxed: a node that never crashed pays a pointer, not the 184
    /// bytes of the counters.)
    retired: Vec<Option<Box<node_core::NodeStats>>>,
    /// Routes that end at a node, by the flow their first message named.
    dest_routes: BTreeMap<(usize, RouteHandle), u32>,
    /// Tunnels opened during the run, open or closed.
    tunnels: Vec<TunnelRecord>,
    /// Tunnel requests of the scenario's `tunnels` entries: (node,
    /// request) -> entry.
    plan_requests: BTreeMap<(usize, node_core::TunnelRequest), usize>,
    /// Faults in force on each underlay path group.
    path_groups: Vec<tunnels::PathGroupState>,
    /// Partition faults in force (indices in `scenario.faults`).
    partitions: std::collections::BTreeSet<usize>,
    /// The convergence measurement, when the nodes run discovery.
    convergence: Option<convergence::Convergence>,
    /// Each gateway's uplink to the Internet (`None`: not a gateway).
    uplinks: Vec<Option<gateway::Uplink>>,
    /// The churn registry and tunnel-mesh measurements.
    churn: Option<churn::ChurnWatch>,
    /// The escrow the engine runs for the nodes' payments.
    pay: Option<pay::PayWatch>,
}

/// The group of node `n` in a partition (nodes in no group form one more).
fn partition_group(groups: &[Vec<usize>], n: usize) -> usize {
    groups
        .iter()
        .position(|g| g.contains(&n))
        .unwrap_or(groups.len())
}

impl<P: Population> World<P> {
    /// Sets up a run: every node created and told about its links at time
    /// zero, sources, faults and samples scheduled.
    /// The scenario's links move into [`Self::links`]: afterwards
    /// `scenario().network.links` is empty (each spec is held once).
    pub fn new(mut scenario: Scenario, mut population: P) -> World<P> {
        let n = scenario.network.nodes.len();
        let addresses = match scenario.pay {
            Some(_) => (0..n)
                .map(|i| {
                    population
                        .public_key(i)
                        .map_or(node_core::Address([0; 16]), |k| node_core::Address::of(&k))
                })
                .collect(),
            None => Vec::new(),
        };
        let mut node_links = vec![Vec::new(); n];
        for (i, l) in scenario.network.links.iter().enumerate() {
            // A link is known by the same id at both ends: its index.
            node_links[l.a].push((LinkId(i as u64), i, 0));
            node_links[l.b].push((LinkId(i as u64), i, 1));
        }
        let specs = std::mem::take(&mut scenario.network.links);
        let nodes = (0..n)
            .map(|i| Slot {
                node: population.make(i, 0),
                alive: true,
                incarnation: 0,
                wake_at: Time::NEVER,
                clock: scenario
                    .clocks
                    .map_or_else(Default::default, |(offset, ppm)| {
                        clock::Clock::draw(scenario.seed, i, offset, ppm)
                    }),
            })
            .collect();
        let mut bulk_by_node = vec![Vec::new(); n];
        for (i, t) in scenario.traffic.iter().enumerate() {
            if matches!(t.kind, TrafficKind::Bulk { .. }) {
                bulk_by_node[t.from].push(i as u32);
            }
        }
        let mut world = World {
            links: Links::new(&scenario.network, specs, scenario.seed),
            sources: scenario
                .traffic
                .iter()
                .map(|t| Source::new(t.clone(), scenario.metrics_warmup))
                .collect(),
            population,
            now: Time::ZERO,
            queue: EventQueue::default(),
            nodes,
            node_links,
            bulk_by_node,
            fingerprint: Fingerprint::default(),
            events: 0,
            samples: sample::Series::default(),
            retired: vec![None; n],
            dest_routes: BTreeMap::new(),
            tunnels: Vec::new(),
            plan_requests: BTreeMap::new(),
            partitions: Default::default(),
            path_groups: vec![
                Default::default();
                scenario.underlay.as_ref().map_or(0, |u| u.groups.len())
            ],
            convergence: None,
            churn: scenario
                .churn
                .clone()
                .map(|p| churn::ChurnWatch::new(p, n, scenario.seed)),
            pay: scenario
                .pay
                .clone()
                .map(|p| pay::PayWatch::new(p, addresses, scenario.seed)),
            uplinks: (0..n)
                .map(|i| {
                    let d = scenario.discovery.as_ref()?;
                    let bps = d.gateway_bps(i);
                    (bps > 0).then(|| gateway::Uplink::new(bps, d.gateway_queue))
                })
                .collect(),
            scenario,
        };
        if let Some(plan) = &world.scenario.discovery {
            let addresses = (0..n)
                .map(|i| {
                    world
                        .population
                        .address(i)
                        .expect("nodes that run discovery have addresses")
                })
                .collect();
            world.convergence = Some(convergence::Convergence::new(
                plan.check_interval,
                addresses,
            ));
            world
                .queue
                .push(Time::ZERO, Origin::CONVERGENCE, Ev::ConvergenceCheck);
        }
        world.links.set_access(
            world
                .scenario
                .underlay
                .as_ref()
                .and_then(|u| u.access.clone()),
        );
        for (i, t) in world.scenario.tunnels.iter().enumerate() {
            let origin = Origin::fault(world.scenario.faults.len() + i);
            let index = i as u32;
            world.queue.push(
                Time::ZERO + t.at,
                origin,
                Ev::TunnelPlan { index, open: true },
            );
            if let Some(c) = t.close_at {
                let ev = Ev::TunnelPlan { index, open: false };
                world.queue.push(Time::ZERO + c, origin, ev);
            }
        }
        for (i, s) in world.scenario.traffic.iter().enumerate() {
            world.queue.push(
                Time::ZERO + s.start,
                Origin::flow(i),
                Ev::Source { flow: i as u32 },
            );
        }
        for (i, f) in world.scenario.faults.iter().enumerate() {
            world.queue.push(
                Time::ZERO + f.at,
                Origin::fault(i),
                Ev::Fault {
                    index: i as u32,
                    start: true,
                },
            );
            if let Some(d) = f.duration {
                world.queue.push(
                    Time::ZERO + f.at + d,
                    Origin::fault(i),
                    Ev::Fault {
                        index: i as u32,
                        start: false,
                    },
                );
            }
        }
        world.queue.push(Time::ZERO, Origin::SAMPLER, Ev::Sample);
        if world.churn.is_some() {
            world.queue.push(Time::ZERO, Origin::CHURN, Ev::ChurnSample);
        }
        for i in 0..n {
            world.bring_up_links(i);
        }
        world
    }

    fn bring_up_links(&mut self, i: usize) {
        for k in 0..self.node_links[i].len() {
            let (link, index, dir) = self.node_links[i][k];
            let state = &self.links.links[index];
            let spec = &state.spec;
            let peer = if dir == 0 { spec.b } else { spec.a };
            let params = |d: usize| state.dirs[d].as_ref().map(|x| x.channel.params());
            let out = params(dir);
            // The receiving end of a one-way link still knows the link: it
            // just cannot answer on it.
            let mtu = out.or(params(0)).map_or(0, |p| p.mtu);
            // Like a network interface, the driver knows the rate of what it
            // sends on; the node paces to it (nothing on a one-way link's
            // missing direction).
            let rate_bps = out.map(|p| p.bandwidth_bps);
            let peer_key = self.population.public_key(peer);
            let input = Input::LinkUp {
                link,
                peer_key,
                mtu,
                rate_bps,
            };
            self.nodes[i].input(self.now, input);
        }
        self.drive(i);
    }

    /// Runs until the queue is empty or simulated time passes `until`;
    /// `progress` is called now and then.
    pub fn run(&mut self, until: Time, progress: &mut dyn FnMut(Progress)) {
        while let Some(t) = self.queue.peek_time() {
            if t > until {
                break;
            }
            let (t, ev) = self.queue.pop().expect("peeked");
            self.now = t;
            self.events += 1;
            if self.events & 0xFFFF == 0 {
                progress(Progress {
                    now: t,
                    events: self.events,
                });
            }
            self.handle(ev);
        }
        self.now = self.now.max(until);
        self.settle_pay();
        progress(Progress {
            now: self.now,
            events: self.events,
        });
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                link,
                dir,
                flight,
                bytes,
            } => self.deliver(link as usize, dir as usize, flight, bytes),
            Ev::Wake { node } => {
                let i = node as usize;
                let slot = &mut self.nodes[i];
                if !slot.alive || slot.wake_at != self.now {
                    return; // superseded by an earlier wake-up, or the node crashed
                }
                slot.wake_at = Time::NEVER;
                self.fingerprint.record(self.now, i, Step::Wake, 0);
                slot.input(self.now, Input::Timeout);
                self.drive(i);
            }
            Ev::Source { flow } => self.run_source(flow as usize),
            Ev::Fault { index, start } => self.apply_fault(index as usize, start),
            Ev::TunnelPlan { index, open } => self.run_tunnel_plan(index as usize, open),
            Ev::Sample => {
                self.take_sample();
                self.settle_pay();
                let next = self.now + self.scenario.metrics_interval;
                if next <= Time::ZERO + self.scenario.duration {
                    self.queue.push(next, Origin::SAMPLER, Ev::Sample);
                }
            }
            Ev::Uplink { node } => self.uplink_done(node as usize),
            Ev::ChurnSample => {
                self.sample_mesh();
                let every = self.churn.as_ref().map(|w| w.plan.sample);
                if let Some(next) = every.map(|d| self.now + d)
                    && next <= Time::ZERO + self.scenario.duration
                {
                    self.queue.push(next, Origin::CHURN, Ev::ChurnSample);
                }
            }
            Ev::ConvergenceCheck => {
                self.check_convergence();
                let interval = self.convergence.as_ref().map(|c| c.interval());
                if let Some(next) = interval.map(|d| self.now + d)
                    && next <= Time::ZERO + self.scenario.duration
                {
                    self.queue
                        .push(next, Origin::CONVERGENCE, Ev::ConvergenceCheck);
                }
            }
        }
    }

    fn deliver(&mut self, link: usize, dir: usize, flight: InFlight, bytes: Vec<u8>) {
        let spec = &self.links.links[link].spec;
        let to = if dir == 0 { spec.b } else { spec.a };
        if !self.nodes[to].alive {
            self.links.drop_at_dead_node(link, dir);
            self.fingerprint
                .record(self.now, to, Step::Drop, bytes.len());
            return;
        }
        if self.links.arrive(link, dir, &flight, bytes.len()).is_err() {
            self.fingerprint
                .record(self.now, to, Step::Drop, bytes.len());
            return;
        }
        self.fingerprint
            .record(self.now, to, Step::Deliver, bytes.len());
        let input = Input::Datagram {
            link: LinkId(link as u64),
            bytes,
        };
        self.nodes[to].input(self.now, input);
        self.drive(to);
    }

    /// Polls node `i` until it has nothing more to do now.
    fn drive(&mut self, i: usize) {
        loop {
            let out = self.nodes[i].poll(self.now);
            match out {
                Output::Transmit { link, bytes } => self.transmit(i, link, bytes),
                Output::Event(e) => self.on_event(i, e),
                Output::OpenTunnel {
                    request, locator, ..
                } => self.open_tunnel(i, request, locator),
                Output::CloseTunnel { link } => self.close_tunnel(i, link),
                Output::WantPeers { count } => self.want_peers(i, count),
                Output::Timeout(at) => {
                    if self.top_up_bulk(i) {
                        continue;
                    }
                    // Only an earlier deadline needs a new wake-up: if it
                    // moved later, the pending one fires early, which the
                    // contract allows, and the node is rescheduled then.
                    // (Pushing every move fills the heap with stale wakes.)
                    let slot = &mut self.nodes[i];
                    let at = at.max(self.now);
                    if at < slot.wake_at {
                        slot.wake_at = at;
                        self.queue
                            .push(at, Origin::node(i), Ev::Wake { node: i as u32 });
                    }
                    return;
                }
            }
        }
    }

    fn transmit(&mut self, i: usize, link: LinkId, mut bytes: Vec<u8>) {
        const SMALL_DATAGRAM: usize = 256;
        // A datagram is built in room for a whole one (the link's MTU) and
        // waits in the queue for its flight time: a million links' acks,
        // keepalives and rekeys in flight held 1.4 kB each. A small one
        // moves to a buffer of its size (a shrink in place of every
        // datagram cost bench-chain32 12%; this, nothing measurable).
        if bytes.len() <= SMALL_DATAGRAM && bytes.capacity() > 2 * SMALL_DATAGRAM {
            bytes = bytes.as_slice().to_vec();
        }
        let Some(&(_, index, dir)) = self.node_links[i].iter().find(|(id, _, _)| *id == link)
        else {
            // A node may only use links it was given; anything else is a bug
            // in the node, which the fingerprint makes visible.
            self.fingerprint
                .record(self.now, i, Step::Drop, bytes.len());
            return;
        };
        self.fingerprint
            .record(self.now, i, Step::Transmit, bytes.len());
        match self.links.transmit(self.now, index, dir, bytes.len()) {
            Ok(flight) => {
                let at = flight.at;
                self.queue.push(
                    at,
                    Origin::node(i),
                    Ev::Deliver {
                        link: index as u32,
                        dir: dir as u8,
                        flight,
                        bytes,
                    },
                );
            }
            Err(_) => self
                .fingerprint
                .record(self.now, i, Step::Drop, bytes.len()),
        }
    }

    fn apply_fault(&mut self, index: usize, start: bool) {
        let fault = self.scenario.faults[index].clone();
        self.fingerprint
            .record(self.now, index, Step::Fault, start as usize);
        let topology = !matches!(
            fault.kind,
            FaultKind::LatencyChange { .. } | FaultKind::PathGroupLatency { .. }
        );
        // A crash of a node that is down, or a restart of one that is up,
        // changes nothing.
        let moot =
            matches!(fault.kind, FaultKind::NodeCrash { node } if self.nodes[node].alive != start);
        if topology && !moot {
            self.topology_changed_by_fault(index, start);
        }
        match fault.kind {
            FaultKind::LinkDown { link } => self.links.hold_down(link, start, self.now),
            FaultKind::LatencyChange { link, extra } => {
                let extra = if start {
                    extra
                } else {
                    node_core::Duration::ZERO
                };
                self.links.set_extra_latency(link, extra);
            }
            FaultKind::Partition { groups } => {
                // Tunnels opened while it lasts are cut too (at opening).
                if start {
                    self.partitions.insert(index);
                } else {
                    self.partitions.remove(&index);
                }
                for l in 0..self.links.links.len() {
                    let s = &self.links.links[l].spec;
                    if partition_group(&groups, s.a) != partition_group(&groups, s.b) {
                        self.links.hold_down(l, start, self.now);
                    }
                }
            }
            FaultKind::PathGroupDown { group } => self.path_group_fault(group, start, None),
            FaultKind::PathGroupLatency { group, extra } => {
                self.path_group_fault(group, start, Some(extra))
            }
            FaultKind::NodeCrash { node } => {
                if start && self.nodes[node].alive {
                    self.retire_discovery(node);
                    self.close_tunnels_of(node);
                    let slot = &mut self.nodes[node];
                    slot.alive = false;
                    // What waited for its uplink is lost with it.
                    if let Some(u) = self.uplinks[node].as_mut() {
                        *u = u.emptied();
                    }
                    slot.wake_at = Time::NEVER;
                    if let Some(s) = slot.node.stats() {
                        let r = self.retired[node].get_or_insert_with(|| {
                            Box::new(node_core::NodeStats {
                                suite: s.suite,
                                ..Default::default()
                            })
                        });
                        r.links += s.links;
                        r.unknown_link += s.unknown_link;
                    }
                } else if !self.nodes[node].alive {
                    let incarnation = self.nodes[node].incarnation + 1;
                    let clock = self.nodes[node].clock;
                    self.nodes[node] = Slot {
                        node: self.population.make(node, incarnation),
                        alive: true,
                        incarnation,
                        wake_at: Time::NEVER,
                        clock,
                    };
                    self.bring_up_links(node);
                }
            }
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Events processed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The trajectory fingerprint so far.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Traffic sources with their measurements.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Links with their counters.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The time series samples.
    pub fn samples(&self) -> &[Sample] {
        &self.samples.samples
    }

    /// Node `i` (its current incarnation).
    pub fn node(&self, i: usize) -> &P::Node {
        &self.nodes[i].node
    }

    /// How many times node `i` restarted.
    pub fn incarnation(&self, i: usize) -> u32 {
        self.nodes[i].incarnation
    }

    /// Node `i`'s counters over all its incarnations.
    pub fn node_stats(&self, i: usize) -> Option<node_core::NodeStats> {
        let mut s = self.nodes[i].node.stats()?;
        if !self.nodes[i].alive {
            // A node down for good still holds its last incarnation, whose
            // counters were retired when it crashed.
            s.links = Default::default();
            s.unknown_link = 0;
        }
        if let Some(r) = &self.retired[i] {
            s.links += r.links;
            s.unknown_link += r.unknown_link;
        }
        Some(s)
    }
}
