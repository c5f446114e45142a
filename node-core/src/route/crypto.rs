//! Route cryptography: per-hop key agreement, onion-layered control messages
//! and end-to-end records.
//!
//! # Per-hop key agreement (ntor-like)
//!
//! The origin O of a route shares keys with every hop H, and learns that H
//! is the node it meant by checking H's static key against H's address:
//!
//! ```text
//! O: e_o                      CREATE(E_o) ------------------------> H: e_h, s_h
//!                              h    = H(E_o || E_h || S_h)
//!                              root = HKDF(salt = h, ee || es)
//! O <------------ CREATED(E_h, S_h, auth = tag(confirm(root), aad = h))
//! O checks Address::of(S_h) and the tag: only the holder of s_h can compute
//! es = DH(e_o, S_h) = DH(s_h, E_o).
//! ```
//! (`ee = DH(e_o, E_h)`.) The origin stays anonymous to the hop: it shows
//! only an ephemeral key, which is the point of a source route.
//!
//! # Onion-layered control messages
//!
//! A control message for hop k is sealed under hop k's control key, then
//! wrapped in one keystream layer per hop 0..=k. Each relay removes its
//! layer; only hop k's AEAD opens, so relays learn neither the message nor
//! their distance from its target (the length is the same at every hop).
//! Backward, hop k seals and adds its layer, each relay adds its own, and the
//! origin, which knows every key, peels them in order until a tag verifies.
//!
//! # End-to-end records
//!
//! Route payloads travel as a byte stream of records `len (2) | ciphertext |
//! tag (16)` sealed under the origin's end-to-end key with the destination,
//! the record counter as nonce. Relays forward the stream and can read none
//! of it. Unreliable datagrams are sealed one by one under the same keys in
//! a disjoint nonce space.

use hkdf::Hkdf;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::crypto::{CryptoSuite, Key, TAG_LEN};
use crate::identity::{Address, Identity, PUBLIC_KEY_LEN, PublicKey, SecretKey};
use crate::link::keys::ephemeral_pair;
use crate::wire::RouteCreatedFrame;

/// Bytes a record adds to its plaintext: the length header and the tag.
pub const RECORD_OVERHEAD: usize = 2 + TAG_LEN;

/// The largest plaintext of one record.
pub const MAX_RECORD: usize = 16384;

/// Bytes [`seal_datagram`] adds to its plaintext (the tag).
pub const DATAGRAM_OVERHEAD: usize = TAG_LEN;

/// Datagram nonces have this bit set and record nonces (counters that will
/// never reach 2^63) do not, so the two never reuse a nonce under one key.
const DATAGRAM_NONCE_BIT: u64 = 1 << 63;

/// Why a route key agreement or an end-to-end record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RouteCryptoError {
    /// A public key is not a valid point (forged or corrupted).
    #[error("invalid public key")]
    InvalidKey,
    /// The hop's static key does not hash to the expected address.
    #[error("the hop's static key does not match the expected address")]
    WrongHop,
    /// The hop's authentication tag does not verify.
    #[error("hop authentication failed")]
    BadAuth,
    /// A record or datagram is malformed, out of order, or does not verify.
    #[error("bad end-to-end record")]
    BadRecord,
}

/// The keys the origin of a route shares with one hop.
///
/// Layer keys wrap control messages in keystream layers, control keys seal
/// the control messages addressed to (forward) or sent by (backward) this
/// hop, and the end-to-end keys protect payloads when this hop is the
/// route's destination (unused otherwise).
#[derive(Clone, PartialEq, Eq)]
pub struct HopKeys {
    /// Forward (origin to destination) keystream layer.
    pub fwd_layer: Key,
    /// Backward keystream layer.
    pub back_layer: Key,
    /// Seals control messages from the origin to this hop.
    pub fwd_ctrl: Key,
    /// Seals control messages from this hop to the origin.
    pub back_ctrl: Key,
    /// End-to-end payloads, origin to destination.
    pub e2e_o2d: Key,
    /// End-to-end payloads, destination to origin.
    pub e2e_d2o: Key,
    /// What this hop adds to a forward control nonce it passes on, and to
    /// a backward one: each hop sees other nonces than its neighbours, so
    /// colluding hops cannot match a control message by its nonce, and a
    /// hop cannot read its position from it. Below 2^56, so 32 hops and
    /// a start below 2^60 never wrap.
    pub fwd_nonce_step: u64,
    /// See `fwd_nonce_step`.
    pub back_nonce_step: u64,
}

