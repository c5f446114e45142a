//! meshnode: the meshsim protocol core (`node-core`) driven by UDP sockets
//! and the real clock.
//!
//! The daemon ([`driver`]) is one single-threaded event loop per node: it
//! sleeps until node-core's next deadline, a datagram or a control request,
//! gives node-core what happened, and carries out what node-core asks for.
//! All protocol logic stays in node-core; this crate only does I/O:
//! sockets, the clock, OS randomness, files, signals and the local control
//! endpoint ([`control`]) that the CLI subcommands speak to, which only
//! the node's own user (and root) may use ([`endpoint`]). Paths a client or
//! a remote sender has a say in are opened without following links and
//! never replace a file ([`files`], [`transfer`]). With discovery on
//! ([`config`]), a connection names its destination instead of a path, and
//! may be a route set over several disjoint routes ([`connect`]).
#![forbid(unsafe_code)]

pub mod bench;
pub mod config;
pub mod connect;
pub mod control;
pub mod driver;
pub mod endpoint;
pub mod events;
pub mod files;
pub mod hex;
pub mod keyfile;
pub mod log;
pub mod status;
pub mod transfer;
mod udp;
