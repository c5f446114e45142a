//! Fuzzes the messages of discovery's control channel and of route sets
//! (issue 13): latency pulses and rows, and the set messages on a route.
//! Never a panic; what decodes re-encodes to its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::wire::{Pulse, SetMessage, decode_row, encode_row};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Pulse::decode(data) {
        assert_eq!(&p.encode()[..], data);
    }
    if let Ok(row) = decode_row(data) {
        assert_eq!(&encode_row(&row)[1..], data);
    }
    if let Some(m) = SetMessage::decode(data) {
        assert_eq!(m.encode(), data);
    }
});
