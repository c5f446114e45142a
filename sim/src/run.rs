//! Running a scenario and writing its results.

use std::path::Path;

use node_core::Time;

use crate::engine::population::Nodes;
use crate::engine::{Progress, World};
use crate::model::Scenario;
use crate::results::{self, Summary};

/// A finished run.
pub struct Run {
    /// The world at the end of the run.
    pub world: World<Nodes>,
    /// Its summary.
    pub summary: Summary,
}

/// Why a scenario cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The protocol section gives an unusable node configuration.
    #[error("protocol: {0}")]
    Config(#[from] node_core::ConfigError),
    /// Results could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs `scenario` to its end.
pub fn run(scenario: Scenario, progress: &mut dyn FnMut(Progress)) -> Result<Run, RunError> {
    scenario.protocol.validate()?;
    let nodes = Nodes::of(&scenario);
    let end = Time::ZERO + scenario.duration;
    let mut world = World::new(scenario, nodes);
    world.run(end, progress);
    let summary = results::summarize(&world);
    Ok(Run { world, summary })
}

/// Writes `summary.json`, the time series (`timeseries_flows.csv`,
/// `timeseries_links.csv`, `timeseries_routes.csv`,
/// `timeseries_route_hops.csv`, and `timeseries_discovery.csv` when the
/// nodes run discovery) and the latency samples (`latencies.csv`) into
/// `dir` (created if needed).
pub fn write(run: &Run, dir: &Path) -> Result<(), RunError> {
    let put = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(|source| RunError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    std::fs::create_dir_all(dir).map_err(|source| RunError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let mut json = serde_json::to_string_pretty(&run.summary).expect("summary serializes");
    json.push('\n');
    put("summary.json", json)?;
    put("timeseries_flows.csv", results::flows_csv(&run.world))?;
    put("timeseries_links.csv", results::links_csv(&run.world))?;
    put("timeseries_routes.csv", results::routes_csv(&run.world))?;
    put(
        "timeseries_route_hops.csv",
        results::route_hops_csv(&run.world),
    )?;
    put("latencies.csv", results::latencies_csv(&run.world))?;
    if let Some(csv) = results::discovery::csv(&run.world) {
        put("timeseries_discovery.csv", csv)?;
    }
    Ok(())
}

/// Writes the scenario as run (`scenario.json`, for the report's
/// parameters) into `dir`.
pub fn write_scenario(scenario: &serde_json::Value, dir: &Path) -> Result<(), RunError> {
    let path = dir.join("scenario.json");
    let mut text = serde_json::to_string_pretty(scenario).expect("a JSON value serializes");
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| RunError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Writes the report (`report.html`, `report.md`, `plots/`) of the run
/// whose results are in `dir`.
pub fn write_report(dir: &Path) -> Result<(), reports::ReportError> {
    reports::write_run_report(dir)
}
