//! The node's configuration file (JSON): what `meshnode run --config` reads.
//!
//! ```json
//! {
//!   "key_file": "a.key",
//!   "listen": "127.0.0.1:7001",
//!   "peers": [ { "address": "127.0.0.1:7002", "public_key": "02ab..." } ],
//!   "open_peering": false,
//!   "route_buffer": "1MiB",
//!   "rekey_interval": "1s",
//!   "dead_interval": "10s",
//!   "reopen_delay": "200ms",
//!   "reopen_max_delay": "3s",
//!   "reopen_max_attempts": 20,
//!   "mtu": 1200,
//!   "control": "a.sock",
//!   "recv_dir": "inbox",
//!   "max_incoming_transfers": 16,
//!   "max_incoming_bytes": "4GiB",
//!   "resume_window": "15m",
//!   "log_level": "info",
//!   "suite": "real",
//!   "discovery": { "refresh": "30s", "lifetime": "2m", "hold_down": "50ms", "gateway": "100Mbps" },
//!   "pay": { "price_per_mb": 20000, "credit": 200000, "escrow": false }
//! }
//! ```
//! Only `key_file` and `listen` are required. Relative paths are relative to
//! the configuration file's directory. Unknown fields are errors, and every
//! error names the field.
//!
//! `discovery` runs node-core's link-state discovery: the node signs and
//! floods adverts of its links and keeps a topology database, so that
//! `connect` can name a destination (`to`) instead of a path. `true` takes
//! the defaults; an object may set `refresh` (a fresh advert at least this
//! often, at least 1 s), `lifetime` (how long an advert lives, at least
//! twice `refresh`, at most a day), `hold_down` (the wait after a link
//! change before the new advert) and `gateway` (the clearnet capacity this
//! node offers as a gateway: bits/s, or a rate like `"100Mbps"`; absent or
//! 0: not a gateway). Absent or `false`: no discovery. The driver adds what
//! only it knows when the node starts ([`crate::driver`]): the listen
//! address as the node's locator (when it is a specific address) and a
//! first sequence number from the wall clock, so a restarted node's adverts
//! are newer than its earlier run's.
//!
//! `pay` makes the node a paying relay (its price and credit) and/or the
//! escrow (see [`pay`]); as an origin it always pays relays that ask.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use node_core::{Duration, PublicKey, SuiteKind};
use serde::Deserialize;

use crate::log::Level;
use crate::transfer::IncomingLimits;

mod discovery;
mod pay;

/// A peer the node keeps a link to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Where it listens.
    pub address: SocketAddr,
    /// The static key it must prove.
    pub public_key: PublicKey,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The secret key file.
    pub key_file: PathBuf,
    /// The UDP address to bind (IPv4 or IPv6; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Configured peers: each becomes a link at start.
    pub peers: Vec<Peer>,
    /// Accept a link from any sender that proves some key, not only the
    /// configured peers' keys.
    pub open_peering: bool,
    /// The largest datagram sent, bytes.
    pub mtu: usize,
    /// The local control endpoint (a Unix socket).
    pub control: PathBuf,
    /// Where incoming transfers are written, until `meshnode recv` says otherwise.
    pub recv_dir: Option<PathBuf>,
    /// Caps on incoming files being written at once: how many, and the
    /// bytes they announce together; how long one whose route broke is
    /// held for a new route.
    pub incoming: IncomingLimits,
    /// Log verbosity.
    pub log_level: Level,
    /// node-core's settings.
    pub core: node_core::Config,
}

/// Why a configuration cannot be used. The message names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON does not fit the schema, or a value is invalid.
    #[error("config {path}: {field}: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The field path, e.g. `peers[1].public_key`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    address: String,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    key_file: String,
    listen: String,
    #[serde(default)]
    peers: Vec<RawPeer>,
    #[serde(default)]
    open_peering: bool,
    route_buffer: Option<SizeValue>,
    rekey_interval: Option<String>,
    dead_interval: Option<String>,
    reopen_delay: Option<String>,
    reopen_max_delay: Option<String>,
    reopen_max_attempts: Option<u32>,
    mtu: Option<usize>,
    control: Option<String>,
    recv_dir: Option<String>,
    max_incoming_transfers: Option<usize>,
    max_incoming_bytes: Option<SizeValue>,
    resume_window: Option<String>,
    log_level: Option<String>,
    suite: Option<String>,
    discovery: Option<serde_json::Value>,
    pay: Option<serde_json::Value>,
}

