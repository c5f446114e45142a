//! Bad input: every datagram is accepted or dropped and counted; sessions
//! keep working.

use proptest::prelude::*;

use super::harness::{Net, WireParams, link_to};
use crate::wire::{HandshakeInit, HandshakeResp, SealedHeader};
use crate::*;

/// Two established nodes (0 and 1) and a stranger (2) linked to 0, with
/// every datagram captured.
fn three(suite: SuiteKind) -> Net {
    let mut net = Net::new(
        3,
        Config {
            suite,
            ..Config::default()
        },
        31,
    );
    net.capture = true;
    net.connect(0, 1, WireParams::default());
    net.connect(0, 2, WireParams::default());
    net.run_for(Duration::from_millis(100));
    net.send(1, 0, 1, Class::Bulk, vec![9; 2_000]);
    net.run_for(Duration::from_millis(100));
    net
}

fn sealed_from(net: &Net, to: usize, link: LinkId) -> Vec<Vec<u8>> {
    net.captured
        .iter()
        .filter(|(t, l, b)| *t == to && *l == link && b[0] == 3)
        .map(|(_, _, b)| b.clone())
        .collect()
}

fn drops(net: &Net) -> DropStats {
    net.nodes[0].link(link_to(1)).unwrap().stats.drops
}

fn still_works(net: &mut Net) {
    let before = net.messages(0).len();
    net.send(1, 0, 4, Class::Realtime, b"still here".to_vec());
    net.run_for(Duration::from_millis(100));
    let msgs = net.messages(0);
    assert_eq!(msgs.len(), before + 1);
    assert_eq!(msgs.last().unwrap().2, b"still here");
}

#[test]
fn tampered_replayed_forged_and_truncated_datagrams_are_counted() {
    for suite in [SuiteKind::Real, SuiteKind::Modeled] {
        let mut net = three(suite);
        let good = sealed_from(&net, 0, link_to(1));
        assert!(good.len() >= 2);
        let last = good.last().unwrap().clone();

        // Replay: a datagram that was already accepted.
        net.inject(0, link_to(1), last.clone());
        assert_eq!(drops(&net).replay, 1, "{suite}");

        // Tamper: flip one bit of the ciphertext of a fresh-looking packet.
        let mut flipped = last.clone();
        flipped[SealedHeader::LEN + 2] ^= 0x10;
        flipped[12] = flipped[12].wrapping_add(200); // a packet number not yet seen
        net.inject(0, link_to(1), flipped);
        assert_eq!(drops(&net).bad_tag, 1, "{suite}");

        // Forged with another key: node 2's packets to node 0 shown on
        // node 1's link (another session index, and another key).
        let theirs = sealed_from(&net, 0, link_to(2));
        net.inject(0, link_to(1), theirs.last().unwrap().clone());
        let d = drops(&net);
        assert_eq!(d.unknown_session + d.bad_tag, 2, "{suite}");

        // Truncated and garbage bytes.
        net.inject(0, link_to(1), last[..20].to_vec());
        net.inject(0, link_to(1), vec![]);
        net.inject(0, link_to(1), vec![0xEE; 300]);
        assert_eq!(drops(&net).malformed, 3, "{suite}");

        // A response to no handshake, and an INIT from an impostor.
        let mut resp = vec![2u8, 1];
        resp.resize(HandshakeResp::LEN, 0);
        net.inject(0, link_to(1), resp);
        assert_eq!(drops(&net).unexpected, 1, "{suite}");
        let mallory = Identity::from_secret(suite, [77; 32]).unwrap();
        let mut init = Vec::new();
        HandshakeInit {
            version: 1,
            initiator_index: 5,
            eph_pub: mallory.public_key().0,
            static_pub: mallory.public_key().0,
            mac: [0; 16],
        }
        .emit(&mut init);
        net.inject(0, link_to(1), init);
        assert_eq!(drops(&net).unauthenticated, 1, "{suite}");

        // A link the driver never brought up.
        net.inject(0, LinkId(4242), last.clone());
        assert_eq!(net.nodes[0].stats().unknown_link, 1);

        still_works(&mut net);
        assert_eq!(
            net.count_events(0, |e| matches!(e, Event::LinkEstablished { .. })),
            2
        );
    }
}

