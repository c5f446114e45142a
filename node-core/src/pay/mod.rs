//! Per-hop payments (issue 15), started: the money arithmetic.
//!
//! The seeds (Skywire's payment protocol, NOIA's per-GB split) ask for
//! payments at every hop of a route: relays and origins count what they
//! carry, origins sign receipts under pseudonyms, an escrow with
//! pseudonymous accounts redeems them, and balances settle off-chain until
//! they pass a threshold and are withdrawn to a fresh address.
//!
//! Built:
//! - [`money`]: integer amounts (droplets), a per-byte meter that carries
//!   its remainder, and NOIA's split with an exact remainder rule, so that
//!   nothing is created or lost by rounding;
//! - [`receipt`]: receipts signed by the origin under a pseudonym per
//!   route and relay (the codec is `wire::receipt`);
//! - [`gate`]: a relay's side of a route (forwards within its credit, half
//!   each way, pauses, resumes on a receipt) and [`payer`]: the origin's
//!   (a pseudonym per relay, cumulative receipts, per-relay or NOIA
//!   pricing);
//! - [`escrow`]: the escrow's ledger (pseudonymous accounts, deposits,
//!   redemption of cumulative receipts, fees, withdrawals to fresh
//!   addresses, bounds, and the conservation check);
//! - in the route layer (`route::pay`): relays with terms gate the routes
//!   they extend and send PRICE and INVOICE; origins count what the
//!   destination acknowledged and what arrived back, and send receipts in
//!   ROUTE_PAY frames; relays keep the best receipt of each pseudonym for
//!   the escrow (`Node::take_receipts`).
//!
//! - [`service`]: the escrow as a node role, answering escrow requests
//!   (`wire::escrow`) that arrive on its routes; relays ask the
//!   application whether a route's pseudonym can pay (`Event::PayCheck`,
//!   answered with `Node::pay_verdict`) and close its routes on a no.
//!
//! A driver keeps the pseudonyms' keys (`Node::take_pay_pseudonyms`:
//! meshnode stores them mode 0600) to refund what an account has left
//! (REFUND, signed by the pseudonym; the account closes).

pub mod escrow;
#[cfg(test)]
mod escrow_tests;
pub mod gate;
#[cfg(test)]
mod gate_tests;
pub mod money;
pub mod payer;
pub mod receipt;
pub mod service;
#[cfg(test)]
mod service_tests;

pub use payer::{OriginPricing, PayConfig, RelayTerms};
