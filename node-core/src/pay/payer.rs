//! The origin's side of a route's payments (issue 15): a pseudonym per
//! relay, what each relay is owed, and when a receipt is due.
//!
//! What the origin counts is what it knows every relay carried: forward
//! bytes once the destination acknowledged them end to end, backward bytes
//! once they arrived. A relay's own count runs ahead of it by what is in
//! flight, and its gate pauses a direction when that lead passes its
//! credit; the origin then pays on every byte it learns of until it has
//! paid for as many bytes as the relay's INVOICE counts, so a pause always
//! ends (the bytes in flight arrive: see `gate` on why per direction).
//! The origin never pays for bytes a relay did not carry.

use rand::Rng;

use super::money::{Droplets, Meter, Price, split};
use super::receipt;
use crate::crypto::SuiteKind;
use crate::identity::{Address, Identity, PublicKey};
use crate::wire::receipt::Receipt;

/// Bytes a relay carries between two receipts, at most (however large
/// its credit): what a relay risks if the origin vanishes stays small, for
/// a receipt (160 bytes under the onion) per MB.
pub const RECEIPT_EVERY: u64 = 1_000_000;

/// Bytes between receipts for a relay at `price` granting `credit`.
fn threshold(price: Price, credit: Droplets) -> u64 {
    if price.per_gb == 0 {
        return RECEIPT_EVERY;
    }
    let per_direction =
        u128::from(credit.0 / 2) * u128::from(super::money::GB) / u128::from(price.per_gb);
    u64::try_from(per_direction / 2)
        .unwrap_or(u64::MAX)
        .min(RECEIPT_EVERY)
}

/// How an origin pays its relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OriginPricing {
    /// Each relay at the price it asks (its PRICE message).
    #[default]
    AsAsked,
    /// NOIA's rule: a route costs `price` whatever its length; the shared
    /// infrastructure (`infra`, an account at the escrow) keeps
    /// `infra_ppm` parts per million of it and the remainder of the equal
    /// split; the rest goes to the route's relays in equal parts. A
    /// relay's asked price is then a floor its gate holds the route to.
    Noia {
        /// What the route costs.
        price: Price,
        /// The infrastructure's share, parts per million.
        infra_ppm: u32,
        /// The infrastructure's payout account.
        infra: Address,
    },
}

/// A relay's terms: what it asks, and what it carries unpaid at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTerms {
    /// Its price.
    pub price: Price,
    /// The credit it grants a route, in droplets.
    pub credit: Droplets,
}

/// Payments of a node: its terms as a relay (`None`: it relays for free
/// and sends no PRICE) and how it pays as an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayConfig {
    /// Its terms as a relay.
    pub relay: Option<RelayTerms>,
    /// How it pays the relays of its routes.
    pub origin: OriginPricing,
    /// The escrow role: it answers escrow requests arriving on its routes
    /// (`None`: it passes them to the application like any message).
    pub escrow: Option<super::service::EscrowRole>,
}

/// One payee of the route: a relay, or the infrastructure.
#[derive(Debug, Clone)]
struct Payee {
    relay: Address,
    pseudonym: Identity,
    /// Per-relay pricing: the relay's own meter.
    meter: Meter,
    /// A receipt is due once it carried this many bytes more than the
    /// last one covers: half of what the relay's credit lets each
    /// direction run ahead at its price, at most [`RECEIPT_EVERY`].
    threshold: u64,
    /// Owed in the last receipt signed.
    paid: u64,
    /// Bytes the last receipt covered.
    paid_bytes: u64,
    /// Bytes the relay's last invoice counts (untrusted: only a trigger;
    /// what is paid is always the origin's own count).
    wanted: u64,
    seq: u64,
}