#[test]
fn old_packets_are_rejected_beyond_the_replay_window() {
    let mut net = three(SuiteKind::Modeled);
    let first = sealed_from(&net, 0, link_to(1))[0].clone();
    for i in 0..1_500 {
        net.send(1, 0, 2, Class::Bulk, vec![i as u8; 10]);
    }
    net.run_for(Duration::from_secs(1));
    net.inject(0, link_to(1), first);
    assert_eq!(drops(&net).replay, 1);
    still_works(&mut net);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_break_the_session(
        junk in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..1500), 1..20),
    ) {
        let mut net = three(SuiteKind::Modeled);
        for bytes in junk {
            net.inject(0, link_to(1), bytes);
        }
        still_works(&mut net);
    }

    #[test]
    fn mutated_datagrams_never_panic_or_break_the_session(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
        real in any::<bool>(),
    ) {
        let suite = if real { SuiteKind::Real } else { SuiteKind::Modeled };
        let mut net = three(suite);
        let all: Vec<Vec<u8>> = net.captured.iter().map(|c| c.2.clone()).collect();
        let mut bytes = pick.get(&all).clone();
        for (at, value, op) in edits {
            let i = at.index(bytes.len().max(1));
            match op {
                0 if !bytes.is_empty() => bytes[i] ^= value | 1,
                1 => bytes.insert(i.min(bytes.len()), value),
                2 if !bytes.is_empty() => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        net.inject(0, link_to(1), bytes);
        still_works(&mut net);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// An authenticated relay whose route frames are damaged (any byte, any
    /// value, now and then) never makes its neighbours panic, and their
    /// links keep working.
    #[test]
    fn damaged_route_frames_from_an_authenticated_peer_never_panic(
        seed in any::<u64>(),
        every in 1u32..6,
        at in any::<prop::sample::Index>(),
        value in 1u8..=255,
        e2e in any::<bool>(),
    ) {
        use crate::config::RouteMode;
        let mode = if e2e { RouteMode::EndToEnd } else { RouteMode::StoreAndForward };
        let config = Config { suite: SuiteKind::Modeled, route_mode: mode, ..Config::default() };
        let mut net = Net::new(3, config, seed);
        net.connect(0, 1, WireParams::default());
        net.connect(1, 2, WireParams::default());
        net.run_for(Duration::from_millis(100));
        let damaged = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let count = damaged.clone();
        let mut n = 0u32;
        let damage = move |plain: &mut [u8]| {
            n += 1;
            if n.is_multiple_of(every) && !plain.is_empty() {
                let i = at.index(plain.len());
                plain[i] ^= value;
                count.set(count.get() + 1);
            }
        };
        net.nodes[1].corrupt_link(link_to(0), Some(Box::new(damage.clone())));
        net.nodes[1].corrupt_link(link_to(2), Some(Box::new(damage)));
        let path = vec![net.identities[1].address(), net.identities[2].address()];
        if let Ok(r) = net.nodes[0].open_route(path, Class::Bulk, RouteKind::Stream) {
            net.input(0, Input::Timeout);
            for i in 0..40 {
                let _ = net.nodes[0].route_send(r, vec![i as u8; 3_000]);
                net.input(0, Input::Timeout);
                net.run_for(Duration::from_millis(20));
            }
        }
        net.run_for(Duration::from_secs(2));
        prop_assert!(damaged.get() > 0, "no packet was damaged");
        // A peer that damages its own frames may break its links (a damaged
        // REKEY derails the key agreement): nothing can prevent that. What
        // must hold is that nobody panicked, and that once the damage stops
        // the links heal (dead, handshake again) and carry messages.
        net.nodes[1].corrupt_link(link_to(0), None);
        net.nodes[1].corrupt_link(link_to(2), None);
        net.run_for(Duration::from_secs(15));
        net.send(2, 1, 9, Class::Bulk, b"healed".to_vec());
        net.send(0, 1, 9, Class::Bulk, b"healed".to_vec());
        net.send(1, 0, 9, Class::Bulk, b"healed".to_vec());
        net.run_for(Duration::from_secs(1));
        let got = |n: usize| net.messages(n).iter().filter(|m| m.2 == b"healed").count();
        prop_assert_eq!((got(1), got(0)), (2, 1));
    }
}

/// A forged INIT: anybody can name a peer's public key and spoof its
/// address (finding 6 of the hardening review).
fn forged_init(claimed: &PublicKey, n: u8, mac: [u8; 16]) -> Vec<u8> {
    let eph = Identity::from_secret(SuiteKind::Modeled, [n.max(1); 32]).unwrap();
    let mut bytes = Vec::new();
    HandshakeInit {
        version: 1,
        initiator_index: u32::from(n),
        eph_pub: eph.public_key().0,
        static_pub: claimed.0,
        mac,
    }
    .emit(&mut bytes);
    bytes
}

/// With the peer's key configured, INITs that do not prove it (no MAC, or
/// a wrong one) are refused before any state changes: a flood of them,
/// sent while the real handshake runs, neither displaces it nor makes the
/// node give up its own INIT.
#[test]
fn forged_inits_cannot_keep_a_configured_link_down() {
    let mut net = Net::new(
        2,
        Config {
            suite: SuiteKind::Modeled,
            ..Config::default()
        },
        41,
    );
    net.capture = true;
    let k1 = *net.identities[1].public_key();
    net.wire(0, 1, WireParams::default(), WireParams::default());
    net.link_up(0, 1, Some(k1));
    for n in 0..100u8 {
        let mac = if n % 2 == 0 { [0; 16] } else { [n; 16] };
        net.inject(0, link_to(1), forged_init(&k1, n, mac));
    }
    net.link_up(1, 0, Some(*net.identities[0].public_key()));
    for n in 100..200u8 {
        net.inject(0, link_to(1), forged_init(&k1, n, [0; 16]));
        net.run_for(Duration::from_millis(5));
    }
    assert!(net.run_until_cond(Duration::from_secs(2), |n| n.established(0, 1)));
    // Each forgery was refused: those without a MAC at no cost, those with
    // a wrong one by the MAC check or the rate limit (which may also have
    // delayed one of the peer's own INITs: the node's INIT brought the
    // link up).
    let d = drops(&net);
    assert!(d.unauthenticated >= 150, "{d:?}");
    assert!(
        (200..=203).contains(&(d.unauthenticated + d.rate_limited)),
        "{d:?}"
    );
    // No forgery was answered (each answer is a 92-byte RESP on the wire).
    let answered = net
        .captured
        .iter()
        .filter(|(to, _, b)| *to == 1 && b.len() == HandshakeResp::LEN && b[0] == 2)
        .count();
    assert!(answered <= 1, "{answered} RESPs sent to the spoofed peer");
    still_works(&mut net);
}

/// In open peering (no key configured) an INIT without a MAC cannot be
/// told from a forgery: each takes one of a few answer slots and never the
/// node's own INIT, and new INITs are rate-limited per link.
#[test]
fn forged_inits_in_open_peering_take_bounded_state() {
    let mut net = Net::new(
        2,
        Config {
            suite: SuiteKind::Modeled,
            ..Config::default()
        },
        43,
    );
    let k1 = *net.identities[1].public_key();
    net.wire(0, 1, WireParams::default(), WireParams::default());
    net.link_up(0, 1, None);
    for n in 0..50u8 {
        net.inject(0, link_to(1), forged_init(&k1, n, [0; 16]));
    }
    let link = net.nodes[0].link(link_to(1)).unwrap();
    // The burst is answered (8 and the one the bucket refilled), the rest
    // rate-limited; at most four answers wait.
    assert_eq!(
        link.stats.drops.rate_limited,
        50 - 9,
        "{:?}",
        link.stats.drops
    );
    net.link_up(1, 0, None);
    assert!(net.run_until_cond(Duration::from_secs(3), |n| n.established(0, 1)));
    still_works(&mut net);
}
