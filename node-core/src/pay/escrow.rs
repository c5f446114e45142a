//! The escrow's ledger: pseudonymous accounts, deposits, redemption of
//! receipts, off-chain balances and withdrawals, in droplets. Pure: the
//! escrow role (a node reached over routes) feeds it requests.
//!
//! - **Accounts** are keyed by a pseudonym (a public key that signs the
//!   receipts drawn on it); an origin opens as many as it likes, so the
//!   ledger learns no identity. They are bounded ([`Limits`]): opening one
//!   past the bound is refused and counted.
//! - **Redemption** pays a relay what a receipt owes beyond the last one
//!   redeemed for the same (pseudonym, relay), less the infrastructure's
//!   fee: receipts are cumulative, so a replayed or older one pays nothing
//!   (refused, counted), a lost one loses nothing. A forged one, one drawn
//!   on an unknown account, or one owing more than the account holds, is
//!   refused and counted; the relay's credit limit is what it risks.
//! - **Withdrawal** moves a relay's balance, once it reaches the threshold
//!   (1 coin), to a fresh address never used before. No blockchain is
//!   simulated: a withdrawal is a ledger event.
//! - **Conservation**: deposits = account balances + relay balances +
//!   withdrawals + fees, exactly, after every operation
//!   ([`Escrow::conservation_error`] is 0).

use std::collections::{BTreeMap, BTreeSet};

use super::money::{COIN, Droplets, split};
use super::receipt;
use crate::crypto::CryptoSuite;
use crate::identity::{Address, PublicKey};
use crate::wire::receipt::Receipt;

/// What the ledger holds, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Pseudonymous accounts.
    pub accounts: usize,
    /// (pseudonym, relay) pairs with a redeemed receipt.
    pub redeemed: usize,
    /// Relays with a balance.
    pub relays: usize,
    /// Addresses withdrawn to (each may be used once).
    pub addresses: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            accounts: 100_000,
            redeemed: 1_000_000,
            relays: 100_000,
            addresses: 1_000_000,
        }
    }
}

/// Why the ledger refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The account exists already.
    #[error("the account exists")]
    Exists,
    /// No such account.
    #[error("no such account")]
    UnknownAccount,
    /// A bound of [`Limits`] is reached.
    #[error("the ledger is full")]
    Full,
    /// The receipt's signature is not its pseudonym's.
    #[error("forged receipt")]
    Forged,
    /// Not newer than the last redeemed for the pair (a replay), or owing
    /// less than it.
    #[error("replayed or older receipt")]
    Replayed,
    /// It owes more than the account holds.
    #[error("beyond the deposit")]
    BeyondDeposit,
    /// The balance is below the withdrawal threshold.
    #[error("below the threshold")]
    BelowThreshold,
    /// The address was withdrawn to before.
    #[error("address used before")]
    UsedAddress,
    /// An amount that would overflow.
    #[error("amount out of range")]
    Overflow,
}

/// Refusals, counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscrowStats {
    /// Receipts paid.
    pub redeemed: u64,
    /// Forged receipts.
    pub forged: u64,
    /// Replayed or older receipts.
    pub replayed: u64,
    /// Receipts beyond their account's deposit.
    pub beyond_deposit: u64,
    /// Requests on unknown accounts.
    pub unknown_account: u64,
    /// Requests refused for a full ledger.
    pub full: u64,
    /// Withdrawals refused (threshold, used address).
    pub withdrawals_refused: u64,
}

/// A withdrawal, as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// The relay paid out.
    pub relay: Address,
    /// How much.
    pub amount: Droplets,
    /// The fresh address.
    pub to: [u8; 32],
}

/// The ledger.
#[derive(Debug, Clone)]
pub struct Escrow {
    limits: Limits,
    /// The infrastructure's fee, parts per million of each payment.
    fee_ppm: u32,
    /// The balance a withdrawal needs at least.
    threshold: Droplets,
    accounts: BTreeMap<PublicKey, u64>,
    /// Last redeemed (seq, owed) per (pseudonym, relay).
    redeemed: BTreeMap<(PublicKey, Address), (u64, u64)>,
    relays: BTreeMap<Address, u64>,
    used: BTreeSet<[u8; 32]>,
    deposited: u128,
    withdrawn: u128,
    fees: u128,
    /// Withdrawals, in order.
    pub withdrawals: Vec<Withdrawal>,
    /// Counters.
    pub stats: EscrowStats,
}

impl Escrow {
    /// An empty ledger taking `fee_ppm` of each payment, withdrawals from 1
    /// coin.
    pub fn new(limits: Limits, fee_ppm: u32) -> Escrow {
        Escrow {
            limits,
            fee_ppm: fee_ppm.min(1_000_000),
            threshold: Droplets(COIN),
            accounts: BTreeMap::new(),
            redeemed: BTreeMap::new(),
            relays: BTreeMap::new(),
            used: BTreeSet::new(),
            deposited: 0,
            withdrawn: 0,
            fees: 0,
            withdrawals: Vec::new(),
            stats: EscrowStats::default(),
        }
    }

    /// Opens the account of `pseudonym`.
    pub fn open(&mut self, pseudonym: PublicKey) -> Result<(), Refused> {
        if self.accounts.contains_key(&pseudonym) {
            return Err(Refused::Exists);
        }
        if self.accounts.len() >= self.limits.accounts {
            self.stats.full += 1;
            return Err(Refused::Full);
        }
        self.accounts.insert(pseudonym, 0);
        Ok(())
    }

