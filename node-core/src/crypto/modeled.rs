//! The Modeled suite: same sizes and state machine, no real cryptography.
//!
//! Key agreement is Diffie-Hellman in the multiplicative group modulo the
//! Mersenne prime 2^61 - 1: commutative like ECDH, so both ends derive the same
//! keys, but a few hundred nanoseconds instead of tens of microseconds and
//! trivially breakable. The "cipher" leaves the plaintext as it is and the
//! "tag" is a keyed 128-bit checksum: it catches corruption, a wrong key and
//! replays under the same state machine as the Real suite, not an attacker.
//! Signatures are Schnorr signatures in the same group: they verify with
//! the public key alone, so the simulator's nodes refuse forged and
//! altered adverts as real ones do, but anybody could compute the
//! secrets.

use super::{BadTag, CryptoSuite, Key, SIG_LEN, SuiteKind, TAG_LEN};
use crate::identity::{PUBLIC_KEY_LEN, PublicKey, SecretKey};

/// Cheap deterministic stand-ins for ECDH and the AEAD. Protects nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Modeled;

const P: u64 = (1 << 61) - 1;
const G: u64 = 3;

fn mul_mod(a: u64, b: u64) -> u64 {
    let x = (a as u128) * (b as u128);
    // Reduction modulo a Mersenne prime: fold the high bits onto the low ones.
    let r = ((x & P as u128) + (x >> 61)) as u64;
    let r = (r & P) + (r >> 61);
    if r >= P { r - P } else { r }
}

fn pow_mod(mut base: u64, mut exp: u64) -> u64 {
    let mut acc = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base);
        }
        base = mul_mod(base, base);
        exp >>= 1;
    }
    acc
}

/// The exponent a secret stands for: its first 8 bytes reduced into [1, P-2].
fn exponent(secret: &SecretKey) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(&secret.0[..8]);
    let e = u64::from_be_bytes(w) % (P - 1);
    // A zero secret is invalid for both suites, so tests can rely on that.
    (secret.0 != [0; 32] && e != 0).then_some(e)
}

fn encode(y: u64) -> PublicKey {
    let mut k = [0u8; PUBLIC_KEY_LEN];
    k[0] = 0x02;
    k[PUBLIC_KEY_LEN - 8..].copy_from_slice(&y.to_be_bytes());
    PublicKey(k)
}

