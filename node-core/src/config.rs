//! Node configuration, validated once in `Node::new`.

use crate::crypto::SuiteKind;
use crate::time::Duration;

/// Everything a node can be tuned with. `Config::default()` is a sensible
/// node for a LAN or a simulated wifi mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Which crypto suite protects links. The real node refuses `Modeled`.
    pub suite: SuiteKind,
    /// Interval between link key rotations; the effective interval is
    /// `max(rekey_interval, 2 x smoothed RTT)`.
    pub rekey_interval: Duration,
    /// The oldest a session's keys may get: a session whose keys were not
    /// rotated for this long (a peer that stopped answering or asking for
    /// rotations) is replaced by a new handshake. At least four
    /// `rekey_interval`s.
    pub max_key_age: Duration,
    /// How long the previous key still opens packets after a switch (packets
    /// already in flight). The effective grace is at least 3 x RTO.
    pub key_grace: Duration,
    /// Plaintext of sealed packets is padded to a multiple of this (16 or 32).
    pub padding: usize,
    /// A link from which nothing authenticated arrives for this long is dead.
    pub dead_interval: Duration,
    /// Send a PING if nothing ack-eliciting was sent for this long.
    pub keepalive_interval: Duration,
    /// First retry of an unanswered handshake; doubles up to `handshake_max_retry`.
    pub handshake_retry: Duration,
    /// Upper bound of the handshake retry interval.
    pub handshake_max_retry: Duration,
    /// RTT assumed before the first sample.
    pub initial_rtt: Duration,
    /// Lower bound of the retransmission timeout.
    pub min_rto: Duration,
    /// Upper bound of the retransmission timeout (after backoff).
    pub max_rto: Duration,
    /// A packet is lost once this many later packets were acknowledged.
    pub packet_threshold: u64,
    /// Acknowledge at once after this many ack-eliciting packets.
    pub ack_every: u32,
    /// Otherwise acknowledge at most this long after an ack-eliciting packet.
    pub max_ack_delay: Duration,
    /// Per class, bytes of service messages that may be outstanding on a link
    /// (sent but not yet acknowledged up to the oldest unacknowledged byte).
    /// This bounds what the peer must buffer to deliver in order.
    pub link_window: usize,
    /// The largest service message accepted for sending or receiving, on a
    /// link or a route (a route's own limit may be lower: what fits its
    /// buffer, see [`Config::route_max_message`]). What a peer can make a
    /// node hold grows with it (a message under reassembly per link class),
    /// so the default is 1 MiB: applications cut larger data into messages,
    /// as `meshnode` cuts files into 64 KiB pieces.
    pub max_message_size: usize,
    /// Bytes of service messages that may wait on a link for sending.
    pub max_send_backlog: usize,
    /// How routes carry data: hop-by-hop store-and-forward, or the
    /// end-to-end baseline.
    pub route_mode: RouteMode,
    /// Store-and-forward buffer of each route direction at each hop (the
    /// credit a hop grants its upstream).
    pub route_buffer: usize,
    /// Credit a new hop grants its creator until the origin extends the
    /// route through it or ends it there (then it grows to `route_buffer`,
    /// as far as the pools below allow). Never more than `route_buffer`.
    pub route_initial_credit: usize,
    /// Bytes of credit (buffers a neighbour may fill, and route entries at
    /// `route::ENTRY_COST` each) that all neighbours together may hold at
    /// this node.
    pub route_credit_pool: usize,
    /// The part of that pool one neighbour may hold: what a hostile
    /// neighbour can make this node keep for its routes.
    pub route_credit_per_neighbour: usize,
    /// Route entries this node keeps for others, at most.
    pub max_route_entries: usize,
    /// Route entries one neighbour may create here, at most.
    pub max_route_entries_per_neighbour: usize,
    /// CREATEs per second one neighbour may send (each costs key
    /// agreements); a burst of `route_create_burst` more is allowed.
    pub route_create_rate: u32,
    /// See `route_create_rate`.
    pub route_create_burst: u32,
    /// Hops a route may have: a hop forwards at most this many control
    /// messages from the origin (one per extension beyond it, and the
    /// BEGIN), as Tor bounds RELAY_EARLY cells. A path that loops through
    /// k nodes carries the origin's bytes at most `max_path_len / k` times
    /// over one link (a hop refuses to turn straight back, so k >= 3). The
    /// default, 32, admits the 31-hop benchmark chain; lower it where paths
    /// are short.
    pub max_path_len: usize,
    /// A route not built within this time fails.
    pub route_setup_timeout: Duration,
    /// A route entry with no traffic for this long is torn down (at every
    /// hop: state left behind by an end that vanished is freed).
    pub route_idle_timeout: Duration,
    /// End-to-end mode: the drop-tail queue of route frames per link, bytes.
    pub relay_queue: usize,
    /// End-to-end mode: the source's segment size.
    pub e2e_mss: usize,
    /// Which tunnels other nodes may open to this one.
    pub incoming_tunnels: IncomingTunnels,
    /// Tunnels this node keeps at most, both ways together (requests still
    /// waiting count): a bound no peer can push past.
    pub max_tunnels: usize,
    /// How connections replace broken routes.
    pub reopen: crate::connection::ReopenPolicy,
    /// Link-state adverts and the topology database (`None`: the node runs
    /// no discovery; paths come from the application).
    pub discovery: Option<crate::discovery::flood::DiscoveryConfig>,
    /// Route sets (connections over several routes).
    pub sets: crate::sets::SetConfig,
    /// The re6st-style tunnel manager (`None`: the node opens no tunnels
    /// of its own). It draws peers from the topology database (with
    /// `discovery`) and from candidates the driver offers
    /// (`Output::WantPeers`).
    pub churn: Option<crate::churn::ChurnConfig>,
    /// Payments (issue 15): this node's terms as a relay and how it pays
    /// as an origin. By default it relays for free (and pays relays that
    /// ask, at their price).
    pub pay: crate::pay::PayConfig,
}

