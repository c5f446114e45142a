//! The JSON shapes of a scenario file, as serde reads them.
//!
//! Every struct denies unknown fields, so a typo is an error rather than a
//! silently ignored setting. Quantities are unit strings (see
//! [`crate::units`]) read by the newtypes [`Dur`], [`Size`] and [`Rate`],
//! which reject bare numbers. Sections whose fields depend on a kind (the
//! topology generator, the traffic kind) are kept as raw JSON here and read
//! in two parts by the resolver, because serde's internally tagged enums
//! lose the field path of errors inside them.

use std::fmt;
use std::marker::PhantomData;

use node_core::Duration;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::model::{ChannelParams, LossModel};
use crate::units;

/// A duration written as a unit string (`"10ms"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

/// A size in bytes written as a unit string (`"64KiB"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

/// A rate in bits per second written as a unit string (`"20Mbps"`), > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

/// A probability in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prob(pub f64);

/// A link MTU: at least node-core's minimum, at most a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mtu(pub usize);

/// The largest MTU accepted: what one UDP datagram can carry.
pub const MAX_MTU: usize = 65_507;

/// Reads a unit string with `parse`; anything but a string is refused with
/// `expecting` in the message.
struct UnitVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
    _out: PhantomData<T>,
}

impl<T> Visitor<'_> for UnitVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

fn unit<'de, D: Deserializer<'de>, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_str(UnitVisitor {
        expecting,
        parse,
        _out: PhantomData,
    })
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        unit(
            d,
            "a duration string such as \"10ms\"",
            units::parse_duration,
        )
        .map(Dur)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        unit(
            d,
            "a size string with its unit, such as \"64KiB\" or \"10MB\"",
            units::parse_size,
        )
        .map(Size)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        unit(d, "a rate string such as \"20Mbps\"", units::parse_rate).map(Rate)
    }
}

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(de::Error::custom(format!(
                "probability {p} is outside [0, 1]"
            )));
        }
        Ok(Prob(p))
    }
}

impl<'de> Deserialize<'de> for Mtu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mtu = u64::deserialize(d)?;
        let min = node_core::link::MIN_MTU;
        match usize::try_from(mtu) {
            Ok(m) if (min..=MAX_MTU).contains(&m) => Ok(Mtu(m)),
            _ => Err(de::Error::custom(format!(
                "mtu {mtu} is outside [{min}, {MAX_MTU}] bytes"
            ))),
        }
    }
}

/// Random loss of a channel: `"none"` (or `null`), `{"bernoulli": p}` or
/// `{"gilbert_elliott": {...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LossSpec {
    /// No random loss.
    None,
    /// Independent loss with this probability.
    Bernoulli(Prob),
    /// Bursty loss.
    GilbertElliott(GilbertElliottSpec),
}

/// Parameters of the Gilbert-Elliott loss model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GilbertElliottSpec {
    /// Per datagram, probability of entering the bad state.
    pub p_good_to_bad: Prob,
    /// Per datagram, probability of leaving the bad state.
    pub p_bad_to_good: Prob,
    /// Loss in the good state (default 0).
    #[serde(default)]
    pub loss_good: Prob,
    /// Loss in the bad state (default 1).
    #[serde(default = "certain")]
    pub loss_bad: Prob,
}

fn certain() -> Prob {
    Prob(1.0)
}

impl LossSpec {
    /// The model's loss.
    pub fn to_model(self) -> LossModel {
        match self {
            LossSpec::None => LossModel::None,
            LossSpec::Bernoulli(p) => LossModel::Bernoulli { p: p.0 },
            LossSpec::GilbertElliott(g) => LossModel::GilbertElliott {
                p_good_to_bad: g.p_good_to_bad.0,
                p_bad_to_good: g.p_bad_to_good.0,
                loss_good: g.loss_good.0,
                loss_bad: g.loss_bad.0,
            },
        }
    }
}

