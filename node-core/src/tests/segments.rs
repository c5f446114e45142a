//! Routes into another mesh (n-order meshes): the origin builds to a
//! border node, which finds the way on in its own meshes (a segment);
//! across two borders, the second is asked in turn.

use super::harness::Net;
use super::meshes::three_meshes;
use super::routes::route_messages as received;
use crate::*;

fn ups(net: &Net, at: usize) -> usize {
    net.count_events(at, |e| matches!(e, Event::ConnectionUp { .. }))
}

/// Mesh 1: 0, 1, 2; mesh 2: 3, 4, 5 (1 and 2 too); mesh 3: 6, 7, 8 (5
/// too). Node 0 holds only mesh 1's nodes and one entry for each of
/// meshes 2 and 3.
fn settled() -> Net {
    let mut net = three_meshes();
    let ready = |n: &Net| {
        let t = |i: usize| {
            let t = n.nodes[i].routing_table();
            (t.nodes, t.meshes)
        };
        t(0) == (2, 2) && t(1) == (5, 1) && t(5) == (7, 1)
    };
    assert!(net.run_until_cond(Duration::from_secs(10), ready));
    net
}

#[test]
fn a_route_crosses_two_meshes_through_the_border_nodes() {
    let mut net = settled();
    let dest = net.identities[7].address();
    // Node 0's database does not hold node 7.
    assert!(net.nodes[0].topology().parts(&dest).next().is_none());
    let plain = net.nodes[0].connect_to(Destination::Node(dest), Class::Bulk, RouteKind::Stream);
    assert!(
        matches!(plain, Err(CommandError::NoPath { .. })),
        "{plain:?}"
    );
    let c = net.nodes[0]
        .connect_in_mesh(dest, 3, Class::Bulk, RouteKind::Stream)
        .expect("a way toward mesh 3");
    net.input(0, Input::Timeout);
    assert!(
        net.run_until_cond(Duration::from_secs(5), |n| ups(n, 0) == 1),
        "route stats {:?}",
        net.nodes[0].route_stats()
    );
    for i in 0..20u8 {
        net.nodes[0].connection_send(c, vec![i; 300]).unwrap();
    }
    net.input(0, Input::Timeout);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| received(n, 7).len() == 20));
    let got = received(&net, 7);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, m)| *m == vec![i as u8; 300])
    );
    // The path: to a border node of mesh 1 (1 or 2), through mesh 2 to
    // node 5 (the border of mesh 3), then to node 7: two segments asked.
    let path = net.nodes[0].connection(c).unwrap().path;
    assert_eq!(path.last(), Some(&dest), "{path:?}");
    assert!(path.contains(&net.identities[5].address()), "{path:?}");
    let at = |i: usize| net.identities[i].address();
    // Node 5 relays it, node 7 ends it.
    assert_eq!(net.nodes[5].route_stats().entries, 1);
    assert_eq!(
        net.count_events(7, |e| matches!(e, Event::RouteIncoming { .. })),
        1
    );
    assert!(path.first() == Some(&at(1)) || path.first() == Some(&at(2)));
    assert_eq!(net.nodes[0].route_stats().segments_asked, 2);
    let answered: u64 = (0..9)
        .map(|i| net.nodes[i].route_stats().segments_answered)
        .sum();
    assert_eq!(answered, 2);
    let refused: u64 = (0..9)
        .map(|i| net.nodes[i].route_stats().segments_refused)
        .sum();
    assert_eq!(refused, 0);
}

#[test]
fn a_mesh_nobody_reaches_is_no_path_and_a_lost_node_fails_the_setup() {
    let mut net = settled();
    let dest = net.identities[7].address();
    // Mesh 9 is summarized by nobody.
    let r = net.nodes[0].connect_in_mesh(dest, 9, Class::Bulk, RouteKind::Stream);
    assert!(matches!(r, Err(CommandError::NoPath { .. })), "{r:?}");
    // A node of mesh 3 that does not exist: the border node of mesh 3
    // cannot find it, and the origin's setup fails as for a missing link
    // (no wait for the setup timeout).
    let ghost = Address([0xEE; 16]);
    net.nodes[0]
        .connect_in_mesh(ghost, 3, Class::Bulk, RouteKind::Stream)
        .expect("a way toward mesh 3");
    net.input(0, Input::Timeout);
    assert!(net.run_until_cond(Duration::from_secs(2), |n| {
        n.count_events(0, |e| matches!(e, Event::ConnectionBroken { .. })) > 0
    }));
    let refused: u64 = (0..9)
        .map(|i| net.nodes[i].route_stats().segments_refused)
        .sum();
    assert!(refused >= 1, "{refused}");
    assert_eq!(ups(&net, 0), 0);
}
