//! The error of a scenario that cannot be loaded.

use std::fmt;
use std::path::{Path, PathBuf};

use super::locate::{join, locate};

/// Why a scenario (or a topology file it imports) cannot be used, and where.
///
/// Every error names the file, the line and column (1-based; columns count
/// bytes, as serde_json does) and the field path of the offending value,
/// e.g. `scenarios/x.json:12:17: traffic[2].to: node 12 does not exist (the
/// topology has 9 nodes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file the error is in (`None` for text given to `parse`).
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in bytes.
    pub column: usize,
    /// The field path of the offending value, like `traffic[2].to`; empty
    /// for the document as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}", file.display())?,
            None => f.write_str("<scenario>")?,
        }
        write!(f, ":{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A JSON document being resolved: its text (to locate paths in) and its
/// file. Errors about its fields are made here so that each gets a position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc<'a> {
    /// The whole text.
    pub text: &'a str,
    /// Where it came from.
    pub file: Option<&'a Path>,
}

impl<'a> Doc<'a> {
    /// An error about the value at `path`, positioned at that value (or the
    /// deepest existing value on its path).
    pub fn error(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = locate(self.text, path);
        self.error_at(path, line, column, message)
    }

    /// An error whose position is already known.
    pub fn error_at(
        &self,
        path: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: self.file.map(Path::to_path_buf),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// Deserializes the value found at `path` of this document into `T`,
    /// turning serde's complaints into positioned errors.
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        value: &serde_json::Value,
        path: &str,
    ) -> Result<T, ScenarioError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let full = join(path, &path_string(e.path()));
            self.error(&full, e.inner().to_string())
        })
    }
}

/// serde_path_to_error's path in our syntax (`a.b[2].c`, empty for the
/// root). It includes the key of an unknown field.
pub(crate) fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment as S;
    let mut out = String::new();
    for segment in path {
        match segment {
            S::Seq { index } => out.push_str(&format!("[{index}]")),
            S::Map { key } | S::Enum { variant: key } => out = join(&out, key),
            S::Unknown => out = join(&out, "?"),
        }
    }
    out
}

/// serde_json appends " at line L column C" to its messages; the position
/// is reported separately.
pub(crate) fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}
