//! A ChaCha20 generator made at its first draw.
//!
//! A `ChaCha20Rng` is 304 bytes (it buffers four blocks). A layer that
//! may never draw (the route layer of a node that starts no route and
//! answers no CREATE) keeps its 32-byte seed instead; the generator made
//! from it at the first draw gives the very stream it would have given
//! from the start, so nothing a node does changes.

use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;

/// A ChaCha20 generator made from its seed at the first draw.
pub struct LazyRng {
    seed: [u8; 32],
    rng: Option<Box<ChaCha20Rng>>,
}

impl LazyRng {
    /// The generator of `seed`, not yet made.
    pub fn from_seed(seed: [u8; 32]) -> LazyRng {
        LazyRng { seed, rng: None }
    }

    fn get(&mut self) -> &mut ChaCha20Rng {
        let seed = self.seed;
        self.rng
            .get_or_insert_with(|| Box::new(ChaCha20Rng::from_seed(seed)))
    }
}

impl rand::TryRng for LazyRng {
    type Error = core::convert::Infallible;

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
    use rand::Rng as _;

    #[test]
    fn the_lazy_generator_gives_the_generators_stream() {
        let seed = [7u8; 32];
        let mut lazy = LazyRng::from_seed(seed);
        assert!(lazy.rng.is_none());
        let mut eager = ChaCha20Rng::from_seed(seed);
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
