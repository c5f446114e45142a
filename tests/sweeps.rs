//! Sweeps are deterministic whatever the number of jobs, and shards merge
//! into exactly the unsharded sweep. Runs are tiny (a 1 s chain).

use std::path::Path;

use reports::sweep::SweepResult;
use sim::sweep::{self, Shard, exec};

const SCENARIO: &str = r#"{
  "name": "tiny-sweep",
  "description": "a 3-node chain, swept over mode and loss",
  "seed": 11,
  "duration": "1500ms",
  "metrics": { "interval": "250ms" },
  "protocol": { "suite": "modeled", "mode": "store-and-forward" },
  "topology": { "generator": "chain", "nodes": 3,
                "link": { "bandwidth": "10Mbps", "latency": "2ms", "loss": { "bernoulli": 0.1 } } },
  "traffic": [ { "name": "bulk", "from": 0, "to": 2, "kind": "bulk", "size": "200kB", "message": "8KiB" },
               { "name": "voice", "from": 2, "to": 0, "kind": "cbr", "rate": "64kbps" } ],
  "sweep": { "protocol.mode": ["store-and-forward", "end-to-end"],
             "topology.link.loss.bernoulli": [0, 0.2],
             "repeat": 2 }
}"#;

fn run(jobs: usize, shard: Option<Shard>) -> SweepResult {
    let plan = sweep::plan_text(SCENARIO, Path::new(".")).expect("the sweep plans");
    exec::execute(&plan, shard, jobs, &|| {})
        .expect("the sweep runs")
        .0
}

#[test]
fn one_job_and_two_jobs_give_the_same_sweep() {
    let one = run(1, None);
    let two = run(2, None);
    assert_eq!(one.runs.len(), 8);
    assert_eq!(one.csv(), two.csv());
    assert_eq!(one.json(), two.json());
    // Over lossy links repeats differ (their seeds do), and so do the modes.
    let lossy: std::collections::BTreeSet<&str> = one
        .runs
        .iter()
        .filter(|r| r.values[1] == serde_json::json!(0.2))
        .map(|r| r.fingerprint.as_str())
        .collect();
    assert_eq!(lossy.len(), 4, "every lossy run is a different trajectory");
    assert_eq!(one.aggregate.len(), 4);
    let header = one.csv().lines().next().unwrap().to_string();
    assert!(
        header.starts_with(
            "index,point,repeat,seed,protocol.mode,topology.link.loss.bernoulli,suite,"
        ),
        "{header}"
    );
    assert!(header.contains("bulk.goodput_bps") && header.ends_with(",fingerprint"));
    assert!(
        !header.contains("wall"),
        "wall-clock figures live in timings.csv"
    );
}

#[test]
fn three_shards_merge_into_the_unsharded_sweep() {
    let whole = run(2, None);
    let shards: Vec<SweepResult> = (1..=3)
        .map(|i| run(1, Some(Shard { index: i, count: 3 })))
        .collect();
    assert_eq!(shards.iter().map(|s| s.runs.len()).sum::<usize>(), 8);
    assert_eq!(shards[1].shard.as_deref(), Some("2/3"));
    // Shards go through their files, as `meshsim merge` reads them.
    let reread: Vec<SweepResult> = shards
        .iter()
        .rev()
        .map(|s| SweepResult::from_json("shard", &s.json()).expect("reads back"))
        .collect();
    let merged = SweepResult::merge(reread).expect("merges");
    assert_eq!(merged.csv(), whole.csv());
    assert_eq!(merged.json(), whole.json());
    // A missing shard or a shard given twice is an error, not a smaller sweep.
    let e = SweepResult::merge(shards[..2].to_vec())
        .unwrap_err()
        .to_string();
    assert!(e.contains("hold 6 of 8 runs"), "{e}");
    let e = SweepResult::merge(vec![shards[0].clone(), shards[0].clone()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("appears twice"), "{e}");
}
