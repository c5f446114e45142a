//! Fuzzes the decoder of route control messages (what a hop or the origin
//! reads after peeling its onion layer): it must never panic, and every
//! message it accepts must re-encode to bytes that decode to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::wire::ControlMessage;

fuzz_target!(|data: &[u8]| {
    if let Some(m) = ControlMessage::decode(data) {
        assert_eq!(ControlMessage::decode(&m.encode()), Some(m));
    }
});
