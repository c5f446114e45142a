//! Tests of route cryptography, each run in both suites.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::crypto::SuiteKind;

const KINDS: [SuiteKind; 2] = [SuiteKind::Real, SuiteKind::Modeled];

/// A test key with distinct bytes: the Modeled suite's checksum cannot tell
/// apart keys whose 8-byte words repeat (like `[x; 32]`), real keys never do.
fn test_key(seed: u8) -> Key {
    core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7))
}

/// A route of `n` hops as the origin and each hop see it: the origin's keys
/// for hop i and hop i's own keys.
fn path(kind: SuiteKind, n: usize, seed: u8) -> (Vec<HopKeys>, Vec<HopKeys>) {
    let suite = kind.suite();
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let mut at_origin = Vec::new();
    let mut at_hops = Vec::new();
    for _ in 0..n {
        let hop = Identity::generate(kind, &mut rng);
        let init = initiate_hop(suite, &mut rng);
        let (answer, keys) = answer_hop(suite, &hop, &init.eph_pub, &mut rng).unwrap();
        at_origin.push(init.complete(suite, hop.address(), &answer).unwrap());
        at_hops.push(keys);
    }
    (at_origin, at_hops)
}

#[test]
fn both_ends_agree_and_keys_are_distinct() {
    for kind in KINDS {
        let (origin, hops) = path(kind, 3, 1);
        assert_eq!(origin, hops, "{kind}");
        for k in &origin {
            let all = [
                k.fwd_layer,
                k.back_layer,
                k.fwd_ctrl,
                k.back_ctrl,
                k.e2e_o2d,
                k.e2e_d2o,
            ];
            for (i, a) in all.iter().enumerate() {
                assert!(all[i + 1..].iter().all(|b| a != b), "{kind}: key {i}");
            }
        }
        assert_ne!(origin[0].fwd_ctrl, origin[1].fwd_ctrl);
        assert_eq!(format!("{:?}", origin[0]), "HopKeys(..)");
    }
}

#[test]
fn wrong_address_and_forged_static_key_fail() {
    for kind in KINDS {
        let suite = kind.suite();
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        let b = Identity::generate(kind, &mut rng);
        let c = Identity::generate(kind, &mut rng);
        let mallory = Identity::generate(kind, &mut rng);
        let init = initiate_hop(suite, &mut rng);
        let (answer, _) = answer_hop(suite, &b, &init.eph_pub, &mut rng).unwrap();
        assert!(init.complete(suite, b.address(), &answer).is_ok());
        assert_eq!(
            init.complete(suite, c.address(), &answer),
            Err(RouteCryptoError::WrongHop),
            "{kind}"
        );

        // Mallory answers in b's name without b's secret.
        let (mut forged, _) = answer_hop(suite, &mallory, &init.eph_pub, &mut rng).unwrap();
        forged.static_pub = b.public_key().0;
        assert_eq!(
            init.complete(suite, b.address(), &forged),
            Err(RouteCryptoError::BadAuth),
            "{kind}"
        );

        // A tampered tag or ephemeral key fails too.
        let mut bad = answer;
        bad.auth[0] ^= 1;
        assert_eq!(
            init.complete(suite, b.address(), &bad),
            Err(RouteCryptoError::BadAuth)
        );
        let mut bad = answer;
        bad.eph_pub = init.eph_pub;
        assert!(init.complete(suite, b.address(), &bad).is_err());
        let mut bad = answer;
        bad.eph_pub = [0xab; 33];
        assert_eq!(
            init.complete(suite, b.address(), &bad),
            Err(RouteCryptoError::InvalidKey)
        );
        assert_eq!(
            answer_hop(suite, &b, &[0xab; 33], &mut rng).err(),
            Some(RouteCryptoError::InvalidKey)
        );
    }
}

#[test]
fn answer_matches_the_created_frame() {
    let frame = RouteCreatedFrame {
        reply_route: crate::wire::RouteId([1; 16]),
        route: crate::wire::RouteId([2; 16]),
        eph_pub: [3; 33],
        static_pub: [4; 33],
        auth: [5; 16],
    };
    let a = HopAnswer::from(&frame);
    assert_eq!(
        (a.eph_pub, a.static_pub, a.auth),
        ([3; 33], [4; 33], [5; 16])
    );
}

/// Carries a forward message through hops 0.. until one takes it.
fn carry_forward(kind: SuiteKind, hops: &[HopKeys], nonce: u64, mut c: Vec<u8>) -> Vec<Peeled> {
    let mut seen = Vec::new();
    let mut nonce = nonce;
    for keys in hops {
        let p = peel_forward(kind.suite(), keys, nonce, &mut c);
        let done = p != Peeled::Forward;
        seen.push(p);
        if done {
            break;
        }
        // What this hop puts on the frame it passes on.
        nonce = forward_nonce(keys, nonce);
    }
    seen
}

