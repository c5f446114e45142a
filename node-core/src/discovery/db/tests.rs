use super::*;
use crate::crypto::SuiteKind;
use crate::discovery::adverts::tests::advert_of;
use crate::identity::Identity;

fn ids(n: u8) -> Vec<Identity> {
    (1..=n)
        .map(|i| Identity::from_secret(SuiteKind::Modeled, [i; 32]).unwrap())
        .collect()
}

fn t(s: u64) -> Time {
    Time::ZERO + Duration::from_secs(s)
}

#[test]
fn newer_sequence_numbers_replace_older_ones_and_copies_are_not_flooded_again() {
    let id = ids(2);
    let mut db = TopologyDb::new(DbLimits::default());
    let a1 = advert_of(&id[0], 5, &[id[1].address()]);
    assert_eq!(db.insert(t(0), a1.clone()), Insert::New);
    assert_eq!(db.insert(t(0), a1.clone()), Insert::Dropped);
    assert_eq!(db.stats.duplicate, 1);
    assert_eq!(db.insert(t(2), advert_of(&id[0], 4, &[])), Insert::Dropped);
    assert_eq!(db.stats.stale, 1);
    assert_eq!(db.insert(t(2), advert_of(&id[0], 6, &[])), Insert::New);
    assert_eq!(db.seq(&id[0].address()), Some(6));
    // Re-signing nonstop: a burst, then one new sequence number per second.
    // (6 came after a quiet 2 s: the burst was full.)
    for seq in 7..10 {
        assert_eq!(db.insert(t(2), advert_of(&id[0], seq, &[])), Insert::New);
    }
    assert_eq!(db.insert(t(2), advert_of(&id[0], 10, &[])), Insert::Dropped);
    assert_eq!(db.stats.too_frequent, 1);
    let half = t(2) + Duration::from_millis(500);
    assert_eq!(db.insert(half, advert_of(&id[0], 10, &[])), Insert::Dropped);
    assert_eq!(db.insert(t(3), advert_of(&id[0], 10, &[])), Insert::New);
    assert_eq!(db.insert(t(3), advert_of(&id[0], 11, &[])), Insert::Dropped);
    // 100 s of nonstop re-signing, ten per second: about 100 taken.
    let mut taken = 0;
    for i in 0..1000u64 {
        let at = t(4) + Duration::from_millis(100 * i);
        if db.insert(at, advert_of(&id[0], 12 + i, &[])) == Insert::New {
            taken += 1;
        }
    }
    assert!((100..=104).contains(&taken), "{taken}");
}

#[test]
fn a_link_counts_only_when_both_ends_advertise_it() {
    let id = ids(3);
    let (a, b, c) = (id[0].address(), id[1].address(), id[2].address());
    let mut db = TopologyDb::new(DbLimits::default());
    db.insert(t(0), advert_of(&id[0], 1, &[b, c]));
    // C claims a link to B that B does not confirm.
    db.insert(t(0), advert_of(&id[2], 1, &[a, b]));
    assert_eq!(db.links().len(), 2, "only A-C, both ways");
    db.insert(t(0), advert_of(&id[1], 1, &[a]));
    let links: Vec<(Address, Address)> = db.links().iter().map(|l| (l.0, l.1)).collect();
    let mut want = vec![(a, b), (b, a), (a, c), (c, a)];
    want.sort();
    assert_eq!(links, want);
}

#[test]
fn adverts_age_out_and_a_flood_of_new_origins_is_bounded() {
    let id = ids(6);
    let mut db = TopologyDb::new(DbLimits {
        max_origins: 4,
        ..DbLimits::default()
    });
    let mut old = advert_of(&id[0], 1, &[]);
    old.age_s = 590; // 10 s left of its 600
    db.insert(t(0), old);
    for i in &id[1..] {
        db.insert(t(0), advert_of(i, 1, &[]));
    }
    assert_eq!((db.len(), db.stats.full), (4, 2));
    assert_eq!(db.next_expiry(), t(10));
    assert_eq!(db.expire(t(9)), 0);
    assert_eq!(db.expire(t(10)), 1);
    assert_eq!(db.len(), 3);
    // Expired on arrival.
    let mut dead = advert_of(&id[5], 2, &[]);
    dead.age_s = dead.lifetime_s;
    assert_eq!(db.insert(t(11), dead), Insert::Dropped);
    assert_eq!(db.stats.stale, 1);
    assert_eq!(db.expire(t(601)), 3);
    assert!(db.is_empty());
}

