//! The resolved model of a scenario: what a scenario file describes once its
//! generator ran, defaults were applied and every index was checked.
//!
//! The scenario layer (`scenario`, `topology`) produces these types; the
//! engine and the link models (`channel`) consume them. Nothing here knows
//! about JSON.

use node_core::{Class, Duration};

/// The network: nodes, links and shared media.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Nodes; a node's index is its id everywhere (traffic, faults, results).
    pub nodes: Vec<NodeSpec>,
    /// Links between nodes, in a stable order (generator order).
    pub links: Vec<LinkSpec>,
    /// The shared radio medium, when the topology has wifi links.
    pub wifi: Option<WifiSpec>,
    /// SONET rings with protection switching.
    pub sonet_rings: Vec<SonetRingSpec>,
    /// Links whose latency the importer derived from the distance between
    /// their ends (no latency in the file), in link order.
    pub derived_latency: Vec<usize>,
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// A name for reports ("n3", or the label of an imported graph).
    pub name: String,
    /// Position in metres, for geometric (wifi) topologies.
    pub position: Option<[f64; 2]>,
    /// Latitude and longitude in degrees, for imported maps.
    pub geo: Option<[f64; 2]>,
    /// Its role in the topology.
    pub role: NodeRole,
}

/// What a node is in its topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    /// An ordinary node.
    Host,
    /// A city node on a SONET ring.
    City,
    /// An access node hanging off a city.
    Access,
}

/// A link between two nodes; each direction has its own channel.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    /// One end.
    pub a: usize,
    /// The other end.
    pub b: usize,
    /// The channel from `a` to `b`.
    pub ab: ChannelParams,
    /// The channel from `b` to `a`; `None` for a one-way link (nothing can
    /// be sent from `b` to `a`).
    pub ba: Option<ChannelParams>,
    /// What carries the link.
    pub medium: Medium,
}

/// What carries a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// A point-to-point wire (or a tunnel): each direction is independent.
    Wired,
    /// The shared radio medium of [`Network::wifi`].
    Wifi,
    /// A tunnel across the underlay, opened at run time: each direction
    /// independent, behind the sender's access link.
    Tunnel,
    /// Span `span` of SONET ring `ring` (span i joins `cities[i]` and
    /// `cities[(i + 1) % n]`).
    SonetSpan {
        /// Index into [`Network::sonet_rings`].
        ring: usize,
        /// The span's position on the ring.
        span: usize,
    },
}

/// One direction of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelParams {
    /// Serialization rate in bits per second (> 0).
    pub bandwidth_bps: u64,
    /// Propagation latency.
    pub latency: Duration,
    /// Extra delay drawn uniformly in [0, jitter] per datagram.
    pub jitter: Duration,
    /// Whether jitter may reorder datagrams. If not, a datagram never
    /// arrives before the one sent before it on the same channel.
    pub reorder: bool,
    /// Drop-tail queue capacity in bytes (datagrams waiting to be serialized,
    /// not counting the one being serialized).
    pub queue_bytes: u64,
    /// The largest datagram the channel carries.
    pub mtu: usize,
    /// Random loss.
    pub loss: LossModel,
}

