//! Several links to one neighbour: a route's hop is the neighbour, so when
//! the link carrying it fails or is drained the route moves to another link
//! to the same peer, with nothing lost, duplicated or closed. And the order
//! of events when a failure does break routes.

use super::harness::{Net, WireParams, link_to};
use super::routes::{config, message, open, route_events, route_messages};
use crate::config::RouteMode;
use crate::*;

/// The second link between two nodes, as node `at` names its link to `to`.
fn second(to: usize) -> LinkId {
    LinkId(100 + to as u64)
}

/// A - B - C with two links on each hop (a "wifi" link and a "tunnel").
fn doubled_chain(seed: u64) -> Net {
    let mut net = Net::new(3, config(RouteMode::StoreAndForward), seed);
    let wifi = WireParams {
        latency: Duration::from_millis(2),
        bits_per_second: Some(20_000_000),
        ..WireParams::default()
    };
    let tunnel = WireParams {
        latency: Duration::from_millis(15),
        bits_per_second: Some(20_000_000),
        ..WireParams::default()
    };
    for (a, b) in [(0, 1), (1, 2)] {
        net.connect(a, b, wifi);
        net.connect_another(a, b, second(b), second(a), tunnel);
    }
    assert!(net.run_until_cond(Duration::from_secs(10), |n| {
        [(0, 1), (1, 2)].iter().all(|&(a, b)| {
            n.established(a, b)
                && [(a, second(b)), (b, second(a))]
                    .iter()
                    .all(|&(i, l)| n.nodes[i].link(l).is_some_and(|x| x.established))
        })
    }));
    net
}

/// The link node `at` sends route `h` on towards the destination (or the
/// origin, with `upstream`).
fn carrier(net: &Net, at: usize, upstream: bool) -> LinkId {
    let h = net.nodes[at].routes().next().expect("an entry");
    let info = net.nodes[at].route(h).expect("info");
    if upstream {
        info.upstream
    } else {
        info.downstream
    }
    .expect("a carrier link")
}

/// Sends `msgs` on `route` from node 0 as room appears; `at_event(net, k)`
/// runs once when message `k` of `cuts` has been queued.
fn send_with_cuts(
    net: &mut Net,
    route: RouteHandle,
    msgs: &[Vec<u8>],
    cuts: &[usize],
    at_cut: &mut dyn FnMut(&mut Net, usize),
) {
    let end = net.now + Duration::from_secs(60);
    let mut next = 0;
    let mut cut = 0;
    while next < msgs.len() && net.now < end {
        while next < msgs.len() && net.nodes[0].route_has_room(route, msgs[next].len()) {
            net.nodes[0]
                .route_send(route, msgs[next].clone())
                .expect("room was checked");
            next += 1;
            if cut < cuts.len() && next == cuts[cut] {
                at_cut(net, cut);
                cut += 1;
            }
        }
        net.input(0, Input::Timeout);
        net.run_for(Duration::from_millis(1));
    }
    assert_eq!(next, msgs.len(), "the route never made room for everything");
    assert_eq!(cut, cuts.len(), "every cut happened");
}

fn no_route_closed(net: &Net) {
    for i in 0..3 {
        assert!(
            !route_events(net, i)
                .iter()
                .any(|e| matches!(e, Event::RouteClosed { .. })),
            "node {i}: {:?}",
            route_events(net, i)
        );
    }
}

/// Checks the transfer arrived exactly once, in order, byte for byte.
fn delivered_exactly(net: &Net, msgs: &[Vec<u8>]) {
    let got = route_messages(net, 2);
    assert_eq!(got.len(), msgs.len(), "no message lost or duplicated");
    assert!(got == msgs, "every message byte-exact and in order");
}

#[test]
fn a_route_moves_to_another_link_of_the_same_neighbour_when_its_link_is_cut() {
    let mut net = doubled_chain(21);
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    net.run_for(Duration::from_millis(100));
    let msgs: Vec<_> = (0..160).map(|i| message(i, 16 * 1024)).collect();
    let before = (
        carrier(&net, 0, false),
        carrier(&net, 1, true),
        carrier(&net, 1, false),
    );
    assert_eq!(net.far_end(0, before.0), (1, before.1));
    let mut cut_links = Vec::new();
    send_with_cuts(&mut net, r, &msgs, &[40, 100], &mut |net, k| {
        if k == 0 {
            // A-B: the wire carrying the route is cut; both ends find the
            // link dead after `dead_interval`, with data in flight on it.
            let l = carrier(net, 0, false);
            net.set_link_wire_up(0, l, false);
            cut_links.push((0, l));
        } else {
            // B-C: the driver takes the link away at both ends (a tunnel
            // destroyed), while the relay holds data for it.
            let l = carrier(net, 1, false);
            let held = net.nodes[1].route(net.nodes[1].routes().next().unwrap());
            assert!(held.unwrap().held[0] > 0, "the relay holds data");
            let (c, lc) = net.far_end(1, l);
            net.input(1, Input::LinkDown { link: l });
            net.input(c, Input::LinkDown { link: lc });
            cut_links.push((1, l));
        }
    });
    net.run_for(Duration::from_secs(15));
    delivered_exactly(&net, &msgs);
    no_route_closed(&net);
    // The relay moved both its upstream and its downstream side.
    let after = (
        carrier(&net, 0, false),
        carrier(&net, 1, true),
        carrier(&net, 1, false),
    );
    assert_ne!(after.0, before.0);
    assert_ne!(after.1, before.1);
    assert_ne!(after.2, before.2);
    assert_eq!(cut_links, vec![(0, before.0), (1, before.2)]);
    // Data lost with the cut link was sent again on the other one.
    let resent: u64 = (0..2)
        .map(|i| {
            let h = net.nodes[i].routes().next().unwrap();
            net.nodes[i].route(h).unwrap().sent[0].bytes_retransmitted
        })
        .sum();
    assert!(resent > 0, "the data in flight on the cut links was resent");
    // The cut wire's link is dead at both ends; the neighbour stayed.
    assert_eq!(net.nodes[0].link_state(before.0), Some(LinkState::Dead));
    let n = net.nodes[0].neighbours().next().unwrap();
    assert_eq!(n.address, net.identities[1].address());
    assert_eq!(n.carrier, Some(after.0));
    // What the table shows of the link that carries: its measurements.
    let carrier = n.links.iter().find(|l| l.link == after.0).unwrap();
    assert!(
        carrier.srtt > Duration::ZERO && carrier.sent > 0,
        "{carrier:?}"
    );
}

