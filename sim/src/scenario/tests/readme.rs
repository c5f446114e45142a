//! The examples of `scenarios/README.md` are valid: each JSON block is put
//! into a scenario around it and resolved.

use std::path::Path;

use super::super::*;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The ```json blocks of the README.
fn json_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").unwrap();
        blocks.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    blocks
}

/// A scenario around `members` (top-level members, without braces); a
/// 9-node chain unless they have a topology.
fn scenario(members: &str) -> String {
    let topology = if members.contains("\"topology\"") {
        ""
    } else {
        "\"topology\": { \"generator\": \"chain\", \"nodes\": 9 }, "
    };
    format!("{{ \"name\": \"readme\", \"seed\": 3, \"duration\": \"60m\", {topology}{members} }}")
}

/// Splits a block of one-per-line examples (`"key": ...` each, possibly
/// continued on indented lines) into the examples' values.
fn values(block: &str, key: &str) -> Vec<String> {
    let prefix = format!("\"{key}\":");
    block
        .split(&format!("\n{prefix}"))
        .map(|one| one.strip_prefix(&prefix).unwrap_or(one).trim().to_string())
        .collect()
}

#[test]
fn every_example_resolves() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    for block in json_blocks(&readme()) {
        let block = block.trim();
        let texts: Vec<String> = if block.starts_with("{\n  \"name\"") {
            vec![block.to_string()]
        } else if block.starts_with("{\n  \"nodes\"") {
            continue; // a topology file, checked below
        } else if block.starts_with("\"loss\"") {
            let link = |loss| {
                format!(
                    "{{ \"generator\": \"chain\", \"nodes\": 2, \"link\": {{ \"loss\": {loss} }} }}"
                )
            };
            values(block, "loss")
                .into_iter()
                .map(|l| scenario(&format!("\"topology\": {}", link(l))))
                .collect()
        } else if block.starts_with("\"link\"") {
            let topo =
                |link| format!("{{ \"generator\": \"chain\", \"nodes\": 2, \"link\": {link} }}");
            values(block, "link")
                .into_iter()
                .map(|l| scenario(&format!("\"topology\": {}", topo(l))))
                .collect()
        } else if block.starts_with("\"topology\"") {
            // The second import example names a file that does not exist.
            let block: Vec<&str> = block
                .lines()
                .filter(|l| !l.contains("nets/lab.topo"))
                .collect();
            values(&block.join("\n"), "topology")
                .into_iter()
                .map(|t| scenario(&format!("\"topology\": {t}")))
                .collect()
        } else if block.starts_with("\"overrides\"") {
            let topo =
                |o| format!("{{ \"generator\": \"chain\", \"nodes\": 9, \"overrides\": {o} }}");
            values(block, "overrides")
                .into_iter()
                .map(|o| scenario(&format!("\"topology\": {}", topo(o))))
                .collect()
        } else if block.starts_with("\"protocol\"")
            || block.starts_with("\"faults\"")
            || block.starts_with("\"underlay\"")
            || block.starts_with("\"discovery\"")
            || block.starts_with("\"pay\"")
        {
            vec![scenario(block)]
        } else if block.starts_with("\"churn\"") {
            // Tunnels cross an underlay, between hosts without links.
            vec![format!(
                "{{ \"name\": \"r\", \"seed\": 1, \"duration\": \"1s\", \
                 \"topology\": {{ \"generator\": \"hosts\", \"nodes\": 40 }}, \
                 \"underlay\": {{}}, {block} }}"
            )]
        } else if block.starts_with("\"sweep\"") {
            // Every point of the example's grid must resolve, not only its shape.
            let text = format!(
                "{{ \"name\": \"r\", \"seed\": 1, \"duration\": \"1s\", \
                 \"topology\": {{ \"generator\": \"chain\", \"nodes\": 9 }}, \
                 \"traffic\": [ {{ \"name\": \"bulk\", \"from\": 0, \"to\": 8, \"kind\": \"bulk\", \"size\": \"1kB\" }} ], {block} }}"
            );
            let plan = crate::sweep::plan_text(&text, &fixtures)
                .unwrap_or_else(|e| panic!("{e}\nin:\n{text}"));
            assert!(plan.runs.len() > 1);
            vec![text]
        } else if block.starts_with('{') && block.contains("\"kind\"") {
            vec![scenario(&format!("\"traffic\": [ {block} ]"))]
        } else {
            panic!("an example the test does not know how to check:\n{block}");
        };
        for text in texts {
            if let Err(e) = parse(&text, &fixtures) {
                panic!("{e}\nin:\n{text}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked}");
}

#[test]
fn the_json_topology_example_imports() {
    let readme = readme();
    let block = json_blocks(&readme)
        .into_iter()
        .find(|b| b.trim_start().starts_with("{\n  \"nodes\""))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("meshsim-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.json"), block).unwrap();
    let text = scenario("\"topology\": { \"generator\": \"import\", \"file\": \"t.json\" }");
    let result = parse(&text, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let s = result.unwrap();
    assert_eq!(s.network.links.len(), 3);
    assert_eq!(s.network.links[2].ba, None);
}
