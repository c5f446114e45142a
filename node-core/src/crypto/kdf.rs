//! The key schedule: HKDF-SHA256 (RFC 5869), shared by both suites.
//!
//! ```text
//! handshake:  root_0  = HKDF(salt = H(transcript), ikm = ee || es || se, "meshsim link root")
//!             confirm = HKDF(salt = root_0, "meshsim link confirm")
//! epoch n:    (k_i2r, k_r2i) = HKDF(salt = root_n, "meshsim link keys")
//! rekey:      root_n+1 = HKDF(salt = root_n, ikm = DH(e, e'), "meshsim link ratchet")
//! ```
//! The rekey step is a ratchet: every new key depends on the previous root
//! and on a fresh ECDH secret, so a key that leaks exposes neither the earlier
//! nor, once the next exchange is done, the later traffic.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use super::Key;

/// Which way a key protects traffic, seen from the handshake's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectionalKeys {
    /// Protects initiator -> responder packets.
    pub i2r: Key,
    /// Protects responder -> initiator packets.
    pub r2i: Key,
}

fn expand(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    // Cannot fail: outputs are at most 64 bytes, far below 255 * 32.
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .expect("HKDF output length");
}

/// The hash of the handshake transcript (both handshake messages).
pub fn transcript_hash(parts: &[&[u8]]) -> Key {
    let mut h = Sha256::new();
    h.update(b"meshsim link v1");
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The root key of a new session.
pub fn handshake_root(transcript: &Key, ee: &Key, es: &Key, se: &Key) -> Key {
    let mut ikm = [0u8; 96];
    ikm[..32].copy_from_slice(ee);
    ikm[32..64].copy_from_slice(es);
    ikm[64..].copy_from_slice(se);
    let mut out = [0u8; 32];
    expand(transcript, &ikm, b"meshsim link root", &mut out);
    out
}

/// The key of the responder's confirmation tag.
pub fn confirm_key(root: &Key) -> Key {
    let mut out = [0u8; 32];
    expand(root, &[], b"meshsim link confirm", &mut out);
    out
}

/// The packet keys of an epoch.
pub fn epoch_keys(root: &Key) -> DirectionalKeys {
    let mut out = [0u8; 64];
    expand(root, &[], b"meshsim link keys", &mut out);
    let (mut i2r, mut r2i) = ([0u8; 32], [0u8; 32]);
    i2r.copy_from_slice(&out[..32]);
    r2i.copy_from_slice(&out[32..]);
    DirectionalKeys { i2r, r2i }
}

/// A key for one purpose derived from `key` (distinct labels give
/// independent keys, so two uses never share a nonce space).
pub fn subkey(key: &Key, label: &[u8]) -> Key {
    let mut out = [0u8; 32];
    expand(key, &[], label, &mut out);
    out
}

/// One ratchet step: the next epoch's root.
pub fn ratchet(root: &Key, dh: &Key) -> Key {
    let mut out = [0u8; 32];
    expand(root, dh, b"meshsim link ratchet", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratchet_changes_every_key() {
        let root = handshake_root(&[1; 32], &[2; 32], &[3; 32], &[4; 32]);
        let next = ratchet(&root, &[5; 32]);
        let (k0, k1) = (epoch_keys(&root), epoch_keys(&next));
        assert_ne!(k0.i2r, k0.r2i);
        assert_ne!(k0.i2r, k1.i2r);
        assert_ne!(next, ratchet(&root, &[6; 32]));
        assert_ne!(confirm_key(&root), k0.i2r);
    }
}
