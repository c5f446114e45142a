//! The time series of a run as CSV: flows, links, route entries, each
//! flow's route hop by hop, and every latency sample.

use std::fmt::Write as _;

use node_core::Time;

use crate::engine::population::Nodes;
use crate::engine::{LinkRows, World};

/// Each flow's route, hop by hop, over time: what the forward direction of
/// the route's entry at each node held, sent, resent and waited for credit
/// (hop 0 is the origin). A row per flow, hop and sample while it has a
/// route.
pub fn route_hops_csv(world: &World<Nodes>) -> String {
    let mut out = String::from(
        "time_s,flow,hop,node,held_bytes,bytes_sent,bytes_retransmitted,credit_stall_ms\n",
    );
    let names: Vec<&str> = world
        .sources()
        .iter()
        .map(|s| s.spec.name.as_str())
        .collect();
    for s in world.samples() {
        for (f, hops) in s.hops.iter().enumerate() {
            for (hop, h) in hops.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{:.6},{},{hop},{},{},{},{},{:.3}",
                    s.time.as_secs_f64(),
                    names[f],
                    h.node,
                    h.held,
                    h.bytes_sent,
                    h.bytes_retransmitted,
                    h.credit_stall_ns as f64 / 1e6
                );
            }
        }
    }
    out
}

/// Route entries per node over time: buffer occupancy per hop, and the
/// cumulative hop retransmissions and credit stalls.
pub fn routes_csv(world: &World<Nodes>) -> String {
    let mut out = String::from(
        "time_s,node,entries,held_bytes,bytes_sent,bytes_retransmitted,credit_stall_ms,relay_queue_drops\n",
    );
    for (s, routes) in world.samples().iter().zip(world.route_series()) {
        for (i, t) in routes.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:.6},{i},{},{},{},{},{:.3},{}",
                s.time.as_secs_f64(),
                t.entries,
                t.held,
                t.bytes_sent,
                t.bytes_retransmitted,
                t.credit_stall_ns as f64 / 1e6,
                t.queue_drops
            );
        }
    }
    out
}

/// The flow time series: one row per flow per sample, with the goodput of
/// the interval that ends at the sample.
pub fn flows_csv(world: &World<Nodes>) -> String {
    let mut out =
        String::from("time_s,flow,delivered_messages,delivered_bytes,interval_goodput_bps\n");
    let samples = world.samples();
    for (k, s) in samples.iter().enumerate() {
        for (f, &(msgs, bytes)) in s.flows.iter().enumerate() {
            let (prev_t, prev_bytes) = match k {
                0 => (Time::ZERO, 0),
                _ => (samples[k - 1].time, samples[k - 1].flows[f].1),
            };
            let dt = s.time.saturating_since(prev_t).as_secs_f64();
            let rate = if dt > 0.0 {
                (bytes - prev_bytes) as f64 * 8.0 / dt
            } else {
                0.0
            };
            let name = &world.sources()[f].spec.name;
            let _ = writeln!(
                out,
                "{:.6},{name},{msgs},{bytes},{}",
                s.time.as_secs_f64(),
                rate as u64
            );
        }
    }
    out
}

/// Every latency sample of every flow (one-way; round trip for
/// request/response), in milliseconds, in the order the messages arrived:
/// what a latency CDF is drawn from.
pub fn latencies_csv(world: &World<Nodes>) -> String {
    let mut out = String::from("flow,latency_ms\n");
    for s in world.sources() {
        for ns in &s.stats.latencies_ns {
            let _ = writeln!(out, "{},{:.6}", s.spec.name, *ns as f64 / 1e6);
        }
    }
    out
}

/// The link time series: one row per link direction per sample.
pub fn links_csv(world: &World<Nodes>) -> String {
    let mut out = String::from(
        "time_s,link,from,to,delivered,delivered_bytes,interval_utilization,drops_loss,drops_queue,drops_collision,drops_down,drops_too_big\n",
    );
    let mut prev_links: Option<(Time, LinkRows)> = None;
    for (s, links) in world.samples().iter().zip(world.link_series()) {
        for (j, (link, dir, c)) in links.iter().enumerate() {
            let spec = &world.links().links[*link].spec;
            let (from, to) = if *dir == 0 {
                (spec.a, spec.b)
            } else {
                (spec.b, spec.a)
            };
            // A tunnel opened since the last sample has no earlier row.
            let prev = prev_links
                .as_ref()
                .and_then(|(t, p)| Some((*t, p.get(j)?)))
                .filter(|(_, (l, d, _))| (*l, *d) == (*link, *dir));
            let (prev_t, prev_busy) = match prev {
                None => (Time::ZERO, 0),
                Some((p, (_, _, c))) => (p, c.busy_by(p)),
            };
            let dt = s.time.saturating_since(prev_t).as_nanos();
            let busy = c.busy_by(s.time).saturating_sub(prev_busy);
            let util = if dt > 0 { busy as f64 / dt as f64 } else { 0.0 };
            let d = &c.drops;
            let _ = writeln!(
                out,
                "{:.6},{link},{from},{to},{},{},{:.4},{},{},{},{},{}",
                s.time.as_secs_f64(),
                c.delivered,
                c.delivered_bytes,
                util,
                d[0],
                d[1],
                d[2],
                d[3],
                d[4]
            );
        }
        prev_links = Some((s.time, links));
    }
    out
}
