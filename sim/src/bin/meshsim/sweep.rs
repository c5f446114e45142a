//! `meshsim sweep` and `meshsim merge`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reports::sweep::SweepResult;
use sim::sweep::{self, Shard, exec};

use crate::BAD_INPUT;

/// Runs the sweep of `path` (its share `shard`) on `jobs` threads into `out`.
pub fn cmd_sweep(path: &Path, jobs: usize, out: Option<PathBuf>, shard: Option<Shard>) -> ExitCode {
    let plan = match sweep::plan(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let out = out.unwrap_or_else(|| {
        let base = Path::new("out").join(format!("{}-sweep", plan.name));
        match shard {
            Some(s) => base.join(format!("shard-{}-of-{}", s.index, s.count)),
            None => base,
        }
    });
    let share = exec::share(&plan, shard).len();
    eprintln!(
        "sweep {}: {} runs ({} grid points x {} repeats){}, {jobs} jobs",
        plan.name,
        share,
        plan.runs.len() / plan.spec.repeat as usize,
        plan.spec.repeat,
        shard.map_or(String::new(), |s| format!(
            ", shard {s} of {} runs",
            plan.runs.len()
        ))
    );
    // The bar draws only on a terminal (indicatif's stderr target hides
    // itself otherwise), so logs of batch jobs stay clean.
    let bar = ProgressBar::with_draw_target(Some(share as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed} elapsed, ETA {eta}")
            .expect("the template is valid"),
    );
    let finished = AtomicU64::new(0);
    let done = || {
        finished.fetch_add(1, Ordering::Relaxed);
        bar.inc(1);
    };
    let result = exec::execute(&plan, shard, jobs, &done);
    bar.finish_and_clear();
    let (result, timings) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = write(&result, &out, Some(&timings.csv())) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{} runs in {}: sweep.csv, sweep.json, timings.csv, report.html",
        finished.load(Ordering::Relaxed),
        out.display()
    );
    ExitCode::SUCCESS
}

fn write(result: &SweepResult, out: &Path, timings: Option<&str>) -> Result<(), String> {
    reports::write_sweep(result, out).map_err(|e| e.to_string())?;
    if let Some(t) = timings {
        let path = out.join("timings.csv");
        std::fs::write(&path, t).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Merges the shard directories `dirs` into `out`.
pub fn cmd_merge(dirs: &[PathBuf], out: &Path) -> ExitCode {
    let mut parts = Vec::new();
    let mut timings = String::new();
    for d in dirs {
        let path = d.join("sweep.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(BAD_INPUT);
            }
        };
        match SweepResult::from_json(&path.display().to_string(), &text) {
            Ok(p) => parts.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(BAD_INPUT);
            }
        }
        if let Ok(t) = std::fs::read_to_string(d.join("timings.csv")) {
            timings.extend(t.lines().skip(1).map(|l| format!("{l}\n")));
        }
    }
    let merged = match SweepResult::merge(parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let mut rows: Vec<(usize, &str)> = timings
        .lines()
        .filter_map(|l| Some((l.split(',').next()?.parse().ok()?, l)))
        .collect();
    rows.sort_by_key(|r| r.0);
    let timings = rows
        .iter()
        .fold(String::from("index,wall_s\n"), |mut s, (_, l)| {
            s.push_str(l);
            s.push('\n');
            s
        });
    if let Err(e) = write(&merged, out, Some(&timings)) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!("{} runs merged into {}", merged.runs.len(), out.display());
    ExitCode::SUCCESS
}
