//! A link's handshake state: our INIT while it waits for an answer, and
//! the answers we sent that wait for the initiator's first packet.

use rand_chacha::ChaCha20Rng;

use super::handshake::{self, Initiation};
use super::session::Session;
use super::{Ctx, Link, jittered};
use crate::time::{Duration, Time};

pub(super) struct OurInit {
    pub(super) init: Initiation,
    /// It carries a MAC (we know the peer's key).
    pub(super) proven: bool,
    pub(super) next_retry: Time,
    pub(super) backoff: Duration,
}

/// A session the responder created, awaiting the initiator's first packet.
pub(super) struct PendingResponse<T> {
    pub(super) session: Session<T>,
    pub(super) resp: Vec<u8>,
    /// Identifies the INIT answered, to answer a repeated one identically.
    pub(super) init_key: (u32, [u8; 33]),
    /// Its INIT carried a valid MAC (see `handshake.rs`).
    pub(super) proven: bool,
    pub(super) expires: Time,
}

/// Answers awaiting the initiator's first packet, at most: an INIT nobody
/// can tell from a forgery (one without a MAC) takes a slot, never the
/// others' (the oldest unproven answer makes room first).
pub(super) const MAX_PENDING_RESPONSES: usize = 4;

impl<T> Link<T> {
    pub(super) fn fresh_index(&self, rng: &mut ChaCha20Rng) -> u32 {
        use rand::Rng as _;
        loop {
            let i = rng.next_u32();
            let taken = self.session.as_ref().is_some_and(|s| s.local_index == i)
                || self.pending.iter().any(|p| p.session.local_index == i);
            if !taken {
                return i;
            }
        }
    }

    pub(super) fn initiate(&mut self, now: Time, ctx: &mut Ctx<'_>) {
        if self.await_opener {
            return;
        }
        let index = self.fresh_index(ctx.rng);
        let peer = self.configured_peer;
        let init = handshake::initiate(ctx.suite, ctx.identity, peer.as_ref(), index, ctx.rng);
        self.handshake_tx.push_back(init.bytes.clone());
        let backoff = ctx.config.handshake_retry;
        self.ours = Some(Box::new(OurInit {
            init,
            proven: peer.is_some(),
            next_retry: now + jittered(backoff, ctx.rng),
            backoff,
        }));
    }
}
