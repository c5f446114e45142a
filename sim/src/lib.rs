//! meshsim: a deterministic discrete-event network simulator whose nodes run
//! the real protocol core (`node-core`).
//!
//! Data flows one way: a scenario file ([`scenario`]) becomes a resolved
//! [`model::Scenario`]; the [`engine`] runs it over link models ([`channel`])
//! and produces [`results`] (summary and time series). A run is a pure
//! function of (scenario, seed): the event queue breaks ties by insertion
//! order, every component draws from its own RNG stream, and no wall-clock
//! figure reaches the results.
#![forbid(unsafe_code)]

pub mod bench;
pub mod channel;
pub mod engine;
pub mod mesh_graph;
pub mod mesh_tables;
pub mod model;
pub mod results;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod topology;
pub mod traffic;
pub mod units;
