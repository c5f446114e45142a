//! The link handshake: ephemeral ECDH that proves both static keys.
//!
//! ```text
//! initiator I                                             responder R
//!   INIT(i_index, E_i, S_i) ------------------------------>
//!                        root = KDF(H(INIT || RESP'), ee || es || se)
//!   <------------ RESP(i_index, r_index, E_r, S_r, tag(confirm(root)))
//!   checks the tag: only the holder of s_r could compute es = DH(e_i, S_r)
//!   sealed packet (epoch 0) ------------------------------>
//!                        opens it: only the holder of s_i could compute
//!                        se = DH(s_i, E_r); R accepts the session only now
//! ```
//! (`ee = DH(e_i, e_r)`, `es = DH(e_i, s_r)`, `se = DH(s_i, e_r)`.) Neither
//! end needs to know the other's key beforehand; when the driver configured
//! one, an offered static key that differs is refused. A replayed INIT costs
//! the responder one answer but can never complete: the replayer lacks `e_i`.
//!
//! **The INIT's MAC.** Static keys are public, so anybody can send an INIT
//! that names a peer's key. An initiator that knows the responder's key
//! (the driver configured it) adds a MAC under `KDF(DH(s_i, S_r))`; the
//! responder checks it before keeping any state. A responder that has a
//! key configured for the link takes only INITs with a valid MAC, so an
//! off-path attacker cannot displace its handshake state; one with none
//! configured (open peering) also takes INITs without a MAC, which never
//! displace its own INIT or another pending answer (see `input.rs`).

use rand::Rng;

use super::keys::ephemeral_pair;
use crate::crypto::{CryptoSuite, Key, kdf};
use crate::identity::{Identity, PublicKey, SecretKey};
use crate::wire::{HandshakeInit, HandshakeResp};

/// Why a handshake message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// A public key in it is not a valid point.
    InvalidKey,
    /// The responder's confirmation tag does not verify.
    BadConfirmation,
}

/// An INIT this node sent and awaits the answer to.
pub struct Initiation {
    /// The index the responder must address our packets to.
    pub local_index: u32,
    secret: SecretKey,
    /// The INIT as sent, resent unchanged on retry.
    pub bytes: Vec<u8>,
}

/// What a completed handshake yields.
pub struct Established {
    /// The session's root key (epoch 0).
    pub root: Key,
    /// The peer's index for our packets to it.
    pub remote_index: u32,
    /// The peer's static key (proven by the time the session is used).
    pub peer: PublicKey,
}

/// The key of INIT MACs between two static keys; `None` if the other
/// static key is not a point.
fn mac_key(suite: &dyn CryptoSuite, ours: &SecretKey, theirs: &PublicKey) -> Option<Key> {
    let ss = suite.dh(ours, theirs)?;
    Some(kdf::subkey(&ss, b"meshsim init mac"))
}

/// The INIT's MAC under `key`, over its bytes before it.
fn mac_under(suite: &dyn CryptoSuite, key: &Key, init: &HandshakeInit) -> [u8; 16] {
    let mut bytes = Vec::with_capacity(HandshakeInit::LEN);
    init.emit(&mut bytes);
    suite.seal(key, 0, &bytes[..HandshakeInit::MAC_OFFSET], &mut [])
}

/// The INIT MAC keys of static keys the node takes by configuration, each
/// computed once (a key agreement each): an INIT that names such a key
/// with a forged MAC then costs a MAC to refuse, not a key agreement. Keys
/// anybody may offer (open peering) are not kept, so a peer cannot grow
/// this; it holds at most [`MacKeys::MAX`].
#[derive(Default)]
pub(crate) struct MacKeys {
    keys: crate::vec_map::VecMap<PublicKey, Key>,
}

impl MacKeys {
    /// Keys kept, at most.
    pub const MAX: usize = 4096;

    fn get(
        &mut self,
        suite: &dyn CryptoSuite,
        identity: &Identity,
        theirs: &PublicKey,
        keep: bool,
    ) -> Option<Key> {
        if let Some(k) = self.keys.get(theirs) {
            return Some(*k);
        }
        let k = mac_key(suite, identity.secret(), theirs)?;
        if keep && self.keys.len() < Self::MAX {
            self.keys.insert(*theirs, k);
        }
        Some(k)
    }
}

