//! Scenario files: JSON in, a checked [`model::Scenario`] out.
//!
//! The format is documented in `scenarios/README.md`. In short: units are
//! strings (`"10ms"`, `"64KiB"`, `"20Mbps"`), unknown fields are errors, and
//! every error names the file, line, column and field path of the offending
//! value ([`ScenarioError`]).
//!
//! Reading happens in three steps:
//! 1. the text is parsed into a JSON value (syntax errors are positioned by
//!    serde_json; duplicate keys are refused, since serde_json would keep
//!    the last one silently);
//! 2. the value is read into the typed shapes of `spec` (type errors and
//!    unknown fields are named by serde_path_to_error's path);
//! 3. `resolve` (and [`crate::topology`]) check what types cannot express
//!    (indices, neighbours, ranges) and build the model. Errors found there
//!    know the path of the value; [`locate()`] finds its line and column.

pub mod churn;
mod discovery;
mod error;
pub mod locate;
pub mod meshes;
pub mod paths;
pub mod pay;
mod resolve;
pub(crate) mod spec;
mod underlay;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::model;
pub(crate) use error::Doc;
pub use error::ScenarioError;
use error::{path_string, strip_position};
pub use locate::locate;
pub(crate) use resolve::split_object;

/// Reads and resolves the scenario file at `path`. Relative import paths
/// in it resolve against the file's directory.
pub fn load(path: &Path) -> Result<model::Scenario, ScenarioError> {
    let text = read(path)?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    parse_doc(
        Doc {
            text: &text,
            file: Some(path),
        },
        base_dir,
    )
}

/// Resolves scenario `text`; relative import paths resolve against
/// `base_dir`.
pub fn parse(text: &str, base_dir: &Path) -> Result<model::Scenario, ScenarioError> {
    parse_doc(Doc { text, file: None }, base_dir)
}

/// The name and description of the scenario file at `path`, without
/// resolving the rest (for listings). The file must still be valid JSON.
pub fn describe(path: &Path) -> Result<(String, String), ScenarioError> {
    #[derive(Deserialize)]
    struct Head {
        name: String,
        #[serde(default)]
        description: String,
    }
    let text = read(path)?;
    let doc = Doc {
        text: &text,
        file: Some(path),
    };
    let head: Head = from_text(doc)?;
    Ok((head.name, head.description))
}

/// Reads a file, as a positioned error if it cannot be read.
pub(crate) fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: Some(path.to_path_buf()),
        line: 1,
        column: 1,
        path: String::new(),
        message: format!("cannot read the file: {e}"),
    })
}

/// Parses the text of `doc` into `T` straight from serde_json, so that
/// syntax and type errors carry serde_json's position.
pub(crate) fn from_text<T: serde::de::DeserializeOwned>(doc: Doc<'_>) -> Result<T, ScenarioError> {
    let mut de = serde_json::Deserializer::from_str(doc.text);
    let position = |e: &serde_json::Error| (e.line().max(1), e.column().max(1));
    let message = |e: &serde_json::Error| strip_position(&e.to_string()).to_string();
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let (line, column) = position(e.inner());
        // serde_path_to_error does not know the key being read when the
        // syntax breaks; the last value before the error is more telling.
        let path = match e.inner().classify() {
            serde_json::error::Category::Data => path_string(e.path()),
            _ => locate::path_at(doc.text, line, column),
        };
        doc.error_at(&path, line, column, message(e.inner()))
    })?;
    de.end().map_err(|e| {
        let (line, column) = position(&e);
        doc.error_at("", line, column, message(&e))
    })?;
    Ok(value)
}

/// Parses JSON text into a value, refusing duplicate keys.
pub(crate) fn parse_value(doc: Doc<'_>) -> Result<Value, ScenarioError> {
    let value: Value = from_text(doc)?;
    if let Some((path, line, column)) = locate::find_duplicate_key(doc.text) {
        return Err(doc.error_at(&path, line, column, "this key appears twice"));
    }
    Ok(value)
}

fn parse_doc(doc: Doc<'_>, base_dir: &Path) -> Result<model::Scenario, ScenarioError> {
    let value = parse_value(doc)?;
    resolve_value(doc, &value, base_dir)
}

/// Resolves the already parsed `value` of `doc` (the sweep resolves each
/// point of its grid this way).
pub(crate) fn resolve_value(
    doc: Doc<'_>,
    value: &Value,
    base_dir: &Path,
) -> Result<model::Scenario, ScenarioError> {
    let spec: spec::ScenarioSpec = doc.deserialize(value, "")?;
    if let Some(sweep) = &spec.sweep {
        crate::sweep::SweepSpec::read(doc, sweep)?;
    }
    resolve::resolve(doc, spec, base_dir)
}
