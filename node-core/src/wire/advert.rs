//! Link-state adverts (issue 13): what a node says about itself to the
//! whole network, flooded hop by hop.
//!
//! ```text
//! version (1) = 1
//! origin (33)            the advertising node's static public key
//! seq (8)                per origin; a higher one replaces a lower one
//! lifetime_s (4)         seconds the advert lives after its origination
//! part (1) | parts (1)   this is part `part` of `parts` of advert `seq`
//! gateway_bps (8)        clearnet egress capacity; 0: not a gateway
//! locators (1) = n       n <= MAX_LOCATORS, each:
//!     kind (1): 4 = IPv4 (4) | port (2); 6 = IPv6 (16) | port (2);
//!               0x55 = a simulator underlay endpoint (8)
//! neighbours (2) = m     m <= MAX_NEIGHBOURS, in strictly ascending order
//!                        of address, each:
//!     address (16) | rtt_us (4) | loss (2, in 1/65535) | rate_kbps (4)
//! -- version 2 only (re6st's n-order meshes, see discovery::meshes):
//! meshes (1) = k         1 <= k <= MAX_MESHES, ascending, each: mesh (2)
//! summaries (1) = s      s <= MAX_SUMMARIES, part 0 only, ascending by
//!                        mesh, none of the node's own meshes, each:
//!     mesh (2) | via (1) = v, 1 <= v <= MAX_VIA | via meshes (2 each)
//! --
//! signature (64)         by `origin`, over everything above
//! age_s (4)              seconds since origination, not signed
//! ```
//!
//! **Versions.** Version 1 is a node of the one default mesh (0) with no
//! summarized meshes; every other advert is version 2. A version 2 advert
//! in version 1's form (meshes `[0]`, no summaries) is refused: an advert
//! still has one encoding.
//! All integers are big-endian and of fixed width, and the order of
//! neighbours is fixed, so an advert has exactly one encoding: the bytes
//! signed are the bytes sent, and decoding refuses any other form (an
//! unknown version, counts past their bounds, neighbours out of order or
//! repeated, an absurd round-trip time, trailing bytes).
//!
//! **Age.** The lifetime is signed; the age is not, since every hop that
//! floods the advert adds to it (at least a second, as OSPF does). A hop
//! that lowers the age can make an advert live longer than it should, but
//! never past its signed lifetime from the time the hop received it; one
//! that raises it can only make it expire sooner.
//!
//! **Parts.** A node with more neighbours than fit in one advert sends
//! several parts of the same `seq`, each signed on its own, so a receiver
//! never holds a half-reassembled advert: each part is complete in itself.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::varint::Reader;
use super::{Error, Result};
use crate::crypto::SIG_LEN;
use crate::identity::{Address, PUBLIC_KEY_LEN, PublicKey};

/// The version of the advert format of a node of the default mesh alone.
pub const ADVERT_VERSION: u8 = 1;
/// The version that carries meshes and summarized meshes.
pub const ADVERT_VERSION_MESHES: u8 = 2;

/// Another mesh an advert's origin routes to (re6st propagates the other
/// mesh's address range): `mesh`, reached through the meshes `via`, in
/// order from the origin (the first is one of the origin's own; a
/// receiver in any of them ignores the entry: it routes there itself, and
/// an entry never loops back).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeshSummary {
    /// The mesh reached.
    pub mesh: u16,
    /// The meshes crossed to reach it, 1 ..= [`Advert::MAX_VIA`].
    pub via: Vec<u16>,
}

/// Where a node can be reached by a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdvertLocator {
    /// A UDP socket (IPv6 flow info and scope are not carried).
    Socket(SocketAddr),
    /// An endpoint of the simulator's underlay.
    Underlay(u64),
}

/// One of the advertising node's links, with what it measured of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AdvertLink {
    /// The neighbour's address.
    pub neighbour: Address,
    /// Smoothed round-trip time, microseconds (at most [`Advert::MAX_RTT_US`]).
    pub rtt_us: u32,
    /// Loss rate, in 1/65535.
    pub loss: u16,
    /// Measured or configured rate, kb/s (0: unknown).
    pub rate_kbps: u32,
}

