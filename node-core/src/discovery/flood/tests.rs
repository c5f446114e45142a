use super::*;

fn layer(cfg: DiscoveryConfig) -> Discovery {
    Discovery::new(Some(cfg), Address([1; 16]))
}

#[test]
fn settings_that_cannot_work_are_named() {
    assert_eq!(DiscoveryConfig::default().check(), Ok(()));
    for bad in [
        DiscoveryConfig {
            refresh: Duration::from_millis(10),
            ..Default::default()
        },
        DiscoveryConfig {
            lifetime: Duration::from_secs(40),
            ..Default::default()
        },
        DiscoveryConfig {
            lifetime: Duration::from_secs(90_000),
            ..Default::default()
        },
        DiscoveryConfig {
            verify_rate: 0,
            ..Default::default()
        },
        DiscoveryConfig {
            locators: vec![AdvertLocator::Underlay(1); 5],
            ..Default::default()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
}

#[test]
fn the_verification_budget_refills_at_its_rate_and_keeps_fractions() {
    let mut d = layer(DiscoveryConfig {
        verify_rate: 3,
        verify_burst: 2,
        ..Default::default()
    });
    let peer = Address([2; 16]);
    let t0 = Time::ZERO;
    assert!(d.take_token(t0, peer));
    assert!(d.take_token(t0, peer));
    assert!(!d.take_token(t0, peer));
    // 3 per second: one every 333 ms, the remainder carried.
    assert!(!d.take_token(Time::from_nanos(300_000_000), peer));
    assert!(d.take_token(Time::from_nanos(340_000_000), peer));
    assert!(!d.take_token(Time::from_nanos(600_000_000), peer));
    assert!(d.take_token(Time::from_nanos(670_000_000), peer));
    // Never more than the burst after a long quiet.
    let later = Time::from_nanos(100_000_000_000);
    assert!(d.take_token(later, peer));
    assert!(d.take_token(later, peer));
    assert!(!d.take_token(later, peer));
}

#[test]
fn originations_keep_the_database_interval_and_the_hold_down() {
    let mut d = layer(DiscoveryConfig::default());
    let p = Address([2; 16]);
    assert_eq!(
        d.deadline(),
        Time::NEVER,
        "nothing to say before a neighbour"
    );
    d.on_neighbour_up(Time::ZERO, p);
    assert_eq!(d.deadline(), Time::from_nanos(50_000_000));
    d.last = Some(Time::from_nanos(40_000_000));
    d.originate_at = Time::NEVER;
    d.on_neighbour_gone(Time::from_nanos(60_000_000), p);
    // One second after the last advert, not 50 ms after the change.
    assert_eq!(d.deadline(), Time::from_nanos(1_040_000_000));
    // Nothing runs without a configuration.
    let mut off = Discovery::new(None, Address([1; 16]));
    off.on_neighbour_up(Time::ZERO, p);
    assert_eq!(off.deadline(), Time::NEVER);
    assert!(!off.on_message(
        Time::ZERO,
        p,
        &[MSG_ADVERT],
        crate::SuiteKind::Modeled.suite()
    ));
}
