//! What a flood of handshake INITs from spoofed addresses costs a node
//! (issue 12, finding 6): each INIT is a new incoming tunnel (as `meshnode`
//! makes one per unknown sender address), fed the INIT, then handed back.
//!
//! ```text
//! cargo run --release -p node-core --example init_flood [-- SECONDS]
//! ```
//! Four floods, in alternating rounds (medians), Real suite:
//! - `forged_configured`: INITs that name a key the node is configured to
//!   take, with a forged MAC. The MAC key of a configured key is computed
//!   once ([`MacKeys`](node_core)), so each costs a MAC.
//! - `forged_open`: the same INITs to a node with open peering, where the
//!   key named is anybody's and its MAC key is not kept: a key agreement
//!   each (what every forged INIT cost before the keys were kept).
//! - `proven_open`: valid INITs (an attacker's own key, its MAC right)
//!   under open peering: each is answered, a responder's key agreements.
//! - `no_mac_configured`: INITs without a MAC naming a configured key:
//!   refused before any cryptography.

use std::time::Instant;

use node_core::*;

const ROUND_SECS: f64 = 0.25;

fn init_of(secret: u8, peer: Option<PublicKey>) -> Vec<u8> {
    let id = Identity::from_secret(SuiteKind::Real, [secret; 32]).expect("valid secret");
    let mut n = Node::new(Config::default(), id, [secret; 32]).expect("valid config");
    n.handle_input(
        Time::ZERO,
        Input::LinkUp {
            link: LinkId(1),
            peer_key: peer,
            mtu: 1200,
            rate_bps: None,
        },
    );
    loop {
        match n.poll_output(Time::ZERO) {
            Output::Transmit { bytes, .. } => return bytes,
            Output::Timeout(_) => panic!("no INIT"),
            _ => {}
        }
    }
}

struct Flood {
    node: Node,
    init: Vec<u8>,
    offered: PublicKey,
    next_link: u64,
}

impl Flood {
    fn new(policy: IncomingTunnels, init: Vec<u8>, offered: PublicKey) -> Flood {
        let id = Identity::from_secret(SuiteKind::Real, [9; 32]).expect("valid secret");
        let config = Config {
            incoming_tunnels: policy,
            max_tunnels: 1 << 20,
            ..Config::default()
        };
        Flood {
            node: Node::new(config, id, [10; 32]).expect("valid config"),
            init,
            offered,
            next_link: 1,
        }
    }

    /// INITs handled per second for `secs`.
    fn run(&mut self, secs: f64) -> f64 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < secs {
            for _ in 0..50 {
                let link = LinkId(self.next_link);
                self.next_link += 1;
                let t = Time::ZERO;
                self.node.handle_input(
                    t,
                    Input::IncomingTunnel {
                        link,
                        mtu: 1200,
                        rate_bps: None,
                        offered: Some(self.offered),
                    },
                );
                self.node.handle_input(
                    t,
                    Input::Datagram {
                        link,
                        bytes: self.init.clone(),
                    },
                );
                self.node.handle_input(t, Input::LinkDown { link });
                while !matches!(self.node.poll_output(t), Output::Timeout(_)) {}
                n += 1;
            }
        }
        n as f64 / start.elapsed().as_secs_f64()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS must be a number"))
        .unwrap_or(2.0);
    let rounds = ((secs / ROUND_SECS).ceil() as usize).max(1);
    let target = *Identity::from_secret(SuiteKind::Real, [9; 32])
        .expect("valid secret")
        .public_key();
    let claimed = *Identity::from_secret(SuiteKind::Real, [42; 32])
        .expect("valid secret")
        .public_key();
    let valid = init_of(42, Some(target));
    let mut forged = valid.clone();
    let mac_at = forged.len() - 16;
    forged[mac_at] ^= 1;
    let no_mac = init_of(42, None);
    let mut floods = [
        (
            "forged_configured",
            Flood::new(
                IncomingTunnels::Keys(vec![claimed]),
                forged.clone(),
                claimed,
            ),
        ),
        (
            "forged_open",
            Flood::new(IncomingTunnels::Any, forged, claimed),
        ),
        (
            "proven_open",
            Flood::new(IncomingTunnels::Any, valid, claimed),
        ),
        (
            "no_mac_configured",
            Flood::new(IncomingTunnels::Keys(vec![claimed]), no_mac, claimed),
        ),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); floods.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in floods.iter_mut().enumerate() {
            rates[i].push(f.run(ROUND_SECS));
        }
    }
    println!("rounds: {rounds} x {ROUND_SECS} s each (medians), Real suite");
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    for ((name, f), r) in floods.iter().zip(&medians) {
        let s = f.node.stats().links;
        println!(
            "{name}: {r:.0} INITs/s ({:.1} us each; unauthenticated drops {})",
            1e6 / r,
            s.drops.unauthenticated
        );
    }
    println!("forged_configured_vs_open: {:.1}x", medians[0] / medians[1]);
}
