//! The Real suite: secp256k1 ECDH and ChaCha20-Poly1305.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaChaPoly1305, Nonce, Tag};

use super::keystream::Keystream4;
use super::{BadTag, CryptoSuite, Key, SIG_LEN, SuiteKind, TAG_LEN};

/// ChaCha20-Poly1305 (RFC 8439) over a ChaCha20 that makes its keystream
/// four blocks at a time: the same ciphertexts and tags as
/// `chacha20poly1305::ChaCha20Poly1305`, in fewer passes of the cipher
/// (see [`super::keystream`]).
type ChaCha20Poly1305 = ChaChaPoly1305<Keystream4>;
use crate::identity::{PUBLIC_KEY_LEN, PublicKey, SecretKey};

/// secp256k1 ECDH + ChaCha20-Poly1305 (RFC 8439).
#[derive(Debug, Clone, Copy, Default)]
pub struct Real;

/// The 96-bit AEAD nonce: 32 zero bits, then the 64-bit packet number
/// (little-endian, as WireGuard does). Unique as long as packet numbers are.
fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::from(bytes)
}

impl CryptoSuite for Real {
    fn kind(&self) -> SuiteKind {
        SuiteKind::Real
    }

    fn public_key(&self, secret: &SecretKey) -> Option<PublicKey> {
        let sk = secp256k1::SecretKey::from_secret_bytes(secret.0).ok()?;
        let pk = secp256k1::PublicKey::from_secret_key(&sk);
        Some(PublicKey(pk.serialize()))
    }

    fn dh(&self, secret: &SecretKey, public: &PublicKey) -> Option<Key> {
        let sk = secp256k1::SecretKey::from_secret_bytes(secret.0).ok()?;
        let pk = secp256k1::PublicKey::from_byte_array_compressed(public.0).ok()?;
        Some(secp256k1::ecdh::SharedSecret::new(&pk, &sk).to_secret_bytes())
    }

    fn seal(&self, key: &Key, n: u64, aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let cipher = ChaCha20Poly1305::new(key.into());
        // Cannot fail: the only error is a message longer than 256 GiB.
        let tag = cipher
            .encrypt_inout_detached(&nonce(n), aad, buf.into())
            .expect("ChaCha20-Poly1305 message length limit");
        tag.into()
    }

    fn sign(&self, secret: &SecretKey, digest: &[u8; 32]) -> Option<[u8; SIG_LEN]> {
        let sk = secp256k1::SecretKey::from_secret_bytes(secret.0).ok()?;
        // RFC 6979 nonces: deterministic, and the S value is the low one.
        let sig = secp256k1::ecdsa::sign(secp256k1::Message::from_digest(*digest), &sk);
        Some(sig.serialize_compact())
    }

    fn verify(&self, public: &PublicKey, digest: &[u8; 32], sig: &[u8; SIG_LEN]) -> bool {
        let Ok(pk) = secp256k1::PublicKey::from_byte_array_compressed(public.0) else {
            return false;
        };
        let Ok(sig) = secp256k1::ecdsa::Signature::from_compact(sig) else {
            return false;
        };
        // libsecp256k1 verifies only low-S signatures: a malleated copy of
        // a valid one (the high S) is refused.
        secp256k1::ecdsa::verify(&sig, secp256k1::Message::from_digest(*digest), &pk).is_ok()
    }

    fn stream_xor(&self, key: &Key, n: u64, buf: &mut [u8]) {
        use chacha20::cipher::{KeyIvInit, StreamCipher};
        let mut c = chacha20::ChaCha20::new(key.into(), &nonce(n));
        c.apply_keystream(buf);
    }

    fn open(
        &self,
        key: &Key,
        n: u64,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), BadTag> {
        let cipher = ChaCha20Poly1305::new(key.into());
        cipher
            .decrypt_inout_detached(&nonce(n), aad, buf.into(), &Tag::from(*tag))
            .map_err(|_| BadTag)
    }
}

const _: () = assert!(PUBLIC_KEY_LEN == secp256k1::constants::PUBLIC_KEY_SIZE);
