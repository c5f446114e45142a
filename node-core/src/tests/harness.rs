//! A small deterministic network for testing whole nodes: N nodes, virtual
//! time, per-direction latency, bandwidth, MTU and seeded loss. quinn's
//! `Pair` is the model; this one takes any number of nodes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::*;

/// One direction of a wire between two nodes.
#[derive(Debug, Clone, Copy)]
pub struct WireParams {
    pub latency: Duration,
    pub loss: f64,
    pub mtu: usize,
    /// Serialization rate; `None` is infinitely fast.
    pub bits_per_second: Option<u64>,
    /// Each datagram is delayed by a further uniform share of this
    /// (datagrams overtake each other).
    pub jitter: Duration,
    /// Probability that a datagram arrives twice.
    pub duplicate: f64,
}

impl Default for WireParams {
    fn default() -> Self {
        WireParams {
            latency: Duration::from_millis(5),
            loss: 0.0,
            mtu: 1400,
            bits_per_second: None,
            jitter: Duration::ZERO,
            duplicate: 0.0,
        }
    }
}

struct Wire {
    to: usize,
    to_link: LinkId,
    params: WireParams,
    up: bool,
    busy_until: Time,
}

/// What a tamper hook decides for a datagram in flight.
pub enum Verdict {
    Deliver,
    Drop,
}

type Tamper = Box<dyn FnMut(usize, LinkId, &mut Vec<u8>) -> Verdict>;

/// A datagram on its way: (arrival, tie-break sequence, to node, on link, bytes).
type InFlight = Reverse<(Time, u64, usize, LinkId, Vec<u8>)>;

pub struct Net {
    pub nodes: Vec<Node>,
    pub identities: Vec<Identity>,
    pub now: Time,
    pub config: Config,
    rng: ChaCha20Rng,
    wires: BTreeMap<(usize, LinkId), Wire>,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    wake: Vec<Time>,
    pub events: Vec<(Time, usize, Event)>,
    pub tamper: Option<Tamper>,
    /// Every datagram delivered, if `capture` is on: (to, link, bytes).
    pub captured: Vec<(usize, LinkId, Vec<u8>)>,
    pub capture: bool,
    pub wire_drops: u64,
    restarts: u64,
    /// Tunnels the nodes asked for: (node, request, peer, locator).
    pub tunnel_requests: Vec<(usize, TunnelRequest, PublicKey, Locator)>,
    /// Tunnels the nodes handed back: (node, link, time).
    pub tunnels_closed: Vec<(usize, LinkId, Time)>,
    /// Wire parameters of the tunnels the harness opens; `None` refuses
    /// every request (the driver answers `TunnelFailed`).
    pub tunnel_wire: Option<WireParams>,
    next_tunnel_link: u64,
}

/// The link id node `from` uses for its link to node `to`.
pub fn link_to(to: usize) -> LinkId {
    LinkId(to as u64)
}

impl Net {
    pub fn new(n: usize, config: Config, seed: u64) -> Net {
        Net::new_each(n, config, seed, |_, _| {})
    }