/// How an INIT proved its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitAuth {
    /// Its MAC verifies: the sender holds the secret of its static key.
    Proven,
    /// It has no MAC (all zeros): its sender did not know our key.
    Unproven,
}

/// Checks an INIT's MAC against our static key: `Err` if it has one that
/// does not verify (a forgery, or meant for another key). `keep`: the key
/// it names is one the node takes by configuration (see [`MacKeys`]).
pub(crate) fn check_init(
    suite: &dyn CryptoSuite,
    identity: &Identity,
    init: &HandshakeInit,
    keys: &mut MacKeys,
    keep: bool,
) -> Result<InitAuth, HandshakeError> {
    if init.mac == [0; 16] {
        return Ok(InitAuth::Unproven);
    }
    let key = keys
        .get(suite, identity, &PublicKey(init.static_pub), keep)
        .ok_or(HandshakeError::InvalidKey)?;
    let expected = mac_under(suite, &key, init);
    if crate::crypto::tags_equal(&expected, &init.mac) {
        Ok(InitAuth::Proven)
    } else {
        Err(HandshakeError::BadConfirmation)
    }
}

/// Starts a handshake; with the responder's key (`peer`), the INIT carries
/// a MAC that proves ours.
pub fn initiate<R: Rng + ?Sized>(
    suite: &dyn CryptoSuite,
    identity: &Identity,
    peer: Option<&PublicKey>,
    local_index: u32,
    rng: &mut R,
) -> Initiation {
    let (secret, eph_pub) = ephemeral_pair(suite, rng);
    let mut init = HandshakeInit {
        version: crate::wire::PROTOCOL_VERSION,
        initiator_index: local_index,
        eph_pub,
        static_pub: identity.public_key().0,
        mac: [0; 16],
    };
    if let Some(key) = peer.and_then(|p| mac_key(suite, identity.secret(), p)) {
        init.mac = mac_under(suite, &key, &init);
    }
    let mut bytes = Vec::with_capacity(HandshakeInit::LEN);
    init.emit(&mut bytes);
    Initiation {
        local_index,
        secret,
        bytes,
    }
}

fn transcript(init: &HandshakeInit, resp: &HandshakeResp) -> Key {
    let mut a = Vec::with_capacity(HandshakeInit::LEN);
    init.emit(&mut a);
    let mut b = Vec::with_capacity(HandshakeResp::LEN);
    resp.emit(&mut b);
    kdf::transcript_hash(&[&a, &b[..HandshakeResp::TAG_OFFSET]])
}

fn confirm_tag(suite: &dyn CryptoSuite, root: &Key, transcript: &Key) -> [u8; 16] {
    suite.seal(&kdf::confirm_key(root), 0, transcript, &mut [])
}

/// Answers an INIT: returns the RESP bytes and the session secrets. The
/// session must not carry data before the initiator's first packet opens.
pub fn respond<R: Rng + ?Sized>(
    suite: &dyn CryptoSuite,
    identity: &Identity,
    init: &HandshakeInit,
    local_index: u32,
    rng: &mut R,
) -> Result<(Vec<u8>, Established), HandshakeError> {
    let peer = PublicKey(init.static_pub);
    let peer_eph = PublicKey(init.eph_pub);
    let (e_r, eph_pub) = ephemeral_pair(suite, rng);
    let ee = suite
        .dh(&e_r, &peer_eph)
        .ok_or(HandshakeError::InvalidKey)?;
    let es = suite
        .dh(identity.secret(), &peer_eph)
        .ok_or(HandshakeError::InvalidKey)?;
    let se = suite.dh(&e_r, &peer).ok_or(HandshakeError::InvalidKey)?;
    let mut resp = HandshakeResp {
        version: crate::wire::PROTOCOL_VERSION,
        initiator_index: init.initiator_index,
        responder_index: local_index,
        eph_pub,
        static_pub: identity.public_key().0,
        confirm_tag: [0; 16],
    };
    let h = transcript(init, &resp);
    let root = kdf::handshake_root(&h, &ee, &es, &se);
    resp.confirm_tag = confirm_tag(suite, &root, &h);
    let mut bytes = Vec::with_capacity(HandshakeResp::LEN);
    resp.emit(&mut bytes);
    Ok((
        bytes,
        Established {
            root,
            remote_index: init.initiator_index,
            peer,
        },
    ))
}

