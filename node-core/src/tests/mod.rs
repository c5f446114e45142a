//! Scenario tests of whole nodes over the in-crate harness.

mod churn;
mod connections;
mod discovery;
mod drain;
mod failover;
mod harness;
mod lifecycle;
mod meshes;
mod pay;
mod properties;
mod reliability;
mod robustness;
mod routes;
mod segments;
mod sets;
mod timers;
mod tunnels;
