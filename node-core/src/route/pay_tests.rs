//! A hostile origin against a paying relay (issue 15): it stops paying,
//! sends forged, foreign, replayed, underpaying, malformed and oversized
//! receipts, and floods ROUTE_PAY frames. The attacker speaks the wire
//! format with real keys (the relay's upstream), and plays the next hop
//! too, so every frame is one an authenticated peer could send.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::Routes;
use super::crypto;
use super::hostile_tests::{
    Entry, config, control, create, data, drain, drain_to, feed, feed_from, victim,
};
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity};
use crate::pay::money::{Droplets, GB, Price};
use crate::pay::{PayConfig, RelayTerms, receipt};
use crate::time::{Duration, Time};
use crate::wire::receipt::{Receipt, encode_pay};
use crate::wire::{
    Class, ControlMessage, Frame, RouteCreatedFrame, RouteCreditFrame, RouteCtrlFrame, RouteFrame,
    RouteId, frames,
};

/// The relay's next hop (the attacker's other face).
const NEXT: Address = Address([8; 16]);

/// 10,000 droplets per MB; a credit of 2,000 droplets: 1,000 each way,
/// what 100 kB cost.
const PRICE: Price = Price { per_gb: 10_000_000 };
const CREDIT: u64 = 2_000;
const PER_DIRECTION_BYTES: u64 = 100_000;

struct Relay {
    r: Routes,
    me: Address,
    e: Entry,
    now: Time,
    /// What the attacker fed forward so far.
    fed: u64,
    /// The attacker's pseudonym toward the relay.
    pseudonym: Identity,
    /// The id the relay takes the next hop's frames on.
    from_next: RouteId,
}

/// A relay with terms, on a route from the attacker to `NEXT`.
fn paying_relay() -> Relay {
    let mut config = config();
    config.pay = PayConfig {
        relay: Some(RelayTerms {
            price: PRICE,
            credit: Droplets(CREDIT),
        }),
        ..PayConfig::default()
    };
    let (mut r, me) = victim(&config);
    r.on_neighbour_up(NEXT);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let now = Time::ZERO + Duration::from_secs(1);
    let e = create(&mut r, now, me, 0, &mut rng).expect("an entry");
    let extend = ControlMessage::Extend {
        next: NEXT,
        eph_pub: [2; 33],
        class: Class::Bulk,
    };
    control(&mut r, now, &e, 0, &extend);
    let reply = drain_to(&mut r, now, NEXT)
        .iter()
        .flat_map(|b| parsed(b))
        .find_map(|f| match f {
            Parsed::Create(id) => Some(id),
            _ => None,
        })
        .expect("a CREATE to the next hop");
    feed_from(
        &mut r,
        now,
        NEXT,
        RouteFrame::Created(RouteCreatedFrame {
            reply_route: reply,
            route: RouteId([0x33; 16]),
            eph_pub: [2; 33],
            static_pub: [3; 33],
            auth: [4; 16],
        }),
    );
    // The next hop lets 10 MB come.
    feed_from(
        &mut r,
        now,
        NEXT,
        RouteFrame::Credit(RouteCreditFrame {
            route: reply,
            limit: 10 << 20,
        }),
    );
    // The relay answers EXTENDED and tells its terms.
    let told: Vec<_> = backward(&mut r, now, &e);
    assert!(told.contains(&ControlMessage::Price {
        per_gb: PRICE.per_gb,
        credit: CREDIT,
    }));
    Relay {
        r,
        me,
        e,
        now,
        fed: 0,
        pseudonym: Identity::generate(SuiteKind::Modeled, &mut rng),
        from_next: reply,
    }
}

enum Parsed {
    Create(RouteId),
    Data(u64),
    Ctrl(u64, Vec<u8>),
    Other,
}

