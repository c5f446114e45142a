//! Drain notices (issue 14) against a hostile hop: the origin's first hop
//! is the attacker, who speaks the wire format with the route's real keys.
//! A notice acts once per link; replays, floods of fresh nonces, notices
//! naming no link, forged payloads and other messages on a live route are
//! dropped and counted, and hold no state.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::Routes;
use super::crypto::{self, HopKeys};
use crate::config::Config;
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity};
use crate::interface::Event;
use crate::link::Written;
use crate::time::{Duration, Time};
use crate::wire::{
    Class, ControlMessage, DrainSide, ExtendFailure, Frame, RouteCreatedFrame, RouteCtrlFrame,
    RouteFrame, RouteId, RouteKind, frames,
};

fn config() -> Config {
    Config {
        suite: SuiteKind::Modeled,
        ..Config::default()
    }
}

/// The victim's route to the attacker (its only hop, so its destination),
/// up; returns the victim, the attacker's address, its keys for the route
/// and the id the victim receives the route's frames on.
fn live_route() -> (Routes, Address, HopKeys, RouteId) {
    let config = config();
    let suite = config.suite.suite();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let me = Identity::generate(config.suite, &mut rng);
    let attacker = Identity::generate(config.suite, &mut rng);
    let mut r = Routes::new(&config, me, [5; 32]);
    r.on_neighbour_up(attacker.address());
    let now = Time::ZERO + Duration::from_secs(1);
    r.open(
        now,
        vec![attacker.address()],
        Class::Bulk,
        RouteKind::Stream,
    )
    .unwrap();
    let mut buf = Vec::new();
    let Some(Written::Reliable(t)) =
        r.write_frame(now, attacker.address(), Class::Realtime, 1400, &mut buf)
    else {
        panic!("a CREATE")
    };
    r.on_acked(&t);
    let Some(Ok(Frame::Upper(u))) = frames(&buf).next() else {
        panic!("an upper frame")
    };
    let Ok(RouteFrame::Create(create)) = RouteFrame::parse(u) else {
        panic!("a CREATE")
    };
    let (answer, keys) = crypto::answer_hop(suite, &attacker, &create.eph_pub, &mut rng).unwrap();
    let created = RouteCreatedFrame {
        reply_route: create.reply_route,
        route: RouteId([0xA0; 16]),
        eph_pub: answer.eph_pub,
        static_pub: answer.static_pub,
        auth: answer.auth,
    };
    let mut bytes = Vec::new();
    RouteFrame::Created(created).emit(&mut bytes);
    let Some(Ok(Frame::Upper(u))) = frames(&bytes).next() else {
        panic!("an upper frame")
    };
    r.on_upper_frame(now, attacker.address(), u);
    assert!(
        r.events.iter().any(|e| matches!(e, Event::RouteUp { .. })),
        "the route is up"
    );
    r.events.clear();
    (r, attacker.address(), keys, create.reply_route)
}

/// The attacker's backward control payload `payload` on the route.
fn send_back(r: &mut Routes, from: Address, route: RouteId, nonce: u64, payload: &[u8]) {
    let mut bytes = Vec::new();
    RouteFrame::Ctrl(RouteCtrlFrame {
        route,
        nonce,
        payload,
    })
    .emit(&mut bytes);
    let now = Time::ZERO + Duration::from_secs(2);
    for f in frames(&bytes) {
        if let Ok(Frame::Upper(u)) = f {
            r.on_upper_frame(now, from, u);
        }
    }
}

fn notices(r: &Routes) -> Vec<(Address, Address)> {
    r.events
        .iter()
        .filter_map(|e| match e {
            Event::RouteDraining { link, .. } => Some(*link),
            _ => None,
        })
        .collect()
}

