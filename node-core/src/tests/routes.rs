//! Routes over the harness: telescoping setup, store-and-forward with
//! credits, end-to-end confirmation, classes, and the end-to-end baseline.

use super::harness::{Net, WireParams, link_to};
use crate::config::RouteMode;
use crate::*;

pub(super) fn config(mode: RouteMode) -> Config {
    Config {
        suite: SuiteKind::Modeled,
        route_mode: mode,
        ..Config::default()
    }
}

/// A chain 0 - 1 - ... - (n-1) with the same wire everywhere, links up.
fn chain(n: usize, config: Config, wire: WireParams, seed: u64) -> Net {
    let mut net = Net::new(n, config, seed);
    for i in 0..n - 1 {
        net.connect(i, i + 1, wire);
    }
    assert!(net.run_until_cond(Duration::from_secs(30), |n| {
        (0..n.nodes.len() - 1).all(|i| n.established(i, i + 1))
    }));
    net
}

pub(super) fn addresses(net: &Net, hops: &[usize]) -> Vec<Address> {
    hops.iter().map(|&i| net.identities[i].address()).collect()
}

pub(super) fn route_events(net: &Net, at: usize) -> Vec<Event> {
    net.events
        .iter()
        .filter(|(_, i, e)| {
            *i == at
                && matches!(
                    e,
                    Event::RouteUp { .. } | Event::RouteIncoming { .. } | Event::RouteClosed { .. }
                )
        })
        .map(|(_, _, e)| e.clone())
        .collect()
}