/// Completes our handshake with the peer's RESP.
pub fn complete(
    suite: &dyn CryptoSuite,
    identity: &Identity,
    ours: &Initiation,
    resp: &HandshakeResp,
) -> Result<Established, HandshakeError> {
    // Cannot fail: we emitted these bytes ourselves.
    let init = HandshakeInit::parse(&ours.bytes).expect("our own INIT parses");
    let peer = PublicKey(resp.static_pub);
    let peer_eph = PublicKey(resp.eph_pub);
    let ee = suite
        .dh(&ours.secret, &peer_eph)
        .ok_or(HandshakeError::InvalidKey)?;
    let es = suite
        .dh(&ours.secret, &peer)
        .ok_or(HandshakeError::InvalidKey)?;
    let se = suite
        .dh(identity.secret(), &peer_eph)
        .ok_or(HandshakeError::InvalidKey)?;
    let h = transcript(&init, resp);
    let root = kdf::handshake_root(&h, &ee, &es, &se);
    if !crate::crypto::tags_equal(&confirm_tag(suite, &root, &h), &resp.confirm_tag) {
        return Err(HandshakeError::BadConfirmation);
    }
    Ok(Established {
        root,
        remote_index: resp.responder_index,
        peer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SuiteKind;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn both_ends_derive_the_same_root_and_forgeries_fail() {
        for kind in [SuiteKind::Real, SuiteKind::Modeled] {
            let suite = kind.suite();
            let mut rng = ChaCha20Rng::from_seed([9; 32]);
            let a = Identity::generate(kind, &mut rng);
            let b = Identity::generate(kind, &mut rng);
            let mallory = Identity::generate(kind, &mut rng);
            let ours = initiate(suite, &a, Some(b.public_key()), 11, &mut rng);
            let init = HandshakeInit::parse(&ours.bytes).unwrap();
            assert_eq!(
                check_init(suite, &b, &init, &mut MacKeys::default(), false),
                Ok(InitAuth::Proven)
            );
            // Meant for another key, or forged: refused.
            assert!(check_init(suite, &mallory, &init, &mut MacKeys::default(), false).is_err());
            let mut forged = init.clone();
            forged.mac[3] ^= 1;
            assert!(check_init(suite, &b, &forged, &mut MacKeys::default(), false).is_err());
            // A configured key's MAC key is kept: a flood of forgeries
            // naming it costs one key agreement; one anybody may offer is
            // not kept.
            let mut keys = MacKeys::default();
            for n in 0..100u8 {
                forged.mac[0] = n;
                assert!(check_init(suite, &b, &forged, &mut keys, true).is_err());
            }
            assert_eq!(keys.keys.len(), 1);
            assert_eq!(
                check_init(suite, &b, &init, &mut keys, true),
                Ok(InitAuth::Proven)
            );
            let mut unkept = MacKeys::default();
            assert!(check_init(suite, &b, &forged, &mut unkept, false).is_err());
            assert!(unkept.keys.is_empty());
            // Without the responder's key: no MAC, unproven.
            let open = initiate(suite, &a, None, 12, &mut rng);
            let open = HandshakeInit::parse(&open.bytes).unwrap();
            assert_eq!(
                check_init(suite, &b, &open, &mut MacKeys::default(), false),
                Ok(InitAuth::Unproven)
            );
            let init = HandshakeInit::parse(&ours.bytes).unwrap();
            let (resp_bytes, at_b) = respond(suite, &b, &init, 22, &mut rng).unwrap();
            let resp = HandshakeResp::parse(&resp_bytes).unwrap();
            let at_a = complete(suite, &a, &ours, &resp).unwrap();
            assert_eq!(at_a.root, at_b.root);
            assert_eq!((at_a.remote_index, at_b.remote_index), (22, 11));
            assert_eq!((at_a.peer, at_b.peer), (*b.public_key(), *a.public_key()));

            // Mallory claims to be b without b's secret: her tag cannot verify.
            let (forged, _) = respond(suite, &mallory, &init, 22, &mut rng).unwrap();
            let mut forged = HandshakeResp::parse(&forged).unwrap();
            forged.static_pub = b.public_key().0;
            assert_eq!(
                complete(suite, &a, &ours, &forged).err(),
                Some(HandshakeError::BadConfirmation)
            );
        }
    }
}
