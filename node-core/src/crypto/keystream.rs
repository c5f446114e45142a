//! ChaCha20 that makes its keystream four blocks at a time, for the Real
//! suite's AEAD.
//!
//! The `chacha20` crate's AVX2 backend computes four 64-byte blocks in one
//! pass and, asked for a single block, computes four and keeps one. The
//! AEAD asks it for three things per packet: block 0 (the Poly1305 key,
//! 32 bytes), then the data from block 1, whose whole blocks beyond a
//! multiple of four and partial last block each come singly. A 1,167-byte
//! packet (a 1,200-byte datagram's ciphertext) then costs 8 four-block
//! passes for the 20 blocks it uses. [`Keystream4`] asks the backend only
//! for four blocks at a time, keeping what a call leaves over for the
//! next: the same packet costs 5 passes, the least that 20 blocks can.
//!
//! The keystream is the same bytes at the same positions as
//! [`chacha20::ChaCha20`]'s (the tests compare them): only the order in
//! which the backend is asked for them changes, so ciphertexts and tags
//! are identical.

use chacha20::ChaCha20;
use chacha20::cipher::consts::{U12, U32};
use chacha20::cipher::{
    InOutBuf, IvSizeUser, KeyIvInit, KeySizeUser, OverflowError, SeekNum, StreamCipher,
    StreamCipherError, StreamCipherSeek,
};

/// Bytes of keystream made in one pass: four ChaCha blocks.
const PASS: usize = 256;
/// Bytes of a ChaCha block.
const BLOCK: u64 = 64;

/// ChaCha20 (RFC 8439: 96-bit nonce, 32-bit block counter) whose keystream
/// is made four blocks at a time; see the module docs.
pub struct Keystream4 {
    inner: ChaCha20,
    /// Keystream bytes `kept_from..kept_to`, made and not all used.
    kept: [u8; PASS],
    kept_from: u64,
    kept_to: u64,
    /// The position in the keystream. While it is below `kept_to`, `inner`
    /// stands at `kept_to`; otherwise it stands at `pos`.
    pos: u64,
}

impl KeySizeUser for Keystream4 {
    type KeySize = U32;
}

impl IvSizeUser for Keystream4 {
    type IvSize = U12;
}

impl KeyIvInit for Keystream4 {
    fn new(key: &chacha20::Key, iv: &chacha20::Nonce) -> Self {
        let mut inner = ChaCha20::new(key, iv);
        // The AEAD starts with block 0 (the Poly1305 key) and goes on from
        // block 1: the first four blocks serve both.
        let mut kept = [0u8; PASS];
        inner.write_keystream(&mut kept);
        Keystream4 {
            inner,
            kept,
            kept_from: 0,
            kept_to: PASS as u64,
            pos: 0,
        }
    }
}

impl Keystream4 {
    /// Applies the kept keystream to the front of `buf`; returns the rest.
    fn apply_kept<'i, 'o>(&mut self, buf: InOutBuf<'i, 'o, u8>) -> InOutBuf<'i, 'o, u8> {
        if self.pos >= self.kept_to {
            return buf;
        }
        let at = (self.pos - self.kept_from) as usize;
        let n = buf.len().min((self.kept_to - self.pos) as usize);
        let (head, rest) = buf.split_at(n);
        // In place (the suite's case) nothing is copied; and a loop over
        // a slice is vectorised, where `InOutBuf::xor_in2out`'s (through
        // pointers that may alias) goes a byte at a time.
        let out = head.into_out_with_copied_in();
        for (o, k) in out.iter_mut().zip(&self.kept[at..at + n]) {
            *o ^= k;
        }
        self.pos += n as u64;
        rest
    }
}

impl StreamCipher for Keystream4 {
    fn check_remaining(&self, data_len: usize) -> Result<(), StreamCipherError> {
        let kept = self.kept_to.saturating_sub(self.pos);
        let beyond = (data_len as u64).saturating_sub(kept);
        self.inner
            .check_remaining(usize::try_from(beyond).map_err(|_| StreamCipherError)?)
    }

    fn unchecked_apply_keystream_inout(&mut self, buf: InOutBuf<'_, '_, u8>) {
        let buf = self.apply_kept(buf);
        if buf.is_empty() {
            return;
        }
        // `inner` stands at `pos`: whole passes straight from it.
        let whole = buf.len() / PASS * PASS;
        let (passes, tail) = buf.split_at(whole);
        self.inner.unchecked_apply_keystream_inout(passes);
        self.pos += whole as u64;
        if tail.is_empty() {
            return;
        }
        if self.inner.check_remaining(PASS).is_err() {
            // The last blocks of the keystream: no pass to keep.
            self.pos += tail.len() as u64;
            self.inner.unchecked_apply_keystream_inout(tail);
            return;
        }
        self.inner.unchecked_write_keystream(&mut self.kept);
        self.kept_from = self.pos;
        self.kept_to = self.pos + PASS as u64;
        let rest = self.apply_kept(tail);
        debug_assert!(rest.is_empty());
    }

