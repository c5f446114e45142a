//! Fuzzes the control socket's request decoder (one JSON line from a local
//! client): any bytes give a request or an error, never a panic, and every
//! request accepted survives a round trip through its encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node::control::Request;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<Request>(data) {
        let text = serde_json::to_string(&r).expect("encodes");
        assert_eq!(serde_json::from_str::<Request>(&text).expect("decodes"), r);
    }
});
