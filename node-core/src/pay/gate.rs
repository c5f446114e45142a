//! A relay's side of a route's payments, as pure state (issue 15): the
//! origin's [`Payer`](super::payer::Payer) signs receipts for each relay
//! under a pseudonym of its own, and a relay's [`Gate`] forwards while
//! what it carried beyond the last receipt stays within the credit it
//! grants, then pauses the route (backpressure, not loss) until a receipt
//! comes.
//!
//! **The credit holds per direction** (half of it each way). A relay's
//! lead over the origin's count is what is in flight beyond it: forward
//! bytes not yet acknowledged by the destination, backward bytes not yet
//! at the origin. With one credit for both, two relays of a route can
//! wait on each other for good: each is paused, and the bytes whose
//! arrival would pay it sit in the other's buffer, one forward and one
//! backward (the first whole-node test found exactly that). Per
//! direction, the bytes a relay waits on only cross relays that wait on
//! bytes further along the same direction, down to the end that counts
//! them, so every pause ends. Receipts therefore say how many of their
//! bytes went backward.
//!
//! Receipts travel in ROUTE_PAY frames on the links' reliable control
//! queue, which no data credit or payment pause holds back, so a paused
//! route always hears the receipt that resumes it. Only the origin can
//! speak to a hop on that channel (its onion keys), so a hop binds the
//! route's pseudonym to the first valid receipt it gets, and takes no
//! other after.

use super::money::{Droplets, GB, Meter, Price};
use super::receipt;
use crate::crypto::CryptoSuite;
use crate::identity::{Address, PublicKey};
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
    /// Not newer than the last, or covering less.
    #[error("stale receipt")]
    Stale,
    /// It pays less than the relay's price for its bytes, or says more
    /// went backward than in all.
    #[error("receipt below the price")]
    Underpaid,
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
    /// Below the price.
    pub underpaid: u64,
    /// Times the gate closed a direction (the route paused).
    pub pauses: u64,
}

/// A relay's side of one route.
#[derive(Debug, Clone)]
pub struct Gate {
    me: Address,
    meter: Meter,
    /// Bytes forwarded per direction (0: toward the destination).
    bytes: [u64; 2],
    credit: Droplets,
    /// Bytes a direction may always run ahead of the receipts.
    floor: u64,
    pseudonym: Option<PublicKey>,
    best: Option<Receipt>,
    paused: [bool; 2],
    /// What the best receipt owed when the escrow was last asked about
    /// the pseudonym (`None`: never).
    checked: Option<u64>,
    /// Counters.
    pub stats: GateStats,
}

impl Gate {
    /// The gate of relay `me`, charging `price`, granting `credit` (half
    /// each way), and letting each direction run `floor` bytes ahead of
    /// the receipts whatever the credit: the least the route's far end
    /// must hold to count anything (the route layer's is one end-to-end
    /// record: a destination acknowledges whole records). With a smaller
    /// floor, a low credit would stop the route for good.
    pub fn new(me: Address, price: Price, credit: Droplets, floor: u64) -> Gate {
        Gate {
            me,
            meter: Meter::new(price),
            bytes: [0, 0],
            credit,
            floor,
            pseudonym: None,
            best: None,
            paused: [false, false],
            checked: None,
            stats: GateStats::default(),
        }
    }

    /// What the relay is owed beyond the best receipt, both ways.
    pub fn unpaid(&self) -> Droplets {
        let paid = self.best.map_or(0, |r| r.owed);
        Droplets(self.meter.charged().0.saturating_sub(paid))
    }

    /// Bytes of direction `dir` the best receipt covers.
    fn paid_bytes(&self, dir: usize) -> u64 {
        self.best
            .map_or(0, |r| if dir == 0 { r.bytes - r.back } else { r.back })
    }

    /// What `bytes` cost at the price (rounded down).
    fn cost(&self, bytes: u64) -> u128 {
        u128::from(bytes) * u128::from(self.meter.price.per_gb) / u128::from(GB)
    }

    /// Whether `bytes` more may be forwarded in direction `dir` (0:
    /// toward the destination) now: what that direction carried beyond
    /// the best receipt, with them, costs at most half the credit, or
    /// stays within the floor, or nothing of it is unpaid (so no credit
    /// setting, even 0, stops the route for good; the relay risks at most
    /// its credit, or the floor and a chunk each way). A refusal pauses
    /// the direction.
    pub fn may_forward(&mut self, dir: usize, bytes: u64) -> bool {
        let dir = dir.min(1);
        let behind = self.bytes[dir].saturating_sub(self.paid_bytes(dir));
        let ahead = behind.saturating_add(bytes);
        let ok =
            behind == 0 || ahead <= self.floor || self.cost(ahead) <= u128::from(self.credit.0 / 2);
        if !ok && !self.paused[dir] {
            self.stats.pauses += 1;
        }
        self.paused[dir] = !ok;
        ok
    }

    /// `bytes` were forwarded in direction `dir`: charged.
    pub fn forwarded(&mut self, dir: usize, bytes: u64) {
        let dir = dir.min(1);
        self.bytes[dir] = self.bytes[dir].saturating_add(bytes);
        self.meter.charge(bytes);
    }

    /// A receipt from the route's origin.
    pub fn on_receipt(&mut self, suite: &dyn CryptoSuite, r: &Receipt) -> Result<(), GateRefusal> {
        if r.relay != self.me || self.pseudonym.is_some_and(|p| p != r.pseudonym) {
            self.stats.foreign += 1;
            return Err(GateRefusal::Foreign);
        }
        if let Some(b) = self.best
            && (r.seq <= b.seq || r.owed < b.owed || r.bytes < b.bytes || r.back < b.back)
        {
            self.stats.stale += 1;
            return Err(GateRefusal::Stale);
        }
        if r.back > r.bytes || u128::from(r.owed) < self.cost(r.bytes) {
            self.stats.underpaid += 1;
            return Err(GateRefusal::Underpaid);
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

    /// Whether the escrow should be asked again whether the pseudonym can
    /// pay: at the first receipt, then each time what the receipts owe
    /// grew by the credit since the last check. Returns what the best
    /// receipt owes, and notes the check.
    pub fn check_due(&mut self) -> Option<u64> {
        let owed = self.best?.owed;
        let due = self
            .checked
            .is_none_or(|c| owed >= c.saturating_add(self.credit.0.max(1)));
        if due {
            self.checked = Some(owed);
        }
        due.then_some(owed)
    }

    /// The pseudonym the route is bound to (after its first receipt).
    pub fn pseudonym(&self) -> Option<&PublicKey> {
        self.pseudonym.as_ref()
    }

    /// The credit it grants.
    pub fn credit(&self) -> Droplets {
        self.credit
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
