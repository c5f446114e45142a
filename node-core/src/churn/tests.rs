use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

fn addr(i: u8) -> Address {
    Address([i; 16])
}

fn tunnels(n: u8) -> Vec<TunnelView> {
    (0..n)
        .map(|i| TunnelView {
            peer: addr(i + 1),
            rtt_us: 1000 * u64::from(i),
            used_bytes: u64::from(i) * 100,
            routed_nodes: usize::from(n - i),
        })
        .collect()
}

#[test]
fn settings_that_cannot_work_are_named() {
    assert_eq!(ChurnConfig::default().check(), Ok(()));
    for bad in [
        ChurnConfig {
            tunnels_per_node: 0,
            ..Default::default()
        },
        ChurnConfig {
            refresh_share: 1001,
            ..Default::default()
        },
        ChurnConfig {
            refresh: Duration::ZERO,
            ..Default::default()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
}

#[test]
fn a_refresh_replaces_its_share_rounded_and_at_least_one() {
    assert_eq!(refresh_count(10, 300), 3);
    assert_eq!(refresh_count(3, 300), 1);
    assert_eq!(refresh_count(1, 300), 1);
    assert_eq!(refresh_count(10, 0), 0);
    assert_eq!(refresh_count(0, 300), 0);
    assert_eq!(refresh_count(10, 1000), 10);
}

#[test]
fn random_destruction_is_uniform_and_spares_the_most_used_only_by_chance() {
    let t = tunnels(10);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let cfg = ChurnConfig::default();
    let mut hits = [0u32; 10];
    for _ in 0..10_000 {
        let d = to_destroy(&cfg, &t, &mut rng);
        assert_eq!(d.len(), 3);
        let distinct: BTreeSet<usize> = d.iter().copied().collect();
        assert_eq!(distinct.len(), 3);
        for i in d {
            hits[i] += 1;
        }
    }
    // Each tunnel about 3,000 times in 10,000 draws of 3 of 10.
    for h in hits {
        assert!((2800..3200).contains(&h), "{hits:?}");
    }
    // The exception: the most used 20% (tunnels 8 and 9) are spared half
    // the time they are drawn.
    let cfg = ChurnConfig {
        keep_used_share: 200,
        keep_used_chance: 500,
        ..ChurnConfig::default()
    };
    let mut hits = [0u32; 10];
    for _ in 0..10_000 {
        for i in to_destroy(&cfg, &t, &mut rng) {
            hits[i] += 1;
        }
    }
    let used = (hits[8] + hits[9]) / 2;
    let others = hits[..8].iter().sum::<u32>() / 8;
    assert!(used < others * 3 / 4 && used > others / 4, "{hits:?}");
    // Sparing never makes a refresh replace fewer.
    let cfg = ChurnConfig {
        keep_used_share: 1000,
        keep_used_chance: 1000,
        ..ChurnConfig::default()
    };
    assert_eq!(to_destroy(&cfg, &t, &mut rng).len(), 3);
}

#[test]
fn the_policies_to_compare_against_choose_as_they_say() {
    let t = tunnels(10);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let best = ChurnConfig {
        policy: Policy::Best,
        ..ChurnConfig::default()
    };
    // The worst RTTs go: tunnels 9, 8, 7.
    assert_eq!(to_destroy(&best, &t, &mut rng), vec![9, 8, 7]);
    let fewest = ChurnConfig {
        policy: Policy::FewestRoutes,
        ..ChurnConfig::default()
    };
    // Tunnel 9 routes 1 node, 8 routes 2, 7 routes 3.
    assert_eq!(to_destroy(&fewest, &t, &mut rng), vec![9, 8, 7]);
}

#[test]
fn new_peers_are_distinct_strangers_with_the_well_known_share_first() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let known: Vec<Address> = (1..=50).map(addr).collect();
    let well_known = vec![addr(100), addr(101), addr(102)];
    let me = addr(1);
    let exclude: BTreeSet<Address> = [addr(2), addr(3)].into();
    let cfg = ChurnConfig {
        well_known_share: 200,
        ..ChurnConfig::default()
    };
    let p = draw_peers(&cfg, me, &known, &well_known, &exclude, 10, &mut rng);
    assert_eq!(p.len(), 10);
    let set: BTreeSet<Address> = p.iter().copied().collect();
    assert_eq!(set.len(), 10);
    assert!(!set.contains(&me) && !set.contains(&addr(2)) && !set.contains(&addr(3)));
    assert_eq!(p.iter().filter(|a| well_known.contains(a)).count(), 2);
    // Not enough candidates: as many as there are.
    let few = draw_peers(&cfg, me, &known[..4], &[], &exclude, 10, &mut rng);
    assert_eq!(few, vec![addr(4)]);
    // Same seed, same draw.
    let a = draw_peers(
        &cfg,
        me,
        &known,
        &well_known,
        &exclude,
        10,
        &mut ChaCha20Rng::seed_from_u64(9),
    );
    let b = draw_peers(
        &cfg,
        me,
        &known,
        &well_known,
        &exclude,
        10,
        &mut ChaCha20Rng::seed_from_u64(9),
    );
    assert_eq!(a, b);
}
