//! The event loop: node-core driven by one UDP socket, the monotonic clock
//! and the control endpoint, on one thread.
//!
//! The loop sleeps in `poll` until node-core's next deadline, a datagram or
//! a control request; gives node-core what happened; then polls node-core
//! until it returns `Output::Timeout`, sending what it transmits and acting
//! on its events. Links are peers: a configured peer is brought up at start;
//! an unknown sender whose first datagram is a handshake INIT is offered to
//! node-core as an incoming tunnel with the key it claims, and node-core
//! accepts or refuses it (a configured key, any key with `open_peering`);
//! it stays a link only if the handshake completes within the dead interval.
//!
//! With discovery on, the driver gives node-core what only it knows: the
//! listen address as the node's locator (when it is a specific address,
//! with the port actually bound) and a first advert sequence number from
//! the wall clock (unix seconds times 2^20), so that a restarted node's
//! adverts are newer than its earlier run's.
//!
//! Control clients are accepted only from the node's own user and root
//! ([`crate::endpoint`]); one that breaks a bound of [`crate::control`]
//! (line length, unread answers) is disconnected. Each refusal is counted
//! in [`DriverStats`], which the status reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mio::net::UnixListener;
use mio::{Events, Interest, Poll, Token};
use node_core::wire::HandshakeInit;
use node_core::{
    Address, Class, ConnectionHandle, Event, Identity, Input, LinkId, Locator, Node, Output,
    PublicKey, RouteHandle, RouteKind, Time, TunnelFailure, TunnelRequest,
};
use serde_json::{Value, json};

use crate::config::NodeConfig;
use crate::control::{self, Conn, Request};
use crate::events::{EventLog, reason_name};
use crate::transfer::{Carrier, DEFAULT_CHUNK, Inbox, Incoming, IncomingError, Outgoing};
use crate::udp::{BatchSocket, Sent};
use crate::{debug, error, info, warn};

mod pay;
mod peers;
mod requests;
mod route_events;
mod sending;
mod sets;

pub(crate) use sending::Sending;
pub(crate) use sets::SetEnd;

const UDP: Token = Token(0);
const LISTENER: Token = Token(1);
/// Links from unknown senders still handshaking, at most.
const MAX_PROBATION: usize = 64;
/// INITs from unknown senders handed to node-core per second, at most
/// (see `peers.rs`), and the burst beyond that rate.
const INIT_RATE: u32 = 1000;
const INIT_BURST: u32 = 256;
/// Datagrams read in one go (at least) before node-core's output is drained.
const READ_BATCH: usize = 64;
/// Send and receive buffer of the UDP socket, asked for (the kernel caps it
/// at `net.core.wmem_max` / `rmem_max`): the default (~200 KiB) overflows
/// when a peer sends a burst of GSO batches.
const SOCKET_BUFFER: usize = 4 << 20;
/// The longest sleep: signals and probation deadlines are checked at least this often.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_millis(200);
/// How long a shutting-down node waits for its CLOSE frames to go out.
const SHUTDOWN_LINGER: std::time::Duration = std::time::Duration::from_millis(500);

