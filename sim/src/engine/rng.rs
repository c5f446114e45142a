//! Independent random streams, one per component.
//!
//! Each stream is a ChaCha20 generator whose key is derived from (scenario
//! seed, kind, index). Adding a node or a link does not change any other
//! component's draws, and the order in which components draw never matters.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// What a random stream belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// A node's protocol core (its `Node` seed).
    Node,
    /// A node's identity key.
    Identity,
    /// One direction of a link (loss, jitter).
    Channel,
    /// The shared wifi medium.
    Medium,
    /// A traffic source.
    Traffic,
    /// A node restarted after a crash (index: node, restart count).
    Restart,
    /// A node's access link to the underlay.
    Access,
    /// A node's clock (offset and drift).
    Clock,
    /// The churn registry's answers to one node.
    Registry,
    /// The tunnel-mesh measurement's BFS sources.
    MeshSample,
    /// The n-order mesh membership (which mesh each node is in, which
    /// nodes are border nodes and which other mesh each joins).
    MeshMembership,
}

impl StreamKind {
    fn tag(self) -> &'static [u8] {
        match self {
            StreamKind::Node => b"node",
            StreamKind::Identity => b"identity",
            StreamKind::Channel => b"channel",
            StreamKind::Medium => b"medium",
            StreamKind::Traffic => b"traffic",
            StreamKind::Restart => b"restart",
            StreamKind::Access => b"access",
            StreamKind::Clock => b"clock",
            StreamKind::Registry => b"registry",
            StreamKind::MeshSample => b"mesh-sample",
            StreamKind::MeshMembership => b"mesh-membership",
        }
    }
}

/// 32 seed bytes for (seed, kind, index).
pub fn seed_bytes(seed: u64, kind: StreamKind, index: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"meshsim stream v1");
    h.update(seed.to_le_bytes());
    h.update(kind.tag());
    h.update(index.to_le_bytes());
    h.finalize().into()
}

/// The random stream of (seed, kind, index).
pub fn stream(seed: u64, kind: StreamKind, index: u64) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed_bytes(seed, kind, index))
}

/// The stream of (seed, kind, index), made at its first draw.
///
/// A generator is 304 bytes; a lossless link without jitter never draws,
/// and at 10^5 nodes its two directions' generators were a tenth of the
/// memory. Made at the first draw, the stream is the one [`stream`] gives
/// (nothing drew from it before), so results do not change.
pub struct LazyStream {
    seed: u64,
    index: u64,
    kind: StreamKind,
    rng: Option<Box<ChaCha20Rng>>,
}

impl LazyStream {
    /// The stream of (seed, kind, index), not yet made.
    pub fn new(seed: u64, kind: StreamKind, index: u64) -> Self {
        LazyStream {
            seed,
            index,
            kind,
            rng: None,
        }
    }

    fn get(&mut self) -> &mut ChaCha20Rng {
        let (seed, kind, index) = (self.seed, self.kind, self.index);
        self.rng
            .get_or_insert_with(|| Box::new(stream(seed, kind, index)))
    }
}

impl rand::TryRng for LazyStream {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::Rng::next_u32(self.get()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::Rng::next_u64(self.get()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::Rng::fill_bytes(self.get(), dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let draw = |k, i| stream(7, k, i).next_u64();
        assert_eq!(draw(StreamKind::Node, 1), draw(StreamKind::Node, 1));
        assert_ne!(draw(StreamKind::Node, 1), draw(StreamKind::Node, 2));
        assert_ne!(draw(StreamKind::Node, 1), draw(StreamKind::Channel, 1));
        assert_ne!(
            stream(7, StreamKind::Node, 1).next_u64(),
            stream(8, StreamKind::Node, 1).next_u64()
        );
    }

    #[test]
    fn a_lazy_stream_is_the_stream() {
        let mut lazy = LazyStream::new(7, StreamKind::Channel, 3);
        assert!(lazy.rng.is_none());
        let mut eager = stream(7, StreamKind::Channel, 3);
        for _ in 0..100 {
            assert_eq!(lazy.next_u64(), eager.next_u64());
            assert_eq!(lazy.next_u32(), eager.next_u32());
        }
        let (mut a, mut b) = ([0u8; 77], [0u8; 77]);
        lazy.fill_bytes(&mut a);
        eager.fill_bytes(&mut b);
        assert_eq!(a, b);
    }
}
