//! What a route entry is at this node, with the state only that role has.
//!
//! An origin holds what it needs to build its route and then the route's
//! end-to-end state; a hop holds its keys with the origin, the CREATE that
//! made it and, while it extends the route, the extension; a destination
//! is a hop with end-to-end state. The type says which fields exist, so no
//! code path can, say, give a relay an endpoint.

use std::collections::BTreeSet;

use super::crypto::{HopInitiation, HopKeys};
use super::endpoint::{Receiver, Sender};
use super::reno::RenoSender;
use crate::crypto::Key;
use crate::identity::Address;
use crate::time::Time;
use crate::wire::RouteId;

/// A route entry's role, with its state.
pub(super) enum Role {
    /// This node opened the route.
    Origin(Box<Origin>),
    /// A hop the origin created and has not yet told whether it relays or
    /// ends the route.
    Hop(Box<Hop>),
    /// A hop that extended the route to a next hop.
    Relay(Box<Hop>),
    /// The route ends here.
    Destination(Box<Hop>, Box<Endpoint>),
}

/// The role's name, for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleKind {
    Origin,
    Hop,
    Relay,
    Destination,
}

/// The origin's state.
pub(super) struct Origin {
    pub phase: OriginPhase,
    /// The nonces of backward control messages taken (random, so a set):
    /// a control message a lost link ack brings twice acts once.
    pub back_nonces_seen: BTreeSet<u64>,
    /// Once up: the path and each hop's keys, kept from the construction
    /// so that a hop can still speak to the origin (a drain notice).
    pub path: Vec<Address>,
    pub hops: Vec<HopKeys>,
    /// Links of the path whose drain was told (each said once: a repeat,
    /// or a flood, changes nothing; at most one per link of the path).
    pub draining: Vec<(Address, Address)>,
    /// Once up: the next forward control nonce (payment messages go on
    /// numbering where the construction stopped: one key, one sequence).
    pub ctrl_nonce: u64,
    /// Payments (issue 15): from the first relay's PRICE on.
    pub pay: Option<Box<super::pay::OriginPay>>,
}

/// Where the origin's route is.
pub(super) enum OriginPhase {
    /// Being built, hop by hop.
    Building(Box<Building>),
    /// Built end to end.
    Up(Box<Endpoint>),
}

/// A hop's state (relay or destination).
pub(super) struct Hop {
    /// This hop's keys with the origin.
    pub keys: HopKeys,
    /// Extending the route to a next hop (until it answers).
    pub extending: Option<Extending>,
    /// The highest forward control nonce taken (the origin counts up).
    pub fwd_nonce_seen: Option<u64>,
    /// The CREATED it answered with, for a repeated CREATE.
    pub created: Vec<u8>,
    /// The CREATE that made it (its key in `Routes::created_by`).
    pub created_key: (Address, RouteId),
    /// Whether it was asked for a segment (answered once per route).
    pub segment_asked: bool,
}

/// The origin's view of its route under construction.
pub(super) struct Building {
    pub path: Vec<Address>,
    /// Keys shared with each hop built so far.
    pub hops: Vec<HopKeys>,
    /// The hop being added.
    pub pending: Option<HopInitiation>,
    pub deadline: Time,
    pub ctrl_nonce: u64,
    /// n-order meshes: the destination and its mesh when `path` ends at a
    /// border node short of it (the border node is asked for the way on).
    pub segment: Option<(Address, u16)>,
    /// A SEGMENT is out to the last hop, unanswered.
    pub segment_pending: bool,
    /// SEGMENTs answered so far (bounded by `MAX_SEGMENTS`).
    pub segments: u8,
}

/// A hop extending the route: waiting for its link to the next hop (still
/// handshaking), then for the next hop's answer.
pub(super) struct Extending {
    pub next: Address,
    pub eph_pub: [u8; 33],
    /// Once CREATE went out: the link and the id the answer comes back on.
    pub sent: Option<(Address, RouteId)>,
    pub deadline: Time,
}

/// The end-to-end state of an endpoint.
pub(super) struct Endpoint {
    pub tx: Sender,
    pub rx: Receiver,
    /// Seals acknowledgements we send; opens those we receive.
    pub ack_tx: Key,
    pub ack_rx: Key,
    pub ack_nonce: u64,
    /// Stream bytes of the incoming direction consumed and acknowledged.
    pub consumed: u64,
    pub acked: u64,
    pub ack_due: Option<Time>,
    /// Outgoing datagrams (end-to-end mode, datagram kind).
    pub datagram_key: Key,
    pub datagram_peer_key: Key,
    pub datagram_seq: u64,
    /// End-to-end mode: the source's reliability.
    pub reno: Option<RenoSender>,
    /// Highest delivery the destination confirmed.
    pub confirmed: u64,
}

