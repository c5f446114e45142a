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
fn without_discovery_the_manager_asks_the_driver_and_keeps_a_bounded_pool() {
    let cfg = Config {
        suite: SuiteKind::Modeled,
        churn: Some(ChurnConfig {
            tunnels_per_node: 2,
            ..ChurnConfig::default()
        }),
        ..Config::default()
    };
    assert!(cfg.validate().is_ok());
    let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(3);
    let id = Identity::generate(SuiteKind::Modeled, &mut rng);
    let mut node = Node::new(cfg, id.clone(), [7; 32]).unwrap();
    let poll = |node: &mut Node| -> Vec<Output> {
        let mut out = Vec::new();
        loop {
            match node.poll_output(Time::ZERO) {
                Output::Timeout(_) => return out,
                o => out.push(o),
            }
        }
    };
    node.handle_input(Time::ZERO, Input::Timeout);
    // It knows nobody: it asks for two candidates, once.
    let first = poll(&mut node);
    let asks: Vec<&Output> = first
        .iter()
        .filter(|o| matches!(o, Output::WantPeers { .. }))
        .collect();
    assert_eq!(asks, vec![&Output::WantPeers { count: 2 }]);
    // A flood of offers (itself among them, and one twice): the pool takes
    // at most MAX_OFFERED per tunnel kept, the rest is counted, and the
    // tunnels go to two of the offered peers.
    let mut peers: Vec<(PublicKey, Locator)> = (0..50)
        .map(|i| {
            let k = *Identity::generate(SuiteKind::Modeled, &mut rng).public_key();
            (k, Locator::Underlay(i))
        })
        .collect();
    peers.push(peers[0]);
    peers.push((*id.public_key(), Locator::Underlay(99)));
    node.handle_input(
        Time::ZERO,
        Input::PeersOffered {
            peers: peers.clone(),
        },
    );
    let out = poll(&mut node);
    let opened: Vec<PublicKey> = out
        .iter()
        .filter_map(|o| match o {
            Output::OpenTunnel { peer, .. } => Some(*peer),
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 2, "{out:?}");
    assert!(opened.iter().all(|k| peers[..8].iter().any(|p| p.0 == *k)));
    let s = node.churn_stats().unwrap();
    let cap = crate::churn::manager::MAX_OFFERED * 2;
    assert_eq!(s.offers_dropped, (52 - cap) as u64, "{s:?}");
    assert_eq!((s.requested, s.peers_asked), (2, 2));
}

#[test]
fn an_incoming_tunnel_beyond_max_peers_is_refused_and_counted() {
    let cfg = Config {
        suite: SuiteKind::Modeled,
        churn: Some(ChurnConfig {
            tunnels_per_node: 1,
            max_peers: 2,
            ..ChurnConfig::default()
        }),
        ..Config::default()
    };
    let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(4);
    let id = Identity::generate(SuiteKind::Modeled, &mut rng);
    let mut node = Node::new(cfg, id, [8; 32]).unwrap();
    for l in 0..5u64 {
        let incoming = Input::IncomingTunnel {
            link: LinkId(100 + l),
            mtu: 1400,
            rate_bps: None,
            offered: None,
        };
        node.handle_input(Time::ZERO, incoming);
    }
    let mut closed = Vec::new();
    loop {
        match node.poll_output(Time::ZERO) {
            Output::CloseTunnel { link } => closed.push(link),
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    assert_eq!(closed, vec![LinkId(102), LinkId(103), LinkId(104)]);
    let s = node.churn_stats().unwrap();
    assert_eq!(s.refused_incoming, 3);
    assert_eq!(node.tunnel_stats().refused, 3);
}

/// A node running the manager alone (no discovery: its peers come from
/// the driver), keeping `tunnels`; its identity drawn from `seed`, and the
/// stream it was drawn from for the test's own keys.
fn lone(tunnels: usize, seed: u64, node_seed: u8) -> (Node, rand_chacha::ChaCha20Rng) {
    let cfg = Config {
        suite: SuiteKind::Modeled,
        churn: Some(ChurnConfig {
            tunnels_per_node: tunnels,
            ..ChurnConfig::default()
        }),
        ..Config::default()
    };
    let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(seed);
    let id = Identity::generate(SuiteKind::Modeled, &mut rng);
    (Node::new(cfg, id, [node_seed; 32]).unwrap(), rng)
}

#[test]
fn a_driver_that_offers_too_few_is_asked_again_only_after_a_top_up_period() {
    let (mut node, mut rng) = lone(4, 5, 9);
    // A driver that answers every ask at once with one candidate (a
    // registry that knows few nodes): each answer leaves the manager short.
    let mut next = 0u64;
    let mut drive = |node: &mut Node, now: Time| -> (usize, usize) {
        let (mut asks, mut opens) = (0, 0);
        for _ in 0..10_000 {
            match node.poll_output(now) {
                Output::Timeout(_) => return (asks, opens),
                Output::WantPeers { .. } => {
                    asks += 1;
                    next += 1;
                    let k = *Identity::generate(SuiteKind::Modeled, &mut rng).public_key();
                    node.handle_input(
                        now,
                        Input::PeersOffered {
                            peers: vec![(k, Locator::Underlay(next))],
                        },
                    );
                }
                Output::OpenTunnel { .. } => opens += 1,
                _ => {}
            }
        }
        panic!("the node never stopped asking at {now:?}");
    };
    node.handle_input(Time::ZERO, Input::Timeout);
    // One ask in the instant, however quickly it is answered.
    assert_eq!(drive(&mut node, Time::ZERO), (1, 1));
    let half = Time::ZERO + Duration::from_millis(500);
    node.handle_input(half, Input::Timeout);
    assert_eq!(drive(&mut node, half).0, 0);
    // A top-up period later it asks again, once.
    let later = Time::ZERO + crate::churn::manager::TOP_UP_EVERY;
    node.handle_input(later, Input::Timeout);
    assert_eq!(drive(&mut node, later), (1, 1));
    assert_eq!(node.churn_stats().unwrap().requested, 2);
}

#[test]
fn peers_that_fail_or_never_answer_are_counted_and_replaced_by_others() {
    let (mut node, mut rng) = lone(2, 6, 3);
    let peers: Vec<(PublicKey, Locator)> = (0..6)
        .map(|i| {
            let k = *Identity::generate(SuiteKind::Modeled, &mut rng).public_key();
            (k, Locator::Underlay(i))
        })
        .collect();
    // Each poll: the tunnels asked for, and how many candidates.
    let poll = |node: &mut Node, now: Time| {
        let (mut opens, mut asked) = (Vec::new(), 0);
        loop {
            match node.poll_output(now) {
                Output::Timeout(_) => return (opens, asked),
                Output::OpenTunnel { request, peer, .. } => opens.push((request, peer)),
                Output::WantPeers { count } => asked += count,
                _ => {}
            }
        }
    };
    let mut now = Time::ZERO;
    node.handle_input(now, Input::Timeout);
    let (_, asked) = poll(&mut node, now);
    assert_eq!(asked, 2);
    node.handle_input(
        now,
        Input::PeersOffered {
            peers: peers.clone(),
        },
    );
    // The first two refuse (the driver cannot reach them).
    let (first, _) = poll(&mut node, now);
    assert_eq!(first.len(), 2);
    for (request, _) in &first {
        let reason = TunnelFailure::Unreachable;
        node.handle_input(
            now,
            Input::TunnelFailed {
                request: *request,
                reason,
            },
        );
    }
    // The next two are opened but never answer the handshake (a lying
    // locator, a cut path): given up after the establish timeout.
    now += Duration::from_secs(1);
    node.handle_input(now, Input::Timeout);
    let (second, _) = poll(&mut node, now);
    assert_eq!(second.len(), 2, "others drawn at the next top-up");
    let rested: BTreeSet<PublicKey> = first.iter().map(|x| x.1).collect();
    assert!(second.iter().all(|x| !rested.contains(&x.1)));
    for (k, (request, _)) in second.iter().enumerate() {
        node.handle_input(
            now,
            Input::TunnelOpened {
                request: *request,
                link: LinkId(100 + k as u64),
                mtu: 1200,
                rate_bps: None,
            },
        );
    }
    let mut third = Vec::new();
    for _ in 0..40 {
        now += Duration::from_secs(1);
        node.handle_input(now, Input::Timeout);
        third.extend(poll(&mut node, now).0);
    }
    let s = node.churn_stats().unwrap();
    assert_eq!((s.failed, s.refused, s.opened), (2, 2, 2), "{s:?}");
    // Replaced by the two candidates left (a drawn candidate leaves the
    // pool: one that failed is not drawn again unless offered again).
    let tried: BTreeSet<PublicKey> = first.iter().chain(&second).map(|x| x.1).collect();
    assert_eq!(third.len(), 2, "{third:?}");
    assert!(third.iter().all(|x| !tried.contains(&x.1)));
    assert_eq!(s.requested, 6);
}