/// Parses a duration: a number with `us`, `ms`, `s` or `m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let ns = match unit.trim() {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        _ => return None,
    } * v;
    (0.0..1e18)
        .contains(&ns)
        .then(|| Duration::from_nanos(ns as u64))
}

/// A number and the unit after it (`"1.5MiB"` -> `(1.5, "MiB")`), and
/// the whole value in base units once the unit's multiple is known:
/// `None` for an unknown unit (`mult` says so) or a value out of range.
fn scaled(s: &str, mult: impl Fn(&str) -> Option<f64>) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let b = v * mult(unit.trim())?;
    (0.0..1e18).contains(&b).then_some(b as u64)
}

/// Parses a size: bytes as a number, or a number with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(s: &str) -> Option<u64> {
    scaled(s, |unit| {
        Some(match unit {
            "" | "B" => 1.0,
            "KB" | "kB" => 1e3,
            "KiB" => 1024.0,
            "MB" => 1e6,
            "MiB" => 1048576.0,
            "GB" => 1e9,
            "GiB" => 1073741824.0,
            _ => return None,
        })
    })
}

/// Parses a rate in bits/s: a number, or a number with `bps`, `kbps`,
/// `Mbps` or `Gbps` (decimal multiples).
pub fn parse_rate(s: &str) -> Option<u64> {
    scaled(s, |unit| {
        Some(match unit {
            "" | "bps" => 1.0,
            "kbps" | "Kbps" => 1e3,
            "Mbps" => 1e6,
            "Gbps" => 1e9,
            _ => return None,
        })
    })
}

impl NodeConfig {
    /// Reads and validates the configuration at `path`.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates configuration `text` read from `path` (relative paths are
    /// taken from `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigFileError> {
        let field = |field: &str, message: String| ConfigFileError::Field {
            path: path.to_owned(),
            field: field.to_owned(),
            message,
        };
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let p = e.path().to_string();
            let p = if p == "." {
                "(top level)".to_owned()
            } else {
                p
            };
            field(&p, e.into_inner().to_string())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rel = |p: &str| base.join(p);