/// Link parameters, each optional: what is given replaces the value of the
/// layer below (defaults, then `topology.link`, then overrides).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkParamsSpec {
    /// Serialization rate.
    pub bandwidth: Option<Rate>,
    /// Propagation latency.
    pub latency: Option<Dur>,
    /// Uniform extra delay in [0, jitter].
    pub jitter: Option<Dur>,
    /// Whether jitter may reorder datagrams.
    pub reorder: Option<bool>,
    /// Drop-tail queue capacity.
    pub queue: Option<Size>,
    /// Largest datagram.
    pub mtu: Option<Mtu>,
    /// Loss; absent keeps the layer below, `null` or `"none"` means none.
    #[serde(default, deserialize_with = "present")]
    pub loss: Option<Option<LossSpec>>,
}

/// Distinguishes a field given as `null` (`Some(None)`) from an absent one
/// (`None`, through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl LinkParamsSpec {
    /// A layer that sets only bandwidth and latency (a generator's defaults).
    pub fn speed(bandwidth_bps: u64, latency: Duration) -> Self {
        LinkParamsSpec {
            bandwidth: Some(Rate(bandwidth_bps)),
            latency: Some(Dur(latency)),
            ..LinkParamsSpec::default()
        }
    }

    /// Replaces in `c` what this layer sets.
    pub fn apply(&self, c: &mut ChannelParams) {
        if let Some(Rate(bps)) = self.bandwidth {
            c.bandwidth_bps = bps;
        }
        if let Some(Dur(d)) = self.latency {
            c.latency = d;
        }
        if let Some(Dur(d)) = self.jitter {
            c.jitter = d;
        }
        if let Some(r) = self.reorder {
            c.reorder = r;
        }
        if let Some(Size(q)) = self.queue {
            c.queue_bytes = q;
        }
        if let Some(Mtu(m)) = self.mtu {
            c.mtu = m;
        }
        if let Some(loss) = self.loss {
            c.loss = loss.map_or(LossModel::None, LossSpec::to_model);
        }
    }

    /// The channel made of the defaults and then `layers` in order.
    pub fn merge(layers: &[&LinkParamsSpec]) -> ChannelParams {
        let mut c = default_channel();
        for layer in layers {
            layer.apply(&mut c);
        }
        c
    }
}

/// The link defaults: 100 Mbps, 1 ms, no jitter, 1 MiB queue, MTU 1400, no
/// loss.
pub fn default_channel() -> ChannelParams {
    ChannelParams {
        bandwidth_bps: 100_000_000,
        latency: Duration::from_millis(1),
        jitter: Duration::ZERO,
        reorder: false,
        queue_bytes: 1 << 20,
        mtu: 1400,
        loss: LossModel::None,
    }
}

/// The crypto suite of the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteSpec {
    /// secp256k1 + ChaCha20-Poly1305.
    Real,
    /// Cheap stand-ins of the same sizes.
    Modeled,
}

/// `protocol`: node-core's [`node_core::Config`]; absent fields keep its
/// defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    pub suite: Option<SuiteSpec>,
    pub rekey_interval: Option<Dur>,
    pub max_key_age: Option<Dur>,
    pub key_grace: Option<Dur>,
    pub padding: Option<usize>,
    pub dead_interval: Option<Dur>,
    pub keepalive_interval: Option<Dur>,
    pub handshake_retry: Option<Dur>,
    pub handshake_max_retry: Option<Dur>,
    pub initial_rtt: Option<Dur>,
    pub min_rto: Option<Dur>,
    pub max_rto: Option<Dur>,
    pub packet_threshold: Option<u64>,
    pub ack_every: Option<u32>,
    pub max_ack_delay: Option<Dur>,
    pub link_window: Option<Size>,
    pub max_message_size: Option<Size>,
    pub max_send_backlog: Option<Size>,
    pub mode: Option<ModeSpec>,
    pub route_buffer: Option<Size>,
    pub route_setup_timeout: Option<Dur>,
    pub route_initial_credit: Option<Size>,
    pub route_credit_pool: Option<Size>,
    pub route_credit_per_neighbour: Option<Size>,
    pub max_route_entries: Option<usize>,
    pub max_route_entries_per_neighbour: Option<usize>,
    pub route_create_rate: Option<u32>,
    pub route_create_burst: Option<u32>,
    pub max_path_len: Option<usize>,
    pub reopen_delay: Option<Dur>,
    pub reopen_max_delay: Option<Dur>,
    pub reopen_max_attempts: Option<u32>,
    pub relay_queue: Option<Size>,
    pub e2e_mss: Option<Size>,
}

