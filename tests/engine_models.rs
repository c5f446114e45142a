//! The engine against formulas: serialization and propagation delay, one-way
//! links, SONET protection switching. (Loss models are checked against their
//! formulas next to their code, in `sim::channel`.)

use std::collections::VecDeque;

use node_core::{Class, CommandError, Duration, Input, LinkId, Output, PublicKey, Time};
use sim::engine::World;
use sim::engine::protocol::{Population, Protocol};
use sim::model::*;

/// A probe: node 0 sends `count` datagrams of `size` bytes on every link,
/// one every `period`; every node records when datagrams arrive.
struct Probe {
    sender: bool,
    size: usize,
    period: Duration,
    count: u32,
    sent: u32,
    links: Vec<LinkId>,
    next: Time,
    outbox: VecDeque<(LinkId, Vec<u8>)>,
    arrivals: Vec<(Time, LinkId, usize)>,
}

impl Protocol for Probe {
    fn handle_input(&mut self, now: Time, input: Input) {
        match input {
            Input::LinkUp { link, .. } => self.links.push(link),
            Input::Datagram { link, bytes } => self.arrivals.push((now, link, bytes.len())),
            Input::Timeout if self.sender && now >= self.next && self.sent < self.count => {
                self.sent += 1;
                self.next = now + self.period;
                for &l in &self.links {
                    self.outbox.push_back((l, vec![1; self.size]));
                }
            }
            _ => {}
        }
    }
    fn poll_output(&mut self, _: Time) -> Output {
        match self.outbox.pop_front() {
            Some((link, bytes)) => Output::Transmit { link, bytes },
            None if self.sender && self.sent < self.count => Output::Timeout(self.next),
            None => Output::Timeout(Time::NEVER),
        }
    }
    fn send(&mut self, _: LinkId, _: u16, _: Class, _: Vec<u8>) -> Result<(), CommandError> {
        Ok(())
    }
    fn send_backlog(&self, _: LinkId) -> usize {
        0
    }
}

struct Probes {
    size: usize,
    period: Duration,
    count: u32,
}

impl Population for Probes {
    type Node = Probe;
    fn make(&mut self, index: usize, _: u32) -> Probe {
        Probe {
            sender: index == 0,
            size: self.size,
            period: self.period,
            count: self.count,
            sent: 0,
            links: Vec::new(),
            next: Time::ZERO,
            outbox: VecDeque::new(),
            arrivals: Vec::new(),
        }
    }
    fn public_key(&self, _: usize) -> Option<PublicKey> {
        None
    }
}

fn params(bps: u64, latency: Duration) -> ChannelParams {
    ChannelParams {
        bandwidth_bps: bps,
        latency,
        jitter: Duration::ZERO,
        reorder: false,
        queue_bytes: 1 << 20,
        mtu: 9000,
        loss: LossModel::None,
    }
}

fn scenario(network: Network, duration: Duration, faults: Vec<FaultSpec>) -> Scenario {
    Scenario {
        faults,
        ..Scenario::bare(
            "model-check",
            3,
            network,
            node_core::Config::default(),
            duration,
        )
    }
}

fn host(i: usize) -> NodeSpec {
    NodeSpec {
        name: format!("n{i}"),
        position: None,
        geo: None,
        role: NodeRole::Host,
    }
}

#[test]
fn one_datagram_arrives_after_size_over_rate_plus_delay() {
    for (bps, latency_us, size) in [
        (10_000_000u64, 2_000u64, 1_250usize),
        (1_000_000_000, 50, 9_000),
        (64_000, 10_000, 160),
    ] {
        let latency = Duration::from_micros(latency_us);
        let net = Network {
            nodes: vec![host(0), host(1)],
            links: vec![LinkSpec {
                a: 0,
                b: 1,
                ab: params(bps, latency),
                ba: Some(params(bps, latency)),
                medium: Medium::Wired,
            }],
            wifi: None,
            sonet_rings: Vec::new(),
            derived_latency: Vec::new(),
        };
        let mut w = World::new(
            scenario(net, Duration::from_secs(1), vec![]),
            Probes {
                size,
                period: Duration::from_secs(1),
                count: 1,
            },
        );
        w.run(Time::from_nanos(1_000_000_000), &mut |_| {});
        let expected = (size as u64 * 8 * 1_000_000_000).div_ceil(bps) + latency.as_nanos();
        assert_eq!(
            w.node(1).arrivals,
            vec![(Time::from_nanos(expected), LinkId(0), size)],
            "{bps} bps"
        );
    }
}

