//! Fuzzes a route end's receiver of end-to-end records: record plaintexts
//! chosen by the input are sealed with the route's key (as a hostile origin
//! holding it could) and the stream is handed over in pieces the input
//! also chooses. The receiver must never panic, never report more bytes
//! consumed than it was given, never deliver a message over its limit, and
//! hold at most one incomplete message.
//!
//! Input: `cut (1 byte) | len (1 byte) | plaintext (len bytes) | ...`: each
//! record's plaintext, and after it a piece boundary at `cut` bytes into
//! the stream not yet handed over (0: none).
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::SuiteKind;
use node_core::route::crypto::E2eSealer;
use node_core::route::endpoint::Receiver;

const MAX_MESSAGE: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let suite = SuiteKind::Modeled.suite();
    let key = [9u8; 32];
    let mut sealer = E2eSealer::new(key);
    let mut rx = Receiver::new(key, MAX_MESSAGE);
    let mut stream = Vec::new();
    let mut given = 0;
    let mut out = Vec::new();
    let mut rest = data;
    while let [cut, len, tail @ ..] = rest {
        let n = (*len as usize * 64).min(tail.len());
        let (plain, tail) = tail.split_at(n);
        rest = tail;
        stream.extend_from_slice(&sealer.seal_record(suite, plain));
        let upto = (given + *cut as usize * 16).min(stream.len());
        if upto > given {
            match rx.consume(suite, &stream[given..upto], &mut out) {
                Ok(used) => {
                    assert!(used <= upto - given);
                    given += used;
                }
                Err(_) => return, // a corrupt stream ends the route
            }
        }
        assert!(out.iter().all(|m| m.len() <= MAX_MESSAGE));
        assert!(rx.pending_len() < 4 + MAX_MESSAGE);
    }
});