/// Which tunnels a node accepts from others (`Input::IncomingTunnel`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IncomingTunnels {
    /// None: every incoming tunnel is closed at once.
    Refuse,
    /// Any peer that completes a handshake (open peering).
    #[default]
    Any,
    /// Only peers that prove one of these keys; others are closed as soon
    /// as their handshake shows who they are.
    Keys(Vec<crate::identity::PublicKey>),
}

/// How routes carry data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteMode {
    /// Every hop keeps data until the next hop acknowledged it, sends only
    /// within the next hop's credit, and retransmits what its link lost.
    #[default]
    StoreAndForward,
    /// The baseline: relays forward best-effort through a drop-tail queue;
    /// the source runs TCP-Reno-like reliability.
    EndToEnd,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            suite: SuiteKind::Real,
            rekey_interval: Duration::from_secs(1),
            max_key_age: Duration::from_secs(120),
            key_grace: Duration::from_secs(1),
            padding: 16,
            dead_interval: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(2),
            handshake_retry: Duration::from_millis(500),
            handshake_max_retry: Duration::from_secs(8),
            initial_rtt: Duration::from_millis(100),
            min_rto: Duration::from_millis(20),
            max_rto: Duration::from_secs(10),
            packet_threshold: 3,
            ack_every: 2,
            max_ack_delay: Duration::from_millis(10),
            link_window: 1 << 20,
            max_message_size: 1 << 20,
            max_send_backlog: 64 << 20,
            route_mode: RouteMode::StoreAndForward,
            route_buffer: 1 << 20,
            route_initial_credit: 64 << 10,
            route_credit_pool: 256 << 20,
            route_credit_per_neighbour: 8 << 20,
            max_route_entries: 16384,
            max_route_entries_per_neighbour: 1024,
            route_create_rate: 200,
            route_create_burst: 64,
            max_path_len: 32,
            route_setup_timeout: Duration::from_secs(5),
            route_idle_timeout: Duration::from_secs(120),
            relay_queue: 64 << 10,
            e2e_mss: 1200,
            incoming_tunnels: IncomingTunnels::Any,
            max_tunnels: 256,
            reopen: crate::connection::ReopenPolicy::default(),
            discovery: None,
            sets: crate::sets::SetConfig::default(),
            churn: None,
            pay: crate::pay::PayConfig::default(),
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Padding must be 16 or 32 bytes.
    #[error("padding must be 16 or 32, not {0}")]
    Padding(usize),
    /// A duration that must be positive is zero.
    #[error("{0} must be greater than zero")]
    ZeroDuration(&'static str),
    /// Two settings contradict each other.
    #[error("{0}")]
    Inconsistent(&'static str),
    /// The identity was made for another crypto suite than the config's.
    #[error("identity was made for the {identity} suite but the config selects {config}")]
    SuiteMismatch {
        /// The identity's suite.
        identity: SuiteKind,
        /// The config's suite.
        config: SuiteKind,
    },
    /// A link's MTU leaves no room for a frame.
    #[error("mtu {0} is too small (at least {min})", min = crate::link::MIN_MTU)]
    Mtu(usize),
}

impl Config {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.padding != 16 && self.padding != 32 {
            return Err(ConfigError::Padding(self.padding));
        }
        for (name, d) in [
            ("rekey_interval", self.rekey_interval),
            ("dead_interval", self.dead_interval),
            ("keepalive_interval", self.keepalive_interval),
            ("handshake_retry", self.handshake_retry),
            ("initial_rtt", self.initial_rtt),
            ("min_rto", self.min_rto),
            ("max_ack_delay", self.max_ack_delay),
        ] {
            if d == Duration::ZERO {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if self.max_key_age < self.rekey_interval.saturating_mul(4) {
            return Err(ConfigError::Inconsistent(
                "max_key_age must be at least four rekey_intervals",
            ));
        }
        if self.keepalive_interval >= self.dead_interval {
            return Err(ConfigError::Inconsistent(
                "keepalive_interval must be shorter than dead_interval",
            ));
        }
        if self.min_rto > self.max_rto {
            return Err(ConfigError::Inconsistent("min_rto must not exceed max_rto"));
        }
        if self.handshake_retry > self.handshake_max_retry {
            return Err(ConfigError::Inconsistent(
                "handshake_retry must not exceed handshake_max_retry",
            ));
        }
        if self.packet_threshold == 0 || self.ack_every == 0 {
            return Err(ConfigError::Inconsistent(
                "packet_threshold and ack_every must be at least 1",
            ));
        }
        if self.link_window == 0 || self.max_message_size == 0 {
            return Err(ConfigError::Inconsistent(
                "link_window and max_message_size must be at least 1 byte",
            ));
        }
        if self.route_buffer < 2 * 18 + 4 + 16384 {
            return Err(ConfigError::Inconsistent(
                "route_buffer must hold at least one whole record (16 KiB + overhead)",
            ));
        }
        let record = crate::route::endpoint::stream_len(0) + crate::route::crypto::MAX_RECORD;
        if self.route_initial_credit < record {
            return Err(ConfigError::Inconsistent(
                "route_initial_credit must hold a whole record (16 KiB + overhead)",
            ));
        }
        if self.route_credit_per_neighbour > self.route_credit_pool
            || self.max_route_entries_per_neighbour > self.max_route_entries
            || self.route_create_rate == 0
            || self.max_path_len == 0
        {
            return Err(ConfigError::Inconsistent(
                "per-neighbour route limits must not exceed the node's, and route_create_rate and max_path_len must be at least 1",
            ));
        }
        if self.e2e_mss < 64 || self.relay_queue == 0 {
            return Err(ConfigError::Inconsistent(
                "e2e_mss must be at least 64 and relay_queue positive",
            ));
        }
        if self.reopen.max_attempts > 0
            && (self.reopen.delay == Duration::ZERO || self.reopen.delay > self.reopen.max_delay)
        {
            return Err(ConfigError::Inconsistent(
                "reopen.delay must be positive and at most reopen.max_delay",
            ));
        }
        if let Some(d) = &self.discovery {
            d.check().map_err(ConfigError::Inconsistent)?;
        }
        if let Some(c) = &self.churn {
            c.check().map_err(ConfigError::Inconsistent)?;
        }
        let sets = &self.sets;
        if sets.window == 0
            || sets.window > sets.reorder_limit
            || sets.detect_rtts == 0
            || sets.min_detect > sets.max_detect
            || sets.probe_interval == Duration::ZERO
            || sets.max_members == 0
        {
            return Err(ConfigError::Inconsistent(
                "sets: window positive and at most reorder_limit, detect_rtts and probe_interval positive, min_detect at most max_detect, max_members at least 1",
            ));
        }
        if self.max_message_size > u32::MAX as usize {
            return Err(ConfigError::Inconsistent(
                "max_message_size must fit the 32-bit message length",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_mistakes_are_named() {
        assert_eq!(Config::default().validate(), Ok(()));
        let c = Config {
            padding: 24,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Padding(24)));
        let c = Config {
            min_rto: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroDuration("min_rto")));
        let c = Config {
            keepalive_interval: Duration::from_secs(20),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
