//! The `sweep` section of a scenario file: which parameters vary, over which
//! values, and how many seeds each point of the grid runs with.
//!
//! ```json
//! "sweep": {
//!   "protocol.mode": ["store-and-forward", "end-to-end"],
//!   "topology.link.loss.bernoulli": [0, 0.1, 0.3, 0.5],
//!   "traffic[0].to,topology.nodes": [[1, 2], [2, 3], [4, 5], [8, 9]],
//!   "repeat": 3,
//!   "plot": { "x": "traffic[0].to,topology.nodes", "x_label": "hops", "metrics": ["bulk.goodput_bps"] }
//! }
//! ```
//!
//! Every other key is an axis: a parameter path of the scenario (the field
//! path syntax of errors, `a.b[2].c`) and the list of its values. Several
//! paths joined by commas vary together (a zipped axis): each value is a
//! list with one value per path. The grid is the cartesian product of the
//! axes, taken in the alphabetical order of their keys (serde_json keeps
//! object members sorted), the last varying fastest.

use serde_json::Value;

use crate::scenario::locate::{self, Segment};
use crate::scenario::{Doc, ScenarioError};

/// Keys of the sweep section that are not parameter paths.
const RESERVED: [&str; 2] = ["repeat", "plot"];

/// One axis of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The key as written (`"protocol.mode"`, `"traffic[0].to,topology.nodes"`).
    pub key: String,
    /// Its parameter paths (one, or several for a zipped axis).
    pub paths: Vec<String>,
    /// Its values; for a zipped axis each is an array with one value per path.
    pub values: Vec<Value>,
}

/// What the report plots by default (all optional).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// The axis key on the x axis.
    pub x: Option<String>,
    /// Its label (default: the key).
    pub x_label: Option<String>,
    /// The metrics plotted (default: each flow's goodput, delivery ratio and
    /// p99 latency).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Plot each line relative to its value at this value of the x axis.
    pub relative_to: Option<Value>,
    /// Horizontal reference lines.
    #[serde(default)]
    pub references: Vec<reports::sweep::Reference>,
}

/// A checked sweep section.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// The axes, in file order.
    pub axes: Vec<Axis>,
    /// Runs per grid point, each with its own seed.
    pub repeat: u32,
    /// Plot choices.
    pub plot: PlotSpec,
}

impl SweepSpec {
    /// Reads the sweep section `value` of `doc`. Checks its shape only: that
    /// every path applies and every value fits is checked by resolving each
    /// point of the grid ([`super::plan`]).
    pub(crate) fn read(doc: Doc<'_>, value: &Value) -> Result<Self, ScenarioError> {
        let Value::Object(map) = value else {
            return Err(doc.error(
                "sweep",
                "must be an object of parameter paths and value lists",
            ));
        };
        let at = |key: &str, message: String| key_error(doc, key, message);
        let mut axes = Vec::new();
        let mut repeat = 1;
        let mut plot = PlotSpec::default();
        for (key, v) in map {
            match key.as_str() {
                "repeat" => {
                    repeat = v
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| {
                            at(
                                key,
                                format!("must be a whole number of runs, at least 1 (got {v})"),
                            )
                        })?;
                }
                "plot" => plot = doc.deserialize(v, "sweep.plot")?,
                _ => axes.push(read_axis(key, v).map_err(|m| at(key, m))?),
            }
        }
        if axes.is_empty() && repeat == 1 {
            return Err(doc.error(
                "sweep",
                "the sweep is empty: give at least one parameter path with a list of values \
                 (such as \"protocol.mode\": [\"store-and-forward\", \"end-to-end\"]) or \"repeat\" above 1",
            ));
        }
        if let Some(x) = &plot.x
            && !axes.iter().any(|a| &a.key == x)
        {
            let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
            return Err(doc.error(
                "sweep.plot.x",
                format!(
                    "`{x}` is not an axis of the sweep (axes: {})",
                    keys.join(", ")
                ),
            ));
        }
        if let Some(base) = &plot.relative_to {
            let Some(axis) = plot
                .x
                .as_ref()
                .and_then(|x| axes.iter().find(|a| &a.key == x))
            else {
                return Err(doc.error(
                    "sweep.plot.relative_to",
                    "needs `x`: the axis whose value it names",
                ));
            };
            if !axis.values.contains(base) {
                return Err(doc.error(
                    "sweep.plot.relative_to",
                    format!("{base} is not a value of the x axis `{}`", axis.key),
                ));
            }
        }
        if let Some(r) = plot.references.iter().find(|r| !r.y.is_finite()) {
            return Err(doc.error(
                "sweep.plot.references",
                format!("reference \"{}\" needs a finite y", r.label),
            ));
        }
        Ok(SweepSpec { axes, repeat, plot })
    }

    /// Points of the grid: one value per axis, the last axis (in key order) varying fastest.
    pub fn points(&self) -> Vec<Vec<Value>> {
        let mut points = vec![Vec::new()];
        for axis in &self.axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.push(v.clone());
                        p
                    })
                })
                .collect();
        }
        points
    }
}