#[test]
fn a_drained_link_hands_its_routes_over_before_it_closes() {
    let mut net = doubled_chain(22);
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    net.run_for(Duration::from_millis(100));
    let msgs: Vec<_> = (0..160).map(|i| message(i, 16 * 1024)).collect();
    let before = (carrier(&net, 0, false), carrier(&net, 1, false));
    let mut drained = Vec::new();
    send_with_cuts(&mut net, r, &msgs, &[40, 100], &mut |net, k| {
        let at = k; // node 0 drains A-B, node 1 drains B-C
        let l = carrier(net, at, false);
        net.nodes[at]
            .drain_link(l, Duration::from_secs(30))
            .expect("drain");
        // Make before break: the route is on the other link at once.
        assert_ne!(carrier(net, at, false), l);
        assert_eq!(net.nodes[at].link_state(l), Some(LinkState::Draining));
        drained.push((at, l, net.now));
    });
    net.run_for(Duration::from_secs(5));
    delivered_exactly(&net, &msgs);
    no_route_closed(&net);
    for &(at, l, since) in &drained {
        assert_eq!(net.nodes[at].link_state(l), Some(LinkState::Closed));
        let closed_at = net
            .events
            .iter()
            .find(|(_, i, e)| {
                *i == at
                    && matches!(e, Event::LinkClosed { link, reason: CloseReason::Local, .. } if *link == l)
            })
            .map(|(t, _, _)| *t)
            .expect("the drained link closed");
        // It closed once idle, long before its deadline.
        assert!(closed_at.saturating_since(since) < Duration::from_secs(2));
        // And the far end saw the CLOSE.
        let (far, fl) = net.far_end(at, l);
        assert_eq!(net.nodes[far].link_state(fl), Some(LinkState::Closed));
    }
    assert_ne!(carrier(&net, 0, false), before.0);
    assert_ne!(carrier(&net, 1, false), before.1);
}

#[test]
fn route_events_come_out_before_the_link_event_that_caused_them() {
    let mut net = Net::new(3, config(RouteMode::StoreAndForward), 23);
    net.connect(0, 1, WireParams::default());
    net.connect(1, 2, WireParams::default());
    assert!(
        net.run_until_cond(Duration::from_secs(5), |n| n.established(0, 1)
            && n.established(1, 2))
    );
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    let r2 = open(&mut net, 0, &[1], Class::Bulk, RouteKind::Stream);
    net.events.clear();
    net.input(0, Input::LinkDown { link: link_to(1) });
    let at_origin: Vec<Event> = net
        .events
        .iter()
        .filter(|(_, i, _)| *i == 0)
        .map(|(_, _, e)| e.clone())
        .collect();
    let closed = |route| Event::RouteClosed {
        route,
        reason: RouteCloseReason::LinkFailed,
    };
    assert_eq!(
        at_origin,
        vec![
            closed(r),
            closed(r2),
            Event::LinkClosed {
                link: link_to(1),
                reason: CloseReason::LinkDown,
                unsent_messages: 0
            }
        ]
    );
    // The same when the link dies of silence (at the relay, whose upstream
    // goes quiet): the route breaks, then the link is reported dead.
    net.events.clear();
    net.set_wire_up(1, 2, false);
    net.run_for(Duration::from_secs(12));
    let at_relay: Vec<&Event> = net
        .events
        .iter()
        .filter(|(_, i, e)| {
            *i == 2 && matches!(e, Event::RouteClosed { .. } | Event::LinkDead { .. })
        })
        .map(|(_, _, e)| e)
        .collect();
    assert!(
        matches!(
            at_relay.as_slice(),
            [Event::RouteClosed { .. }, Event::LinkDead { .. }]
        ),
        "{at_relay:?}"
    );
}
