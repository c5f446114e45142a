//! The `pay` section (issue 15): node-core's per-hop payments on the
//! nodes, and the escrow the engine runs for them.
//!
//! ```json
//! "pay": {
//!   "relays": {"price_per_mb": 2000, "credit": 100000},
//!   "nodes": [{"node": 3, "price_per_mb": 13000, "credit": 50000}],
//!   "pricing": "as_asked",
//!   "escrow": {"fee_ppm": 20000, "deposit": 5000000, "withdraw": true}
//! }
//! ```
//!
//! Prices are in droplets (10^-6 coin) per MB (10^6 bytes), credits in
//! droplets. `pricing` is `as_asked` (each relay at its price) or
//! `{"noia": {"price_per_mb": P, "infra_ppm": S}}` (a route costs P; the
//! infrastructure keeps S parts per million and the remainder of the
//! split; the relays share the rest equally; a relay's own price is then
//! a floor).

use node_core::Address;
use node_core::pay::money::{Droplets, Price};
use node_core::pay::{OriginPricing, RelayTerms};
use serde::Deserialize;

use super::error::ScenarioError;
use super::resolve::Ctx;
use crate::model::PayPlan;

/// The infrastructure's payout account under NOIA pricing (an address no
/// node has: nodes' addresses are hashes of their keys).
pub const INFRASTRUCTURE: Address = Address([0xee; 16]);

/// `pay`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaySpec {
    /// Every node's terms as a relay (absent: nodes relay for free).
    pub relays: Option<TermsSpec>,
    /// Nodes whose terms differ.
    #[serde(default)]
    pub nodes: Vec<NodeTermsSpec>,
    /// How origins pay.
    #[serde(default)]
    pub pricing: PricingSpec,
    /// The escrow.
    #[serde(default)]
    pub escrow: EscrowSpec,
    /// Origins that fund their accounts differently (an origin that
    /// deposits less than it will owe: its receipts bounce).
    #[serde(default)]
    pub origins: Vec<OriginSpec>,
    /// Relays that present every receipt twice to the escrow (a replay).
    #[serde(default)]
    pub replayers: Vec<usize>,
}

/// One origin's deposit per account.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginSpec {
    pub node: usize,
    pub deposit: u64,
}

/// A relay's terms.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsSpec {
    /// Droplets per MB.
    pub price_per_mb: u64,
    /// Droplets it carries unpaid, at most (half each way).
    pub credit: u64,
}

/// One node's terms.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTermsSpec {
    pub node: usize,
    pub price_per_mb: u64,
    pub credit: u64,
}

/// `pricing`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PricingSpec {
    #[default]
    AsAsked,
    Noia {
        price_per_mb: u64,
        infra_ppm: u32,
    },
}

/// `escrow`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowSpec {
    /// The escrow's fee, parts per million of each redemption.
    #[serde(default)]
    pub fee_ppm: u32,
    /// Droplets deposited into each account an origin opens.
    #[serde(default = "default_deposit")]
    pub deposit: u64,
    /// Whether relays withdraw once their balance reaches 1 coin.
    #[serde(default = "yes")]
    pub withdraw: bool,
    /// Whether the escrow answers relays' balance checks ("can this
    /// pseudonym pay?"); unanswered, a relay keeps carrying.
    #[serde(default = "yes")]
    pub check: bool,
}

fn default_deposit() -> u64 {
    10 * node_core::pay::money::COIN
}

fn yes() -> bool {
    true
}

impl Default for EscrowSpec {
    fn default() -> EscrowSpec {
        EscrowSpec {
            fee_ppm: 0,
            deposit: default_deposit(),
            withdraw: true,
            check: true,
        }
    }
}

fn terms(t: TermsSpec) -> RelayTerms {
    RelayTerms {
        price: Price::per_mb(t.price_per_mb),
        credit: Droplets(t.credit),
    }
}

impl Ctx<'_> {
    pub(super) fn pay(
        &self,
        p: &PaySpec,
        store_and_forward: bool,
    ) -> Result<PayPlan, ScenarioError> {
        if !store_and_forward {
            return Err(self.doc.error(
                "pay",
                "payments ride store-and-forward routes (the end-to-end baseline's relays keep no gate)",
            ));
        }
        if p.escrow.fee_ppm > 1_000_000 {
            return Err(self.doc.error("pay.escrow.fee_ppm", "at most 1000000"));
        }
        let n = self.network.nodes.len();
        let mut all = vec![p.relays.map(terms); n];
        for (i, t) in p.nodes.iter().enumerate() {
            let node = self.node(&format!("pay.nodes[{i}].node"), t.node)?;
            all[node] = Some(terms(TermsSpec {
                price_per_mb: t.price_per_mb,
                credit: t.credit,
            }));
        }
        let pricing = match p.pricing {
            PricingSpec::AsAsked => OriginPricing::AsAsked,
            PricingSpec::Noia {
                price_per_mb,
                infra_ppm,
            } => {
                if infra_ppm > 1_000_000 {
                    return Err(self
                        .doc
                        .error("pay.pricing.noia.infra_ppm", "at most 1000000"));
                }
                OriginPricing::Noia {
                    price: Price::per_mb(price_per_mb),
                    infra_ppm,
                    infra: INFRASTRUCTURE,
                }
            }
        };
        let mut deposits = vec![p.escrow.deposit; n];
        for (i, o) in p.origins.iter().enumerate() {
            deposits[self.node(&format!("pay.origins[{i}].node"), o.node)?] = o.deposit;
        }
        let mut replayers = vec![false; n];
        for (i, &r) in p.replayers.iter().enumerate() {
            replayers[self.node(&format!("pay.replayers[{i}]"), r)?] = true;
        }
        Ok(PayPlan {
            terms: all,
            pricing,
            fee_ppm: p.escrow.fee_ppm,
            deposits,
            replayers,
            withdraw: p.escrow.withdraw,
            check: p.escrow.check,
        })
    }
}
