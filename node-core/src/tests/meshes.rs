//! re6st's n-order meshes between whole nodes: adverts stay in their
//! meshes, border nodes summarize the other meshes, a mesh that goes away
//! is forgotten without counting up, and adverts of other meshes, lying
//! summaries and floods of them are dropped, counted and bounded.

use super::discovery::{advert_msg, send_raw, signed};
use super::harness::{Net, WireParams};
use crate::discovery::flood::DiscoveryConfig;
use crate::wire::MeshSummary;
use crate::*;

/// Mesh 1: 0, 1, 2; mesh 2: 3, 4, 5; mesh 3: 6, 7, 8. Nodes 1 and 2 are
/// also in mesh 2, node 5 also in mesh 3.
pub(super) fn meshes_of(i: usize) -> Vec<u16> {
    match i {
        0 => vec![1],
        1 | 2 => vec![1, 2],
        3 | 4 => vec![2],
        5 => vec![2, 3],
        _ => vec![3],
    }
}

pub(super) fn three_meshes() -> Net {
    let base = Config {
        suite: SuiteKind::Modeled,
        dead_interval: Duration::from_secs(2),
        keepalive_interval: Duration::from_millis(500),
        discovery: Some(DiscoveryConfig {
            refresh: Duration::from_secs(2),
            lifetime: Duration::from_secs(5),
            ..DiscoveryConfig::default()
        }),
        ..Config::default()
    };
    let mut net = Net::new_each(9, base, 21, |i, c| {
        c.discovery.as_mut().unwrap().meshes = meshes_of(i);
    });
    for (a, b) in [(0, 1), (1, 2), (0, 2), (2, 3), (1, 4), (3, 4), (4, 5)] {
        net.connect(a, b, WireParams::default());
    }
    for (a, b) in [(3, 5), (5, 6), (6, 7), (7, 8), (6, 8)] {
        net.connect(a, b, WireParams::default());
    }
    net
}

fn table(net: &Net, i: usize) -> (usize, usize) {
    let t = net.nodes[i].routing_table();
    (t.nodes, t.meshes)
}

/// Who node `i`'s database holds, by node index.
fn held(net: &Net, i: usize) -> Vec<usize> {
    (0..net.nodes.len())
        .filter(|&j| {
            let a = net.identities[j].address();
            net.nodes[i].topology().seq(&a).is_some()
        })
        .collect()
}