    fn unchecked_write_keystream(&mut self, buf: &mut [u8]) {
        buf.fill(0);
        self.unchecked_apply_keystream_inout(buf.into());
    }
}

impl StreamCipherSeek for Keystream4 {
    fn try_current_pos<T: SeekNum>(&self) -> Result<T, OverflowError> {
        // `from_block_byte` counts `byte` (1..=64) into block `block - 1`.
        let (block, byte) = match self.pos % BLOCK {
            0 => (self.pos / BLOCK, BLOCK),
            r => (self.pos / BLOCK + 1, r),
        };
        T::from_block_byte(block, byte as u8, BLOCK as u8)
    }

    fn try_seek<T: SeekNum>(&mut self, pos: T) -> Result<(), StreamCipherError> {
        let (block, byte): (u64, u8) = pos
            .into_block_byte(BLOCK as u8)
            .map_err(|_| StreamCipherError)?;
        let to = block
            .checked_mul(BLOCK)
            .and_then(|b| b.checked_add(byte.into()))
            .ok_or(StreamCipherError)?;
        if (self.kept_from..=self.kept_to).contains(&to) && self.pos <= self.kept_to {
            // Within what is kept, and `inner` still stands at its end.
            self.pos = to;
        } else {
            self.inner.try_seek(to)?;
            self.pos = to;
            self.kept_from = to;
            self.kept_to = to;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, ChaChaPoly1305};

    fn key_iv(seed: u8) -> (chacha20::Key, chacha20::Nonce) {
        let key: [u8; 32] = core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8));
        let iv: [u8; 12] = core::array::from_fn(|i| seed ^ (i as u8 * 7));
        (key.into(), iv.into())
    }

    /// Cuts `len` bytes into pieces by a pattern of lengths, repeated.
    fn pieces(len: usize, pattern: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut left = len;
        for &p in pattern.iter().cycle() {
            if left == 0 {
                break;
            }
            let p = p.min(left);
            out.push(p);
            left -= p;
        }
        out
    }

    #[test]
    fn the_keystream_is_chacha20s_however_it_is_asked_for() {
        let patterns: [&[usize]; 6] = [
            &[2000],
            &[1, 63, 64, 65],
            &[32, 1167],
            &[255, 256, 257],
            &[3, 700, 10, 512],
            &[0, 7, 0, 300],
        ];
        for (seed, pattern) in patterns.iter().enumerate() {
            let (key, iv) = key_iv(seed as u8);
            let mut expected = vec![0u8; 2000];
            ChaCha20::new(&key, &iv).apply_keystream(&mut expected);
            let mut got = vec![0u8; 2000];
            let mut k = Keystream4::new(&key, &iv);
            let mut at = 0;
            for n in pieces(2000, pattern) {
                k.apply_keystream(&mut got[at..at + n]);
                at += n;
                assert_eq!(k.current_pos::<u64>(), at as u64);
            }
            assert_eq!(got, expected, "pattern {pattern:?}");
        }
    }

    #[test]
    fn seeking_anywhere_gives_chacha20s_keystream_there() {
        let (key, iv) = key_iv(9);
        let mut all = vec![0u8; 4096];
        ChaCha20::new(&key, &iv).apply_keystream(&mut all);
        let mut k = Keystream4::new(&key, &iv);
        // Back and forth: into what is kept, past it, back into it after
        // `inner` moved on, and to block boundaries.
        for (to, n) in [
            (64u64, 100usize),
            (10, 20),
            (200, 600),
            (150, 10),
            (0, 64),
            (3000, 1000),
            (256, 256),
            (4095, 1),
        ] {
            k.seek(to);
            assert_eq!(k.current_pos::<u64>(), to);
            let mut got = vec![0u8; n];
            k.apply_keystream(&mut got);
            let to = to as usize;
            assert_eq!(got, all[to..to + n], "seek to {to}, {n} bytes");
        }
    }

    #[test]
    fn the_aead_over_it_seals_and_opens_as_chacha20poly1305() {
        let (key, iv) = key_iv(3);
        let fast = ChaChaPoly1305::<Keystream4>::new(&key);
        let plain = ChaCha20Poly1305::new(&key);
        for len in (0..=1300).chain([4095, 4096, 4097, 16386, 65_000]) {
            let aad = &[0x17u8; 17][..len % 18];
            let message: Vec<u8> = (0..len).map(|i| (i * 13 + len) as u8).collect();
            let mut a = message.clone();
            let mut b = message.clone();
            let ta = fast
                .encrypt_inout_detached(&iv, aad, a.as_mut_slice().into())
                .unwrap();
            let tb = plain
                .encrypt_inout_detached(&iv, aad, b.as_mut_slice().into())
                .unwrap();
            assert_eq!((&a, ta), (&b, tb), "{len} bytes");
            fast.decrypt_inout_detached(&iv, aad, a.as_mut_slice().into(), &tb)
                .unwrap();
            assert_eq!(a, message);
        }
    }
}