/// Random loss of a channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossModel {
    /// Nothing is lost at random.
    None,
    /// Each datagram is lost independently with probability `p`.
    Bernoulli {
        /// Loss probability in [0, 1].
        p: f64,
    },
    /// Two-state Markov chain, stepped once per datagram: in the good state
    /// datagrams are lost with `loss_good`, in the bad state with `loss_bad`.
    GilbertElliott {
        /// Probability of moving from good to bad, per datagram.
        p_good_to_bad: f64,
        /// Probability of moving from bad to good, per datagram.
        p_bad_to_good: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

/// The shared radio medium of a geometric topology.
#[derive(Debug, Clone, PartialEq)]
pub struct WifiSpec {
    /// Nodes closer than this (metres) are linked.
    pub radio_range: f64,
    /// A transmission keeps every node closer than this to its sender from
    /// transmitting (carrier sense), and corrupts any other frame arriving at
    /// a receiver closer than this to it (collision). At least `radio_range`.
    pub interference_range: f64,
    /// Loss of a frame between nodes at distance zero.
    pub loss_near: f64,
    /// Loss of a frame between nodes at `radio_range`; in between, loss
    /// grows with the square of the distance.
    pub loss_at_range: f64,
    /// Virtual carrier sense (802.11's RTS/CTS exchange, idealized): a frame
    /// also waits while its receiver hears a sender, and while its sender or
    /// receiver is within `radio_range` of a node receiving a frame (it
    /// heard that receiver's CTS). Hidden terminals beyond the radio range
    /// of a receiver still collide.
    pub rts_cts: bool,
}

/// A SONET ring: city nodes in ring order, joined by spans.
#[derive(Debug, Clone, PartialEq)]
pub struct SonetRingSpec {
    /// Node indices of the cities, in ring order.
    pub cities: Vec<usize>,
    /// Link index of span i (between `cities[i]` and `cities[(i+1) % n]`).
    pub spans: Vec<usize>,
    /// Time from a fiber cut to traffic flowing around the other way.
    pub switch_time: Duration,
}

/// A traffic source between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSpec {
    /// A name for reports (`"flow0"` unless given).
    pub name: String,
    /// The sending node.
    pub from: usize,
    /// The receiving node; `None`: the nearest gateway, as the origin's
    /// topology database finds it (then `discover` is set).
    pub to: Option<usize>,
    /// The route: every node from `from` to `to`, both included; empty when
    /// the origin finds its own path (`discover`).
    pub path: Vec<usize>,
    /// The origin asks its own topology database for the path when the
    /// flow starts (`"path": "discover"`), and again for every route that
    /// replaces a broken one.
    pub discover: bool,
    /// Stream or datagrams.
    pub transport: node_core::RouteKind,
    /// Service channel (not 0).
    pub channel: u16,
    /// Service class.
    pub class: Class,
    /// When the source starts.
    pub start: Duration,
    /// When it stops offering new data (`None`: the end of the run).
    pub stop: Option<Duration>,
    /// What it sends.
    pub kind: TrafficKind,
    /// Messages must arrive within this of being offered to count as on
    /// time (the on-time ratio; ITU-T G.114 gives 150 ms one-way for voice).
    pub deadline: Option<Duration>,
    /// A route set (several routes at once) instead of one route; only
    /// with `discover`.
    pub routes: Option<node_core::SetSpec>,
}

/// What a traffic source sends.
#[derive(Debug, Clone, PartialEq)]
pub enum TrafficKind {
    /// A transfer of `size` bytes in messages of `message` bytes, as fast as
    /// the link takes them.
    Bulk {
        /// Total bytes.
        size: u64,
        /// Bytes per message.
        message: usize,
    },
    /// Constant bit rate (VoIP-like): one `message`-byte message every
    /// `message * 8 / rate` seconds.
    Cbr {
        /// Bits per second of payload.
        rate_bps: u64,
        /// Bytes per message.
        message: usize,
    },
    /// The source sends a `request`-byte message every `interval`; the
    /// destination answers each with a `response`-byte message.
    RequestResponse {
        /// Bytes per request.
        request: usize,
        /// Bytes per response.
        response: usize,
        /// Time between requests.
        interval: Duration,
        /// Number of requests (`None`: until `stop`).
        count: Option<u64>,
    },
}

/// A fault injected at a given time.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// When it starts.
    pub at: Duration,
    /// How long it lasts (`None`: until the end of the run).
    pub duration: Option<Duration>,
    /// What it does.
    pub kind: FaultKind,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Link `link` goes down (both directions), then up again.
    LinkDown {
        /// Link index.
        link: usize,
    },
    /// The node crashes (its state is lost), then restarts with the same key.
    NodeCrash {
        /// Node index.
        node: usize,
    },
    /// Every link between nodes of different groups goes down.
    Partition {
        /// Groups of node indices; nodes in no group form one more group.
        groups: Vec<Vec<usize>>,
    },
    /// Every underlay path of group `group` goes down (the tunnels across
    /// them, open or opened meanwhile), then up again.
    PathGroupDown {
        /// Index in `Underlay::groups`.
        group: usize,
    },
    /// Every underlay path of group `group` gets `extra` latency.
    PathGroupLatency {
        /// Index in `Underlay::groups`.
        group: usize,
        /// Added latency.
        extra: Duration,
    },
    /// Both directions of `link` get `extra` latency.
    LatencyChange {
        /// Link index.
        link: usize,
        /// Added latency.
        extra: Duration,
    },
}

/// A whole scenario, resolved and checked.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it studies.
    pub description: String,
    /// The root seed of every random stream.
    pub seed: u64,
    /// Simulated time to run.
    pub duration: Duration,
    /// Interval of the time series.
    pub metrics_interval: Duration,
    /// Deliveries before this time do not count towards goodput: the
    /// steady state of a flow, without the time its path takes to fill.
    pub metrics_warmup: Duration,
    /// The node configuration (crypto suite, timers, windows).
    pub protocol: node_core::Config,
    /// The network.
    pub network: Network,
    /// Traffic sources.
    pub traffic: Vec<TrafficSpec>,
    /// Faults.
    pub faults: Vec<FaultSpec>,
    /// The network between nodes that tunnels cross, if the scenario has
    /// one.
    pub underlay: Option<Underlay>,
    /// Tunnels the nodes are asked to open (and close) during the run.
    pub tunnels: Vec<TunnelPlan>,
    /// What the engine does for discovery, when the nodes run it
    /// (`protocol.discovery` is then set).
    /// Each node's clock: offsets drawn in `0 ..= .0` ns and drifts in
    /// `-.1 ..= .1` ppm (`None`: every node reads the engine's time).
    pub clocks: Option<(u64, u32)>,
    pub discovery: Option<DiscoveryPlan>,
    /// The tunnel manager's nodes and the tunnel-mesh measurements, when
    /// the scenario has a `churn` section (node-core's settings are in
    /// `protocol.churn`).
    pub churn: Option<ChurnPlan>,
    /// Payments (issue 15), when the scenario has a `pay` section (each
    /// node's terms go into its `Config::pay`).
    pub pay: Option<PayPlan>,
}

