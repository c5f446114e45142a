//! re6st-style tunnel churn (issue 14): the principles and the decisions
//! of the tunnel manager, apart from the node that will run it.
//!
//! The re6st article's principles, which this module keeps visible:
//!
//! - **Randomness creates resiliency.** A node keeps
//!   [`ChurnConfig::tunnels_per_node`] tunnels to peers drawn at random
//!   from what it knows ([`draw_peers`]).
//! - **Life requires destruction.** Every [`ChurnConfig::refresh`] a
//!   [`ChurnConfig::refresh_share`] of them is destroyed and replaced by
//!   new random ones ([`to_destroy`] under [`Policy::Random`]).
//! - **Trust no arrow or node.** No tunnel is kept for being good.
//!
//! And the practical exceptions the article allows, each marked in the
//! code where it bends a principle:
//!
//! - a share of the most used tunnels is destroyed with a lower
//!   probability ([`ChurnConfig::keep_used_share`]);
//! - a share of the candidates is drawn from a well-known set (e.g.
//!   datacentre nodes: [`ChurnConfig::well_known_share`]);
//! - a tunnel that carries routes is drained, not destroyed at once
//!   (`node/churn.rs`: its traffic moves to another link of the neighbour
//!   if there is one, and it closes when idle or at `drain_max`).
//!
//! [`Policy::Best`] (keep the best-metric tunnels: the "practical" wrong
//! design) and [`Policy::FewestRoutes`] (re6st's shipped heuristic: close
//! the tunnel that routes the fewest nodes) exist to be compared against.
//!
//! Everything here is a pure function of its inputs and the caller's
//! random generator, so the node and the simulator decide alike.

use std::collections::BTreeSet;

use rand::Rng;

use crate::identity::Address;
use crate::time::Duration;

/// How tunnels are chosen for destruction at each refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// At random (the principle).
    #[default]
    Random,
    /// The worst by metric first (the practical design the article warns
    /// against: the best links tend to fail together).
    Best,
    /// The tunnel that routes the fewest nodes first (re6st's code).
    FewestRoutes,
}

/// Settings of the tunnel manager (re6st's defaults where it has them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChurnConfig {
    /// Tunnels a node opens and keeps (re6st's client count: 10).
    pub tunnels_per_node: usize,
    /// Incoming tunnels a node accepts, at most (re6st: twice the client
    /// count).
    pub max_peers: usize,
    /// How often a share of the tunnels is replaced (re6st: 5 minutes).
    pub refresh: Duration,
    /// The share replaced at each refresh, in thousandths.
    pub refresh_share: u16,
    /// How tunnels are chosen for destruction.
    pub policy: Policy,
    /// Exception: the most used tunnels, this share of them in
    /// thousandths, are destroyed with `keep_used_chance` less probability.
    pub keep_used_share: u16,
    /// The chance, in thousandths, that a most-used tunnel drawn for
    /// destruction is spared this time.
    pub keep_used_chance: u16,
    /// Exception: this share of new peers, in thousandths, is drawn from
    /// the well-known set when it has candidates.
    pub well_known_share: u16,
    /// A tunnel that carries routes is drained for at most this long
    /// before it is destroyed anyway (re6st's article: 60 minutes; its
    /// code aborts a graceful teardown after 120 s).
    pub drain_max: Duration,
    /// Whether tunnels that carry routes are drained (the exception) or
    /// closed at once.
    pub drain: bool,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        ChurnConfig {
            tunnels_per_node: 10,
            max_peers: 20,
            refresh: Duration::from_secs(300),
            refresh_share: 300,
            policy: Policy::Random,
            keep_used_share: 0,
            keep_used_chance: 0,
            well_known_share: 0,
            drain_max: Duration::from_secs(120),
            drain: true,
        }
    }
}

impl ChurnConfig {
    /// Why the settings cannot work, if they cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.tunnels_per_node == 0 || self.max_peers == 0 {
            return Err("churn: tunnels_per_node and max_peers must be at least 1");
        }
        if [
            self.refresh_share,
            self.keep_used_share,
            self.keep_used_chance,
            self.well_known_share,
        ]
        .iter()
        .any(|&s| s > 1000)
        {
            return Err("churn: shares are thousandths, 0 ..= 1000");
        }
        if self.refresh == Duration::ZERO {
            return Err("churn: refresh must be positive");
        }
        Ok(())
    }
}

/// What the manager knows of one of its own tunnels when it chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelView {
    /// The peer.
    pub peer: Address,
    /// Its smoothed RTT, microseconds (the `Best` policy's metric).
    pub rtt_us: u64,
    /// Bytes it carried since the last refresh (how used it is).
    pub used_bytes: u64,
    /// Nodes routed through it (re6st's heuristic).
    pub routed_nodes: usize,
}