impl core::fmt::Debug for HopKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Keys never appear in logs.
        f.write_str("HopKeys(..)")
    }
}

/// The origin's half of a key agreement with one hop, kept until the
/// ROUTE_CREATED answer arrives.
#[derive(Debug, Clone)]
pub struct HopInitiation {
    secret: SecretKey,
    /// The ephemeral public key to send in ROUTE_CREATE.
    pub eph_pub: [u8; PUBLIC_KEY_LEN],
}

/// A hop's answer: the key-agreement fields of ROUTE_CREATED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HopAnswer {
    /// The hop's ephemeral public key.
    pub eph_pub: [u8; PUBLIC_KEY_LEN],
    /// The hop's static public key.
    pub static_pub: [u8; PUBLIC_KEY_LEN],
    /// The hop's authentication tag.
    pub auth: [u8; TAG_LEN],
}

impl From<&RouteCreatedFrame> for HopAnswer {
    fn from(f: &RouteCreatedFrame) -> Self {
        HopAnswer {
            eph_pub: f.eph_pub,
            static_pub: f.static_pub,
            auth: f.auth,
        }
    }
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Key {
    let mut out = [0u8; 32];
    // Cannot fail: 32 bytes is far below HKDF-SHA256's 255 * 32 limit.
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .expect("HKDF output length");
    out
}

fn transcript(origin_eph: &[u8], hop_eph: &[u8], hop_static: &[u8]) -> Key {
    let mut h = Sha256::new();
    // Domain separation from the link handshake's transcript.
    h.update(b"meshsim route hop v1");
    h.update(origin_eph);
    h.update(hop_eph);
    h.update(hop_static);
    h.finalize().into()
}

/// The root secret and the confirm key of one agreement.
fn root_and_confirm(transcript: &Key, ee: &Key, es: &Key) -> (Key, Key) {
    let mut ikm = [0u8; 64];
    ikm[..32].copy_from_slice(ee);
    ikm[32..].copy_from_slice(es);
    let root = hkdf(transcript, &ikm, b"meshsim route hop root");
    let confirm = hkdf(&root, &[], b"meshsim route hop confirm");
    (root, confirm)
}

fn hop_keys(root: &Key) -> HopKeys {
    HopKeys {
        fwd_layer: hkdf(root, &[], b"meshsim route fwd layer"),
        back_layer: hkdf(root, &[], b"meshsim route back layer"),
        fwd_ctrl: hkdf(root, &[], b"meshsim route fwd ctrl"),
        back_ctrl: hkdf(root, &[], b"meshsim route back ctrl"),
        e2e_o2d: hkdf(root, &[], b"meshsim route e2e o2d"),
        e2e_d2o: hkdf(root, &[], b"meshsim route e2e d2o"),
        fwd_nonce_step: nonce_step(&hkdf(root, &[], b"meshsim route fwd nonce")),
        back_nonce_step: nonce_step(&hkdf(root, &[], b"meshsim route back nonce")),
    }
}

fn nonce_step(k: &Key) -> u64 {
    u64::from_be_bytes(k[..8].try_into().expect("8 bytes")) >> 8
}

/// The nonce a hop puts on a forward control message it passes on.
pub fn forward_nonce(keys: &HopKeys, received: u64) -> u64 {
    received.wrapping_add(keys.fwd_nonce_step)
}

/// The nonce a relay puts on a backward control message it passes on (and
/// adds its layer with).
pub fn backward_nonce(keys: &HopKeys, received: u64) -> u64 {
    received.wrapping_add(keys.back_nonce_step)
}

/// Starts a key agreement with a new hop (at the origin).
pub fn initiate_hop<R: Rng + ?Sized>(suite: &dyn CryptoSuite, rng: &mut R) -> HopInitiation {
    let (secret, eph_pub) = ephemeral_pair(suite, rng);
    HopInitiation { secret, eph_pub }
}

/// At the hop: answers a ROUTE_CREATE carrying `origin_eph`. Returns the
/// ROUTE_CREATED key-agreement fields and the keys shared with the origin.
pub fn answer_hop<R: Rng + ?Sized>(
    suite: &dyn CryptoSuite,
    identity: &Identity,
    origin_eph: &[u8; PUBLIC_KEY_LEN],
    rng: &mut R,
) -> Result<(HopAnswer, HopKeys), RouteCryptoError> {
    let origin = PublicKey(*origin_eph);
    let (e_h, eph_pub) = ephemeral_pair(suite, rng);
    let ee = suite
        .dh(&e_h, &origin)
        .ok_or(RouteCryptoError::InvalidKey)?;
    let es = suite
        .dh(identity.secret(), &origin)
        .ok_or(RouteCryptoError::InvalidKey)?;
    let static_pub = identity.public_key().0;
    let h = transcript(origin_eph, &eph_pub, &static_pub);
    let (root, confirm) = root_and_confirm(&h, &ee, &es);
    let answer = HopAnswer {
        eph_pub,
        static_pub,
        auth: suite.seal(&confirm, 0, &h, &mut []),
    };
    Ok((answer, hop_keys(&root)))
}

impl HopInitiation {
    /// At the origin: checks that the answer comes from the node with
    /// address `expected` and derives the keys shared with it.
    pub fn complete(
        &self,
        suite: &dyn CryptoSuite,
        expected: Address,
        answer: &HopAnswer,
    ) -> Result<HopKeys, RouteCryptoError> {
        let hop_static = PublicKey(answer.static_pub);
        if Address::of(&hop_static) != expected {
            return Err(RouteCryptoError::WrongHop);
        }
        let ee = suite
            .dh(&self.secret, &PublicKey(answer.eph_pub))
            .ok_or(RouteCryptoError::InvalidKey)?;
        let es = suite
            .dh(&self.secret, &hop_static)
            .ok_or(RouteCryptoError::InvalidKey)?;
        let h = transcript(&self.eph_pub, &answer.eph_pub, &answer.static_pub);
        let (root, confirm) = root_and_confirm(&h, &ee, &es);
        // `open` compares tags in constant time (in the Real suite).
        suite
            .open(&confirm, 0, &h, &mut [], &answer.auth)
            .map_err(|_| RouteCryptoError::BadAuth)?;
        Ok(hop_keys(&root))
    }
}

/// `msg || tag`, sealed under `key`.
fn seal_vec(suite: &dyn CryptoSuite, key: &Key, nonce: u64, aad: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + TAG_LEN);
    out.extend_from_slice(msg);
    let tag = suite.seal(key, nonce, aad, &mut out);
    out.extend_from_slice(&tag);
    out
}

