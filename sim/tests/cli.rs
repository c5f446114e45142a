//! The `meshsim` command line: exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::Command;

fn meshsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meshsim"))
}

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

#[test]
fn validate_accepts_the_shipped_scenarios() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let out = meshsim().arg("validate").args(&files).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_files_exit_with_code_2_and_a_located_error() {
    let cases = [
        ("syntax.json", "{ \"name\": \"x\", "),
        (
            "unknown-field.json",
            r#"{"name":"x","description":"","seed":1,"duration":"1s","bogus":1,"topology":{"generator":"chain","nodes":2}}"#,
        ),
        (
            "bad-unit.json",
            r#"{"name":"x","description":"","seed":1,"duration":"1 fortnight","topology":{"generator":"chain","nodes":2}}"#,
        ),
        (
            "bad-generator.json",
            r#"{"name":"x","description":"","seed":1,"duration":"1s","topology":{"generator":"torus","nodes":2}}"#,
        ),
        (
            "bad-index.json",
            r#"{"name":"x","description":"","seed":1,"duration":"1s","topology":{"generator":"chain","nodes":2},"traffic":[{"from":0,"to":7,"kind":"bulk","size":"1MB"}]}"#,
        ),
    ];
    for (name, text) in cases {
        let p = temp_file(name, text);
        for cmd in ["validate", "run"] {
            let out = meshsim().arg(cmd).arg(&p).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.starts_with("error: "), "{cmd} {name}: {err}");
            assert!(
                err.contains(name),
                "{cmd} {name}: the error names the file: {err}"
            );
            assert!(!err.contains("panicked"), "{cmd} {name}: {err}");
        }
        // Only its own files: the other tests of this process share the
        // directory and may be writing into it now (removing it made
        // `run_writes_a_report_unless_told_not_to` fail now and then).
        let _ = std::fs::remove_file(&p);
    }
}

#[test]
fn list_shows_names_and_descriptions() {
    let out = meshsim().arg("list").arg(scenarios()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 4, "{text}");
}

#[test]
fn run_writes_results_and_prints_the_fingerprint() {
    let out_dir = std::env::temp_dir().join(format!("meshsim-run-{}", std::process::id()));
    let out = meshsim()
        .args(["run", "--out"])
        .arg(&out_dir)
        .arg(scenarios().join("asymmetric-pair.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fingerprint "), "{text}");
    for f in [
        "summary.json",
        "timeseries_flows.csv",
        "timeseries_links.csv",
    ] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    // Nothing is printed on stderr when it is not a terminal (no progress line).
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SWEPT: &str = r#"{ "name": "cli-sweep", "seed": 1, "duration": "1s",
  "protocol": { "suite": "modeled" },
  "topology": { "generator": "chain", "nodes": 3 },
  "traffic": [ { "name": "bulk", "from": 0, "to": 2, "kind": "bulk", "size": "50kB" } ],
  "sweep": { "protocol.mode": ["store-and-forward", "end-to-end"], "repeat": 2 } }"#;

#[test]
fn run_writes_a_report_unless_told_not_to() {
    let sc = temp_file("report.json", &SWEPT.replace("cli-sweep", "cli-report"));
    let dir = sc.with_file_name("report-out");
    let out = meshsim()
        .args(["run", sc.to_str().unwrap(), "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "report.html",
        "report.md",
        "plots/goodput.svg",
        "scenario.json",
        "latencies.csv",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let bare = sc.with_file_name("bare-out");
    let out = meshsim()
        .args([
            "run",
            sc.to_str().unwrap(),
            "--no-report",
            "--out",
            bare.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(bare.join("summary.json").exists() && !bare.join("report.html").exists());
}

#[test]
fn sweep_shards_and_merge_from_the_command_line() {
    let sc = temp_file("sweep.json", SWEPT);
    let base = sc.with_file_name("sweep-out");
    let whole = base.join("whole");
    let out = meshsim()
        .args([
            "sweep",
            sc.to_str().unwrap(),
            "--jobs",
            "2",
            "--out",
            whole.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut shards = Vec::new();
    for i in 1..=2 {
        let d = base.join(format!("shard{i}"));
        let out = meshsim()
            .args([
                "sweep",
                sc.to_str().unwrap(),
                "--jobs",
                "1",
                "--shard",
                &format!("{i}/2"),
            ])
            .args(["--out", d.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        shards.push(d);
    }
    let merged = base.join("merged");
    let out = meshsim()
        .arg("merge")
        .args(&shards)
        .args(["--out", merged.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&whole, "sweep.csv"), read(&merged, "sweep.csv"));
    assert_eq!(read(&whole, "report.html"), read(&merged, "report.html"));
    assert_eq!(read(&merged, "timings.csv").lines().count(), 1 + 4);
    // Half the shards is not a sweep.
    let out = meshsim()
        .args([
            "merge",
            shards[0].to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hold 2 of 4 runs"));
}

#[test]
fn sweep_errors_are_bad_input() {
    let cases = [
        (scenarios().join("sf-normal.json"), "no `sweep` section"),
        (
            temp_file(
                "empty-sweep.json",
                &SWEPT.replace(
                    r#""protocol.mode": ["store-and-forward", "end-to-end"], "repeat": 2"#,
                    "",
                ),
            ),
            "the sweep is empty",
        ),
        (
            temp_file(
                "bad-path.json",
                &SWEPT.replace("protocol.mode", "protocol.mod"),
            ),
            "unknown field `mod`",
        ),
    ];
    for (file, message) in cases {
        let out = meshsim()
            .args(["sweep", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
    let out = meshsim()
        .args(["sweep", "x.json", "--shard", "3/2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a shard"));
}
