//! Outgoing transfers: topped up to their carrier's room, confirmed by the
//! destination, and carried on over a new route when theirs breaks.
//!
//! A carrier ([`Carrier`]) is a route or a route set. A route confirms its
//! stream bytes (messages and framing); a set confirms the payload bytes
//! of its messages, cumulative across its routes, and never loses one
//! when a route fails (node-core sends again from its store what the lost
//! route held), so a transfer on a set runs to its end through failovers.
//!
//! A file transfer sends its header and waits for the destination's answer
//! (the bytes it holds, [`crate::transfer::parse_resume`]) before its data.
//! When a connection's route breaks, the transfer waits for the
//! connection's next route (`paused`) and asks again there; when a plain
//! route breaks, the transfer fails with its id, and `send --resume ID`
//! on a new route carries it on. A raw stream has no id: it fails with its
//! route.

use super::*;
use crate::transfer::{TransferId, parse_resume};

/// A transfer being sent.
pub(crate) struct Sending {
    pub transfer: Outgoing,
    /// Bytes of the current carrier the destination confirmed (a route's
    /// stream bytes, a set's payload bytes).
    pub delivered: u64,
    pub client: Option<Token>,
    pub started: Instant,
    /// The connection whose routes carry it, if any.
    pub connection: Option<ConnectionHandle>,
    /// Routes it was carried on (1 for a transfer that never resumed).
    pub routes: u32,
}

impl Sending {
    /// Whether the destination confirmed everything handed to `via`.
    fn confirmed_all(&self, via: Carrier) -> bool {
        let total = match via {
            Carrier::Route(_) => self.transfer.stream_total,
            Carrier::Set(_) => self.transfer.payload_total,
        };
        self.transfer.all_queued() && self.delivered >= total
    }

    fn id_text(&self) -> String {
        self.transfer
            .id()
            .map_or_else(|| "(raw stream)".into(), |i| i.to_string())
    }
}

impl Driver {
    /// Starts sending `transfer` on `route` (a route or a set).
    pub(super) fn start_sending(
        &mut self,
        route: Carrier,
        transfer: Outgoing,
        client: Token,
        connection: Option<ConnectionHandle>,
    ) {
        info!(
            "{route}: sending{}",
            transfer
                .id()
                .map(|i| format!(" transfer {i}"))
                .unwrap_or_default()
        );
        self.sending.insert(
            route,
            Sending {
                transfer,
                delivered: 0,
                client: Some(client),
                started: Instant::now(),
                connection,
                routes: 1,
            },
        );
    }

    /// The destination confirmed `bytes` of `route`'s stream (a set's:
    /// of its payload).
    pub(super) fn on_delivered(&mut self, route: Carrier, bytes: u64) {
        let done = self.sending.get_mut(&route).is_some_and(|s| {
            s.delivered = bytes;
            s.confirmed_all(route)
        });
        if done {
            self.transfer_done(route);
        }
    }

    fn transfer_done(&mut self, route: Carrier) {
        let Some(s) = self.sending.remove(&route) else {
            return;
        };
        let secs = s.started.elapsed().as_secs_f64();
        info!(
            "{route}: transfer {} of {} bytes confirmed in {secs:.3} s ({} routes, {} bytes sent again)",
            s.id_text(),
            s.transfer.size(),
            s.routes,
            s.transfer.resent
        );
        // What the set did under the transfer: its failovers, and what it
        // sent again from its store (not the transfer's own resends).
        let set = route.set().and_then(|c| self.node.route_set(c)).map(|i| {
            json!({
                "switches": i.stats.switches,
                "suspected": i.stats.suspected,
                "resent_messages": i.stats.resent_messages,
                "resent_bytes": i.stats.resent_bytes,
                "confirmed_bytes": i.stats.confirmed_bytes,
            })
        });
        self.answer(
            s.client,
            json!({
                "ok": true,
                "route": route.route().map(|r| r.0),
                "connection": route.set().map(|c| c.0),
                "transfer": s.transfer.id().map(|i| i.to_string()),
                "bytes": s.transfer.size(),
                "seconds": secs,
                "routes": s.routes,
                "resumed_from": s.transfer.resumed_from,
                "resent": s.transfer.resent,
                "set": set,
            }),
        );
    }