fn decode(k: &PublicKey) -> Option<u64> {
    let (head, tail) = k.0.split_at(PUBLIC_KEY_LEN - 8);
    if head[0] != 0x02 || head[1..].iter().any(|&b| b != 0) {
        return None;
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(tail);
    let y = u64::from_be_bytes(w);
    (2..P).contains(&y).then_some(y)
}

/// splitmix64: spreads one group element over 32 key bytes.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The Schnorr challenge of (a group element, a public element, a
/// digest), reduced below the group order.
fn challenge(a: u64, y: u64, digest: &[u8; 32]) -> u64 {
    let mut s = a ^ y.rotate_left(17);
    let mut h = splitmix(&mut s);
    for w in digest.chunks_exact(8) {
        s ^= u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ h;
        h = splitmix(&mut s);
    }
    h % (P - 1)
}

/// A keyed 128-bit checksum over (nonce, aad, data). The words go through
/// two cheap lanes (rotate-xor and add); the key, the nonce and the lengths
/// enter through a full mixer at both ends. It catches corruption, a wrong
/// key and a wrong nonce, at a few tenths of a nanosecond per byte: the
/// point of this suite is to cost nothing, not to resist an attacker.
fn checksum(key: &Key, nonce: u64, aad: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&key[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    // Every key word feeds both lanes through a mixer, so keys whose words
    // repeat (or cancel under XOR) still give different tags.
    let mut s = word(0) ^ word(1).rotate_left(21) ^ nonce;
    let mut a = splitmix(&mut s) ^ word(2);
    let mut t = word(3) ^ a.rotate_left(13);
    let mut b = splitmix(&mut t) ^ word(1);
    // Four independent lanes over 32-byte blocks keep the CPU busy; the
    // tail goes through lane a.
    let (mut c, mut d) = (a.rotate_left(17), b.rotate_left(41));
    for part in [aad, data] {
        a ^= part.len() as u64;
        let mut blocks = part.chunks_exact(32);
        for blk in &mut blocks {
            let w =
                |k: usize| u64::from_le_bytes(blk[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
            a = a.rotate_left(7) ^ w(0);
            b = b.rotate_left(11) ^ w(1);
            c = c.wrapping_add(w(2) ^ a);
            d = d.wrapping_add(w(3) ^ b);
        }
        for chunk in blocks.remainder().chunks(8) {
            let mut last = [0u8; 8];
            last[..chunk.len()].copy_from_slice(chunk);
            let w = u64::from_le_bytes(last);
            a = a.rotate_left(7) ^ w;
            c = c.wrapping_add(w ^ a);
        }
    }
    a ^= c.rotate_left(23);
    b ^= d.rotate_left(37);
    let mut s = a ^ b.rotate_left(29) ^ word(0);
    let mut tag = [0u8; TAG_LEN];
    tag[..8].copy_from_slice(&(splitmix(&mut s) ^ a).to_le_bytes());
    tag[8..].copy_from_slice(&(splitmix(&mut s) ^ b).to_le_bytes());
    tag
}

impl CryptoSuite for Modeled {
    fn kind(&self) -> SuiteKind {
        SuiteKind::Modeled
    }

    fn public_key(&self, secret: &SecretKey) -> Option<PublicKey> {
        Some(encode(pow_mod(G, exponent(secret)?)))
    }

    fn dh(&self, secret: &SecretKey, public: &PublicKey) -> Option<Key> {
        let mut s = pow_mod(decode(public)?, exponent(secret)?);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut s).to_le_bytes());
        }
        Some(key)
    }

    fn seal(&self, key: &Key, nonce: u64, aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        checksum(key, nonce, aad, buf)
    }

    fn stream_xor(&self, key: &Key, nonce: u64, buf: &mut [u8]) {
        let mut s = nonce ^ u64::from_le_bytes(key[..8].try_into().expect("8 bytes"));
        for chunk in buf.chunks_mut(8) {
            let k = splitmix(&mut s).to_le_bytes();
            for (b, k) in chunk.iter_mut().zip(k) {
                *b ^= k;
            }
        }
    }

    fn sign(&self, secret: &SecretKey, digest: &[u8; 32]) -> Option<[u8; SIG_LEN]> {
        let x = exponent(secret)?;
        let y = pow_mod(G, x);
        // A deterministic nonce from the secret and the digest.
        let k = challenge(x, y, digest).max(1);
        let r = pow_mod(G, k);
        let e = challenge(r, y, digest);
        let s = ((k as u128 + e as u128 * x as u128) % (P as u128 - 1)) as u64;
        let mut sig = [0u8; SIG_LEN];
        sig[..8].copy_from_slice(&r.to_be_bytes());
        sig[8..16].copy_from_slice(&s.to_be_bytes());
        Some(sig)
    }

    fn verify(&self, public: &PublicKey, digest: &[u8; 32], sig: &[u8; SIG_LEN]) -> bool {
        let Some(y) = decode(public) else {
            return false;
        };
        let r = u64::from_be_bytes(sig[..8].try_into().expect("8 bytes"));
        let s = u64::from_be_bytes(sig[8..16].try_into().expect("8 bytes"));
        if !(1..P).contains(&r) || s >= P - 1 || sig[16..].iter().any(|&b| b != 0) {
            return false;
        }
        // g^s = r * y^e
        let e = challenge(r, y, digest);
        pow_mod(G, s) == mul_mod(r, pow_mod(y, e))
    }

    fn open(
        &self,
        key: &Key,
        nonce: u64,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), BadTag> {
        if checksum(key, nonce, aad, buf) == *tag {
            Ok(())
        } else {
            Err(BadTag)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_repeated_words_give_different_tags() {
        let tag = |k: u8| checksum(&[k; 32], 1, b"aad", b"data");
        assert_ne!(tag(12), tag(13));
        let mut swapped = [0u8; 32];
        swapped[..8].fill(1);
        swapped[16..24].fill(1);
        assert_ne!(
            checksum(&swapped, 1, b"", b""),
            checksum(&[0; 32], 1, b"", b"")
        );
    }

    #[test]
    fn group_arithmetic() {
        assert_eq!(mul_mod(P - 1, P - 1), 1);
        assert_eq!(pow_mod(G, P - 1), 1, "Fermat");
        assert_eq!(
            pow_mod(pow_mod(G, 12345), 678),
            pow_mod(pow_mod(G, 678), 12345)
        );
    }
}
