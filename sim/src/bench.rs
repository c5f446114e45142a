//! The engine benchmark: echo nodes on a grid, no protocol work, so the
//! figure is the engine's own cost per event (queue, dispatch, link model,
//! fingerprint).

use node_core::{Duration, Time};

use crate::engine::World;
use crate::engine::population::Echoes;
use crate::model::{
    ChannelParams, LinkSpec, LossModel, Medium, Network, NodeRole, NodeSpec, Scenario,
};

/// Raw `BinaryHeap` push+pop pairs per second, on a heap of `size` keys
/// like the engine's (time, sequence, slot): the floor of an event's cost.
pub fn heap_pairs_per_s(size: usize, pairs: u64) -> f64 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = (0..size as u64)
        .map(|i| Reverse((next() >> 20, i, 0)))
        .collect();
    let start = std::time::Instant::now();
    for i in 0..pairs {
        let Reverse((t, _, _)) = heap.pop().expect("never empty");
        heap.push(Reverse((t + (next() >> 40), size as u64 + i, 0)));
    }
    std::hint::black_box(&heap);
    pairs as f64 / start.elapsed().as_secs_f64()
}

/// Result of an engine benchmark.
pub struct EngineBench {
    /// Events processed.
    pub events: u64,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Nodes.
    pub nodes: usize,
}

/// A `side` x `side` grid of echo nodes, each ticking every millisecond and
/// letting each datagram bounce `hops` times, run for `simulated` time.
pub fn engine(side: usize, hops: u8, simulated: Duration) -> EngineBench {
    let n = side * side;
    let params = ChannelParams {
        bandwidth_bps: 10_000_000_000,
        latency: Duration::from_micros(100),
        jitter: Duration::ZERO,
        reorder: false,
        queue_bytes: 1 << 20,
        mtu: 1500,
        loss: LossModel::None,
    };
    let mut links = Vec::new();
    for r in 0..side {
        for c in 0..side {
            let i = r * side + c;
            for j in [
                (c + 1 < side).then_some(i + 1),
                (r + 1 < side).then_some(i + side),
            ]
            .into_iter()
            .flatten()
            {
                links.push(LinkSpec {
                    a: i,
                    b: j,
                    ab: params.clone(),
                    ba: Some(params.clone()),
                    medium: Medium::Wired,
                });
            }
        }
    }
    let nodes = (0..n)
        .map(|i| NodeSpec {
            name: format!("n{i}"),
            position: None,
            geo: None,
            role: NodeRole::Host,
        })
        .collect();
    let network = Network {
        nodes,
        links,
        wifi: None,
        sonet_rings: Vec::new(),
        derived_latency: Vec::new(),
    };
    let scenario = Scenario::bare(
        "engine-bench",
        1,
        network,
        node_core::Config::default(),
        simulated,
    );
    let mut world = World::new(
        scenario,
        Echoes {
            tick: Duration::from_millis(1),
            hops,
        },
    );
    let start = std::time::Instant::now();
    world.run(Time::ZERO + simulated, &mut |_| {});
    EngineBench {
        events: world.events(),
        wall_s: start.elapsed().as_secs_f64(),
        simulated_s: simulated.as_secs_f64(),
        nodes: n,
    }
}

/// What `meshsim bench scale` measured.
#[derive(Debug, Clone, Copy)]
pub struct ScaleBench {
    /// Nodes, links, and link ends (twice the links).
    pub nodes: usize,
    /// Links.
    pub links: usize,
    /// Bytes the allocator held for the world once its links were up,
    /// less what it held before.
    pub bytes: usize,
    /// Bytes held once the world was built, before it ran (nodes made,
    /// links not yet up).
    pub built_bytes: usize,
    /// Links established at the end (each counted at both ends).
    pub established_ends: usize,
    /// Events processed.
    pub events: u64,
    /// Wall-clock seconds of the run (construction included).
    pub wall_s: f64,
}

/// An `n`-node Barabasi-Albert mesh (`m` links per new node; mean degree
/// about 2m) of 1 Gb/s, 5 ms links, Modeled suite, `Config::default()`,
/// no traffic, run for `simulated` time so every link comes up and idles
/// (keepalives, rekeys). `allocated` reads the allocator's own count.
pub fn scale(n: usize, m: usize, simulated: Duration, allocated: &dyn Fn() -> usize) -> ScaleBench {
    use rand::SeedableRng as _;
    let params = ChannelParams {
        bandwidth_bps: 1_000_000_000,
        latency: Duration::from_millis(5),
        jitter: Duration::ZERO,
        reorder: false,
        queue_bytes: 1 << 20,
        mtu: 1400,
        loss: LossModel::None,
    };
    let start = std::time::Instant::now();
    let before = allocated();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let network = crate::topology::generators::barabasi_albert(n, m, &params, &mut rng);
    let links = network.links.len();
    let protocol = node_core::Config {
        suite: node_core::SuiteKind::Modeled,
        ..node_core::Config::default()
    };
    let scenario = Scenario::bare("scale-bench", 1, network, protocol, simulated);
    let nodes = crate::engine::population::Nodes::of(&scenario);
    let mut world = World::new(scenario, nodes);
    let built_bytes = allocated().saturating_sub(before);
    world.run(Time::ZERO + simulated, &mut |_| {});
    let bytes = allocated().saturating_sub(before);
    let established_ends = (0..n)
        .map(|i| world.node(i).links().filter(|l| l.established).count())
        .sum();
    ScaleBench {
        nodes: n,
        links,
        bytes,
        built_bytes,
        established_ends,
        events: world.events(),
        wall_s: start.elapsed().as_secs_f64(),
    }
}
