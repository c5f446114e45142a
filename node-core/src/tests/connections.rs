//! Connections: a route replaced under the node's reopen policy when it
//! breaks, closed (not replaced) when an end closes it, given up after
//! `max_attempts` tries in a row.

use super::harness::{Net, WireParams};
use super::routes::{addresses, config, route_messages};
use crate::config::RouteMode;
use crate::*;

fn chain3(cfg: Config) -> Net {
    let mut net = Net::new(3, cfg, 21);
    net.connect(0, 1, WireParams::default());
    net.connect(1, 2, WireParams::default());
    assert!(net.run_until_cond(Duration::from_secs(30), |n| {
        n.established(0, 1) && n.established(1, 2)
    }));
    net
}

fn connect(net: &mut Net, hops: &[usize]) -> ConnectionHandle {
    let path = addresses(net, hops);
    let c = net.nodes[0]
        .connect(path, Class::Bulk, RouteKind::Stream)
        .expect("connect");
    net.input(0, Input::Timeout);
    c
}

/// Node `at`'s connection events, with their times.
fn connection_events(net: &Net, at: usize) -> Vec<(Time, Event)> {
    net.events
        .iter()
        .filter(|(_, i, e)| {
            *i == at
                && matches!(
                    e,
                    Event::ConnectionUp { .. }
                        | Event::ConnectionBroken { .. }
                        | Event::ConnectionClosed { .. }
                )
        })
        .map(|(t, _, e)| (*t, e.clone()))
        .collect()
}

fn ups(net: &Net) -> usize {
    net.count_events(0, |e| matches!(e, Event::ConnectionUp { .. }))
}

#[test]
fn a_broken_route_is_replaced_after_the_policy_wait() {
    let mut net = chain3(config(RouteMode::StoreAndForward));
    let c = connect(&mut net, &[1, 2]);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| ups(n) == 1));
    net.nodes[0].connection_send(c, b"first".to_vec()).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(200));
    // The relay loses its state: its new sessions replace the old ones.
    net.restart(1);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| ups(n) == 2));
    let ev = connection_events(&net, 0);
    let (t_break, retry_at) = match &ev[1] {
        (
            t,
            Event::ConnectionBroken {
                connection,
                reason: RouteCloseReason::LinkFailed,
                retry_at,
                ..
            },
        ) if *connection == c => (*t, *retry_at),
        other => panic!("{other:?} in {ev:?}"),
    };
    assert_eq!(retry_at, t_break + ReopenPolicy::default().delay);
    assert!(ev[2].0 >= retry_at, "{ev:?}");
    let info = net.nodes[0].connection(c).unwrap();
    assert_eq!(
        (info.state, info.reopens, info.failures),
        (ConnectionState::Up, 1, 0)
    );
    net.nodes[0].connection_send(c, b"second".to_vec()).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(300));
    assert_eq!(
        route_messages(&net, 2),
        [b"first".to_vec(), b"second".to_vec()]
    );
    // The application saw its connection, never the routes under it.
    assert_eq!(
        net.count_events(0, |e| matches!(
            e,
            Event::RouteUp { .. } | Event::RouteClosed { .. } | Event::RouteDelivered { .. }
        )),
        0
    );
    assert!(net.count_events(0, |e| matches!(e, Event::ConnectionDelivered { .. })) >= 2);
}

