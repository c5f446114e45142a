//! The route-set layer's public types: modes, settings, counters and the
//! snapshots status displays read.

use crate::identity::Address;
use crate::interface::RouteHandle;
use crate::time::Duration;

/// How a route set uses its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetMode {
    /// One route carries traffic, the others stand by.
    Failover,
    /// Traffic is striped over every route.
    Aggregate,
    /// Failover whose active route follows the one-way latency pulses
    /// (`discovery::pulse`): the direct path to the destination, or the
    /// relay the pulses advise while the direct one is anomalous. The
    /// destination must be in the pulse group.
    Steered,
}

/// What the application asks of a route set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetSpec {
    /// Routes to keep (1 ..= [`SetConfig::max_members`]).
    pub count: usize,
    /// How they are used.
    pub mode: SetMode,
}

/// Settings of route sets (`Config::sets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetConfig {
    /// Bytes of messages a set's sender keeps until they are confirmed:
    /// what the application can queue, and at most what a receiver holds
    /// out of order. Not above the receivers' `reorder_limit`.
    pub window: usize,
    /// Bytes a receiving set holds out of order, at most.
    pub reorder_limit: usize,
    /// Bytes all of a node's sets hold out of order, at most (a set past
    /// it drops what it cannot hold, counted as `overflow`).
    pub reorder_budget: usize,
    /// Smoothed RTTs without end-to-end progress before a route is
    /// suspected.
    pub detect_rtts: u32,
    /// The least time without progress before a route is suspected.
    pub min_detect: Duration,
    /// The most (a route with a huge RTT is still suspected within this).
    pub max_detect: Duration,
    /// RTT assumed before a route measured one.
    pub initial_rtt: Duration,
    /// An idle route is probed this often.
    pub probe_interval: Duration,
    /// The links of a failed route are avoided this long when building
    /// its replacement.
    pub avoid_for: Duration,
    /// A receiving set with no route closes after this long.
    pub linger: Duration,
    /// Receiving sets held, at most.
    pub max_inbound: usize,
    /// Routes per set, at most (either end).
    pub max_members: usize,
    /// The least a route may carry unconfirmed, whatever it measured
    /// (what it carries beyond twice its delivery in its least RTT only
    /// queues, and is sent again if the route is lost).
    pub min_unconfirmed: usize,
    /// How an origin rebuilds after failed builds (the first replacement
    /// of a route that worked is built at once): waits, and the builds in
    /// a row with no route left before the set closes.
    pub rebuild: crate::connection::ReopenPolicy,
}

impl Default for SetConfig {
    fn default() -> Self {
        SetConfig {
            window: 1 << 20,
            reorder_limit: 4 << 20,
            reorder_budget: 64 << 20,
            detect_rtts: 4,
            min_detect: Duration::from_millis(20),
            max_detect: Duration::from_secs(3),
            initial_rtt: Duration::from_millis(200),
            probe_interval: Duration::from_millis(250),
            avoid_for: Duration::from_secs(15),
            linger: Duration::from_secs(30),
            max_inbound: 1024,
            max_members: 8,
            min_unconfirmed: 64 * 1024,
            rebuild: crate::connection::ReopenPolicy::default(),
        }
    }
}

/// What a route set did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SetStats {
    /// Routes opened (the first ones and replacements).
    pub routes_built: u64,
    /// Routes that came up.
    pub routes_up: u64,
    /// Routes suspected by the failure detector (and closed).
    pub suspected: u64,
    /// Times traffic moved from a lost active route to a standby.
    pub switches: u64,
    /// Messages sent again after the route that carried them was lost,
    /// and their bytes.
    pub resent_messages: u64,
    /// Bytes of those.
    pub resent_bytes: u64,
    /// Probes sent.
    pub probes: u64,
    /// Payload bytes the other end confirmed.
    pub confirmed_bytes: u64,
    /// Messages delivered to the application, and their bytes.
    pub delivered_messages: u64,
    /// Bytes of those.
    pub delivered_bytes: u64,
    /// Messages on the set's routes that were not set messages.
    pub malformed: u64,
    /// Routes a hop said it drains (`Event::RouteDraining`).
    pub drain_notices: u64,
    /// Of those, routes closed after their traffic moved to a replacement
    /// (make before break); the others broke first, or are draining.
    pub drained_routes: u64,
}

/// One route of a set, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRouteInfo {
    /// The route.
    pub route: RouteHandle,
    /// Its hops (empty at the receiving end).
    pub path: Vec<Address>,
    /// Built end to end.
    pub up: bool,
    /// Whether it carries the traffic (failover).
    pub active: bool,
    /// Smoothed time from sending to end-to-end confirmation.
    pub srtt: Option<Duration>,
    /// Delivery rate measured, bits/s.
    pub rate_bps: u64,
    /// Bytes on it not yet confirmed.
    pub unconfirmed: usize,
}

/// A route set, for status displays and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInfo {
    /// How it uses its routes.
    pub mode: SetMode,
    /// Routes it keeps (the origin's count; the receiving end: what came).
    pub count: usize,
    /// Its routes.
    pub routes: Vec<SetRouteInfo>,
    /// Bytes in the sender's store (not yet confirmed).
    pub stored: usize,
    /// Bytes the receiver holds out of order now, and at most so far.
    pub reorder_held: usize,
    /// The most held so far.
    pub reorder_max: usize,
    /// Copies the receiver dropped.
    pub duplicates: u64,
    /// Counters.
    pub stats: SetStats,
}
