//! `meshsim`: run, sweep, validate and list scenarios; merge sweep shards;
//! benchmark the engine.

mod sweep;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sim::{bench, results, run, scenario};

#[derive(Parser)]
#[command(
    name = "meshsim",
    version,
    about = "A deterministic simulator of source-routed, store-and-forward mesh networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results.
    Run {
        /// The scenario file (JSON).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Where results go (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the report (report.html, report.md, plots/).
        #[arg(long)]
        no_report: bool,
    },
    /// Run the scenario's sweep (its `sweep` section) and write sweep.csv,
    /// sweep.json, timings.csv and report.html.
    Sweep {
        /// The scenario file (JSON) with a `sweep` section.
        scenario: PathBuf,
        /// Runs at once (default: the number of CPUs).
        #[arg(long)]
        jobs: Option<usize>,
        /// Where results go (default: out/<scenario name>-sweep, or
        /// out/<name>-sweep/shard-I-of-N for a shard).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only share I of N of the grid (I from 1): runs whose index is
        /// I-1 modulo N. Combine the shards with `meshsim merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<sim::sweep::Shard>,
    },
    /// Combine the shard directories of one sweep into one sweep and report.
    Merge {
        /// Shard directories (each with a sweep.json).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged sweep goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check scenario files; exit code 2 if any is bad.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// List the scenarios of a directory with their descriptions.
    List {
        /// The directory.
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchKind,
    },
}

#[derive(Subcommand)]
enum BenchKind {
    /// The engine alone: echo nodes that set timers and bounce datagrams.
    Engine {
        /// Grid side (side x side nodes).
        #[arg(long, default_value_t = 32)]
        side: usize,
        /// Simulated seconds.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Memory at scale: an N-node Barabasi-Albert mesh (m = 2, mean
    /// degree 4) with every link up and idle, by the allocator's own count;
    /// a second mesh with m = 1 separates the cost per node from the cost
    /// per link end.
    Scale {
        /// Nodes.
        #[arg(long, default_value_t = 10_000)]
        nodes: usize,
        /// Simulated seconds (links come up in the first few RTTs).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
}

/// The allocator, counted (`meshsim bench scale` reads the count; a
/// relaxed atomic add per allocation).
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Exit code for bad input (a scenario that does not parse or validate).
pub(crate) const BAD_INPUT: u8 = 2;

/// Writes `scenario.json` (the file as run, seed included) and the report.
fn write_report(path: &Path, seed: Option<u64>, out: &Path) -> Result<(), String> {
    // The file was read and checked a moment ago.
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let (Some(seed), Some(obj)) = (seed, value.as_object_mut()) {
        obj.insert("seed".into(), seed.into());
    }
    run::write_scenario(&value, out).map_err(|e| e.to_string())?;
    run::write_report(out).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            seed,
            out,
            no_report,
        } => cmd_run(&scenario, seed, out, !no_report),
        Command::Sweep {
            scenario,
            jobs,
            out,
            shard,
        } => {
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            sweep::cmd_sweep(&scenario, jobs, out, shard)
        }
        Command::Merge { dirs, out } => sweep::cmd_merge(&dirs, &out),
        Command::Validate { scenarios } => cmd_validate(&scenarios),
        Command::List { dir } => cmd_list(&dir),
        Command::Bench {
            what: BenchKind::Engine { side, seconds },
        } => {
            let simulated = node_core::Duration::from_nanos((seconds * 1e9) as u64);
            let b = bench::engine(side, 8, simulated);
            // The heap's typical size in this benchmark: a wake-up per node
            // and a few datagrams in flight per link.
            let heap = bench::heap_pairs_per_s(b.nodes * 4, 20_000_000);
            let eps = b.events as f64 / b.wall_s;
            println!(
                "nodes: {}  simulated_s: {}  events: {}  wall_s: {:.3}",
                b.nodes, b.simulated_s, b.events, b.wall_s
            );
            println!("heap_push_pop_per_s: {heap:.0}");
            println!("engine_vs_heap: {:.2}", eps / heap);
            println!("engine_events_per_s: {eps:.0}");
            ExitCode::SUCCESS
        }
        Command::Bench {
            what: BenchKind::Scale { nodes, seconds },
        } => {
            let simulated = node_core::Duration::from_nanos((seconds * 1e9) as u64);
            let allocated = || ALLOCATOR.allocated();
            let runs: Vec<_> = [2, 1]
                .into_iter()
                .map(|m| (m, bench::scale(nodes, m, simulated, &allocated)))
                .collect();
            for (m, b) in &runs {
                println!(
                    "m: {m}  nodes: {}  links: {}  established_ends: {}  bytes_built: {}  bytes: {}  events: {}  wall_s: {:.3}",
                    b.nodes,
                    b.links,
                    b.established_ends,
                    b.built_bytes,
                    b.bytes,
                    b.events,
                    b.wall_s
                );
            }
            let (b2, b1) = (runs[0].1, runs[1].1);
            let ends = |b: &bench::ScaleBench| 2 * b.links;
            let per_end =
                (b2.bytes as f64 - b1.bytes as f64) / (ends(&b2) as f64 - ends(&b1) as f64);
            let fixed = (b2.bytes as f64 - per_end * ends(&b2) as f64) / nodes as f64;
            println!("bytes_per_link_end: {per_end:.0}");
            println!("bytes_per_node_fixed: {fixed:.0}");
            println!("bytes_per_node: {:.0}", b2.bytes as f64 / nodes as f64);
            if let Some(hwm) = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmHWM"))
                        .map(str::to_owned)
                })
            {
                println!("peak_rss: {}", hwm.trim_start_matches("VmHWM:").trim());
            }
            ExitCode::SUCCESS
        }
    }
}

