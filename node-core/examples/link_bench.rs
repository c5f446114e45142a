//! Throughput of one link, in process: bulk service messages from node A to
//! node B through the whole stack (framing, AEAD seal, acks, AEAD open,
//! reassembly), beside raw ChaCha20-Poly1305 on the same packet size.
//!
//! ```text
//! cargo run --release -p node-core --example link_bench [-- SECONDS]
//! ```
//! The raw figure seals and opens each packet once, which is the
//! cryptographic work a link does per data packet; `link_vs_raw_aead` is the
//! share of that speed the full protocol keeps.
//!
//! It also prices a per-hop layer for route data (issue 12, finding 9): one
//! more ChaCha20 pass (keystream only, no tag, as Tor's relay cells) that
//! each relay would apply to each record so that colluding relays see
//! different bytes. `hop_layer_added` is the time that pass adds to one
//! packet-hop of the link measured here (the link's seal, open, framing and
//! acks): `link_MBps / raw_stream_MBps`. The three measurements run
//! in alternating rounds of a quarter second and each reports its median
//! round, so a noisy neighbour on the machine weighs on all of them alike.
//! A pair's node time advances only while it is pumped (at wall-clock
//! speed), so keys rotate about once a second of pumping.

use std::time::Instant;

use node_core::wire::SealedHeader;
use node_core::*;

const MTU: usize = 1452;
const MESSAGE: usize = 64 << 10;
const ROUND_SECS: f64 = 0.25;

/// Two nodes joined by one link, handing datagrams to each other directly.
struct Pair {
    a: Node,
    b: Node,
    clock: Duration,
    message: Vec<u8>,
    to_a: Vec<Vec<u8>>,
    to_b: Vec<Vec<u8>>,
}

const LINK: LinkId = LinkId(1);

/// Polls `node` until it has nothing to say; returns the payload bytes of
/// the messages it received.
fn drain(node: &mut Node, t: Time, out: &mut Vec<Vec<u8>>) -> u64 {
    let mut received = 0;
    loop {
        match node.poll_output(t) {
            Output::Transmit { bytes, .. } => out.push(bytes),
            Output::Event(Event::Message { data, .. }) => received += data.len() as u64,
            // This pair asks for no tunnels.
            Output::Event(_)
            | Output::OpenTunnel { .. }
            | Output::CloseTunnel { .. }
            | Output::WantPeers { .. } => {}
            Output::Timeout(at) if at <= t => node.handle_input(t, Input::Timeout),
            Output::Timeout(_) => return received,
        }
    }
}

impl Pair {
    fn new(suite: SuiteKind) -> Pair {
        let config = Config {
            suite,
            ..Config::default()
        };
        let ia = Identity::from_secret(suite, [1; 32]).expect("valid secret");
        let ib = Identity::from_secret(suite, [2; 32]).expect("valid secret");
        let (ka, kb) = (*ia.public_key(), *ib.public_key());
        let mut pair = Pair {
            a: Node::new(config.clone(), ia, [3; 32]).expect("valid config"),
            b: Node::new(config, ib, [4; 32]).expect("valid config"),
            clock: Duration::ZERO,
            message: vec![0x5a; MESSAGE],
            to_a: Vec::new(),
            to_b: Vec::new(),
        };
        let t = Time::ZERO;
        pair.a.handle_input(
            t,
            Input::LinkUp {
                link: LINK,
                peer_key: Some(kb),
                mtu: MTU,
                rate_bps: None,
            },
        );
        pair.b.handle_input(
            t,
            Input::LinkUp {
                link: LINK,
                peer_key: Some(ka),
                mtu: MTU,
                rate_bps: None,
            },
        );
        while !pair.a.link(LINK).is_some_and(|l| l.established) {
            pair.step(t);
        }
        pair
    }

    fn step(&mut self, t: Time) -> u64 {
        drain(&mut self.a, t, &mut self.to_b);
        for bytes in self.to_b.drain(..) {
            self.b
                .handle_input(t, Input::Datagram { link: LINK, bytes });
        }
        let received = drain(&mut self.b, t, &mut self.to_a);
        for bytes in self.to_a.drain(..) {
            self.a
                .handle_input(t, Input::Datagram { link: LINK, bytes });
        }
        received
    }