/// The origin's side of one route.
#[derive(Debug, Clone)]
pub struct Payer {
    suite: SuiteKind,
    pricing: OriginPricing,
    /// Relays of the route (its hops but the destination).
    relays: usize,
    /// The route's meter (NOIA pricing).
    route: Meter,
    bytes: u64,
    /// Of which backward.
    back: u64,
    hops: Vec<Option<Payee>>,
    infra: Option<Payee>,
}

impl Payer {
    /// A payer for a route of `relays` relays; each joins with
    /// [`Payer::add`] when its PRICE arrives.
    pub fn new(suite: SuiteKind, pricing: OriginPricing, relays: usize) -> Payer {
        let route = match pricing {
            OriginPricing::Noia { price, .. } => Meter::new(price),
            OriginPricing::AsAsked => Meter::default(),
        };
        Payer {
            suite,
            pricing,
            relays,
            route,
            bytes: 0,
            back: 0,
            hops: vec![None; relays],
            infra: None,
        }
    }

    /// A payer whose relays `relays` (in path order) are all known, each
    /// at its price, with no credit (a receipt due on every count).
    pub fn with_relays(suite: SuiteKind, relays: &[(Address, Price)], rng: &mut impl Rng) -> Payer {
        let mut p = Payer::new(suite, OriginPricing::AsAsked, relays.len());
        for (i, &(relay, price)) in relays.iter().enumerate() {
            p.add(i, relay, price, Droplets(0), rng);
        }
        p
    }

    /// Relay `i` (`relay`) told its terms: it joins with a fresh pseudonym
    /// and is owed for every byte the route carried so far. `false` if it
    /// is no relay of the route or joined already (a repeat changes
    /// nothing).
    pub fn add(
        &mut self,
        i: usize,
        relay: Address,
        price: Price,
        credit: Droplets,
        rng: &mut impl Rng,
    ) -> bool {
        let suite = self.suite;
        let bytes = self.bytes;
        let Some(slot @ None) = self.hops.get_mut(i) else {
            return false;
        };
        let mut meter = Meter::new(price);
        meter.charge(bytes);
        *slot = Some(Payee {
            relay,
            pseudonym: Identity::generate(suite, rng),
            meter,
            threshold: threshold(price, credit),
            paid: 0,
            paid_bytes: 0,
            wanted: 0,
            seq: 0,
        });
        if let (OriginPricing::Noia { infra, .. }, None) = (self.pricing, &self.infra) {
            self.infra = Some(Payee {
                relay: infra,
                pseudonym: Identity::generate(suite, rng),
                meter: Meter::default(),
                threshold: 0,
                paid: 0,
                paid_bytes: 0,
                wanted: 0,
                seq: 0,
            });
        }
        true
    }

    /// The pseudonym toward relay `i` (its escrow account).
    pub fn pseudonym(&self, i: usize) -> Option<&PublicKey> {
        self.hops.get(i)?.as_ref().map(|h| h.pseudonym.public_key())
    }

    /// The pseudonym's keys toward relay `i` (what signs its receipts, and
    /// a refund of what its account has left).
    pub fn pseudonym_keys(&self, i: usize) -> Option<&Identity> {
        self.hops.get(i)?.as_ref().map(|h| &h.pseudonym)
    }

    /// The infrastructure pseudonym's keys (NOIA pricing).
    pub fn infra_keys(&self) -> Option<&Identity> {
        self.infra.as_ref().map(|h| &h.pseudonym)
    }

    /// The pseudonym the infrastructure's receipts draw on (NOIA pricing,
    /// once a relay joined).
    pub fn infra_pseudonym(&self) -> Option<&PublicKey> {
        self.infra.as_ref().map(|h| h.pseudonym.public_key())
    }

