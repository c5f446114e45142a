//! Importing a topology from GML, as Shadow writes it:
//!
//! ```text
//! graph [
//!   directed 1
//!   node [ id 5 label "a" ]
//!   node [ id 7 label "b" ]
//!   edge [ source 5 target 7 latency "10 ms" packet_loss 0.01 bandwidth "10 Mbit" ]
//! ]
//! ```
//!
//! Node ids map to node indices in order of appearance; a `label` becomes
//! the node's name (else `n<i>`). Edge attributes: `latency` and `jitter`
//! (a duration string such as `"10 ms"`, or a bare number of milliseconds,
//! Shadow's old convention), `packet_loss` (a probability: Bernoulli loss)
//! and `bandwidth` (a rate such as `"10 Mbit"`, or a bare number of bits per
//! second); they are layered over `topology.link`. With `directed 1` an edge
//! is one-way, unless the reverse edge also exists, in which case the two
//! make one two-way link with per-direction parameters.
//!
//! The parser is tolerant of content and strict on syntax: Shadow files
//! carry many attributes this simulator has no use for, so unknown keys are
//! ignored, as are self-loops (Shadow requires one per node, for traffic
//! inside a host); malformed syntax is an error with its line and column.

use std::collections::BTreeMap;

use super::{MAX_LINKS, MAX_NODES, generators};
use crate::model::{LinkSpec, Medium, Network};
use crate::scenario::spec::{Dur, LinkParamsSpec, LossSpec, Prob, Rate};
use crate::scenario::{Doc, ScenarioError};
use crate::units;

/// Deeper nesting than this is refused (Shadow files nest three levels).
const MAX_DEPTH: usize = 32;

/// A value of a GML key.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A number, as written.
    Num(String),
    /// A string, without its quotes.
    Str(String),
    /// A bracketed list of key-value pairs.
    List(Vec<Item>),
}

/// One `key value` pair and where its value starts.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    key: String,
    line: usize,
    column: usize,
    value: Value,
}

struct Parser<'a> {
    doc: Doc<'a>,
    b: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Parser<'a> {
    fn column(&self) -> usize {
        self.pos - self.line_start + 1
    }

    fn error(&self, message: impl Into<String>) -> ScenarioError {
        self.doc.error_at("", self.line, self.column(), message)
    }

    /// Skips whitespace and `#` comments, counting lines.
    fn skip_blank(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.b.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// Parses `key value` pairs until `]` (inside a list) or the end.
    fn list(&mut self, depth: usize) -> Result<Vec<Item>, ScenarioError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("lists nested deeper than {MAX_DEPTH}")));
        }
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.b.get(self.pos) {
                None if depth == 0 => return Ok(items),
                None => return Err(self.error("missing `]` before the end of the file")),
                Some(b']') if depth > 0 => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                    let start = self.pos;
                    while self
                        .b
                        .get(self.pos)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        self.pos += 1;
                    }
                    let key = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                    self.skip_blank();
                    let (line, column) = (self.line, self.column());
                    let value = self.value(&key, depth)?;
                    items.push(Item {
                        key,
                        line,
                        column,
                        value,
                    });
                }
                Some(_) => return Err(self.error("expected a key (a name such as `node`)")),
            }
        }
    }

    fn value(&mut self, key: &str, depth: usize) -> Result<Value, ScenarioError> {
        match self.b.get(self.pos) {
            Some(b'[') => {
                self.pos += 1;
                Ok(Value::List(self.list(depth + 1)?))
            }
            Some(b'"') => {
                let (line, column) = (self.line, self.column());
                self.pos += 1;
                let start = self.pos;
                while let Some(&c) = self.b.get(self.pos) {
                    if c == b'"' {
                        let s = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                        self.pos += 1;
                        return Ok(Value::Str(s));
                    }
                    self.pos += 1;
                    if c == b'\n' {
                        self.line += 1;
                        self.line_start = self.pos;
                    }
                }
                Err(self
                    .doc
                    .error_at("", line, column, "this string has no closing quote"))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.') => {
                let start = self.pos;
                while self
                    .b
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.pos += 1;
                }
                let text = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                if text.parse::<f64>().is_err() {
                    let column = start - self.line_start + 1;
                    return Err(self.doc.error_at(
                        "",
                        self.line,
                        column,
                        format!("malformed number `{text}`"),
                    ));
                }
                Ok(Value::Num(text))
            }
            _ => Err(self.error(format!(
                "`{key}` needs a value: a number, a \"string\" or a [ list ]"
            ))),
        }
    }
}

