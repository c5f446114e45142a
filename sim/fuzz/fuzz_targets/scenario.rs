//! Fuzzes the scenario parser: any text must give a scenario or a located
//! error, never a panic (a scenario file comes from a user, or from a
//! sweep's edits, and is checked before anything runs). Files it names are
//! looked up under an empty directory, so topology imports fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = sim::scenario::parse(text, std::path::Path::new("/nonexistent-fuzz-dir")) {
        // Errors are located and printable.
        let _ = e.to_string();
    }
});
