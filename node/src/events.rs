//! A compact log of a node's route and delivery events, in order.
//!
//! It exists so that a real node and the simulator can be compared: both
//! feed node-core's events through [`EventLog::record`], and the logs must
//! be equal for the same scenario (times differ; order and bytes do not).
//! Runs of messages on a route are merged into one entry (count and bytes),
//! and runs of delivery confirmations keep only the latest figure, because
//! how acknowledgements are coalesced depends on timing, not on protocol.

use node_core::{Event, RouteCloseReason};
use serde::{Deserialize, Serialize};

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RouteEvent {
    /// This node opened a route.
    Opening {
        /// Its handle.
        route: u64,
    },
    /// A route this node opened is built.
    Up {
        /// Its handle.
        route: u64,
    },
    /// A route ends here.
    Incoming {
        /// Its handle.
        route: u64,
    },
    /// Consecutive messages that arrived on a route.
    Messages {
        /// Its handle.
        route: u64,
        /// How many.
        count: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// The destination confirmed this many stream bytes (the latest of a run).
    Delivered {
        /// Its handle.
        route: u64,
        /// Stream bytes, cumulative.
        bytes: u64,
    },
    /// A route closed.
    Closed {
        /// Its handle.
        route: u64,
        /// Why, as node-core names it.
        reason: String,
    },
    /// A connection has a route up (its first, or one that replaced a
    /// broken one).
    ConnectionUp {
        /// Its handle.
        connection: u64,
    },
    /// The destination confirmed this many stream bytes of the
    /// connection's current route (the latest of a run).
    ConnectionDelivered {
        /// Its handle.
        connection: u64,
        /// Stream bytes of the route, cumulative.
        bytes: u64,
    },
    /// A connection's route broke; the node builds another.
    ConnectionBroken {
        /// Its handle.
        connection: u64,
        /// Why, as node-core names it.
        reason: String,
    },
    /// A route set from elsewhere reached this node.
    ConnectionIncoming {
        /// Its handle here.
        connection: u64,
    },
    /// A route set's failure detector suspected one of its routes.
    ConnectionSuspected {
        /// Its handle.
        connection: u64,
        /// The route suspected.
        route: u64,
    },
    /// A route set's traffic moved from a lost route to another.
    ConnectionSwitched {
        /// Its handle.
        connection: u64,
        /// The route lost.
        from: u64,
        /// The route that carries the traffic now.
        to: u64,
    },
    /// A connection closed.
    ConnectionClosed {
        /// Its handle.
        connection: u64,
        /// Why.
        reason: String,
    },
}

/// The log of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLog {
    /// The entries, oldest first.
    pub entries: Vec<RouteEvent>,
    /// Entries left out once the log was full.
    pub dropped: u64,
}

/// Entries kept; a long-lived node's log is for tests and debugging.
const MAX_ENTRIES: usize = 4096;

/// How a close reason is written in the log.
pub fn reason_name(r: RouteCloseReason) -> String {
    match r {
        RouteCloseReason::Local => "local".into(),
        RouteCloseReason::Remote => "remote".into(),
        RouteCloseReason::Broken => "broken".into(),
        RouteCloseReason::LinkFailed => "link_failed".into(),
        RouteCloseReason::Idle => "idle".into(),
        RouteCloseReason::SetupFailed(f) => format!("setup_failed: {f:?}"),
    }
}

impl EventLog {
    /// Notes `event` if it is a route or delivery event.
    pub fn record(&mut self, event: &Event) {
        let entry = match event {
            Event::RouteOpening { route } => RouteEvent::Opening { route: route.0 },
            Event::RouteUp { route } => RouteEvent::Up { route: route.0 },
            Event::RouteIncoming { route, .. } => RouteEvent::Incoming { route: route.0 },
            Event::RouteMessage { route, data } => {
                if let Some(RouteEvent::Messages {
                    route: r,
                    count,
                    bytes,
                }) = self.entries.last_mut()
                    && *r == route.0
                {
                    *count += 1;
                    *bytes += data.len() as u64;
                    return;
                }
                RouteEvent::Messages {
                    route: route.0,
                    count: 1,
                    bytes: data.len() as u64,
                }
            }
            Event::RouteDelivered { route, bytes } => {
                if let Some(RouteEvent::Delivered { route: r, bytes: b }) = self.entries.last_mut()
                    && *r == route.0
                {
                    *b = *bytes;
                    return;
                }
                RouteEvent::Delivered {
                    route: route.0,
                    bytes: *bytes,
                }
            }
            Event::RouteClosed { route, reason } => RouteEvent::Closed {
                route: route.0,
                reason: reason_name(*reason),
            },
            Event::ConnectionUp { connection, .. } => RouteEvent::ConnectionUp {
                connection: connection.0,
            },
            Event::ConnectionDelivered {
                connection, bytes, ..
            } => {
                if let Some(RouteEvent::ConnectionDelivered {
                    connection: c,
                    bytes: b,
                }) = self.entries.last_mut()
                    && *c == connection.0
                {
                    *b = *bytes;
                    return;
                }
                RouteEvent::ConnectionDelivered {
                    connection: connection.0,
                    bytes: *bytes,
                }
            }
            Event::ConnectionBroken {
                connection, reason, ..
            } => RouteEvent::ConnectionBroken {
                connection: connection.0,
                reason: reason_name(*reason),
            },
            Event::ConnectionIncoming { connection, .. } => RouteEvent::ConnectionIncoming {
                connection: connection.0,
            },
            Event::ConnectionSuspected { connection, route } => RouteEvent::ConnectionSuspected {
                connection: connection.0,
                route: route.0,
            },
            Event::ConnectionSwitched {
                connection,
                from,
                to,
            } => RouteEvent::ConnectionSwitched {
                connection: connection.0,
                from: from.0,
                to: to.0,
            },
            Event::ConnectionClosed { connection, reason } => RouteEvent::ConnectionClosed {
                connection: connection.0,
                reason: format!("{reason:?}"),
            },
            _ => return,
        };
        if self.entries.len() >= MAX_ENTRIES {
            self.dropped += 1;
        } else {
            self.entries.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::RouteHandle;

    #[test]
    fn runs_are_merged() {
        let r = RouteHandle(1);
        let mut log = EventLog::default();
        for e in [
            Event::RouteOpening { route: r },
            Event::RouteUp { route: r },
            Event::RouteDelivered {
                route: r,
                bytes: 10,
            },
            Event::RouteDelivered {
                route: r,
                bytes: 30,
            },
            Event::RouteMessage {
                route: r,
                data: vec![1; 5],
            },
            Event::RouteMessage {
                route: r,
                data: vec![1; 7],
            },
            Event::LinkDead {
                link: node_core::LinkId(3),
            },
            Event::RouteClosed {
                route: r,
                reason: RouteCloseReason::Local,
            },
        ] {
            log.record(&e);
        }
        assert_eq!(
            log.entries,
            vec![
                RouteEvent::Opening { route: 1 },
                RouteEvent::Up { route: 1 },
                RouteEvent::Delivered {
                    route: 1,
                    bytes: 30
                },
                RouteEvent::Messages {
                    route: 1,
                    count: 2,
                    bytes: 12
                },
                RouteEvent::Closed {
                    route: 1,
                    reason: "local".into()
                },
            ]
        );
    }
}