/// Parses GML text into its top-level items.
fn parse(doc: Doc<'_>) -> Result<Vec<Item>, ScenarioError> {
    let mut parser = Parser {
        doc,
        b: doc.text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
    };
    parser.list(0)
}

/// What reading one edge gives.
struct Edge {
    source: usize,
    target: usize,
    params: LinkParamsSpec,
}

struct Reader<'a> {
    doc: Doc<'a>,
}

impl Reader<'_> {
    fn error(&self, path: &str, item: &Item, message: impl Into<String>) -> ScenarioError {
        self.doc.error_at(path, item.line, item.column, message)
    }

    fn int(&self, path: &str, item: &Item) -> Result<i64, ScenarioError> {
        match &item.value {
            Value::Num(t) => t
                .parse()
                .map_err(|_| self.error(path, item, format!("`{t}` is not an integer id"))),
            _ => Err(self.error(path, item, "expected an integer id")),
        }
    }

    /// A duration: a string with its unit, or a number of milliseconds.
    fn duration(&self, path: &str, item: &Item) -> Result<Dur, ScenarioError> {
        let parsed = match &item.value {
            Value::Str(s) => units::parse_duration(s),
            Value::Num(t) => units::parse_duration(&format!("{t}ms")),
            Value::List(_) => Err("expected a duration such as \"10 ms\"".to_string()),
        };
        parsed.map(Dur).map_err(|e| self.error(path, item, e))
    }

    /// A rate: a string with its unit, or a number of bits per second.
    fn rate(&self, path: &str, item: &Item) -> Result<Rate, ScenarioError> {
        let parsed = match &item.value {
            Value::Str(s) => units::parse_rate(s),
            Value::Num(t) => units::parse_rate(&format!("{t}bps")),
            Value::List(_) => Err("expected a rate such as \"10 Mbit\"".to_string()),
        };
        parsed.map(Rate).map_err(|e| self.error(path, item, e))
    }

    fn probability(&self, path: &str, item: &Item) -> Result<Prob, ScenarioError> {
        match &item.value {
            Value::Num(t) => match t.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(Prob(p)),
                _ => Err(self.error(path, item, format!("probability {t} is outside [0, 1]"))),
            },
            _ => Err(self.error(path, item, "expected a probability in [0, 1]")),
        }
    }

    fn edge(
        &self,
        path: &str,
        whole: &Item,
        ids: &BTreeMap<i64, usize>,
    ) -> Result<Edge, ScenarioError> {
        let Value::List(items) = &whole.value else {
            return Err(self.error(path, whole, "expected [ source .. target .. ]"));
        };
        let mut ends = [None, None];
        let mut params = LinkParamsSpec::default();
        for item in items {
            let at = format!("{path}.{}", item.key);
            match item.key.as_str() {
                "source" | "target" => {
                    let id = self.int(&at, item)?;
                    let Some(&node) = ids.get(&id) else {
                        return Err(self.error(&at, item, format!("no node has id {id}")));
                    };
                    ends[usize::from(item.key == "target")] = Some(node);
                }
                "latency" => params.latency = Some(self.duration(&at, item)?),
                "jitter" => params.jitter = Some(self.duration(&at, item)?),
                "bandwidth" => params.bandwidth = Some(self.rate(&at, item)?),
                "packet_loss" => {
                    let p = self.probability(&at, item)?;
                    let loss = if p.0 == 0.0 {
                        LossSpec::None
                    } else {
                        LossSpec::Bernoulli(p)
                    };
                    params.loss = Some(Some(loss));
                }
                _ => {}
            }
        }
        match ends {
            [Some(source), Some(target)] => Ok(Edge {
                source,
                target,
                params,
            }),
            [None, _] => Err(self.error(path, whole, "an edge needs a `source`")),
            [_, None] => Err(self.error(path, whole, "an edge needs a `target`")),
        }
    }
}

