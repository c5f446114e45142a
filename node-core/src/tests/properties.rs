//! Properties over random interleavings (issue 12): whatever the wire does
//! (loss, reordering, duplication) and whenever the driver restarts a
//! link, every message sent arrives exactly once and in order, on links
//! and on routes.

use proptest::prelude::*;

use super::harness::{Net, WireParams, link_to};
use super::routes::{config, message, open, route_messages};
use crate::config::RouteMode;
use crate::*;

fn wire(loss: f64, jitter_ms: u64, duplicate: f64) -> WireParams {
    WireParams {
        loss,
        jitter: Duration::from_millis(jitter_ms),
        duplicate,
        ..WireParams::default()
    }
}

fn cases() -> u32 {
    // CI runs the default; more by hand: PROPTEST_CASES=10000 cargo test.
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Link messages on two channels and both classes, over a wire that
    /// loses, reorders and duplicates, sometimes with the link restarted by
    /// the driver (a new session). Without a restart: exactly once, in
    /// order. With one: every message arrives, in order, but delivery is
    /// at-least-once: what the receiver delivered and the sender had not
    /// yet seen acknowledged is sent again on the new session, renumbered,
    /// and delivered again (a known gap: the receiver cannot tell a
    /// re-handshake of the same peer from a restarted peer, see the
    /// closing note of issue 12).
    #[test]
    fn link_messages_arrive_exactly_once_in_order(
        seed in any::<u64>(),
        loss in 0.0f64..0.3,
        jitter in 0u64..20,
        duplicate in 0.0f64..0.2,
        sizes in prop::collection::vec(0usize..3000, 1..24),
        restart_ms in prop::option::of(0u64..400),
    ) {
        let config = Config { suite: SuiteKind::Modeled, ..Config::default() };
        let mut net = Net::new(2, config, seed);
        net.connect(0, 1, wire(loss, jitter, duplicate));
        let mut sent = [Vec::new(), Vec::new()];
        for (i, &len) in sizes.iter().enumerate() {
            let channel = 1 + (i % 2) as u16;
            let class = if i % 3 == 0 { Class::Realtime } else { Class::Bulk };
            let m = message(i, len.max(4));
            sent[i % 2].push(i as u32);
            net.send(0, 1, channel, class, m);
        }
        if let Some(ms) = restart_ms {
            net.run_for(Duration::from_millis(ms));
            net.link_up(1, 0, Some(*net.identities[0].public_key()));
        }
        let total = sizes.len();
        let distinct = |n: &Net| {
            let mut ids: Vec<Vec<u8>> = n.messages(1).into_iter().map(|(_, _, m)| m[..4].to_vec()).collect();
            ids.sort();
            ids.dedup();
            ids.len()
        };
        net.run_until_cond(Duration::from_secs(120), |n| distinct(n) >= total);
        net.run_for(Duration::from_secs(1));
        let got = net.messages(1);
        for (c, expected) in sent.iter().enumerate() {
            // Messages by their number (`message` writes it first).
            let on: Vec<u32> = got
                .iter()
                .filter(|(l, ch, _)| *l == link_to(0) && *ch == 1 + c as u16)
                .map(|(_, _, m)| u32::from_be_bytes(m[..4].try_into().unwrap()))
                .collect();
            if restart_ms.is_none() {
                prop_assert_eq!(&on, expected, "channel {}", 1 + c);
            } else {
                // At least once, first copies in order; later copies are
                // what the new session sent again.
                let mut first = Vec::new();
                for m in &on {
                    if !first.contains(m) {
                        first.push(*m);
                    }
                }
                prop_assert_eq!(&first, expected, "channel {}", 1 + c);
            }
        }
    }

    /// Route messages over two lossy, reordering, duplicating hops, in
    /// both modes' reliable kind: exactly once, in order, end to end.
    #[test]
    fn route_messages_arrive_exactly_once_in_order(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        jitter in 0u64..15,
        duplicate in 0.0f64..0.2,
        count in 1usize..40,
        len in 1usize..5000,
    ) {
        let config = Config {
            route_setup_timeout: Duration::from_secs(20),
            ..config(RouteMode::StoreAndForward)
        };
        let mut net = Net::new(3, config, seed);
        net.connect(0, 1, wire(loss, jitter, duplicate));
        net.connect(1, 2, wire(loss, jitter, duplicate));
        prop_assume!(net.run_until_cond(Duration::from_secs(30), |n| n.established(0, 1) && n.established(1, 2)));
        let r = open(&mut net, 0, &[1, 2], Class::Bulk, RouteKind::Stream);
        let msgs: Vec<Vec<u8>> = (0..count).map(|i| message(i, len.max(4))).collect();
        for m in &msgs {
            while !net.nodes[0].route_has_room(r, m.len()) {
                net.run_for(Duration::from_millis(10));
            }
            net.nodes[0].route_send(r, m.clone()).unwrap();
            net.input(0, Input::Timeout);
        }
        net.run_until_cond(Duration::from_secs(60), |n| route_messages(n, 2).len() >= count);
        net.run_for(Duration::from_millis(500));
        let got: Vec<u32> = route_messages(&net, 2)
            .iter()
            .map(|m| u32::from_be_bytes(m[..4].try_into().unwrap()))
            .collect();
        prop_assert_eq!(got.len(), msgs.len());
        prop_assert_eq!(got, (0..count as u32).collect::<Vec<_>>());
        prop_assert!(route_messages(&net, 2) == msgs, "contents differ");
    }
}