/// The engine's side of payments: each node's terms, how origins pay,
/// and the escrow the engine runs for them.
#[derive(Debug, Clone, PartialEq)]
pub struct PayPlan {
    /// Each node's terms as a relay (`None`: it relays for free).
    pub terms: Vec<Option<node_core::pay::RelayTerms>>,
    /// How origins pay.
    pub pricing: node_core::pay::OriginPricing,
    /// The escrow's fee, parts per million of each redemption.
    pub fee_ppm: u32,
    /// Droplets each node deposits into each pseudonymous account it
    /// opens as an origin.
    pub deposits: Vec<u64>,
    /// Relays that present every receipt twice (a replay the escrow must
    /// refuse).
    pub replayers: Vec<bool>,
    /// Relays withdraw their balance once it reaches 1 coin.
    pub withdraw: bool,
    /// The escrow answers relays' balance checks.
    pub check: bool,
}

/// The engine's side of churn: which nodes run the tunnel manager and
/// how the tunnel mesh is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnPlan {
    /// The nodes that run the tunnel manager, in order.
    pub nodes: Vec<usize>,
    /// Whether they flood routing adverts over their tunnels.
    pub adverts: bool,
    /// Interval of the tunnel-mesh measurements.
    pub sample: Duration,
    /// Up to this many nodes `avg_path_hops` is exact; above, it comes
    /// from BFS out of `sources` seeded random nodes.
    pub exact_up_to: usize,
    /// Sampled BFS sources on larger meshes.
    pub sources: usize,
    /// re6st's n-order mesh (absent: one mesh, no `churn.meshes` key).
    pub meshes: Option<MeshPlan>,
}

impl Scenario {
    /// A scenario of `network` alone, run for `duration` with `protocol`:
    /// no traffic, faults, underlay, tunnels, discovery, churn, payments
    /// or clocks (benchmarks and model checks build on it).
    pub fn bare(
        name: &str,
        seed: u64,
        network: Network,
        protocol: node_core::Config,
        duration: Duration,
    ) -> Scenario {
        Scenario {
            name: name.into(),
            description: String::new(),
            seed,
            duration,
            metrics_interval: duration,
            metrics_warmup: Duration::ZERO,
            protocol,
            network,
            traffic: Vec::new(),
            faults: Vec::new(),
            underlay: None,
            tunnels: Vec::new(),
            discovery: None,
            churn: None,
            pay: None,
            clocks: None,
        }
    }

    /// Sets the run's seed, and draws again what resolving drew from the
    /// scenario's seed for the run (the n-order mesh membership; a
    /// generated topology stays as loaded).
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        if let Some(c) = &mut self.churn
            && let Some(m) = &mut c.meshes
        {
            m.draw(&c.nodes, seed);
        }
    }
}

/// An n-order mesh (`churn.meshes`): which meshes each node belongs to.
/// A node in two meshes is a *border* node.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshPlan {
    /// 1 (one mesh) or 2 (re6st's 2-order mesh).
    pub order: u8,
    /// Meshes, ids `0..count`.
    pub count: u16,
    /// The share of each mesh's nodes that also join another mesh.
    pub border_share: f64,
    /// Each node's meshes, ascending, by node index (empty: a node that
    /// runs no tunnel manager).
    pub membership: Vec<Vec<u16>>,
}

impl MeshPlan {
    /// The members of each mesh, ascending node indices.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); usize::from(self.count)];
        for (i, ms) in self.membership.iter().enumerate() {
            for &m in ms {
                out[usize::from(m)].push(i);
            }
        }
        out
    }

    /// Nodes in more than one mesh.
    pub fn border_nodes(&self) -> usize {
        self.membership.iter().filter(|m| m.len() > 1).count()
    }
}