/// Opens `ciphertext || tag` under `key` into a new vector.
fn open_vec(
    suite: &dyn CryptoSuite,
    key: &Key,
    nonce: u64,
    aad: &[u8],
    sealed: &[u8],
) -> Option<Vec<u8>> {
    let (ciphertext, tag) = sealed.split_last_chunk::<TAG_LEN>()?;
    let mut msg = ciphertext.to_vec();
    suite.open(key, nonce, aad, &mut msg, tag).ok()?;
    Some(msg)
}

/// What a hop finds in a forward control message after removing its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peeled {
    /// The message is addressed to this hop.
    ForMe(Vec<u8>),
    /// Not for this hop: send the payload (one layer thinner) on.
    Forward,
}

/// At the origin: wraps `msg` for the last hop of `hops` (hop `k =
/// hops.len() - 1`; `hops[0]` is the first hop). `nonce` must never repeat
/// on this route in this direction. An empty `hops` addresses nobody and
/// yields an empty payload, which no hop ever accepts.
pub fn wrap_forward(suite: &dyn CryptoSuite, hops: &[HopKeys], nonce: u64, msg: &[u8]) -> Vec<u8> {
    let Some(target) = hops.last() else {
        return Vec::new();
    };
    // The nonce hop i sees: each hop before it added its step.
    let mut nonces = Vec::with_capacity(hops.len());
    let mut n = nonce;
    for hop in hops {
        nonces.push(n);
        n = forward_nonce(hop, n);
    }
    let mut c = seal_vec(suite, &target.fwd_ctrl, nonces[hops.len() - 1], &[], msg);
    // The first hop's layer goes on last, so that it comes off first.
    for (hop, &n) in hops.iter().zip(&nonces).rev() {
        suite.stream_xor(&hop.fwd_layer, n, &mut c);
    }
    c
}

