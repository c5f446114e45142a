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
//! The link-state adverts, the topology database and the route sets come
//! next, on top of these.

pub mod adverts;
pub mod db;
pub mod paths;
