//! A hostile neighbour against the route layer's bounds: CREATE floods,
//! data into hops that were never told their role, messages longer than
//! the buffer (findings 1 and 5 of the hardening review). The attacker
//! speaks the wire format directly to a victim's route layer, with real
//! keys, so every frame is one an authenticated peer could send.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::crypto::{self, HopKeys};
use super::endpoint::Sender;
use super::{Routes, guard::ENTRY_COST};
use crate::config::Config;
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity};
use crate::link::Written;
use crate::time::{Duration, Time};
use crate::wire::{
    Class, ControlMessage, Frame, RouteCreateFrame, RouteCtrlFrame, RouteDataFrame, RouteFrame,
    RouteId, RouteKind, frames,
};

pub(super) const ATTACKER: Address = Address([7; 16]);

pub(super) fn config() -> Config {
    Config {
        suite: SuiteKind::Modeled,
        ..Config::default()
    }
}

pub(super) fn victim(config: &Config) -> (Routes, Address) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let id = Identity::generate(config.suite, &mut rng);
    let address = id.address();
    let mut routes = Routes::new(config, id, [3; 32]);
    routes.on_neighbour_up(ATTACKER);
    (routes, address)
}

pub(super) fn feed(r: &mut Routes, now: Time, frame: RouteFrame<'_>) {
    feed_from(r, now, ATTACKER, frame);
}

/// A frame from neighbour `peer`.
pub(super) fn feed_from(r: &mut Routes, now: Time, peer: Address, frame: RouteFrame<'_>) {
    let mut bytes = Vec::new();
    frame.emit(&mut bytes);
    for f in frames(&bytes) {
        if let Ok(Frame::Upper(u)) = f {
            r.on_upper_frame(now, peer, u);
        }
    }
}

/// Everything the victim sends the attacker now, acknowledged at once.
pub(super) fn drain(r: &mut Routes, now: Time) -> Vec<Vec<u8>> {
    drain_to(r, now, ATTACKER)
}

/// Everything the victim sends neighbour `peer` now, acknowledged at once.
pub(super) fn drain_to(r: &mut Routes, now: Time, peer: Address) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for class in [Class::Realtime, Class::Bulk] {
        loop {
            let mut buf = Vec::new();
            match r.write_frame(now, peer, class, 1400, &mut buf) {
                Some(Written::Reliable(token)) => r.on_acked(&token),
                Some(Written::Unreliable) => {}
                None => break,
            }
            out.push(buf);
        }
    }
    out
}

/// The attacker's side of one hop entry at the victim.
pub(super) struct Entry {
    pub(super) keys: HopKeys,
    /// The id the victim receives the route's frames on.
    pub(super) route: RouteId,
}

/// Sends CREATEs until one is answered; returns the entry, or `None` if the
/// victim refused (it answers a refusal with a TEARDOWN).
pub(super) fn create(
    r: &mut Routes,
    now: Time,
    victim: Address,
    n: u32,
    rng: &mut ChaCha20Rng,
) -> Option<Entry> {
    let suite = SuiteKind::Modeled.suite();
    let init = crypto::initiate_hop(suite, rng);
    let mut reply = [0xA0; 16];
    reply[..4].copy_from_slice(&n.to_be_bytes());
    feed(
        r,
        now,
        RouteFrame::Create(RouteCreateFrame {
            reply_route: RouteId(reply),
            eph_pub: init.eph_pub,
        }),
    );
    for bytes in drain(r, now) {
        for f in frames(&bytes) {
            let Ok(Frame::Upper(u)) = f else { continue };
            if let Ok(RouteFrame::Created(c)) = RouteFrame::parse(u) {
                let answer = crypto::HopAnswer {
                    eph_pub: c.eph_pub,
                    static_pub: c.static_pub,
                    auth: c.auth,
                };
                let keys = init.complete(suite, victim, &answer).ok()?;
                return Some(Entry {
                    keys,
                    route: c.route,
                });
            }
        }
    }
    None
}

pub(super) fn data(r: &mut Routes, now: Time, e: &Entry, offset: u64, bytes: &[u8]) {
    feed(
        r,
        now,
        RouteFrame::Data(RouteDataFrame {
            route: e.route,
            unreliable: false,
            fin: false,
            offset,
            data: bytes,
        }),
    );
}

