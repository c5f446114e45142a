//! The tunnel manager between whole nodes: each node keeps its tunnels to
//! random peers it learned of by discovery, and a refresh destroys a share
//! and opens new ones; a tunnel that carries routes is drained first.

use std::collections::BTreeSet;

use super::harness::{Net, WireParams};
use crate::churn::ChurnConfig;
use crate::wire::AdvertLocator;
use crate::*;

fn net(n: usize, churn: ChurnConfig, seed: u64) -> Net {
    let cfg = Config {
        suite: SuiteKind::Modeled,
        discovery: Some(DiscoveryConfig::default()),
        churn: Some(churn),
        max_tunnels: 64,
        ..Config::default()
    };
    let mut net = Net::new_each(n, cfg, seed, |i, c| {
        if let Some(d) = c.discovery.as_mut() {
            d.locators = vec![AdvertLocator::Underlay(i as u64)];
        }
    });
    // A ring to bootstrap from: the nodes learn of each other through it.
    for i in 0..n {
        net.connect(i, (i + 1) % n, WireParams::default());
    }
    net
}

#[test]
fn each_node_keeps_its_random_tunnels_and_refreshes_a_share() {
    let churn = ChurnConfig {
        tunnels_per_node: 3,
        refresh: Duration::from_secs(2),
        refresh_share: 500,
        ..ChurnConfig::default()
    };
    let mut net = net(12, churn, 1);
    net.run_for(Duration::from_secs(11));
    let me = |i: usize| net.identities[i].address();
    for i in 0..12 {
        let t = net.nodes[i].churn_tunnels();
        assert!(t.len() <= 3, "node {i}: {t:?}");
        let peers: BTreeSet<Address> = t.iter().map(|x| x.1).collect();
        assert_eq!(peers.len(), t.len(), "node {i}: one tunnel per peer");
        assert!(!peers.contains(&me(i)));
        let s = net.nodes[i].churn_stats().unwrap();
        assert!(s.refreshes >= 4, "node {i}: {s:?}");
        // Each refresh destroys half of what it holds, and opens anew.
        assert!(s.destroyed + s.drained >= 4, "node {i}: {s:?}");
        assert!(s.opened >= s.destroyed + s.drained, "node {i}: {s:?}");
    }
    // Over the run, tunnels went to many different peers (randomness).
    let peers: BTreeSet<Address> = net
        .tunnel_requests
        .iter()
        .map(|(_, _, key, _)| Address::of(key))
        .collect();
    assert!(peers.len() >= 10, "{}", peers.len());
}

#[test]
fn without_discovery_a_tunnel_manager_is_refused() {
    let cfg = Config {
        churn: Some(ChurnConfig::default()),
        ..Config::default()
    };
    assert!(cfg.validate().is_err());
}
