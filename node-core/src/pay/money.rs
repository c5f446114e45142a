//! Money in integer units, and the two computations every payment rests on:
//! a per-byte charge that carries its remainder, and an n-way split that
//! hands out exactly what it splits. No floating point anywhere.
//!
//! - **Units.** [`Droplets`]: 1 coin = 10^6 droplets, Skycoin's smallest
//!   unit. A [`Price`] is held in droplets per GB (10^9 bytes, decimal as
//!   the seeds' per-GB prices), so a price per MB is exact too.
//! - **Charging.** A [`Meter`] turns bytes into droplets at a price. A
//!   byte costs `price / 10^9` droplets, rarely a whole number: the meter
//!   keeps what a charge did not reach (droplet-bytes below one droplet) and
//!   adds it to the next, so that however the bytes are cut into charges,
//!   the droplets charged are exactly `floor(total bytes x price / 10^9)`
//!   and nothing is created or lost by rounding.
//! - **Splitting.** [`split`]: NOIA's rule for a path's earnings: the
//!   shared infrastructure's share (parts per million, rounded down), then
//!   equal shares for the relays; the remainder of the equal split (fewer
//!   droplets than relays) goes to the infrastructure, so that every relay
//!   of a path earns the same and the parts add up to the whole.

/// Droplets in a coin.
pub const COIN: u64 = 1_000_000;

/// Bytes in a MB.
pub const MB: u64 = 1_000_000;

/// Bytes in a GB (prices are held per GB).
pub const GB: u64 = 1_000_000_000;

/// An amount of money in droplets (10^-6 coin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Droplets(pub u64);

impl Droplets {
    /// Adds, or `None` past `u64::MAX` (a balance that large is a bug or
    /// a forgery, never wrapped).
    pub fn checked_add(self, other: Droplets) -> Option<Droplets> {
        self.0.checked_add(other.0).map(Droplets)
    }

    /// Subtracts, or `None` below zero.
    pub fn checked_sub(self, other: Droplets) -> Option<Droplets> {
        self.0.checked_sub(other.0).map(Droplets)
    }
}

impl core::fmt::Display for Droplets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:06} coin", self.0 / COIN, self.0 % COIN)
    }
}

/// A price of traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Price {
    /// Droplets per 10^9 bytes.
    pub per_gb: u64,
}

impl Price {
    /// A price per MB (saturating: 10^16 coins per GB is no price).
    pub fn per_mb(droplets: u64) -> Price {
        Price {
            per_gb: droplets.saturating_mul(1000),
        }
    }
}

/// Turns bytes into droplets at a price, carrying the remainder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meter {
    /// The price.
    pub price: Price,
    /// Droplet-bytes not yet a droplet (below [`GB`]).
    carried: u64,
    /// Bytes charged so far.
    bytes: u64,
    /// Droplets charged so far.
    charged: u64,
}

impl Meter {
    /// A meter at `price`, nothing charged.
    pub fn new(price: Price) -> Meter {
        Meter {
            price,
            ..Meter::default()
        }
    }

    /// Charges `bytes`: the droplets they cost now, the fraction carried
    /// to the next charge. Saturates at `u64::MAX` droplets (10^13 coins:
    /// no traffic reaches it).
    pub fn charge(&mut self, bytes: u64) -> Droplets {
        let total = u128::from(bytes) * u128::from(self.price.per_gb) + u128::from(self.carried);
        let droplets = total / u128::from(GB);
        self.carried = (total % u128::from(GB)) as u64;
        let d = u64::try_from(droplets).unwrap_or(u64::MAX);
        self.bytes = self.bytes.saturating_add(bytes);
        self.charged = self.charged.saturating_add(d);
        Droplets(d)
    }

    /// Bytes charged so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Droplets charged so far.
    pub fn charged(&self) -> Droplets {
        Droplets(self.charged)
    }
}

/// A path's earnings split by NOIA's rule (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The shared infrastructure's part (its share, and the remainder of
    /// the equal split).
    pub infrastructure: Droplets,
    /// Each relay's part, equal.
    pub per_relay: Droplets,
    /// Relays.
    pub relays: usize,
}

impl Split {
    /// The parts added up: always the amount split.
    pub fn total(&self) -> u128 {
        u128::from(self.infrastructure.0) + u128::from(self.per_relay.0) * self.relays as u128
    }
}

