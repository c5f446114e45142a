//! Fuzzes a node's receive path behind a live session: node A has
//! established links to B and C and relays a route B -> A -> C; then B, an
//! authenticated but hostile peer, sends packets of arbitrary plaintext
//! sealed with the session's key (so they pass the AEAD and reach every
//! frame parser and every stateful receiver: ACKs, DATA reassembly, rekeys,
//! CLOSE, and the route layer's CREATE / DATA / CREDIT / CTRL / ACK /
//! TEARDOWN handling). Between packets time moves and timers fire. A must
//! never panic, and the honest route's bookkeeping must stay consistent.
//!
//! Input: a sequence of `len (1 byte) | plaintext (len bytes)` packets;
//! a length byte of 0 advances time by 50 ms instead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::{
    Class, Config, Duration, Identity, Input, LinkId, Node, Output, RouteKind, SuiteKind, Time,
};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

struct Net {
    ids: Vec<Identity>,
    nodes: Vec<Node>,
    now: Time,
}

/// Link ids: node i's link to node j is `LinkId(j)`.
fn link(to: usize) -> LinkId {
    LinkId(to as u64)
}

impl Net {
    fn new() -> Net {
        let ids: Vec<Identity> = (1..=3u8)
            .map(|n| Identity::from_secret(SuiteKind::Modeled, [n; 32]).unwrap())
            .collect();
        let config = Config {
            suite: SuiteKind::Modeled,
            ..Config::default()
        };
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Node::new(config.clone(), id.clone(), [i as u8 + 7; 32]).unwrap())
            .collect();
        let mut net = Net {
            ids: ids.clone(),
            nodes,
            now: Time::ZERO,
        };
        for (a, b) in [(A, B), (A, C)] {
            for (x, y) in [(a, b), (b, a)] {
                let key = *ids[y].public_key();
                net.nodes[x].handle_input(
                    Time::ZERO,
                    Input::LinkUp {
                        link: link(y),
                        peer_key: Some(key),
                        mtu: 1400,
                        rate_bps: None,
                    },
                );
            }
        }
        net
    }

    /// Delivers every output until all nodes are idle, and fires timers
    /// that are due (bounded: a fuzz input must not loop forever).
    fn settle(&mut self) {
        for _ in 0..200 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                loop {
                    match self.nodes[i].poll_output(self.now) {
                        Output::Transmit { link: l, bytes } => {
                            moved = true;
                            let to = l.0 as usize;
                            if to < self.nodes.len() {
                                self.nodes[to].handle_input(
                                    self.now,
                                    Input::Datagram {
                                        link: link(i),
                                        bytes,
                                    },
                                );
                            }
                        }
                        Output::Timeout(t) => {
                            if t <= self.now {
                                self.nodes[i].handle_input(self.now, Input::Timeout);
                                moved = true;
                            }
                            break;
                        }
                        Output::Event(_)
                        | Output::OpenTunnel { .. }
                        | Output::CloseTunnel { .. }
                        | Output::WantPeers { .. } => {
                            moved = true
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        for i in 0..self.nodes.len() {
            self.nodes[i].handle_input(self.now, Input::Timeout);
        }
        self.settle();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut net = Net::new();
    net.settle();
    net.advance(Duration::from_millis(10));
    let path = vec![net.ids[A].address(), net.ids[C].address()];
    let route = net.nodes[B].open_route(path, Class::Bulk, RouteKind::Stream);
    net.settle();
    if let Ok(r) = route {
        let _ = net.nodes[B].route_send(r, vec![5; 3000]);
    }
    net.advance(Duration::from_millis(10));

    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            net.advance(Duration::from_millis(50));
            rest = tail;
            continue;
        }
        let n = (len as usize).min(tail.len());
        let (plaintext, tail) = tail.split_at(n);
        rest = tail;
        if let Some(bytes) = net.nodes[B].fuzz_seal(link(A), plaintext) {
            net.nodes[A].handle_input(net.now, Input::Datagram { link: link(B), bytes });
        }
        net.settle();
    }
    net.advance(Duration::from_secs(1));
    // Bookkeeping that must hold whatever B sent.
    let stats = net.nodes[A].route_stats();
    assert_eq!(stats.entries as usize, net.nodes[A].routes().count());
    assert!(stats.credit_charged <= Config::default().route_credit_pool as u64);
});