fn nonces_kept(r: &Routes) -> usize {
    r.routes
        .values()
        .map(|x| match &x.role {
            super::Role::Origin(o) => o.back_nonces_seen.len() + o.draining.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn a_drain_notice_acts_once_and_a_flood_holds_nothing() {
    let (mut r, attacker, keys, route) = live_route();
    let suite = SuiteKind::Modeled.suite();
    let me = r.identity.address();
    let msg = ControlMessage::Draining(DrainSide::TowardOrigin).encode();
    let first = crypto::wrap_backward(suite, &keys, 77, &msg);
    send_back(&mut r, attacker, route, 77, &first);
    assert_eq!(
        notices(&r),
        vec![(me, attacker)],
        "the link, origin end first"
    );
    // Replayed, and flooded with fresh nonces: nothing new, nothing kept.
    for _ in 0..10 {
        send_back(&mut r, attacker, route, 77, &first);
    }
    for nonce in 1000..3000u64 {
        let p = crypto::wrap_backward(suite, &keys, nonce, &msg);
        send_back(&mut r, attacker, route, nonce, &p);
    }
    assert_eq!(notices(&r).len(), 1);
    assert_eq!(r.stats().drains_heard, 1);
    assert!(nonces_kept(&r) <= 1, "kept {}", nonces_kept(&r));
    assert_eq!(r.stats().violations, 0);
}

#[test]
fn notices_naming_no_link_forged_or_other_messages_are_violations() {
    let (mut r, attacker, keys, route) = live_route();
    let suite = SuiteKind::Modeled.suite();
    // The destination has no link beyond it.
    let beyond = ControlMessage::Draining(DrainSide::TowardDestination).encode();
    let p = crypto::wrap_backward(suite, &keys, 1, &beyond);
    send_back(&mut r, attacker, route, 1, &p);
    assert_eq!(r.stats().violations, 1);
    // A build answer on a live route.
    let late = ControlMessage::ExtendFailed(ExtendFailure::NoLink).encode();
    let p = crypto::wrap_backward(suite, &keys, 2, &late);
    send_back(&mut r, attacker, route, 2, &p);
    assert_eq!(r.stats().violations, 2);
    // Bytes that open under no hop's key.
    let forged = vec![0x5a; super::control::CTRL_PAYLOAD_LEN];
    send_back(&mut r, attacker, route, 3, &forged);
    assert_eq!(r.stats().violations, 3);
    // An unknown message kind, sealed right.
    let mut odd = vec![0x8f, 1];
    odd.resize(crate::wire::CTRL_MSG_LEN, 0);
    let p = crypto::wrap_backward(suite, &keys, 4, &odd);
    send_back(&mut r, attacker, route, 4, &p);
    assert_eq!(r.stats().violations, 4);
    assert!(notices(&r).is_empty(), "no notice from any of them");
    assert!(nonces_kept(&r) == 0);
    // The route still works: a true notice is taken.
    let ok = ControlMessage::Draining(DrainSide::TowardOrigin).encode();
    let p = crypto::wrap_backward(suite, &keys, 5, &ok);
    send_back(&mut r, attacker, route, 5, &p);
    assert_eq!(notices(&r).len(), 1);
}

#[test]
fn a_draining_neighbour_takes_no_new_route() {
    let (mut r, attacker, _, _) = live_route();
    assert_eq!(r.tell_draining(attacker), 1, "the live route is told");
    assert_eq!(notices(&r).len(), 1, "at the origin the notice is local");
    // A CREATE from the draining neighbour is refused (a TEARDOWN back).
    let suite = SuiteKind::Modeled.suite();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let init = crypto::initiate_hop(suite, &mut rng);
    let mut bytes = Vec::new();
    RouteFrame::Create(crate::wire::RouteCreateFrame {
        reply_route: RouteId([0xC1; 16]),
        eph_pub: init.eph_pub,
    })
    .emit(&mut bytes);
    let now = Time::ZERO + Duration::from_secs(3);
    for f in frames(&bytes) {
        if let Ok(Frame::Upper(u)) = f {
            r.on_upper_frame(now, attacker, u);
        }
    }
    assert_eq!(r.stats().refused.draining, 1);
    let entries = r.stats().entries;
    assert_eq!(entries, 1, "only the live route");
    // A new link to the neighbour: it takes routes again.
    r.on_neighbour_up(attacker);
    for f in frames(&bytes) {
        if let Ok(Frame::Upper(u)) = f {
            r.on_upper_frame(now, attacker, u);
        }
    }
    assert_eq!(r.stats().refused.draining, 1);
    assert_eq!(r.stats().entries, 2);
}