/// At a hop: removes this hop's layer from a forward control message in
/// place and says whether the message is for this hop.
pub fn peel_forward(
    suite: &dyn CryptoSuite,
    keys: &HopKeys,
    nonce: u64,
    payload: &mut [u8],
) -> Peeled {
    suite.stream_xor(&keys.fwd_layer, nonce, payload);
    match open_vec(suite, &keys.fwd_ctrl, nonce, &[], payload) {
        Some(msg) => Peeled::ForMe(msg),
        None => Peeled::Forward,
    }
}

/// At a hop: seals `msg` for the origin and adds this hop's layer.
pub fn wrap_backward(suite: &dyn CryptoSuite, keys: &HopKeys, nonce: u64, msg: &[u8]) -> Vec<u8> {
    let mut c = seal_vec(suite, &keys.back_ctrl, nonce, &[], msg);
    suite.stream_xor(&keys.back_layer, nonce, &mut c);
    c
}

/// At a relay: adds this hop's layer to a backward control message that
/// arrived with `received`; returns the nonce to send it on with.
pub fn add_backward_layer(
    suite: &dyn CryptoSuite,
    keys: &HopKeys,
    received: u64,
    payload: &mut [u8],
) -> u64 {
    let nonce = backward_nonce(keys, received);
    suite.stream_xor(&keys.back_layer, nonce, payload);
    nonce
}

/// At the origin: removes the layers of hops 0, 1, … in turn until one
/// hop's tag verifies. Returns that hop's index and its message, or `None`
/// if no hop of `hops` sent it (tampered, or not from this route).
pub fn unwrap_backward(
    suite: &dyn CryptoSuite,
    hops: &[HopKeys],
    nonce: u64,
    payload: &[u8],
) -> Option<(usize, Vec<u8>)> {
    let mut c = payload.to_vec();
    let mut n = nonce;
    for (i, hop) in hops.iter().enumerate() {
        suite.stream_xor(&hop.back_layer, n, &mut c);
        if let Some(msg) = open_vec(suite, &hop.back_ctrl, n, &[], &c) {
            return Some((i, msg));
        }
        // What hop i+1 sent it with, before hop i added its step.
        n = n.wrapping_sub(hop.back_nonce_step);
    }
    None
}

/// The length of the record at the start of a record stream (header and
/// tag included), once its 2-byte header is there; `None` before that.
/// A result above `MAX_RECORD + RECORD_OVERHEAD` means a corrupt stream.
pub fn record_len(stream: &[u8]) -> Option<usize> {
    let header = stream.first_chunk::<2>()?;
    Some(usize::from(u16::from_be_bytes(*header)) + RECORD_OVERHEAD)
}

/// Seals the records of one direction of a route's byte stream.
#[derive(Clone, PartialEq, Eq)]
pub struct E2eSealer {
    key: Key,
    next: u64,
}

/// Opens the records of one direction of a route's byte stream, in order.
#[derive(Clone, PartialEq, Eq)]
pub struct E2eOpener {
    key: Key,
    next: u64,
}

