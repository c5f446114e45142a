//! The control endpoint: clients connect to the Unix socket and send JSON
//! lines; each request is answered on its connection (some, like `send`,
//! once the node has done what they ask). Only the node's user and root
//! are accepted ([`crate::endpoint::check_peer`]), at most
//! [`MAX_CONTROL_CLIENTS`] at once; a client that breaks a bound of
//! [`crate::control::Conn`] is dropped. Each is counted and logged.

use std::io::Write;

use super::*;
use crate::control::Breach;

/// Control connections open at once, at most (each may hold up to
/// `control::MAX_BACKLOG` of answers).
pub const MAX_CONTROL_CLIENTS: usize = 64;

impl Driver {
    pub(super) fn answer(&mut self, client: Option<Token>, v: Value) {
        let Some(t) = client else {
            return;
        };
        if let Some(c) = self.conns.get_mut(&t) {
            c.send(&v);
            if c.breach.is_some() {
                self.drop_conn(t);
            }
        }
    }

    /// Refuses an accepted connection: one error line (the socket is new,
    /// so its buffer takes it), then it is closed.
    fn refuse(mut stream: mio::net::UnixStream, why: &str) {
        let line = format!("{}\n", control::error(why));
        let _ = stream.write(line.as_bytes());
    }

    pub(super) fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if let Err(why) = crate::endpoint::check_peer(&stream) {
                        self.stats.control_refused += 1;
                        warn!("control connection refused: {why}");
                        Self::refuse(stream, &why);
                        continue;
                    }
                    if self.conns.len() >= MAX_CONTROL_CLIENTS {
                        self.stats.control_too_many += 1;
                        warn!("control connection refused: {MAX_CONTROL_CLIENTS} already open");
                        Self::refuse(
                            stream,
                            &format!("{MAX_CONTROL_CLIENTS} control connections already open"),
                        );
                        continue;
                    }
                    let t = Token(self.next_token);
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, t, Interest::READABLE | Interest::WRITABLE)
                        .is_ok()
                    {
                        self.conns.insert(t, Conn::new(stream));
                        self.on_conn(t);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    warn!("control accept: {e}");
                    return;
                }
            }
        }
    }

    pub(super) fn on_conn(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        c.flush();
        let lines = c.read_lines();
        for line in lines {
            if !self.conns.contains_key(&t) {
                break; // dropped by an answer past its backlog
            }
            if line.trim().is_empty() {
                continue;
            }
            let reply = match serde_json::from_str::<Request>(&line) {
                Ok(req) => self.on_request(t, req),
                Err(e) => Some(control::error(format!("bad request: {e}"))),
            };
            if let Some(v) = reply {
                self.answer(Some(t), v);
            }
        }
        if self.conns.get_mut(&t).is_some_and(|c| c.done()) {
            self.drop_conn(t);
        }
    }

    /// Forgets control client `t` (what it waits for carries on without it).
    fn drop_conn(&mut self, t: Token) {
        let Some(mut c) = self.conns.remove(&t) else {
            return;
        };
        match c.breach {
            Some(Breach::LineTooLong) => {
                self.stats.control_line_too_long += 1;
                warn!(
                    "control client dropped: a request line longer than {} bytes",
                    control::MAX_LINE
                );
            }
            Some(Breach::Backlog) => {
                self.stats.control_backlog_exceeded += 1;
                warn!(
                    "control client dropped: more than {} bytes of answers unread",
                    control::MAX_BACKLOG
                );
            }
            None => {}
        }
        let _ = self.poll.registry().deregister(&mut c.stream);
        self.recv_clients.retain(|&x| x != t);
        self.opening.retain(|_, x| *x != t);
        self.connecting.retain(|_, x| *x != t);
        for s in self.sending.values_mut().chain(self.paused.values_mut()) {
            if s.client == Some(t) {
                s.client = None;
            }
        }
    }

    /// Carries out a control request; `None` when the answer comes later.
    pub(super) fn on_request(&mut self, t: Token, req: Request) -> Option<Value> {
        match req {
            Request::Status => Some(json!({ "ok": true, "status": self.status() })),
            Request::RouteOpen { path } => {
                let hops = match parse_path(&path) {
                    Ok(h) => h,
                    Err(e) => return Some(e),
                };
                match self.node.open_route(hops, Class::Bulk, RouteKind::Stream) {
                    Ok(h) => {
                        info!("{h}: opening along {} hops", path.len());
                        self.opening.insert(h, t);
                        None
                    }
                    Err(e) => Some(control::error(e)),
                }
            }
            Request::Connect {
                path,
                to,
                routes,
                mode,
            } => {
                let max = self.cfg.core.sets.max_members;
                let opened = crate::connect::plan(
                    &path,
                    to.as_deref(),
                    routes.as_ref(),
                    mode.as_deref(),
                    max,
                )
                .and_then(|plan| self.open_connection(plan, to.as_deref()));
                match opened {
                    Ok(c) => {
                        self.connecting.insert(c, t);
                        None
                    }
                    Err(e) => Some(control::error(e)),
                }
            }
            Request::Send {
                route,
                connection,
                file,
                generate,
                chunk,
                resume,
            } => {
                if connection.is_some_and(|c| self.paused.contains_key(&ConnectionHandle(c))) {
                    return Some(control::error(format!(
                        "{} is already sending (waiting for its next route)",
                        ConnectionHandle(connection.unwrap_or_default())
                    )));
                }
                let h = match (route, connection) {
                    (Some(r), None) => {
                        let h = RouteHandle(r);
                        if !self.up.contains(&h)
                            || self.node.route(h).is_none_or(|r| r.role != "origin")
                        {
                            return Some(control::error(format!(
                                "{h} is not a route this node opened and that is up"
                            )));
                        }
                        Carrier::Route(h)
                    }
                    (None, Some(c)) if self.sets.contains_key(&ConnectionHandle(c)) => {
                        let c = ConnectionHandle(c);
                        if self.sets.get(&c).is_some_and(|s| !s.origin) {
                            return Some(control::error(format!(
                                "{c} is a route set another node opened: send on one this node opened"
                            )));
                        }
                        if self
                            .node
                            .route_set(c)
                            .is_none_or(|s| !s.routes.iter().any(|r| r.up))
                        {
                            return Some(control::error(format!("{c} has no route up now")));
                        }
                        Carrier::Set(c)
                    }
                    (None, Some(c)) => {
                        let c = ConnectionHandle(c);
                        match self.node.connection(c) {
                            Some(node_core::ConnectionInfo {
                                state: node_core::ConnectionState::Up,
                                route: Some(r),
                                ..
                            }) => Carrier::Route(r),
                            Some(i) => {
                                return Some(control::error(format!(
                                    "{c} has no route up now ({:?})",
                                    i.state
                                )));
                            }
                            None => return Some(control::error(format!("unknown {c}"))),
                        }
                    }
                    _ => {
                        return Some(control::error(
                            "send needs exactly one of route and connection",
                        ));
                    }
                };
                if self.sending.contains_key(&h) {
                    return Some(control::error(format!("{h} is already sending")));
                }
                let chunk = chunk.unwrap_or(DEFAULT_CHUNK);
                let limit = self.cfg.core.route_buffer / 2;
                if chunk == 0 || chunk > limit {
                    return Some(control::error(format!("chunk must be 1..={limit} bytes")));
                }
                let transfer = match (file, generate) {
                    (Some(f), None) => {
                        let id = match Self::transfer_id(resume.as_deref()) {
                            Ok(id) => id,
                            Err(e) => return Some(e),
                        };
                        match Outgoing::file(&f, chunk, id) {
                            Ok(t) => t,
                            Err(e) => {
                                return Some(control::error(format!("{}: {e}", f.display())));
                            }
                        }
                    }
                    (None, Some(_)) if resume.is_some() => {
                        return Some(control::error("a raw stream (generate) does not resume"));
                    }
                    (None, Some(n)) => Outgoing::generated(n, chunk),
                    _ => {
                        return Some(control::error(
                            "send needs exactly one of file and generate",
                        ));
                    }
                };
                // A set carries its transfer through route failures itself:
                // only a plain connection's transfer waits for a new route.
                let connection = connection
                    .map(ConnectionHandle)
                    .filter(|_| matches!(h, Carrier::Route(_)));
                self.start_sending(h, transfer, t, connection);
                None
            }
            Request::Recv { dir } => {
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    return Some(control::error(format!("{}: {e}", dir.display())));
                }
                info!("incoming transfers go to {}", dir.display());
                self.sweep_parts(&dir);
                self.recv_dir = Some(dir.clone());
                self.recv_clients.push(t);
                Some(json!({ "ok": true, "dir": dir }))
            }
            Request::RouteClose { route } => match self.node.close_route(RouteHandle(route)) {
                Ok(()) => Some(json!({ "ok": true })),
                Err(e) => Some(control::error(e)),
            },
            Request::ConnectionClose { connection } => {
                match self.node.close_connection(ConnectionHandle(connection)) {
                    Ok(()) => Some(json!({ "ok": true })),
                    Err(e) => Some(control::error(e)),
                }
            }
            Request::TunnelOpen { public_key, addr } => {
                let key = match crate::hex::decode::<33>(&public_key) {
                    Some(k) => node_core::PublicKey(k),
                    None => return Some(control::error("public_key: 66 hex digits expected")),
                };
                let addr: std::net::SocketAddr = match addr.parse() {
                    Ok(a) => a,
                    Err(e) => return Some(control::error(format!("addr: {e}"))),
                };
                match self.node.open_tunnel(key, node_core::Locator::Socket(addr)) {
                    Ok(r) => {
                        self.drive();
                        Some(json!({ "ok": true, "request": r.0 }))
                    }
                    Err(e) => Some(control::error(e)),
                }
            }
            Request::Pay {
                action,
                route,
                deposit,
                to,
            } => Some(self.pay_request(&action, RouteHandle(route), deposit, to.as_deref())),
            Request::Shutdown => {
                self.shutdown.store(true, Ordering::Relaxed);
                Some(json!({ "ok": true }))
            }
        }
    }
}

/// Hex addresses of a request's path.
fn parse_path(path: &[String]) -> Result<Vec<Address>, Value> {
    crate::connect::parse_path(path).map_err(control::error)
}
