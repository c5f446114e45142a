//! Importing a topology from a JSON node/link list:
//!
//! ```json
//! { "nodes": [ { "name": "a", "position": [0, 0] }, {} ],
//!   "links": [ { "between": [0, 1], "one_way": false,
//!                "link": { "latency": "5ms" }, "ab": {}, "ba": {} } ] }
//! ```
//!
//! Nodes are numbered in list order (names default to `n<i>`); links keep
//! their list order. Each direction's parameters are `topology.link`, then
//! the entry's `link`, then its `ab` or `ba`. Errors point into the imported
//! file.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{LinkEntrySpec, MAX_LINKS, MAX_NODES, generators};
use crate::model::{LinkSpec, Medium, Network};
use crate::scenario::spec::LinkParamsSpec;
use crate::scenario::{Doc, ScenarioError, parse_value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportFile {
    nodes: Vec<ImportNode>,
    #[serde(default)]
    links: Vec<LinkEntrySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportNode {
    name: Option<String>,
    position: Option<[f64; 2]>,
}

/// Builds the network described by the JSON file `doc`, its links' params
/// layered over `base`.
pub(super) fn import(doc: Doc<'_>, base: &LinkParamsSpec) -> Result<Network, ScenarioError> {
    let value = parse_value(doc)?;
    let file: ImportFile = doc.deserialize(&value, "")?;
    let n = file.nodes.len();
    if n == 0 {
        return Err(doc.error("nodes", "a topology needs at least one node"));
    }
    if n > MAX_NODES {
        return Err(doc.error("nodes", format!("more than {MAX_NODES} nodes")));
    }
    if file.links.len() > MAX_LINKS {
        return Err(doc.error("links", format!("more than {MAX_LINKS} links")));
    }
    let mut net = generators::hosts(n);
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (node, spec)) in net.nodes.iter_mut().zip(&file.nodes).enumerate() {
        if let Some(name) = &spec.name {
            if name.is_empty() {
                return Err(doc.error(&format!("nodes[{i}].name"), "a name cannot be empty"));
            }
            node.name = name.clone();
        }
        if let Some(j) = names.insert(node.name.clone(), i) {
            return Err(doc.error(
                &format!("nodes[{i}].name"),
                format!("node {j} is already named \"{}\"", node.name),
            ));
        }
        if let Some(p) = spec.position {
            if !(p[0].is_finite() && p[1].is_finite()) {
                return Err(doc.error(&format!("nodes[{i}].position"), "not a finite position"));
            }
            node.position = Some(p);
        }
    }
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let none = LinkParamsSpec::default();
    for (i, entry) in file.links.iter().enumerate() {
        let path = format!("links[{i}]");
        let [a, b] = entry.between;
        for (k, end) in [a, b].into_iter().enumerate() {
            if end >= n {
                return Err(doc.error(
                    &format!("{path}.between[{k}]"),
                    format!("node {end} does not exist (the file has {n} nodes)"),
                ));
            }
        }
        if a == b {
            return Err(doc.error(
                &format!("{path}.between"),
                "a link cannot join a node to itself",
            ));
        }
        if let Some(j) = pairs.insert((a.min(b), a.max(b)), i) {
            return Err(doc.error(
                &format!("{path}.between"),
                format!("links[{j}] already joins nodes {a} and {b}"),
            ));
        }
        let one_way = entry.one_way.unwrap_or(false);
        if one_way && entry.ba.is_some() {
            return Err(doc.error(
                &format!("{path}.ba"),
                "a one-way link has no b-to-a direction",
            ));
        }
        let both = entry.link.as_ref().unwrap_or(&none);
        let ab = LinkParamsSpec::merge(&[base, both, entry.ab.as_ref().unwrap_or(&none)]);
        let ba = (!one_way)
            .then(|| LinkParamsSpec::merge(&[base, both, entry.ba.as_ref().unwrap_or(&none)]));
        net.links.push(LinkSpec {
            a,
            b,
            ab,
            ba,
            medium: Medium::Wired,
        });
    }
    Ok(net)
}
