//! Parameter sweeps: a scenario's `sweep` section ([`SweepSpec`]) expands
//! into a grid of scenarios, each run `repeat` times with its own seed.
//!
//! Every run is a pure function of (scenario, grid point, repeat index):
//! its parameters are set in the scenario's JSON before it is resolved, and
//! its seed derives from the scenario's seed and the repeat index only
//! ([`seed_for`]). Runs are numbered in grid order, so the results neither
//! depend on how many threads ran them ([`exec`]) nor on how the grid was
//! split into shards.

pub mod exec;
mod spec;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model;
use crate::scenario::{self, Doc, ScenarioError};
pub use spec::{Axis, PlotSpec, SweepSpec, apply};

/// One run of a sweep, ready to go.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// Position in the whole sweep (point x repeat + repeat index).
    pub index: usize,
    /// Grid point.
    pub point: usize,
    /// Repeat index.
    pub repeat: u32,
    /// One value per axis.
    pub values: Vec<Value>,
    /// The resolved scenario, seed set.
    pub scenario: model::Scenario,
}

/// A sweep expanded and checked: every point of its grid resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// The sweep section.
    pub spec: SweepSpec,
    /// Every run of the sweep, by index.
    pub runs: Vec<PlannedRun>,
}

/// A share of a sweep: runs whose index is `index - 1` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write I/N with 1 <= I <= N, such as 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether run `index` belongs to this shard.
    pub fn holds(&self, index: usize) -> bool {
        index % self.count == self.index - 1
    }
}

/// The seed of repeat `r`: the scenario's own seed for the first repeat (so
/// it matches `meshsim run`), then a SplitMix64 step away for each other.
pub fn seed_for(seed: u64, r: u32) -> u64 {
    if r == 0 {
        return seed;
    }
    let mut z = seed.wrapping_add(u64::from(r).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Reads the scenario file at `path` and expands its sweep.
pub fn plan(path: &Path) -> Result<Plan, ScenarioError> {
    let text = scenario::read(path)?;
    plan_doc(
        Doc {
            text: &text,
            file: Some(path),
        },
        path.parent().unwrap_or(Path::new(".")),
    )
}

/// Expands the sweep of scenario `text` (import paths relative to
/// `base_dir`).
pub fn plan_text(text: &str, base_dir: &Path) -> Result<Plan, ScenarioError> {
    plan_doc(Doc { text, file: None }, base_dir)
}

fn plan_doc(doc: Doc<'_>, base_dir: &Path) -> Result<Plan, ScenarioError> {
    let value = scenario::parse_value(doc)?;
    // The scenario as written must be valid on its own.
    let base = scenario::resolve_value(doc, &value, base_dir)?;
    let Some(section) = value.get("sweep") else {
        return Err(doc.error(
            "",
            "the scenario has no `sweep` section: add one such as \"sweep\": { \"protocol.mode\": [\"store-and-forward\", \"end-to-end\"], \"repeat\": 3 }",
        ));
    };
    let spec = SweepSpec::read(doc, section)?;
    let base_dir: PathBuf = base_dir.to_path_buf();
    let mut runs = Vec::new();
    for (point, values) in spec.points().into_iter().enumerate() {
        let mut v = value.clone();
        for (axis, x) in spec.axes.iter().zip(&values) {
            let parts: Vec<Value> = if axis.paths.len() > 1 {
                x.as_array().cloned().unwrap_or_default()
            } else {
                vec![x.clone()]
            };
            for (path, part) in axis.paths.iter().zip(parts) {
                apply(&mut v, path, part).map_err(|m| spec::key_error(doc, &axis.key, m))?;
            }
        }
        let text = serde_json::to_string_pretty(&v).expect("a JSON value serializes");
        let point_doc = Doc {
            text: &text,
            file: None,
        };
        let resolved = scenario::resolve_value(point_doc, &v, &base_dir).map_err(|e| {
            let at: Vec<String> = spec
                .axes
                .iter()
                .zip(&values)
                .map(|(a, x)| format!("{} = {x}", a.key))
                .collect();
            let key = axis_of(&spec, &e.path)
                .or_else(|| spec.axes.first().map(|a| a.key.clone()))
                .unwrap_or_default();
            spec::key_error(
                doc,
                &key,
                format!(
                    "at the grid point {}: {}{}",
                    at.join(", "),
                    if e.path.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", e.path)
                    },
                    e.message
                ),
            )
        })?;
        for r in 0..spec.repeat {
            let mut sc = resolved.clone();
            sc.set_seed(seed_for(base.seed, r));
            runs.push(PlannedRun {
                index: runs.len(),
                point,
                repeat: r,
                values: values.clone(),
                scenario: sc,
            });
        }
    }
    Ok(Plan {
        name: base.name,
        description: base.description,
        spec,
        runs,
    })
}

/// The axis whose path leads to (or into) the error's path, if any.
fn axis_of(spec: &SweepSpec, error_path: &str) -> Option<String> {
    spec.axes
        .iter()
        .find(|a| {
            a.paths.iter().any(|p| {
                error_path == p
                    || error_path.starts_with(&format!("{p}."))
                    || error_path.starts_with(&format!("{p}["))
                    || p.starts_with(&format!("{error_path}."))
            })
        })
        .map(|a| a.key.clone())
}