fn parsed(bytes: &[u8]) -> Vec<Parsed> {
    frames(bytes)
        .filter_map(|f| match f {
            Ok(Frame::Upper(u)) => RouteFrame::parse(u).ok().map(|f| match f {
                RouteFrame::Create(c) => Parsed::Create(c.reply_route),
                RouteFrame::Data(d) => Parsed::Data(d.data.len() as u64),
                RouteFrame::Ctrl(c) => Parsed::Ctrl(c.nonce, c.payload.to_vec()),
                _ => Parsed::Other,
            }),
            _ => None,
        })
        .collect()
}

/// The control messages the relay sends the attacker now, opened.
fn backward(r: &mut Routes, now: Time, e: &Entry) -> Vec<ControlMessage> {
    let suite = SuiteKind::Modeled.suite();
    drain(r, now)
        .iter()
        .flat_map(|b| parsed(b))
        .filter_map(|p| match p {
            Parsed::Ctrl(nonce, payload) => {
                crypto::unwrap_backward(suite, std::slice::from_ref(&e.keys), nonce, &payload)
                    .and_then(|(_, m)| ControlMessage::decode(&m))
            }
            _ => None,
        })
        .collect()
}

impl Relay {
    /// Feeds `n` bytes forward and lets the relay forward what its gate
    /// allows; returns the bytes it forwarded now.
    fn push(&mut self, n: u64) -> u64 {
        let chunk = vec![0x55; 1_000];
        for _ in 0..n / 1_000 {
            data(&mut self.r, self.now, &self.e, self.fed, &chunk);
            self.fed += 1_000;
        }
        self.forward()
    }

    /// Lets the relay forward to NEXT; returns the data bytes it sent.
    fn forward(&mut self) -> u64 {
        self.now += Duration::from_millis(1);
        drain_to(&mut self.r, self.now, NEXT)
            .iter()
            .flat_map(|b| parsed(b))
            .map(|p| if let Parsed::Data(n) = p { n } else { 0 })
            .sum()
    }

    fn gate(&self) -> (u64, u64, u64) {
        let h = self.r.handles().next().expect("the entry").0;
        self.r.gate_of(h).expect("a gate")
    }

    /// A receipt under the attacker's pseudonym, signed.
    fn receipt(&self, bytes: u64, owed: u64, seq: u64) -> Receipt {
        let mut r = Receipt {
            pseudonym: *self.pseudonym.public_key(),
            relay: self.me,
            bytes,
            back: 0,
            owed,
            seq,
            signature: [0; 64],
        };
        receipt::sign(SuiteKind::Modeled.suite(), self.pseudonym.secret(), &mut r).unwrap();
        r
    }

    /// Sends payment message `msg` in a ROUTE_PAY frame.
    fn pay_raw(&mut self, nonce: u64, msg: &[u8]) {
        let suite = SuiteKind::Modeled.suite();
        let payload = crypto::wrap_forward(suite, std::slice::from_ref(&self.e.keys), nonce, msg);
        feed(
            &mut self.r,
            self.now,
            RouteFrame::Pay(RouteCtrlFrame {
                route: self.e.route,
                nonce,
                payload: &payload,
            }),
        );
    }
}

fn cost(bytes: u64) -> u64 {
    bytes * PRICE.per_gb / GB
}

