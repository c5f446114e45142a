//! Discovery between whole nodes: adverts flood, every database converges
//! to the true topology and follows it when links fail and nodes restart;
//! hostile control messages are dropped and counted.

use std::collections::BTreeSet;

use super::harness::{Net, WireParams, link_to};
use crate::discovery::adverts;
use crate::discovery::flood::{DiscoveryConfig, MSG_ADVERT};
use crate::wire::{Advert, AdvertLink, AdvertLocator};
use crate::*;

pub(crate) fn config() -> Config {
    Config {
        suite: SuiteKind::Modeled,
        discovery: Some(DiscoveryConfig::default()),
        ..Config::default()
    }
}

/// Every established link, as (from, to) addresses, both directions.
pub(crate) fn truth(net: &Net) -> BTreeSet<(Address, Address)> {
    let n = net.nodes.len();
    let mut t = BTreeSet::new();
    for a in 0..n {
        for b in 0..n {
            if a != b && net.established(a, b) {
                t.insert((net.identities[a].address(), net.identities[b].address()));
            }
        }
    }
    t
}

/// The links node `i`'s database holds (two-way checked).
pub(crate) fn view(net: &Net, i: usize) -> BTreeSet<(Address, Address)> {
    net.nodes[i]
        .topology()
        .links()
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect()
}

/// Every node's database holds exactly the established links (and some
/// are established: an empty network is not a converged one).
pub(crate) fn converged(net: &Net) -> bool {
    let t = truth(net);
    !t.is_empty() && (0..net.nodes.len()).all(|i| view(net, i) == t)
}

/// A ring of `n` with chords from every third node across.
fn ring(n: usize, seed: u64) -> Net {
    let mut net = Net::new(n, config(), seed);
    for i in 0..n {
        net.connect(i, (i + 1) % n, WireParams::default());
    }
    for i in (0..n).step_by(3) {
        let j = (i + n / 2) % n;
        if j != i && (j + 1) % n != i && (i + 1) % n != j {
            net.connect(i, j, WireParams::default());
        }
    }
    net
}

#[test]
fn databases_converge_and_follow_failures_and_restarts() {
    let mut net = ring(9, 1);
    assert!(
        net.run_until_cond(Duration::from_secs(3), converged),
        "not converged after 3 s"
    );
    let t_start = net.now;
    assert!(t_start < Time::from_nanos(500_000_000), "{t_start}");
    // Each node holds all nine origins, links measured on their carriers
    // (a link's first advert may carry the initial RTT guess: the measured
    // one follows a second later).
    net.run_for(Duration::from_secs(2));
    for i in 0..9 {
        assert_eq!(net.nodes[i].topology().len(), 9);
        for (_, _, l) in net.nodes[i].topology().links() {
            assert!((9_000..40_000).contains(&l.rtt_us), "{l:?}");
        }
    }
    // Cut 0-1: once the link is dead at both ends (dead_interval), both
    // stop advertising it and every database drops it.
    net.set_wire_up(0, 1, false);
    let cut = net.now;
    let edge = (net.identities[0].address(), net.identities[1].address());
    assert!(net.run_until_cond(Duration::from_secs(15), |n| {
        converged(n) && !view(n, 5).contains(&edge)
    }));
    let after = Duration::from_nanos(net.now.as_nanos() - cut.as_nanos());
    assert!(
        after < Duration::from_secs(11),
        "{after} (dead interval 10 s)"
    );
    // A restarted node starts its counter again: its first advert is older
    // than what the network holds; the network hands its old one back and
    // it signs one past it.
    net.set_wire_up(0, 1, true);
    net.link_up(0, 1, Some(*net.identities[1].public_key()));
    net.link_up(1, 0, Some(*net.identities[0].public_key()));
    assert!(net.run_until_cond(Duration::from_secs(3), converged));
    let seq_before = net.nodes[4]
        .topology()
        .seq(&net.identities[4].address())
        .unwrap();
    net.restart(4);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| {
        converged(n) && n.nodes[0].topology().seq(&n.identities[4].address()) > Some(seq_before)
    }));
    assert!(net.nodes[4].discovery_stats().own_superseded >= 1);
    // Nothing in the flood broke a link rule.
    for n in &net.nodes {
        assert_eq!(n.stats().links.protocol_violations, 0);
        assert_eq!(n.discovery_stats().bad_signature, 0);
        assert_eq!(n.discovery_stats().malformed, 0);
    }
}

