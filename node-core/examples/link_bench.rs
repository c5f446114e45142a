//! Throughput of one link, in process: bulk service messages from node A to
//! node B through the whole stack (framing, AEAD seal, acks, AEAD open,
//! reassembly), beside raw ChaCha20-Poly1305 on the same packet size.
//!
//! ```text
//! cargo run --release -p node-core --example link_bench [-- SECONDS]
//! ```
//! The raw figure seals and opens each packet once, which is the
//! cryptographic work a link does per data packet; `link_vs_raw_aead` is the
//! share of that speed the full protocol keeps. Node time follows the wall
//! clock, so keys rotate about once a second as they would in a real node.

use std::time::Instant;

use node_core::wire::SealedHeader;
use node_core::*;

const MTU: usize = 1452;
const MESSAGE: usize = 64 << 10;

struct Outcome {
    bytes: u64,
    secs: f64,
    rekeys: u64,
    datagrams: u64,
    retransmitted: u64,
}

fn now(start: Instant) -> Time {
    Time::from_nanos(start.elapsed().as_nanos() as u64)
}

/// Polls `node` until it has nothing to say; returns its datagrams and the
/// payload bytes of the messages it received.
fn drain(node: &mut Node, t: Time, out: &mut Vec<Vec<u8>>) -> u64 {
    let mut received = 0;
    loop {
        match node.poll_output(t) {
            Output::Transmit { bytes, .. } => out.push(bytes),
            Output::Event(Event::Message { data, .. }) => received += data.len() as u64,
            Output::Event(_) => {}
            Output::Timeout(at) => {
                if at <= t {
                    node.handle_input(t, Input::Timeout);
                    continue;
                }
                return received;
            }
        }
    }
}

fn link_run(suite: SuiteKind, secs: f64) -> Outcome {
    let config = Config {
        suite,
        ..Config::default()
    };
    let ia = Identity::from_secret(suite, [1; 32]).expect("valid secret");
    let ib = Identity::from_secret(suite, [2; 32]).expect("valid secret");
    let (ka, kb) = (*ia.public_key(), *ib.public_key());
    let mut a = Node::new(config.clone(), ia, [3; 32]).expect("valid config");
    let mut b = Node::new(config, ib, [4; 32]).expect("valid config");
    let (la, lb) = (LinkId(1), LinkId(1));
    let start = Instant::now();
    a.handle_input(
        now(start),
        Input::LinkUp {
            link: la,
            peer_key: Some(kb),
            mtu: MTU,
        },
    );
    b.handle_input(
        now(start),
        Input::LinkUp {
            link: lb,
            peer_key: Some(ka),
            mtu: MTU,
        },
    );

    let message = vec![0x5a; MESSAGE];
    let (mut to_b, mut to_a) = (Vec::new(), Vec::new());
    let mut received = 0u64;
    let mut measure_from = None;
    loop {
        let t = now(start);
        let established = a.link(la).is_some_and(|l| l.established);
        if established && measure_from.is_none() {
            measure_from = Some((Instant::now(), received));
        }
        if let Some((from, base)) = measure_from
            && from.elapsed().as_secs_f64() >= secs
        {
            let stats = a.link(la).expect("link").stats;
            return Outcome {
                bytes: received - base,
                secs: from.elapsed().as_secs_f64(),
                rekeys: stats.rekeys,
                datagrams: stats.datagrams_sent,
                retransmitted: stats.frames_retransmitted,
            };
        }
        // Keep A's queue topped up, as a bulk application would.
        while established && a.link(la).is_some_and(|l| l.send_backlog < 4 << 20) {
            a.send(la, 1, Class::Bulk, message.clone()).expect("queued");
        }
        drain(&mut a, t, &mut to_b);
        for bytes in to_b.drain(..) {
            b.handle_input(t, Input::Datagram { link: lb, bytes });
        }
        received += drain(&mut b, t, &mut to_a);
        for bytes in to_a.drain(..) {
            a.handle_input(t, Input::Datagram { link: la, bytes });
        }
    }
}

/// Raw AEAD: seal then open packets of the size a full data packet has.
fn raw_aead(secs: f64) -> f64 {
    let suite = SuiteKind::Real.suite();
    let header = [3u8; SealedHeader::LEN];
    let plaintext = (MTU - SealedHeader::LEN - 16) / 16 * 16;
    let mut buf = vec![0x5a; plaintext];
    let key = [7u8; 32];
    let start = Instant::now();
    let mut packets = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..1000 {
            let tag = suite.seal(&key, packets, &header, &mut buf);
            suite
                .open(&key, packets, &header, &mut buf, &tag)
                .expect("own tag verifies");
            packets += 1;
        }
    }
    (packets * plaintext as u64) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS must be a number"))
        .unwrap_or(3.0);
    let raw = raw_aead(secs);
    let real = link_run(SuiteKind::Real, secs);
    let modeled = link_run(SuiteKind::Modeled, secs);
    let mbps = |o: &Outcome| o.bytes as f64 / o.secs / 1e6;
    println!("mtu: {MTU}  message: {MESSAGE}  seconds: {secs}");
    println!("raw_aead_MBps: {raw:.1}");
    println!(
        "link_MBps: {:.1}  (real suite; {} datagrams from A, {} frames retransmitted)",
        mbps(&real),
        real.datagrams,
        real.retransmitted
    );
    println!("rekeys: {}", real.rekeys);
    println!(
        "modeled_link_MBps: {:.1}  (modeled suite; rekeys: {})",
        mbps(&modeled),
        modeled.rekeys
    );
    println!("link_vs_raw_aead: {:.2}", mbps(&real) / raw);
}
