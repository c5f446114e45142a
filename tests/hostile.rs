//! A hostile peer against a relay, measured (issue 12): node M, an
//! authenticated neighbour of relay V, floods V with well-formed but
//! hostile frames (CREATE floods, data into hops never told their role and
//! past their credit, empty chunks of large link messages, oversized route
//! control, rekey storms, a path that turns back) while an honest route
//! H -> V -> D runs through V. With the default config the attack must not
//! make the process hold more than 16 MiB beyond what the same honest run
//! holds without it (heap measured with a counting allocator), and the
//! honest route must keep at least half of its unattacked goodput.
//!
//! One test in its own binary: the allocator counts the whole process.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use cap::Cap;
use node_core::route::crypto::initiate_hop;
use node_core::wire::{
    Class, DataFrame, Frame, RekeyFrame, RekeyKind, RouteCreateFrame, RouteCtrlFrame,
    RouteDataFrame, RouteFrame, RouteId,
};
use node_core::{
    Config, Duration, Identity, Input, LinkId, Node, Output, RouteKind, SuiteKind, Time,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[global_allocator]
static HEAP: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

const H: usize = 0;
const V: usize = 1;
const D: usize = 2;
const M: usize = 3;
const LINKS: [(usize, usize); 3] = [(H, V), (V, D), (M, V)];
/// Every link: 20 Mb/s, 1 ms each way.
const RATE_BPS: u64 = 20_000_000;
const DELAY: Duration = Duration::from_millis(1);
const STEP: Duration = Duration::from_micros(200);

/// Node i's link to node j is `LinkId(j)`.
fn link(to: usize) -> LinkId {
    LinkId(to as u64)
}

/// A datagram on the wire: (arrival, sequence, to, from, bytes).
type InFlight = Reverse<(Time, u64, usize, usize, Vec<u8>)>;

struct Net {
    ids: Vec<Identity>,
    nodes: Vec<Node>,
    now: Time,
    wire: BinaryHeap<InFlight>,
    busy_until: [[Time; 4]; 4],
    seq: u64,
    delivered: u64,
}

impl Net {
    fn new() -> Net {
        let ids: Vec<Identity> = (1..=4u8)
            .map(|n| Identity::from_secret(SuiteKind::Modeled, [n; 32]).unwrap())
            .collect();
        let config = Config {
            suite: SuiteKind::Modeled,
            ..Config::default()
        };
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Node::new(config.clone(), id.clone(), [i as u8 + 1; 32]).unwrap())
            .collect();
        let mut net = Net {
            ids,
            nodes,
            now: Time::ZERO,
            wire: BinaryHeap::new(),
            busy_until: [[Time::ZERO; 4]; 4],
            seq: 0,
            delivered: 0,
        };
        for (a, b) in LINKS {
            for (x, y) in [(a, b), (b, a)] {
                let key = *net.ids[y].public_key();
                net.nodes[x].handle_input(
                    Time::ZERO,
                    Input::LinkUp {
                        link: link(y),
                        peer_key: Some(key),
                        mtu: 1400,
                        rate_bps: Some(RATE_BPS),
                    },
                );
            }
        }
        net
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let serialize = Duration::from_nanos(bytes.len() as u64 * 8 * 1_000_000_000 / RATE_BPS);
        let start = self.busy_until[from][to].max(self.now);
        self.busy_until[from][to] = start + serialize;
        self.seq += 1;
        self.wire.push(Reverse((
            start + serialize + DELAY,
            self.seq,
            to,
            from,
            bytes,
        )));
    }

    fn poll(&mut self, i: usize) {
        loop {
            match self.nodes[i].poll_output(self.now) {
                Output::Transmit { link: l, bytes } => self.send(i, l.0 as usize, bytes),
                Output::Event(node_core::Event::RouteMessage { data, .. }) if i == D => {
                    self.delivered += data.len() as u64;
                }
                Output::Timeout(_) => return,
                _ => {}
            }
        }
    }

    /// One step of simulated time: arrivals, then every node's timers.
    fn step(&mut self) {
        self.now += STEP;
        while self
            .wire
            .peek()
            .is_some_and(|Reverse((t, ..))| *t <= self.now)
        {
            let Reverse((_, _, to, from, bytes)) = self.wire.pop().unwrap();
            self.nodes[to].handle_input(
                self.now,
                Input::Datagram {
                    link: link(from),
                    bytes,
                },
            );
            self.poll(to);
        }
        for i in 0..self.nodes.len() {
            self.nodes[i].handle_input(self.now, Input::Timeout);
            self.poll(i);
        }
    }

    /// M seals `plaintext` on its session with V and hands it to V at once
    /// (an attacker with a pipe as fast as it likes).
    fn hostile(&mut self, plaintext: &[u8]) {
        if let Some(bytes) = self.nodes[M].fuzz_seal(link(V), plaintext) {
            self.nodes[V].handle_input(
                self.now,
                Input::Datagram {
                    link: link(M),
                    bytes,
                },
            );
            self.poll(V);
        }
    }
}