    /// Deposits `amount` into `pseudonym`'s account.
    pub fn deposit(&mut self, pseudonym: &PublicKey, amount: Droplets) -> Result<(), Refused> {
        let Some(b) = self.accounts.get_mut(pseudonym) else {
            self.stats.unknown_account += 1;
            return Err(Refused::UnknownAccount);
        };
        *b = b.checked_add(amount.0).ok_or(Refused::Overflow)?;
        self.deposited += u128::from(amount.0);
        Ok(())
    }

    /// Whether `pseudonym`'s account holds at least `amount` (what a relay
    /// asks before it accepts a route: it learns yes or no, nothing more).
    pub fn can_pay(&self, pseudonym: &PublicKey, amount: Droplets) -> bool {
        self.accounts.get(pseudonym).is_some_and(|&b| b >= amount.0)
    }

    /// The balance of `pseudonym`'s account.
    pub fn balance(&self, pseudonym: &PublicKey) -> Option<Droplets> {
        self.accounts.get(pseudonym).map(|&b| Droplets(b))
    }

    /// A relay's balance.
    pub fn relay_balance(&self, relay: &Address) -> Droplets {
        Droplets(self.relays.get(relay).copied().unwrap_or(0))
    }

    /// Redeems `r`: pays its relay what it owes beyond the last receipt of
    /// the pair, less the fee. Returns what the relay got.
    pub fn redeem(&mut self, suite: &dyn CryptoSuite, r: &Receipt) -> Result<Droplets, Refused> {
        if !receipt::verify(suite, r) {
            self.stats.forged += 1;
            return Err(Refused::Forged);
        }
        let Some(&balance) = self.accounts.get(&r.pseudonym) else {
            self.stats.unknown_account += 1;
            return Err(Refused::UnknownAccount);
        };
        let key = (r.pseudonym, r.relay);
        let (last_seq, last_owed) = match self.redeemed.get(&key) {
            Some(&(s, o)) => (Some(s), o),
            None => (None, 0),
        };
        if last_seq.is_some_and(|s| r.seq <= s) || r.owed < last_owed {
            self.stats.replayed += 1;
            return Err(Refused::Replayed);
        }
        let due = r.owed - last_owed;
        if due > balance {
            self.stats.beyond_deposit += 1;
            return Err(Refused::BeyondDeposit);
        }
        let new_pair = last_seq.is_none();
        if (new_pair && self.redeemed.len() >= self.limits.redeemed)
            || (!self.relays.contains_key(&r.relay) && self.relays.len() >= self.limits.relays)
        {
            self.stats.full += 1;
            return Err(Refused::Full);
        }
        let parts = split(Droplets(due), 1, self.fee_ppm);
        let paid = parts.per_relay;
        let relay = self.relays.entry(r.relay).or_insert(0);
        *relay = relay.checked_add(paid.0).ok_or(Refused::Overflow)?;
        self.accounts.insert(r.pseudonym, balance - due);
        self.fees += u128::from(parts.infrastructure.0);
        self.redeemed.insert(key, (r.seq, r.owed));
        self.stats.redeemed += 1;
        Ok(paid)
    }

    /// Withdraws `relay`'s whole balance to `to`, an address never used
    /// before, once the balance reaches the threshold.
    pub fn withdraw(&mut self, relay: &Address, to: [u8; 32]) -> Result<Withdrawal, Refused> {
        let amount = self.relays.get(relay).copied().unwrap_or(0);
        if amount < self.threshold.0 {
            self.stats.withdrawals_refused += 1;
            return Err(Refused::BelowThreshold);
        }
        self.claim_address(to)?;
        self.relays.insert(*relay, 0);
        self.withdrawn += u128::from(amount);
        let w = Withdrawal {
            relay: *relay,
            amount: Droplets(amount),
            to,
        };
        self.withdrawals.push(w);
        Ok(w)
    }

    /// Marks `to` used, unless it was used before (refused, counted) or
    /// the ledger holds as many addresses as it may.
    fn claim_address(&mut self, to: [u8; 32]) -> Result<(), Refused> {
        if self.used.contains(&to) {
            self.stats.withdrawals_refused += 1;
            return Err(Refused::UsedAddress);
        }
        if self.used.len() >= self.limits.addresses {
            self.stats.full += 1;
            return Err(Refused::Full);
        }
        self.used.insert(to);
        Ok(())
    }

    /// Refunds what `pseudonym`'s account has left to `to`, an address
    /// never used before, and closes the account (receipts drawn on it
    /// after are refused: a relay's balance checks bound what that costs
    /// it). The caller checked the pseudonym's signature. A refund is a
    /// withdrawal in the conservation sum.
    pub fn refund(&mut self, pseudonym: &PublicKey, to: [u8; 32]) -> Result<Droplets, Refused> {
        let Some(&amount) = self.accounts.get(pseudonym) else {
            self.stats.unknown_account += 1;
            return Err(Refused::UnknownAccount);
        };
        self.claim_address(to)?;
        self.accounts.remove(pseudonym);
        self.withdrawn += u128::from(amount);
        Ok(Droplets(amount))
    }

    /// Deposits less everything held or paid out: 0 when nothing was
    /// created or lost.
    pub fn conservation_error(&self) -> i128 {
        let held: u128 = self.accounts.values().map(|&b| u128::from(b)).sum::<u128>()
            + self.relays.values().map(|&b| u128::from(b)).sum::<u128>();
        self.deposited as i128 - (held + self.withdrawn + self.fees) as i128
    }

    /// Fees taken, in all.
    pub fn fees(&self) -> u128 {
        self.fees
    }

    /// Deposited, in all.
    pub fn deposited(&self) -> u128 {
        self.deposited
    }

    /// Withdrawn, in all.
    pub fn withdrawn(&self) -> u128 {
        self.withdrawn
    }
}
