//! Fuzzes the header of an incoming file transfer (a remote sender's first
//! message): never a panic, and a name it accepts is one safe path
//! component (no separator, no `..`, no control or invisible character).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_id, name, _size)) = node::transfer::parse_header(data) {
        assert!(!name.is_empty() && name.len() <= 255);
        assert!(!name.contains('/') && !name.contains('\0') && name != "..");
        assert!(!name.starts_with('.'));
        assert!(!name.chars().any(char::is_control));
    }
    // The destination's answer: parsed or refused, never a panic.
    if let Some((id, offset)) = node::transfer::parse_resume(data) {
        assert_eq!(node::transfer::encode_resume(id, offset), data);
    }
});
