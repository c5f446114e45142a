//! Signing and checking link-state adverts ([`crate::wire::Advert`]).
//!
//! An advert is signed by its origin's static key over the digest
//! `SHA-256("meshsim advert v1" || signed bytes)`: ECDSA in the Real
//! suite, the Modeled suite's Schnorr stand-in otherwise (same sizes). A
//! received advert is used only if it decodes in its canonical form, its
//! signature verifies, and its contents are possible: no link to the
//! origin itself, no locator a node could not be reached at (port 0, an
//! unspecified address).

use sha2::{Digest, Sha256};

use crate::crypto::CryptoSuite;
use crate::identity::{Address, Identity};
use crate::wire::{self, Advert, AdvertLocator};

/// Why a received advert is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdvertError {
    /// It does not decode (or is not in its canonical form, or is too long).
    Malformed,
    /// Its signature does not verify under the origin's key.
    BadSignature,
    /// It names a link from the origin to itself.
    SelfLink,
    /// A locator nobody could be reached at.
    BadLocator,
}

/// The digest an advert's signature covers.
pub fn digest(advert: &Advert) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(Advert::MAX_LEN);
    advert.encode_signed(&mut bytes);
    let mut h = Sha256::new();
    h.update(b"meshsim advert v1");
    h.update(&bytes);
    h.finalize().into()
}

/// Signs `advert` as `identity` (its origin becomes `identity`'s key).
/// `None` if the advert breaks the format's bounds.
pub fn sign(suite: &dyn CryptoSuite, identity: &Identity, advert: &mut Advert) -> Option<()> {
    advert.origin = *identity.public_key();
    advert.check().ok()?;
    advert.signature = suite.sign(identity.secret(), &digest(advert))?;
    Some(())
}

/// Decodes and checks a received advert (see the module docs).
pub fn verify(suite: &dyn CryptoSuite, bytes: &[u8]) -> Result<Advert, AdvertError> {
    let advert = wire::Advert::decode(bytes).map_err(|_| AdvertError::Malformed)?;
    check(suite, &advert)?;
    Ok(advert)
}

/// Checks a decoded advert: its contents, then its signature (the costly
/// part, so a receiver can first ask whether the advert is news).
pub fn check(suite: &dyn CryptoSuite, advert: &Advert) -> Result<(), AdvertError> {
    check_contents(advert)?;
    if !suite.verify(&advert.origin, &digest(advert), &advert.signature) {
        return Err(AdvertError::BadSignature);
    }
    Ok(())
}

/// The checks that need no key: cheap, so they come first.
fn check_contents(advert: &Advert) -> Result<(), AdvertError> {
    let me = Address::of(&advert.origin);
    if advert.neighbours.iter().any(|n| n.neighbour == me) {
        return Err(AdvertError::SelfLink);
    }
    let unusable = |l: &AdvertLocator| match l {
        AdvertLocator::Socket(a) => a.port() == 0 || a.ip().is_unspecified(),
        AdvertLocator::Underlay(_) => false,
    };
    if advert.locators.iter().any(unusable) {
        return Err(AdvertError::BadLocator);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::{SIG_LEN, SuiteKind};
    use crate::wire::AdvertLink;

    pub(crate) fn advert_of(id: &Identity, seq: u64, neighbours: &[Address]) -> Advert {
        let mut n: Vec<AdvertLink> = neighbours
            .iter()
            .map(|&a| AdvertLink {
                neighbour: a,
                rtt_us: 2000,
                loss: 0,
                rate_kbps: 10_000,
            })
            .collect();
        n.sort();
        let mut a = Advert {
            origin: *id.public_key(),
            seq,
            lifetime_s: 600,
            part: 0,
            parts: 1,
            gateway_bps: 0,
            locators: vec![AdvertLocator::Underlay(1)],
            neighbours: n,
            meshes: vec![0],
            summaries: Vec::new(),
            signature: [0; SIG_LEN],
            age_s: 0,
        };
        sign(id.suite().suite(), id, &mut a).unwrap();
        a
    }

    fn bytes(a: &Advert) -> Vec<u8> {
        let mut b = Vec::new();
        a.encode(&mut b);
        b
    }

    #[test]
    fn signed_adverts_verify_and_forged_or_altered_ones_do_not() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let suite = kind.suite();
            let a = Identity::from_secret(kind, [1; 32]).unwrap();
            let b = Identity::from_secret(kind, [2; 32]).unwrap();
            let good = advert_of(&a, 3, &[b.address()]);
            assert_eq!(verify(suite, &bytes(&good)), Ok(good.clone()));
            // The age is not signed: a forwarder may add to it.
            let mut older = good.clone();
            older.age_s += 10;
            assert!(verify(suite, &bytes(&older)).is_ok());
            // Anything signed, changed: refused.
            let mut changed = good.clone();
            changed.seq += 1;
            assert_eq!(
                verify(suite, &bytes(&changed)),
                Err(AdvertError::BadSignature)
            );
            let mut changed = good.clone();
            changed.neighbours[0].rtt_us = 1;
            assert_eq!(
                verify(suite, &bytes(&changed)),
                Err(AdvertError::BadSignature)
            );
            // B signs an advert in A's name: refused.
            let mut forged = advert_of(&b, 3, &[]);
            forged.origin = *a.public_key();
            assert_eq!(
                verify(suite, &bytes(&forged)),
                Err(AdvertError::BadSignature)
            );
            // Impossible contents, even when signed.
            let selfish = advert_of(&a, 4, &[a.address()]);
            assert_eq!(verify(suite, &bytes(&selfish)), Err(AdvertError::SelfLink));
            let mut nowhere = advert_of(&a, 5, &[]);
            nowhere.locators = vec![AdvertLocator::Socket("0.0.0.0:7001".parse().unwrap())];
            sign(suite, &a, &mut nowhere).unwrap();
            assert_eq!(
                verify(suite, &bytes(&nowhere)),
                Err(AdvertError::BadLocator)
            );
            assert_eq!(verify(suite, &[1, 2, 3]), Err(AdvertError::Malformed));
        }
    }
}
