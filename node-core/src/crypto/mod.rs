//! The crypto suite: key agreement and packet protection behind one small trait.
//!
//! Two suites exist. [`Real`] is secp256k1 ECDH with ChaCha20-Poly1305: the
//! default, and the only one the real node may run. [`Modeled`] keeps every
//! wire size, message and state transition of the handshake and rekeying but
//! replaces the group operation, the cipher and the tag with cheap
//! deterministic stand-ins, so that very large simulations can skip the cost of
//! cryptography on purpose. It protects nothing; results must say which suite
//! ran ([`SuiteKind`] is part of every node's stats).
//!
//! The key schedule ([`kdf`]) is shared by both suites: it is cheap, and sharing
//! it keeps the two suites' state machines identical.

pub mod kdf;
mod keystream;
mod modeled;
mod real;

use core::fmt;

pub use modeled::Modeled;
pub use real::Real;

use crate::identity::{PublicKey, SecretKey};

/// Length of an AEAD tag.
pub const TAG_LEN: usize = 16;
/// Bytes of a signature (both suites).
pub const SIG_LEN: usize = 64;

/// A 32-byte symmetric key.
pub type Key = [u8; 32];

/// The packet tag did not verify: wrong key, tampered bytes, or a forgery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTag;

/// Key agreement and authenticated encryption, as the link layer needs them.
pub trait CryptoSuite: fmt::Debug + Send + Sync {
    /// Which suite this is.
    fn kind(&self) -> SuiteKind;

    /// The public key of a secret, or `None` if the secret is not a valid scalar.
    fn public_key(&self, secret: &SecretKey) -> Option<PublicKey>;

    /// Diffie-Hellman: the same 32 bytes for `dh(a, B)` and `dh(b, A)`.
    /// `None` if `public` is not a valid point (forged or corrupted key).
    fn dh(&self, secret: &SecretKey, public: &PublicKey) -> Option<Key>;

    /// Encrypts `buf` in place and returns the tag over `aad` and the
    /// ciphertext. `nonce` must never repeat under one key.
    fn seal(&self, key: &Key, nonce: u64, aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN];

    /// XORs `buf` with the keystream of (`key`, `nonce`): a layer of
    /// encryption without a tag, for onion-layered route control messages.
    /// Applying it twice restores the input.
    fn stream_xor(&self, key: &Key, nonce: u64, buf: &mut [u8]);

    /// Signs a 32-byte digest with a static secret (deterministically:
    /// the same inputs give the same signature). `None` if the secret is
    /// not a valid scalar.
    fn sign(&self, secret: &SecretKey, digest: &[u8; 32]) -> Option<[u8; SIG_LEN]>;

    /// Whether `sig` is the signature of `digest` by the holder of
    /// `public`'s secret. Only the one canonical encoding verifies.
    fn verify(&self, public: &PublicKey, digest: &[u8; 32], sig: &[u8; SIG_LEN]) -> bool;

    /// Verifies `tag` and decrypts `buf` in place. On failure `buf` holds
    /// unspecified bytes and must be discarded.
    fn open(
        &self,
        key: &Key,
        nonce: u64,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), BadTag>;
}

/// The choice of suite, as it appears in configs and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SuiteKind {
    /// secp256k1 ECDH + ChaCha20-Poly1305.
    #[default]
    Real,
    /// Cheap deterministic stand-ins with the same sizes and state machine.
    Modeled,
}

static REAL: Real = Real;
static MODELED: Modeled = Modeled;

impl SuiteKind {
    /// The suite's implementation.
    pub fn suite(self) -> &'static dyn CryptoSuite {
        match self {
            SuiteKind::Real => &REAL,
            SuiteKind::Modeled => &MODELED,
        }
    }

    /// The name used in configs and results: `"real"` or `"modeled"`.
    pub fn name(self) -> &'static str {
        match self {
            SuiteKind::Real => "real",
            SuiteKind::Modeled => "modeled",
        }
    }
}

impl fmt::Display for SuiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for SuiteKind {
    type Err = UnknownSuite;
    fn from_str(s: &str) -> Result<Self, UnknownSuite> {
        match s {
            "real" => Ok(SuiteKind::Real),
            "modeled" => Ok(SuiteKind::Modeled),
            _ => Err(UnknownSuite),
        }
    }
}

/// A suite name that is neither `real` nor `modeled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown crypto suite (expected \"real\" or \"modeled\")")]
pub struct UnknownSuite;

