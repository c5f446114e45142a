//! Both ends of a route's payments, as pure state (issue 15): the origin's
//! [`Payer`] signs receipts for each relay under a pseudonym of its own,
//! and a relay's [`Gate`] forwards while what it is owed beyond the last
//! receipt stays within the credit it grants, then pauses the route
//! (backpressure, not loss) until a receipt comes.
//!
//! Receipts travel on the route's control channel, which no data credit
//! or payment pause holds back, so a paused route always hears the
//! receipt that resumes it. Only the origin can speak to a hop on that
//! channel (its onion keys), so a hop binds the route's pseudonym to the
//! first valid receipt it gets, and takes no other after.

use rand::Rng;

use super::money::{Droplets, Meter, Price};
use super::receipt;
use crate::crypto::{CryptoSuite, SuiteKind};
use crate::identity::{Address, Identity, PublicKey};
use crate::wire::receipt::Receipt;

/// Why a relay's gate ignored a receipt (each counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// Not signed by its pseudonym.
    #[error("forged receipt")]
    Forged,
    /// For another relay, or under another pseudonym than the route's.
    #[error("receipt for another relay or pseudonym")]
    Foreign,
    /// Not newer than the last, or owing less.
    #[error("stale receipt")]
    Stale,
}

/// Counters of a gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateStats {
    /// Receipts taken.
    pub receipts: u64,
    /// Receipts ignored, by [`GateRefusal`].
    pub forged: u64,
    /// For another relay or pseudonym.
    pub foreign: u64,
    /// Stale.
    pub stale: u64,
    /// Times the gate closed (the route paused).
    pub pauses: u64,
}

/// A relay's side of one route.
#[derive(Debug, Clone)]
pub struct Gate {
    me: Address,
    meter: Meter,
    credit: Droplets,
    pseudonym: Option<PublicKey>,
    best: Option<Receipt>,
    paused: bool,
    /// Counters.
    pub stats: GateStats,
}

impl Gate {
    /// The gate of relay `me`, charging `price`, granting `credit`.
    pub fn new(me: Address, price: Price, credit: Droplets) -> Gate {
        Gate {
            me,
            meter: Meter::new(price),
            credit,
            pseudonym: None,
            best: None,
            paused: false,
            stats: GateStats::default(),
        }
    }

    /// What the relay is owed beyond the best receipt.
    pub fn unpaid(&self) -> Droplets {
        let paid = self.best.map_or(0, |r| r.owed);
        Droplets(self.meter.charged().0.saturating_sub(paid))
    }

    /// Whether `bytes` more may be forwarded now: what they cost stays
    /// within the credit, or nothing is unpaid (so a credit below one
    /// chunk's cost, even 0, lets a chunk through per receipt instead of
    /// stopping the route for good: no credit setting deadlocks; the
    /// relay risks at most the credit or one chunk). A refusal pauses the
    /// route.
    pub fn may_forward(&mut self, bytes: u64) -> bool {
        let mut m = self.meter;
        let cost = m.charge(bytes).0;
        let unpaid = self.unpaid().0;
        let ok = unpaid == 0 || unpaid.saturating_add(cost) <= self.credit.0;
        if !ok && !self.paused {
            self.stats.pauses += 1;
        }
        self.paused = !ok;
        ok
    }

    /// `bytes` were forwarded: charged.
    pub fn forwarded(&mut self, bytes: u64) {
        self.meter.charge(bytes);
    }

    /// A receipt from the route's origin.
    pub fn on_receipt(&mut self, suite: &dyn CryptoSuite, r: &Receipt) -> Result<(), GateRefusal> {
        if r.relay != self.me || self.pseudonym.is_some_and(|p| p != r.pseudonym) {
            self.stats.foreign += 1;
            return Err(GateRefusal::Foreign);
        }
        if let Some(b) = self.best
            && (r.seq <= b.seq || r.owed < b.owed)
        {
            self.stats.stale += 1;
            return Err(GateRefusal::Stale);
        }
        if !receipt::verify(suite, r) {
            self.stats.forged += 1;
            return Err(GateRefusal::Forged);
        }
        self.pseudonym = Some(r.pseudonym);
        self.best = Some(*r);
        self.stats.receipts += 1;
        Ok(())
    }

    /// The receipt to redeem at the escrow (the best so far).
    pub fn best(&self) -> Option<&Receipt> {
        self.best.as_ref()
    }

    /// Bytes charged, in all.
    pub fn bytes(&self) -> u64 {
        self.meter.bytes()
    }
}

/// One relay of the origin's route.
#[derive(Debug, Clone)]
struct Hop {
    relay: Address,
    pseudonym: Identity,
    meter: Meter,
    seq: u64,
}

/// The origin's side of one route: a pseudonym per relay (fresh keys from
/// the node's own random stream, unrelated to its identity and to each
/// other), and what each relay is owed.
#[derive(Debug, Clone)]
pub struct Payer {
    suite: SuiteKind,
    hops: Vec<Hop>,
}

impl Payer {
    /// A payer for relays `relays` (in path order) at their prices.
    pub fn new(suite: SuiteKind, relays: &[(Address, Price)], rng: &mut impl Rng) -> Payer {
        let hops = relays
            .iter()
            .map(|&(relay, price)| Hop {
                relay,
                pseudonym: Identity::generate(suite, rng),
                meter: Meter::new(price),
                seq: 0,
            })
            .collect();
        Payer { suite, hops }
    }

    /// The pseudonym toward relay `i` (its escrow account).
    pub fn pseudonym(&self, i: usize) -> Option<&PublicKey> {
        self.hops.get(i).map(|h| h.pseudonym.public_key())
    }

    /// `bytes` crossed the route (either way): every relay carries them.
    pub fn carried(&mut self, bytes: u64) {
        for h in &mut self.hops {
            h.meter.charge(bytes);
        }
    }

    /// A fresh cumulative receipt for relay `i`.
    pub fn receipt(&mut self, i: usize) -> Option<Receipt> {
        let suite = self.suite.suite();
        let h = self.hops.get_mut(i)?;
        h.seq += 1;
        let mut r = Receipt {
            pseudonym: *h.pseudonym.public_key(),
            relay: h.relay,
            bytes: h.meter.bytes(),
            owed: h.meter.charged().0,
            seq: h.seq,
            signature: [0; 64],
        };
        receipt::sign(suite, h.pseudonym.secret(), &mut r)?;
        Some(r)
    }
}
