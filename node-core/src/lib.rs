//! The meshsim protocol core: a sans-IO mesh node.
//!
//! This crate holds all protocol logic of a meshsim node and nothing else: no
//! sockets, no threads, no clock, no files and no OS randomness. The same
//! [`Node`] runs inside the deterministic simulator (`sim`) and inside the
//! real UDP node (`meshnode`); only the driver differs.
//!
//! # The calling contract
//!
//! ```
//! # use node_core::*;
//! # let config = Config { suite: SuiteKind::Modeled, ..Config::default() };
//! # let identity = Identity::from_secret(SuiteKind::Modeled, [7; 32]).unwrap();
//! let mut node = Node::new(config, identity, [0; 32]).expect("valid config");
//! let now = Time::ZERO;
//! node.handle_input(now, Input::LinkUp { link: LinkId(1), peer_key: None, mtu: 1400, rate_bps: None });
//! loop {
//!     match node.poll_output(now) {
//!         Output::Transmit { link, bytes } => { /* send `bytes` on `link` */ }
//!         Output::Event(event) => { /* tell the application */ }
//!         Output::OpenTunnel { request, peer, locator } => { /* open it, answer with Input::TunnelOpened */ }
//!         Output::CloseTunnel { link } => { /* destroy the tunnel */ }
//!         Output::WantPeers { count } => { /* offer candidates with Input::PeersOffered, or not */ }
//!         Output::Timeout(at) => { /* wake up at `at` with Input::Timeout */ break }
//!     }
//! }
//! ```
//!
//! - After **every** input, call [`Node::poll_output`] until it returns
//!   [`Output::Timeout`]. Transmissions and events are only produced there.
//! - Time is the driver's: [`Time`] is nanoseconds from an origin the driver
//!   chooses, and must never go backwards between calls.
//! - When the deadline of the last `Timeout` has passed, give
//!   [`Input::Timeout`]. Waking early or late is harmless; a late wake-up only
//!   delays what was due. [`Node::last_timeout_reason`] says which link timer
//!   asked for the wake-up.
//! - All randomness comes from a ChaCha20 RNG seeded by the driver, so a node
//!   is a pure function of its config, identity, seed and inputs.
//!
//! # Links
//!
//! Links are opaque [`LinkId`]s chosen by the driver. On [`Input::LinkUp`] the
//! node runs a handshake (ephemeral secp256k1 ECDH proving both static keys),
//! then protects every datagram with ChaCha20-Poly1305 under keys that rotate
//! about every second by a ratchet. Datagrams are acknowledged; lost frames
//! are retransmitted; a link that stays silent is declared dead. Service
//! messages ([`Node::send`]) arrive as [`Event::Message`] exactly once and in
//! order per channel. Realtime messages always go before bulk ones.
//!
//! # Bad input and panics
//!
//! Any byte string given as a datagram is either accepted or dropped and
//! counted in [`LinkStats::drops`]; it never panics and never disturbs a
//! working session. A panic in this crate is a bug. The few `expect`s state
//! why they cannot fail.
//!
//! # Crypto suites
//!
//! [`SuiteKind::Real`] is the default and the only suite a real node runs.
//! [`SuiteKind::Modeled`] keeps sizes and state machines but replaces the
//! cryptography with cheap stand-ins for very large simulations; every
//! [`NodeStats`] names the suite that produced it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod churn;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod discovery;
mod dispatch;
pub mod identity;
pub mod interface;
pub mod lazy_rng;
pub mod link;
pub mod neighbours;
mod node;
pub mod pay;
pub mod range_set;
pub mod route;
pub mod sets;
pub mod stats;
pub mod time;
mod timers;
pub mod tunnels;
pub mod vec_map;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{Config, ConfigError, IncomingTunnels};
pub use connection::{
    ConnectionCloseReason, ConnectionHandle, ConnectionInfo, ConnectionState, ReopenPolicy,
};
pub use crypto::SuiteKind;
pub use discovery::find::{Destination, Metric, NoPath};
pub use discovery::flood::{DiscoveryConfig, DiscoveryStats};
pub use discovery::paths::Disjoint;
pub use identity::{Address, Identity, PublicKey};
pub use interface::{
    CONTROL_CHANNEL, CloseReason, Command, CommandError, Event, Input, LinkId, Locator, Output,
    RouteCloseReason, RouteFailure, RouteHandle, TunnelFailure, TunnelRequest,
};
pub use link::{LinkState, LinkTimer};
pub use neighbours::{NeighbourInfo, NeighbourLink};
pub use node::{LinkInfo, Node, TimeoutReason};
pub use route::{PayStats, RouteInfo, RouteKind, RouteTimer};
pub use sets::{SetConfig, SetInfo, SetMode, SetRouteInfo, SetSpec, SetStats};
pub use stats::{DropStats, LinkStats, NodeStats};
pub use time::{Duration, Time};
pub use wire::{Class, RouteId};
