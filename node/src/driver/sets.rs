//! Route sets and discovery in the driver: what `connect` opens, what the
//! driver remembers of each set (which end it is, when its traffic
//! switched routes), and what node-core needs from the driver to run
//! discovery.
//!
//! A set's member routes are node-core's business: their own route events
//! never reach the driver, only the set's (`ConnectionUp`,
//! `ConnectionSwitched`, `ConnectionDelivered`, `ConnectionMessage`, ...).
//! A transfer on a set (see `sending.rs`) is carried by the set as a
//! whole: when a route fails, node-core sends again from its own store
//! what the route held, so the transfer neither pauses nor resumes.

use std::time::{SystemTime, UNIX_EPOCH};

use super::*;
use crate::connect::ConnectPlan;

/// Switches remembered per set (the latest).
const SWITCHES_KEPT: usize = 16;

/// A failover: the set's traffic moved from a lost route to another.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Switch {
    pub from: u64,
    pub to: u64,
    /// When, in the node's time (seconds since it started).
    pub at_s: f64,
    /// When, by the wall clock (ms since the epoch): comparable across
    /// processes on one machine, for measuring detection times.
    pub unix_ms: f64,
}

/// A route set as the driver knows it.
pub(crate) struct SetEnd {
    /// This node opened it (else it ends here).
    pub origin: bool,
    /// Where to, as the request said it (the origin's).
    pub to: Option<String>,
    /// The latest switches, oldest first.
    pub switches: Vec<Switch>,
}

fn unix_now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// What only the driver knows of discovery: where the node listens and a
/// first sequence number that grows across restarts.
pub(super) fn discovery_from_driver(d: &mut node_core::DiscoveryConfig, local: SocketAddr) {
    d.seq_base = unix_now().as_secs() << 20;
    // An unspecified address (0.0.0.0, [::]) says nothing of where the
    // node is reached; node-core refuses adverts that name one.
    let ip = local.ip().to_canonical();
    if !ip.is_unspecified() && local.port() != 0 && d.locators.is_empty() {
        d.locators = vec![node_core::wire::AdvertLocator::Socket(SocketAddr::new(
            ip,
            local.port(),
        ))];
    }
}

impl Driver {
    /// Opens what a `connect` request asks for; its handle.
    pub(super) fn open_connection(
        &mut self,
        plan: ConnectPlan,
        to: Option<&str>,
    ) -> Result<ConnectionHandle, String> {
        let no_path = |e: node_core::CommandError| match e {
            node_core::CommandError::NoPath { reason, .. } => {
                format!("no path to {}: {reason}", to.unwrap_or("the destination"))
            }
            e => e.to_string(),
        };
        match plan {
            ConnectPlan::Path(hops) => {
                let n = hops.len();
                let c = self
                    .node
                    .connect(hops, Class::Bulk, RouteKind::Stream)
                    .map_err(no_path)?;
                info!("{c}: opening along {n} hops");
                Ok(c)
            }
            ConnectPlan::To(d) => {
                let c = self
                    .node
                    .connect_to(d, Class::Bulk, RouteKind::Stream)
                    .map_err(no_path)?;
                let path = self.node.connection(c).map(|i| i.path).unwrap_or_default();
                info!(
                    "{c}: opening to {} along {}",
                    to.unwrap_or("?"),
                    path_text(&path)
                );
                Ok(c)
            }
            ConnectPlan::Set {
                destination,
                paths,
                spec,
            } => {
                let c = self
                    .node
                    .connect_set(destination, paths, spec, Class::Bulk)
                    .map_err(no_path)?;
                let routes: Vec<String> = self
                    .node
                    .route_set(c)
                    .map(|s| s.routes.iter().map(|r| path_text(&r.path)).collect())
                    .unwrap_or_default();
                info!(
                    "{c}: route set ({:?}, {} routes) opening along {}",
                    spec.mode,
                    spec.count,
                    routes.join(" and ")
                );
                self.sets.insert(
                    c,
                    SetEnd {
                        origin: true,
                        to: to.map(str::to_owned),
                        switches: Vec::new(),
                    },
                );
                Ok(c)
            }
        }
    }

    /// A route set from elsewhere reached this node.
    pub(super) fn set_incoming(&mut self, c: ConnectionHandle) {
        info!("{c}: incoming route set");
        self.sets.insert(
            c,
            SetEnd {
                origin: false,
                to: None,
                switches: Vec::new(),
            },
        );
        let carrier = Carrier::Set(c);
        self.incoming.insert(carrier, Incoming::new(carrier));
    }

    /// Set `c`'s traffic moved from route `from` (lost) to `to`.
    pub(super) fn set_switched(&mut self, c: ConnectionHandle, from: RouteHandle, to: RouteHandle) {
        let sw = Switch {
            from: from.0,
            to: to.0,
            at_s: self.now().as_secs_f64(),
            unix_ms: unix_now().as_secs_f64() * 1e3,
        };
        let stats = self.node.route_set(c).map(|s| s.stats);
        info!(
            "{c}: switched from {from} to {to} (resent so far: {} messages, {} bytes)",
            stats.map_or(0, |s| s.resent_messages),
            stats.map_or(0, |s| s.resent_bytes)
        );
        if let Some(s) = self.sets.get_mut(&c) {
            if s.switches.len() == SWITCHES_KEPT {
                s.switches.remove(0);
            }
            s.switches.push(sw);
        }
    }

    /// Set `c` closed: a transfer on it fails (a file can resume on a new
    /// connection), one arriving on it is held for its sender to resume.
    pub(super) fn set_closed(&mut self, c: ConnectionHandle, why: &str) {
        if self.sets.remove(&c).is_none() {
            return;
        }
        let carrier = Carrier::Set(c);
        if let Some(s) = self.sending.remove(&carrier) {
            let mut msg = format!(
                "{c} closed ({why}) after {} of {} bytes were confirmed",
                s.delivered, s.transfer.payload_total
            );
            if let Some(id) = s.transfer.id() {
                msg.push_str(&format!(
                    "; transfer {id} can resume on a new connection (send --resume {id})"
                ));
            }
            warn!("{msg}");
            self.answer(s.client, control::error(msg));
        }
        if let Some(mut i) = self.incoming.remove(&carrier) {
            i.route_closed(&mut self.inbox, Instant::now());
        }
    }
}

/// Hops as short hex, for logs.
fn path_text(path: &[Address]) -> String {
    let hops: Vec<String> = path.iter().map(|a| crate::hex::encode(&a.0[..4])).collect();
    hops.join(">")
}
