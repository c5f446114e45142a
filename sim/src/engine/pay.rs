//! The engine's side of payments (issue 15): the escrow it runs for the
//! nodes, fed at every metrics sample.
//!
//! At each sample the engine opens and funds the accounts the origins'
//! new pseudonyms need (`pay.escrow.deposit` each), redeems the receipts
//! the nodes kept (relays' own, and under NOIA pricing the origins'
//! receipts for the infrastructure), and withdraws each relay's balance
//! once it reaches 1 coin to an address never used before. No blockchain
//! is simulated: a withdrawal is a ledger event. The ledger's
//! conservation error is recorded at every sample.
//!
//! An exception to the design, said here: the escrow is a role a node
//! plays, reached over routes on its own channel; here the engine holds
//! the ledger and hands it what the nodes kept, without the messages (a
//! real deployment needs the escrow role and its codecs).

use std::collections::BTreeMap;

use node_core::pay::escrow::{Escrow, Limits, Refused};
use node_core::{Address, PublicKey, Time};
use sha2::{Digest, Sha256};

use super::protocol::Protocol;
use super::{Population, World};
use crate::model::PayPlan;

/// The ledger at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct PaySample {
    /// When.
    pub time: Time,
    /// Deposits less everything held or paid out (0: nothing created or
    /// lost).
    pub conservation_error: i128,
    /// What each node earned so far (balance and withdrawals), droplets.
    pub earned: Vec<u64>,
}

/// The engine's escrow and what it saw.
#[derive(Debug, Clone)]
pub struct PayWatch {
    pub plan: PayPlan,
    pub ledger: Escrow,
    /// Bytes of the last receipt redeemed per (pseudonym, relay).
    paid_bytes: BTreeMap<(PublicKey, Address), u64>,
    /// What the latest receipt presented owes, and the latest redeemed
    /// one, per (pseudonym, relay).
    claimed: BTreeMap<(PublicKey, Address), u64>,
    redeemed_owed: BTreeMap<(PublicKey, Address), u64>,
    /// Withdrawn per payee.
    withdrawn: BTreeMap<Address, u64>,
    /// Node index by address, and each node's address.
    index: BTreeMap<Address, usize>,
    addresses: Vec<Address>,
    seed: u64,
    /// Accounts opened and funded.
    pub accounts: u64,
    /// Relays' balance checks answered, and those answered "cannot pay".
    pub checks: u64,
    pub checks_refused: u64,
    /// Redemptions refused, by why.
    pub refused: BTreeMap<&'static str, u64>,
    pub samples: Vec<PaySample>,
}

impl PayWatch {
    pub fn new(plan: PayPlan, addresses: Vec<Address>, seed: u64) -> PayWatch {
        PayWatch {
            ledger: Escrow::new(Limits::default(), plan.fee_ppm),
            plan,
            paid_bytes: BTreeMap::new(),
            claimed: BTreeMap::new(),
            redeemed_owed: BTreeMap::new(),
            withdrawn: BTreeMap::new(),
            index: addresses.iter().enumerate().map(|(i, a)| (*a, i)).collect(),
            addresses,
            seed,
            accounts: 0,
            checks: 0,
            checks_refused: 0,
            refused: BTreeMap::new(),
            samples: Vec::new(),
        }
    }

    /// What `payee` earned so far (balance and withdrawals).
    pub fn earned(&self, payee: &Address) -> u64 {
        self.ledger.relay_balance(payee).0 + self.withdrawn.get(payee).copied().unwrap_or(0)
    }

    /// Stream bytes the receipts redeemed for `payee` cover, in all.
    pub fn paid_bytes(&self, payee: &Address) -> u64 {
        self.paid_bytes
            .iter()
            .filter(|((_, a), _)| a == payee)
            .map(|(_, b)| b)
            .sum()
    }

    /// What `payee`'s receipts owe that the escrow did not pay (refused:
    /// beyond the deposit), before fees.
    pub fn unpaid(&self, payee: &Address) -> u64 {
        self.claimed
            .iter()
            .filter(|((_, a), _)| a == payee)
            .map(|(k, &owed)| owed - self.redeemed_owed.get(k).copied().unwrap_or(0).min(owed))
            .sum()
    }

    /// Every payee with a balance, a withdrawal or a receipt.
    pub fn payees(&self) -> Vec<Address> {
        let mut v: Vec<Address> = self.withdrawn.keys().copied().collect();
        v.extend(self.paid_bytes.keys().map(|(_, a)| *a));
        v.extend(self.claimed.keys().map(|(_, a)| *a));
        v.sort();
        v.dedup();
        v
    }