/// `metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Interval of the time series (default 100 ms).
    pub interval: Option<Dur>,
    /// Deliveries before this time do not count towards goodput (default 0).
    pub warmup: Option<Dur>,
}

/// The whole file. `topology` and each `traffic` entry stay raw JSON: their
/// fields depend on their kind and are read by the resolver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub duration: Dur,
    #[serde(default)]
    pub metrics: MetricsSpec,
    #[serde(default)]
    pub protocol: ProtocolSpec,
    pub topology: serde_json::Value,
    #[serde(default)]
    pub traffic: Vec<serde_json::Value>,
    #[serde(default)]
    pub faults: Vec<FaultSpecRaw>,
    /// The network between nodes that tunnels cross.
    #[serde(default)]
    pub underlay: Option<UnderlaySpec>,
    /// Tunnels opened (and closed) during the run.
    #[serde(default)]
    pub tunnels: Vec<TunnelSpecRaw>,
    /// The parameter sweep (`meshsim sweep`); a single run ignores it once
    /// its shape is checked (see [`crate::sweep`]).
    #[serde(default)]
    pub sweep: Option<serde_json::Value>,
    /// Discovery on every node (absent: none).
    #[serde(default)]
    pub discovery: Option<super::discovery::DiscoverySpec>,
    /// Each node's clock: `{"max_offset": "500ms", "max_drift_ppm": 100}`.
    pub clocks: Option<ClocksSpec>,
    /// re6st-style tunnel churn on the nodes (absent: none).
    #[serde(default)]
    pub churn: Option<super::churn::ChurnSpec>,
    /// Per-hop payments (absent: none).
    #[serde(default)]
    pub pay: Option<super::pay::PaySpec>,
}

/// The underlay: `path` for every pair (defaults: 100 Mb/s, 20 ms), `pairs`
/// that differ, and each node's shared `access` link.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderlaySpec {
    #[serde(default)]
    pub path: LinkParamsSpec,
    #[serde(default)]
    pub pairs: Vec<UnderlayPairSpec>,
    pub access: Option<LinkParamsSpec>,
    /// Latency added per km between the two ends' positions.
    pub latency_per_km: Option<Dur>,
    /// Sets of paths that fail or degrade together.
    #[serde(default)]
    pub groups: Vec<PathGroupSpec>,
}

/// A path group: every path with an end among `nodes` (or among the
/// nodes placed in `area`, a rectangle `[[x0, y0], [x1, y1]]` in metres),
/// and/or every path no slower than `max_latency`; with `crossing`, only
/// the paths with exactly one end among the nodes (a region cut off).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathGroupSpec {
    pub name: String,
    pub nodes: Option<Vec<usize>>,
    pub area: Option<[[f64; 2]; 2]>,
    pub max_latency: Option<Dur>,
    /// Only the paths between the group's nodes and the others.
    #[serde(default)]
    pub crossing: bool,
}

/// A pair of nodes whose underlay path differs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderlayPairSpec {
    pub between: [usize; 2],
    pub path: LinkParamsSpec,
}

/// A tunnel opened during the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelSpecRaw {
    pub from: usize,
    pub to: usize,
    #[serde(default)]
    pub at: Option<Dur>,
    pub close_at: Option<Dur>,
}

/// Service class of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassSpec {
    /// Sent first.
    Realtime,
    /// Sent when no realtime data waits.
    Bulk,
}

/// The fields every traffic entry may have, whatever its kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficCommon {
    pub name: Option<String>,
    pub from: usize,
    pub to: ToSpec,
    pub kind: String,
    pub start: Option<Dur>,
    pub stop: Option<Dur>,
    pub class: Option<ClassSpec>,
    pub channel: Option<u16>,
    /// Every node of the route, `from` first and `to` last, or
    /// `"discover"`; the shortest path when absent.
    pub path: Option<PathSpec>,
    /// `stream` (reliable, the default) or `datagram` (unreliable in the
    /// end-to-end mode).
    pub transport: Option<TransportSpec>,
    /// A message delivered later than this after it was offered counts as
    /// lost in the flow's on-time ratio.
    pub deadline: Option<Dur>,
    /// A route set instead of one route: `{"count": k, "mode": ...}`.
    pub routes: Option<RoutesSpec>,
}

