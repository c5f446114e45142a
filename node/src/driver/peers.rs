//! Links as the driver keeps them: peers by socket address, the configured
//! ones brought up at start, tunnels node-core asks for, and unknown
//! senders whose first datagram is a handshake INIT, on probation until
//! their handshake completes.

use super::*;

impl Driver {
    /// A new slot for a peer at `addr`; `probation`: an unknown sender,
    /// dropped if its handshake does not complete within the dead interval.
    fn add_slot(
        &mut self,
        addr: SocketAddr,
        configured: Option<PublicKey>,
        probation: bool,
    ) -> LinkId {
        let link = LinkId(self.next_link);
        self.next_link += 1;
        let addr = canonical(addr);
        let probation_until = probation.then(|| Instant::now() + dead_interval(&self.cfg));
        self.links.insert(
            link,
            LinkSlot {
                addr,
                configured,
                probation_until,
                peer: None,
                established: false,
            },
        );
        self.by_addr.insert(addr, link);
        link
    }

    /// A configured peer: a link node-core is told about at once.
    pub(super) fn add_link(&mut self, addr: SocketAddr, key: PublicKey) -> LinkId {
        let link = self.add_slot(addr, Some(key), false);
        let now = self.now();
        self.node.handle_input(
            now,
            Input::LinkUp {
                link,
                peer_key: Some(key),
                mtu: self.cfg.mtu,
                rate_bps: None,
            },
        );
        link
    }

    /// node-core asks for a tunnel: over UDP, a new peer at `locator`.
    pub(super) fn open_tunnel(
        &mut self,
        request: TunnelRequest,
        peer: PublicKey,
        locator: Locator,
    ) {
        let now = self.now();
        let addr = match locator {
            Locator::Socket(a) => canonical(a),
            Locator::Underlay(_) => {
                let reason = TunnelFailure::Unreachable;
                self.node
                    .handle_input(now, Input::TunnelFailed { request, reason });
                return;
            }
        };
        if self.by_addr.contains_key(&addr) || (addr.is_ipv6() && !self.local.is_ipv6()) {
            // One socket demultiplexes peers by address: a second link to
            // the same address could not be told apart; and a v4 socket
            // cannot reach a v6 peer.
            let reason = TunnelFailure::Refused;
            self.node
                .handle_input(now, Input::TunnelFailed { request, reason });
            return;
        }
        let link = LinkId(self.next_link);
        self.next_link += 1;
        self.links.insert(
            link,
            LinkSlot {
                addr,
                configured: Some(peer),
                probation_until: None,
                peer: None,
                established: false,
            },
        );
        self.by_addr.insert(addr, link);
        info!("{link} to {addr}: tunnel opened");
        self.node.handle_input(
            now,
            Input::TunnelOpened {
                request,
                link,
                mtu: self.cfg.mtu,
                rate_bps: None,
            },
        );
    }

    pub(super) fn remove_link(&mut self, link: LinkId) {
        if let Some(slot) = self.links.remove(&link) {
            if self.by_addr.get(&slot.addr) == Some(&link) {
                self.by_addr.remove(&slot.addr);
            }
            let now = self.now();
            self.node.handle_input(now, Input::LinkDown { link });
        }
    }

    pub(super) fn on_datagram(&mut self, from: SocketAddr, bytes: Vec<u8>) {
        let now = self.now();
        if let Some(&link) = self.by_addr.get(&from) {
            self.node.handle_input(now, Input::Datagram { link, bytes });
            return;
        }
        let Ok(init) = HandshakeInit::parse(&bytes) else {
            self.stats.unknown_sender_datagrams += 1;
            debug!("dropped {} bytes from unknown sender {from}", bytes.len());
            return;
        };
        // The INITs of unknown senders cost a key agreement each (open
        // peering: their keys are anybody's), from addresses nobody has
        // proven: at most INIT_RATE a second (a burst of INIT_BURST) are
        // handed to node-core, whatever the senders' addresses; the rest
        // are dropped and counted. A flood then costs the node a bounded
        // share of a core, though newcomers compete with it for the budget
        // (WireGuard's cookie reply, which would let them through, is not
        // built).
        let now_i = Instant::now();
        let interval = std::time::Duration::from_secs(1) / INIT_RATE;
        if self.init_tat > now_i + interval * INIT_BURST {
            self.stats.inits_over_budget += 1;
            debug!("handshake from {from}: over the INIT budget, dropped");
            return;
        }
        self.init_tat = self.init_tat.max(now_i) + interval;
        // Counted only for INITs within the budget: a flood over it costs
        // no walk over the links.
        let probation = self
            .links
            .values()
            .filter(|s| s.probation_until.is_some())
            .count();
        if probation >= MAX_PROBATION {
            self.stats.unknown_sender_datagrams += 1;
            warn!("too many handshakes in progress: ignoring {from}");
            return;
        }
        // node-core decides (its `incoming_tunnels` policy: the configured
        // keys, or any with open peering), on the key the INIT claims and
        // before any cryptographic work; the handshake must then prove it.
        let offered = PublicKey(init.static_pub);
        let link = self.add_slot(from, None, true);
        self.node.handle_input(
            now,
            Input::IncomingTunnel {
                link,
                mtu: self.cfg.mtu,
                rate_bps: None,
                offered: Some(offered),
            },
        );
        if self.node.link(link).is_none() {
            // Refused: node-core hands the link back (`CloseTunnel`).
            self.stats.unknown_key_inits += 1;
            debug!("handshake from {from} with key {offered}: refused by node-core's policy");
            return;
        }
        self.node.handle_input(now, Input::Datagram { link, bytes });
        if self
            .node
            .link(link)
            .is_none_or(|l| l.stats.drops.total() > 0)
        {
            // node-core refused the INIT (a configured key claimed without
            // the MAC only its owner can make, or one that does not
            // verify): no handshake will follow, so it holds no probation
            // slot. Spoofed INITs thus never crowd out real newcomers.
            self.stats.unproven_inits += 1;
            debug!("handshake from {from}: INIT refused by node-core");
            self.remove_link(link);
            return;
        }
        info!("handshake from new address {from}");
    }

    pub(super) fn expire_probation(&mut self) {
        let now = Instant::now();
        let expired: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, s)| s.probation_until.is_some_and(|t| t <= now))
            .map(|(&l, _)| l)
            .collect();
        for l in expired {
            self.stats.probation_expired += 1;
            debug!("{l}: handshake from an unknown sender never completed");
            self.remove_link(l);
        }
    }
}
