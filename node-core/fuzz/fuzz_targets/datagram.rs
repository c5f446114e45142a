//! Fuzzes the datagram and frame decoders: they must never panic, and every
//! frame they accept must re-encode to bytes that decode to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::wire::{Datagram, frames};

/// Runs the frame iterator over `bytes` to completion, checking the
/// iterator contract and the parse/emit round trip of each frame.
fn check_frames(bytes: &[u8]) {
    let mut it = frames(bytes);
    let mut failed = false;
    for item in it.by_ref() {
        assert!(!failed, "frames() yielded an item after an error");
        match item {
            Ok(frame) => {
                let mut buf = Vec::new();
                frame.emit(&mut buf);
                assert_eq!(buf.len(), frame.encoded_len());
                let mut again = frames(&buf);
                assert_eq!(again.next(), Some(Ok(frame)));
                assert_eq!(again.next(), None);
            }
            Err(_) => failed = true,
        }
    }
    assert!(it.next().is_none(), "frames() is not fused");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Datagram::Sealed(packet)) = Datagram::parse(data) {
        let _ = packet.header();
        let _ = packet.tag();
        // The payload is ciphertext here, but it fuzzes the frame parser all
        // the same.
        check_frames(packet.ciphertext());
    }
    check_frames(data);
});
