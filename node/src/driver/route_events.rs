//! What the driver does with node-core's events: logs them, keeps the
//! event log, and moves route and route-set data between the node and the
//! transfers (outgoing files, incoming files) and control clients waiting
//! on them.

use super::*;

impl Driver {
    pub(super) fn on_event(&mut self, e: Event) {
        self.log.record(&e);
        match e {
            Event::LinkEstablished {
                link,
                peer,
                address,
                resent_messages,
            } => {
                if let Some(s) = self.links.get_mut(&link) {
                    s.established = true;
                    s.peer = Some(peer);
                    s.probation_until = None;
                    info!(
                        "{link} to {} established: peer {address} (resent {resent_messages})",
                        s.addr
                    );
                }
            }
            Event::LinkDead { link } => {
                let dynamic = self
                    .links
                    .get(&link)
                    .is_some_and(|s| s.configured.is_none());
                if let Some(s) = self.links.get_mut(&link) {
                    s.established = false;
                    warn!(
                        "{link} to {}: dead (nothing heard for the dead interval)",
                        s.addr
                    );
                }
                if dynamic {
                    self.remove_link(link);
                }
            }
            Event::LinkClosed { link, reason, .. } => {
                let Some(s) = self.links.get(&link) else {
                    return;
                };
                info!("{link} to {}: closed ({reason:?})", s.addr);
                match s.configured {
                    // A configured peer stays a link: when it comes back it
                    // handshakes again.
                    Some(key) if !self.shutting_down => {
                        let now = self.now();
                        let mtu = self.cfg.mtu;
                        if let Some(s) = self.links.get_mut(&link) {
                            s.established = false;
                            s.peer = None;
                        }
                        self.node.handle_input(
                            now,
                            Input::LinkUp {
                                link,
                                peer_key: Some(key),
                                mtu,
                                rate_bps: None,
                            },
                        );
                    }
                    Some(_) => {}
                    None => self.remove_link(link),
                }
            }
            Event::PeerRejected { link, offered } => {
                warn!("{link}: peer offered key {offered}, not the configured one: refused");
            }
            Event::RouteUp { route } => {
                info!("{route}: up");
                self.up.insert(route);
                if let Some(t) = self.opening.remove(&route) {
                    self.answer(Some(t), json!({ "ok": true, "route": route.0 }));
                }
            }
            Event::RouteIncoming { route, .. } => {
                info!("{route}: incoming");
                self.incoming
                    .insert(Carrier::Route(route), Incoming::new(route));
            }
            Event::RouteMessage { route, data } => {
                if !self.escrow.on_message(route, &data) {
                    self.on_carrier_message(Carrier::Route(route), &data)
                }
            }
            Event::RouteDelivered { route, bytes } => {
                self.on_delivered(Carrier::Route(route), bytes)
            }
            Event::PayCheck {
                pseudonym, owed, ..
            } => {
                // meshnode has no escrow client yet: the relay keeps
                // carrying (it risks what the pseudonym's unredeemed
                // receipts owe). The wallet keeps the receipts.
                debug!(
                    "pay: no escrow to ask whether {} can pay {owed} droplets",
                    crate::hex::encode(&pseudonym.0)
                );
            }
            Event::RouteDraining { route, link } => {
                // A bare route of the control socket's client: it hears
                // nothing more than this log line; it breaks when the
                // link goes (route sets move first on their own).
                info!("{route}: a hop drains link {} - {}", link.0, link.1);
            }
            Event::RouteClosed { route, reason } => {
                let why = reason_name(reason);
                info!("{route}: closed ({why})");
                self.up.remove(&route);
                if let Some(t) = self.opening.remove(&route) {
                    self.answer(
                        Some(t),
                        control::error(format!("route could not be built ({why})")),
                    );
                }
                self.route_gone(route, None, &format!("route closed ({why})"));
                if let Some(mut i) = self.incoming.remove(&Carrier::Route(route)) {
                    i.route_closed(&mut self.inbox, Instant::now());
                }
            }
            Event::ConnectionUp { connection, route } => {
                info!("{connection}: up on {route}");
                self.connection_up(connection, route);
                if let Some(t) = self.connecting.remove(&connection) {
                    self.answer(
                        Some(t),
                        json!({ "ok": true, "connection": connection.0, "route": route.0 }),
                    );
                }
            }
            // A set confirms its payload bytes, a plain connection its
            // route's stream bytes.
            Event::ConnectionDelivered {
                connection,
                route,
                bytes,
            } => {
                let via = if self.sets.contains_key(&connection) {
                    Carrier::Set(connection)
                } else {
                    Carrier::Route(route)
                };
                self.on_delivered(via, bytes)
            }
            Event::ConnectionIncoming { connection, .. } => self.set_incoming(connection),
            Event::ConnectionSuspected { connection, route } => {
                warn!(
                    "{connection}: {route} suspected (nothing confirmed for the detector's time): closed and replaced"
                );
            }
            Event::ConnectionSwitched {
                connection,
                from,
                to,
            } => self.set_switched(connection, from, to),
            Event::ConnectionBroken {
                connection,
                route,
                reason,
                retry_at,
            } => {
                let why = reason_name(reason);
                let wait = retry_at.saturating_since(self.now()).as_secs_f64();
                if self.sets.contains_key(&connection) {
                    info!(
                        "{connection}: every route lost, the last {route} ({why}); \
                         rebuilding in {wait:.3} s, what it held is kept"
                    );
                } else {
                    info!("{connection}: {route} broke ({why}); a new route in {wait:.3} s");
                }
                self.route_gone(
                    route,
                    Some(connection),
                    &format!("{connection}'s route broke ({why})"),
                );
            }
            Event::ConnectionClosed { connection, reason } => {
                info!("{connection}: closed ({reason:?})");
                self.connection_closed(connection, &format!("{reason:?}"));
                self.set_closed(connection, &format!("{reason:?}"));
                if let Some(t) = self.connecting.remove(&connection) {
                    self.answer(
                        Some(t),
                        control::error(format!("connection closed ({reason:?})")),
                    );
                }
            }
            Event::ConnectionMessage { connection, data }
                if self.sets.contains_key(&connection) =>
            {
                self.on_carrier_message(Carrier::Set(connection), &data)
            }
            Event::ConnectionMessage { connection, data } => {
                let route = self.node.connection(connection).and_then(|i| i.route);
                match route {
                    Some(r) => self.on_origin_message(Carrier::Route(r), &data),
                    None => debug!(
                        "{connection}: {} bytes from the destination ignored",
                        data.len()
                    ),
                }
            }
            Event::CommandFailed(e) => warn!("command failed: {e}"),
            Event::TunnelRequested { request } => debug!("{request}: asked for"),
            Event::TunnelFailed { request, reason } => warn!("{request}: failed ({reason:?})"),
            // Not above debug: any sender can cause one.
            Event::TunnelRefused { link } => debug!("{link}: incoming tunnel refused"),
            Event::RouteOpening { .. }
            | Event::ConnectionOpening { .. }
            | Event::Message { .. } => {}
        }
    }