    /// Every pseudonym of the route (relays in path order, then the
    /// infrastructure's): the accounts its deposits go to.
    pub fn pseudonyms(&self) -> impl Iterator<Item = &PublicKey> + '_ {
        self.hops
            .iter()
            .flatten()
            .chain(self.infra.as_ref())
            .map(|h| h.pseudonym.public_key())
    }

    /// `bytes` crossed the route in direction `dir` (0: toward the
    /// destination): every relay carried them.
    pub fn carried(&mut self, dir: usize, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        if dir != 0 {
            self.back = self.back.saturating_add(bytes);
        }
        self.route.charge(bytes);
        for h in self.hops.iter_mut().flatten() {
            h.meter.charge(bytes);
        }
    }

    /// Bytes counted, in all.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What relay `i` is owed now, in all.
    pub fn owed(&self, i: usize) -> Option<u64> {
        let h = self.hops.get(i)?.as_ref()?;
        Some(match self.pricing {
            OriginPricing::AsAsked => h.meter.charged().0,
            OriginPricing::Noia { infra_ppm, .. } => {
                split(self.route.charged(), self.relays, infra_ppm)
                    .per_relay
                    .0
            }
        })
    }

    /// What the infrastructure is owed now (NOIA pricing).
    fn infra_owed(&self) -> u64 {
        match self.pricing {
            OriginPricing::Noia { infra_ppm, .. } => {
                split(self.route.charged(), self.relays, infra_ppm)
                    .infrastructure
                    .0
            }
            OriginPricing::AsAsked => 0,
        }
    }

    /// Relay `i` paused the route and counts `bytes` carried.
    pub fn invoice(&mut self, i: usize, bytes: u64) {
        if let Some(Some(h)) = self.hops.get_mut(i) {
            h.wanted = h.wanted.max(bytes);
        }
    }

    /// The relays a receipt is due to: owed more than their last receipt
    /// by half their credit, or carried more bytes than it covered while
    /// an invoice counts more still.
    pub fn due(&self) -> Vec<usize> {
        (0..self.hops.len())
            .filter(|&i| {
                let (Some(h), Some(owed)) = (self.hops[i].as_ref(), self.owed(i)) else {
                    return false;
                };
                (owed > h.paid && self.bytes - h.paid_bytes >= h.threshold)
                    || (self.bytes > h.paid_bytes && h.paid_bytes < h.wanted)
            })
            .collect()
    }

    /// Relays owed more than their last receipt, or carried bytes it
    /// does not cover (what a closing route settles).
    pub fn unsettled(&self) -> Vec<usize> {
        (0..self.hops.len())
            .filter(|&i| {
                let (Some(h), Some(owed)) = (self.hops[i].as_ref(), self.owed(i)) else {
                    return false;
                };
                owed > h.paid || self.bytes > h.paid_bytes
            })
            .collect()
    }

    /// A fresh cumulative receipt for relay `i`.
    pub fn receipt(&mut self, i: usize) -> Option<Receipt> {
        let owed = self.owed(i)?;
        let (suite, bytes, back) = (self.suite, self.bytes, self.back);
        let h = self.hops.get_mut(i)?.as_mut()?;
        sign(suite, h, bytes, back, owed)
    }

    /// A fresh receipt for the infrastructure's share (NOIA pricing),
    /// when it is owed more than its last one.
    pub fn infra_receipt(&mut self) -> Option<Receipt> {
        let owed = self.infra_owed();
        let (suite, bytes, back) = (self.suite, self.bytes, self.back);
        let h = self.infra.as_mut().filter(|h| owed > h.paid)?;
        sign(suite, h, bytes, back, owed)
    }
}

fn sign(suite: SuiteKind, h: &mut Payee, bytes: u64, back: u64, owed: u64) -> Option<Receipt> {
    let mut r = Receipt {
        pseudonym: *h.pseudonym.public_key(),
        relay: h.relay,
        bytes,
        back,
        owed,
        seq: h.seq + 1,
        signature: [0; 64],
    };
    receipt::sign(suite.suite(), h.pseudonym.secret(), &mut r)?;
    h.seq += 1;
    h.paid = owed;
    h.paid_bytes = bytes;
    Some(r)
}