fn read_axis(key: &str, v: &Value) -> Result<Axis, String> {
    let paths: Vec<String> = key.split(',').map(|p| p.trim().to_string()).collect();
    for p in &paths {
        check_path(p)?;
    }
    let Value::Array(values) = v else {
        return Err(format!(
            "the values of a parameter are a list, such as [1, 2, 4] (got {v}); \
             reserved keys are {}",
            RESERVED.join(", ")
        ));
    };
    if values.is_empty() {
        return Err("the list of values is empty".into());
    }
    if paths.len() > 1 {
        for (i, value) in values.iter().enumerate() {
            if value.as_array().is_none_or(|a| a.len() != paths.len()) {
                return Err(format!(
                    "value [{i}]: {} paths vary together, so each value is a list of {} values (got {value})",
                    paths.len(),
                    paths.len()
                ));
            }
        }
    }
    Ok(Axis {
        key: key.to_string(),
        paths,
        values: values.clone(),
    })
}

/// A path is non-empty, starts with a key, and has no empty key.
fn check_path(path: &str) -> Result<(), String> {
    let segments = locate::parse_path(path);
    let well_formed = !path.is_empty()
        && matches!(segments.first(), Some(Segment::Key(_)))
        && locate::format_path(&segments) == path
        && segments.iter().all(
            |s| !matches!(s, Segment::Key(k) if k.is_empty() || k.contains(['[', ']', '"', ' '])),
        );
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a parameter path (write fields like `protocol.mode` or `traffic[0].rate`)"
        ))
    }
}

/// An error about the sweep key `key`, positioned at that key in the text.
pub(crate) fn key_error(doc: Doc<'_>, key: &str, message: String) -> ScenarioError {
    let (line, column) = locate::locate(doc.text, "sweep");
    let start = locate::offset_of(doc.text, line, column);
    let quoted = serde_json::to_string(key).unwrap_or_default();
    let (line, column) = match doc.text[start..].find(&quoted) {
        Some(i) => locate::line_column(doc.text, start + i),
        None => (line, column),
    };
    doc.error_at(&format!("sweep[{quoted}]"), line, column, message)
}

/// Sets the value at `path` of `doc` to `value`. Missing object members on
/// the way are created (a field the scenario leaves to its default can be
/// swept); the scenario's own checks then refuse unknown fields. A path
/// through something that is not an object, or an index past the end of a
/// list, is an error.
pub fn apply(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let segments = locate::parse_path(path);
    let mut here = doc;
    let mut walked: Vec<Segment> = Vec::new();
    for segment in &segments {
        let at = locate::format_path(&walked);
        let at = if at.is_empty() {
            "the scenario".to_string()
        } else {
            format!("`{at}`")
        };
        if matches!(segment, Segment::Key(_)) && here.is_null() {
            // `"loss": null` means no loss; sweeping `loss.bernoulli` gives it one.
            *here = Value::Object(Default::default());
        }
        here = match segment {
            Segment::Key(k) => match here {
                Value::Object(m) => m
                    .entry(k.clone())
                    .or_insert(Value::Object(Default::default())),
                other => {
                    return Err(format!(
                        "unknown parameter path `{path}`: {at} is {}, not an object with field `{k}`",
                        kind(other)
                    ));
                }
            },
            Segment::Index(i) => match here {
                Value::Array(a) => {
                    let len = a.len();
                    a.get_mut(*i).ok_or_else(|| {
                        format!("unknown parameter path `{path}`: {at} has {len} entries, no [{i}]")
                    })?
                }
                other => {
                    return Err(format!(
                        "unknown parameter path `{path}`: {at} is {}, not a list",
                        kind(other)
                    ));
                }
            },
        };
        walked.push(segment.clone());
    }
    *here = value;
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