pub(super) fn route_messages(net: &Net, at: usize) -> Vec<Vec<u8>> {
    net.events
        .iter()
        .filter(|(_, i, _)| *i == at)
        .filter_map(|(_, _, e)| match e {
            Event::RouteMessage { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn delivered(net: &Net, at: usize) -> u64 {
    net.events
        .iter()
        .filter(|(_, i, _)| *i == at)
        .filter_map(|(_, _, e)| match e {
            Event::RouteDelivered { bytes, .. } => Some(*bytes),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

pub(super) fn open(
    net: &mut Net,
    from: usize,
    hops: &[usize],
    class: Class,
    kind: RouteKind,
) -> RouteHandle {
    let path = addresses(net, hops);
    let r = net.nodes[from]
        .open_route(path, class, kind)
        .expect("valid path");
    net.input(from, Input::Timeout);
    assert!(
        net.run_until_cond(Duration::from_secs(20), |n| n.count_events(
            from,
            |e| matches!(e, Event::RouteUp { route } if *route == r)
        ) == 1),
        "route never came up: {:?}",
        route_events(net, from)
    );
    r
}

pub(super) fn message(i: usize, len: usize) -> Vec<u8> {
    let mut m = (i as u32).to_be_bytes().to_vec();
    m.resize(len, (i % 251) as u8);
    m
}

/// Sends `msgs` on `route`, waiting for room as the application must.
pub(super) fn send_all(
    net: &mut Net,
    from: usize,
    route: RouteHandle,
    msgs: &[Vec<u8>],
    limit: Duration,
) {
    let end = net.now + limit;
    let mut next = 0;
    while next < msgs.len() && net.now < end {
        while next < msgs.len() && net.nodes[from].route_has_room(route, msgs[next].len()) {
            net.nodes[from]
                .route_send(route, msgs[next].clone())
                .expect("room was checked");
            next += 1;
        }
        net.input(from, Input::Timeout);
        net.run_for(Duration::from_millis(1));
    }
    assert_eq!(next, msgs.len(), "the route never made room for everything");
}

#[test]
fn a_three_hop_route_delivers_in_order_and_confirms_end_to_end() {
    let mut net = chain(
        4,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        1,
    );
    let r = open(&mut net, 0, &[1, 2, 3], Class::Bulk, RouteKind::Stream);
    // The origin is up once the last hop answered; BEGIN reaches the
    // destination a trip later (data sent meanwhile waits in its buffer).
    net.run_for(Duration::from_millis(50));
    assert_eq!(
        net.count_events(3, |e| matches!(e, Event::RouteIncoming { .. })),
        1
    );
    let msgs: Vec<_> = (0..300)
        .map(|i| message(i, 100 + (i * 97) % 5000))
        .collect();
    send_all(&mut net, 0, r, &msgs, Duration::from_secs(10));
    net.run_for(Duration::from_secs(2));
    assert_eq!(route_messages(&net, 3), msgs);
    let stream: u64 = msgs
        .iter()
        .map(|m| route::endpoint::stream_len(m.len()) as u64)
        .sum();
    assert_eq!(
        delivered(&net, 0),
        stream,
        "the destination confirmed every byte"
    );
    // Each relay holds exactly one entry and nothing is left in any buffer.
    for n in 1..3 {
        let hs: Vec<_> = net.nodes[n].routes().collect();
        assert_eq!(hs.len(), 1);
        let info = net.nodes[n].route(hs[0]).unwrap();
        assert_eq!((info.role, info.held), ("relay", [0, 0]));
        // A relay knows its previous and next hop, nothing further.
        let hops = (info.upstream, info.downstream);
        assert_eq!(hops, (Some(link_to(n - 1)), Some(link_to(n + 1))));
    }
    let ends = |n: usize| {
        let info = net.nodes[n].route(net.nodes[n].routes().next().unwrap());
        info.map(|i| (i.upstream, i.downstream)).unwrap()
    };
    assert_eq!(ends(0), (None, Some(link_to(1))));
    assert_eq!(ends(3), (Some(link_to(2)), None));
    // Each hop's downstream id is the next hop's upstream id.
    let info = |n: usize| {
        let h = net.nodes[n].routes().next().unwrap();
        net.nodes[n].route(h).unwrap()
    };
    assert_eq!(info(0).upstream_id, None);
    for n in 0..3 {
        assert!(info(n).downstream_id.is_some());
        assert_eq!(info(n).downstream_id, info(n + 1).upstream_id, "hop {n}");
    }
    assert_eq!(info(3).downstream_id, None);
}

#[test]
fn the_destination_answers_on_the_same_route() {
    let mut net = chain(
        3,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        2,
    );
    let r = open(&mut net, 0, &[1, 2], Class::Realtime, RouteKind::Stream);
    net.nodes[0].route_send(r, b"ping".to_vec()).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(100));
    let Some(Event::RouteIncoming {
        route: at_dest,
        class,
    }) = route_events(&net, 2).first().cloned()
    else {
        panic!("no incoming route")
    };
    assert_eq!(class, Class::Realtime);
    net.nodes[2].route_send(at_dest, b"pong".to_vec()).unwrap();
    net.input(2, Input::Timeout);
    net.run_for(Duration::from_millis(100));
    assert_eq!(route_messages(&net, 2), vec![b"ping".to_vec()]);
    assert_eq!(route_messages(&net, 0), vec![b"pong".to_vec()]);
}

#[test]
fn a_full_buffer_stops_the_source_and_nothing_is_dropped() {
    // 64 KiB buffers, and a last hop ten times slower than the first.
    let cfg = Config {
        route_buffer: 64 << 10,
        ..config(RouteMode::StoreAndForward)
    };
    let mut net = Net::new(3, cfg, 3);
    net.connect(
        0,
        1,
        WireParams {
            bits_per_second: Some(10_000_000),
            ..WireParams::default()
        },
    );
    net.connect(
        1,
        2,
        WireParams {
            bits_per_second: Some(1_000_000),
            ..WireParams::default()
        },
    );
    net.run_for(Duration::from_millis(200));
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    let msgs: Vec<_> = (0..100).map(|i| message(i, 4_000)).collect();
    let mut refused = 0;
    let mut next = 0;
    let mut peak = 0;
    while next < msgs.len() {
        match net.nodes[0].route_send(r, msgs[next].clone()) {
            Ok(()) => next += 1,
            Err(CommandError::RouteFull(_)) => {
                refused += 1;
                net.input(0, Input::Timeout);
                net.run_for(Duration::from_millis(5));
            }
            Err(e) => panic!("{e}"),
        }
        let relay = net.nodes[1].routes().next().unwrap();
        peak = peak.max(net.nodes[1].route(relay).unwrap().held[0]);
    }
    net.run_for(Duration::from_secs(5));
    assert!(
        refused > 0,
        "the source must have been stopped by backpressure"
    );
    assert!(
        peak <= 64 << 10,
        "the relay held {peak} bytes, beyond its buffer"
    );
    assert!(
        peak > 32 << 10,
        "the relay's buffer filled up ({peak} bytes)"
    );
    assert_eq!(
        route_messages(&net, 2),
        msgs,
        "nothing dropped, all in order"
    );
    let relay = net.nodes[1].routes().next().unwrap();
    let stalls = net.nodes[0].route(r).unwrap().sent[0].credit_stalls;
    assert!(stalls > 0, "the source waited for credit");
    let _ = relay;
}

#[test]
fn store_and_forward_delivers_everything_over_lossy_hops() {
    let lossy = WireParams {
        loss: 0.3,
        ..WireParams::default()
    };
    // At 30% loss an idle link's RTO backs off to seconds (its keepalives
    // are lost too), so a hop may wait that long for a CREATE to cross:
    // more setup time than the default, as the lossy-chain scenarios give.
    let config = Config {
        route_setup_timeout: Duration::from_secs(20),
        ..config(RouteMode::StoreAndForward)
    };
    let mut net = chain(4, config, lossy, 4);
    let r = open(&mut net, 0, &[1, 2, 3], Class::Bulk, RouteKind::Stream);
    let msgs: Vec<_> = (0..200).map(|i| message(i, 2_000)).collect();
    send_all(&mut net, 0, r, &msgs, Duration::from_secs(30));
    assert!(
        net.run_until_cond(Duration::from_secs(60), |n| route_messages(n, 3).len()
            == msgs.len())
    );
    assert_eq!(route_messages(&net, 3), msgs);
    let relay = net.nodes[1].routes().next().unwrap();
    assert!(
        net.nodes[1].route(relay).unwrap().sent[0].chunks_retransmitted > 0,
        "the relay retransmitted hop by hop"
    );
}

#[test]
fn a_path_through_a_stranger_fails_at_that_hop() {
    let mut net = chain(
        3,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        5,
    );
    let stranger = Identity::from_secret(SuiteKind::Modeled, [99; 32])
        .unwrap()
        .address();
    let path = vec![net.identities[1].address(), stranger];
    let r = net.nodes[0]
        .open_route(path, Class::Bulk, RouteKind::Stream)
        .unwrap();
    net.input(0, Input::Timeout);
    // The relay waits for a link to the next hop until the setup deadline.
    net.run_for(Duration::from_secs(6));
    assert_eq!(
        route_events(&net, 0),
        vec![Event::RouteClosed {
            route: r,
            reason: RouteCloseReason::SetupFailed(RouteFailure::NoLink(1))
        }]
    );
    assert_eq!(
        net.nodes[1].routes().count(),
        0,
        "the relay dropped its entry"
    );
    // A first hop that is no neighbour is waited for, until the deadline.
    let wait = net.nodes[0]
        .open_route(vec![stranger], Class::Bulk, RouteKind::Stream)
        .unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_secs(6));
    assert!(route_events(&net, 0).contains(&Event::RouteClosed {
        route: wait,
        reason: RouteCloseReason::SetupFailed(RouteFailure::NoLink(0))
    }));
}

#[test]
fn closing_tears_down_every_hop() {
    let mut net = chain(
        4,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        6,
    );
    let r = open(&mut net, 0, &[1, 2, 3], Class::Bulk, RouteKind::Stream);
    net.nodes[0].close_route(r).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(200));
    for n in 0..4 {
        assert_eq!(net.nodes[n].routes().count(), 0, "node {n}");
    }
    assert!(matches!(
        route_events(&net, 3).last(),
        Some(Event::RouteClosed {
            reason: RouteCloseReason::Remote,
            ..
        })
    ));
}

#[test]
fn a_failed_link_breaks_the_route() {
    let mut net = chain(
        3,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        7,
    );
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    net.set_wire_up(1, 2, false);
    net.run_for(Duration::from_secs(12));
    assert!(route_events(&net, 0).contains(&Event::RouteClosed {
        route: r,
        reason: RouteCloseReason::Broken
    }));
    assert_eq!(net.nodes[0].routes().count(), 0);
}

#[test]
fn the_end_to_end_baseline_delivers_streams_and_loses_datagrams() {
    let lossy = WireParams {
        loss: 0.1,
        ..WireParams::default()
    };
    let mut net = chain(3, config(RouteMode::EndToEnd), lossy, 8);
    let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
    let msgs: Vec<_> = (0..100).map(|i| message(i, 3_000)).collect();
    send_all(&mut net, 0, r, &msgs, Duration::from_secs(60));
    assert!(
        net.run_until_cond(Duration::from_secs(60), |n| route_messages(n, 2).len()
            == msgs.len())
    );
    assert_eq!(
        route_messages(&net, 2),
        msgs,
        "Reno repaired every loss end to end"
    );
    let reno = net.nodes[0].route(r).unwrap().reno.unwrap();
    assert!(reno.retransmissions > 0);

    let d = open(&mut net, 0, &[1, 2], Class::Realtime, RouteKind::Datagram);
    let before = route_messages(&net, 2).len();
    for i in 0..500 {
        net.nodes[0].route_send(d, message(i, 160)).unwrap();
        net.input(0, Input::Timeout);
        net.run_for(Duration::from_millis(5));
    }
    net.run_for(Duration::from_secs(1));
    let got = route_messages(&net, 2).len() - before;
    // Two hops of 10% loss: about 81% arrive, never retransmitted.
    assert!((340..=470).contains(&got), "{got} of 500 datagrams arrived");
}

#[test]
fn best_effort_datagrams_are_not_acknowledged_hop_by_hop() {
    // The baseline forwards datagrams without keeping them: a link ack for
    // them would settle nothing, so the way back stays (nearly) silent.
    let mut net = chain(3, config(RouteMode::EndToEnd), WireParams::default(), 12);
    let d = open(&mut net, 0, &[1, 2], Class::Realtime, RouteKind::Datagram);
    net.run_for(Duration::from_secs(1));
    let back = |net: &Net| net.nodes[2].stats().links.datagrams_sent;
    let before = back(&net);
    for i in 0..400 {
        net.nodes[0].route_send(d, message(i, 160)).unwrap();
        net.input(0, Input::Timeout);
        net.run_for(Duration::from_millis(5));
    }
    net.run_for(Duration::from_millis(100));
    assert_eq!(route_messages(&net, 2).len(), 400);
    // 2.1 s of traffic: only the keepalive exchange (one every 2 s) goes
    // back, where acks of every second packet would be 200 datagrams.
    let sent_back = back(&net) - before;
    assert!(sent_back <= 4, "{sent_back} datagrams went back");
    assert!(net.established(1, 2), "liveness kept without data acks");
}

#[test]
fn an_idle_route_is_forgotten_at_every_hop() {
    let cfg = Config {
        route_idle_timeout: Duration::from_secs(3),
        ..config(RouteMode::StoreAndForward)
    };
    let mut net = chain(4, cfg, WireParams::default(), 9);
    let r = open(&mut net, 0, &[1, 2, 3], Class::Bulk, RouteKind::Stream);
    net.nodes[0].route_send(r, b"once".to_vec()).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_secs(2));
    assert_eq!(route_messages(&net, 3), vec![b"once".to_vec()]);
    assert!(
        (0..4).all(|n| net.nodes[n].routes().count() == 1),
        "alive while recently used"
    );
    net.run_for(Duration::from_secs(4));
    for n in 0..4 {
        assert_eq!(
            net.nodes[n].routes().count(),
            0,
            "node {n} still holds the idle route"
        );
    }
    // The first end to time out tells the other, which may not have yet.
    let reasons: Vec<_> = [0, 3]
        .iter()
        .map(|&end| match route_events(&net, end).last() {
            Some(Event::RouteClosed { reason, .. }) => *reason,
            other => panic!("node {end}: {other:?}"),
        })
        .collect();
    assert!(reasons.contains(&RouteCloseReason::Idle), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| matches!(r, RouteCloseReason::Idle | RouteCloseReason::Remote))
    );
}

#[test]
fn sending_before_the_route_is_up_is_refused_plainly() {
    let mut net = chain(
        3,
        config(RouteMode::StoreAndForward),
        WireParams::default(),
        10,
    );
    let path = addresses(&net, &[1, 2]);
    let r = net.nodes[0]
        .open_route(path, Class::Bulk, RouteKind::Stream)
        .unwrap();
    assert_eq!(
        net.nodes[0].route_send(r, vec![1]),
        Err(CommandError::RouteNotReady(r))
    );
    assert_eq!(
        net.nodes[0].route_send(RouteHandle(999), vec![1]),
        Err(CommandError::UnknownRoute(RouteHandle(999)))
    );
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.nodes[0].route_send(r, vec![1]), Ok(()));
}