    /// Pumps bulk data for `secs` of wall time; returns MB/s delivered.
    fn pump(&mut self, secs: f64) -> f64 {
        let start = Instant::now();
        let mut received = 0;
        while start.elapsed().as_secs_f64() < secs {
            let t =
                Time::ZERO + self.clock + Duration::from_nanos(start.elapsed().as_nanos() as u64);
            // Keep A's queue topped up, as a bulk application would.
            while self.a.link(LINK).is_some_and(|l| l.send_backlog < 4 << 20) {
                self.a
                    .send(LINK, 1, Class::Bulk, self.message.clone())
                    .expect("queued");
            }
            received += self.step(t);
        }
        let elapsed = start.elapsed();
        self.clock = self.clock + Duration::from_nanos(elapsed.as_nanos() as u64);
        received as f64 / elapsed.as_secs_f64() / 1e6
    }
}

/// Raw AEAD: seal then open packets of the size a full data packet has;
/// returns MB/s of plaintext.
fn raw_aead(secs: f64, counter: &mut u64) -> f64 {
    let suite = SuiteKind::Real.suite();
    let header = [3u8; SealedHeader::LEN];
    let plaintext = (MTU - SealedHeader::LEN - 16) / 16 * 16;
    let mut buf = vec![0x5a; plaintext];
    let key = [7u8; 32];
    let start = Instant::now();
    let mut packets = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..100 {
            let tag = suite.seal(&key, *counter, &header, &mut buf);
            suite
                .open(&key, *counter, &header, &mut buf, &tag)
                .expect("own tag verifies");
            *counter += 1;
            packets += 1;
        }
    }
    (packets * plaintext as u64) as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// A keystream pass alone (what a per-hop layer costs per byte); MB/s.
fn raw_stream(secs: f64, counter: &mut u64) -> f64 {
    let suite = SuiteKind::Real.suite();
    let plaintext = (MTU - SealedHeader::LEN - 16) / 16 * 16;
    let mut buf = vec![0x5a; plaintext];
    let key = [9u8; 32];
    let start = Instant::now();
    let mut packets = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..100 {
            suite.stream_xor(&key, *counter, &mut buf);
            *counter += 1;
            packets += 1;
        }
    }
    std::hint::black_box(&buf);
    (packets * plaintext as u64) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS must be a number"))
        .unwrap_or(3.0);
    let rounds = ((secs / ROUND_SECS).ceil() as usize).max(1);
    let (mut real, mut modeled) = (Pair::new(SuiteKind::Real), Pair::new(SuiteKind::Modeled));
    let (mut raw_rounds, mut real_rounds, mut modeled_rounds, mut stream_rounds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut nonce = 0;
    for _ in 0..rounds {
        raw_rounds.push(raw_aead(ROUND_SECS, &mut nonce));
        stream_rounds.push(raw_stream(ROUND_SECS, &mut nonce));
        real_rounds.push(real.pump(ROUND_SECS));
        modeled_rounds.push(modeled.pump(ROUND_SECS));
    }
    let (raw, link, fast) = (
        median(raw_rounds),
        median(real_rounds),
        median(modeled_rounds),
    );
    let stats = real.a.link(LINK).expect("link").stats;
    let peer = real.b.link(LINK).expect("link").stats;
    println!("mtu: {MTU}  message: {MESSAGE}  rounds: {rounds} x {ROUND_SECS} s (medians)");
    println!(
        "datagrams: {} from A, {} from B (acks); frames retransmitted: {}",
        stats.datagrams_sent, peer.datagrams_sent, stats.frames_retransmitted
    );
    println!("raw_aead_MBps: {raw:.1}");
    println!("link_MBps: {link:.1}");
    println!(
        "rekeys: {} in {:.2} s of pumping",
        stats.rekeys,
        real.clock.as_secs_f64()
    );
    let modeled_rekeys = modeled.a.link(LINK).expect("link").stats.rekeys;
    println!("modeled_link_MBps: {fast:.1}  (modeled suite; rekeys: {modeled_rekeys})");
    println!("link_vs_raw_aead: {:.2}", link / raw);
    let stream = median(stream_rounds);
    println!("raw_stream_MBps: {stream:.1}  (ChaCha20 keystream alone)");
    println!(
        "hop_layer_added: {:.3}  (a per-hop ChaCha20 pass, as a share of a packet-hop's time now)",
        link / stream
    );
}
