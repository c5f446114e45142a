//! Discovery: nodes find their own paths (issue 13).
//!
//! - [`adverts`]: signing and checking link-state adverts (the format is
//!   [`crate::wire::Advert`]).
//! - [`db`]: the topology database: the latest advert of every origin,
//!   aged out, bounded, with the two-way check on links.
//! - [`paths`]: path finding on a node's own view of the network: shortest
//!   paths by a metric, k link-disjoint or node-disjoint paths, the nearest
//!   gateways by hops.
//!
//! - [`find`]: path requests on the node's own database (a destination,
//!   or the nearest gateway), with clear errors when it cannot answer.
//! - [`pulse`]: one-way latency pulses in a group, anomalies against each
//!   pair's baseline, and which relay a source's traffic should take.
//! - [`meshes`]: re6st's n-order meshes: adverts scoped to meshes, the
//!   other meshes summarized by border nodes, routing table sizes.
//! - [`flood`]: the layer in a node: originating adverts, flooding them
//!   over the control channel, checking what arrives.

pub mod adverts;
pub mod db;
pub mod find;
pub mod flood;
pub mod meshes;
pub mod paths;
pub mod pulse;
