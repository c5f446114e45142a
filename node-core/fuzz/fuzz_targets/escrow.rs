//! Fuzzes the escrow's message codecs and the escrow role: no input
//! panics, a decoded request or answer re-encodes to the same bytes, and a
//! sequence of fuzzed requests (split at 0xff bytes) keeps the ledger's
//! coins conserved and within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::crypto::SuiteKind;
use node_core::pay::escrow::Limits;
use node_core::pay::service::{EscrowRole, EscrowService};
use node_core::wire::escrow::{EscrowAnswer, EscrowRequest};

fuzz_target!(|data: &[u8]| {
    if let Some((id, q)) = EscrowRequest::decode(data) {
        assert_eq!(q.encode(id), data);
    }
    if let Some((id, a)) = EscrowAnswer::decode(data) {
        assert_eq!(a.encode(id), data);
    }
    let mut s = EscrowService::new(EscrowRole {
        fee_ppm: 30_000,
        limits: Limits {
            accounts: 8,
            redeemed: 8,
            relays: 8,
            addresses: 8,
        },
    });
    for msg in data.split(|&b| b == 0xff) {
        if let Some(answer) = s.handle(SuiteKind::Real.suite(), msg) {
            assert!(EscrowAnswer::decode(&answer).is_some());
        }
        assert_eq!(s.ledger.conservation_error(), 0);
    }
});
