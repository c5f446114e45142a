//! What a relay's route table costs as it grows: a relay B on A - B - C
//! carries N routes (N = 100 and N = 10,000 in the same run, Modeled suite).
//! One route is busy with a bulk transfer; the N - 1 others are idle, share
//! the same two links, and stay alive for the whole measurement (the number
//! of entries is asserted at the end). Printed for each N: the relay's cost
//! per forwarded datagram (its `handle_input` and `poll_output` time over
//! the datagrams it sent on), per `poll_output` call, and of one link
//! failure that breaks all N routes.
//!
//! ```text
//! cargo run --release -p node-core --example route_scale
//! ```
//! The last line is `cost_ratio_10000_vs_100: R` (per forwarded datagram).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use node_core::*;

const LATENCY: Duration = Duration::from_millis(1);
const MESSAGE: usize = 16 * 1024;
/// Simulated time of the measured transfer.
const TRANSFER: Duration = Duration::from_secs(3);
const MTU: usize = 1400;

/// A datagram on its way: (arrival, tie-break, to node, on link, bytes).
type InFlight = Reverse<(Time, u64, usize, LinkId, Vec<u8>)>;

/// A, B, C; node `i`'s link to node `j` is `LinkId(j)`.
struct Net {
    nodes: Vec<Node>,
    now: Time,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    wake: [Time; 3],
    events: Vec<(usize, Event)>,
    /// Time spent inside the relay's calls, and what they did.
    relay_ns: u128,
    relay_polls: u64,
    relay_sent_down: u64,
    measuring: bool,
}

impl Net {
    fn new() -> Net {
        let config = Config {
            suite: SuiteKind::Modeled,
            // Idle routes must outlive the measurement.
            route_idle_timeout: Duration::from_secs(3600),
            route_setup_timeout: Duration::from_secs(60),
            ..Config::default()
        };
        let ids: Vec<Identity> = (0..3u8)
            .map(|i| Identity::from_secret(SuiteKind::Modeled, [i + 1; 32]).expect("valid"))
            .collect();
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Node::new(config.clone(), id.clone(), [i as u8; 32]).expect("valid"))
            .collect();
        let mut net = Net {
            nodes,
            now: Time::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            wake: [Time::NEVER; 3],
            events: Vec::new(),
            relay_ns: 0,
            relay_polls: 0,
            relay_sent_down: 0,
            measuring: false,
        };
        for (a, b) in [(0usize, 1usize), (1, 2)] {
            for (x, y) in [(a, b), (b, a)] {
                let input = Input::LinkUp {
                    link: LinkId(y as u64),
                    peer_key: Some(*ids[y].public_key()),
                    mtu: MTU,
                    rate_bps: None,
                };
                net.input(x, input);
            }
        }
        net
    }

    fn input(&mut self, i: usize, input: Input) {
        let t = Instant::now();
        self.nodes[i].handle_input(self.now, input);
        if i == 1 && self.measuring {
            self.relay_ns += t.elapsed().as_nanos();
        }
        self.drive(i);
    }

    fn drive(&mut self, i: usize) {
        loop {
            let t = Instant::now();
            let out = self.nodes[i].poll_output(self.now);
            if i == 1 && self.measuring {
                self.relay_ns += t.elapsed().as_nanos();
                self.relay_polls += 1;
            }
            match out {
                Output::Transmit { link, bytes } => {
                    if i == 1 && link == LinkId(2) && self.measuring {
                        self.relay_sent_down += 1;
                    }
                    let to = link.0 as usize;
                    self.seq += 1;
                    let from = LinkId(i as u64);
                    self.queue
                        .push(Reverse((self.now + LATENCY, self.seq, to, from, bytes)));
                }
                Output::Event(e) => self.events.push((i, e)),
                // Nobody asks for tunnels here.
                Output::OpenTunnel { .. }
                | Output::CloseTunnel { .. }
                | Output::WantPeers { .. } => {}
                Output::Timeout(at) => {
                    self.wake[i] = at;
                    return;
                }
            }
        }
    }

    /// Runs until `until`, calling `top_up` after every step.
    fn run_until(&mut self, until: Time, top_up: &mut dyn FnMut(&mut Net)) {
        loop {
            let next_delivery = self.queue.peek().map_or(Time::NEVER, |Reverse(d)| d.0);
            let (w, next_wake) = (0..3)
                .map(|i| (i, self.wake[i]))
                .min_by_key(|x| x.1)
                .unwrap();
            let t = next_delivery.min(next_wake);
            if t > until {
                self.now = until;
                return;
            }
            self.now = t;
            if next_delivery <= next_wake {
                let Reverse((_, _, to, link, bytes)) = self.queue.pop().expect("peeked");
                self.input(to, Input::Datagram { link, bytes });
            } else {
                self.wake[w] = Time::NEVER;
                self.input(w, Input::Timeout);
            }
            top_up(self);
        }
    }
}

