//! The `discovery` section: node-core's discovery layer on every node
//! (link-state adverts flooded over the links' control channel), each
//! node's gateway capacity, how the engine measures convergence, and how
//! long a flow that finds its own path waits for one; and the route of a
//! flow (its destination, a gateway or a node, and its path, fixed or found
//! by its origin).

use std::collections::BTreeMap;

use node_core::Duration;
use node_core::discovery::db::DbLimits;
use node_core::discovery::flood::DiscoveryConfig;
use serde::Deserialize;

use super::error::ScenarioError;
use super::resolve::Ctx;
use super::spec::{Dur, PathSpec, Rate, ToSpec, TrafficCommon};
use crate::model::DiscoveryPlan;

/// Default interval of the engine's convergence check.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// Default bytes each class of a gateway's uplink queues.
pub const DEFAULT_GATEWAY_QUEUE: usize = 256 * 1024;
/// Default wait between a flow's tries to find a path.
pub const DEFAULT_PATH_RETRY: Duration = Duration::from_millis(100);
/// Default time a flow keeps trying to find a path after its start.
pub const DEFAULT_PATH_WAIT: Duration = Duration::from_secs(10);

/// `discovery`: absent fields keep node-core's defaults
/// ([`DiscoveryConfig::default`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySpec {
    /// A fresh advert at least this often.
    pub refresh: Option<Dur>,
    /// How long an advert lives.
    pub lifetime: Option<Dur>,
    /// Wait after a neighbour change before the new advert.
    pub hold_down: Option<Dur>,
    /// Origins a database holds, at most.
    pub max_origins: Option<usize>,
    /// Least time between two sequence numbers of one origin.
    pub min_update_interval: Option<Dur>,
    /// Signature verifications per neighbour per second.
    pub verify_rate: Option<u32>,
    /// Verifications a neighbour may use at once.
    pub verify_burst: Option<u32>,
    /// Interval of the engine's convergence check.
    pub check_interval: Option<Dur>,
    /// Wait between a `"path": "discover"` flow's tries.
    pub path_retry: Option<Dur>,
    /// How long after its start such a flow keeps trying.
    pub path_wait: Option<Dur>,
    /// Per-node settings.
    #[serde(default)]
    pub nodes: Vec<DiscoveryNodeSpec>,
    /// One-way latency pulses in a group (NOIA).
    pub pulse: Option<PulseSpec>,
    /// Bytes each class (own, relayed) of a gateway's uplink queues.
    pub gateway_queue: Option<super::spec::Size>,
}

/// `discovery.pulse`: absent fields keep node-core's defaults
/// (`PulseConfig::default`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulseSpec {
    /// The group's nodes.
    pub group: Vec<usize>,
    /// A pulse to each group neighbour this often.
    pub interval: Option<Dur>,
    /// A row of measurements to each group neighbour this often.
    pub report_interval: Option<Dur>,
    /// The window of a pair's baseline (its least value).
    pub baseline_window: Option<Dur>,
    /// Pulses whose median is a pair's current value.
    pub samples: Option<usize>,
    /// A pair this far above its baseline is anomalous.
    pub anomaly: Option<Dur>,
    /// A relay path must be this much faster than the direct one.
    pub margin: Option<Dur>,
    /// A change of advice must hold this long.
    pub hold: Option<Dur>,
}

/// `discovery.nodes[i]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryNodeSpec {
    /// The node.
    pub node: usize,
    /// Clearnet egress capacity it advertises: it is a gateway.
    pub gateway: Option<Rate>,
}

