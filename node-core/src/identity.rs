//! Node identity: a static key pair and the address derived from it.
//!
//! The secret is 32 bytes drawn from the node's RNG (never from the OS inside
//! the core); the public key is computed by the crypto suite, so a node made
//! for the Modeled suite has a Modeled public key of the same size.

use core::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::crypto::SuiteKind;

/// Length of an encoded public key (a compressed secp256k1 point).
pub const PUBLIC_KEY_LEN: usize = 33;

/// A node's static public key, as it travels on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

/// A secret scalar. Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub [u8; 32]);

/// A node address: the first 16 bytes of SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 16]);

// Ordered as the big-endian number the bytes spell (the same order as the
// bytes' lexicographic one), compared as one integer: these are the keys
// of the node's hottest tables.
impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Address {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

/// A static key pair with its address, made for one crypto suite.
#[derive(Clone, Debug)]
pub struct Identity {
    secret: SecretKey,
    public: PublicKey,
    address: Address,
    suite: SuiteKind,
}

/// Why a secret cannot become an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The 32 bytes are not a valid secret scalar for the suite (zero or too large).
    #[error("secret key is not a valid scalar for the {0} suite")]
    InvalidSecret(SuiteKind),
}

impl Identity {
    /// Makes an identity from 32 random bytes of `rng`, drawing again in the
    /// (astronomically unlikely) case that they are not a valid scalar.
    pub fn generate<R: Rng + ?Sized>(suite: SuiteKind, rng: &mut R) -> Identity {
        loop {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            if let Ok(id) = Identity::from_secret(suite, bytes) {
                return id;
            }
        }
    }

    /// Makes an identity from a stored secret.
    pub fn from_secret(suite: SuiteKind, secret: [u8; 32]) -> Result<Identity, KeyError> {
        let secret = SecretKey(secret);
        let public = suite
            .suite()
            .public_key(&secret)
            .ok_or(KeyError::InvalidSecret(suite))?;
        Ok(Identity {
            address: Address::of(&public),
            secret,
            public,
            suite,
        })
    }

    /// The static public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The address, a hash of the public key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The suite the key pair was made for.
    pub fn suite(&self) -> SuiteKind {
        self.suite
    }

    /// The secret scalar (for the real node's key file).
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

impl Address {
    /// The address of a public key.
    pub fn of(key: &PublicKey) -> Address {
        let digest = Sha256::digest(key.0);
        let mut a = [0u8; 16];
        a.copy_from_slice(&digest[..16]);
        Address(a)
    }
}

fn hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(f, &self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        hex(f, &self.0[..6])?;
        f.write_str("..)")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(f, &self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Address(")?;
        hex(f, &self.0[..4])?;
        f.write_str("..)")
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_route_ids_order_as_their_bytes() {
        let samples = [
            [0u8; 16],
            [0xff; 16],
            [1; 16],
            {
                let mut b = [0u8; 16];
                b[15] = 1;
                b
            },
            {
                let mut b = [0u8; 16];
                b[0] = 1;
                b
            },
        ];
        for a in samples {
            for b in samples {
                assert_eq!(Address(a).cmp(&Address(b)), a.cmp(&b));
                let (x, y) = (crate::RouteId(a), crate::RouteId(b));
                assert_eq!(x.cmp(&y), a.cmp(&b));
            }
        }
    }
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn identity_is_deterministic_per_seed_and_suite() {
        for suite in [SuiteKind::Real, SuiteKind::Modeled] {
            let a = Identity::generate(suite, &mut ChaCha20Rng::from_seed([1; 32]));
            let b = Identity::generate(suite, &mut ChaCha20Rng::from_seed([1; 32]));
            let c = Identity::generate(suite, &mut ChaCha20Rng::from_seed([2; 32]));
            assert_eq!(a.public_key(), b.public_key());
            assert_ne!(a.public_key(), c.public_key());
            assert_eq!(a.address(), Address::of(a.public_key()));
        }
    }

    #[test]
    fn invalid_secrets_are_errors() {
        assert!(Identity::from_secret(SuiteKind::Real, [0; 32]).is_err());
        assert!(Identity::from_secret(SuiteKind::Real, [0xff; 32]).is_err());
        assert!(Identity::from_secret(SuiteKind::Modeled, [0; 32]).is_err());
    }
}
