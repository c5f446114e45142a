//! Fuzzes the payment receipt's decoder and the escrow's check of it: no
//! input panics, an accepted receipt re-encodes to the same bytes, and a
//! fuzzed receipt (whose signature nobody made) never pays.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::crypto::SuiteKind;
use node_core::pay::escrow::{Escrow, Limits};
use node_core::wire::receipt::Receipt;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Receipt::decode(data) {
        assert_eq!(&r.encode()[..], data);
        let mut e = Escrow::new(Limits::default(), 0);
        let _ = e.open(r.pseudonym);
        assert!(e.redeem(SuiteKind::Modeled.suite(), &r).is_err());
        assert_eq!(e.conservation_error(), 0);
    }
});