    /// A message from the destination on `route`, which this node opened:
    /// the answer to a transfer's header.
    pub(super) fn on_origin_message(&mut self, route: Carrier, data: &[u8]) {
        let Some(s) = self.sending.get_mut(&route) else {
            debug!("{route}: {} bytes from the destination ignored", data.len());
            return;
        };
        // Only the awaited answer counts: another (a second one, another
        // transfer's) is ignored, so it cannot move a transfer under way.
        let answer = parse_resume(data)
            .filter(|&(id, _)| Some(id) == s.transfer.id() && s.transfer.awaiting_offset());
        let Some((id, offset)) = answer else {
            debug!("{route}: {} bytes from the destination ignored", data.len());
            return;
        };
        match s.transfer.resume_at(offset) {
            Ok(again) => {
                if offset > 0 {
                    self.stats.transfers_resumed += 1;
                    self.stats.bytes_resent += again;
                    info!(
                        "{route}: transfer {id}: the destination holds {offset} bytes; \
                         sending from there ({again} bytes again)"
                    );
                }
                if s.confirmed_all(route) {
                    self.transfer_done(route);
                }
            }
            Err(e) => self.fail_sending(route, format!("transfer {id}: {e}")),
        }
    }

    /// Keeps outgoing transfers topped up to their carriers' room; returns
    /// whether anything was queued.
    pub(super) fn top_up(&mut self) -> bool {
        let mut queued = false;
        let mut failed = Vec::new();
        for (&route, s) in self.sending.iter_mut() {
            while let Some(len) = s.transfer.next_len() {
                let room = match route {
                    Carrier::Route(r) => self.node.route_has_room(r, len),
                    Carrier::Set(c) => self.node.connection_has_room(c, len),
                };
                if !room {
                    break;
                }
                let m = match s.transfer.take() {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        failed.push((route, format!("reading the file: {e}")));
                        break;
                    }
                };
                let sent = match route {
                    Carrier::Route(r) => self.node.route_send(r, m),
                    Carrier::Set(c) => self.node.connection_send(c, m),
                };
                if let Err(e) = sent {
                    failed.push((route, e.to_string()));
                    break;
                }
                queued = true;
            }
        }
        for (route, why) in failed {
            self.fail_sending(route, why);
        }
        queued
    }

    fn fail_sending(&mut self, route: Carrier, why: String) {
        if let Some(s) = self.sending.remove(&route) {
            warn!("{route}: transfer failed: {why}");
            self.answer(s.client, control::error(why));
        }
    }

    /// `route` is gone. A file transfer of a connection waits for the
    /// connection's next route; any other transfer fails, saying how to
    /// resume it.
    pub(super) fn route_gone(
        &mut self,
        route: RouteHandle,
        connection: Option<ConnectionHandle>,
        why: &str,
    ) {
        let Some(mut s) = self.sending.remove(&Carrier::Route(route)) else {
            return;
        };
        if connection.is_some_and(|c| s.connection == Some(c)) && s.transfer.restart() {
            let c = s.connection.expect("checked above");
            info!(
                "{route}: {why}; transfer {} waits for {c}'s next route ({} of {} bytes sent)",
                s.id_text(),
                s.transfer.high_water(),
                s.transfer.size()
            );
            self.paused.insert(c, s);
            return;
        }
        let mut msg = format!(
            "{why} after {} of {} stream bytes were confirmed ({} of {} file bytes sent)",
            s.delivered,
            s.transfer.stream_total,
            s.transfer.high_water(),
            s.transfer.size()
        );
        if let Some(id) = s.transfer.id() {
            msg.push_str(&format!(
                "; transfer {id} can resume on a new route (send --resume {id})"
            ));
        }
        warn!("{route}: {msg}");
        self.answer(s.client, control::error(msg));
    }

    /// Connection `c` has a new route: a transfer that waited for it goes on.
    pub(super) fn connection_up(&mut self, c: ConnectionHandle, route: RouteHandle) {
        if let Some(mut s) = self.paused.remove(&c) {
            s.delivered = 0;
            s.routes += 1;
            info!(
                "{route}: transfer {} carries on over {c}'s new route",
                s.id_text()
            );
            self.sending.insert(Carrier::Route(route), s);
        }
    }

    /// Connection `c` gave up: a transfer that waited for it fails.
    pub(super) fn connection_closed(&mut self, c: ConnectionHandle, why: &str) {
        if let Some(s) = self.paused.remove(&c) {
            let id = s.id_text();
            let msg = format!(
                "{c} closed ({why}); transfer {id} can resume on a new route (send --resume {id})"
            );
            warn!("{msg}");
            self.answer(s.client, control::error(msg));
        }
    }

    /// A new transfer id: random, or the one to resume.
    pub(super) fn transfer_id(resume: Option<&str>) -> Result<TransferId, Value> {
        match resume {
            Some(t) => TransferId::parse(t)
                .ok_or_else(|| control::error("resume: a transfer id (32 hex digits) expected")),
            None => {
                let r = crate::keyfile::os_random()
                    .map_err(|e| control::error(format!("random transfer id: {e}")))?;
                Ok(TransferId(r[..16].try_into().expect("16 bytes")))
            }
        }
    }
}