impl Role {
    /// A new origin, building along `building.path`.
    pub fn origin(building: Building) -> Role {
        Role::Origin(Box::new(Origin {
            phase: OriginPhase::Building(Box::new(building)),
            back_nonces_seen: BTreeSet::new(),
            path: Vec::new(),
            hops: Vec::new(),
            draining: Vec::new(),
            ctrl_nonce: 0,
            pay: None,
        }))
    }

    pub fn kind(&self) -> RoleKind {
        match self {
            Role::Origin(_) => RoleKind::Origin,
            Role::Hop(_) => RoleKind::Hop,
            Role::Relay(_) => RoleKind::Relay,
            Role::Destination(..) => RoleKind::Destination,
        }
    }

    /// An end of the route (origin or destination).
    pub fn is_end(&self) -> bool {
        matches!(self, Role::Origin(_) | Role::Destination(..))
    }

    /// The origin's construction state, while it builds.
    pub fn building(&self) -> Option<&Building> {
        match self {
            Role::Origin(o) => match &o.phase {
                OriginPhase::Building(b) => Some(b),
                OriginPhase::Up(_) => None,
            },
            _ => None,
        }
    }

    pub fn building_mut(&mut self) -> Option<&mut Building> {
        match self {
            Role::Origin(o) => match &mut o.phase {
                OriginPhase::Building(b) => Some(b),
                OriginPhase::Up(_) => None,
            },
            _ => None,
        }
    }

    /// The end-to-end state of an end whose route is up.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            Role::Origin(o) => match &o.phase {
                OriginPhase::Up(e) => Some(e),
                OriginPhase::Building(_) => None,
            },
            Role::Destination(_, e) => Some(e),
            _ => None,
        }
    }

    pub fn endpoint_mut(&mut self) -> Option<&mut Endpoint> {
        match self {
            Role::Origin(o) => match &mut o.phase {
                OriginPhase::Up(e) => Some(e),
                OriginPhase::Building(_) => None,
            },
            Role::Destination(_, e) => Some(e),
            _ => None,
        }
    }

    /// A hop's state (any role but the origin).
    pub fn hop(&self) -> Option<&Hop> {
        match self {
            Role::Hop(h) | Role::Relay(h) | Role::Destination(h, _) => Some(h),
            Role::Origin(_) => None,
        }
    }

    pub fn hop_mut(&mut self) -> Option<&mut Hop> {
        match self {
            Role::Hop(h) | Role::Relay(h) | Role::Destination(h, _) => Some(h),
            Role::Origin(_) => None,
        }
    }

    /// The extension a hop is making, if any.
    pub fn extending(&self) -> Option<&Extending> {
        self.hop().and_then(|h| h.extending.as_ref())
    }

    pub fn extending_mut(&mut self) -> Option<&mut Extending> {
        self.hop_mut().and_then(|h| h.extending.as_mut())
    }

    /// A hop that extended the route becomes a relay.
    pub fn become_relay(&mut self) {
        if let Role::Hop(_) = self {
            let Role::Hop(h) = std::mem::replace(self, Role::placeholder()) else {
                unreachable!("matched above")
            };
            *self = Role::Relay(h);
        }
    }

    /// A hop told it ends the route becomes the destination.
    pub fn become_destination(&mut self, endpoint: Endpoint) {
        if let Role::Hop(_) = self {
            let Role::Hop(h) = std::mem::replace(self, Role::placeholder()) else {
                unreachable!("matched above")
            };
            *self = Role::Destination(h, Box::new(endpoint));
        }
    }

    /// The origin's route is built: its end-to-end state replaces the
    /// construction state.
    pub fn origin_up(&mut self, endpoint: Endpoint) {
        if let Role::Origin(o) = self {
            let built = std::mem::replace(&mut o.phase, OriginPhase::Up(Box::new(endpoint)));
            if let OriginPhase::Building(b) = built {
                o.path = b.path;
                o.hops = b.hops;
                o.ctrl_nonce = b.ctrl_nonce;
            }
        }
    }

    /// A value to stand in for a moment while a role changes.
    fn placeholder() -> Role {
        Role::Origin(Box::new(Origin {
            phase: OriginPhase::Building(Box::new(Building {
                path: Vec::new(),
                hops: Vec::new(),
                pending: None,
                deadline: Time::NEVER,
                ctrl_nonce: 0,
                segment: None,
                segment_pending: false,
                segments: 0,
            })),
            back_nonces_seen: BTreeSet::new(),
            path: Vec::new(),
            hops: Vec::new(),
            draining: Vec::new(),
            ctrl_nonce: 0,
            pay: None,
        }))
    }
}