/// The origin's control message `msg` for entry `e` (its only hop), with
/// the control nonce `nonce`.
pub(super) fn control(r: &mut Routes, now: Time, e: &Entry, nonce: u64, msg: &ControlMessage) {
    let suite = SuiteKind::Modeled.suite();
    let payload = crypto::wrap_forward(suite, std::slice::from_ref(&e.keys), nonce, &msg.encode());
    feed(
        r,
        now,
        RouteFrame::Ctrl(RouteCtrlFrame {
            route: e.route,
            nonce,
            payload: &payload,
        }),
    );
}

/// Memory the route layer holds for the attacker: buffered bytes and
/// messages under reassembly, over all entries.
fn held(r: &Routes) -> u64 {
    r.handles()
        .filter_map(|h| r.info(h))
        .map(|i| i.held[0] + i.held[1] + i.reassembly)
        .sum()
}

/// Finding 1: 300 CREATEs and data used to hold 299 MiB with no violation
/// counted. Now CREATEs are rate-limited, entries and credit drawn from the
/// neighbour's share, and a hop never told its role keeps only the small
/// initial credit.
#[test]
fn a_create_flood_with_data_stays_within_the_neighbours_share() {
    let config = config();
    let (mut r, addr) = victim(&config);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut now = Time::ZERO + Duration::from_secs(1);
    let chunk = vec![0x55; 1200];
    let (mut entries, mut refused) = (0u64, 0u64);
    for i in 0..3000u32 {
        // As fast as the rate limit lets the attacker, and faster.
        now += Duration::from_millis(1);
        match create(&mut r, now, addr, i, &mut rng) {
            Some(e) => {
                entries += 1;
                // Fill far past the credit: 1 MiB into a hop that has no role.
                for k in 0..(1 << 20) / chunk.len() as u64 {
                    data(&mut r, now, &e, k * chunk.len() as u64, &chunk);
                }
            }
            None => refused += 1,
        }
        drain(&mut r, now);
    }
    let stats = r.stats();
    let share = config.route_credit_per_neighbour as u64;
    let figures = format!(
        "{entries} entries, {refused} refused ({:?}), {} bytes held, {} charged, {} violations",
        stats.refused,
        held(&r),
        r.credit_charged(ATTACKER),
        stats.violations
    );
    assert!(held(&r) <= share, "share {share}: {figures}");
    assert!(r.credit_charged(ATTACKER) as u64 <= share);
    let per_entry = (config.route_initial_credit + ENTRY_COST) as u64;
    assert_eq!(entries, share / per_entry, "{figures}");
    assert_eq!(stats.refused.rate + stats.refused.peer_credit, refused);
    assert!(stats.refused.rate > 0 && stats.refused.peer_credit > 0);
    // Every byte past a hop's small credit was a counted violation.
    assert!(stats.violations >= entries * ((1 << 20) - per_entry) / 1200 / 2);
    // The entries go when the neighbour does, and their charge with them.
    r.on_neighbour_lost(ATTACKER);
    assert_eq!((r.stats().entries, r.stats().credit_charged), (0, 0));
}

