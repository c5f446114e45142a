//! The payments part of the results (`summary.json`'s `pay`): the
//! escrow's ledger, what each payee earned, and each relay's earnings
//! against the bytes the simulator's own link counters saw it send.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use node_core::pay::OriginPricing;
use serde::Serialize;

use super::round;
use crate::engine::World;
use crate::engine::population::Nodes;
use crate::scenario::pay::INFRASTRUCTURE;

/// `summary.json`'s `pay`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PaySummary {
    /// `as_asked` or `noia`.
    pub pricing: String,
    /// NOIA pricing: the route's price per MB and the infrastructure's
    /// share (parts per million).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noia: Option<(u64, u32)>,
    /// The escrow's fee, parts per million.
    pub fee_ppm: u32,
    /// Deposits less balances, payouts, withdrawals and fees, at the
    /// sample where it was furthest from 0 (0: conserved at every sample).
    pub conservation_error: i64,
    /// Samples at which the ledger was checked.
    pub conservation_checks: usize,
    /// Droplets deposited, withdrawn, and taken as fees, in all.
    pub deposited: u64,
    pub withdrawn: u64,
    pub fees: u64,
    /// Pseudonymous accounts opened and funded.
    pub accounts: u64,
    /// Relays' balance checks ("can this pseudonym pay?") answered, and
    /// answered no (the relay closes the pseudonym's routes).
    pub checks: u64,
    pub checks_refused: u64,
    /// Receipts redeemed, and refused by why.
    pub redeemed: u64,
    pub refused: BTreeMap<String, u64>,
    /// Withdrawals (each to an address never used before).
    pub withdrawals: usize,
    /// Each payee that earned anything (relays, and the infrastructure).
    pub payees: Vec<PayeeSummary>,
    /// The nodes' payment counters, summed.
    pub counters: PayCounters,
}

/// One payee.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PayeeSummary {
    /// Its node (absent: the infrastructure's account).
    pub node: Option<usize>,
    /// Its price, droplets per MB (absent: it asks nothing).
    pub price_per_mb: Option<u64>,
    /// Its credit, droplets.
    pub credit: Option<u64>,
    /// Droplets earned (balance and withdrawals, after fees).
    pub earned: u64,
    /// Droplets its receipts owe that the escrow refused to pay (an
    /// origin's account did not cover them), before fees.
    pub unpaid: u64,
    /// Stream bytes the receipts it redeemed cover.
    pub paid_bytes: u64,
    /// Stream bytes its gates charged for (its own count of what it
    /// forwarded); less `paid_bytes`, what it carried unpaid at the end.
    pub charged_bytes: u64,
    /// Bytes it sent on its links, by the simulator's own counters (every
    /// datagram: data, acknowledgements, headers, retransmissions).
    pub link_bytes_sent: u64,
    /// `paid_bytes / link_bytes_sent`: at most 1 if it is never paid for
    /// more than it sent.
    pub paid_share_of_link_bytes: f64,
}

/// The nodes' counters (`node_core::PayStats`), summed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PayCounters {
    pub prices: u64,
    pub pauses: u64,
    pub invoices: u64,
    pub receipts_sent: u64,
    pub receipts_taken: u64,
    pub refused_receipts: u64,
    pub flood: u64,
    pub bytes_charged: u64,
}

/// What node `i` sent on its links.
fn link_bytes_sent(world: &World<Nodes>, i: usize) -> u64 {
    world
        .links()
        .links
        .iter()
        .map(|l| {
            let d = if l.spec.a == i {
                0
            } else if l.spec.b == i {
                1
            } else {
                return 0;
            };
            l.dirs[d].as_ref().map_or(0, |x| x.counters().offered_bytes)
        })
        .sum()
}

