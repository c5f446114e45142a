//! Helpers shared by the test targets that run scenario files (each target
//! includes this file as a module; not every target uses every helper).
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;
use sim::results::{FlowSummary, Summary};

/// The text of `scenarios/<name>`.
pub fn scenario_text(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(name),
    )
    .expect("scenario exists")
}

/// Runs scenario JSON with some fields replaced (JSON pointer -> value).
pub fn run_with(text: &str, edits: &[(&str, Value)]) -> Summary {
    let mut v: Value = serde_json::from_str(text).expect("valid JSON");
    for (pointer, value) in edits {
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")) = value.clone();
    }
    let sc = sim::scenario::parse(&v.to_string(), Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    sim::run::run(sc, &mut |_| {}).expect("runs").summary
}

/// The flow named `name` of a run.
pub fn flow<'a>(s: &'a Summary, name: &str) -> &'a FlowSummary {
    s.flows.iter().find(|f| f.name == name).expect("flow")
}