struct Figures {
    per_datagram_ns: f64,
    per_poll_ns: f64,
    failure_us: f64,
}

fn measure(n: usize) -> Figures {
    let mut net = Net::new();
    net.run_until(Time::ZERO + Duration::from_secs(1), &mut |_| {});
    let path: Vec<Address> = [1usize, 2]
        .iter()
        .map(|&i| net.nodes[i].identity().address())
        .collect();
    let routes: Vec<RouteHandle> = (0..n)
        .map(|_| {
            net.nodes[0]
                .open_route(path.clone(), Class::Bulk, RouteKind::Stream)
                .expect("valid path")
        })
        .collect();
    net.input(0, Input::Timeout);
    let up = |net: &Net| {
        net.events
            .iter()
            .filter(|(i, e)| *i == 0 && matches!(e, Event::RouteUp { .. }))
            .count()
    };
    let deadline = net.now + Duration::from_secs(120);
    while up(&net) < n && net.now < deadline {
        let t = net.now + Duration::from_millis(100);
        net.run_until(t, &mut |_| {});
    }
    assert_eq!(up(&net), n, "every route came up");
    net.run_until(net.now + Duration::from_millis(200), &mut |_| {});
    assert_eq!(
        net.nodes[1].routes().count(),
        n,
        "the relay holds every route"
    );

    let busy = routes[0];
    let message = vec![7u8; MESSAGE];
    let mut top_up = |net: &mut Net| {
        while net.nodes[0].route_has_room(busy, MESSAGE) {
            net.nodes[0]
                .route_send(busy, message.clone())
                .expect("room was checked");
            net.drive(0);
        }
    };
    top_up(&mut net);
    net.measuring = true;
    net.run_until(net.now + TRANSFER, &mut top_up);
    net.measuring = false;
    assert_eq!(
        net.nodes[1].routes().count(),
        n,
        "the idle routes stayed alive"
    );
    assert!(net.relay_sent_down > 1000, "the busy route moved data");

    // One link failure breaks every route through the relay.
    let t = Instant::now();
    net.nodes[1].handle_input(net.now, Input::LinkDown { link: LinkId(2) });
    while !matches!(net.nodes[1].poll_output(net.now), Output::Timeout(_)) {}
    let failure = t.elapsed();
    assert_eq!(net.nodes[1].routes().count(), 0, "every route broke");

    Figures {
        per_datagram_ns: net.relay_ns as f64 / net.relay_sent_down as f64,
        per_poll_ns: net.relay_ns as f64 / net.relay_polls as f64,
        failure_us: failure.as_secs_f64() * 1e6,
    }
}

fn main() {
    let small = measure(100);
    let large = measure(10_000);
    for (n, f) in [(100, &small), (10_000, &large)] {
        println!(
            "routes: {n:>6}  per_forwarded_datagram_ns: {:>8.0}  per_poll_output_ns: {:>6.0}  link_failure_us: {:>9.1}",
            f.per_datagram_ns, f.per_poll_ns, f.failure_us
        );
    }
    println!(
        "link_failure_ratio_10000_vs_100: {:.1} (linear: 100)",
        large.failure_us / small.failure_us
    );
    println!(
        "cost_ratio_10000_vs_100: {:.2}",
        large.per_datagram_ns / small.per_datagram_ns
    );
}
