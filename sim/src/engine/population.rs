//! The nodes of a run: real node-core nodes, or echo nodes for the benchmark.

use node_core::{Config, Identity, Node, PublicKey};

use super::protocol::{EchoNode, Population};
use super::rng::{StreamKind, seed_bytes, stream};

/// node-core nodes. Each node's identity comes from its own random stream,
/// so it survives crashes (the key is kept, the state is lost).
pub struct Nodes {
    config: Config,
    seed: u64,
    /// Shared with the nodes (each keeps its own `Arc`).
    identities: Vec<std::sync::Arc<Identity>>,
    /// Gateways: (node, advertised bits/s), by node.
    gateways: Vec<(usize, u64)>,
    /// The latency-pulse group, by node index.
    pulse_group: Vec<usize>,
    /// The nodes that run the tunnel manager (`None`: all, if the config
    /// has one).
    churn_nodes: Option<Vec<usize>>,
    /// Each node's meshes in an n-order mesh (empty: no `churn.meshes`).
    meshes: Vec<Vec<u16>>,
    /// Each node's terms as a relay (empty: no `pay` section).
    pay: Vec<Option<node_core::pay::RelayTerms>>,
    /// The last node's configuration, shared with the next node when
    /// equal (most nodes of a scenario run the same one).
    last: Option<std::sync::Arc<Config>>,
}

impl Nodes {
    /// `n` nodes with `config` (already validated).
    pub fn new(config: Config, seed: u64, n: usize) -> Nodes {
        let identities = (0..n)
            .map(|i| {
                std::sync::Arc::new(Identity::generate(
                    config.suite,
                    &mut stream(seed, StreamKind::Identity, i as u64),
                ))
            })
            .collect();
        Nodes {
            config,
            seed,
            identities,
            gateways: Vec::new(),
            pulse_group: Vec::new(),
            churn_nodes: None,
            meshes: Vec::new(),
            pay: Vec::new(),
            last: None,
        }
    }

    /// The nodes of `scenario`: its protocol config on every node, and
    /// each gateway's capacity in its discovery config.
    pub fn of(scenario: &crate::model::Scenario) -> Nodes {
        let mut nodes = Nodes::new(
            scenario.protocol.clone(),
            scenario.seed,
            scenario.network.nodes.len(),
        );
        if let Some(d) = &scenario.discovery {
            nodes.gateways = d.gateways.clone();
            nodes.pulse_group = d.pulse_group.clone();
            let group: Vec<node_core::Address> = d
                .pulse_group
                .iter()
                .map(|&i| nodes.identities[i].address())
                .collect();
            if let Some(p) = nodes
                .config
                .discovery
                .as_mut()
                .and_then(|c| c.pulse.as_mut())
            {
                p.group = group;
            }
        }
        if let Some(p) = &scenario.pay {
            nodes.pay = p.terms.clone();
            nodes.config.pay.origin = p.pricing;
        }
        if let Some(c) = &scenario.churn {
            nodes.churn_nodes = Some(c.nodes.clone());
            if let Some(m) = &c.meshes {
                nodes.meshes = m.membership.clone();
            }
        }
        nodes
    }

    /// Node `i`'s identity.
    pub fn identity(&self, i: usize) -> &Identity {
        &self.identities[i]
    }
}

impl Population for Nodes {
    type Node = Node;

    fn make(&mut self, index: usize, incarnation: u32) -> Node {
        // A restarted node draws fresh randomness: only its key is kept.
        let seed = match incarnation {
            0 => seed_bytes(self.seed, StreamKind::Node, index as u64),
            k => seed_bytes(
                self.seed,
                StreamKind::Restart,
                ((index as u64) << 32) | u64::from(k),
            ),
        };
        let mut config = self.config.clone();
        if let (Some(d), Ok(k)) = (
            config.discovery.as_mut(),
            self.gateways.binary_search_by_key(&index, |g| g.0),
        ) {
            d.gateway_bps = self.gateways[k].1;
        }
        if let Some(d) = config.discovery.as_mut()
            && self.pulse_group.binary_search(&index).is_err()
        {
            // Only the group's nodes pulse.
            d.pulse = None;
        }
        if let Some(list) = &self.churn_nodes {
            if list.binary_search(&index).is_err() {
                config.churn = None;
            }
            // Tunnels reach a node over the underlay: its adverts say so.
            if let Some(d) = config.discovery.as_mut() {
                d.locators = vec![node_core::wire::AdvertLocator::Underlay(index as u64)];
            }
        }
        // Its meshes scope its adverts (re6st's n-order mesh).
        if let (Some(d), Some(ms)) = (config.discovery.as_mut(), self.meshes.get(index))
            && !ms.is_empty()
        {
            d.meshes = ms.clone();
        }
        config.pay.relay = self.pay.get(index).copied().flatten();
        let config = match &self.last {
            Some(last) if **last == config => std::sync::Arc::clone(last),
            _ => {
                let shared = std::sync::Arc::new(config);
                self.last = Some(std::sync::Arc::clone(&shared));
                shared
            }
        };
        Node::new(config, std::sync::Arc::clone(&self.identities[index]), seed)
            .expect("the scenario layer validated the protocol config")
    }

    fn public_key(&self, index: usize) -> Option<PublicKey> {
        Some(*self.identities[index].public_key())
    }
}

/// Echo nodes for the engine benchmark.
pub struct Echoes {
    /// Each node's timer period.
    pub tick: node_core::Duration,
    /// How many times a datagram bounces.
    pub hops: u8,
}

impl Population for Echoes {
    type Node = EchoNode;
    fn make(&mut self, _index: usize, _incarnation: u32) -> EchoNode {
        EchoNode::new(self.tick, self.hops)
    }
    fn public_key(&self, _index: usize) -> Option<PublicKey> {
        None
    }
}