/// Finding 1, at the destination: a message under reassembly used to grow
/// to `max_message_size` beyond the route's credit. Now it is on the
/// credit, and a message longer than the buffer is refused when its length
/// arrives.
#[test]
fn reassembly_at_the_destination_stays_on_the_credit() {
    let config = Config {
        max_message_size: 16 << 20,
        ..config()
    };
    let suite = config.suite.suite();
    let (mut r, addr) = victim(&config);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let now = Time::ZERO + Duration::from_secs(1);
    let e = create(&mut r, now, addr, 1, &mut rng).expect("admitted");
    let begin = ControlMessage::Begin {
        class: Class::Bulk,
        kind: RouteKind::Stream,
        set: None,
    };
    control(&mut r, now, &e, 0, &begin);
    drain(&mut r, now);
    let h = r.handles().next().expect("the destination entry");
    assert_eq!(r.info(h).unwrap().role, "destination");
    assert_eq!(r.info(h).unwrap().capacity[0], config.route_buffer as u64);

    // A message within the buffer, sent as fast as the credit allows but
    // never finished: what it holds stays within the buffer.
    let mut tx = Sender::new(e.keys.e2e_o2d);
    let almost = vec![1u8; super::endpoint::largest_message(config.route_buffer)];
    let stream = tx.seal_message(suite, &almost);
    let cut = stream.len() - 100;
    let mut sent = 0;
    while sent < cut {
        let n = (cut - sent).min(1200);
        data(&mut r, now, &e, sent as u64, &stream[sent..sent + n]);
        sent += n;
        drain(&mut r, now);
    }
    let info = r.info(h).unwrap();
    assert!(info.reassembly > 0);
    assert!(
        info.held[0] + info.reassembly <= config.route_buffer as u64,
        "{info:?}"
    );
    let violations = r.stats().violations;
    assert_eq!(violations, 0, "an honest sender's bytes are all taken");
    // Bytes past the credit (the reassembly counts in it) are refused.
    data(&mut r, now, &e, 2 * config.route_buffer as u64, &[0; 100]);
    assert_eq!(r.stats().violations, 1);
    // The rest completes the message: delivered, and the credit returns.
    data(&mut r, now, &e, cut as u64, &stream[cut..]);
    assert!(r.info(h).unwrap().reassembly == 0);

    // A second route whose first message is longer than the buffer: refused
    // as soon as its length arrives, not reassembled.
    let e2 = create(&mut r, now, addr, 2, &mut rng).expect("admitted");
    control(&mut r, now, &e2, 0, &begin);
    drain(&mut r, now);
    let mut tx = Sender::new(e2.keys.e2e_o2d);
    let huge = tx.seal_message(suite, &vec![2u8; 8 << 20]);
    let before = r.stats().entries;
    // Its first record carries the length.
    let first = crypto::MAX_RECORD + crypto::RECORD_OVERHEAD;
    for at in (0..first).step_by(1200) {
        data(&mut r, now, &e2, at as u64, &huge[at..first.min(at + 1200)]);
    }
    assert_eq!(r.stats().entries, before - 1, "the route was torn down");
    assert_eq!(r.stats().violations, 2);
}

/// Finding 5: a path that turns straight back (1, 2, 1, 2, ...) used to
/// carry 10.5x the origin's bytes on one link. A hop refuses to extend a
/// route back to the neighbour it came from, and passes on at most
/// `max_path_len - 1` extensions.
#[test]
fn extensions_beyond_max_path_len_cut_the_route() {
    let config = Config {
        max_path_len: 3,
        ..config()
    };
    let suite = config.suite.suite();
    let (mut r, addr) = victim(&config);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let now = Time::ZERO + Duration::from_secs(1);
    let e = create(&mut r, now, addr, 1, &mut rng).expect("admitted");
    // Back to the attacker itself: refused with an answer, nothing sent on.
    let back = ControlMessage::Extend {
        next: ATTACKER,
        eph_pub: crypto::initiate_hop(suite, &mut rng).eph_pub,
        class: Class::Bulk,
    };
    control(&mut r, now, &e, 0, &back);
    let answers = drain(&mut r, now);
    assert_eq!(answers.len(), 1, "one control message back, no CREATE");
    assert_eq!(r.stats().refused.path, 1);

    // On to a second neighbour, which answers: the victim becomes a relay.
    let mut rng_b = ChaCha20Rng::seed_from_u64(8);
    let b = Identity::generate(config.suite, &mut rng_b);
    r.on_neighbour_up(b.address());
    let init = crypto::initiate_hop(suite, &mut rng);
    let extend = ControlMessage::Extend {
        next: b.address(),
        eph_pub: init.eph_pub,
        class: Class::Bulk,
    };
    control(&mut r, now, &e, 1, &extend);
    let mut buf = Vec::new();
    let Some(Written::Reliable(token)) =
        r.write_frame(now, b.address(), Class::Realtime, 1400, &mut buf)
    else {
        panic!("a CREATE for the next hop")
    };
    r.on_acked(&token);
    let Some(Ok(Frame::Upper(u))) = frames(&buf).next() else {
        panic!("an upper frame")
    };
    let Ok(RouteFrame::Create(create)) = RouteFrame::parse(u) else {
        panic!("a CREATE")
    };
    let (answer, _) = crypto::answer_hop(suite, &b, &create.eph_pub, &mut rng_b).unwrap();
    let created = crate::wire::RouteCreatedFrame {
        reply_route: create.reply_route,
        route: RouteId([0xB0; 16]),
        eph_pub: answer.eph_pub,
        static_pub: answer.static_pub,
        auth: answer.auth,
    };
    let mut bytes = Vec::new();
    RouteFrame::Created(created).emit(&mut bytes);
    let Some(Ok(Frame::Upper(u))) = frames(&bytes).next() else {
        panic!("an upper frame")
    };
    r.on_upper_frame(now, b.address(), u);
    let h = r.handles().next().unwrap();
    assert_eq!(r.info(h).unwrap().role, "relay");
    drain(&mut r, now);
    let mut credit = Vec::new();
    while r
        .write_frame(now, b.address(), Class::Realtime, 1400, &mut credit)
        .is_some()
    {}

    // Forward control messages this relay only passes on (for hops beyond
    // it): with max_path_len 3 it passes on two (an extension beyond the
    // next hop, and the BEGIN); the third cuts the route. Their payloads
    // need not open anywhere: the count is the bound.
    for nonce in 2..=4u64 {
        feed(
            &mut r,
            now,
            RouteFrame::Ctrl(RouteCtrlFrame {
                route: e.route,
                nonce,
                payload: &[0x42; super::control::CTRL_PAYLOAD_LEN],
            }),
        );
        let forwarded = std::iter::from_fn(|| {
            let mut buf = Vec::new();
            let w = r.write_frame(now, b.address(), Class::Realtime, 1400, &mut buf)?;
            if let Written::Reliable(t) = w {
                r.on_acked(&t);
            }
            Some(buf)
        })
        .count();
        assert_eq!(
            forwarded, 1,
            "message {nonce} went on (or the teardown did)"
        );
    }
    assert_eq!(r.stats().refused.path, 2);
    assert_eq!(r.stats().entries, 0);
}