#[test]
fn a_one_way_link_carries_nothing_backwards() {
    let net = Network {
        nodes: vec![host(0), host(1)],
        links: vec![LinkSpec {
            a: 1,
            b: 0,
            ab: params(1_000_000, Duration::from_millis(1)),
            ba: None,
            medium: Medium::Wired,
        }],
        wifi: None,
        sonet_rings: Vec::new(),
        derived_latency: Vec::new(),
    };
    // Node 0 is the sender, at the receiving end of the one-way link 1 -> 0.
    let mut w = World::new(
        scenario(net, Duration::from_secs(1), vec![]),
        Probes {
            size: 100,
            period: Duration::from_millis(10),
            count: 20,
        },
    );
    w.run(Time::from_nanos(1_000_000_000), &mut |_| {});
    assert!(w.node(1).arrivals.is_empty());
    let l = &w.links().links[0];
    assert!(l.dirs[1].is_none());
    assert_eq!(l.dirs[0].as_ref().unwrap().counters().delivered, 0);
}

#[test]
fn a_cut_sonet_fiber_restores_connectivity_within_50_ms() {
    // Six cities on a ring; node 0 probes both its spans every millisecond.
    let n = 6;
    let span = params(10_000_000_000, Duration::from_millis(1));
    let links: Vec<LinkSpec> = (0..n)
        .map(|i| LinkSpec {
            a: i,
            b: (i + 1) % n,
            ab: span.clone(),
            ba: Some(span.clone()),
            medium: Medium::SonetSpan { ring: 0, span: i },
        })
        .collect();
    let net = Network {
        nodes: (0..n)
            .map(|i| NodeSpec {
                role: NodeRole::City,
                ..host(i)
            })
            .collect(),
        links,
        wifi: None,
        sonet_rings: vec![SonetRingSpec {
            cities: (0..n).collect(),
            spans: (0..n).collect(),
            switch_time: Duration::from_millis(30),
        }],
        derived_latency: Vec::new(),
    };
    let cut_at = Duration::from_millis(500);
    let faults = vec![FaultSpec {
        at: cut_at,
        duration: None,
        kind: FaultKind::LinkDown { link: 0 },
    }];
    let mut w = World::new(
        scenario(net, Duration::from_secs(1), faults),
        Probes {
            size: 200,
            period: Duration::from_millis(1),
            count: 1000,
        },
    );
    w.run(Time::from_nanos(1_000_000_000), &mut |_| {});
    let on_span0: Vec<Time> = w.node(1).arrivals.iter().map(|a| a.0).collect();
    let cut = Time::ZERO + cut_at;
    let before = on_span0.iter().filter(|&&t| t < cut).count();
    let first_after = *on_span0
        .iter()
        .find(|&&t| t > cut + Duration::from_millis(2))
        .expect("traffic resumes");
    let gap = first_after.saturating_since(cut);
    assert!(before > 400, "span carried traffic before the cut");
    assert!(
        gap <= Duration::from_millis(50),
        "restored {gap} after the cut"
    );
    // Afterwards the traffic goes the long way round: five spans instead of one.
    let last = *on_span0.last().unwrap();
    assert!(last > Time::ZERO + Duration::from_millis(990));
    assert!(
        w.links().links[0].dirs[0]
            .as_ref()
            .unwrap()
            .counters()
            .drops
            .iter()
            .sum::<u64>()
            > 0
    );
}