#[test]
fn flooding_costs_about_one_copy_per_link_and_advert() {
    let mut net = ring(12, 2);
    assert!(net.run_until_cond(Duration::from_secs(3), converged));
    net.run_for(Duration::from_millis(500));
    let sent: u64 = net
        .nodes
        .iter()
        .map(|n| n.discovery_stats().adverts_sent)
        .sum();
    let originated: u64 = net
        .nodes
        .iter()
        .map(|n| n.discovery_stats().originated)
        .sum();
    let links = truth(&net).len() as u64 / 2;
    // Each advert crosses each link at most once per direction that has
    // not seen it; the start (links coming up one by one, each a new
    // advert of both ends) costs more than one advert per node.
    assert!(
        sent <= originated * 2 * links,
        "{sent} {originated} {links}"
    );
    let dup: u64 = net.nodes.iter().map(|n| n.topology().stats.duplicate).sum();
    assert!(dup <= sent, "{dup} {sent}");
}

/// Node 1 sends node 0 what it likes on the control channel.
fn hostile_pair(cfg: Config) -> Net {
    let mut net = Net::new(3, cfg, 7);
    net.connect(0, 1, WireParams::default());
    net.connect(1, 2, WireParams::default());
    assert!(net.run_until_cond(Duration::from_secs(3), converged));
    net
}

pub(crate) fn send_raw(net: &mut Net, data: Vec<u8>) {
    net.nodes[1].send_control(link_to(0), data).unwrap();
    // Nothing is due: the input only makes the harness poll node 1.
    net.input(1, Input::Timeout);
    net.run_for(Duration::from_millis(50));
}

pub(crate) fn advert_msg(a: &Advert) -> Vec<u8> {
    let mut m = vec![MSG_ADVERT];
    a.encode(&mut m);
    m
}

pub(crate) fn signed(id: &Identity, seq: u64, neighbours: &[Address]) -> Advert {
    let mut n: Vec<AdvertLink> = neighbours
        .iter()
        .map(|&a| AdvertLink {
            neighbour: a,
            rtt_us: 1000,
            loss: 0,
            rate_kbps: 0,
        })
        .collect();
    n.sort();
    let mut a = Advert {
        origin: *id.public_key(),
        seq,
        lifetime_s: 100,
        part: 0,
        parts: 1,
        gateway_bps: 0,
        locators: vec![AdvertLocator::Underlay(9)],
        neighbours: n,
        meshes: vec![0],
        summaries: Vec::new(),
        signature: [0; crate::crypto::SIG_LEN],
        age_s: 0,
    };
    adverts::sign(SuiteKind::Modeled.suite(), id, &mut a).unwrap();
    a
}

#[test]
fn forged_replayed_impossible_and_oversized_adverts_are_dropped_and_counted() {
    let mut net = hostile_pair(config());
    let id2 = net.identities[2].clone();
    let a2 = net.identities[2].address();
    let held = net.nodes[0].topology().seq(&a2).unwrap();
    let before = net.nodes[0].topology().parts(&a2).next().unwrap().clone();
    let s = |n: &Net| n.nodes[0].discovery_stats();
    let db = |n: &Net| n.nodes[0].topology().stats;

    // Garbage, an empty message, and one far past the longest advert.
    send_raw(&mut net, vec![MSG_ADVERT, 1, 2, 3]);
    send_raw(&mut net, vec![MSG_ADVERT]);
    send_raw(&mut net, vec![MSG_ADVERT; Advert::MAX_LEN + 200]);
    assert_eq!(s(&net).malformed, 3);

    // Forged: node 2's advert with a newer seq and a link 1 did not sign.
    let mut forged = signed(&id2, held + 10, &[net.identities[0].address()]);
    forged.neighbours[0].rtt_us = 1;
    send_raw(&mut net, advert_msg(&forged));
    assert_eq!(s(&net).bad_signature, 1);

    // Replayed: the advert held, and an older one.
    send_raw(&mut net, advert_msg(&before));
    assert_eq!(db(&net).duplicate, 1);
    let old = signed(&id2, held.saturating_sub(1), &[]);
    send_raw(&mut net, advert_msg(&old));
    if held > 0 {
        assert_eq!(db(&net).stale, 1);
    }

    // Impossible: signed, but a link to itself.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let stranger = Identity::generate(SuiteKind::Modeled, &mut rng);
    let selfish = signed(&stranger, 5, &[stranger.address()]);
    send_raw(&mut net, advert_msg(&selfish));
    assert_eq!(s(&net).impossible, 1);

    // An unknown control message type: skipped by the version rule.
    let unknown = net.nodes[0].stats().unknown_frames;
    send_raw(&mut net, vec![0x2f, 0, 0]);
    assert_eq!(net.nodes[0].stats().unknown_frames, unknown + 1);

    // Through all of it node 2's advert held is the real one, the link
    // stayed up, nothing counted as a link violation.
    assert_eq!(net.nodes[0].topology().seq(&a2), Some(held));
    assert!(net.established(0, 1));
    assert_eq!(net.nodes[0].stats().links.protocol_violations, 0);
    assert!(converged(&net));
}