/// A link-state advert (see the module docs for the format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// The advertising node's static key.
    pub origin: PublicKey,
    /// Its sequence number.
    pub seq: u64,
    /// Seconds it lives after origination (1 ..= [`Advert::MAX_LIFETIME_S`]).
    pub lifetime_s: u32,
    /// Which part of the advert this is.
    pub part: u8,
    /// How many parts the advert has (1 ..= [`Advert::MAX_PARTS`]).
    pub parts: u8,
    /// Clearnet egress capacity, bits/s; 0 when the node is not a gateway.
    pub gateway_bps: u64,
    /// Where the node can be reached by tunnel.
    pub locators: Vec<AdvertLocator>,
    /// Its links, ascending by neighbour address.
    pub neighbours: Vec<AdvertLink>,
    /// The meshes it belongs to, ascending (`[0]`: the default mesh).
    pub meshes: Vec<u16>,
    /// Other meshes it routes to (part 0 only), ascending by mesh.
    pub summaries: Vec<MeshSummary>,
    /// The origin's signature over the signed bytes.
    pub signature: [u8; SIG_LEN],
    /// Seconds since origination (not signed).
    pub age_s: u32,
}

const KIND_V4: u8 = 4;
const KIND_V6: u8 = 6;
const KIND_UNDERLAY: u8 = 0x55;
const LINK_LEN: usize = 16 + 4 + 2 + 4;
const FIXED_LEN: usize = 1 + PUBLIC_KEY_LEN + 8 + 4 + 2 + 8 + 1 + 2;

impl Advert {
    /// Neighbours in one part, at most.
    pub const MAX_NEIGHBOURS: usize = 64;
    /// Locators, at most.
    pub const MAX_LOCATORS: usize = 4;
    /// Parts of one advert, at most (so a node advertises up to 1,024 links).
    pub const MAX_PARTS: u8 = 16;
    /// The longest lifetime: a day.
    pub const MAX_LIFETIME_S: u32 = 86_400;
    /// The longest round-trip time a link may claim: a minute.
    pub const MAX_RTT_US: u32 = 60_000_000;
    /// Meshes a node belongs to, at most.
    pub const MAX_MESHES: usize = 4;
    /// Summarized meshes in one advert, at most.
    pub const MAX_SUMMARIES: usize = 128;
    /// Meshes crossed to reach a summarized mesh, at most.
    pub const MAX_VIA: usize = 3;
    /// The longest encoding.
    pub const MAX_LEN: usize = FIXED_LEN
        + Self::MAX_LOCATORS * (1 + 16 + 2)
        + Self::MAX_NEIGHBOURS * LINK_LEN
        + 1
        + Self::MAX_MESHES * 2
        + 1
        + Self::MAX_SUMMARIES * (2 + 1 + Self::MAX_VIA * 2)
        + SIG_LEN
        + 4;

    /// Whether this advert needs version 2 (see the module docs).
    pub fn is_scoped(&self) -> bool {
        self.meshes.as_slice() != [0] || !self.summaries.is_empty()
    }