#[test]
fn every_hop_sees_its_own_nonces() {
    let (origin, hops) = path(SuiteKind::Modeled, 4, 6);
    let mut n = 1000;
    let mut seen = vec![n];
    for keys in &hops {
        n = forward_nonce(keys, n);
        seen.push(n);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 5, "no two hops share a nonce");
    // The origin computes the same steps from its own copy of the keys.
    assert_eq!(
        origin.iter().fold(1000, |n, k| forward_nonce(k, n)),
        hops.iter().fold(1000, |n, k| forward_nonce(k, n))
    );
    // 32 steps from a start below 2^60 stay below 2^62 (never wrap).
    assert!(
        hops.iter()
            .all(|k| k.fwd_nonce_step < 1 << 56 && k.back_nonce_step < 1 << 56)
    );
}

#[test]
fn onion_forward_reaches_only_its_target() {
    for kind in KINDS {
        let suite = kind.suite();
        let (origin, hops) = path(kind, 4, 3);
        let msg = b"extend to the next node".to_vec();

        let c = wrap_forward(suite, &origin, 7, &msg);
        assert_eq!(c.len(), msg.len() + TAG_LEN);
        assert!(!c.windows(msg.len()).any(|w| w == msg), "{kind}");
        let seen = carry_forward(kind, &hops, 7, c);
        let mut expected = vec![Peeled::Forward; 3];
        expected.push(Peeled::ForMe(msg.clone()));
        assert_eq!(seen, expected, "{kind}");

        // For hop 1: taken at hop 1.
        let c = wrap_forward(suite, &origin[..2], 8, &msg);
        assert_eq!(
            carry_forward(kind, &hops, 8, c),
            vec![Peeled::Forward, Peeled::ForMe(msg.clone())]
        );

        // Empty messages work; an empty hop list addresses nobody.
        let c = wrap_forward(suite, &origin[..1], 9, &[]);
        assert_eq!(
            carry_forward(kind, &hops, 9, c),
            vec![Peeled::ForMe(vec![])]
        );
        let c = wrap_forward(suite, &[], 10, &msg);
        assert!(c.is_empty());
        assert_eq!(carry_forward(kind, &hops, 10, c), vec![Peeled::Forward; 4]);
    }
}

#[test]
fn tampered_or_misnonced_forward_is_never_taken() {
    for kind in KINDS {
        let suite = kind.suite();
        let (origin, hops) = path(kind, 4, 4);
        let msg = b"a control message".to_vec();
        let c = wrap_forward(suite, &origin, 11, &msg);
        for i in 0..c.len() {
            for bit in [0x01, 0x80] {
                let mut t = c.clone();
                t[i] ^= bit;
                assert_eq!(carry_forward(kind, &hops, 11, t), vec![Peeled::Forward; 4]);
            }
        }
        let mut short = c.clone();
        short.pop();
        assert_eq!(
            carry_forward(kind, &hops, 11, short),
            vec![Peeled::Forward; 4]
        );
        assert_eq!(carry_forward(kind, &hops, 12, c), vec![Peeled::Forward; 4]);
        for len in 0..TAG_LEN + 2 {
            let junk = vec![0x5a; len];
            assert_eq!(
                carry_forward(kind, &hops, 11, junk),
                vec![Peeled::Forward; 4]
            );
        }
    }
}

#[test]
fn onion_backward_unwraps_at_the_origin() {
    for kind in KINDS {
        let suite = kind.suite();
        let (origin, hops) = path(kind, 4, 5);
        let msg = b"extended".to_vec();
        let mut c = wrap_backward(suite, &hops[2], 21, &msg);
        assert!(!c.windows(msg.len()).any(|w| w == msg), "{kind}");
        let n1 = add_backward_layer(suite, &hops[1], 21, &mut c);
        let n0 = add_backward_layer(suite, &hops[0], n1, &mut c);
        assert!(n1 != 21 && n0 != n1);
        assert_eq!(
            unwrap_backward(suite, &origin, n0, &c),
            Some((2, msg.clone())),
            "{kind}"
        );
        // The first hop's own message needs no other layer.
        let c0 = wrap_backward(suite, &hops[0], 22, &msg);
        assert_eq!(
            unwrap_backward(suite, &origin, 22, &c0),
            Some((0, msg.clone()))
        );

        // Tampering, a missing layer, a wrong nonce or a short path fail.
        for i in 0..c.len() {
            let mut t = c.clone();
            t[i] ^= 0x10;
            assert_eq!(unwrap_backward(suite, &origin, n0, &t), None);
        }
        let mut missing = wrap_backward(suite, &hops[2], 23, &msg);
        let m0 = add_backward_layer(suite, &hops[0], 23, &mut missing);
        assert_eq!(unwrap_backward(suite, &origin, m0, &missing), None);
        assert_eq!(unwrap_backward(suite, &origin, n0 - 1, &c), None);
        assert_eq!(unwrap_backward(suite, &origin, 21, &c), None, "unstepped");
        assert_eq!(unwrap_backward(suite, &origin[..2], n0, &c), None);
        assert_eq!(unwrap_backward(suite, &origin, n0, &[1, 2, 3]), None);
        assert_eq!(unwrap_backward(suite, &[], n0, &c), None);
    }
}