/// Compares two tags in time that does not depend on where they differ
/// (a tag compared with `!=` tells an attacker, by its timing, how many
/// leading bytes of a forgery were right).
pub fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y));
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn pair(kind: SuiteKind, seed: u8) -> Identity {
        Identity::generate(kind, &mut ChaCha20Rng::from_seed([seed; 32]))
    }

    #[test]
    fn dh_agrees_and_aead_round_trips_in_both_suites() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let s = kind.suite();
            let (a, b, c) = (pair(kind, 1), pair(kind, 2), pair(kind, 3));
            let ab = s.dh(a.secret(), b.public_key()).unwrap();
            assert_eq!(Some(ab), s.dh(b.secret(), a.public_key()));
            assert_ne!(Some(ab), s.dh(c.secret(), a.public_key()));

            let mut buf = b"attack at dawn, sixteen bytes+".to_vec();
            let tag = s.seal(&ab, 7, b"hdr", &mut buf);
            let mut copy = buf.clone();
            assert_eq!(s.open(&ab, 7, b"hdr", &mut copy, &tag), Ok(()));
            assert_eq!(&copy, b"attack at dawn, sixteen bytes+");
            for (nonce, aad, key) in [(8, &b"hdr"[..], ab), (7, b"hdX", ab), (7, b"hdr", [9; 32])] {
                let mut copy = buf.clone();
                assert_eq!(
                    s.open(&key, nonce, aad, &mut copy, &tag),
                    Err(BadTag),
                    "{kind}"
                );
            }
            let mut flipped = buf.clone();
            flipped[3] ^= 1;
            assert_eq!(s.open(&ab, 7, b"hdr", &mut flipped, &tag), Err(BadTag));
        }
    }

    #[test]
    fn stream_layers_undo_themselves_and_depend_on_key_and_nonce() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let s = kind.suite();
            let mut buf = b"onion layer test payload".to_vec();
            s.stream_xor(&[1; 32], 9, &mut buf);
            assert_ne!(&buf, b"onion layer test payload");
            let mut other = b"onion layer test payload".to_vec();
            s.stream_xor(&[1; 32], 10, &mut other);
            assert_ne!(buf, other);
            s.stream_xor(&[1; 32], 9, &mut buf);
            assert_eq!(&buf, b"onion layer test payload");
        }
    }

    #[test]
    fn signatures_verify_with_the_public_key_only_and_refuse_any_change() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let suite = kind.suite();
            let (a, b) = (pair(kind, 1), pair(kind, 2));
            let digest = [0x5a; 32];
            let sig = suite.sign(a.secret(), &digest).unwrap();
            assert_eq!(suite.sign(a.secret(), &digest), Some(sig), "deterministic");
            assert!(suite.verify(a.public_key(), &digest, &sig), "{kind}");
            assert!(!suite.verify(b.public_key(), &digest, &sig), "another key");
            let mut other = digest;
            other[31] ^= 1;
            assert!(
                !suite.verify(a.public_key(), &other, &sig),
                "another digest"
            );
            for i in [0, 8, 17, 40, 63] {
                let mut bad = sig;
                bad[i] ^= 0x10;
                assert!(
                    !suite.verify(a.public_key(), &digest, &bad),
                    "{kind}: byte {i}"
                );
            }
            assert!(!suite.verify(&PublicKey([0xAB; 33]), &digest, &sig));
            assert!(!suite.verify(a.public_key(), &digest, &[0; SIG_LEN]));
            // B cannot sign for A: its signature does not verify as A's.
            let forged = suite.sign(b.secret(), &digest).unwrap();
            assert!(!suite.verify(a.public_key(), &digest, &forged));
        }
    }

    #[test]
    fn forged_public_keys_are_refused() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let a = pair(kind, 1);
            assert_eq!(kind.suite().dh(a.secret(), &PublicKey([0xAB; 33])), None);
        }
    }

    #[test]
    fn real_ciphertext_hides_plaintext_and_modeled_keeps_sizes() {
        let key = [5u8; 32];
        let mut real = vec![0u8; 64];
        let t1 = SuiteKind::Real.suite().seal(&key, 1, b"", &mut real);
        assert_ne!(real, vec![0u8; 64]);
        let mut modeled = vec![0u8; 64];
        let t2 = SuiteKind::Modeled.suite().seal(&key, 1, b"", &mut modeled);
        assert_eq!(t1.len(), t2.len());
        assert_eq!("modeled".parse::<SuiteKind>(), Ok(SuiteKind::Modeled));
    }
}
