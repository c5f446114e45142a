//! The engine's side of the links: channels per direction, the wifi medium,
//! SONET rings, and what faults did to them.

use node_core::{Duration, Time};

use super::rng::{StreamKind, lazy_stream};
use crate::channel::{Channel, DropCause, SonetRing, TxToken, WifiMedium, serialization_ns};
use crate::model::{LinkSpec, Medium, Network};

/// Counters of one direction, kept by the engine for every medium alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirCounters {
    /// Datagrams handed to the link.
    pub offered: u64,
    /// Bytes handed to the link.
    pub offered_bytes: u64,
    /// Datagrams that arrived.
    pub delivered: u64,
    /// Bytes that arrived.
    pub delivered_bytes: u64,
    /// Drops by cause, indexed like [`DropCause::ALL`].
    pub drops: [u64; 5],
    /// Time the sender spends putting bits on the medium, counted when a
    /// datagram is accepted (so it may run past the present).
    pub busy_ns: u64,
    /// When the last accepted datagram finishes leaving the sender.
    pub busy_until: Time,
}

impl DirCounters {
    /// Busy time up to `t`: what was accepted, less what is still to come.
    pub fn busy_by(&self, t: Time) -> u64 {
        self.busy_ns
            .saturating_sub(self.busy_until.saturating_since(t).as_nanos())
    }
}

/// One direction of a link.
pub struct Direction {
    /// The channel model (for wifi: the parameters and the sender's queue
    /// are used through the medium).
    pub channel: Channel,
    rng: node_core::lazy_rng::LazyRng,
    counters: DirCounters,
    /// The counters changed since the last metrics sample (which then
    /// keeps them): the sampler needs no copy of every direction's
    /// counters to find what changed.
    unsampled: bool,
}

impl Direction {
    /// Its counters.
    pub fn counters(&self) -> &DirCounters {
        &self.counters
    }

    /// Its counters, to change (marks them for the next sample).
    fn counters_mut(&mut self) -> &mut DirCounters {
        self.unsampled = true;
        &mut self.counters
    }

    /// Whether the counters changed since the last call.
    pub(super) fn take_unsampled(&mut self) -> bool {
        std::mem::take(&mut self.unsampled)
    }

    /// Puts a datagram on this direction's own channel at `now`.
    fn send(&mut self, now: Time, len: usize) -> Result<InFlight, DropCause> {
        let busy = self.channel.stats().busy_ns;
        let r = self.channel.send(now, len, &mut self.rng);
        let (busy_until, added) = (
            self.channel.busy_until(),
            self.channel.stats().busy_ns - busy,
        );
        let c = self.counters_mut();
        c.busy_ns += added;
        c.busy_until = busy_until;
        r.map(|at| InFlight {
            at,
            generation: self.channel.generation(),
            token: None,
        })
    }
}

/// What the engine keeps of a link's spec: its ends and medium. Each
/// direction's parameters live in its channel ([`Channel::params`]), not
/// a second time here (88 bytes a direction, at a million nodes 0.4 GB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEnds {
    /// One end (the sender of direction 0).
    pub a: usize,
    /// The other end.
    pub b: usize,
    /// Wired or wifi.
    pub medium: Medium,
}

impl LinkEnds {
    fn of(spec: &LinkSpec) -> LinkEnds {
        LinkEnds {
            a: spec.a,
            b: spec.b,
            medium: spec.medium,
        }
    }
}

/// A link and its state.
pub struct LinkState {
    /// What the scenario said of its ends.
    pub spec: LinkEnds,
    /// `[a -> b, b -> a]`; `None` for the missing direction of a one-way link.
    pub dirs: [Option<Direction>; 2],
    /// Faults currently holding the link down (a partition and a link fault
    /// may overlap; the link is up when none does).
    down_holds: u32,
}

/// Where a transmission stands once the link has taken it.
pub struct InFlight {
    /// Arrival time.
    pub at: Time,
    /// The direction's channel generation when it left.
    pub generation: u64,
    /// The wifi frame, to check for collisions on arrival.
    pub token: Option<TxToken>,
}

/// A node's access link to the underlay: one uplink that all its tunnels
/// share (the downlink is not modelled).
struct Access {
    channel: Channel,
    rng: node_core::lazy_rng::LazyRng,
}