#[test]
fn adverts_stay_in_their_meshes_and_border_nodes_summarize_the_others() {
    let mut net = three_meshes();
    let want = |n: &Net| table(n, 0) == (2, 2) && table(n, 7) == (3, 2) && table(n, 4) == (4, 2);
    assert!(
        net.run_until_cond(Duration::from_secs(10), want),
        "tables: {:?}",
        (0..9).map(|i| table(&net, i)).collect::<Vec<_>>()
    );
    // Each node holds its meshes' nodes and no others.
    assert_eq!(held(&net, 0), vec![0, 1, 2]);
    assert_eq!(held(&net, 2), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(held(&net, 4), vec![1, 2, 3, 4, 5]);
    assert_eq!(held(&net, 6), vec![5, 6, 7, 8]);
    // Tables: its meshes' other nodes, plus one entry per other mesh:
    // a border node holds two meshes' nodes.
    assert_eq!(table(&net, 2), (5, 1));
    assert_eq!(table(&net, 5), (7, 1));
    // Node 2 advertises mesh 3, reached through mesh 2; node 0 (mesh 1
    // only) reaches it through meshes 1 and 2.
    let a2 = net.identities[2].address();
    let own = net.nodes[2].topology().parts(&a2).next().unwrap().clone();
    assert_eq!(own.meshes, vec![1, 2]);
    assert_eq!(
        own.summaries,
        vec![MeshSummary {
            mesh: 3,
            via: vec![2]
        }]
    );
    let (reached, _) = crate::discovery::meshes::reached(
        net.nodes[0].topology(),
        net.identities[0].address(),
        &[1],
    );
    assert_eq!(reached.get(&3), Some(&vec![1, 2]));
    assert_eq!(reached.get(&2), Some(&vec![1]));
    // Node 1 is a border of the same meshes as node 2: it ignores node
    // 2's entry for mesh 3 (its via names mesh 2, one of node 1's) and
    // takes mesh 3 from node 5 itself.
    let (reached, _) = crate::discovery::meshes::reached(
        net.nodes[1].topology(),
        net.identities[1].address(),
        &[1, 2],
    );
    assert_eq!(reached.get(&3), Some(&vec![2]));
    // Adverts of other meshes that reached a node anyway (a new
    // neighbour is sent the whole database before its meshes are known)
    // were dropped and counted, never held.
    let out: u64 = net
        .nodes
        .iter()
        .map(|n| n.discovery_stats().out_of_scope)
        .sum();
    assert!(out > 0, "{out}");

    // Mesh 3 goes away with its only border node: once node 5's advert
    // expires, nodes 1 and 2 drop mesh 3 and node 2 withdraws its entry;
    // nobody counts up through the other border's entries.
    net.set_wire_up(3, 5, false);
    net.set_wire_up(4, 5, false);
    net.set_wire_up(5, 6, false);
    assert!(
        net.run_until_cond(Duration::from_secs(20), |n| {
            table(n, 0) == (2, 1) && table(n, 1).1 == 0 && table(n, 2).1 == 0
        }),
        "tables: {:?}",
        (0..9).map(|i| table(&net, i)).collect::<Vec<_>>()
    );
    // Every database drops node 5's advert within its lifetime (5 s)
    // of its last refresh; then no node of meshes 1 and 2 holds mesh 3.
    net.run_for(Duration::from_secs(6));
    for i in [0, 1, 2, 3, 4] {
        let (r, _) = crate::discovery::meshes::reached(
            net.nodes[i].topology(),
            net.identities[i].address(),
            &meshes_of(i),
        );
        assert!(!r.contains_key(&3), "node {i}: {r:?}");
    }
    for n in &net.nodes {
        assert_eq!(n.discovery_stats().malformed, 0);
        assert_eq!(n.discovery_stats().bad_signature, 0);
    }
}

/// Nodes 0 (mesh 1), 1 (meshes 1 and 2), 2 (mesh 2): node 1 sends node 0
/// what it likes.
fn hostile_border() -> Net {
    let base = Config {
        suite: SuiteKind::Modeled,
        discovery: Some(DiscoveryConfig::default()),
        ..Config::default()
    };
    let mut net = Net::new_each(3, base, 22, |i, c| {
        c.discovery.as_mut().unwrap().meshes = match i {
            0 => vec![1],
            1 => vec![1, 2],
            _ => vec![2],
        };
    });
    net.connect(0, 1, WireParams::default());
    net.connect(1, 2, WireParams::default());
    assert!(net.run_until_cond(Duration::from_secs(3), |n| table(n, 0) == (1, 1)));
    net
}

#[test]
fn other_meshes_adverts_lies_and_floods_are_dropped_counted_and_bounded() {
    use rand::SeedableRng;
    let mut net = hostile_border();
    let s = |n: &Net| n.nodes[0].discovery_stats();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);

    // Another mesh's advert, validly signed: dropped before any check of
    // its signature, never held.
    let out = s(&net).out_of_scope;
    let stranger = Identity::generate(SuiteKind::Modeled, &mut rng);
    let mut other = signed(&stranger, 1, &[]);
    other.meshes = vec![7];
    crate::discovery::adverts::sign(SuiteKind::Modeled.suite(), &stranger, &mut other).unwrap();
    send_raw(&mut net, advert_msg(&other));
    assert_eq!(s(&net).out_of_scope, out + 1);
    assert!(net.nodes[0].topology().seq(&stranger.address()).is_none());

    // A flood of 2,000 of them, forged or not: all dropped unverified, the
    // verification budget untouched, the database unchanged.
    for k in 0..2000u64 {
        let id = Identity::generate(SuiteKind::Modeled, &mut rng);
        let mut a = signed(&id, k, &[]);
        a.meshes = vec![3 + (k % 50) as u16];
        a.signature = [k as u8; crate::crypto::SIG_LEN];
        net.nodes[1]
            .send_control(super::harness::link_to(0), advert_msg(&a))
            .unwrap();
    }
    net.input(1, Input::Timeout);
    net.run_for(Duration::from_millis(500));
    assert_eq!(s(&net).out_of_scope, out + 2001);
    assert_eq!(s(&net).over_rate, 0);
    assert_eq!(s(&net).bad_signature, 0);
    assert_eq!(net.nodes[0].topology().len(), 2);

    // A mesh-1 stranger that lies: it claims 128 meshes it does not
    // reach. Its advert is signed, so it is taken, but it adds at most
    // Advert::MAX_SUMMARIES entries (a table cannot grow past
    // MAX_TABLE_MESHES however many liars there are).
    let liar = Identity::generate(SuiteKind::Modeled, &mut rng);
    let mut lie = signed(&liar, 1, &[]);
    lie.meshes = vec![1, 900];
    lie.summaries = (1000..1000 + crate::wire::Advert::MAX_SUMMARIES as u16)
        .map(|m| MeshSummary {
            mesh: m,
            via: vec![900],
        })
        .collect();
    crate::discovery::adverts::sign(SuiteKind::Modeled.suite(), &liar, &mut lie).unwrap();
    send_raw(&mut net, advert_msg(&lie));
    let t = net.nodes[0].routing_table();
    assert_eq!(t.nodes, 2);
    assert_eq!(t.meshes, 1 + 1 + crate::wire::Advert::MAX_SUMMARIES);
    // One more summary than the bound: does not decode.
    lie.summaries.push(MeshSummary {
        mesh: 2000,
        via: vec![900],
    });
    let malformed = s(&net).malformed;
    send_raw(&mut net, advert_msg(&lie));
    assert_eq!(s(&net).malformed, malformed + 1);
    // The real border's entry held through it all; the link is up.
    assert!(net.established(0, 1));
    assert_eq!(net.nodes[0].stats().links.protocol_violations, 0);
}
