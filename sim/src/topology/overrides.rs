//! `topology.overrides`: per-node and per-link changes applied after any
//! generator or import.
//!
//! A link override names an existing link by its ends (`between: [a, b]`;
//! `a` decides which direction is `ab`), then applies, in order: `one_way`
//! (`true` drops the b-to-a direction, `false` adds it as a copy of a-to-b),
//! `link` (both directions), `ab` and `ba` (one direction each).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{ChannelParams, LinkSpec, Network};
use crate::scenario::spec::LinkParamsSpec;
use crate::scenario::{Doc, ScenarioError};

const PATH: &str = "topology.overrides";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OverridesSpec {
    #[serde(default)]
    nodes: Vec<NodeOverride>,
    #[serde(default)]
    links: Vec<LinkEntrySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeOverride {
    node: usize,
    name: Option<String>,
    position: Option<[f64; 2]>,
}

/// A link as overrides and JSON imports write it: its ends, whether it is
/// one-way, parameters for both directions and for each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkEntrySpec {
    /// Its ends; the first is `a`.
    pub between: [usize; 2],
    /// Only a to b.
    pub one_way: Option<bool>,
    /// Both directions.
    pub link: Option<LinkParamsSpec>,
    /// From a to b.
    pub ab: Option<LinkParamsSpec>,
    /// From b to a.
    pub ba: Option<LinkParamsSpec>,
}

/// Applies the `overrides` section `value` (or nothing, if it is null).
pub(super) fn apply(
    doc: Doc<'_>,
    value: &Value,
    mut net: Network,
) -> Result<Network, ScenarioError> {
    if value.is_null() {
        return Ok(net);
    }
    let spec: OverridesSpec = doc.deserialize(value, PATH)?;
    let n = net.nodes.len();
    let node_error = |path: &str, node: usize| {
        doc.error(
            path,
            format!("node {node} does not exist (the topology has {n} nodes)"),
        )
    };
    // Which override last set each node's name, for error positions.
    let mut named_by: BTreeMap<usize, usize> = BTreeMap::new();
    let mut seen_nodes: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, o) in spec.nodes.iter().enumerate() {
        let path = format!("{PATH}.nodes[{i}]");
        if o.node >= n {
            return Err(node_error(&format!("{path}.node"), o.node));
        }
        if let Some(j) = seen_nodes.insert(o.node, i) {
            return Err(doc.error(
                &format!("{path}.node"),
                format!("node {} is already overridden by nodes[{j}]", o.node),
            ));
        }
        let node = &mut net.nodes[o.node];
        if let Some(name) = &o.name {
            if name.is_empty() {
                return Err(doc.error(&format!("{path}.name"), "a name cannot be empty"));
            }
            node.name = name.clone();
            named_by.insert(o.node, i);
        }
        if let Some(p) = o.position {
            if !(p[0].is_finite() && p[1].is_finite()) {
                return Err(doc.error(&format!("{path}.position"), "not a finite position"));
            }
            node.position = Some(p);
        }
    }
    let mut first_with: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, node) in net.nodes.iter().enumerate() {
        if let Some(other) = first_with.insert(&node.name, index) {
            // At least one of the two was renamed, or names were unique.
            let renamed = named_by.get(&index).or_else(|| named_by.get(&other));
            let at = renamed.map_or(PATH.to_string(), |i| format!("{PATH}.nodes[{i}].name"));
            return Err(doc.error(
                &at,
                format!(
                    "nodes {other} and {index} would both be named \"{}\"",
                    node.name
                ),
            ));
        }
    }

    // With parallel links, a pair names the first of them.
    let mut by_ends: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (i, l) in net.links.iter().enumerate() {
        by_ends.entry((l.a.min(l.b), l.a.max(l.b))).or_insert(i);
    }
    let mut seen_links: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, o) in spec.links.iter().enumerate() {
        let path = format!("{PATH}.links[{i}]");
        let [a, b] = o.between;
        for (k, end) in [a, b].into_iter().enumerate() {
            if end >= n {
                return Err(node_error(&format!("{path}.between[{k}]"), end));
            }
        }
        let Some(&index) = by_ends.get(&(a.min(b), a.max(b))) else {
            return Err(doc.error(
                &format!("{path}.between"),
                format!(
                    "there is no link between nodes {a} and {b} (overrides change existing links)"
                ),
            ));
        };
        if let Some(j) = seen_links.insert(index, i) {
            return Err(doc.error(
                &format!("{path}.between"),
                format!("the link between {a} and {b} is already overridden by links[{j}]"),
            ));
        }
        override_link(doc, &path, o, &mut net.links[index])?;
    }
    Ok(net)
}

/// The channel from `from` over `link`, if that direction exists.
fn direction(link: &mut LinkSpec, from: usize) -> Option<&mut ChannelParams> {
    if link.a == from {
        Some(&mut link.ab)
    } else {
        link.ba.as_mut()
    }
}

fn override_link(
    doc: Doc<'_>,
    path: &str,
    o: &LinkEntrySpec,
    link: &mut LinkSpec,
) -> Result<(), ScenarioError> {
    let [a, b] = o.between;
    match o.one_way {
        Some(true) => {
            if o.ba.is_some() {
                return Err(doc.error(
                    &format!("{path}.ba"),
                    "a one-way link has no b-to-a direction",
                ));
            }
            if link.a != a {
                // Keep the a-to-b direction, which is stored as `ba`.
                let Some(forward) = link.ba.take() else {
                    return Err(no_direction(doc, path, "one_way", link));
                };
                *link = LinkSpec {
                    a,
                    b,
                    ab: forward,
                    ba: None,
                    medium: link.medium,
                };
            }
            link.ba = None;
        }
        Some(false) if link.ba.is_none() => link.ba = Some(link.ab.clone()),
        _ => {}
    }
    if let Some(both) = &o.link {
        both.apply(&mut link.ab);
        if let Some(ba) = &mut link.ba {
            both.apply(ba);
        }
    }
    for (field, spec, from) in [("ab", &o.ab, a), ("ba", &o.ba, b)] {
        if let Some(spec) = spec {
            let Some(channel) = direction(link, from) else {
                return Err(no_direction(doc, path, field, link));
            };
            spec.apply(channel);
        }
    }
    Ok(())
}

/// The error for a direction that a one-way link lacks.
fn no_direction(doc: Doc<'_>, path: &str, field: &str, link: &LinkSpec) -> ScenarioError {
    let (a, b) = (link.a, link.b);
    doc.error(
        &format!("{path}.{field}"),
        format!("the link is one-way from {a} to {b}; it has no direction from {b} to {a}"),
    )
}