impl core::fmt::Debug for E2eSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "E2eSealer {{ next: {} }}", self.next)
    }
}

impl core::fmt::Debug for E2eOpener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "E2eOpener {{ next: {} }}", self.next)
    }
}

impl E2eSealer {
    /// A sealer whose first record is number 0.
    pub fn new(key: Key) -> Self {
        E2eSealer { key, next: 0 }
    }

    /// The number of the next record.
    pub fn next_record(&self) -> u64 {
        self.next
    }

    /// Seals `plaintext` as the next record: `len (2, big-endian) |
    /// ciphertext | tag (16)`, the header authenticated too. A plaintext
    /// longer than [`MAX_RECORD`] becomes several records, concatenated.
    pub fn seal_record(&mut self, suite: &dyn CryptoSuite, plaintext: &[u8]) -> Vec<u8> {
        let records = plaintext.len().div_ceil(MAX_RECORD).max(1);
        let mut out = Vec::with_capacity(plaintext.len() + records * RECORD_OVERHEAD);
        // `chunks` yields nothing for an empty plaintext: seal one empty record.
        let chunks = plaintext.chunks(MAX_RECORD);
        for chunk in chunks.chain(plaintext.is_empty().then_some(&[][..])) {
            // Cannot truncate: a chunk is at most MAX_RECORD < 2^16 bytes.
            let header = (chunk.len() as u16).to_be_bytes();
            out.extend_from_slice(&header);
            let start = out.len();
            out.extend_from_slice(chunk);
            let tag = suite.seal(&self.key, self.next, &header, &mut out[start..]);
            out.extend_from_slice(&tag);
            // 2^64 records cannot be sent: the counter never wraps in practice.
            self.next = self.next.wrapping_add(1);
        }
        out
    }
}

impl E2eOpener {
    /// An opener expecting record number 0 first.
    pub fn new(key: Key) -> Self {
        E2eOpener { key, next: 0 }
    }

    /// The number of the next record expected.
    pub fn next_record(&self) -> u64 {
        self.next
    }

    /// Opens exactly one record (see [`record_len`] to cut a stream into
    /// records). It must be the next one in order; a record that fails
    /// leaves the expected number unchanged.
    pub fn open_record(
        &mut self,
        suite: &dyn CryptoSuite,
        record: &[u8],
    ) -> Result<Vec<u8>, RouteCryptoError> {
        let (header, rest) = record
            .split_first_chunk::<2>()
            .ok_or(RouteCryptoError::BadRecord)?;
        let len = usize::from(u16::from_be_bytes(*header));
        if len > MAX_RECORD || rest.len() != len + TAG_LEN {
            return Err(RouteCryptoError::BadRecord);
        }
        let msg = open_vec(suite, &self.key, self.next, header, rest)
            .ok_or(RouteCryptoError::BadRecord)?;
        self.next = self.next.wrapping_add(1);
        Ok(msg)
    }
}

/// Seals one unreliable datagram number `n` (sent in clear beside it by
/// the caller): `ciphertext | tag (16)`. `n` must never repeat under `key`;
/// only its low 63 bits count (the top bit separates datagram nonces from
/// record nonces, so the same key can serve both).
pub fn seal_datagram(suite: &dyn CryptoSuite, key: &Key, n: u64, plaintext: &[u8]) -> Vec<u8> {
    seal_vec(suite, key, n | DATAGRAM_NONCE_BIT, &[], plaintext)
}

/// Opens a datagram sealed by [`seal_datagram`] with the same `n`.
pub fn open_datagram(
    suite: &dyn CryptoSuite,
    key: &Key,
    n: u64,
    bytes: &[u8],
) -> Result<Vec<u8>, RouteCryptoError> {
    open_vec(suite, key, n | DATAGRAM_NONCE_BIT, &[], bytes).ok_or(RouteCryptoError::BadRecord)
}

#[cfg(test)]
mod tests;