impl Ctx<'_> {
    /// node-core's discovery settings (the same on every node but the
    /// gateway capacity) and the engine's plan.
    pub(super) fn discovery(
        &self,
        d: &DiscoverySpec,
    ) -> Result<(DiscoveryConfig, DiscoveryPlan), ScenarioError> {
        const AT: &str = "discovery";
        let mut c = DiscoveryConfig::default();
        let durations: [(&mut Duration, Option<Dur>); 4] = [
            (&mut c.refresh, d.refresh),
            (&mut c.lifetime, d.lifetime),
            (&mut c.hold_down, d.hold_down),
            (&mut c.limits.min_update_interval, d.min_update_interval),
        ];
        for (field, value) in durations {
            if let Some(Dur(v)) = value {
                *field = v;
            }
        }
        c.limits = DbLimits {
            max_origins: d.max_origins.unwrap_or(c.limits.max_origins),
            ..c.limits
        };
        let mut pulse_group = Vec::new();
        if let Some(ps) = &d.pulse {
            let mut pc = node_core::discovery::pulse::PulseConfig::default();
            for (i, &n) in ps.group.iter().enumerate() {
                pulse_group.push(self.node(&format!("{AT}.pulse.group[{i}]"), n)?);
            }
            pulse_group.sort_unstable();
            pulse_group.dedup();
            if pulse_group.len() < 2 {
                return Err(self.doc.error(
                    &format!("{AT}.pulse.group"),
                    "a group needs at least two nodes",
                ));
            }
            for (key, field, value) in [
                ("interval", &mut pc.interval, ps.interval),
                (
                    "report_interval",
                    &mut pc.report_interval,
                    ps.report_interval,
                ),
                (
                    "baseline_window",
                    &mut pc.baseline_window,
                    ps.baseline_window,
                ),
                ("anomaly", &mut pc.anomaly, ps.anomaly),
                ("margin", &mut pc.margin, ps.margin),
                ("hold", &mut pc.hold, ps.hold),
            ] {
                match value {
                    Some(Dur(v)) if v == Duration::ZERO && key != "margin" && key != "hold" => {
                        return Err(self
                            .doc
                            .error(&format!("{AT}.pulse.{key}"), "must be greater than zero"));
                    }
                    Some(Dur(v)) => *field = v,
                    None => {}
                }
            }
            match ps.samples {
                Some(0) => {
                    return Err(self
                        .doc
                        .error(&format!("{AT}.pulse.samples"), "must be at least 1"));
                }
                Some(k) => pc.samples = k.min(1000),
                None => {}
            }
            // The group's addresses are the population's to fill in.
            c.pulse = Some(pc);
        }
        c.verify_rate = d.verify_rate.unwrap_or(c.verify_rate);
        c.verify_burst = d.verify_burst.unwrap_or(c.verify_burst);
        c.check().map_err(|e| self.doc.error(AT, e))?;
        let positive = |key: &str, v: Option<Dur>, default: Duration| match v {
            Some(Dur(d)) if d == Duration::ZERO => Err(self
                .doc
                .error(&format!("{AT}.{key}"), "must be greater than zero")),
            Some(Dur(d)) => Ok(d),
            None => Ok(default),
        };
        let check_interval = positive("check_interval", d.check_interval, DEFAULT_CHECK_INTERVAL)?;
        let path_retry = positive("path_retry", d.path_retry, DEFAULT_PATH_RETRY)?;
        let path_wait = positive("path_wait", d.path_wait, DEFAULT_PATH_WAIT)?;
        let mut gateways: BTreeMap<usize, u64> = BTreeMap::new();
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, n) in d.nodes.iter().enumerate() {
            let at = format!("{AT}.nodes[{i}]");
            let node = self.node(&format!("{at}.node"), n.node)?;
            if let Some(j) = seen.insert(node, i) {
                return Err(self.doc.error(
                    &format!("{at}.node"),
                    format!("node {node} is already set by {AT}.nodes[{j}]"),
                ));
            }
            if let Some(Rate(bps)) = n.gateway {
                gateways.insert(node, bps);
            }
        }
        let plan = DiscoveryPlan {
            check_interval,
            path_retry,
            path_wait,
            gateways: gateways.into_iter().collect(),
            pulse_group,
            gateway_queue: match d.gateway_queue {
                Some(super::spec::Size(0)) => {
                    return Err(self
                        .doc
                        .error(&format!("{AT}.gateway_queue"), "must be at least 1 byte"));
                }
                Some(super::spec::Size(b)) => b.min(1 << 30) as usize,
                None => DEFAULT_GATEWAY_QUEUE,
            },
        };
        Ok((c, plan))
    }

    /// A flow's destination (`None`: the nearest gateway), whether its
    /// origin finds its path, and its path when it does not.
    pub(super) fn flow_route(
        &self,
        path: &str,
        from: usize,
        common: &TrafficCommon,
        discovery: Option<&DiscoveryPlan>,
    ) -> Result<(Option<usize>, bool, Vec<usize>), ScenarioError> {
        let p = |field: &str| format!("{path}.{field}");
        let to = match common.to {
            ToSpec::Node(to) => Some(self.node(&p("to"), to)?),
            ToSpec::Gateway => None,
        };
        if to == Some(from) {
            return Err(self.doc.error(&p("to"), "a flow needs two different nodes"));
        }
        let discover = to.is_none() || common.path == Some(PathSpec::Discover);
        if discover && discovery.is_none() {
            let (at, what) = match to {
                None => ("to", "\"to\": \"gateway\""),
                Some(_) => ("path", "\"path\": \"discover\""),
            };
            return Err(self.doc.error(
                &p(at),
                format!(
                    "{what} needs the `discovery` section: without it the nodes \
                     keep no topology database"
                ),
            ));
        }
        if to.is_none() && discovery.is_some_and(|d| d.gateways.is_empty()) {
            return Err(self.doc.error(
                &p("to"),
                "no node is a gateway (give one a capacity in discovery.nodes[].gateway)",
            ));
        }
        let route = match (to, &common.path) {
            (None, Some(PathSpec::Nodes(_))) => {
                return Err(self.doc.error(
                    &p("path"),
                    "a flow to the nearest gateway finds its own path: \
                     leave `path` out or write \"discover\"",
                ));
            }
            (None, _) | (_, Some(PathSpec::Discover)) => Vec::new(),
            (Some(to), Some(PathSpec::Nodes(path))) => {
                super::paths::check(self.network, from, to, path)
                    .map_err(|m| self.doc.error(&p("path"), m))?;
                path.clone()
            }
            (Some(to), None) => {
                super::paths::shortest(self.network, from, to).ok_or_else(|| {
                    self.doc.error(
                        &p("to"),
                        format!(
                            "no route from {from} to {to}: no path of two-way links joins them"
                        ),
                    )
                })?
            }
        };
        Ok((to, discover, route))
    }
}
