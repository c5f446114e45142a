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
    }
    let _ = std::fs::remove_dir_all(temp_file("x", "").parent().unwrap());
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