/// How many of `n` tunnels a refresh replaces: the share, rounded to the
/// nearest, at least one when the share is not zero.
pub fn refresh_count(n: usize, share: u16) -> usize {
    if share == 0 || n == 0 {
        return 0;
    }
    ((n * usize::from(share) + 500) / 1000).clamp(1, n)
}

/// The tunnels (indices into `tunnels`) a refresh destroys, in the order
/// chosen.
pub fn to_destroy(cfg: &ChurnConfig, tunnels: &[TunnelView], rng: &mut impl Rng) -> Vec<usize> {
    let k = refresh_count(tunnels.len(), cfg.refresh_share);
    let mut order: Vec<usize> = (0..tunnels.len()).collect();
    match cfg.policy {
        Policy::Random => {
            shuffle(&mut order, rng);
            // Exception to "life requires destruction": the most used
            // tunnels are spared with some probability, so that a refresh
            // less often breaks what carries traffic. Only a share, and
            // only by chance: it must not become "keep the used ones".
            let used = most_used(tunnels, cfg.keep_used_share);
            let mut chosen = Vec::with_capacity(k);
            let mut spared = Vec::new();
            for i in order {
                if chosen.len() == k {
                    break;
                }
                if used.contains(&i) && chance(rng, cfg.keep_used_chance) {
                    spared.push(i);
                } else {
                    chosen.push(i);
                }
            }
            // Too many spared: the refresh still replaces its share.
            chosen.extend(spared.into_iter().take(k - chosen.len()));
            chosen
        }
        Policy::Best => {
            // The worst first: the highest RTT, ties by peer.
            order.sort_by_key(|&i| (std::cmp::Reverse(tunnels[i].rtt_us), tunnels[i].peer));
            order.truncate(k);
            order
        }
        Policy::FewestRoutes => {
            order.sort_by_key(|&i| (tunnels[i].routed_nodes, tunnels[i].peer));
            order.truncate(k);
            order
        }
    }
}

/// The `share` (thousandths) of `tunnels` that carried the most bytes.
fn most_used(tunnels: &[TunnelView], share: u16) -> BTreeSet<usize> {
    let n = (tunnels.len() * usize::from(share)) / 1000;
    let mut by_use: Vec<usize> = (0..tunnels.len()).collect();
    by_use.sort_by_key(|&i| (std::cmp::Reverse(tunnels[i].used_bytes), tunnels[i].peer));
    by_use.into_iter().take(n).collect()
}

fn chance(rng: &mut impl Rng, thousandths: u16) -> bool {
    (rng.next_u32() % 1000) < u32::from(thousandths)
}

/// Fisher-Yates, with the generator's 32-bit draws (unbiased by
/// rejection).
fn shuffle<T>(v: &mut [T], rng: &mut impl Rng) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// A uniform draw below `n` (n > 0) from 64-bit draws, unbiased by
/// rejection.
pub fn below(rng: &mut impl Rng, n: usize) -> usize {
    let n = n as u64;
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// `want` new peers drawn at random from `known` (not `me`, not in
/// `exclude`), each distinct; the well-known share drawn from
/// `well_known` first (an exception: re6st's users force some arrows to
/// known good destinations when random ones are too often bad). Fewer if
/// not enough candidates.
pub fn draw_peers(
    cfg: &ChurnConfig,
    me: Address,
    known: &[Address],
    well_known: &[Address],
    exclude: &BTreeSet<Address>,
    want: usize,
    rng: &mut impl Rng,
) -> Vec<Address> {
    let usable = |a: &&Address| **a != me && !exclude.contains(*a);
    let mut picked: Vec<Address> = Vec::with_capacity(want);
    let from_known_set = (want * usize::from(cfg.well_known_share)).div_ceil(1000);
    let mut wk: Vec<Address> = well_known.iter().filter(usable).copied().collect();
    wk.sort();
    wk.dedup();
    shuffle(&mut wk, rng);
    picked.extend(wk.into_iter().take(from_known_set.min(want)));
    let mut rest: Vec<Address> = known
        .iter()
        .filter(usable)
        .filter(|a| !picked.contains(a))
        .copied()
        .collect();
    rest.sort();
    rest.dedup();
    shuffle(&mut rest, rng);
    let more = want - picked.len();
    picked.extend(rest.into_iter().take(more));
    picked
}

pub(crate) mod manager;
pub use manager::ChurnStats;

#[cfg(test)]
mod tests;
