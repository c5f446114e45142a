//! Signing and checking receipts ([`crate::wire::receipt`]).
//!
//! The origin signs, not the destination: the origin is who pays (its
//! deposit backs the pseudonym), and it knows the route's relays because it
//! built the route; a destination knows none of them. Each receipt is
//! signed with the origin's pseudonym for that relay alone, a fresh key per
//! route and hop, so two relays of a route hold receipts under unrelated
//! keys and the escrow sees one pseudonym per (route, relay), never the
//! origin's identity.

use sha2::{Digest, Sha256};

use crate::crypto::CryptoSuite;
use crate::identity::SecretKey;
use crate::wire::receipt::Receipt;

/// The digest a receipt's signature covers.
pub fn digest(r: &Receipt) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"meshsim receipt v1");
    h.update(r.signed_fields());
    h.finalize().into()
}

/// Signs `r` with the pseudonym's secret (its `pseudonym` becomes the
/// secret's public key). `None` if the secret is not a valid key.
pub fn sign(suite: &dyn CryptoSuite, secret: &SecretKey, r: &mut Receipt) -> Option<()> {
    r.pseudonym = suite.public_key(secret)?;
    r.signature = suite.sign(secret, &digest(r))?;
    Some(())
}

/// Whether `r` carries its pseudonym's signature.
pub fn verify(suite: &dyn CryptoSuite, r: &Receipt) -> bool {
    suite.verify(&r.pseudonym, &digest(r), &r.signature)
}
