//! Reports of meshsim runs and sweeps: SVG plots (plotters) and a
//! self-contained `report.html` with a `report.md` beside it.
//!
//! This crate knows nothing of the engine: it reads what a run writes into
//! its output directory ([`data::RunData`]) and the plain sweep shapes of
//! [`sweep`], which the simulator fills in. Everything it writes is a pure
//! function of its input, so reports of equal runs are equal bytes.
#![forbid(unsafe_code)]

pub mod churn;
pub mod csv;
pub mod data;
pub mod discovery;
pub mod html;
pub mod pay;
pub mod plot;
pub mod run_report;
pub mod sets;
pub mod stats;
pub mod sweep;
pub mod sweep_report;

use std::path::Path;

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file does not have the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A chart could not be drawn.
    #[error("plot {0}")]
    Plot(String),
    /// Sweep results do not fit together.
    #[error("{0}")]
    Sweep(String),
}

/// A finished report: the HTML page, the Markdown page and the SVG files
/// the Markdown refers to (`plots/<name>.svg`).
#[derive(Debug, Clone)]
pub struct Report {
    /// `report.html`, SVGs inline.
    pub html: String,
    /// `report.md`.
    pub markdown: String,
    /// (file name, SVG) of each plot.
    pub plots: Vec<(String, String)>,
}

impl Report {
    /// Writes `report.html`, `report.md` and `plots/*.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let put = |path: &Path, text: &str| {
            std::fs::write(path, text).map_err(|source| ReportError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let plots = dir.join("plots");
        std::fs::create_dir_all(&plots).map_err(|source| ReportError::Io {
            path: plots.display().to_string(),
            source,
        })?;
        for (name, svg) in &self.plots {
            put(&plots.join(name), svg)?;
        }
        put(&dir.join("report.html"), &self.html)?;
        put(&dir.join("report.md"), &self.markdown)
    }
}

/// Reads the run in `dir` and writes its report there.
pub fn write_run_report(dir: &Path) -> Result<(), ReportError> {
    let data = data::RunData::read(dir)?;
    run_report::build(&data)?.write(dir)
}

/// Writes a sweep's `sweep.csv`, `sweep.json` and report into `dir`.
pub fn write_sweep(sweep: &sweep::SweepResult, dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let put = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    put("sweep.csv", sweep.csv())?;
    put("sweep.json", sweep.json())?;
    sweep_report::build(sweep)?.write(dir)
}