    /// Appends the signed bytes: everything but the signature and the age.
    /// The caller keeps to the bounds ([`Self::check`] says whether it did).
    pub fn encode_signed(&self, buf: &mut Vec<u8>) {
        buf.push(if self.is_scoped() {
            ADVERT_VERSION_MESHES
        } else {
            ADVERT_VERSION
        });
        buf.extend_from_slice(&self.origin.0);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.lifetime_s.to_be_bytes());
        buf.push(self.part);
        buf.push(self.parts);
        buf.extend_from_slice(&self.gateway_bps.to_be_bytes());
        buf.push(self.locators.len() as u8);
        for l in &self.locators {
            match l {
                AdvertLocator::Socket(SocketAddr::V4(a)) => {
                    buf.push(KIND_V4);
                    buf.extend_from_slice(&a.ip().octets());
                    buf.extend_from_slice(&a.port().to_be_bytes());
                }
                AdvertLocator::Socket(SocketAddr::V6(a)) => {
                    buf.push(KIND_V6);
                    buf.extend_from_slice(&a.ip().octets());
                    buf.extend_from_slice(&a.port().to_be_bytes());
                }
                AdvertLocator::Underlay(n) => {
                    buf.push(KIND_UNDERLAY);
                    buf.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
        buf.extend_from_slice(&(self.neighbours.len() as u16).to_be_bytes());
        for n in &self.neighbours {
            buf.extend_from_slice(&n.neighbour.0);
            buf.extend_from_slice(&n.rtt_us.to_be_bytes());
            buf.extend_from_slice(&n.loss.to_be_bytes());
            buf.extend_from_slice(&n.rate_kbps.to_be_bytes());
        }
        if self.is_scoped() {
            buf.push(self.meshes.len() as u8);
            for m in &self.meshes {
                buf.extend_from_slice(&m.to_be_bytes());
            }
            buf.push(self.summaries.len() as u8);
            for e in &self.summaries {
                buf.extend_from_slice(&e.mesh.to_be_bytes());
                buf.push(e.via.len() as u8);
                for m in &e.via {
                    buf.extend_from_slice(&m.to_be_bytes());
                }
            }
        }
    }

    /// Appends the whole advert.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        self.encode_signed(buf);
        buf.extend_from_slice(&self.signature);
        buf.extend_from_slice(&self.age_s.to_be_bytes());
    }

    /// Whether the fields keep to the format's bounds (what
    /// [`Self::decode`] accepts).
    pub fn check(&self) -> Result<()> {
        if self.parts == 0 || self.parts > Self::MAX_PARTS || self.part >= self.parts {
            return Err(Error::Invalid("advert part"));
        }
        if self.lifetime_s == 0 || self.lifetime_s > Self::MAX_LIFETIME_S {
            return Err(Error::Invalid("advert lifetime"));
        }
        if self.locators.len() > Self::MAX_LOCATORS {
            return Err(Error::Invalid("too many locators"));
        }
        if self.neighbours.len() > Self::MAX_NEIGHBOURS {
            return Err(Error::Invalid("too many neighbours"));
        }
        if self
            .neighbours
            .windows(2)
            .any(|w| w[0].neighbour >= w[1].neighbour)
        {
            return Err(Error::Invalid("neighbours not in ascending order"));
        }
        if self.neighbours.iter().any(|n| n.rtt_us > Self::MAX_RTT_US) {
            return Err(Error::Invalid("absurd round-trip time"));
        }
        self.check_meshes()
    }

    fn check_meshes(&self) -> Result<()> {
        let m = &self.meshes;
        if m.is_empty() || m.len() > Self::MAX_MESHES || m.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Invalid("advert meshes: 1 to 4, ascending"));
        }
        let s = &self.summaries;
        if s.len() > Self::MAX_SUMMARIES || (self.part != 0 && !s.is_empty()) {
            return Err(Error::Invalid(
                "too many summarized meshes, or not in part 0",
            ));
        }
        if s.windows(2).any(|w| w[0].mesh >= w[1].mesh) {
            return Err(Error::Invalid("summarized meshes not in ascending order"));
        }
        for e in s {
            if m.contains(&e.mesh) || e.via.is_empty() || e.via.len() > Self::MAX_VIA {
                return Err(Error::Invalid("a summarized mesh of its own, or a bad via"));
            }
            if !m.contains(&e.via[0]) || e.via.contains(&e.mesh) {
                return Err(Error::Invalid("a summary's via must start in an own mesh"));
            }
        }
        Ok(())
    }

    /// Decodes an advert: exactly its bytes, in their one canonical form.
    /// The signature is not checked here (the discovery layer does).
    pub fn decode(bytes: &[u8]) -> Result<Advert> {
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::Invalid("advert too long"));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != ADVERT_VERSION && version != ADVERT_VERSION_MESHES {
            return Err(Error::UnsupportedVersion(version));
        }
        let origin = PublicKey(r.array()?);
        let seq = r.u64()?;
        let lifetime_s = r.u32()?;
        let part = r.u8()?;
        let parts = r.u8()?;
        let gateway_bps = r.u64()?;
        let n = r.u8()? as usize;
        if n > Self::MAX_LOCATORS {
            return Err(Error::Invalid("too many locators"));
        }
        let mut locators = Vec::with_capacity(n);
        for _ in 0..n {
            locators.push(match r.u8()? {
                KIND_V4 => {
                    let ip = Ipv4Addr::from(r.array::<4>()?);
                    AdvertLocator::Socket(SocketAddr::new(IpAddr::V4(ip), r.u16()?))
                }
                KIND_V6 => {
                    let ip = Ipv6Addr::from(r.array::<16>()?);
                    AdvertLocator::Socket(SocketAddr::new(IpAddr::V6(ip), r.u16()?))
                }
                KIND_UNDERLAY => AdvertLocator::Underlay(r.u64()?),
                _ => return Err(Error::Invalid("unknown locator kind")),
            });
        }
        let m = r.u16()? as usize;
        if m > Self::MAX_NEIGHBOURS {
            return Err(Error::Invalid("too many neighbours"));
        }
        let mut neighbours = Vec::with_capacity(m);
        for _ in 0..m {
            neighbours.push(AdvertLink {
                neighbour: Address(r.array()?),
                rtt_us: r.u32()?,
                loss: r.u16()?,
                rate_kbps: r.u32()?,
            });
        }
        let (mut meshes, mut summaries) = (vec![0], Vec::new());
        if version == ADVERT_VERSION_MESHES {
            (meshes, summaries) = Self::decode_meshes(&mut r)?;
            if meshes.as_slice() == [0] && summaries.is_empty() {
                return Err(Error::Invalid("version 2 advert in version 1's form"));
            }
        }
        let signature = r.array()?;
        let age_s = r.u32()?;
        if r.remaining() != 0 {
            return Err(Error::Invalid("trailing bytes after the advert"));
        }
        let advert = Advert {
            origin,
            seq,
            lifetime_s,
            part,
            parts,
            gateway_bps,
            locators,
            neighbours,
            meshes,
            summaries,
            signature,
            age_s,
        };
        advert.check()?;
        Ok(advert)
    }

    /// Version 2's fields, bounded before anything is allocated for them.
    fn decode_meshes(r: &mut Reader<'_>) -> Result<(Vec<u16>, Vec<MeshSummary>)> {
        let k = r.u8()? as usize;
        if k == 0 || k > Self::MAX_MESHES {
            return Err(Error::Invalid("advert meshes: 1 to 4, ascending"));
        }
        let mut meshes = Vec::with_capacity(k);
        for _ in 0..k {
            meshes.push(r.u16()?);
        }
        let s = r.u8()? as usize;
        if s > Self::MAX_SUMMARIES {
            return Err(Error::Invalid(
                "too many summarized meshes, or not in part 0",
            ));
        }
        let mut summaries = Vec::with_capacity(s);
        for _ in 0..s {
            let mesh = r.u16()?;
            let v = r.u8()? as usize;
            if v == 0 || v > Self::MAX_VIA {
                return Err(Error::Invalid("a summarized mesh of its own, or a bad via"));
            }
            let mut via = Vec::with_capacity(v);
            for _ in 0..v {
                via.push(r.u16()?);
            }
            summaries.push(MeshSummary { mesh, via });
        }
        Ok((meshes, summaries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Advert {
        Advert {
            origin: PublicKey([2; 33]),
            seq: 7,
            lifetime_s: 600,
            part: 0,
            parts: 2,
            gateway_bps: 10_000_000,
            locators: vec![
                AdvertLocator::Socket("192.0.2.1:7001".parse().unwrap()),
                AdvertLocator::Socket("[2001:db8::1]:7002".parse().unwrap()),
                AdvertLocator::Underlay(42),
            ],
            neighbours: (1..=3u8)
                .map(|i| AdvertLink {
                    neighbour: Address([i; 16]),
                    rtt_us: 1000 * u32::from(i),
                    loss: 655,
                    rate_kbps: 10_000,
                })
                .collect(),
            meshes: vec![0],
            summaries: Vec::new(),
            signature: [9; SIG_LEN],
            age_s: 3,
        }
    }

    #[test]
    fn adverts_round_trip_and_the_largest_fits_max_len() {
        let a = sample();
        let mut b = Vec::new();
        a.encode(&mut b);
        assert_eq!(Advert::decode(&b).unwrap(), a);
        let mut signed = Vec::new();
        a.encode_signed(&mut signed);
        assert_eq!(&b[..signed.len()], &signed[..], "the signed bytes lead");
        assert_eq!(b.len(), signed.len() + SIG_LEN + 4);
        let mut big = a.clone();
        big.locators = vec![AdvertLocator::Socket("[::1]:1".parse().unwrap()); 4];
        big.neighbours = (0..Advert::MAX_NEIGHBOURS as u16)
            .map(|i| {
                let mut n = [0u8; 16];
                n[14..].copy_from_slice(&i.to_be_bytes());
                AdvertLink {
                    neighbour: Address(n),
                    rtt_us: Advert::MAX_RTT_US,
                    loss: u16::MAX,
                    rate_kbps: u32::MAX,
                }
            })
            .collect();
        big.meshes = vec![1, 2, 3, 4];
        big.summaries = (0..Advert::MAX_SUMMARIES as u16)
            .map(|i| MeshSummary {
                mesh: 100 + i,
                via: vec![1, 5, 6],
            })
            .collect();
        let mut b = Vec::new();
        big.encode(&mut b);
        assert_eq!(b.len(), Advert::MAX_LEN);
        assert_eq!(Advert::decode(&b).unwrap(), big);
    }

    #[test]
    fn any_other_form_is_refused() {
        let enc = |a: &Advert| {
            let mut b = Vec::new();
            a.encode(&mut b);
            b
        };
        let good = enc(&sample());
        // Every truncation, and a trailing byte.
        for n in 0..good.len() {
            assert!(Advert::decode(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(Advert::decode(&longer).is_err());
        let mut v3 = good.clone();
        v3[0] = 3;
        assert_eq!(Advert::decode(&v3), Err(Error::UnsupportedVersion(3)));
        let bad: [fn(&mut Advert); 9] = [
            |a| a.parts = 0,
            |a| a.part = a.parts,
            |a| a.parts = Advert::MAX_PARTS + 1,
            |a| a.lifetime_s = 0,
            |a| a.lifetime_s = Advert::MAX_LIFETIME_S + 1,
            |a| a.neighbours.swap(0, 1),
            |a| a.neighbours[1] = a.neighbours[0],
            |a| a.neighbours[2].rtt_us = Advert::MAX_RTT_US + 1,
            |a| a.locators = vec![AdvertLocator::Underlay(1); 5],
        ];
        for (i, f) in bad.iter().enumerate() {
            let mut a = sample();
            f(&mut a);
            assert!(a.check().is_err(), "case {i}");
            assert!(Advert::decode(&enc(&a)).is_err(), "case {i}");
        }
        // An unknown locator kind.
        let mut b = good.clone();
        let at = 1 + 33 + 8 + 4 + 2 + 8 + 1;
        assert_eq!(b[at], KIND_V4);
        b[at] = 5;
        assert!(Advert::decode(&b).is_err());
        // Counts past their bounds are refused before anything is read.
        let mut b = good.clone();
        b[at - 1] = 200;
        assert_eq!(Advert::decode(&b), Err(Error::Invalid("too many locators")));
        assert!(Advert::decode(&vec![1; Advert::MAX_LEN + 1]).is_err());
    }
}

#[cfg(test)]
#[path = "advert_meshes_tests.rs"]
mod meshes_tests;
