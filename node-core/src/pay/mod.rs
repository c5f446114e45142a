//! Per-hop payments (issue 15), started: the money arithmetic.
//!
//! The seeds (Skywire's payment protocol, NOIA's per-GB split) ask for
//! payments at every hop of a route: relays and origins count what they
//! carry, origins sign receipts under pseudonyms, an escrow with
//! pseudonymous accounts redeems them, and balances settle off-chain until
//! they pass a threshold and are withdrawn to a fresh address.
//!
//! Built so far:
//! - [`money`]: integer amounts (droplets), a per-byte meter that carries
//!   its remainder, and NOIA's split with an exact remainder rule, so that
//!   nothing is created or lost by rounding;
//! - [`receipt`]: receipts signed by the origin under a pseudonym per
//!   route and relay (the codec is `wire::receipt`);
//! - [`escrow`]: the escrow's ledger (pseudonymous accounts, deposits,
//!   redemption of cumulative receipts, fees, withdrawals to fresh
//!   addresses, bounds, and the conservation check).
//!
//! Not built yet: the accounting hook in the route layer, receipts on the
//! wire between origin and relays, relay credit limits and pausing, the
//! escrow role reached over routes, `meshnode`'s side, and the simulator's
//! scenarios.

pub mod escrow;
#[cfg(test)]
mod escrow_tests;
pub mod money;
pub mod receipt;