    /// As [`Net::new`], each node's config first given to `each` (its
    /// index, the config) to change.
    pub fn new_each(n: usize, config: Config, seed: u64, each: impl Fn(usize, &mut Config)) -> Net {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let identities: Vec<Identity> = (0..n)
            .map(|_| Identity::generate(config.suite, &mut rng))
            .collect();
        let nodes = identities
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                let mut c = config.clone();
                each(i, &mut c);
                Node::new(c, id.clone(), s).expect("valid test config")
            })
            .collect();
        Net {
            nodes,
            identities,
            now: Time::ZERO,
            config,
            rng,
            wires: BTreeMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            wake: vec![Time::NEVER; n],
            events: Vec::new(),
            tamper: None,
            captured: Vec::new(),
            capture: false,
            wire_drops: 0,
            restarts: 0,
            tunnel_requests: Vec::new(),
            tunnels_closed: Vec::new(),
            tunnel_wire: Some(WireParams::default()),
            next_tunnel_link: 1000,
        }
    }

    /// Connects `a` and `b` with the same parameters both ways; both ends
    /// know each other's key.
    pub fn connect(&mut self, a: usize, b: usize, params: WireParams) {
        self.connect_asym(a, b, params, params);
    }

    pub fn connect_asym(&mut self, a: usize, b: usize, ab: WireParams, ba: WireParams) {
        self.wire(a, b, ab, ba);
        self.link_up(a, b, Some(*self.identities[b].public_key()));
        self.link_up(b, a, Some(*self.identities[a].public_key()));
    }

    /// Lays the wire between `a` and `b`, without bringing the links up.
    pub fn wire(&mut self, a: usize, b: usize, ab: WireParams, ba: WireParams) {
        for (from, to, p) in [(a, b, ab), (b, a, ba)] {
            self.wires.insert(
                (from, link_to(to)),
                Wire {
                    to,
                    to_link: link_to(from),
                    params: p,
                    up: true,
                    busy_until: Time::ZERO,
                },
            );
        }
    }

    /// A second (third, ...) link between `a` and `b`: `a` knows it as
    /// `link_a`, `b` as `link_b` (a wifi link and a tunnel to the same
    /// node); both ends know each other's key.
    pub fn connect_another(
        &mut self,
        a: usize,
        b: usize,
        link_a: LinkId,
        link_b: LinkId,
        params: WireParams,
    ) {
        for (from, to, on, to_link) in [(a, b, link_a, link_b), (b, a, link_b, link_a)] {
            self.wires.insert(
                (from, on),
                Wire {
                    to,
                    to_link,
                    params,
                    up: true,
                    busy_until: Time::ZERO,
                },
            );
        }
        self.link_up_on(a, link_a, Some(*self.identities[b].public_key()));
        self.link_up_on(b, link_b, Some(*self.identities[a].public_key()));
    }

    /// Cuts (or restores) one wire, both ways, by node `at`'s link id.
    pub fn set_link_wire_up(&mut self, at: usize, link: LinkId, up: bool) {
        let (to, to_link) = {
            let w = self.wires.get_mut(&(at, link)).expect("a wire");
            w.up = up;
            (w.to, w.to_link)
        };
        if let Some(w) = self.wires.get_mut(&(to, to_link)) {
            w.up = up;
        }
    }

    /// The node and link at the other end of node `at`'s `link`.
    pub fn far_end(&self, at: usize, link: LinkId) -> (usize, LinkId) {
        let w = &self.wires[&(at, link)];
        (w.to, w.to_link)
    }

    /// Gives node `at` a LinkUp for its link to `peer` with the given expected key.
    pub fn link_up(&mut self, at: usize, peer: usize, key: Option<PublicKey>) {
        self.link_up_on(at, link_to(peer), key);
    }

    /// Gives node `at` a LinkUp for `link` with the given expected key.
    pub fn link_up_on(&mut self, at: usize, link: LinkId, key: Option<PublicKey>) {
        let params = self.wires[&(at, link)].params;
        self.input(
            at,
            Input::LinkUp {
                link,
                peer_key: key,
                mtu: params.mtu,
                rate_bps: params.bits_per_second,
            },
        );
    }

    /// Changes the latency of the wire from `a` to `b` (one direction).
    pub fn set_latency(&mut self, a: usize, b: usize, latency: Duration) {
        if let Some(w) = self.wires.get_mut(&(a, link_to(b))) {
            w.params.latency = latency;
        }
    }

    pub fn set_wire_up(&mut self, a: usize, b: usize, up: bool) {
        for k in [(a, link_to(b)), (b, link_to(a))] {
            if let Some(w) = self.wires.get_mut(&k) {
                w.up = up;
            }
        }
    }

    pub fn input(&mut self, i: usize, input: Input) {
        self.nodes[i].handle_input(self.now, input);
        self.drive(i);
    }

    pub fn send(&mut self, from: usize, to: usize, channel: u16, class: Class, data: Vec<u8>) {
        self.nodes[from]
            .send(link_to(to), channel, class, data)
            .expect("send accepted");
        self.drive(from);
    }

    /// Replaces node `i` by a fresh node with the same identity and a new
    /// seed (its state is lost), and brings its links up again.
    pub fn restart(&mut self, i: usize) {
        self.restarts += 1;
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        self.nodes[i] = Node::new(self.config.clone(), self.identities[i].clone(), s).unwrap();
        self.wake[i] = Time::NEVER;
        let links: Vec<(LinkId, usize)> = self
            .wires
            .iter()
            .filter(|((from, _), _)| *from == i)
            .map(|((_, link), w)| (*link, w.to))
            .collect();
        for (link, p) in links {
            let key = Some(*self.identities[p].public_key());
            self.link_up_on(i, link, key);
        }
    }

    /// Delivers raw bytes to node `to` on `link` now, as if from the wire.
    pub fn inject(&mut self, to: usize, link: LinkId, bytes: Vec<u8>) {
        self.input(to, Input::Datagram { link, bytes });
    }

    fn drive(&mut self, i: usize) {
        loop {
            match self.nodes[i].poll_output(self.now) {
                Output::Transmit { link, bytes } => self.transmit(i, link, bytes),
                Output::Event(e) => self.events.push((self.now, i, e)),
                Output::OpenTunnel {
                    request,
                    peer,
                    locator,
                } => {
                    self.tunnel_requests.push((i, request, peer, locator));
                    self.serve_tunnel(i, request, locator);
                }
                // No registry here: peers come from the topology database.
                Output::WantPeers { .. } => {}
                Output::CloseTunnel { link } => {
                    self.tunnels_closed.push((i, link, self.now));
                    if let Some(w) = self.wires.remove(&(i, link)) {
                        self.wires.remove(&(w.to, w.to_link));
                        // The far end's driver sees its tunnel destroyed.
                        self.input(w.to, Input::LinkDown { link: w.to_link });
                    }
                }
                Output::Timeout(t) => {
                    self.wake[i] = t;
                    return;
                }
            }
        }
    }

    /// The driver's side of a tunnel request: a new wire between node `i`
    /// and the node the locator names (`Underlay(index)`).
    fn serve_tunnel(&mut self, i: usize, request: TunnelRequest, locator: Locator) {
        let (Some(params), Locator::Underlay(to)) = (self.tunnel_wire, locator) else {
            let reason = TunnelFailure::Refused;
            self.nodes[i].handle_input(self.now, Input::TunnelFailed { request, reason });
            return;
        };
        let to = to as usize;
        if to >= self.nodes.len() || to == i {
            let reason = TunnelFailure::Unreachable;
            self.nodes[i].handle_input(self.now, Input::TunnelFailed { request, reason });
            return;
        }
        let (la, lb) = (
            LinkId(self.next_tunnel_link),
            LinkId(self.next_tunnel_link + 1),
        );
        self.next_tunnel_link += 2;
        for (from, on, dest, to_link) in [(i, la, to, lb), (to, lb, i, la)] {
            self.wires.insert(
                (from, on),
                Wire {
                    to: dest,
                    to_link,
                    params,
                    up: true,
                    busy_until: Time::ZERO,
                },
            );
        }
        let (mtu, rate_bps) = (params.mtu, params.bits_per_second);
        self.nodes[i].handle_input(
            self.now,
            Input::TunnelOpened {
                request,
                link: la,
                mtu,
                rate_bps,
            },
        );
        self.input(
            to,
            Input::IncomingTunnel {
                link: lb,
                mtu,
                rate_bps,
                offered: None,
            },
        );
    }

    fn transmit(&mut self, from: usize, link: LinkId, mut bytes: Vec<u8>) {
        let now = self.now;
        let Some(w) = self.wires.get_mut(&(from, link)) else {
            panic!("node {from} sent on {link}, which it has no wire for");
        };
        assert!(
            bytes.len() <= w.params.mtu,
            "node {from} sent {} bytes on an mtu of {}",
            bytes.len(),
            w.params.mtu
        );
        if !w.up || (w.params.loss > 0.0 && self.rng.random::<f64>() < w.params.loss) {
            self.wire_drops += 1;
            return;
        }
        let start = now.max(w.busy_until);
        let serialize = w.params.bits_per_second.map_or(Duration::ZERO, |bps| {
            Duration::from_nanos(bytes.len() as u64 * 8 * 1_000_000_000 / bps)
        });
        w.busy_until = start + serialize;
        let mut arrival = w.busy_until + w.params.latency;
        let (to, to_link, params) = (w.to, w.to_link, w.params);
        if params.jitter > Duration::ZERO {
            arrival += Duration::from_nanos(self.rng.random_range(0..params.jitter.as_nanos()));
        }
        if let Some(t) = self.tamper.as_mut()
            && let Verdict::Drop = t(from, link, &mut bytes)
        {
            return;
        }
        if params.duplicate > 0.0 && self.rng.random::<f64>() < params.duplicate {
            let later = arrival
                + Duration::from_nanos(self.rng.random_range(0..=params.latency.as_nanos()));
            self.seq += 1;
            self.queue
                .push(Reverse((later, self.seq, to, to_link, bytes.clone())));
        }
        self.seq += 1;
        self.queue
            .push(Reverse((arrival, self.seq, to, to_link, bytes)));
    }

    /// Runs until virtual time `until` (inclusive).
    pub fn run_until(&mut self, until: Time) {
        let mut spins = 0u64;
        loop {
            spins += 1;
            // A network that never settles (a datagram storm) must fail the
            // test, not hang it.
            assert!(
                spins < 20_000_000,
                "no settling at {}: {} datagrams queued, wake-ups {:?}",
                self.now,
                self.queue.len(),
                self.wake
            );
            let next_delivery = self.queue.peek().map_or(Time::NEVER, |Reverse(d)| d.0);
            let (wake_node, next_wake) = self
                .wake
                .iter()
                .enumerate()
                .min_by_key(|&(_, t)| *t)
                .map_or((0, Time::NEVER), |(i, t)| (i, *t));
            let t = next_delivery.min(next_wake);
            if t > until {
                self.now = self.now.max(until);
                return;
            }
            self.now = self.now.max(t);
            if next_delivery <= next_wake {
                let Reverse((_, _, to, link, bytes)) = self.queue.pop().expect("peeked");
                if self.capture {
                    self.captured.push((to, link, bytes.clone()));
                }
                self.input(to, Input::Datagram { link, bytes });
            } else {
                self.wake[wake_node] = Time::NEVER;
                self.input(wake_node, Input::Timeout);
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until `done` holds (checked after every step batch of 1 ms) or
    /// `limit` of virtual time passed; returns whether it held.
    pub fn run_until_cond(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.run_for(Duration::from_millis(1));
        }
        done(self)
    }

    /// Messages delivered to node `at`: (from link, channel, data), in order.
    pub fn messages(&self, at: usize) -> Vec<(LinkId, u16, Vec<u8>)> {
        self.events
            .iter()
            .filter(|(_, i, _)| *i == at)
            .filter_map(|(_, _, e)| match e {
                Event::Message {
                    link,
                    channel,
                    data,
                } => Some((*link, *channel, data.clone())),
                _ => None,
            })
            .collect()
    }

    /// Events of node `at` matching `f`.
    pub fn count_events(&self, at: usize, f: impl Fn(&Event) -> bool) -> usize {
        self.events
            .iter()
            .filter(|(_, i, e)| *i == at && f(e))
            .count()
    }

    pub fn established(&self, a: usize, b: usize) -> bool {
        self.nodes[a]
            .link(link_to(b))
            .is_some_and(|l| l.established)
            && self.nodes[b]
                .link(link_to(a))
                .is_some_and(|l| l.established)
    }
}
