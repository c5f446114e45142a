//! SEGMENT and SEGMENT_HOPS against a hostile peer (n-order meshes): as a
//! hop, the victim answers one SEGMENT per route and counts the rest; as
//! an origin, it takes an answer only when it asked, and refuses hops
//! that loop, run past `max_path_len` or lie about reaching the
//! destination. The attacker speaks the wire format with real keys.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::crypto::{self, HopKeys};
use super::{RouteKind, Routes};
use crate::config::Config;
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity};
use crate::interface::{Event, RouteCloseReason, RouteFailure};
use crate::link::Written;
use crate::time::Time;
use crate::wire::{
    Class, ControlMessage, Frame, RouteCreatedFrame, RouteCtrlFrame, RouteFrame, RouteId, frames,
};

fn config() -> Config {
    Config {
        suite: SuiteKind::Modeled,
        max_path_len: 5,
        ..Config::default()
    }
}

fn feed(r: &mut Routes, from: Address, frame: RouteFrame<'_>) {
    let mut bytes = Vec::new();
    frame.emit(&mut bytes);
    for f in frames(&bytes) {
        if let Ok(Frame::Upper(u)) = f {
            r.on_upper_frame(Time::ZERO, from, u);
        }
    }
}

/// The route frames the victim sends `to` now, acknowledged at once.
fn sent(r: &mut Routes, to: Address) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for class in [Class::Realtime, Class::Bulk] {
        loop {
            let mut buf = Vec::new();
            match r.write_frame(Time::ZERO, to, class, 1400, &mut buf) {
                Some(Written::Reliable(token)) => r.on_acked(&token),
                Some(Written::Unreliable) => {}
                None => break,
            }
            out.push(buf);
        }
    }
    out
}

