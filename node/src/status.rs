//! The node's status as the control endpoint reports it: links, routes,
//! counters and the route event log. A relay's status shows only what it
//! knows: its links, and per route its role, counters and previous and
//! next hop, never the route's ends.

use node_core::{Address, LinkStats};
use serde_json::{Value, json};

use crate::driver::Driver;
use crate::hex;

fn link_stats(s: &LinkStats) -> Value {
    json!({
        "datagrams_sent": s.datagrams_sent,
        "datagrams_received": s.datagrams_received,
        "bytes_sent": s.bytes_sent,
        "bytes_received": s.bytes_received,
        "packets_lost": s.packets_lost,
        "frames_retransmitted": s.frames_retransmitted,
        "rekeys": s.rekeys,
        "handshakes": s.handshakes,
        "protocol_violations": s.protocol_violations,
        "drops": {
            "bad_tag": s.drops.bad_tag,
            "replay": s.drops.replay,
            "malformed": s.drops.malformed,
            "unknown_session": s.drops.unknown_session,
            "unauthenticated": s.drops.unauthenticated,
            "unexpected": s.drops.unexpected,
            "total": s.drops.total(),
        },
    })
}

/// An outgoing transfer.
fn sending(s: &crate::driver::Sending) -> Value {
    json!({
        "transfer": s.transfer.id().map(|i| i.to_string()),
        "size": s.transfer.size(),
        "sent": s.transfer.sent,
        "high_water": s.transfer.high_water(),
        "resent": s.transfer.resent,
        "awaiting_offset": s.transfer.awaiting_offset(),
        "stream_total": s.transfer.stream_total,
        "delivered": s.delivered,
        "routes": s.routes,
    })
}

/// The status document.
pub fn status(d: &Driver) -> Value {
    let node = &d.node;
    let links: Vec<Value> = node
        .links()
        .map(|l| {
            let slot = d.links.get(&l.id);
            json!({
                "link": l.id.0,
                "endpoint": slot.map(|s| s.addr.to_string()),
                "configured": slot.is_some_and(|s| s.configured.is_some()),
                "established": l.established,
                "closed": l.closed,
                "peer_key": l.peer.map(|k| hex::encode(&k.0)),
                "peer_address": l.peer.map(|k| hex::encode(&Address::of(&k).0)),
                "srtt_ms": l.srtt.as_nanos() as f64 / 1e6,
                "send_backlog": l.send_backlog,
                "bytes_in_flight": l.bytes_in_flight,
                "stats": link_stats(&l.stats),
            })
        })
        .collect();
    let routes: Vec<Value> = node
        .routes()
        .filter_map(|h| {
            let info = node.route(h)?;
            let sending = d.sending.get(&h).map(sending);
            // The route's neighbours, as the peers' addresses.
            let hop = |link: Option<node_core::LinkId>| {
                let peer = node.link(link?)?.peer?;
                Some(hex::encode(&Address::of(&peer).0))
            };
            Some(json!({
                "route": h.0,
                "role": info.role,
                "previous_hop": hop(info.upstream),
                "next_hop": hop(info.downstream),
                "up": d.up.contains(&h),
                "held": info.held,
                "bytes_sent": info.sent.iter().map(|s| s.bytes_sent).sum::<u64>(),
                "bytes_retransmitted": info.sent.iter().map(|s| s.bytes_retransmitted).sum::<u64>(),
                "credit_stalls": info.sent.iter().map(|s| s.credit_stalls).sum::<u64>(),
                "sending": sending,
                "received": d.incoming.get(&h).map(|i| i.bytes),
            }))
        })
        .collect();
    let connections: Vec<Value> = node
        .connections()
        .filter_map(|c| {
            let info = node.connection(c)?;
            let (state, retry_at_s) = match info.state {
                node_core::ConnectionState::Opening => ("opening", None),
                node_core::ConnectionState::Up => ("up", None),
                node_core::ConnectionState::Waiting { until } => {
                    ("waiting", Some(until.as_secs_f64()))
                }
            };
            Some(json!({
                "connection": c.0,
                "state": state,
                "route": info.route.map(|r| r.0),
                "reopens": info.reopens,
                "failures": info.failures,
                "retry_at_s": retry_at_s,
                "last_break": info.last_break.map(crate::events::reason_name),
                // A transfer waiting for this connection's next route.
                "paused": d.paused.get(&c).map(sending),
                "path": info.path.iter().map(|a| hex::encode(&a.0)).collect::<Vec<_>>(),
            }))
        })
        .collect();
    let neighbours: Vec<Value> = node
        .neighbours()
        .map(|n| {
            json!({
                "address": hex::encode(&n.address.0),
                "carrier": n.carrier.map(|l| l.0),
                "links": n.links.iter().map(|l| json!({
                    "link": l.link.0,
                    "draining": l.draining,
                    "srtt_ms": l.srtt.as_nanos() as f64 / 1e6,
                    "lost": l.lost,
                    "sent": l.sent,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ns = node.stats();
    let rs = node.route_stats();
    let ts = node.tunnel_stats();
    json!({
        "address": hex::encode(&node.identity().address().0),
        "public_key": hex::encode(&node.identity().public_key().0),
        "listen": d.local.to_string(),
        "suite": ns.suite.name(),
        "links": links,
        "neighbours": neighbours,
        "routes": routes,
        "connections": connections,
        "stats": {
            "links": link_stats(&ns.links),
            "unknown_link": ns.unknown_link,
            "tunnels": {
                "requested": ts.requested,
                "opened": ts.opened,
                "failed": ts.failed,
                "accepted": ts.accepted,
                "refused": ts.refused,
                "closed": ts.closed,
            },
            "routes": {
                "opened": rs.opened,
                "up": rs.up,
                "entries": rs.entries,
                "unknown_route": rs.unknown_route,
                "violations": rs.violations,
            },
            "driver": d.stats,
            // Files being received (written now or held for a new
            // route), against their caps.
            "incoming": {
                "files": d.inbox.files,
                "held": d.inbox.held(),
                "bytes": d.inbox.bytes,
                "max_files": d.inbox.limits.max_files,
                "max_bytes": d.inbox.limits.max_bytes,
                "resume_window_s": d.inbox.limits.resume_window.as_secs_f64(),
                "stats": d.inbox.stats,
            },
        },
        "recv_dir": d.recv_dir,
        "events": d.log,
    })
}