/// Builds the network described by the GML file `doc`, its links' params
/// layered over `base`.
pub(super) fn import(doc: Doc<'_>, base: &LinkParamsSpec) -> Result<Network, ScenarioError> {
    let top = parse(doc)?;
    let reader = Reader { doc };
    let graph = top.iter().find(|i| i.key == "graph");
    let Some(Item {
        value: Value::List(graph),
        ..
    }) = graph
    else {
        return Err(doc.error_at("graph", 1, 1, "no `graph [ ... ]` in this file"));
    };
    let mut directed = false;
    let mut ids: BTreeMap<i64, usize> = BTreeMap::new();
    let mut names: Vec<Option<String>> = Vec::new();
    for item in graph.iter().filter(|i| i.key == "directed") {
        directed = matches!(&item.value, Value::Num(t) if t != "0");
    }
    for (k, item) in graph.iter().filter(|i| i.key == "node").enumerate() {
        let path = format!("graph.node[{k}]");
        let Value::List(attrs) = &item.value else {
            return Err(reader.error(&path, item, "expected [ id .. ]"));
        };
        let Some(id_item) = attrs.iter().find(|a| a.key == "id") else {
            return Err(reader.error(&path, item, "a node needs an `id`"));
        };
        let id = reader.int(&format!("{path}.id"), id_item)?;
        if ids.insert(id, names.len()).is_some() {
            return Err(reader.error(
                &format!("{path}.id"),
                id_item,
                format!("id {id} is used twice"),
            ));
        }
        if names.len() == MAX_NODES {
            return Err(reader.error(&path, item, format!("more than {MAX_NODES} nodes")));
        }
        let label = attrs
            .iter()
            .find(|a| a.key == "label")
            .and_then(|a| match &a.value {
                Value::Str(s) | Value::Num(s) => Some(s.clone()),
                Value::List(_) => None,
            });
        names.push(label.filter(|l| !l.is_empty()));
    }
    if names.is_empty() {
        return Err(doc.error_at("graph", 1, 1, "the graph has no nodes"));
    }
    let mut net = generators::hosts(names.len());
    let mut first_with: BTreeMap<String, usize> = BTreeMap::new();
    let node_items = graph.iter().filter(|i| i.key == "node");
    for (i, (label, item)) in names.into_iter().zip(node_items).enumerate() {
        if let Some(label) = label {
            net.nodes[i].name = label;
        }
        if let Some(j) = first_with.insert(net.nodes[i].name.clone(), i) {
            let name = &net.nodes[i].name;
            return Err(reader.error(
                &format!("graph.node[{i}].label"),
                item,
                format!("node {j} is already named \"{name}\""),
            ));
        }
    }
    // (smaller end, larger end) -> link index.
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (k, item) in graph.iter().filter(|i| i.key == "edge").enumerate() {
        let path = format!("graph.edge[{k}]");
        let edge = reader.edge(&path, item, &ids)?;
        let (s, t) = (edge.source, edge.target);
        if s == t {
            continue;
        }
        let params = LinkParamsSpec::merge(&[base, &edge.params]);
        let duplicate = || {
            reader.error(
                &path,
                item,
                format!("a second edge from node {s} to node {t}"),
            )
        };
        match pairs.get(&(s.min(t), s.max(t))) {
            None => {
                if net.links.len() == MAX_LINKS {
                    return Err(reader.error(&path, item, format!("more than {MAX_LINKS} links")));
                }
                pairs.insert((s.min(t), s.max(t)), net.links.len());
                net.links.push(LinkSpec {
                    a: s,
                    b: t,
                    ba: (!directed).then(|| params.clone()),
                    ab: params,
                    medium: Medium::Wired,
                });
            }
            Some(&index) => {
                let link = &mut net.links[index];
                if !directed || link.a == s || link.ba.is_some() {
                    return Err(duplicate());
                }
                link.ba = Some(params);
            }
        }
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Doc<'_> {
        Doc { text, file: None }
    }

    #[test]
    fn parses_nested_lists_comments_and_strings() {
        let items = parse(doc("# c\nCreator \"x y\"\ngraph [ a 1 b [ c -2.5e3 ] ]\n")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].value, Value::Str("x y".into()));
        assert_eq!((items[1].line, items[1].column), (3, 7));
        let Value::List(g) = &items[1].value else {
            panic!()
        };
        assert_eq!(
            g[1].value,
            Value::List(vec![Item {
                key: "c".into(),
                line: 3,
                column: 19,
                value: Value::Num("-2.5e3".into()),
            }])
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        for (text, line, column, needle) in [
            ("graph [ node [ id 1 ]", 1, 22, "missing `]`"),
            ("graph [\n  node \"abc\n", 2, 8, "no closing quote"),
            ("graph [\n  ] ]", 2, 5, "expected a key"),
            ("graph [ id 1x2 ]", 1, 12, "malformed number"),
            ("graph [ id ]", 1, 12, "needs a value"),
            ("graph [ @ ]", 1, 9, "expected a key"),
        ] {
            let e = parse(doc(text)).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        let deep = "a [ ".repeat(100);
        assert!(parse(doc(&deep)).unwrap_err().message.contains("nested"));
    }
}
