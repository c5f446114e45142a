//! The node's status as the control endpoint reports it: links, routes,
//! connections, route sets, the topology database, counters and the route
//! event log. A relay's status shows only what it knows: its links, and
//! per route its role, counters and previous and next hop, never the
//! route's ends.

use node_core::{Address, LinkStats};
use serde_json::{Value, json};

use crate::driver::Driver;
use crate::hex;
use crate::transfer::Carrier;

/// Links of the topology database listed, at most (the count is whole).
const MAX_LINKS_SHOWN: usize = 1024;

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
            let sending = d.sending.get(&Carrier::Route(h)).map(sending);
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
                "received": d.incoming.get(&Carrier::Route(h)).map(|i| i.bytes),
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
    let discovery = node.config().discovery.as_ref().map(|_| discovery(d));
    let sets: Vec<Value> = node.route_sets().filter_map(|c| route_set(d, c)).collect();
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
        "route_sets": sets,
        "discovery": discovery,
        "pay": pay(d),
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
            "sets_refused": node.sets_refused(),
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

/// The topology database (what this node's adverts and its neighbours'
/// floods told it) and the discovery layer's counters.
fn discovery(d: &Driver) -> Value {
    let db = d.node.topology();
    let links = db.links();
    let shown: Vec<Value> = links
        .iter()
        .take(MAX_LINKS_SHOWN)
        .map(|(a, b, l)| {
            json!({
                "from": hex::encode(&a.0),
                "to": hex::encode(&b.0),
                "rtt_ms": f64::from(l.rtt_us) / 1e3,
                "loss": f64::from(l.loss) / f64::from(u16::MAX),
                "rate_kbps": l.rate_kbps,
            })
        })
        .collect();
    let t = db.stats;
    let s = d.node.discovery_stats();
    json!({
        "origins": db.len(),
        // Two-way links, once per direction.
        "links_total": links.len(),
        "links": shown,
        "gateways": db.gateways().len(),
        "database": {
            "accepted": t.accepted,
            "duplicate": t.duplicate,
            "stale": t.stale,
            "too_frequent": t.too_frequent,
            "full": t.full,
            "inconsistent": t.inconsistent,
            "expired": t.expired,
        },
        "stats": {
            "originated": s.originated,
            "adverts_sent": s.adverts_sent,
            "bytes_sent": s.bytes_sent,
            "adverts_received": s.adverts_received,
            "bytes_received": s.bytes_received,
            "malformed": s.malformed,
            "bad_signature": s.bad_signature,
            "impossible": s.impossible,
            "over_rate": s.over_rate,
            "own_superseded": s.own_superseded,
        },
    })
}

/// A route set, either end: its routes, store, reordering and counters,
/// the transfer on it and the switches the driver saw.
fn route_set(d: &Driver, c: node_core::ConnectionHandle) -> Option<Value> {
    let info = d.node.route_set(c)?;
    let end = d.sets.get(&c);
    let routes: Vec<Value> = info
        .routes
        .iter()
        .map(|r| {
            json!({
                "route": r.route.0,
                "path": r.path.iter().map(|a| hex::encode(&a.0)).collect::<Vec<_>>(),
                "up": r.up,
                "active": r.active,
                "srtt_ms": r.srtt.map(|t| t.as_nanos() as f64 / 1e6),
                "rate_bps": r.rate_bps,
                "unconfirmed": r.unconfirmed,
            })
        })
        .collect();
    let st = info.stats;
    let carrier = Carrier::Set(c);
    Some(json!({
        "connection": c.0,
        "role": match end.map(|e| e.origin) {
            Some(true) => "origin",
            Some(false) => "destination",
            None => "unknown",
        },
        "to": end.and_then(|e| e.to.clone()),
        // By node-core's name ("failover", "aggregate", ...).
        "mode": format!("{:?}", info.mode).to_lowercase(),
        "count": info.count,
        "routes": routes,
        "active": info.routes.iter().find(|r| r.active).map(|r| r.route.0),
        "stored": info.stored,
        "reorder_held": info.reorder_held,
        "reorder_max": info.reorder_max,
        "duplicates": info.duplicates,
        "switches": st.switches,
        "resent_messages": st.resent_messages,
        "resent_bytes": st.resent_bytes,
        "stats": {
            "routes_built": st.routes_built,
            "routes_up": st.routes_up,
            "suspected": st.suspected,
            "switches": st.switches,
            "resent_messages": st.resent_messages,
            "resent_bytes": st.resent_bytes,
            "probes": st.probes,
            "confirmed_bytes": st.confirmed_bytes,
            "delivered_messages": st.delivered_messages,
            "delivered_bytes": st.delivered_bytes,
            "malformed": st.malformed,
        },
        "switch_log": end.map(|e| e.switches.clone()).unwrap_or_default(),
        "sending": d.sending.get(&carrier).map(sending),
        "received": d.incoming.get(&carrier).map(|i| i.bytes),
        "raw": d.incoming.get(&carrier).map(|i| i.is_raw()),
    }))
}

