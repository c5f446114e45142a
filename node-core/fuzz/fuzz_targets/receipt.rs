//! Fuzzes the payment receipt's decoders (the receipt, and the ROUTE_PAY
//! message that carries it) and the checks of it: no input panics, an
//! accepted one re-encodes to the same bytes, and a fuzzed receipt (whose
//! signature nobody made) is neither paid by the escrow nor taken by a
//! relay's gate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::crypto::SuiteKind;
use node_core::pay::escrow::{Escrow, Limits};
use node_core::pay::gate::Gate;
use node_core::pay::money::{Droplets, Price};
use node_core::wire::receipt::{Receipt, decode_pay, encode_pay};

fuzz_target!(|data: &[u8]| {
    // The Real suite: the Modeled suite's signatures are a model over a
    // 64-bit group, not a security claim (the fuzzer forges one within
    // 100,000 runs, with the pseudonym the group's identity).
    let suite = SuiteKind::Real.suite();
    if let Some(r) = decode_pay(data) {
        assert_eq!(encode_pay(&r), data);
    }
    if let Ok(r) = Receipt::decode(data) {
        assert_eq!(&r.encode()[..], data);
        let mut e = Escrow::new(Limits::default(), 0);
        let _ = e.open(r.pseudonym);
        assert!(e.redeem(suite, &r).is_err());
        assert_eq!(e.conservation_error(), 0);
        let mut g = Gate::new(r.relay, Price::per_mb(1), Droplets(0), 0);
        assert!(g.on_receipt(suite, &r).is_err());
        assert!(g.best().is_none());
    }
});
