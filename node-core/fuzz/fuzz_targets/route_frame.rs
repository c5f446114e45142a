//! Fuzzes the route layer's decoder of upper-frame bodies: it must never
//! panic, and every frame it accepts must re-encode to an upper frame of the
//! same type that decodes to the same route frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::wire::{Frame, RouteFrame, UpperFrame, frames};

fuzz_target!(|data: &[u8]| {
    let Some((&ty, body)) = data.split_first() else {
        return;
    };
    // Any type of the route range, reliable or best effort.
    let ty = 0x10 | (ty & 0x8f);
    if let Ok(f) = RouteFrame::parse(UpperFrame { ty, body }) {
        let bytes = f.to_vec();
        assert_eq!(bytes.len(), f.encoded_len());
        let mut it = frames(&bytes);
        let Some(Ok(Frame::Upper(u))) = it.next() else {
            panic!("a route frame is not an upper frame");
        };
        assert!(it.next().is_none());
        assert_eq!(u.ty, ty);
        assert_eq!(RouteFrame::parse(u), Ok(f));
    }
});