#[test]
fn a_flood_of_fresh_origins_is_bounded_by_budget_and_database() {
    let cfg = Config {
        discovery: Some(DiscoveryConfig {
            verify_rate: 100,
            verify_burst: 200,
            limits: crate::discovery::db::DbLimits {
                max_origins: 150,
                ..Default::default()
            },
            ..DiscoveryConfig::default()
        }),
        ..config()
    };
    let mut net = hostile_pair(cfg);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    // 1,000 validly signed adverts of fresh keys, as fast as the link
    // takes them.
    for _ in 0..1000 {
        let id = Identity::generate(SuiteKind::Modeled, &mut rng);
        let a = signed(&id, 1, &[]);
        net.nodes[1]
            .send_control(link_to(0), advert_msg(&a))
            .unwrap();
    }
    net.input(1, Input::Timeout);
    net.run_for(Duration::from_millis(500));
    let s = net.nodes[0].discovery_stats();
    let db = net.nodes[0].topology();
    assert_eq!(s.adverts_received - s.malformed, s.adverts_received);
    // The budget: 200 at once, then 100/s.
    assert!(s.over_rate >= 700, "{s:?}");
    // The database: 150 origins, no more; the three real ones are among
    // them (a flood cannot evict what is known).
    assert_eq!(db.len(), 150);
    assert!(db.stats.full > 0, "{:?}", db.stats);
    for id in &net.identities {
        assert!(db.seq(&id.address()).is_some());
    }
    // The flood went on to node 2 only as far as node 0 took it, and
    // node 2 is bounded the same way.
    assert!(net.nodes[2].topology().len() <= 150);
    assert!(net.established(0, 1) && net.established(1, 2));
}

use rand::SeedableRng;

#[test]
fn a_connection_to_a_destination_finds_its_path_and_a_new_one_when_it_breaks() {
    let mut net = ring(9, 4);
    assert!(net.run_until_cond(Duration::from_secs(3), converged));
    net.run_for(Duration::from_secs(2));
    let dest = net.identities[4].address();
    let stranger = Address([7; 16]);
    // Unknown: a clear error, at once.
    assert_eq!(
        net.nodes[1].connect_to(Destination::Node(stranger), Class::Bulk, RouteKind::Stream),
        Err(CommandError::NoPath {
            destination: Destination::Node(stranger),
            reason: NoPath::Unknown
        })
    );
    let c = net.nodes[1]
        .connect_to(Destination::Node(dest), Class::Bulk, RouteKind::Stream)
        .unwrap();
    net.input(1, Input::Timeout);
    assert!(net.run_until_cond(Duration::from_secs(1), |n| {
        n.nodes[1].connection(c).unwrap().state == ConnectionState::Up
    }));
    let first = net.nodes[1].connection(c).unwrap().path;
    assert_eq!(first.last(), Some(&dest));
    // The shortest path by latency: every wire is 5 ms, so the fewest hops.
    let hops = net.nodes[1]
        .find_paths(Destination::Node(dest), 1, Disjoint::Links, Metric::Hops)
        .unwrap()[0]
        .len();
    assert_eq!(first.len(), hops);
    // Cut the first hop: the link dies, the route breaks, the neighbours'
    // adverts drop the link, and the new route goes around.
    let idx = |a: &Address| {
        net.identities
            .iter()
            .position(|i| i.address() == *a)
            .unwrap()
    };
    let (a, b) = (1, idx(&first[0]));
    net.set_wire_up(a, b, false);
    assert!(net.run_until_cond(Duration::from_secs(15), |n| {
        let i = n.nodes[1].connection(c).unwrap();
        i.state == ConnectionState::Up && i.reopens > 0
    }));
    let second = net.nodes[1].connection(c).unwrap().path;
    assert_ne!(second[0], first[0]);
    assert_eq!(second.last(), Some(&dest));
}
