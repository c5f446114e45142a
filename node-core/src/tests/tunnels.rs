//! Tunnels asked for by the core and accepted or refused by it, over the
//! harness's driver (which opens a wire per request).

use super::harness::Net;
use super::routes::config;
use crate::config::RouteMode;
use crate::*;

fn net(policy: IncomingTunnels, max: usize) -> Net {
    let mut c = config(RouteMode::StoreAndForward);
    c.incoming_tunnels = policy;
    c.max_tunnels = max;
    Net::new(3, c, 31)
}

fn established_tunnels(net: &Net, at: usize) -> usize {
    net.nodes[at]
        .links()
        .filter(|l| l.id.0 >= 1000 && l.established)
        .count()
}

#[test]
fn a_requested_tunnel_is_opened_handshaken_and_handed_back_when_closed() {
    let mut net = net(IncomingTunnels::Any, 8);
    let key = *net.identities[1].public_key();
    net.input(
        0,
        Input::Command(Command::OpenTunnel {
            peer: key,
            locator: Locator::Underlay(1),
        }),
    );
    net.run_for(Duration::from_millis(200));
    assert_eq!(net.tunnel_requests.len(), 1);
    assert_eq!(
        (established_tunnels(&net, 0), established_tunnels(&net, 1)),
        (1, 1)
    );
    let link = net.nodes[0].links().next().expect("the tunnel").id;
    assert_eq!(
        net.nodes[0].tunnel(link),
        Some(tunnels::TunnelDirection::Outgoing)
    );
    net.input(0, Input::Command(Command::Close { link }));
    net.run_for(Duration::from_millis(200));
    // Node 0 handed it back to the driver, which destroyed it (node 1
    // heard the CLOSE first).
    assert_eq!(net.tunnels_closed.len(), 1, "{:?}", net.tunnels_closed);
    assert_eq!(
        net.nodes[0].links().count(),
        0,
        "the node forgot the tunnel"
    );
    assert_eq!(net.nodes[0].tunnel_stats().closed, 1);
}

#[test]
fn a_failed_request_and_an_unknown_answer_are_reported_and_counted() {
    let mut net = net(IncomingTunnels::Any, 8);
    net.tunnel_wire = None;
    let key = *net.identities[1].public_key();
    let r = net.nodes[0].open_tunnel(key, Locator::Underlay(1)).unwrap();
    net.input(0, Input::Timeout);
    assert!(net.events.iter().any(|(_, i, e)| *i == 0
        && *e
            == Event::TunnelFailed {
                request: r,
                reason: TunnelFailure::Refused
            }));
    // A driver answering a request nobody made gets its link back.
    net.nodes[0].handle_input(
        net.now,
        Input::TunnelOpened {
            request: TunnelRequest(99),
            link: LinkId(5),
            mtu: 1400,
            rate_bps: None,
        },
    );
    assert_eq!(
        net.nodes[0].poll_output(net.now),
        Output::CloseTunnel { link: LinkId(5) }
    );
    assert_eq!(net.nodes[0].tunnel_stats().unknown_answers, 1);
}

#[test]
fn incoming_tunnels_follow_the_policy_and_the_limit() {
    // Node 2 accepts only node 0's key, and at most one tunnel.
    let mut net = net(IncomingTunnels::Any, 1);
    let k0 = *net.identities[0].public_key();
    net.nodes[2] = {
        let mut c = config(RouteMode::StoreAndForward);
        c.incoming_tunnels = IncomingTunnels::Keys(vec![k0]);
        c.max_tunnels = 1;
        Node::new(c, net.identities[2].clone(), [9; 32]).unwrap()
    };
    let k2 = *net.identities[2].public_key();
    for from in [1, 0] {
        net.input(
            from,
            Input::Command(Command::OpenTunnel {
                peer: k2,
                locator: Locator::Underlay(2),
            }),
        );
        net.run_for(Duration::from_millis(300));
    }
    // Node 1's key is refused once its handshake shows it; node 0's
    // tunnel comes up (the refused one no longer counts).
    let refused = net.count_events(2, |e| matches!(e, Event::TunnelRefused { .. }));
    assert_eq!(refused, 1);
    assert_eq!(net.nodes[2].tunnel_stats().refused, 1);
    assert_eq!(established_tunnels(&net, 0), 1);
    assert_eq!(net.nodes[2].neighbours().count(), 1);
    assert_eq!(
        net.nodes[2].neighbours().next().unwrap().address,
        net.identities[0].address()
    );
    // The limit: a third tunnel to node 2 is refused at once.
    net.input(
        1,
        Input::Command(Command::OpenTunnel {
            peer: k2,
            locator: Locator::Underlay(2),
        }),
    );
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.nodes[2].tunnel_stats().refused, 2);
}

/// The far end of a tunnel answers the INIT that made it and sends
/// nothing else to that address until a session is up: no INIT of its
/// own, no retries, no new INIT when its answer expires untaken. The
/// address may be spoofed; more would reflect and amplify a flood.
#[test]
fn an_incoming_tunnel_answers_its_init_once_and_never_initiates() {
    let suite = SuiteKind::Real;
    let (ia, ib) = (
        Identity::from_secret(suite, [5; 32]).unwrap(),
        Identity::from_secret(suite, [6; 32]).unwrap(),
    );
    let (ka, kb) = (*ia.public_key(), *ib.public_key());
    let config = Config {
        incoming_tunnels: IncomingTunnels::Any,
        ..Config::default()
    };
    let mut a = Node::new(config.clone(), ia, [7; 32]).unwrap();
    let mut b = Node::new(config, ib, [8; 32]).unwrap();
    let link = LinkId(1);
    a.handle_input(
        Time::ZERO,
        Input::LinkUp {
            link,
            peer_key: Some(kb),
            mtu: 1200,
            rate_bps: None,
        },
    );
    let init = loop {
        match a.poll_output(Time::ZERO) {
            Output::Transmit { bytes, .. } => break bytes,
            Output::Timeout(_) => panic!("no INIT"),
            _ => {}
        }
    };
    b.handle_input(
        Time::ZERO,
        Input::IncomingTunnel {
            link,
            mtu: 1200,
            rate_bps: None,
            offered: Some(ka),
        },
    );
    b.handle_input(Time::ZERO, Input::Datagram { link, bytes: init });
    // A minute with nothing more from the (spoofed) sender.
    let mut sent = Vec::new();
    let mut now = Time::ZERO;
    while now < Time::ZERO + Duration::from_secs(60) {
        match b.poll_output(now) {
            Output::Transmit { bytes, .. } => sent.push(bytes.len()),
            Output::Timeout(at) => {
                now = at.min(Time::ZERO + Duration::from_secs(60));
                b.handle_input(now, Input::Timeout);
            }
            _ => {}
        }
    }
    assert_eq!(sent, [wire::HandshakeResp::LEN], "one answer only");
}