#[test]
fn records_round_trip_in_order() {
    for kind in KINDS {
        let suite = kind.suite();
        let key = test_key(9);
        let mut sealer = E2eSealer::new(key);
        let mut opener = E2eOpener::new(key);
        for (i, len) in [0usize, 1, 100, MAX_RECORD].into_iter().enumerate() {
            let pt: Vec<u8> = (0..len).map(|b| b as u8).collect();
            let r = sealer.seal_record(suite, &pt);
            assert_eq!(r.len(), len + RECORD_OVERHEAD);
            assert_eq!(record_len(&r), Some(r.len()));
            assert_eq!(opener.open_record(suite, &r), Ok(pt), "{kind} record {i}");
        }
        assert_eq!((sealer.next_record(), opener.next_record()), (4, 4));

        // A long plaintext becomes several records, opened one by one.
        let long: Vec<u8> = (0..2 * MAX_RECORD + 5).map(|b| (b % 251) as u8).collect();
        let stream = sealer.seal_record(suite, &long);
        assert_eq!(stream.len(), long.len() + 3 * RECORD_OVERHEAD);
        let mut rest = &stream[..];
        let mut out = Vec::new();
        while let Some(n) = record_len(rest) {
            let (record, tail) = rest.split_at(n);
            out.extend(opener.open_record(suite, record).unwrap());
            rest = tail;
        }
        assert_eq!(out, long);
        assert_eq!(record_len(&[0]), None);
    }
}

#[test]
fn reordered_duplicated_and_tampered_records_fail() {
    for kind in KINDS {
        let suite = kind.suite();
        let key = test_key(10);
        let mut sealer = E2eSealer::new(key);
        let r0 = sealer.seal_record(suite, b"first");
        let r1 = sealer.seal_record(suite, b"second");
        let mut opener = E2eOpener::new(key);
        const BAD: Result<Vec<u8>, RouteCryptoError> = Err(RouteCryptoError::BadRecord);

        assert_eq!(opener.open_record(suite, &r1), BAD, "{kind}: reordered");
        assert_eq!(opener.open_record(suite, &r0), Ok(b"first".to_vec()));
        assert_eq!(opener.open_record(suite, &r0), BAD, "{kind}: duplicate");
        for i in 0..r1.len() {
            let mut t = r1.clone();
            t[i] ^= 0x04;
            assert_eq!(opener.open_record(suite, &t), BAD, "{kind}: byte {i}");
        }
        let mut longer = r1.clone();
        longer.push(0);
        for bad in [&r1[..1], &r1[..r1.len() - 1], &longer, &[][..]] {
            assert_eq!(opener.open_record(suite, bad), BAD);
        }
        let mut other = E2eOpener::new(test_key(11));
        assert_eq!(other.open_record(suite, &r0), BAD, "{kind}: wrong key");
        // Failures left the counter alone: the genuine record still opens.
        assert_eq!(opener.open_record(suite, &r1), Ok(b"second".to_vec()));
    }
}

#[test]
fn datagrams_round_trip_and_do_not_collide_with_records() {
    for kind in KINDS {
        let suite = kind.suite();
        let key = test_key(12);
        let d = seal_datagram(suite, &key, 5, b"voice");
        assert_eq!(d.len(), 5 + DATAGRAM_OVERHEAD);
        assert_eq!(open_datagram(suite, &key, 5, &d), Ok(b"voice".to_vec()));
        for bad in [
            open_datagram(suite, &key, 6, &d),
            open_datagram(suite, &test_key(13), 5, &d),
            open_datagram(suite, &key, 5, &d[1..]),
            open_datagram(suite, &key, 5, &[0; 3]),
        ] {
            assert_eq!(bad, Err(RouteCryptoError::BadRecord), "{kind}");
        }
        // Datagram 0 and record 0 under one key use different nonces.
        let mut sealer = E2eSealer::new(key);
        let r = sealer.seal_record(suite, b"voice");
        assert_ne!(&r[2..], &seal_datagram(suite, &key, 0, b"voice")[..]);
    }
}