/// The engine's side of discovery: how it measures convergence, how
/// flows wait for a path, and which nodes are gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryPlan {
    /// Interval of the convergence check.
    pub check_interval: Duration,
    /// Wait between a discovering flow's tries to find a path.
    pub path_retry: Duration,
    /// How long after its start a flow keeps trying.
    pub path_wait: Duration,
    /// Gateways: (node, advertised capacity in bits/s), by node.
    pub gateways: Vec<(usize, u64)>,
    /// The latency-pulse group's nodes, ascending (empty: no pulses).
    pub pulse_group: Vec<usize>,
    /// Bytes each class (own, relayed) of a gateway's uplink queues.
    pub gateway_queue: usize,
}

impl DiscoveryPlan {
    /// Node `i`'s advertised gateway capacity (0: not a gateway).
    pub fn gateway_bps(&self, i: usize) -> u64 {
        self.gateways
            .binary_search_by_key(&i, |g| g.0)
            .map_or(0, |k| self.gateways[k].1)
    }
}

/// The underlay: the network between nodes (the Internet) that tunnels
/// cross. A pair's path is computed when a tunnel opens, never for every
/// pair, so large populations cost nothing until they open tunnels.
#[derive(Debug, Clone, PartialEq)]
pub struct Underlay {
    /// The path between any two nodes, each direction (latency, bandwidth,
    /// loss of the path itself).
    pub path: ChannelParams,
    /// Paths that differ, by node pair (a, b) with a < b; both directions.
    /// Sorted by pair.
    pub pairs: Vec<((usize, usize), ChannelParams)>,
    /// Each node's access link (its uplink, shared by all its tunnels):
    /// bandwidth and queue; `None` for no shared bottleneck.
    pub access: Option<ChannelParams>,
    /// Latency added per km of straight-line distance between the ends'
    /// positions (paths not listed in `pairs`, both ends with a position).
    pub latency_per_km: Option<Duration>,
    /// Sets of paths that fail or degrade together (one provider, one
    /// region): a path belongs to every group that holds one of its ends.
    pub groups: Vec<PathGroup>,
}

/// A set of underlay paths that fail or degrade together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGroup {
    /// Its name, as faults name it.
    pub name: String,
    /// Its nodes, sorted: a path with an end among them is in it
    /// (`None`: any path, as far as nodes go).
    pub nodes: Option<Vec<usize>>,
    /// Only paths this fast or faster (one-way latency) are in it: one
    /// provider's good paths, which the `best` policy picks and which fail
    /// together in a crisis.
    pub max_latency: Option<Duration>,
    /// With `nodes`: only the paths with exactly one end among them (the
    /// region cut off from the rest; its inside paths still work).
    pub crossing: bool,
}

impl Underlay {
    /// The path from `a` to `b` (`nodes` give the positions).
    pub fn path(&self, a: usize, b: usize, nodes: &[NodeSpec]) -> ChannelParams {
        let key = (a.min(b), a.max(b));
        if let Ok(i) = self.pairs.binary_search_by_key(&key, |(k, _)| *k) {
            return self.pairs[i].1.clone();
        }
        let mut p = self.path.clone();
        let node = |n: usize| nodes.get(n);
        // Great-circle distance between imported places, else straight
        // line between positions in metres.
        let km = match (node(a), node(b)) {
            (Some(x), Some(y)) => match (x.geo, y.geo, x.position, y.position) {
                (Some(ga), Some(gb), _, _) => Some(crate::topology::gml::great_circle_km(ga, gb)),
                (_, _, Some(pa), Some(pb)) => {
                    Some(((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt() / 1000.0)
                }
                _ => None,
            },
            _ => None,
        };
        if let (Some(per_km), Some(km)) = (self.latency_per_km, km) {
            let extra = (per_km.as_nanos() as f64 * km).round() as u64;
            p.latency = p.latency + Duration::from_nanos(extra);
        }
        p
    }

    /// The groups the path between `a` and `b` is in.
    pub fn groups_of<'a>(
        &'a self,
        a: usize,
        b: usize,
        nodes: &'a [NodeSpec],
    ) -> impl Iterator<Item = usize> + 'a {
        self.groups
            .iter()
            .enumerate()
            .filter(move |(_, g)| {
                let by_node = g.nodes.as_ref().is_none_or(|v| {
                    let (ia, ib) = (v.binary_search(&a).is_ok(), v.binary_search(&b).is_ok());
                    if g.crossing { ia != ib } else { ia || ib }
                });
                by_node
                    && g.max_latency
                        .is_none_or(|m| self.path(a, b, nodes).latency <= m)
            })
            .map(|(i, _)| i)
    }
}

/// A tunnel a node is asked to open at `at` (by `Command::OpenTunnel`, to
/// the other node's key over the underlay) and, optionally, close.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelPlan {
    /// The node that asks.
    pub from: usize,
    /// The node it asks for.
    pub to: usize,
    /// When.
    pub at: Duration,
    /// When `from` closes it again (gracefully), if ever.
    pub close_at: Option<Duration>,
}