/// Why a node cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another process holds the UDP address.
    #[error("listen address {0} is already in use (another meshnode running?)")]
    AddrInUse(SocketAddr),
    /// Binding failed otherwise.
    #[error("listen address {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A live node answers on the control socket.
    #[error("control endpoint {0} is in use by a running node")]
    ControlInUse(PathBuf),
    /// Something that is not a socket is where the control socket goes: it
    /// is never deleted.
    #[error(
        "control endpoint {path} exists and is {kind}, not a socket: refusing to delete it (remove it, or set `control` to another path)"
    )]
    ControlNotSocket {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
    },
    /// The socket made is not what it must be (mode 0600, ours).
    #[error("control endpoint {path}: {what}")]
    ControlUnsafe {
        /// The socket path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The control socket cannot be created.
    #[error("control endpoint {path}: {source}")]
    Control {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// node-core refused the settings.
    #[error("node settings: {0}")]
    Core(#[from] node_core::ConfigError),
    /// Polling or the OS random source failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A link as the driver knows it.
pub(crate) struct LinkSlot {
    pub addr: SocketAddr,
    /// The key a configured peer must prove; `None` for links made from an
    /// unknown sender's INIT (they are dropped rather than kept up).
    pub configured: Option<PublicKey>,
    /// A link from an unknown sender not yet established: removed after this.
    pub probation_until: Option<Instant>,
    pub peer: Option<PublicKey>,
    pub established: bool,
}

/// Counters of the driver itself (node-core counts the rest).
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct DriverStats {
    /// Datagrams from senders that are no link and sent no acceptable INIT.
    pub unknown_sender_datagrams: u64,
    /// INITs from unknown senders offering a key that is not configured.
    pub unknown_key_inits: u64,
    /// Links from unknown senders that never completed their handshake.
    pub probation_expired: u64,
    /// INITs from unknown senders that node-core refused (no valid MAC for
    /// the configured key they claim): dropped at once, holding no slot.
    pub unproven_inits: u64,
    /// INITs from unknown senders dropped over the node's INIT budget
    /// (`INIT_RATE` a second).
    pub inits_over_budget: u64,
    /// Datagrams the socket refused to send.
    pub send_errors: u64,
    /// Datagrams received.
    pub datagrams_received: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Files written by transfers that completed.
    pub transfers_completed: u64,
    /// Transfers refused or abandoned at this destination.
    pub transfers_failed: u64,
    /// Payload bytes received on routes ending here.
    pub route_bytes_received: u64,
    /// Payload bytes received on route sets ending here (each once, in
    /// order: node-core drops the copies a failover sends again).
    pub set_bytes_received: u64,
    /// Incoming files refused: `max_incoming_transfers` were being written.
    pub incoming_refused_transfers: u64,
    /// Incoming files refused: their size did not fit in `max_incoming_bytes`.
    pub incoming_refused_bytes: u64,
    /// Outgoing transfers carried on from an offset the destination held.
    pub transfers_resumed: u64,
    /// File bytes sent again on resuming (what the destination did not have).
    pub bytes_resent: u64,
    /// Part files of transfers that never resumed, deleted when this node
    /// started receiving.
    pub stale_parts_removed: u64,
    /// Control connections refused: the peer is neither the node's user nor root.
    pub control_refused: u64,
    /// Control connections closed for a request line longer than `control::MAX_LINE`.
    pub control_line_too_long: u64,
    /// Control connections closed for more than `control::MAX_BACKLOG` unread bytes.
    pub control_backlog_exceeded: u64,
    /// Control connections refused: `MAX_CONTROL_CLIENTS` were open.
    pub control_too_many: u64,
}

/// A running node.
pub struct Driver {
    pub(crate) node: Node,
    pub(crate) cfg: NodeConfig,
    poll: Poll,
    socket: BatchSocket,
    pub(crate) local: SocketAddr,
    start: Instant,
    pub(crate) links: BTreeMap<LinkId, LinkSlot>,
    by_addr: HashMap<SocketAddr, LinkId>,
    next_link: u64,
    listener: UnixListener,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    pub(crate) up: BTreeSet<RouteHandle>,
    pub(crate) sending: BTreeMap<Carrier, Sending>,
    /// Transfers waiting for their connection's next route.
    pub(crate) paused: BTreeMap<ConnectionHandle, Sending>,
    pub(crate) incoming: BTreeMap<Carrier, Incoming>,
    /// Route sets at either end, as the driver knows them.
    pub(crate) sets: BTreeMap<ConnectionHandle, SetEnd>,
    opening: BTreeMap<RouteHandle, Token>,
    /// Connections whose client waits for their first route.
    connecting: BTreeMap<ConnectionHandle, Token>,
    pub(crate) recv_dir: Option<PathBuf>,
    recv_clients: Vec<Token>,
    /// The transfers this node receives, and what they hold of their caps.
    pub(crate) inbox: Inbox,
    pub(crate) log: EventLog,
    pub(crate) stats: DriverStats,
    shutdown: Arc<AtomicBool>,
    shutting_down: bool,
    deadline: Time,
    udp_pending: bool,
    /// The INIT budget (a GCRA): when it would be empty.
    init_tat: Instant,
    /// Datagrams received and not yet given to node-core (kept for its allocation).
    received: Vec<(SocketAddr, Vec<u8>)>,
    /// Payments: the best receipt of each pseudonym this relay was paid
    /// under (for the escrow), and the accounts its routes' pseudonyms
    /// opened as an origin.
    pub(crate) wallet: BTreeMap<node_core::PublicKey, node_core::wire::receipt::Receipt>,
    pub(crate) pay_accounts: u64,
    /// The escrow client (`pay.rs`).
    pub(crate) escrow: pay::EscrowClient,
}

/// Receipts a wallet keeps, at most (one per pseudonym; node-core bounds
/// its own the same way).
const MAX_WALLET: usize = 65_536;

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

impl Driver {
    /// Binds the socket and the control endpoint and brings up the
    /// configured peers. `shutdown` ends [`Driver::run`] gracefully.
    pub fn new(
        mut cfg: NodeConfig,
        identity: Identity,
        shutdown: Arc<AtomicBool>,
    ) -> Result<Driver, StartError> {
        let seed = crate::keyfile::os_random()?;
        let cfg_incoming = cfg.incoming;
        let mut socket = BatchSocket::bind(cfg.listen).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                StartError::AddrInUse(cfg.listen)
            } else {
                StartError::Bind {
                    addr: cfg.listen,
                    source: e,
                }
            }
        })?;
        let local = socket.local_addr()?;
        if let Some(d) = &mut cfg.core.discovery {
            sets::discovery_from_driver(d, local);
        }
        let node = Node::new(cfg.core.clone(), identity, seed)?;
        let escrow = pay::EscrowClient::new(cfg.key_file.with_extension("pseudonyms"));
        if let Err(e) = socket.set_buffer_sizes(SOCKET_BUFFER) {
            warn!("udp socket buffers of {SOCKET_BUFFER} bytes: {e}");
        }
        let mut listener = crate::endpoint::bind(&cfg.control)?;
        let poll = Poll::new()?;
        poll.registry()
            .register(socket.source(), UDP, Interest::READABLE)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut d = Driver {
            node,
            recv_dir: cfg.recv_dir.clone(),
            cfg,
            poll,
            socket,
            local,
            start: Instant::now(),
            links: BTreeMap::new(),
            by_addr: HashMap::new(),
            next_link: 1,
            listener,
            conns: HashMap::new(),
            next_token: 2,
            up: BTreeSet::new(),
            sending: BTreeMap::new(),
            paused: BTreeMap::new(),
            incoming: BTreeMap::new(),
            sets: BTreeMap::new(),
            opening: BTreeMap::new(),
            connecting: BTreeMap::new(),
            recv_clients: Vec::new(),
            inbox: Inbox::new(cfg_incoming),
            log: EventLog::default(),
            stats: DriverStats::default(),
            shutdown,
            shutting_down: false,
            deadline: Time::ZERO,
            udp_pending: false,
            init_tat: Instant::now(),
            received: Vec::new(),
            wallet: BTreeMap::new(),
            pay_accounts: 0,
            escrow,
        };
        info!(
            "node {} listening on {} (control {})",
            d.node.identity().address(),
            d.local,
            d.cfg.control.display()
        );
        debug!(
            "udp batching: up to {} datagrams per send, {} per receive buffer",
            d.socket.max_segments(),
            d.socket.gro_segments()
        );
        if let Some(dir) = d.recv_dir.clone() {
            d.sweep_parts(&dir);
        }
        for p in d.cfg.peers.clone() {
            d.add_link(p.address, p.public_key);
        }
        d.drive();
        Ok(d)
    }

    /// The address the socket is bound to (the real port if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn now(&self) -> Time {
        Time::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    /// Runs until the shutdown flag is set, then shuts down gracefully.
    pub fn run(mut self) -> Result<(), StartError> {
        let mut events = Events::with_capacity(256);
        loop {
            if self.shutdown.load(Ordering::Relaxed) {
                self.graceful_shutdown();
                return Ok(());
            }
            let now = self.now();
            let timeout = if self.udp_pending || self.conns.values().any(|c| c.more) {
                std::time::Duration::ZERO
            } else {
                std::time::Duration::from_nanos(
                    self.deadline.as_nanos().saturating_sub(now.as_nanos()),
                )
                .min(MAX_SLEEP)
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            for ev in events.iter() {
                match ev.token() {
                    UDP => self.udp_pending = true,
                    LISTENER => self.accept(),
                    t => self.on_conn(t),
                }
            }
            if self.udp_pending {
                self.read_socket();
            }
            // Clients whose reads stopped at their budget (edge-triggered:
            // no new event would come for what already waits).
            let more: Vec<Token> = self
                .conns
                .iter()
                .filter(|(_, c)| c.more)
                .map(|(&t, _)| t)
                .collect();
            for t in more {
                self.on_conn(t);
            }
            if self.now() >= self.deadline {
                let now = self.now();
                self.node.handle_input(now, Input::Timeout);
            }
            self.expire_probation();
            self.expire_held();
            self.drive();
        }
    }

    /// Reads datagrams (at least [`READ_BATCH`] when that many wait) and
    /// gives each to node-core; `udp_pending` stays set while more may wait.
    fn read_socket(&mut self) {
        let mut got = std::mem::take(&mut self.received);
        self.udp_pending = true;
        while got.len() < READ_BATCH {
            match self.socket.recv(&mut got) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.udp_pending = false;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP errors of earlier sends surface here on Linux
                    // (connection refused from a peer that is down).
                    debug!("udp receive: {e}");
                    break;
                }
            }
        }
        for (from, bytes) in got.drain(..) {
            self.stats.datagrams_received += 1;
            self.on_datagram(canonical(from), bytes);
        }
        self.received = got;
    }

    /// Polls node-core until it has nothing more to do now.
    fn drive(&mut self) {
        loop {
            let now = self.now();
            match self.node.poll_output(now) {
                Output::Transmit { link, bytes } => self.transmit(link, &bytes),
                Output::Event(e) => self.on_event(e),
                Output::OpenTunnel {
                    request,
                    peer,
                    locator,
                } => self.open_tunnel(request, peer, locator),
                Output::CloseTunnel { link } => {
                    // node-core is done with it: forget the peer, tell no one.
                    if let Some(slot) = self.links.remove(&link) {
                        if self.by_addr.get(&slot.addr) == Some(&link) {
                            self.by_addr.remove(&slot.addr);
                        }
                        info!("{link} to {}: tunnel closed", slot.addr);
                    }
                }
                Output::WantPeers { count } => {
                    // No registry to ask: the peers it knows come from its
                    // topology database (discovery) and its `peers` list.
                    debug!("node-core wants {count} more tunnel peers; none to offer");
                }
                Output::Timeout(at) => {
                    if self.top_up() {
                        continue;
                    }
                    let sent = self.socket.flush();
                    self.count_sent(sent);
                    self.deadline = at;
                    self.keep_receipts();
                    return;
                }
            }
        }
    }

    /// Moves what node-core kept of payments into the driver's wallet.
    fn keep_receipts(&mut self) {
        for r in self.node.take_receipts() {
            if self.wallet.len() < MAX_WALLET || self.wallet.contains_key(&r.pseudonym) {
                self.wallet.insert(r.pseudonym, r);
            }
        }
        let opened = self.node.take_pay_pseudonyms();
        if !opened.is_empty() {
            self.pay_accounts += opened.len() as u64;
            self.escrow.opened(opened);
        }
    }

    fn transmit(&mut self, link: LinkId, bytes: &[u8]) {
        let Some(slot) = self.links.get(&link) else {
            return;
        };
        let to = if self.local.is_ipv6() {
            match slot.addr {
                SocketAddr::V4(a) => SocketAddr::new(a.ip().to_ipv6_mapped().into(), a.port()),
                a => a,
            }
        } else {
            slot.addr
        };
        // Queued: it leaves with the batch for `to` (see `crate::udp`), at
        // the latest when node-core has nothing more to do now.
        let sent = self.socket.queue(to, bytes);
        self.count_sent(sent);
    }

    fn count_sent(&mut self, sent: Sent) {
        self.stats.datagrams_sent += sent.ok;
        self.stats.send_errors += sent.failed;
    }

    /// Routes closed, peers told, control socket removed.
    fn graceful_shutdown(&mut self) {
        info!("shutting down: closing routes and links");
        self.shutting_down = true;
        // Sets first: closing their routes one by one would have them
        // rebuilt.
        let sets: Vec<ConnectionHandle> = self.node.route_sets().collect();
        for c in sets {
            let _ = self.node.close_connection(c);
        }
        let ends: Vec<RouteHandle> = self
            .node
            .routes()
            .filter(|&r| self.node.route(r).is_some_and(|i| i.role != "relay"))
            .collect();
        for r in ends {
            let _ = self.node.close_route(r);
        }
        self.drive();
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            let _ = self.node.close(l);
        }
        // A CLOSE rides on the link's next datagram, which pacing or the
        // congestion window may hold back a moment: linger until every link
        // is closed, briefly.
        let until = Instant::now() + SHUTDOWN_LINGER;
        loop {
            self.drive();
            if self.node.links().all(|l| l.closed) || Instant::now() >= until {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            self.read_socket();
            let now = self.now();
            self.node.handle_input(now, Input::Timeout);
        }
        for c in self.conns.values_mut() {
            c.send(&control::error("the node is shutting down"));
        }
        // Part files stay: a transfer carries on from them when this node
        // runs again (transfer::part).
        crate::endpoint::remove(&self.cfg.control);
        info!("stopped");
    }

    /// The node's status as JSON (see [`crate::status`]).
    pub fn status(&self) -> Value {
        crate::status::status(self)
    }
}

fn dead_interval(cfg: &NodeConfig) -> std::time::Duration {
    std::time::Duration::from_nanos(cfg.core.dead_interval.as_nanos())
}

/// Runs a node until SIGINT or SIGTERM (or a `shutdown` request).
pub fn run_until_signalled(cfg: NodeConfig) -> Result<(), String> {
    crate::log::set_level(cfg.log_level);
    let identity = crate::keyfile::load(&cfg.key_file).map_err(|e| e.to_string())?;
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&flag)).map_err(|e| e.to_string())?;
    }
    let d = Driver::new(cfg, identity, flag).map_err(|e| e.to_string())?;
    d.run().map_err(|e| {
        error!("{e}");
        e.to_string()
    })
}