/// `clocks`: node clocks offset by up to `max_offset` and drifting by up
/// to `max_drift_ppm` (each node draws its own).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClocksSpec {
    /// The largest offset.
    pub max_offset: Dur,
    /// The largest drift, parts per million.
    #[serde(default)]
    pub max_drift_ppm: u32,
}

/// A flow's route set (node-core's `sets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesSpec {
    /// Routes kept (1 ..= 8).
    pub count: usize,
    /// How they are used.
    pub mode: RoutesModeSpec,
}

/// How a route set uses its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutesModeSpec {
    /// One carries traffic, the others stand by.
    Failover,
    /// Striped over all.
    Aggregate,
    /// Failover steered by one-way latency pulses.
    Steered,
}

/// A flow's destination: a node index, or `"gateway"` (the nearest one,
/// as the origin's topology database finds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToSpec {
    /// This node.
    Node(usize),
    /// The nearest gateway.
    Gateway,
}

/// A flow's path: every node, or `"discover"` (the origin's topology
/// database finds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSpec {
    /// These nodes, `from` first and `to` last.
    Nodes(Vec<usize>),
    /// Found by the origin.
    Discover,
}

struct ToVisitor;

impl<'de> Visitor<'de> for ToVisitor {
    type Value = ToSpec;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node index or \"gateway\"")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ToSpec, E> {
        usize::try_from(v)
            .map(ToSpec::Node)
            .map_err(|_| E::custom(format!("node {v} does not exist")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ToSpec, E> {
        match v {
            "gateway" => Ok(ToSpec::Gateway),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

impl<'de> Deserialize<'de> for ToSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ToVisitor)
    }
}

struct PathVisitor;

impl<'de> Visitor<'de> for PathVisitor {
    type Value = PathSpec;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of node indices or \"discover\"")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PathSpec, A::Error> {
        let mut nodes = Vec::new();
        while let Some(n) = seq.next_element::<usize>()? {
            nodes.push(n);
        }
        Ok(PathSpec::Nodes(nodes))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PathSpec, E> {
        match v {
            "discover" => Ok(PathSpec::Discover),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

impl<'de> Deserialize<'de> for PathSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PathVisitor)
    }
}

/// How a flow's route carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportSpec {
    /// A reliable, ordered stream of messages.
    Stream,
    /// Datagrams (unreliable in the end-to-end mode).
    Datagram,
}

/// How routes carry data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeSpec {
    /// Hop-by-hop store-and-forward with credits.
    StoreAndForward,
    /// Best-effort relays, TCP-like source.
    EndToEnd,
}

/// The keys of [`TrafficCommon`], to split them from the kind's own.
pub const TRAFFIC_COMMON_KEYS: &[&str] = &[
    "routes",
    "name",
    "from",
    "to",
    "kind",
    "start",
    "stop",
    "class",
    "channel",
    "path",
    "transport",
    "deadline",
];

/// `"kind": "bulk"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkSpec {
    pub size: Size,
    pub message: Option<Size>,
}

/// `"kind": "cbr"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CbrSpec {
    pub rate: Rate,
    pub message: Option<Size>,
}

/// `"kind": "request_response"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestResponseSpec {
    pub request: Size,
    pub response: Size,
    pub interval: Dur,
    pub count: Option<u64>,
}

/// A fault entry: `at` and exactly one of `link`, `node`, `partition`, each
/// with its own duration key (`down_for`, `crash_for`, `for`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpecRaw {
    pub at: Dur,
    pub link: Option<[usize; 2]>,
    pub node: Option<usize>,
    pub partition: Option<Vec<Vec<usize>>>,
    pub path_group: Option<String>,
    pub add_latency: Option<Dur>,
    pub down_for: Option<Dur>,
    pub crash_for: Option<Dur>,
    #[serde(rename = "for")]
    pub for_: Option<Dur>,
}