#[test]
fn tries_back_off_and_the_connection_gives_up() {
    let cfg = Config {
        route_setup_timeout: Duration::from_millis(300),
        reopen: ReopenPolicy {
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
            max_attempts: 3,
        },
        ..config(RouteMode::StoreAndForward)
    };
    // Node 0 has no link at all: every route waits for its first hop until
    // the setup deadline.
    let mut net = Net::new(2, cfg, 4);
    let c = connect(&mut net, &[1]);
    net.run_for(Duration::from_millis(350));
    assert!(matches!(
        net.nodes[0].last_timeout_reason(),
        Some(TimeoutReason::Connection { connection }) if connection == c
    ));
    net.run_for(Duration::from_secs(5));
    let ev = connection_events(&net, 0);
    let waits: Vec<u64> = ev
        .iter()
        .filter_map(|(t, e)| match e {
            Event::ConnectionBroken { retry_at, .. } => {
                Some(retry_at.saturating_since(*t).as_nanos() / 1_000_000)
            }
            _ => None,
        })
        .collect();
    assert_eq!(waits, [100, 200, 250], "{ev:?}");
    assert!(
        matches!(
            ev.last(),
            Some((
                _,
                Event::ConnectionClosed {
                    reason: ConnectionCloseReason::GaveUp(RouteCloseReason::SetupFailed(_)),
                    ..
                }
            ))
        ),
        "{ev:?}"
    );
    assert_eq!(net.nodes[0].connection(c), None);
    assert_eq!(net.nodes[0].connections().count(), 0);
    assert_eq!(net.nodes[0].routes().count(), 0);
    assert_eq!(
        net.nodes[0].connection_send(c, vec![1]),
        Err(CommandError::UnknownConnection(c))
    );
}

#[test]
fn a_route_the_destination_closes_closes_the_connection() {
    let mut net = chain3(config(RouteMode::StoreAndForward));
    let c = connect(&mut net, &[1, 2]);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| ups(n) == 1));
    net.nodes[0].connection_send(c, b"hi".to_vec()).unwrap();
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_millis(200));
    let at_dest = net.nodes[2]
        .routes()
        .next()
        .expect("the destination's entry");
    net.nodes[2].close_route(at_dest).unwrap();
    net.input(2, Input::Timeout);
    net.run_for(Duration::from_secs(2));
    let ev = connection_events(&net, 0);
    assert_eq!(
        ev.last().map(|(_, e)| e),
        Some(&Event::ConnectionClosed {
            connection: c,
            reason: ConnectionCloseReason::Route(RouteCloseReason::Remote),
        }),
        "{ev:?}"
    );
    assert_eq!(
        net.count_events(0, |e| matches!(e, Event::ConnectionBroken { .. })),
        0
    );
    assert_eq!(ups(&net), 1, "no new route after an end closed it");
}

#[test]
fn closing_a_connection_closes_its_route_everywhere() {
    let mut net = chain3(config(RouteMode::StoreAndForward));
    let c = connect(&mut net, &[1, 2]);
    assert!(net.run_until_cond(Duration::from_secs(5), |n| ups(n) == 1));
    net.nodes[0].close_connection(c).unwrap();
    assert_eq!(
        net.nodes[0].close_connection(c),
        Err(CommandError::UnknownConnection(c))
    );
    net.input(0, Input::Timeout);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        connection_events(&net, 0).last().map(|(_, e)| e.clone()),
        Some(Event::ConnectionClosed {
            connection: c,
            reason: ConnectionCloseReason::Local,
        })
    );
    for n in 0..3 {
        assert_eq!(net.nodes[n].routes().count(), 0, "node {n}");
    }
    // Its route's own close was not shown to the application.
    assert_eq!(
        net.count_events(0, |e| matches!(e, Event::RouteClosed { .. })),
        0
    );
    assert_eq!(
        net.nodes[0].connection_send(c, vec![1]),
        Err(CommandError::UnknownConnection(c))
    );
}

#[test]
fn sending_between_routes_is_refused_plainly() {
    let mut net = chain3(config(RouteMode::StoreAndForward));
    let c = connect(&mut net, &[1, 2]);
    assert_eq!(
        net.nodes[0].connection_send(c, vec![1]),
        Err(CommandError::ConnectionNotReady(c))
    );
    assert!(!net.nodes[0].connection_has_room(c, 1));
    assert!(net.run_until_cond(Duration::from_secs(5), |n| ups(n) == 1));
    assert!(net.nodes[0].connection_has_room(c, 1));
    assert_eq!(
        net.nodes[0].connect(Vec::new(), Class::Bulk, RouteKind::Stream),
        Err(CommandError::InvalidPath("a route needs at least one hop"))
    );
}

#[test]
fn a_bad_reopen_policy_is_refused() {
    let cfg = Config {
        reopen: ReopenPolicy {
            delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(1),
            max_attempts: 1,
        },
        ..Config::default()
    };
    assert!(cfg.validate().is_err());
}