    /// Node index of `a`, if it is a node.
    pub fn node_of(&self, a: &Address) -> Option<usize> {
        self.index.get(a).copied()
    }

    /// A fresh withdrawal address: a hash of the run's seed and a counter
    /// (never reused; the ledger refuses a reused one).
    fn fresh_address(&self, n: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"meshsim withdrawal address");
        h.update(self.seed.to_be_bytes());
        h.update(n.to_be_bytes());
        h.finalize().into()
    }
}

fn why(r: Refused) -> &'static str {
    match r {
        Refused::Exists => "exists",
        Refused::UnknownAccount => "unknown_account",
        Refused::Full => "full",
        Refused::Forged => "forged",
        Refused::Replayed => "replayed",
        Refused::BeyondDeposit => "beyond_deposit",
        Refused::BelowThreshold => "below_threshold",
        Refused::UsedAddress => "used_address",
        Refused::Overflow => "overflow",
    }
}

impl<P: Population> World<P> {
    /// Feeds the escrow what the nodes kept, in node order (accounts
    /// first, then receipts), withdraws, and records the ledger.
    pub(super) fn settle_pay(&mut self) {
        let Some(w) = self.pay.as_mut() else { return };
        let suite = self.scenario.protocol.suite.suite();
        let mut receipts = Vec::new();
        for (i, slot) in self.nodes.iter_mut().enumerate() {
            open_accounts(w, i, &mut slot.node);
            let times = if w.plan.replayers[i] { 2 } else { 1 };
            for r in slot.node.take_receipts() {
                for _ in 0..times {
                    receipts.push(r);
                }
            }
        }
        for r in receipts {
            w.claimed.insert((r.pseudonym, r.relay), r.owed);
            match w.ledger.redeem(suite, &r) {
                Ok(_) => {
                    w.paid_bytes.insert((r.pseudonym, r.relay), r.bytes);
                    w.redeemed_owed.insert((r.pseudonym, r.relay), r.owed);
                }
                Err(e) => *w.refused.entry(why(e)).or_default() += 1,
            }
        }
        if w.plan.withdraw {
            for payee in w.payees() {
                if w.ledger.relay_balance(&payee).0 >= node_core::pay::money::COIN {
                    let to = w.fresh_address(w.ledger.withdrawals.len() as u64);
                    if let Ok(x) = w.ledger.withdraw(&payee, to) {
                        *w.withdrawn.entry(payee).or_default() += x.amount.0;
                    }
                }
            }
        }
        let earned = w.addresses.iter().map(|a| w.earned(a)).collect();
        w.samples.push(PaySample {
            time: self.now,
            conservation_error: w.ledger.conservation_error(),
            earned,
        });
    }

    /// A relay's `Event::PayCheck`: the escrow says whether `pseudonym`
    /// can pay what its receipt to relay `i` owes beyond what was
    /// redeemed, plus the relay's credit. Accounts the origins opened
    /// since the last sample are opened first (an origin opens one before
    /// its first receipt).
    pub(super) fn answer_pay_check(
        &mut self,
        i: usize,
        pseudonym: PublicKey,
        owed: u64,
        credit: u64,
    ) {
        let Some(w) = self.pay.as_mut().filter(|w| w.plan.check) else {
            return;
        };
        for (k, slot) in self.nodes.iter_mut().enumerate() {
            open_accounts(w, k, &mut slot.node);
        }
        let relay = w.addresses[i];
        let redeemed = w
            .redeemed_owed
            .get(&(pseudonym, relay))
            .copied()
            .unwrap_or(0);
        let want = owed.saturating_sub(redeemed).saturating_add(credit);
        let ok = w
            .ledger
            .can_pay(&pseudonym, node_core::pay::money::Droplets(want));
        w.checks += 1;
        if !ok {
            w.checks_refused += 1;
        }
        self.nodes[i].node.pay_verdict(&pseudonym, ok);
    }

    /// The payments' watch, if the scenario has a `pay` section.
    pub fn pay(&self) -> Option<&PayWatch> {
        self.pay.as_ref()
    }
}

/// Opens and funds the accounts node `i` opened as an origin.
fn open_accounts<N: Protocol>(w: &mut PayWatch, i: usize, node: &mut N) {
    let deposit = node_core::pay::money::Droplets(w.plan.deposits[i]);
    for pk in node.take_pay_accounts() {
        if w.ledger.open(pk).is_ok() && w.ledger.deposit(&pk, deposit).is_ok() {
            w.accounts += 1;
        }
    }
}