/// Splits `amount` between the infrastructure (`infra_ppm` parts per
/// million of it, rounded down) and `relays` relays in equal parts; with
/// no relay, all goes to the infrastructure. `infra_ppm` above 10^6 counts
/// as 10^6.
pub fn split(amount: Droplets, relays: usize, infra_ppm: u32) -> Split {
    let ppm = u128::from(infra_ppm.min(1_000_000));
    let infra = (u128::from(amount.0) * ppm / 1_000_000) as u64;
    let rest = amount.0 - infra;
    if relays == 0 {
        return Split {
            infrastructure: amount,
            per_relay: Droplets(0),
            relays: 0,
        };
    }
    let per = rest / relays as u64;
    let remainder = rest - per * relays as u64;
    Split {
        infrastructure: Droplets(infra + remainder),
        per_relay: Droplets(per),
        relays,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_meter_carries_fractions_of_a_droplet() {
        // 3 droplets per MB: a byte costs 3 micro-droplets.
        let mut m = Meter::new(Price::per_mb(3));
        let charged: u64 = (0..1000).map(|_| m.charge(1000).0).sum();
        assert_eq!(charged, 3, "10^6 bytes in 1,000 charges");
        assert_eq!(m.charged(), Droplets(3));
        assert_eq!(m.bytes(), MB);
        // One byte at a time charges nothing until a droplet is reached.
        let mut m = Meter::new(Price::per_mb(1));
        assert!((0..999_999).all(|_| m.charge(1) == Droplets(0)));
        assert_eq!(m.charge(1), Droplets(1));
        // 1 droplet per GB: a GB in any pieces costs exactly one.
        let mut m = Meter::new(Price { per_gb: 1 });
        let charged: u64 = (0..7).map(|_| m.charge(GB / 7).0).sum::<u64>() + m.charge(GB % 7).0;
        assert_eq!(charged, 1);
        assert_eq!(Droplets(1_500_001).to_string(), "1.500001 coin");
    }

    #[test]
    fn the_split_follows_noia_and_the_remainder_goes_to_the_infrastructure() {
        // 1,000 droplets, 10% to the infrastructure, three relays: 100,
        // then 900 / 3 = 300 each.
        let s = split(Droplets(1000), 3, 100_000);
        assert_eq!(
            (s.infrastructure, s.per_relay),
            (Droplets(100), Droplets(300))
        );
        // 1,001: the odd droplet is the infrastructure's (100 + 1 + 300 x 3
        // ... 1,001 - 100 = 901 = 3 x 300 + 1).
        let s = split(Droplets(1001), 3, 100_000);
        assert_eq!(
            (s.infrastructure, s.per_relay),
            (Droplets(101), Droplets(300))
        );
        assert_eq!(split(Droplets(7), 0, 0).infrastructure, Droplets(7));
        assert_eq!(split(Droplets(7), 2, 2_000_000).per_relay, Droplets(0));
    }

    proptest! {
        #[test]
        fn charging_in_any_pieces_is_exact(
            per_gb in 0u64..10_000_000_000,
            pieces in proptest::collection::vec(0u64..5_000_000_000, 0..40),
        ) {
            let mut m = Meter::new(Price { per_gb });
            let charged: u128 = pieces.iter().map(|&b| u128::from(m.charge(b).0)).sum();
            let bytes: u128 = pieces.iter().map(|&b| u128::from(b)).sum();
            prop_assert_eq!(charged, bytes * u128::from(per_gb) / u128::from(GB));
        }

        #[test]
        fn a_split_hands_out_exactly_the_amount(
            amount in any::<u64>(),
            relays in 0usize..64,
            ppm in 0u32..1_200_000,
        ) {
            let s = split(Droplets(amount), relays, ppm);
            prop_assert_eq!(s.total(), u128::from(amount));
            // Each relay's part is at most the infrastructure's remainder
            // away from an equal share of the rest.
            if relays > 0 {
                let infra_share = u128::from(amount) * u128::from(ppm.min(1_000_000)) / 1_000_000;
                let remainder = u128::from(s.infrastructure.0) - infra_share;
                prop_assert!(remainder < relays as u128);
            }
        }
    }
}