        if let Some(s) = &raw.suite {
            match s.as_str() {
                "real" => {}
                "modeled" => {
                    return Err(field(
                        "suite",
                        "the modeled crypto suite is for simulations only; a real node runs \"real\""
                            .into(),
                    ));
                }
                other => return Err(field("suite", format!("unknown suite {other:?}"))),
            }
        }
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            field(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:7001", raw.listen),
            )
        })?;
        let mut peers = Vec::new();
        for (i, p) in raw.peers.iter().enumerate() {
            let address: SocketAddr = p.address.parse().map_err(|_| {
                field(
                    &format!("peers[{i}].address"),
                    format!("{:?} is not an address like 127.0.0.1:7002", p.address),
                )
            })?;
            if address.is_ipv6() && listen.is_ipv4() {
                return Err(field(
                    &format!("peers[{i}].address"),
                    "an IPv6 peer needs an IPv6 listen address".into(),
                ));
            }
            let key = crate::hex::decode::<33>(&p.public_key)
                .map(PublicKey)
                .filter(valid_point)
                .ok_or_else(|| {
                    field(
                        &format!("peers[{i}].public_key"),
                        "not a public key (66 hex digits, as printed by meshnode keygen)".into(),
                    )
                })?;
            if peers.iter().any(|q: &Peer| q.address == address) {
                return Err(field(&format!("peers[{i}].address"), "listed twice".into()));
            }
            peers.push(Peer {
                address,
                public_key: key,
            });
        }
        let mut core = node_core::Config::default();
        if let Some(v) = &raw.route_buffer {
            let bytes = match v {
                SizeValue::Bytes(b) => Some(*b),
                SizeValue::Text(t) => parse_size(t),
            }
            .ok_or_else(|| field("route_buffer", "not a size like \"1MiB\" or 1048576".into()))?;
            core.route_buffer =
                usize::try_from(bytes).map_err(|_| field("route_buffer", "too large".into()))?;
        }
        if let Some(t) = &raw.rekey_interval {
            core.rekey_interval = parse_duration(t).ok_or_else(|| {
                field(
                    "rekey_interval",
                    format!("{t:?} is not a duration like \"1s\""),
                )
            })?;
        }
        if let Some(t) = &raw.dead_interval {
            core.dead_interval = parse_duration(t).ok_or_else(|| {
                field(
                    "dead_interval",
                    format!("{t:?} is not a duration like \"10s\""),
                )
            })?;
            // Keepalives must come well inside the dead interval.
            let quarter = Duration::from_nanos(core.dead_interval.as_nanos() / 4);
            if core.keepalive_interval > quarter {
                core.keepalive_interval = quarter;
            }
        }
        for (name, value, slot) in [
            ("reopen_delay", &raw.reopen_delay, &mut core.reopen.delay),
            (
                "reopen_max_delay",
                &raw.reopen_max_delay,
                &mut core.reopen.max_delay,
            ),
        ] {
            if let Some(t) = value {
                *slot = parse_duration(t).ok_or_else(|| {
                    field(name, format!("{t:?} is not a duration like \"200ms\""))
                })?;
            }
        }
        if let Some(n) = raw.reopen_max_attempts {
            core.reopen.max_attempts = n;
        }
        if let Some(v) = &raw.discovery {
            core.discovery = discovery::parse(v, &field)?;
        }
        if let Some(v) = &raw.pay {
            core.pay = pay::parse(v, &field)?;
        }
        let mtu = raw.mtu.unwrap_or(1200);
        if !(node_core::link::MIN_MTU..=65507).contains(&mtu) {
            return Err(field(
                "mtu",
                format!("{mtu} is outside {}..=65507", node_core::link::MIN_MTU),
            ));
        }
        if let Err(e) = core.validate() {
            let name = match &e {
                node_core::ConfigError::ZeroDuration(n) => n,
                node_core::ConfigError::Inconsistent(m) if m.starts_with("reopen") => {
                    "reopen_delay"
                }
                node_core::ConfigError::Inconsistent(m) if m.starts_with("discovery") => {
                    "discovery"
                }
                _ if raw.route_buffer.is_some() => "route_buffer",
                _ => "(node settings)",
            };
            return Err(field(name, e.to_string()));
        }
        let mut incoming = IncomingLimits::default();
        if let Some(n) = raw.max_incoming_transfers {
            if n == 0 {
                return Err(field("max_incoming_transfers", "must be at least 1".into()));
            }
            incoming.max_files = n;
        }
        if let Some(v) = &raw.max_incoming_bytes {
            incoming.max_bytes = match v {
                SizeValue::Bytes(b) => Some(*b),
                SizeValue::Text(t) => parse_size(t),
            }
            .ok_or_else(|| {
                field(
                    "max_incoming_bytes",
                    "not a size like \"4GiB\" or 4294967296".into(),
                )
            })?;
        }
        if let Some(t) = &raw.resume_window {
            let d = parse_duration(t)
                .filter(|d| d.as_nanos() > 0)
                .ok_or_else(|| {
                    field(
                        "resume_window",
                        format!("{t:?} is not a duration like \"15m\""),
                    )
                })?;
            incoming.resume_window = std::time::Duration::from_nanos(d.as_nanos());
        }
        let log_level = match &raw.log_level {
            None => Level::Info,
            Some(l) => Level::parse(l).ok_or_else(|| {
                field(
                    "log_level",
                    format!("{l:?} is not error, warn, info or debug"),
                )
            })?,
        };
        let control = match &raw.control {
            Some(c) if c.is_empty() => return Err(field("control", "must not be empty".into())),
            Some(c) => rel(c),
            None => path.with_extension("sock"),
        };
        if raw.key_file.is_empty() {
            return Err(field("key_file", "must not be empty".into()));
        }
        // Who may open a link to this node is node-core's decision: any
        // key with open peering, else only the configured peers' keys.
        core.incoming_tunnels = if raw.open_peering {
            node_core::IncomingTunnels::Any
        } else {
            node_core::IncomingTunnels::Keys(peers.iter().map(|p| p.public_key).collect())
        };
        Ok(NodeConfig {
            key_file: rel(&raw.key_file),
            listen,
            peers,
            open_peering: raw.open_peering,
            mtu,
            control,
            recv_dir: raw.recv_dir.as_deref().map(rel),
            incoming,
            log_level,
            core,
        })
    }
}

