//! Every scenario in `scenarios/` runs, and its summary is a reviewed
//! snapshot: a change in protocol behaviour shows up as a diff here.
//!
//! Runs are shortened to six simulated seconds. Scenarios larger than
//! [`MAX_RUN_NODES`] are only loaded (checked) here, not run.
//!
//! Update snapshots after an intended change with `cargo insta review`
//! (or `INSTA_UPDATE=always cargo test -p meshsim-tests`), then read the diff;
//! `MESHSIM_SCENARIOS=re6st-n-order` runs only the scenarios whose file name
//! contains that text.

use std::path::{Path, PathBuf};

use sim::model::Scenario;

/// `MESHSIM_SCENARIOS=<text>` runs only the scenarios whose file name
/// contains it (to review one scenario's snapshot without running all).
fn filter() -> Option<String> {
    std::env::var("MESHSIM_SCENARIOS").ok()
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let only = filter();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            only.as_deref().is_none_or(|f| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(f))
            })
        })
        .collect();
    files.sort();
    files
}

/// Snapshots and determinism need every scenario, not every scenario's full
/// length: runs are shortened to this much simulated time (the claims tests
/// check behaviour on the full scenarios).
const TEST_DURATION: node_core::Duration = node_core::Duration::from_secs(6);

/// Scenarios with more nodes than this are loaded but not run: a run of
/// `discovery-1000` takes minutes (its first flood alone is 3 million
/// advert messages), far past this suite's budget, and a summary of 1,000
/// nodes and 4,000 link directions is no reviewable snapshot. `meshsim
/// run` runs them; `tests/discovery.rs` runs the small discovery scenario.
const MAX_RUN_NODES: usize = 200;
/// The scenarios that are that large (a new one is a decision, not an
/// accident).
const LARGE: &[&str] = &["bench-mesh10k", "discovery-1000", "re6st-mesh-3200"];

/// Whether the scenario at `path` is run here (else it is one of `LARGE`).
fn runs_here(path: &Path, sc: &Scenario) -> bool {
    let small = sc.network.nodes.len() <= MAX_RUN_NODES;
    let name = path.file_stem().unwrap().to_string_lossy();
    assert_eq!(
        small,
        !LARGE.contains(&name.as_ref()),
        "{name}: {} nodes; LARGE lists the scenarios above {MAX_RUN_NODES}",
        sc.network.nodes.len()
    );
    small
}

fn load(path: &Path) -> Scenario {
    let mut sc = sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    sc.duration = sc.duration.min(TEST_DURATION);
    sc
}

fn summary_json(sc: Scenario) -> String {
    let run = sim::run::run(sc, &mut |_| {}).expect("runs");
    if run.summary.churn.is_none() {
        return serde_json::to_string_pretty(&run.summary).expect("serializes");
    }
    let mut v = serde_json::to_value(&run.summary).expect("serializes");
    {
        // A churn mesh has thousands of tunnels, each with its rows in
        // `links`, `nodes` and `tunnels`: no reviewable snapshot. Their
        // counts stay, with the churn block, the flows and the fingerprint
        // (which covers every event of the run).
        for key in ["links", "nodes", "tunnels"] {
            let n = v[key].as_array().map_or(0, Vec::len);
            v[key] = serde_json::json!({ "rows": n });
        }
    }
    serde_json::to_string_pretty(&v).expect("serializes")
}

#[test]
fn every_scenario_runs_and_matches_its_snapshot() {
    let files = scenario_files();
    assert!(
        files.len() >= 4 || filter().is_some(),
        "expected the scenarios of the simulator issue"
    );
    for f in files {
        let sc = load(&f);
        if !runs_here(&f, &sc) {
            continue;
        }
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(name, summary_json(sc));
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_fingerprint() {
    for f in scenario_files() {
        if !runs_here(&f, &load(&f)) {
            continue;
        }
        let a = summary_json(load(&f));
        let b = summary_json(load(&f));
        assert_eq!(a, b, "{} is not deterministic", f.display());
        let mut other = load(&f);
        other.set_seed(other.seed + 1);
        let fp =
            |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["fingerprint"].clone();
        assert_ne!(
            fp(&a),
            fp(&summary_json(other)),
            "{}: the seed changes nothing",
            f.display()
        );
    }
}
