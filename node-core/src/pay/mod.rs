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
//! - [`gate`]: both ends of a route's payments as pure state: the
//!   origin's payer (a pseudonym per relay, cumulative receipts) and a
//!   relay's gate (forwards within its credit, pauses, resumes on a
//!   receipt);
//! - [`escrow`]: the escrow's ledger (pseudonymous accounts, deposits,
//!   redemption of cumulative receipts, fees, withdrawals to fresh
//!   addresses, bounds, and the conservation check).
//!
//! Not built yet: the gate and the payer inside the route layer (its
//! forwarding asks the gate; receipts as route control messages), the
//! escrow role reached over routes, `meshnode`'s side, and the simulator's
//! scenarios.

pub mod escrow;
#[cfg(test)]
mod escrow_tests;
pub mod gate;
#[cfg(test)]
mod gate_tests;
pub mod money;
pub mod receipt;