/// One millisecond of attack.
fn attack(net: &mut Net, tick: u64, rng: &mut ChaCha20Rng) {
    let suite = SuiteKind::Modeled.suite();
    let mut p = Vec::new();
    // CREATEs: a flood of fresh entries (5 per ms, over the rate limit).
    for k in 0..5u64 {
        let mut reply = [0xAA; 16];
        reply[..8].copy_from_slice(&(tick * 8 + k).to_be_bytes());
        RouteFrame::Create(RouteCreateFrame {
            reply_route: RouteId(reply),
            eph_pub: initiate_hop(suite, rng).eph_pub,
        })
        .emit(&mut p);
    }
    net.hostile(&p);
    // Data into every entry M created (ids read from V, as M learns them
    // from V's CREATED answers): past the small credit of a hop that was
    // never told its role.
    let v_addr = net.ids[M].address();
    let ids: Vec<RouteId> = net.nodes[V]
        .routes()
        .filter_map(|h| net.nodes[V].route(h))
        .filter(|i| i.upstream_peer == Some(v_addr))
        .filter_map(|i| i.upstream_id)
        .collect();
    let chunk = [0x5A; 1100];
    for (n, id) in ids.iter().enumerate().take(64) {
        let offset = (tick * 1100 + n as u64 * 7) % (2 << 20);
        let mut p = Vec::new();
        RouteFrame::Data(RouteDataFrame {
            route: *id,
            unreliable: false,
            fin: false,
            offset,
            data: &chunk,
        })
        .emit(&mut p);
        net.hostile(&p);
    }
    // Empty chunks of large link messages, out of order.
    let mut p = Vec::new();
    for k in 0..40u64 {
        Frame::Data(DataFrame {
            class: Class::Bulk,
            channel: 1 + (k % 7) as u16,
            seq: 1 + (tick * 40 + k) % 60_000,
            msg_len: 1 << 20,
            offset: 3,
            data: &[],
        })
        .emit(&mut p);
    }
    net.hostile(&p);
    // Oversized route control on a real entry, and a rekey storm.
    if let Some(id) = ids.first() {
        let mut p = Vec::new();
        RouteFrame::Ctrl(RouteCtrlFrame {
            route: *id,
            nonce: tick,
            payload: &[0x33; 1200],
        })
        .emit(&mut p);
        net.hostile(&p);
    }
    let mut p = Vec::new();
    for k in 0..4u32 {
        RekeyFrame {
            kind: RekeyKind::Request,
            epoch: (tick as u32) * 4 + k + 2,
            eph_pub: initiate_hop(suite, rng).eph_pub,
        }
        .emit(&mut p);
    }
    net.hostile(&p);
}

/// Runs the honest route for 6 s (with or without the attack from 1 s);
/// returns (heap bytes at the end, honest bytes delivered from 2 s to 6 s).
fn run(attacked: bool) -> (usize, u64) {
    let mut net = Net::new();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    while net.now < Time::ZERO + Duration::from_millis(300) {
        net.step();
    }
    let path = vec![net.ids[V].address(), net.ids[D].address()];
    let route = net.nodes[H]
        .open_route(path, Class::Bulk, RouteKind::Stream)
        .expect("valid path");
    // A looping path from M (V, D, V): D refuses to turn straight back.
    let looping = vec![
        net.ids[V].address(),
        net.ids[D].address(),
        net.ids[V].address(),
    ];
    if attacked {
        let _ = net.nodes[M].open_route(looping, Class::Bulk, RouteKind::Stream);
    }
    let (mut tick, mut at_2s) = (0u64, 0u64);
    let end = Time::ZERO + Duration::from_secs(6);
    while net.now < end {
        while net.nodes[H].route_has_room(route, 16 << 10) {
            if net.nodes[H].route_send(route, vec![1; 16 << 10]).is_err() {
                break;
            }
        }
        net.poll(H);
        net.step();
        let ms = net.now.as_nanos() / 1_000_000;
        if attacked && ms >= 1000 && ms > tick {
            tick = ms;
            attack(&mut net, tick, &mut rng);
        }
        if at_2s == 0 && net.now >= Time::ZERO + Duration::from_secs(2) {
            at_2s = net.delivered.max(1);
        }
    }
    let heap = HEAP.allocated();
    let v = net.nodes[V].route_stats();
    let links = net.nodes[V].stats().links;
    println!(
        "attacked={attacked}: heap {heap} B, honest {} B in 4 s, V: {} entries, {} B credit charged, refused {:?}, route violations {}, link violations {}, drops {:?}",
        net.delivered - at_2s,
        v.entries,
        v.credit_charged,
        v.refused,
        v.violations,
        links.protocol_violations,
        links.drops
    );
    (heap, net.delivered - at_2s)
}

#[test]
fn a_hostile_neighbour_costs_a_bounded_heap_and_leaves_half_the_goodput() {
    let base = HEAP.allocated();
    let (quiet_heap, quiet_goodput) = run(false);
    let (attacked_heap, attacked_goodput) = run(true);
    let extra = attacked_heap.saturating_sub(quiet_heap);
    println!(
        "heap before {base} B; beyond the unattacked run: {extra} B ({:.2} MiB); goodput {} -> {} b/s",
        extra as f64 / (1 << 20) as f64,
        quiet_goodput * 8 / 4,
        attacked_goodput * 8 / 4
    );
    assert!(
        quiet_goodput > 4_000_000,
        "the honest route runs: {quiet_goodput}"
    );
    assert!(
        extra <= 16 << 20,
        "the attack held {extra} bytes beyond the honest run"
    );
    assert!(
        attacked_goodput * 2 >= quiet_goodput,
        "goodput {quiet_goodput} -> {attacked_goodput}"
    );
}
