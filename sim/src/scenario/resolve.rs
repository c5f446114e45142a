//! From the typed spec to the checked model: defaults, index and range
//! checks, and the links that traffic and faults refer to.

use std::collections::BTreeMap;
use std::path::Path;

use node_core::{Class, Config, ConfigError, Duration, SuiteKind};
use serde_json::{Map, Value};

use super::Doc;
use super::error::ScenarioError;
use super::spec::{
    BulkSpec, CbrSpec, ClassSpec, Dur, FaultSpecRaw, ProtocolSpec, RequestResponseSpec,
    ScenarioSpec, Size, SuiteSpec, TRAFFIC_COMMON_KEYS, TrafficCommon,
};
use crate::model::{
    DiscoveryPlan, FaultKind, FaultSpec, Network, Scenario, TrafficKind, TrafficSpec, Underlay,
};
use crate::topology;
use crate::units::fmt_duration;

/// Default interval of the metrics time series.
const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_millis(100);

pub(super) fn resolve(
    doc: Doc<'_>,
    spec: ScenarioSpec,
    base_dir: &Path,
) -> Result<Scenario, ScenarioError> {
    let duration = spec.duration.0;
    if duration == Duration::ZERO {
        return Err(doc.error("duration", "the run must last longer than zero"));
    }
    let metrics_interval = spec
        .metrics
        .interval
        .map_or(DEFAULT_METRICS_INTERVAL, |d| d.0);
    if metrics_interval == Duration::ZERO {
        return Err(doc.error("metrics.interval", "must be greater than zero"));
    }
    let metrics_warmup = spec.metrics.warmup.map_or(Duration::ZERO, |d| d.0);
    if metrics_warmup >= duration {
        return Err(doc.error(
            "metrics.warmup",
            "must be shorter than the run's duration (nothing would be measured)",
        ));
    }
    let mut protocol = protocol(doc, &spec.protocol)?;
    let network = topology::build(doc, &spec.topology, spec.seed, base_dir)?;
    // The engine's event keys name nodes, flows and faults in 22 bits.
    let max = crate::engine::queue::MAX_ORIGINS;
    for (path, n) in [
        ("topology", network.nodes.len()),
        ("traffic", spec.traffic.len()),
        ("faults", spec.faults.len()),
    ] {
        if n > max {
            return Err(doc.error(path, format!("{n} entries: the engine takes at most {max}")));
        }
    }
    let links = LinkIndex::new(&network);
    let ctx = Ctx {
        doc,
        network: &network,
        links: &links,
        duration,
    };
    let discovery = match &spec.discovery {
        Some(d) => {
            let (config, plan) = ctx.discovery(d)?;
            protocol.discovery = Some(config);
            Some(plan)
        }
        None => None,
    };
    let mut traffic: Vec<TrafficSpec> = Vec::with_capacity(spec.traffic.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in spec.traffic.iter().enumerate() {
        let flow = ctx.flow(i, entry, &protocol, discovery.as_ref())?;
        if let Some(j) = names.insert(flow.name.clone(), i) {
            return Err(doc.error(
                &format!("traffic[{i}].name"),
                format!(
                    "flow name \"{}\" is already used by traffic[{j}]",
                    flow.name
                ),
            ));
        }
        traffic.push(flow);
    }
    let underlay = spec
        .underlay
        .as_ref()
        .map(|u| ctx.underlay(u))
        .transpose()?;
    let faults = spec
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| ctx.fault(i, f, underlay.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let tunnels = spec
        .tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| ctx.tunnel(i, t, underlay.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let churn = match &spec.churn {
        Some(c) => {
            let (config, plan) =
                ctx.churn(c, underlay.is_some(), discovery.is_some(), spec.seed)?;
            protocol.churn = Some(config);
            Some(plan)
        }
        None => None,
    };
    let pay = spec
        .pay
        .as_ref()
        .map(|p| {
            ctx.pay(
                p,
                protocol.route_mode == node_core::config::RouteMode::StoreAndForward,
            )
        })
        .transpose()?;
    let clocks = match spec.clocks {
        Some(c) if c.max_drift_ppm > 100_000 => {
            return Err(doc.error("clocks.max_drift_ppm", "at most 100000 (10%)"));
        }
        Some(c) => Some((c.max_offset.0.as_nanos(), c.max_drift_ppm)),
        None => None,
    };
    Ok(Scenario {
        clocks,
        discovery,
        churn,
        pay,
        underlay,
        tunnels,
        name: spec.name,
        description: spec.description,
        seed: spec.seed,
        duration,
        metrics_interval,
        metrics_warmup,
        protocol,
        network,
        traffic,
        faults,
    })
}

/// node-core's config: its defaults, replaced by what `protocol` sets.
fn protocol(doc: Doc<'_>, p: &ProtocolSpec) -> Result<Config, ScenarioError> {
    let mut c = Config::default();
    if let Some(s) = p.suite {
        c.suite = match s {
            SuiteSpec::Real => SuiteKind::Real,
            SuiteSpec::Modeled => SuiteKind::Modeled,
        };
    }
    if let Some(m) = p.mode {
        c.route_mode = match m {
            super::spec::ModeSpec::StoreAndForward => node_core::config::RouteMode::StoreAndForward,
            super::spec::ModeSpec::EndToEnd => node_core::config::RouteMode::EndToEnd,
        };
    }
    let durations: [(&mut Duration, Option<Dur>); 14] = [
        (&mut c.route_setup_timeout, p.route_setup_timeout),
        (&mut c.reopen.delay, p.reopen_delay),
        (&mut c.reopen.max_delay, p.reopen_max_delay),
        (&mut c.rekey_interval, p.rekey_interval),
        (&mut c.max_key_age, p.max_key_age),
        (&mut c.key_grace, p.key_grace),
        (&mut c.dead_interval, p.dead_interval),
        (&mut c.keepalive_interval, p.keepalive_interval),
        (&mut c.handshake_retry, p.handshake_retry),
        (&mut c.handshake_max_retry, p.handshake_max_retry),
        (&mut c.initial_rtt, p.initial_rtt),
        (&mut c.min_rto, p.min_rto),
        (&mut c.max_rto, p.max_rto),
        (&mut c.max_ack_delay, p.max_ack_delay),
    ];
    for (field, value) in durations {
        if let Some(Dur(d)) = value {
            *field = d;
        }
    }
    let sizes: [(&str, &mut usize, Option<Size>); 9] = [
        ("route_buffer", &mut c.route_buffer, p.route_buffer),
        (
            "route_initial_credit",
            &mut c.route_initial_credit,
            p.route_initial_credit,
        ),
        (
            "route_credit_pool",
            &mut c.route_credit_pool,
            p.route_credit_pool,
        ),
        (
            "route_credit_per_neighbour",
            &mut c.route_credit_per_neighbour,
            p.route_credit_per_neighbour,
        ),
        ("relay_queue", &mut c.relay_queue, p.relay_queue),
        ("e2e_mss", &mut c.e2e_mss, p.e2e_mss),
        ("link_window", &mut c.link_window, p.link_window),
        (
            "max_message_size",
            &mut c.max_message_size,
            p.max_message_size,
        ),
        (
            "max_send_backlog",
            &mut c.max_send_backlog,
            p.max_send_backlog,
        ),
    ];
    for (name, field, value) in sizes {
        if let Some(Size(bytes)) = value {
            *field = usize::try_from(bytes).map_err(|_| {
                doc.error(&format!("protocol.{name}"), "too large for this machine")
            })?;
        }
    }
    c.padding = p.padding.unwrap_or(c.padding);
    c.packet_threshold = p.packet_threshold.unwrap_or(c.packet_threshold);
    c.ack_every = p.ack_every.unwrap_or(c.ack_every);
    c.reopen.max_attempts = p.reopen_max_attempts.unwrap_or(c.reopen.max_attempts);
    c.max_route_entries = p.max_route_entries.unwrap_or(c.max_route_entries);
    c.max_route_entries_per_neighbour = p
        .max_route_entries_per_neighbour
        .unwrap_or(c.max_route_entries_per_neighbour);
    c.route_create_rate = p.route_create_rate.unwrap_or(c.route_create_rate);
    c.route_create_burst = p.route_create_burst.unwrap_or(c.route_create_burst);
    c.max_path_len = p.max_path_len.unwrap_or(c.max_path_len);
    c.validate().map_err(|e| {
        let field = match &e {
            ConfigError::Padding(_) => "padding",
            ConfigError::ZeroDuration(name) => name,
            _ => "",
        };
        let path = if field.is_empty() {
            "protocol".to_string()
        } else {
            format!("protocol.{field}")
        };
        doc.error(&path, e.to_string())
    })?;
    Ok(c)
}

/// Links by their (smaller, larger) end.
struct LinkIndex(BTreeMap<(usize, usize), usize>);

impl LinkIndex {
    fn new(network: &Network) -> Self {
        // With parallel links, a pair names the first of them.
        let mut map = BTreeMap::new();
        for (i, l) in network.links.iter().enumerate() {
            map.entry((l.a.min(l.b), l.a.max(l.b))).or_insert(i);
        }
        LinkIndex(map)
    }

    fn between(&self, a: usize, b: usize) -> Option<usize> {
        self.0.get(&(a.min(b), a.max(b))).copied()
    }
}

/// What checking traffic and faults needs.
pub(super) struct Ctx<'a> {
    pub(super) doc: Doc<'a>,
    pub(super) network: &'a Network,
    links: &'a LinkIndex,
    duration: Duration,
}

impl Ctx<'_> {
    pub(super) fn node(&self, path: &str, node: usize) -> Result<usize, ScenarioError> {
        let n = self.network.nodes.len();
        if node >= n {
            return Err(self.doc.error(
                path,
                format!("node {node} does not exist (the topology has {n} nodes)"),
            ));
        }
        Ok(node)
    }

    fn link(&self, path: &str, [a, b]: [usize; 2]) -> Result<usize, ScenarioError> {
        self.node(&format!("{path}[0]"), a)?;
        self.node(&format!("{path}[1]"), b)?;
        self.links.between(a, b).ok_or_else(|| {
            self.doc
                .error(path, format!("there is no link between nodes {a} and {b}"))
        })
    }

    /// A time at which something starts must fall inside the run.
    pub(super) fn within_run(&self, path: &str, at: Duration) -> Result<(), ScenarioError> {
        if at >= self.duration {
            return Err(self.doc.error(
                path,
                format!(
                    "{} is not before the end of the run ({})",
                    fmt_duration(at),
                    fmt_duration(self.duration)
                ),
            ));
        }
        Ok(())
    }

    fn message(&self, path: &str, bytes: u64, protocol: &Config) -> Result<usize, ScenarioError> {
        let max = protocol.max_message_size;
        match usize::try_from(bytes) {
            Ok(0) => Err(self
                .doc
                .error(path, "a message must have at least one byte")),
            Ok(m) if m > max => Err(self.doc.error(
                path,
                format!("{bytes} bytes is more than protocol.max_message_size ({max} bytes)"),
            )),
            Ok(m) if node_core::route::endpoint::stream_len(m) > protocol.route_buffer => {
                Err(self.doc.error(
                    path,
                    format!(
                        "a {bytes}-byte message does not fit in protocol.route_buffer ({} bytes): \
                         a route carries whole messages, so use smaller ones",
                        protocol.route_buffer
                    ),
                ))
            }
            Ok(m) => Ok(m),
            _ => Err(self.doc.error(
                path,
                format!("{bytes} bytes is more than protocol.max_message_size ({max} bytes)"),
            )),
        }
    }

    fn flow(
        &self,
        i: usize,
        entry: &Value,
        protocol: &Config,
        discovery: Option<&DiscoveryPlan>,
    ) -> Result<TrafficSpec, ScenarioError> {
        let path = format!("traffic[{i}]");
        let p = |field: &str| format!("{path}.{field}");
        let (common, rest) = split_object(self.doc, entry, &path, TRAFFIC_COMMON_KEYS)?;
        let common: TrafficCommon = self.doc.deserialize(&Value::Object(common), &path)?;
        let from = self.node(&p("from"), common.from)?;
        let (to, discover, route) = self.flow_route(&path, from, &common, discovery)?;
        let rest = Value::Object(rest);
        let explain = |e: ScenarioError| with_context(e, &common.kind);
        let (kind, default_class) = match common.kind.as_str() {
            "bulk" => {
                let s: BulkSpec = self.doc.deserialize(&rest, &path).map_err(explain)?;
                if s.size.0 == 0 {
                    return Err(self
                        .doc
                        .error(&p("size"), "a transfer needs at least one byte"));
                }
                let message = s.message.unwrap_or(Size(64 << 10)).0;
                let message = self.message(&p("message"), message, protocol)?;
                (
                    TrafficKind::Bulk {
                        size: s.size.0,
                        message,
                    },
                    Class::Bulk,
                )
            }
            "cbr" => {
                let s: CbrSpec = self.doc.deserialize(&rest, &path).map_err(explain)?;
                let message = s.message.unwrap_or(Size(160)).0;
                let message = self.message(&p("message"), message, protocol)?;
                (
                    TrafficKind::Cbr {
                        rate_bps: s.rate.0,
                        message,
                    },
                    Class::Realtime,
                )
            }
            "request_response" => {
                let s: RequestResponseSpec = self.doc.deserialize(&rest, &path).map_err(explain)?;
                let request = self.message(&p("request"), s.request.0, protocol)?;
                let response = self.message(&p("response"), s.response.0, protocol)?;
                if s.interval.0 == Duration::ZERO {
                    return Err(self.doc.error(&p("interval"), "must be greater than zero"));
                }
                if s.count == Some(0) {
                    return Err(self.doc.error(&p("count"), "must be at least 1"));
                }
                let kind = TrafficKind::RequestResponse {
                    request,
                    response,
                    interval: s.interval.0,
                    count: s.count,
                };
                (kind, Class::Bulk)
            }
            other => {
                return Err(self.doc.error(
                    &p("kind"),
                    format!(
                        "unknown traffic kind \"{other}\" (expected bulk, cbr or request_response)"
                    ),
                ));
            }
        };
        let channel = common.channel.unwrap_or(1);
        if channel == node_core::CONTROL_CHANNEL {
            return Err(self.doc.error(
                &p("channel"),
                format!("channel {channel} is reserved for the nodes' own control traffic"),
            ));
        }
        let start = common.start.map_or(Duration::ZERO, |d| d.0);
        self.within_run(&p("start"), start)?;
        let stop = common.stop.map(|d| d.0);
        if let Some(stop) = stop
            && stop <= start
        {
            return Err(self.doc.error(&p("stop"), "must be later than `start`"));
        }
        let class = match common.class {
            Some(ClassSpec::Realtime) => Class::Realtime,
            Some(ClassSpec::Bulk) => Class::Bulk,
            None => default_class,
        };
        let routes = match common.routes {
            None => None,
            Some(r) => {
                if !discover {
                    return Err(self.doc.error(
                        &p("routes"),
                        "a route set finds its paths itself: it needs \"path\": \"discover\" (or \"to\": \"gateway\")",
                    ));
                }
                let max = protocol.sets.max_members;
                if r.count == 0 || r.count > max {
                    return Err(self
                        .doc
                        .error(&p("routes.count"), format!("must be 1 ..= {max}")));
                }
                let mode = match r.mode {
                    super::spec::RoutesModeSpec::Failover => node_core::SetMode::Failover,
                    super::spec::RoutesModeSpec::Aggregate => node_core::SetMode::Aggregate,
                    super::spec::RoutesModeSpec::Steered => {
                        if to.is_none() {
                            return Err(self.doc.error(
                                &p("routes.mode"),
                                "a steered set follows the pulses to one node: it needs a destination node",
                            ));
                        }
                        node_core::SetMode::Steered
                    }
                };
                Some(node_core::SetSpec {
                    count: r.count,
                    mode,
                })
            }
        };
        Ok(TrafficSpec {
            routes,
            name: common.name.unwrap_or_else(|| format!("flow{i}")),
            from,
            to,
            path: route,
            discover,
            transport: match common.transport {
                Some(super::spec::TransportSpec::Datagram) => node_core::RouteKind::Datagram,
                _ => node_core::RouteKind::Stream,
            },
            channel,
            class,
            start,
            stop,
            kind,
            deadline: match common.deadline {
                Some(d) if d.0 == Duration::ZERO => {
                    return Err(self.doc.error(&p("deadline"), "must be greater than zero"));
                }
                d => d.map(|d| d.0),
            },
        })
    }

    fn fault(
        &self,
        i: usize,
        f: &FaultSpecRaw,
        underlay: Option<&Underlay>,
    ) -> Result<FaultSpec, ScenarioError> {
        let path = format!("faults[{i}]");
        let p = |field: &str| format!("{path}.{field}");
        let targets = [
            ("link", f.link.is_some()),
            ("node", f.node.is_some()),
            ("partition", f.partition.is_some()),
            ("path_group", f.path_group.is_some()),
        ];
        let mut given = targets.iter().filter(|(_, is)| *is).map(|(name, _)| *name);
        let (Some(target), None) = (given.next(), given.next()) else {
            let second = targets.iter().filter(|(_, is)| *is).nth(1);
            return Err(self.doc.error(
                &second.map_or(path.clone(), |(name, _)| p(name)),
                "a fault names exactly one of `link`, `node`, `partition` or `path_group`",
            ));
        };
        if f.add_latency.is_some() && target != "link" && target != "path_group" {
            return Err(self.doc.error(
                &p("add_latency"),
                "only a link or a path group can get extra latency",
            ));
        }
        if f.add_latency == Some(Dur(Duration::ZERO)) {
            return Err(self
                .doc
                .error(&p("add_latency"), "must be greater than zero"));
        }
        let (kind, duration_key) = match target {
            "node" => {
                let node = self.node(&p("node"), f.node.unwrap_or_default())?;
                (FaultKind::NodeCrash { node }, "crash_for")
            }
            "partition" => (self.partition(&p("partition"), f)?, "for"),
            "path_group" => {
                let name = f.path_group.as_deref().unwrap_or_default();
                let group = self.path_group(&p("path_group"), name, underlay)?;
                match f.add_latency {
                    Some(Dur(extra)) => (FaultKind::PathGroupLatency { group, extra }, "for"),
                    None => (FaultKind::PathGroupDown { group }, "down_for"),
                }
            }
            _ => {
                let link = self.link(&p("link"), f.link.unwrap_or_default())?;
                match f.add_latency {
                    Some(Dur(extra)) => (FaultKind::LatencyChange { link, extra }, "for"),
                    None => (FaultKind::LinkDown { link }, "down_for"),
                }
            }
        };
        let mut duration = None;
        for (key, value) in [
            ("down_for", f.down_for),
            ("crash_for", f.crash_for),
            ("for", f.for_),
        ] {
            match value {
                Some(Dur(d)) if key == duration_key => {
                    if d == Duration::ZERO {
                        return Err(self.doc.error(&p(key), "must be greater than zero"));
                    }
                    duration = Some(d);
                }
                Some(_) => {
                    return Err(self.doc.error(
                        &p(key),
                        format!("this fault's duration is `{duration_key}`, not `{key}`"),
                    ));
                }
                None => {}
            }
        }
        self.within_run(&p("at"), f.at.0)?;
        Ok(FaultSpec {
            at: f.at.0,
            duration,
            kind,
        })
    }

    fn partition(&self, path: &str, f: &FaultSpecRaw) -> Result<FaultKind, ScenarioError> {
        let groups = f.partition.clone().unwrap_or_default();
        if groups.is_empty() {
            return Err(self.doc.error(path, "a partition needs at least one group"));
        }
        let mut group_of: BTreeMap<usize, usize> = BTreeMap::new();
        for (g, group) in groups.iter().enumerate() {
            if group.is_empty() {
                return Err(self
                    .doc
                    .error(&format!("{path}[{g}]"), "a group needs at least one node"));
            }
            for (k, &node) in group.iter().enumerate() {
                let at = format!("{path}[{g}][{k}]");
                self.node(&at, node)?;
                if let Some(other) = group_of.insert(node, g) {
                    return Err(self
                        .doc
                        .error(&at, format!("node {node} is already in group {other}")));
                }
            }
        }
        Ok(FaultKind::Partition { groups })
    }
}

/// The members of a JSON object.
pub(crate) type Members = Map<String, Value>;

/// Splits a JSON object into the members named in `keys` and the others.
pub(crate) fn split_object(
    doc: Doc<'_>,
    value: &Value,
    path: &str,
    keys: &[&str],
) -> Result<(Members, Members), ScenarioError> {
    let Value::Object(map) = value else {
        return Err(doc.error(path, "expected an object"));
    };
    let (common, rest) = map
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| keys.contains(&k.as_str()));
    Ok((common, rest))
}

/// Says which kind an unknown field was checked against, since serde's
/// message lists only that kind's own fields.
fn with_context(mut e: ScenarioError, kind: &str) -> ScenarioError {
    if e.message.starts_with("unknown field") {
        e.message = format!(
            "{} (for kind \"{kind}\"; every flow also takes {})",
            e.message,
            TRAFFIC_COMMON_KEYS.join(", ")
        );
    }
    e
}