/// All links of a run.
pub struct Links {
    /// Links by index: the topology's, then tunnels in the order they opened.
    pub links: Vec<LinkState>,
    wifi: Option<WifiMedium>,
    rings: Vec<SonetRing>,
    /// Per node, its access link, when the underlay has them (made on a
    /// node's first tunnel).
    access: Vec<Option<Access>>,
    access_params: Option<crate::model::ChannelParams>,
    seed: u64,
}

impl Links {
    /// Builds the links of `network`, each direction with its own RNG
    /// stream. The specs are `network`'s links, taken out of it by the
    /// caller: each is held once (a spec is 216 bytes; a million-node mesh
    /// held every one twice).
    pub fn new(network: &Network, specs: Vec<LinkSpec>, seed: u64) -> Links {
        let rings = network
            .sonet_rings
            .iter()
            .map(|r| {
                let latency = r.spans.iter().map(|&l| specs[l].ab.latency).collect();
                SonetRing::new(r.clone(), latency)
            })
            .collect();
        let links: Vec<LinkState> = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let dir = |d: u64, p: &crate::model::ChannelParams| Direction {
                    channel: Channel::new(p.clone()),
                    rng: lazy_stream(seed, StreamKind::Channel, 2 * i as u64 + d),
                    counters: DirCounters::default(),
                    unsampled: false,
                };
                LinkState {
                    dirs: [Some(dir(0, &spec.ab)), spec.ba.as_ref().map(|p| dir(1, p))],
                    spec: LinkEnds::of(&spec),
                    down_holds: 0,
                }
            })
            .collect();
        let wifi = network.wifi.as_ref().map(|w| {
            let positions = network
                .nodes
                .iter()
                .map(|n| n.position.unwrap_or([0.0, 0.0]))
                .collect();
            WifiMedium::new(w.clone(), positions)
        });
        Links {
            links,
            wifi,
            rings,
            access: Vec::new(),
            access_params: None,
            seed,
        }
    }

    /// Gives every node an access link with `params` (the underlay's).
    pub fn set_access(&mut self, params: Option<crate::model::ChannelParams>) {
        self.access_params = params;
    }

    /// Opens a tunnel `spec` (its medium is `Tunnel`); returns its index.
    /// Its directions draw from their own streams, by index, like every link.
    pub fn add_tunnel(&mut self, spec: LinkSpec) -> usize {
        let i = self.links.len();
        let seed = self.seed;
        let dir = |d: u64, p: &crate::model::ChannelParams| Direction {
            channel: Channel::new(p.clone()),
            rng: lazy_stream(seed, StreamKind::Channel, 2 * i as u64 + d),
            counters: DirCounters::default(),
            unsampled: false,
        };
        for node in [spec.a, spec.b] {
            if self.access.len() <= node {
                self.access.resize_with(node + 1, || None);
            }
            if self.access[node].is_none()
                && let Some(p) = &self.access_params
            {
                self.access[node] = Some(Access {
                    channel: Channel::new(p.clone()),
                    rng: lazy_stream(seed, StreamKind::Access, node as u64),
                });
            }
        }
        self.links.push(LinkState {
            dirs: [Some(dir(0, &spec.ab)), spec.ba.as_ref().map(|p| dir(1, p))],
            spec: LinkEnds::of(&spec),
            down_holds: 0,
        });
        i
    }

    /// A tunnel is destroyed: what is in flight on it is lost, and it
    /// carries nothing more.
    pub fn close_tunnel(&mut self, link: usize, now: Time) {
        for d in self.links[link].dirs.iter_mut().flatten() {
            d.channel.set_up(false, now);
        }
        self.links[link].down_holds += 1;
    }

    /// Offers a datagram of `len` bytes to direction `dir` of `link`.
    pub fn transmit(
        &mut self,
        now: Time,
        link: usize,
        dir: usize,
        len: usize,
    ) -> Result<InFlight, DropCause> {
        let l = &mut self.links[link];
        let (from, to) = if dir == 0 {
            (l.spec.a, l.spec.b)
        } else {
            (l.spec.b, l.spec.a)
        };
        let down = l.down_holds > 0;
        let Some(d) = l.dirs[dir].as_mut() else {
            // The missing direction of a one-way link carries nothing.
            return Err(DropCause::Down);
        };
        d.counters_mut().offered += 1;
        d.counters_mut().offered_bytes += len as u64;
        let result = match l.spec.medium {
            Medium::Wifi if down => Err(DropCause::Down),
            Medium::Wifi => {
                let medium = self.wifi.as_mut().expect("wifi links imply a wifi medium");
                let params = d.channel.params().clone();
                medium
                    .send(now, from, to, len, &params, &mut d.rng)
                    .map(|(token, at)| {
                        d.counters_mut().busy_ns += serialization_ns(len, params.bandwidth_bps);
                        let c = d.counters_mut();
                        c.busy_until = c.busy_until.max(at - params.latency);
                        InFlight {
                            at,
                            generation: d.channel.generation(),
                            token: Some(token),
                        }
                    })
            }
            Medium::Tunnel if down => Err(DropCause::Down),
            Medium::Tunnel => {
                // First the sender's access link (shared by its tunnels),
                // then the path.
                let left = match self.access.get_mut(from).and_then(Option::as_mut) {
                    Some(a) => a.channel.send(now, len, &mut a.rng),
                    None => Ok(now),
                };
                left.and_then(|t| d.send(t, len))
            }
            Medium::Wired => d.send(now, len),
            Medium::SonetSpan { ring, span } => {
                self.rings[ring].route(span, now).and_then(|extra| {
                    d.send(now, len).map(|f| InFlight {
                        at: f.at + extra,
                        ..f
                    })
                })
            }
        };
        if let Err(cause) = result {
            d.counters_mut().drops[cause as usize] += 1;
        }
        result
    }

    /// Decides on arrival whether a datagram survived: the link may have gone
    /// down meanwhile, and a wifi frame may have collided.
    pub fn arrive(
        &mut self,
        link: usize,
        dir: usize,
        flight: &InFlight,
        len: usize,
    ) -> Result<(), DropCause> {
        let l = &mut self.links[link];
        let d = l.dirs[dir]
            .as_mut()
            .expect("only existing directions carry datagrams");
        let result = if d.channel.generation() != flight.generation {
            Err(DropCause::Down)
        } else if let Some(token) = flight.token {
            let medium = self.wifi.as_mut().expect("wifi links imply a wifi medium");
            medium.resolve(token)
        } else {
            Ok(())
        };
        match result {
            Ok(()) => {
                d.counters_mut().delivered += 1;
                d.counters_mut().delivered_bytes += len as u64;
            }
            Err(cause) => d.counters_mut().drops[cause as usize] += 1,
        }
        result
    }

    /// Counts a datagram that arrived at a crashed node.
    pub fn drop_at_dead_node(&mut self, link: usize, dir: usize) {
        if let Some(d) = self.links[link].dirs[dir].as_mut() {
            d.counters_mut().drops[DropCause::Down as usize] += 1;
        }
    }

    /// A fault takes the link down (`true`) or releases its hold (`false`).
    /// On a SONET span the fiber is cut and the ring switches to protection.
    pub fn hold_down(&mut self, link: usize, down: bool, now: Time) {
        let l = &mut self.links[link];
        let was_down = l.down_holds > 0;
        l.down_holds = if down {
            l.down_holds + 1
        } else {
            l.down_holds.saturating_sub(1)
        };
        let is_down = l.down_holds > 0;
        if was_down == is_down {
            return;
        }
        match l.spec.medium {
            Medium::SonetSpan { ring, span } => {
                if is_down {
                    self.rings[ring].cut(span, now);
                    // What was on the cut fiber is lost; the span itself is
                    // protected, so its channels stay up.
                    for d in l.dirs.iter_mut().flatten() {
                        d.channel.set_up(false, now);
                        d.channel.set_up(true, now);
                    }
                } else {
                    self.rings[ring].repair(span, now);
                }
            }
            Medium::Wired | Medium::Wifi | Medium::Tunnel => {
                for d in l.dirs.iter_mut().flatten() {
                    d.channel.set_up(!is_down, now);
                }
            }
        }
    }

    /// Whether `link` can carry a session now: both directions exist and
    /// no fault holds it down (a cut SONET span still carries: its ring
    /// switched to protection).
    pub fn carries(&self, link: usize) -> bool {
        let l = &self.links[link];
        l.dirs[1].is_some()
            && (l.down_holds == 0 || matches!(l.spec.medium, Medium::SonetSpan { .. }))
    }

    /// Adds latency to both directions (or removes it with `ZERO`).
    pub fn set_extra_latency(&mut self, link: usize, extra: Duration) {
        for d in self.links[link].dirs.iter_mut().flatten() {
            d.channel.set_extra_latency(extra);
        }
    }

    /// Total airtime of the wifi medium, if there is one.
    pub fn wifi_airtime_ns(&self) -> Option<u64> {
        self.wifi.as_ref().map(|w| w.airtime_ns())
    }
}
