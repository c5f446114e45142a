//! Per-hop payments (issue 15), started: the money arithmetic.
//!
//! The seeds (Skywire's payment protocol, NOIA's per-GB split) ask for
//! payments at every hop of a route: relays and origins count what they
//! carry, origins sign receipts under pseudonyms, an escrow with
//! pseudonymous accounts redeems them, and balances settle off-chain until
//! they pass a threshold and are withdrawn to a fresh address.
//!
//! Built so far: [`money`], integer amounts (droplets), a per-byte meter
//! that carries its remainder, and NOIA's split with an exact remainder
//! rule, so that nothing is created or lost by rounding. Not built yet:
//! the accounting hook in the route layer, receipts and their codec, the
//! escrow role, relay credit limits, and the simulator's scenarios.

pub mod money;