/// Whether `key` is a point on the curve (a configured peer that could
/// never prove its key is a mistake worth naming at start).
pub fn valid_point(key: &PublicKey) -> bool {
    let probe = node_core::identity::SecretKey([1; 32]);
    SuiteKind::Real.suite().dh(&probe, key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        NodeConfig::parse(text, Path::new("/tmp/x/node.json"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn minimal_and_full_configs() {
        let c = NodeConfig::parse(
            r#"{"key_file": "a.key", "listen": "127.0.0.1:0"}"#,
            Path::new("/tmp/x/node.json"),
        )
        .unwrap();
        assert_eq!(c.key_file, Path::new("/tmp/x/a.key"));
        assert_eq!(c.control, Path::new("/tmp/x/node.sock"));
        assert_eq!(c.core.suite, SuiteKind::Real);
        assert_eq!(c.incoming, IncomingLimits::default());
        let key = node_core::Identity::from_secret(SuiteKind::Real, [7; 32]).unwrap();
        let key = crate::hex::encode(&key.public_key().0);
        let c = NodeConfig::parse(
            &format!(
                r#"{{"key_file": "/k", "listen": "[::1]:7001", "route_buffer": "2MiB",
                "rekey_interval": "500ms", "dead_interval": "3s", "mtu": 1400,
                "reopen_delay": "50ms", "reopen_max_attempts": 4,
                "max_incoming_transfers": 3, "max_incoming_bytes": "10MiB",
                "resume_window": "2m",
                "peers": [{{"address": "[::1]:7002", "public_key": "{key}"}}]}}"#
            ),
            Path::new("n.json"),
        )
        .unwrap();
        assert_eq!(c.core.route_buffer, 2 << 20);
        assert_eq!(c.core.rekey_interval, Duration::from_millis(500));
        assert_eq!(c.core.dead_interval, Duration::from_secs(3));
        assert_eq!(c.core.reopen.delay, Duration::from_millis(50));
        assert_eq!(c.core.reopen.max_attempts, 4);
        assert!(c.core.keepalive_interval < c.core.dead_interval);
        assert_eq!(c.peers.len(), 1);
        assert_eq!(
            c.incoming,
            IncomingLimits {
                max_files: 3,
                max_bytes: 10 << 20,
                resume_window: std::time::Duration::from_secs(120),
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(r#"{"key_file": "a", "listen": "nowhere"}"#);
        assert!(e.contains("listen:"), "{e}");
        let e = err(
            r#"{"key_file": "a", "listen": "127.0.0.1:1", "peers": [{"address": "127.0.0.1:2", "public_key": "zz"}]}"#,
        );
        assert!(e.contains("peers[0].public_key"), "{e}");
        let e = err(
            r#"{"key_file": "a", "listen": "127.0.0.1:1", "peers": [{"address": "127.0.0.1:2"}]}"#,
        );
        assert!(e.contains("peers[0]") && e.contains("public_key"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "colour": 1}"#);
        assert!(e.contains("colour"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "suite": "modeled"}"#);
        assert!(e.contains("suite") && e.contains("simulations only"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "route_buffer": "1KiB"}"#);
        assert!(e.contains("route_buffer"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "rekey_interval": "soon"}"#);
        assert!(e.contains("rekey_interval"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "mtu": 10}"#);
        assert!(e.contains("mtu"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "max_incoming_transfers": 0}"#);
        assert!(e.contains("max_incoming_transfers"), "{e}");
        let e = err(r#"{"key_file": "a", "listen": "127.0.0.1:1", "max_incoming_bytes": "lots"}"#);
        assert!(e.contains("max_incoming_bytes"), "{e}");
        let e = err(r#"{"listen": "127.0.0.1:1"}"#);
        assert!(e.contains("key_file"), "{e}");
        let e = err("{ not json");
        assert!(e.contains("config /tmp/x/node.json"), "{e}");
    }

    #[test]
    fn units() {
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("1500"), Some(1500));
        assert_eq!(parse_size("1 parsec"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_rate("100Mbps"), Some(100_000_000));
        assert_eq!(parse_rate("1.5kbps"), Some(1500));
        assert_eq!(parse_rate("64"), Some(64));
        assert_eq!(parse_rate("1 MiB"), None);
    }
}