    /// Deletes what transfers whose routes closed held past
    /// `resume_window`.
    pub(super) fn expire_held(&mut self) {
        let now = Instant::now();
        if self.inbox.next_expiry().is_some_and(|t| t <= now) {
            let n = self.inbox.expire(now);
            info!("{n} incoming transfers not resumed within resume_window: deleted");
        }
    }

    /// Deletes the part files in `dir` older than `resume_window` (left by
    /// transfers that never resumed before this node started).
    pub(super) fn sweep_parts(&mut self, dir: &std::path::Path) {
        let n = crate::transfer::sweep_parts(dir, self.inbox.limits.resume_window);
        if n > 0 {
            self.stats.stale_parts_removed += n as u64;
            info!("{}: {n} stale part files removed", dir.display());
        }
    }

    /// A message on `route` (a route or a set): data of a transfer that
    /// ends here, or the destination's answer to one this node sends.
    pub(super) fn on_carrier_message(&mut self, route: Carrier, data: &[u8]) {
        let Some(inc) = self.incoming.get_mut(&route) else {
            self.on_origin_message(route, data);
            return;
        };
        let before = inc.bytes;
        let result = inc.on_message(data, self.recv_dir.as_deref(), &mut self.inbox);
        let got = inc.bytes - before;
        match route {
            Carrier::Route(_) => self.stats.route_bytes_received += got,
            Carrier::Set(_) => self.stats.set_bytes_received += got,
        }
        match result {
            Ok(outcome) => {
                let answered = match (outcome.reply, route) {
                    (None, _) => Ok(()),
                    (Some(m), Carrier::Route(r)) => self.node.route_send(r, m),
                    (Some(m), Carrier::Set(c)) => self.node.connection_send(c, m),
                };
                if let Err(e) = answered {
                    // The sender waits for the answer: without it the
                    // route is of no use, and a new one asks again.
                    warn!("{route}: answering the transfer header: {e}; closing it");
                    if let Some(mut i) = self.incoming.remove(&route) {
                        i.route_closed(&mut self.inbox, Instant::now());
                    }
                    self.close_carrier(route);
                    return;
                }
                if let Some(done) = outcome.completed {
                    self.on_completed(route, done);
                }
            }
            Err(e) => {
                self.stats.transfers_failed += 1;
                match e {
                    IncomingError::TooManyTransfers(_) => {
                        self.stats.incoming_refused_transfers += 1;
                    }
                    IncomingError::TooManyBytes { .. } => self.stats.incoming_refused_bytes += 1,
                    _ => {}
                }
                warn!("{route}: incoming transfer refused: {e}");
                if let Some(mut i) = self.incoming.remove(&route) {
                    i.abandon(&mut self.inbox);
                }
                self.close_carrier(route);
            }
        }
    }

    fn close_carrier(&mut self, via: Carrier) {
        let _ = match via {
            Carrier::Route(r) => self.node.close_route(r),
            Carrier::Set(c) => self.node.close_connection(c),
        };
    }

    fn on_completed(&mut self, route: Carrier, done: crate::transfer::Completed) {
        self.stats.transfers_completed += 1;
        // The name is a plain one (transfer::valid_name refuses
        // control and formatting characters).
        let renamed = if done.renamed {
            format!(" ({} existed: kept, this one renamed)", done.name)
        } else {
            String::new()
        };
        info!(
            "{route}: received {} ({} bytes, sha256 {}) -> {}{renamed}",
            done.name,
            done.bytes,
            done.sha256,
            done.path.display()
        );
        if self.recv_dir.is_none() {
            warn!(
                "{route}: no receive directory (meshnode recv --out DIR): {} discarded",
                done.name
            );
        }
        let v = json!({ "ok": true, "completed": done });
        for t in self.recv_clients.clone() {
            self.answer(Some(t), v.clone());
        }
    }
}
