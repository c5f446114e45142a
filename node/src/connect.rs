//! What a `connect` control request asks for, checked before anything is
//! opened: a connection along a path the client names, one to a
//! destination along a path from the node's own topology database, or a
//! route set (a connection over several routes at once, failover or
//! aggregate).
//!
//! | fields | opens |
//! |---|---|
//! | `path` | a connection along that path (`Node::connect`) |
//! | `to` | a connection along the best path in the database (`Node::connect_to`) |
//! | `to`, `routes` > 1 or `mode` | a route set along disjoint paths from the database (`Node::connect_set`) |
//! | `path`, `mode` | a route set of one route along that path |
//!
//! `to` is a node address (32 hex digits) or `"gateway"` (the nearest
//! gateway the database knows). `routes` is 1 ..= the node's
//! `max_members`; `mode` is `"failover"` (one route carries the traffic,
//! the others stand by; the default for a set) or `"aggregate"` (striped
//! over every route). Every refusal names the field.

use node_core::{Address, Destination, SetMode, SetSpec};

/// A checked `connect` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectPlan {
    /// A connection along these hops.
    Path(Vec<Address>),
    /// A connection to a destination, along a path from the database.
    To(Destination),
    /// A route set: to `destination` (paths from the database), or along
    /// `paths` when there is none.
    Set {
        /// Where to.
        destination: Option<Destination>,
        /// The application's paths (when no destination is given).
        paths: Vec<Vec<Address>>,
        /// How many routes and how they are used.
        spec: SetSpec,
    },
}

/// A node address in hex, or why it is not one (naming `field`).
pub fn parse_address(field: &str, text: &str) -> Result<Address, String> {
    crate::hex::decode::<16>(text)
        .map(Address)
        .ok_or_else(|| format!("{field}: {text:?} is not an address (32 hex digits)"))
}

/// The hops of a request's `path`.
pub fn parse_path(path: &[String]) -> Result<Vec<Address>, String> {
    path.iter()
        .enumerate()
        .map(|(i, a)| parse_address(&format!("path[{i}]"), a))
        .collect()
}

/// A request's `to`: an address, or `"gateway"`.
pub fn parse_destination(to: &str) -> Result<Destination, String> {
    if to == "gateway" {
        return Ok(Destination::AnyGateway);
    }
    crate::hex::decode::<16>(to)
        .map(|a| Destination::Node(Address(a)))
        .ok_or_else(|| format!("to: {to:?} is neither an address (32 hex digits) nor \"gateway\""))
}

/// Checks a `connect` request's fields; `max_routes` is the node's
/// `sets.max_members`.
pub fn plan(
    path: &[String],
    to: Option<&str>,
    routes: Option<&serde_json::Value>,
    mode: Option<&str>,
    max_routes: usize,
) -> Result<ConnectPlan, String> {
    let mode = match mode {
        None => None,
        Some("failover") => Some(SetMode::Failover),
        Some("aggregate") => Some(SetMode::Aggregate),
        Some(m) => {
            return Err(format!(
                "mode: {m:?} is neither \"failover\" nor \"aggregate\""
            ));
        }
    };
    let count = match routes.map(|v| (v, v.as_u64())) {
        None => 1,
        Some((_, Some(n))) if (1..=max_routes as u64).contains(&n) => n as usize,
        Some((v, _)) => return Err(format!("routes: {v} is not a count in 1..={max_routes}")),
    };
    let set = count > 1 || mode.is_some();
    let spec = SetSpec {
        count,
        mode: mode.unwrap_or(SetMode::Failover),
    };
    match (path.is_empty(), to) {
        (false, Some(_)) => Err("connect needs one of path and to, not both".into()),
        (true, None) => {
            Err("connect needs path (addresses) or to (an address or \"gateway\")".into())
        }
        (false, None) => {
            let hops = parse_path(path)?;
            if count > 1 {
                return Err(format!(
                    "routes: {count} routes need `to` (the node finds disjoint paths itself); a path is one route"
                ));
            }
            Ok(if set {
                ConnectPlan::Set {
                    destination: None,
                    paths: vec![hops],
                    spec,
                }
            } else {
                ConnectPlan::Path(hops)
            })
        }
        (true, Some(to)) => {
            let d = parse_destination(to)?;
            Ok(if set {
                ConnectPlan::Set {
                    destination: Some(d),
                    paths: Vec::new(),
                    spec,
                }
            } else {
                ConnectPlan::To(d)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00112233445566778899aabbccddeeff";

    fn p(
        path: &[&str],
        to: Option<&str>,
        routes: Option<i64>,
        mode: Option<&str>,
    ) -> Result<ConnectPlan, String> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let routes = routes.map(serde_json::Value::from);
        plan(&path, to, routes.as_ref(), mode, 8)
    }

    #[test]
    fn requests_become_connections_or_sets() {
        let a = Address(crate::hex::decode::<16>(A).unwrap());
        assert_eq!(p(&[A], None, None, None), Ok(ConnectPlan::Path(vec![a])));
        assert_eq!(
            p(&[], Some(A), None, None),
            Ok(ConnectPlan::To(Destination::Node(a)))
        );
        assert_eq!(
            p(&[], Some("gateway"), Some(1), None),
            Ok(ConnectPlan::To(Destination::AnyGateway))
        );
        let two = SetSpec {
            count: 2,
            mode: SetMode::Failover,
        };
        assert_eq!(
            p(&[], Some(A), Some(2), None),
            Ok(ConnectPlan::Set {
                destination: Some(Destination::Node(a)),
                paths: vec![],
                spec: two
            })
        );
        assert_eq!(
            p(&[A], None, None, Some("aggregate")),
            Ok(ConnectPlan::Set {
                destination: None,
                paths: vec![vec![a]],
                spec: SetSpec {
                    count: 1,
                    mode: SetMode::Aggregate
                }
            })
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = p(&[], Some("zz"), None, None).unwrap_err();
        assert!(e.starts_with("to:") && e.contains("gateway"), "{e}");
        let e = p(&[], Some(&A[..30]), Some(2), None).unwrap_err();
        assert!(e.starts_with("to:"), "{e}");
        let e = p(&[], Some(A), Some(0), None).unwrap_err();
        assert_eq!(e, "routes: 0 is not a count in 1..=8");
        let e = p(&[], Some(A), Some(9), None).unwrap_err();
        assert_eq!(e, "routes: 9 is not a count in 1..=8");
        let e = p(&[], Some(A), Some(-2), None).unwrap_err();
        assert_eq!(e, "routes: -2 is not a count in 1..=8");
        let half = serde_json::json!(1.5);
        let e = plan(&[], Some(A), Some(&half), None, 8).unwrap_err();
        assert_eq!(e, "routes: 1.5 is not a count in 1..=8");
        let e = p(&[], Some(A), Some(2), Some("mirror")).unwrap_err();
        assert!(e.starts_with("mode:") && e.contains("mirror"), "{e}");
        let e = p(&[A], Some(A), None, None).unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = p(&[], None, Some(2), None).unwrap_err();
        assert!(e.contains("path") && e.contains("to"), "{e}");
        let e = p(&[A, "x"], None, None, None).unwrap_err();
        assert!(e.starts_with("path[1]:"), "{e}");
        let e = p(&[A], None, Some(2), None).unwrap_err();
        assert!(e.starts_with("routes:") && e.contains("`to`"), "{e}");
    }
}
