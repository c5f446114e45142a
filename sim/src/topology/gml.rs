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
pub(super) enum Value {
    /// A number, as written.
    Num(String),
    /// A string, without its quotes.
    Str(String),
    /// A bracketed list of key-value pairs.
    List(Vec<Item>),
}

/// One `key value` pair and where its value starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub key: String,
    pub line: usize,
    pub column: usize,
    pub value: Value,
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

    /// A number of bits per second (`LinkSpeedRaw 1.0E10`).
    fn raw_speed(&self, path: &str, item: &Item) -> Result<Rate, ScenarioError> {
        match &item.value {
            Value::Num(t) => match t.parse::<f64>() {
                Ok(v) if (1.0..1e18).contains(&v) => Ok(Rate(v.round() as u64)),
                _ => Err(self.error(
                    path,
                    item,
                    format!("{t} is not a link speed in bits/s (at least 1): remove the attribute or fix it"),
                )),
            },
            _ => Err(self.error(path, item, "expected a number of bits per second")),
        }
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
                // The Topology Zoo's link speed in bits/s ("bandwidth" wins).
                "LinkSpeedRaw" if params.bandwidth.is_none() => {
                    params.bandwidth = Some(self.raw_speed(&at, item)?)
                }
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
pub(super) fn import(
    doc: Doc<'_>,
    base: &LinkParamsSpec,
    parallel: Parallel,
) -> Result<Network, ScenarioError> {
    build(doc, &parse(doc)?, base, parallel)
}

/// Builds the network of a parsed graph (from GML, or GraphML turned into
/// the same items: see `graphml`).
pub(super) fn build(
    doc: Doc<'_>,
    top: &[Item],
    base: &LinkParamsSpec,
    parallel: Parallel,
) -> Result<Network, ScenarioError> {
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
    let mut geos: Vec<Option<[f64; 2]>> = Vec::new();
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
        // The Topology Zoo writes "None" where a node had no name.
        names.push(label.filter(|l| !l.is_empty() && l != "None"));
        let coordinate = |key: &str| -> Result<Option<f64>, ScenarioError> {
            let Some(a) = attrs.iter().find(|a| a.key == key) else {
                return Ok(None);
            };
            let at = format!("{path}.{key}");
            match &a.value {
                Value::Num(t) => match t.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(reader.error(&at, a, format!("`{t}` is not a number of degrees"))),
                },
                _ => Err(reader.error(&at, a, "expected a number of degrees")),
            }
        };
        let geo = match (coordinate("Latitude")?, coordinate("Longitude")?) {
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Some([lat, lon])
            }
            (Some(lat), Some(lon)) => {
                return Err(reader.error(
                    &path,
                    item,
                    format!("latitude {lat} / longitude {lon} is not a place on Earth"),
                ));
            }
            // One coordinate without the other: no position.
            _ => None,
        };
        geos.push(geo);
    }
    if names.is_empty() {
        return Err(doc.error_at("graph", 1, 1, "the graph has no nodes"));
    }
    let mut net = generators::hosts(names.len());
    // A label is a name, not a key: a missing one gives `n<i>`, a repeated
    // one gets ` (2)`, ` (3)`, ... in file order (skipping names taken).
    let mut taken: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (label, geo)) in names.into_iter().zip(geos).enumerate() {
        net.nodes[i].geo = geo;
        let base_name = label.unwrap_or_else(|| format!("n{i}"));
        let count = seen.entry(base_name.clone()).or_insert(0);
        *count += 1;
        let mut k = *count;
        let mut name = if k == 1 {
            base_name.clone()
        } else {
            format!("{base_name} ({k})")
        };
        while taken.contains(&name) {
            k += 1;
            name = format!("{base_name} ({k})");
        }
        taken.insert(name.clone());
        net.nodes[i].name = name;
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
        let mut spec = edge.params.clone();
        let mut derived = false;
        if spec.latency.is_none()
            && let (Some(a), Some(b)) = (net.nodes[s].geo, net.nodes[t].geo)
        {
            spec.latency = Some(Dur(fibre_latency(great_circle_km(a, b))));
            derived = true;
        }
        let params = LinkParamsSpec::merge(&[base, &spec]);
        let duplicate = || {
            reader.error(
                &path,
                item,
                format!(
                    "a second edge from node {s} to node {t} (set \"parallel\": \"merge\" or \"keep\")"
                ),
            )
        };
        let existing = pairs.get(&(s.min(t), s.max(t))).copied();
        let new_link = match existing {
            None => true,
            Some(_) if parallel == Parallel::Keep => true,
            Some(index) => {
                let link = &mut net.links[index];
                if directed && link.a != s && link.ba.is_none() {
                    // The reverse of a one-way edge: the link's other direction.
                    link.ba = Some(params.clone());
                } else if parallel == Parallel::Merge {
                    // One link with the capacity of all: bandwidths add up,
                    // the lowest latency stands (the rest is the first's).
                    let dirs: Vec<&mut crate::model::ChannelParams> = if directed {
                        if link.a == s {
                            vec![&mut link.ab]
                        } else {
                            link.ba.iter_mut().collect()
                        }
                    } else {
                        std::iter::once(&mut link.ab)
                            .chain(link.ba.iter_mut())
                            .collect()
                    };
                    for d in dirs {
                        d.bandwidth_bps = d.bandwidth_bps.saturating_add(params.bandwidth_bps);
                        d.latency = d.latency.min(params.latency);
                    }
                } else {
                    return Err(duplicate());
                }
                false
            }
        };
        if new_link {
            if net.links.len() == MAX_LINKS {
                return Err(reader.error(&path, item, format!("more than {MAX_LINKS} links")));
            }
            pairs.entry((s.min(t), s.max(t))).or_insert(net.links.len());
            if derived {
                net.derived_latency.push(net.links.len());
            }
            net.links.push(LinkSpec {
                a: s,
                b: t,
                ba: (!directed).then(|| params.clone()),
                ab: params,
                medium: Medium::Wired,
            });
        }
    }
    Ok(net)
}

/// What to do with several edges between the same two nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parallel {
    /// One link: bandwidths summed, the lowest latency (the default).
    #[default]
    Merge,
    /// One link per edge.
    Keep,
    /// An error (a file that should have none).
    Refuse,
}

/// The distance between two points of the Earth (latitude, longitude in
/// degrees), km, on a sphere of radius 6371 km (haversine).
pub fn great_circle_km(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a[0].to_radians(),
        a[1].to_radians(),
        b[0].to_radians(),
        b[1].to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Propagation delay over `km` of fibre: light at 2/3 c, about 5 us/km.
pub fn fibre_latency(km: f64) -> node_core::Duration {
    const KM_PER_S: f64 = 299_792.458 * 2.0 / 3.0;
    node_core::Duration::from_nanos((km / KM_PER_S * 1e9).round() as u64)
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