/// Finding 4: relays passed on control frames at the size the sender chose;
/// one larger than the next link's room stayed at the head of its queue
/// and stalled every route's control on that link. Control payloads now
/// have one size (anything else is dropped and counted), and the queue of
/// control frames per neighbour is bounded.
#[test]
fn odd_sized_control_is_dropped_and_the_control_queue_is_bounded() {
    let config = config();
    let (mut r, addr) = victim(&config);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let now = Time::ZERO + Duration::from_secs(1);
    let e = create(&mut r, now, addr, 1, &mut rng).expect("admitted");
    for len in [0, 1, super::control::CTRL_PAYLOAD_LEN - 1, 5000] {
        feed(
            &mut r,
            now,
            RouteFrame::Ctrl(RouteCtrlFrame {
                route: e.route,
                nonce: 1,
                payload: &vec![0x42; len],
            }),
        );
    }
    assert_eq!(r.stats().violations, 4);
    assert!(
        drain(&mut r, now).is_empty(),
        "nothing answered or passed on"
    );
    // Odd-sized end-to-end acknowledgements too.
    feed(
        &mut r,
        now,
        RouteFrame::Ack(crate::wire::RouteAckFrame {
            route: e.route,
            payload: &[0; 4000],
        }),
    );
    assert_eq!(r.stats().violations, 5);

    // A CREATE repeated 20,000 times, never acknowledged: each repeat is
    // answered (its first answer may have been lost), but no more than
    // MAX_CTRL_QUEUE answers wait.
    let init = crypto::initiate_hop(SuiteKind::Modeled.suite(), &mut rng);
    for _ in 0..20_000 {
        feed(
            &mut r,
            now,
            RouteFrame::Create(RouteCreateFrame {
                reply_route: RouteId([0xCC; 16]),
                eph_pub: init.eph_pub,
            }),
        );
    }
    let queued = r.work.get(&ATTACKER).map_or(0, |w| w.ctrl.len());
    assert_eq!(queued, super::outbound::MAX_CTRL_QUEUE);
    assert_eq!(
        r.stats().refused.ctrl_queue,
        20_000 - super::outbound::MAX_CTRL_QUEUE as u64
    );
    assert_eq!(r.stats().entries, 2, "one entry for all the repeats");
}
