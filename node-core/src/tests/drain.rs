//! Draining a hop's only link to its neighbour (issue 14): the hop tells
//! the origins of the routes through it, a route set builds around the
//! link and moves its traffic first (make before break), and the link
//! closes as soon as no route uses it, long before `drain_max`.

use std::collections::VecDeque;

use super::discovery::config;
use super::harness::{Net, WireParams, link_to};
use super::routes::message;
use crate::*;

fn received(net: &Net, at: usize) -> Vec<Vec<u8>> {
    net.events
        .iter()
        .filter(|(_, i, _)| *i == at)
        .filter_map(|(_, _, e)| match e {
            Event::ConnectionMessage { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

fn pour(net: &mut Net, c: ConnectionHandle, msgs: &mut VecDeque<Vec<u8>>) {
    while let Some(m) = msgs.front() {
        if !net.nodes[0].connection_has_room(c, m.len()) {
            break;
        }
        let m = msgs.pop_front().unwrap();
        net.nodes[0].connection_send(c, m).unwrap();
    }
    net.input(0, Input::Timeout);
}

#[test]
fn a_drained_hop_moves_the_set_first_and_its_link_goes_when_unused() {
    let wire = WireParams {
        latency: Duration::from_millis(5),
        bits_per_second: Some(10_000_000),
        ..WireParams::default()
    };
    // 0 -> 3 over 1 and over 2.
    let mut net = Net::new(4, config(), 3);
    for (a, b) in [(0, 1), (1, 3), (0, 2), (2, 3)] {
        net.connect(a, b, wire);
    }
    let dest = net.identities[3].address();
    assert!(net.run_until_cond(Duration::from_secs(10), |n| {
        n.nodes[0]
            .find_paths(Destination::Node(dest), 2, Disjoint::Nodes, Metric::Hops)
            .is_ok_and(|p| p.len() == 2)
    }));
    let spec = SetSpec {
        count: 1,
        mode: SetMode::Failover,
    };
    let c = net.nodes[0]
        .connect_set(Some(Destination::Node(dest)), Vec::new(), spec, Class::Bulk)
        .unwrap();
    net.input(0, Input::Timeout);
    assert!(net.run_until_cond(Duration::from_secs(2), |n| {
        n.nodes[0]
            .route_set(c)
            .is_some_and(|s| s.routes.iter().any(|r| r.up))
    }));
    let path = net.nodes[0].route_set(c).unwrap().routes[0].path.clone();
    let relay = if path[0] == net.identities[1].address() {
        1
    } else {
        2
    };
    let other = 3 - relay;
    let mut msgs: VecDeque<Vec<u8>> = (0..3000).map(|i| message(i, 1000)).collect();
    let want: Vec<Vec<u8>> = msgs.iter().cloned().collect();
    let until = net.now + Duration::from_millis(300);
    while net.now < until {
        pour(&mut net, c, &mut msgs);
        net.run_for(Duration::from_millis(5));
    }
    // The relay drains its link to the destination, with data in flight.
    let drained_at = net.now;
    net.nodes[relay]
        .drain_link(link_to(3), Duration::from_secs(60))
        .unwrap();
    net.input(relay, Input::Timeout);
    let end = net.now + Duration::from_secs(20);
    while net.now < end && received(&net, 3).len() < want.len() {
        pour(&mut net, c, &mut msgs);
        net.run_for(Duration::from_millis(5));
    }
    let got = received(&net, 3);
    assert_eq!(
        got.len(),
        want.len(),
        "delivered {} of {}",
        got.len(),
        want.len()
    );
    assert!(got == want, "out of order or altered");
    let after = |i: usize, f: &dyn Fn(&Event) -> bool| {
        net.events
            .iter()
            .filter(|(t, at, e)| *at == i && *t >= drained_at && f(e))
            .map(|(t, _, _)| *t)
            .collect::<Vec<_>>()
    };
    // The set took the notice (it is the set's, not the application's).
    assert!(after(0, &|e| matches!(e, Event::RouteDraining { .. })).is_empty());
    let switched = after(0, &|e| matches!(e, Event::ConnectionSwitched { .. }));
    assert_eq!(switched.len(), 1, "the traffic moved once");
    assert!(
        after(0, &|e| matches!(e, Event::ConnectionBroken { .. })).is_empty(),
        "the set never went down"
    );
    let info = net.nodes[0].route_set(c).unwrap();
    assert_eq!(info.stats.drain_notices, 1);
    assert_eq!(info.stats.drained_routes, 1, "closed after moving");
    assert_eq!(
        info.stats.resent_messages, 0,
        "nothing needed sending again"
    );
    assert_eq!(info.routes.len(), 1);
    assert_eq!(
        info.routes[0].path[0],
        net.identities[other].address(),
        "now around the drained link"
    );
    // The drained link closed once unused: well before drain_max, and
    // not forced.
    let closed = net
        .events
        .iter()
        .find(|(t, at, e)| {
            *at == relay
                && *t >= drained_at
                && matches!(e, Event::LinkClosed { link, .. } if *link == link_to(3))
        })
        .map(|(t, _, _)| *t)
        .expect("the drained link closed");
    let took = Duration::from_nanos(closed.as_nanos() - drained_at.as_nanos());
    assert!(took < Duration::from_secs(2), "closed after {took}");
    assert_eq!(net.nodes[relay].stats().links.drains_forced, 0);
    assert!(net.nodes[relay].route_stats().drains_told >= 1);
}