/// Calls `f` with every route frame in `bufs`.
fn each(bufs: &[Vec<u8>], mut f: impl FnMut(RouteFrame<'_>)) {
    for b in bufs {
        for x in frames(b) {
            if let Ok(Frame::Upper(u)) = x
                && let Ok(r) = RouteFrame::parse(u)
            {
                f(r);
            }
        }
    }
}

/// The attacker as the victim's first hop: the route's ids and the hop's
/// keys, once the victim asked it for a segment toward `dest`.
struct Hop {
    keys: HopKeys,
    /// The id the victim receives backward frames on.
    back: RouteId,
}

fn origin_asking(dest: Address, seed: u64) -> (Routes, Identity, Hop) {
    let config = config();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let me = Identity::generate(config.suite, &mut rng);
    let att = Identity::generate(config.suite, &mut rng);
    let mut r = Routes::new(&config, me, [4; 32]);
    r.on_neighbour_up(att.address());
    r.open_toward(
        Time::ZERO,
        vec![att.address()],
        Some((dest, 3)),
        Class::Bulk,
        RouteKind::Stream,
    )
    .unwrap();
    let suite = config.suite.suite();
    let mut hop = None;
    each(&sent(&mut r, att.address()), |f| {
        if let RouteFrame::Create(c) = f {
            let (answer, keys) = crypto::answer_hop(suite, &att, &c.eph_pub, &mut rng).unwrap();
            hop = Some((c.reply_route, keys, answer));
        }
    });
    let (back, keys, answer) = hop.expect("a CREATE");
    feed(
        &mut r,
        att.address(),
        RouteFrame::Created(RouteCreatedFrame {
            reply_route: back,
            route: RouteId([0x5A; 16]),
            eph_pub: answer.eph_pub,
            static_pub: answer.static_pub,
            auth: answer.auth,
        }),
    );
    // Its path is built: it asks its last hop for the way on.
    let mut ctrl = 0;
    each(&sent(&mut r, att.address()), |f| {
        ctrl += usize::from(matches!(f, RouteFrame::Ctrl(_)));
    });
    assert_eq!(ctrl, 1, "a SEGMENT");
    assert_eq!(r.stats().segments_asked, 1);
    (r, att, Hop { keys, back })
}

fn answer(r: &mut Routes, att: &Identity, hop: &Hop, nonce: u64, msg: &ControlMessage) {
    let suite = SuiteKind::Modeled.suite();
    let payload = crypto::wrap_backward(suite, &hop.keys, nonce, &msg.encode());
    feed(
        r,
        att.address(),
        RouteFrame::Ctrl(RouteCtrlFrame {
            route: hop.back,
            nonce,
            payload: &payload,
        }),
    );
}

fn setup_failed(r: &mut Routes) -> bool {
    std::iter::from_fn(|| r.pop_event()).any(|e| {
        matches!(
            e,
            Event::RouteClosed {
                reason: RouteCloseReason::SetupFailed(RouteFailure::HopFailed(0)),
                ..
            }
        )
    })
}

#[test]
fn an_origin_refuses_segments_that_loop_run_long_or_lie() {
    let dest = Address([0xD0; 16]);
    let other = |i: u8| Address([i; 16]);
    type Forge = fn(&Routes, Address, Address) -> ControlMessage;
    let forged: [(&str, Forge); 4] = [
        ("through the origin", |r, dest, _| {
            ControlMessage::SegmentHops {
                hops: vec![r.identity.address(), dest],
                done: true,
            }
        }),
        ("back through the border node", |_, dest, att| {
            ControlMessage::SegmentHops {
                hops: vec![att, dest],
                done: true,
            }
        }),
        ("done short of the destination", |_, _, _| {
            ControlMessage::SegmentHops {
                hops: vec![Address([1; 16])],
                done: true,
            }
        }),
        ("past max_path_len (5)", |_, dest, _| {
            ControlMessage::SegmentHops {
                hops: (1..=5)
                    .map(|i| Address([i; 16]))
                    .chain([dest])
                    .take(5)
                    .collect(),
                done: false,
            }
        }),
    ];
    for (k, (what, forge)) in forged.iter().enumerate() {
        let (mut r, att, hop) = origin_asking(dest, 10 + k as u64);
        let msg = forge(&r, dest, att.address());
        answer(&mut r, &att, &hop, 77, &msg);
        assert_eq!(r.stats().segments_refused, 1, "{what}");
        assert!(setup_failed(&mut r), "{what}");
        assert!(r.handles().next().is_none(), "{what}: nothing held");
    }
    // An honest answer: the route extends through the hops given.
    let (mut r, att, hop) = origin_asking(dest, 20);
    let ok = ControlMessage::SegmentHops {
        hops: vec![other(1), dest],
        done: true,
    };
    answer(&mut r, &att, &hop, 78, &ok);
    assert_eq!(r.stats().segments_refused, 0);
    assert!(!setup_failed(&mut r));
    // Its next control message (an EXTEND) goes out; a second answer, not
    // asked for, is a violation and changes nothing.
    assert!(!sent(&mut r, att.address()).is_empty());
    let v = r.stats().violations;
    answer(&mut r, &att, &hop, 79, &ok);
    assert_eq!(r.stats().violations, v + 1);
    assert_eq!(r.stats().segments_refused, 0);
    assert!(r.handles().next().is_some());
}

#[test]
fn a_hop_answers_one_segment_per_route_and_counts_the_rest() {
    // The attacker is the origin; the victim its first hop.
    let config = config();
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let id = Identity::generate(config.suite, &mut rng);
    let victim = id.address();
    let att = Identity::generate(config.suite, &mut rng);
    let mut r = Routes::new(&config, id, [5; 32]);
    r.on_neighbour_up(att.address());
    let suite = config.suite.suite();
    let init = crypto::initiate_hop(suite, &mut rng);
    let reply = RouteId([0xA1; 16]);
    feed(
        &mut r,
        att.address(),
        RouteFrame::Create(crate::wire::RouteCreateFrame {
            reply_route: reply,
            eph_pub: init.eph_pub,
        }),
    );
    let mut entry = None;
    each(&sent(&mut r, att.address()), |f| {
        if let RouteFrame::Created(c) = f {
            let answer = crypto::HopAnswer {
                eph_pub: c.eph_pub,
                static_pub: c.static_pub,
                auth: c.auth,
            };
            entry = Some((init.complete(suite, victim, &answer).unwrap(), c.route));
        }
    });
    let (keys, route) = entry.expect("CREATED");
    let control = |r: &mut Routes, nonce: u64, msg: &ControlMessage| {
        let payload =
            crypto::wrap_forward(suite, std::slice::from_ref(&keys), nonce, &msg.encode());
        feed(
            r,
            att.address(),
            RouteFrame::Ctrl(RouteCtrlFrame {
                route,
                nonce,
                payload: &payload,
            }),
        );
    };
    let seg = ControlMessage::Segment {
        dest: Address([0xD1; 16]),
        mesh: 2,
    };
    control(&mut r, 1, &seg);
    let asked = r.take_segment_requests();
    assert_eq!(asked.len(), 1);
    // A flood of repeats: each a violation, none asked of the node.
    let v = r.stats().violations;
    for n in 2..200 {
        control(&mut r, n, &seg);
    }
    assert!(r.take_segment_requests().is_empty());
    assert_eq!(r.stats().violations, v + 198);
    // The node's answer goes back to the origin; one it could not find
    // (or one too long for a message) is a refusal.
    sent(&mut r, att.address());
    r.answer_segment(asked[0], Some((vec![Address([0xD1; 16])], true)));
    assert_eq!(sent(&mut r, att.address()).len(), 1);
    assert_eq!(r.stats().segments_answered, 1);
    r.answer_segment(
        asked[0],
        Some(((0..7).map(|i| Address([i; 16])).collect(), false)),
    );
    r.answer_segment(asked[0], None);
    assert_eq!(r.stats().segments_refused, 2);
}