fn cmd_run(path: &Path, seed: Option<u64>, out: Option<PathBuf>, report: bool) -> ExitCode {
    let mut sc = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    if let Some(seed) = seed {
        sc.set_seed(seed);
    }
    let out = out.unwrap_or_else(|| Path::new("out").join(&sc.name));
    let duration = sc.duration.as_secs_f64();
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last = 0.0;
    let mut progress = |p: sim::engine::Progress| {
        if !tty {
            return;
        }
        let wall = started.elapsed().as_secs_f64();
        if wall - last < 0.25 && p.now.as_secs_f64() < duration {
            return;
        }
        last = wall;
        let sim_s = p.now.as_secs_f64();
        eprint!(
            "\r  sim {sim_s:>9.3} s / {duration:.3} s   {:>8.2} Mev/s   {:>8.2} sim-s/s ",
            p.events as f64 / wall.max(1e-9) / 1e6,
            sim_s / wall.max(1e-9)
        );
        let _ = std::io::stderr().flush();
    };
    let result = match run::run(sc, &mut progress) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    if tty {
        eprintln!();
    }
    if let Err(e) = run::write(&result, &out) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if report && let Err(e) = write_report(path, seed, &out) {
        eprintln!("error: report: {e}");
        return ExitCode::FAILURE;
    }
    let wall = started.elapsed().as_secs_f64();
    print!("{}", results::text(&result.summary));
    // Wall-clock figures go to the terminal only, never into summary.json.
    let hops = results::packet_hops(&result.summary);
    println!(
        "wall_s: {wall:.3}  events_per_s: {:.0}  packet_hops: {hops}  packet_hops_per_s: {:.0}",
        result.summary.engine.events as f64 / wall,
        hops as f64 / wall
    );
    println!("results in {}", out.display());
    if report {
        println!("report: {}", out.join("report.html").display());
    }
    ExitCode::SUCCESS
}

fn cmd_validate(paths: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for p in paths {
        match scenario::load(p) {
            Ok(s) => println!("ok: {} ({})", p.display(), s.name),
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

fn cmd_list(dir: &Path) -> ExitCode {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            return ExitCode::from(BAD_INPUT);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        match scenario::describe(&f) {
            Ok((name, description)) => println!("{:<28} {description}", name),
            Err(e) => println!("{:<28} (invalid: {e})", f.display()),
        }
    }
    ExitCode::SUCCESS
}