#[test]
fn parts_fill_in_and_must_agree() {
    let id = ids(3);
    let (b, c) = (id[1].address(), id[2].address());
    let sign = |part: u8, parts: u8, n: Address| {
        let mut a = advert_of(&id[0], 9, &[n]);
        a.part = part;
        a.parts = parts;
        crate::discovery::adverts::sign(SuiteKind::Modeled.suite(), &id[0], &mut a).unwrap();
        a
    };
    let mut db = TopologyDb::new(DbLimits::default());
    assert_eq!(db.insert(t(0), sign(0, 2, b)), Insert::New);
    assert_eq!(db.insert(t(0), sign(1, 2, c)), Insert::New);
    assert_eq!(db.parts(&id[0].address()).count(), 2);
    assert_eq!(db.insert(t(0), sign(1, 3, c)), Insert::Dropped);
    assert_eq!(db.stats.inconsistent, 1);
    let mut gw = advert_of(&id[1], 1, &[]);
    gw.gateway_bps = 5_000_000;
    crate::discovery::adverts::sign(SuiteKind::Modeled.suite(), &id[1], &mut gw).unwrap();
    db.insert(t(0), gw);
    assert_eq!(db.gateways(), vec![(b, 5_000_000)]);
    assert_eq!(
        db.locators(&id[0].address()),
        vec![AdvertLocator::Underlay(1)]
    );
}

/// The database of a square A-B-D, A-C-D (and a claimed link C-B that B
/// does not confirm) gives two disjoint paths from A to D, and no path
/// over the one-sided link.
#[test]
fn the_graph_holds_two_way_links_only_and_paths_are_found_on_it() {
    use crate::discovery::paths::{Disjoint, disjoint, shortest};
    let id = ids(4);
    let (a, b, c, d) = (
        id[0].address(),
        id[1].address(),
        id[2].address(),
        id[3].address(),
    );
    let mut db = TopologyDb::new(DbLimits::default());
    for (i, n) in [
        (0, vec![b, c]),
        (1, vec![a, d]),
        (2, vec![a, d, b]),
        (3, vec![b, c]),
    ] {
        db.insert(t(0), advert_of(&id[i], 1, &n));
    }
    let (g, nodes) = db.graph(|l| u64::from(l.rtt_us));
    let at = |x: Address| nodes.binary_search(&x).unwrap() as u32;
    let paths = disjoint(&g, at(a), at(d), 3, Disjoint::Nodes);
    assert_eq!(paths.len(), 2, "{paths:?}");
    let via: Vec<u32> = paths.iter().map(|p| p.nodes[1]).collect();
    assert!(via.contains(&at(b)) && via.contains(&at(c)));
    // C -> B is not a link: B never said so.
    assert!(g.edges_from(at(c)).all(|(to, _)| to != at(b)));
    assert_eq!(shortest(&g, at(c), at(b)).unwrap().nodes.len(), 3);
}

#[test]
fn the_next_expiry_is_never_late_and_is_recomputed_when_parts_go() {
    let id = ids(2);
    let mut db = TopologyDb::new(DbLimits::default());
    assert_eq!(db.next_expiry(), Time::NEVER);
    let mut short = advert_of(&id[1], 1, &[]);
    short.lifetime_s = 100;
    db.insert(t(0), advert_of(&id[0], 1, &[]));
    db.insert(t(0), short);
    assert_eq!(db.next_expiry(), t(100));
    // Before it, nothing goes.
    assert_eq!(db.expire(t(99)), 0);
    assert_eq!(db.expire(t(100)), 1);
    assert_eq!(db.next_expiry(), t(600));
    // Replaced by a newer part with a longer life: the old time may stay
    // (early is harmless); an expire finds nothing and moves it on.
    db.insert(t(10), advert_of(&id[0], 2, &[]));
    assert!(db.next_expiry() <= t(610));
    assert_eq!(db.expire(t(600)), 0);
    assert_eq!(db.next_expiry(), t(610));
}
