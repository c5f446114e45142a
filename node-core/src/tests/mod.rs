//! Scenario tests of whole nodes over the in-crate harness.

mod harness;
mod lifecycle;
mod reliability;
mod robustness;
mod routes;
