//! Importing a topology from GraphML (the Topology Zoo ships both GML and
//! GraphML): the XML is read with `roxmltree` and turned into the items the
//! GML reader builds networks from, so both formats mean the same thing.
//!
//! `<key attr.name=".." attr.type=".." for="node|edge" id="dN"/>` names the
//! data keys; each `<data key="dN">` of a node or edge becomes the attribute
//! `attr.name` (a number for the numeric types, else a string). Node ids are
//! strings in GraphML: they are numbered in order of appearance (a data
//! attribute named `id` is ignored: the element's id is the node's).
//! `<graph edgedefault="directed">` makes edges one-way as `directed 1` does
//! in GML. Errors carry the line and column of the element.

use std::collections::BTreeMap;

use super::gml::{self, Item, Parallel, Value};
use crate::model::Network;
use crate::scenario::spec::LinkParamsSpec;
use crate::scenario::{Doc, ScenarioError};

/// Builds the network described by the GraphML file `doc`.
pub(super) fn import(
    doc: Doc<'_>,
    base: &LinkParamsSpec,
    parallel: Parallel,
) -> Result<Network, ScenarioError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let xml = roxmltree::Document::parse_with_options(doc.text, opts).map_err(|e| {
        let p = e.pos();
        doc.error_at("", p.row as usize, p.col as usize, format!("not XML: {e}"))
    })?;
    let at = |n: roxmltree::Node<'_, '_>| {
        let p = xml.text_pos_at(n.range().start);
        (p.row as usize, p.col as usize)
    };
    let root = xml.root_element();
    if root.tag_name().name() != "graphml" {
        let (l, c) = at(root);
        return Err(doc.error_at("", l, c, "not GraphML: the root element is not <graphml>"));
    }
    // Data keys: id -> (name, numeric).
    let mut keys: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
    for k in root.children().filter(|n| n.has_tag_name("key")) {
        let (Some(id), Some(name)) = (k.attribute("id"), k.attribute("attr.name")) else {
            continue;
        };
        let numeric = matches!(
            k.attribute("attr.type"),
            Some("int" | "long" | "float" | "double")
        );
        keys.insert(id, (name, numeric));
    }
    let Some(graph) = root.children().find(|n| n.has_tag_name("graph")) else {
        return Err(doc.error_at("graph", 1, 1, "no <graph> in this file"));
    };
    let item = |key: &str, (line, column): (usize, usize), value: Value| Item {
        key: key.to_string(),
        line,
        column,
        value,
    };
    let mut items = Vec::new();
    if graph.attribute("edgedefault") == Some("directed") {
        items.push(item("directed", at(graph), Value::Num("1".into())));
    }
    let data = |el: roxmltree::Node<'_, '_>, out: &mut Vec<Item>| {
        for d in el.children().filter(|n| n.has_tag_name("data")) {
            let Some(&(name, numeric)) = d.attribute("key").and_then(|k| keys.get(k)) else {
                continue;
            };
            if name == "id" {
                continue;
            }
            let text = d.text().unwrap_or("").trim().to_string();
            let value = if numeric {
                Value::Num(text)
            } else {
                Value::Str(text)
            };
            out.push(item(name, at(d), value));
        }
    };
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for n in graph.children().filter(|n| n.has_tag_name("node")) {
        let Some(id) = n.attribute("id") else {
            let (l, c) = at(n);
            return Err(doc.error_at("graph.node", l, c, "a <node> needs an id"));
        };
        let next = ids.len();
        let index = *ids.entry(id).or_insert(next);
        let mut attrs = vec![item("id", at(n), Value::Num(index.to_string()))];
        if index != next {
            let (l, c) = at(n);
            return Err(doc.error_at("graph.node", l, c, format!("node id {id:?} is used twice")));
        }
        data(n, &mut attrs);
        items.push(item("node", at(n), Value::List(attrs)));
    }
    for e in graph.children().filter(|n| n.has_tag_name("edge")) {
        let mut attrs = Vec::new();
        for end in ["source", "target"] {
            let Some(id) = e.attribute(end) else {
                continue; // the GML reader names what is missing
            };
            let Some(&index) = ids.get(id) else {
                let (l, c) = at(e);
                return Err(doc.error_at("graph.edge", l, c, format!("no node has id {id:?}")));
            };
            attrs.push(item(end, at(e), Value::Num(index.to_string())));
        }
        data(e, &mut attrs);
        items.push(item("edge", at(e), Value::List(attrs)));
    }
    let top = vec![item("graph", at(graph), Value::List(items))];
    gml::build(doc, &top, base, parallel)
}
