//! Fuzzes link-state adverts (issue 13): the decoder, the content checks
//! and signature verification of both suites. Never a panic; what decodes
//! re-encodes to exactly its input (one canonical form); what verifies
//! under the Modeled suite is what it decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::SuiteKind;
use node_core::discovery::adverts;
use node_core::wire::Advert;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = Advert::decode(data) {
        let mut b = Vec::new();
        a.encode(&mut b);
        assert_eq!(b, data, "one canonical encoding");
        assert!(b.len() <= Advert::MAX_LEN);
    }
    for kind in [SuiteKind::Modeled, SuiteKind::Real] {
        if let Ok(a) = adverts::verify(kind.suite(), data) {
            assert_eq!(Advert::decode(data).as_ref(), Ok(&a));
        }
    }
});
