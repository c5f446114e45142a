//! Source routes (being written; the route manager joins when its parts are in).
pub mod control;
pub mod crypto;
pub mod reno;
pub mod stream;
pub use self::control::{ExtendFailure, RouteKind};
