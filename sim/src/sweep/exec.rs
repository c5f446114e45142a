//! Running a planned sweep on a rayon pool. Each run is independent and
//! deterministic; results are collected in run-index order, so the number
//! of jobs changes how long a sweep takes, never what it finds. Wall-clock
//! times are returned apart from the results ([`Timings`]).

use std::time::Instant;

use rayon::prelude::*;
use reports::sweep::{self, PlotChoice, SweepResult, SweepRun};

use super::{Plan, PlannedRun, Shard};
use crate::run::{self, RunError};

/// Wall-clock seconds per run index (never part of the results).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings(pub Vec<(usize, f64)>);

impl Timings {
    /// `timings.csv`.
    pub fn csv(&self) -> String {
        let mut out = String::from("index,wall_s\n");
        for (i, s) in &self.0 {
            out.push_str(&format!("{i},{s:.3}\n"));
        }
        out
    }
}

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// One run could not run.
    #[error("run {index} (grid point {point}, repeat {repeat}): {source}")]
    Run {
        /// Run index.
        index: usize,
        /// Its grid point.
        point: usize,
        /// Its repeat.
        repeat: u32,
        /// The cause.
        source: RunError,
    },
    /// The thread pool could not start.
    #[error("cannot start {jobs} jobs: {message}")]
    Pool {
        /// Jobs asked for.
        jobs: usize,
        /// The cause.
        message: String,
    },
}

/// The runs of `plan` that `shard` holds (all without a shard).
pub fn share(plan: &Plan, shard: Option<Shard>) -> Vec<&PlannedRun> {
    plan.runs
        .iter()
        .filter(|r| shard.is_none_or(|s| s.holds(r.index)))
        .collect()
}

/// Runs the share of `plan` that `shard` holds on `jobs` threads, calling
/// `done` after each run (from any thread).
pub fn execute(
    plan: &Plan,
    shard: Option<Shard>,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<(SweepResult, Timings), SweepError> {
    let runs = share(plan, shard);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| SweepError::Pool {
            jobs,
            message: e.to_string(),
        })?;
    let results: Vec<Result<(SweepRun, f64), SweepError>> = pool.install(|| {
        runs.par_iter()
            .map(|r| {
                let started = Instant::now();
                let out = one(r);
                done();
                out.map(|row| (row, started.elapsed().as_secs_f64()))
            })
            .collect()
    });
    let mut rows = Vec::with_capacity(results.len());
    let mut timings = Vec::with_capacity(results.len());
    for r in results {
        let (row, wall) = r?;
        timings.push((row.index, wall));
        rows.push(row);
    }
    let mut result = SweepResult {
        scenario: plan.name.clone(),
        description: plan.description.clone(),
        axes: plan
            .spec
            .axes
            .iter()
            .map(|a| sweep::Axis {
                key: a.key.clone(),
                paths: a.paths.clone(),
                values: a.values.clone(),
            })
            .collect(),
        repeat: plan.spec.repeat,
        total_runs: plan.runs.len(),
        shard: shard.map(|s| s.to_string()),
        plot: PlotChoice {
            x: plan.spec.plot.x.clone(),
            x_label: plan.spec.plot.x_label.clone(),
            metrics: plan.spec.plot.metrics.clone(),
            relative_to: plan.spec.plot.relative_to.clone(),
            references: plan.spec.plot.references.clone(),
        },
        runs: rows,
        aggregate: Vec::new(),
    };
    result.aggregate();
    Ok((result, Timings(timings)))
}

fn one(r: &PlannedRun) -> Result<SweepRun, SweepError> {
    let wrap = |source| SweepError::Run {
        index: r.index,
        point: r.point,
        repeat: r.repeat,
        source,
    };
    let done = run::run(r.scenario.clone(), &mut |_| {}).map_err(wrap)?;
    // The report's view of the summary is its JSON, as summary.json holds it.
    let value = serde_json::to_value(&done.summary).expect("the summary serializes");
    let summary: reports::data::Summary =
        serde_json::from_value(value).expect("reports reads what results write");
    Ok(SweepRun {
        index: r.index,
        point: r.point,
        repeat: r.repeat,
        seed: r.scenario.seed,
        values: r.values.clone(),
        suite: summary.suite.clone(),
        metrics: sweep::metrics(&summary),
        fingerprint: summary.fingerprint.clone(),
    })
}