pub fn summary(world: &World<Nodes>) -> Option<PaySummary> {
    let w = world.pay()?;
    let worst = w
        .samples
        .iter()
        .map(|s| s.conservation_error)
        .max_by_key(|e| e.unsigned_abs())
        .unwrap_or(0);
    let mut counters = PayCounters::default();
    for i in 0..world.scenario().network.nodes.len() {
        {
            let s = world.node(i).pay_stats();
            counters.prices += s.prices_sent;
            counters.pauses += s.pauses;
            counters.invoices += s.invoices_sent;
            counters.receipts_sent += s.receipts_sent;
            counters.receipts_taken += s.receipts_taken;
            counters.refused_receipts += s.forged + s.foreign + s.stale + s.underpaid + s.refused;
            counters.flood += s.flood;
            counters.bytes_charged += s.bytes_charged;
        }
    }
    let payees = w
        .payees()
        .into_iter()
        .map(|a| {
            let node = w.node_of(&a).filter(|_| a != INFRASTRUCTURE);
            let terms = node.and_then(|i| w.plan.terms[i]);
            let sent = node.map_or(0, |i| link_bytes_sent(world, i));
            let paid = w.paid_bytes(&a);
            PayeeSummary {
                node,
                price_per_mb: terms.map(|t| t.price.per_gb / 1000),
                credit: terms.map(|t| t.credit.0),
                earned: w.earned(&a),
                unpaid: w.unpaid(&a),
                paid_bytes: paid,
                charged_bytes: node.map_or(0, |i| world.node(i).pay_stats().bytes_charged),
                link_bytes_sent: sent,
                paid_share_of_link_bytes: if sent > 0 {
                    round(paid as f64 / sent as f64, 6)
                } else {
                    0.0
                },
            }
        })
        .collect();
    let (pricing, noia) = match w.plan.pricing {
        OriginPricing::AsAsked => ("as_asked", None),
        OriginPricing::Noia {
            price, infra_ppm, ..
        } => ("noia", Some((price.per_gb / 1000, infra_ppm))),
    };
    Some(PaySummary {
        pricing: pricing.into(),
        noia,
        fee_ppm: w.plan.fee_ppm,
        conservation_error: i64::try_from(worst).unwrap_or(i64::MAX),
        conservation_checks: w.samples.len(),
        deposited: u64::try_from(w.ledger.deposited()).unwrap_or(u64::MAX),
        withdrawn: u64::try_from(w.ledger.withdrawn()).unwrap_or(u64::MAX),
        fees: u64::try_from(w.ledger.fees()).unwrap_or(u64::MAX),
        accounts: w.accounts,
        checks: w.checks,
        checks_refused: w.checks_refused,
        redeemed: w.ledger.stats.redeemed,
        refused: w
            .refused
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect(),
        withdrawals: w.ledger.withdrawals.len(),
        payees,
        counters,
    })
}

pub fn text(p: &PaySummary, o: &mut String) {
    let _ = writeln!(
        o,
        "\npay: pricing {}, fee {} ppm; conservation_error {} over {} checks; deposited {} withdrawn {} ({} withdrawals) fees {} droplets; {} receipts redeemed, refused {:?}; balance checks {} ({} no)",
        p.pricing,
        p.fee_ppm,
        p.conservation_error,
        p.conservation_checks,
        p.deposited,
        p.withdrawn,
        p.withdrawals,
        p.fees,
        p.redeemed,
        p.refused,
        p.checks,
        p.checks_refused
    );
    let _ = writeln!(
        o,
        "  node price/MB  credit   earned   unpaid  paid_bytes  charged_bytes  link_bytes  paid/link"
    );
    for r in &p.payees {
        let _ = writeln!(
            o,
            "  {:>4} {:>8} {:>7} {:>8} {:>8} {:>11} {:>14} {:>11} {:>9.4}",
            r.node.map_or("infra".into(), |n| n.to_string()),
            r.price_per_mb.map_or("-".into(), |v| v.to_string()),
            r.credit.map_or("-".into(), |v| v.to_string()),
            r.earned,
            r.unpaid,
            r.paid_bytes,
            r.charged_bytes,
            r.link_bytes_sent,
            r.paid_share_of_link_bytes
        );
    }
}