/// Receipts of the wallet listed, at most (the count and sums are whole).
const MAX_RECEIPTS_SHOWN: usize = 256;

/// Payments: this node's terms, its counters, the receipts it was paid
/// with (its wallet, for the escrow) and, if it plays the escrow, the
/// ledger's totals.
fn pay(d: &Driver) -> Value {
    let node = &d.node;
    let cfg = &node.config().pay;
    let s = node.pay_stats();
    let owed: u64 = d.wallet.values().map(|r| r.owed).sum();
    let receipts: Vec<Value> = d
        .wallet
        .values()
        .take(MAX_RECEIPTS_SHOWN)
        .map(|r| {
            json!({
                "pseudonym": hex::encode(&r.pseudonym.0),
                "bytes": r.bytes,
                "back": r.back,
                "owed": r.owed,
                "seq": r.seq,
            })
        })
        .collect();
    let escrow = node.escrow().map(|e| {
        let l = &e.ledger;
        json!({
            "deposited": l.deposited().to_string(),
            "withdrawn": l.withdrawn().to_string(),
            "fees": l.fees().to_string(),
            "withdrawals": l.withdrawals.len(),
            "conservation_error": l.conservation_error().to_string(),
            "redeemed": l.stats.redeemed,
            "refused": {
                "forged": l.stats.forged,
                "replayed": l.stats.replayed,
                "beyond_deposit": l.stats.beyond_deposit,
                "unknown_account": l.stats.unknown_account,
                "full": l.stats.full,
                "withdrawals": l.stats.withdrawals_refused,
            },
            "answered": e.stats.answered,
            "malformed": e.stats.malformed,
            "bad_signatures": e.stats.bad_signatures,
        })
    });
    json!({
        "relay": cfg.relay.map(|t| json!({
            "price_per_mb": t.price.per_gb / 1000,
            "credit": t.credit.0,
        })),
        "stats": {
            "prices_sent": s.prices_sent,
            "prices_heard": s.prices_heard,
            "pauses": s.pauses,
            "invoices_sent": s.invoices_sent,
            "invoices_heard": s.invoices_heard,
            "receipts_sent": s.receipts_sent,
            "receipts_taken": s.receipts_taken,
            "duplicates": s.duplicates,
            "forged": s.forged,
            "foreign": s.foreign,
            "stale": s.stale,
            "underpaid": s.underpaid,
            "refused": s.refused,
            "flood": s.flood,
            "wallet_full": s.wallet_full,
            "bytes_charged": s.bytes_charged,
        },
        "accounts_opened": d.pay_accounts,
        "wallet": {
            "receipts": d.wallet.len(),
            "owed": owed,
            "list": receipts,
        },
        "escrow": escrow,
        "escrow_client": d.escrow.status(),
    })
}