#[test]
fn an_origin_that_stops_paying_gets_at_most_the_credit_carried() {
    let mut relay = paying_relay();
    // 400 kB in, nothing paid: the relay forwards what half its credit
    // covers (100 kB), then pauses; the rest waits in its buffer.
    let sent = relay.push(400_000);
    assert!(
        sent <= PER_DIRECTION_BYTES && sent + 1_400 > PER_DIRECTION_BYTES,
        "{sent} bytes forwarded unpaid"
    );
    assert_eq!(relay.forward(), 0, "paused");
    let stats = relay.r.pay_stats();
    assert_eq!((stats.pauses, stats.invoices_sent), (1, 1));
    let h = relay.r.handles().next().unwrap();
    let info = relay.r.info(h).unwrap();
    assert_eq!(info.held[0], relay.fed - sent, "nothing accepted is lost");
    // The origin hears an INVOICE counting what was carried.
    let told = backward(&mut relay.r, relay.now, &relay.e);
    assert!(told.contains(&ControlMessage::Invoice {
        bytes: sent,
        owed: cost(sent),
    }));
    // A receipt for it resumes the route for another 100 kB.
    let r = relay.receipt(sent, cost(sent), 1);
    relay.pay_raw(1, &encode_pay(&r));
    let more = relay.forward();
    assert!(more + 1_400 > PER_DIRECTION_BYTES && more <= PER_DIRECTION_BYTES);
    // The origin stops paying for good: the relay risks half its credit.
    assert_eq!(relay.push(100_000), 0);
    let (bytes, charged, paid) = relay.gate();
    assert_eq!(bytes, sent + more);
    assert!(
        charged - paid <= CREDIT / 2,
        "{charged} charged, {paid} paid"
    );
    assert_eq!(relay.r.take_receipts(), vec![r]);
}

#[test]
fn forged_foreign_replayed_underpaying_and_malformed_receipts_resume_nothing() {
    let mut relay = paying_relay();
    let sent = relay.push(300_000);
    let good = relay.receipt(sent, cost(sent), 2);
    // Forged: a field changed after signing.
    let mut forged = good;
    forged.owed += 1;
    relay.pay_raw(1, &encode_pay(&forged));
    // For another relay.
    let mut foreign = relay.receipt(sent, cost(sent), 3);
    foreign.relay = Address([9; 16]);
    relay.pay_raw(2, &encode_pay(&foreign));
    // Below the price (signed, but 1 droplet short).
    let short = relay.receipt(sent, cost(sent) - 1, 4);
    relay.pay_raw(3, &encode_pay(&short));
    // Malformed: the padding is not zeros; a body of another size.
    let mut bad = encode_pay(&good);
    *bad.last_mut().unwrap() = 1;
    relay.pay_raw(4, &bad);
    let violations = relay.r.stats().violations;
    relay.pay_raw(5, &[0; 40]);
    assert_eq!(relay.r.stats().violations, violations + 1);
    // A ROUTE_PAY from the next hop (payments go forward only).
    feed_from(
        &mut relay.r,
        relay.now,
        NEXT,
        RouteFrame::Pay(RouteCtrlFrame {
            route: relay.from_next,
            nonce: 1,
            payload: &[0; super::pay::PAY_PAYLOAD_LEN],
        }),
    );
    assert_eq!(relay.r.stats().violations, violations + 2);
    assert_eq!(relay.forward(), 0, "none of them resumed the route");
    let s = relay.r.pay_stats();
    assert_eq!(
        (
            s.forged,
            s.foreign,
            s.underpaid,
            s.refused,
            s.receipts_taken
        ),
        (1, 1, 1, 1, 0)
    );
    // The good one resumes it; the same again is a duplicate; an older one
    // (a replay of an earlier state) is stale.
    relay.pay_raw(6, &encode_pay(&good));
    assert!(relay.forward() > 0);
    relay.pay_raw(7, &encode_pay(&good));
    let older = relay.receipt(sent - 1_000, cost(sent - 1_000), 1);
    relay.pay_raw(8, &encode_pay(&older));
    let s = relay.r.pay_stats();
    assert_eq!((s.receipts_taken, s.duplicates, s.stale), (1, 1, 1));
}

#[test]
fn a_flood_of_pay_frames_is_cut_to_an_allowance_of_the_bytes_carried() {
    let mut relay = paying_relay();
    let sent = relay.push(50_000);
    let good = relay.receipt(sent, cost(sent), 1);
    for nonce in 1..=10_000 {
        relay.pay_raw(nonce, &encode_pay(&good));
    }
    let s = relay.r.pay_stats();
    // 64 frames free, one more per 256 bytes forwarded.
    let allowance = 64 + sent / 256;
    assert_eq!(s.receipts_taken + s.duplicates, allowance);
    assert_eq!(s.flood, 10_000 - allowance);
}
