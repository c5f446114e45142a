//! The payments section of a run report: the escrow's ledger, and what
//! each relay earned against the bytes it sent (issue 15).

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::html::Page;
use crate::plot::{self, Chart, Series};

/// `summary.json`'s `pay` (the part reports use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pay {
    pub pricing: String,
    #[serde(default)]
    pub noia: Option<(u64, u32)>,
    pub fee_ppm: u32,
    pub conservation_error: i64,
    pub conservation_checks: usize,
    pub deposited: u64,
    pub withdrawn: u64,
    pub fees: u64,
    pub accounts: u64,
    pub redeemed: u64,
    #[serde(default)]
    pub refused: std::collections::BTreeMap<String, u64>,
    pub withdrawals: usize,
    pub payees: Vec<Payee>,
}

/// One payee.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Payee {
    pub node: Option<usize>,
    pub price_per_mb: Option<u64>,
    pub credit: Option<u64>,
    pub earned: u64,
    pub paid_bytes: u64,
    pub charged_bytes: u64,
    pub link_bytes_sent: u64,
    pub paid_share_of_link_bytes: f64,
}

fn coins(droplets: u64) -> String {
    format!("{}.{:06}", droplets / 1_000_000, droplets % 1_000_000)
}

pub fn section(page: &mut Page, p: &Pay) -> Result<(), ReportError> {
    page.heading("Payments");
    let pricing = match p.noia {
        Some((price, ppm)) => format!(
            "NOIA: {price} droplets per MB per route, {}% to the infrastructure, the rest split equally",
            ppm as f64 / 10_000.0
        ),
        None => "each relay at its price".into(),
    };
    page.facts(&[
        ("pricing", pricing),
        (
            "conservation",
            format!(
                "error {} at the worst of {} checks (0: deposits = balances + withdrawals + fees at every one)",
                p.conservation_error, p.conservation_checks
            ),
        ),
        (
            "ledger",
            format!(
                "{} coins deposited into {} pseudonymous accounts; {} receipts redeemed; {} coins withdrawn in {} withdrawals; {} coins in fees ({} ppm)",
                coins(p.deposited),
                p.accounts,
                p.redeemed,
                coins(p.withdrawn),
                p.withdrawals,
                coins(p.fees),
                p.fee_ppm
            ),
        ),
        ("refused", format!("{:?}", p.refused)),
    ]);
    let rows: Vec<Vec<String>> = p
        .payees
        .iter()
        .map(|r| {
            vec![
                r.node.map_or("infrastructure".into(), |n| n.to_string()),
                r.price_per_mb.map_or("-".into(), |v| v.to_string()),
                r.credit.map_or("-".into(), |v| v.to_string()),
                coins(r.earned),
                r.paid_bytes.to_string(),
                r.charged_bytes.to_string(),
                r.link_bytes_sent.to_string(),
                format!("{:.4}", r.paid_share_of_link_bytes),
            ]
        })
        .collect();
    page.table(
        &[
            "payee",
            "price (droplets/MB)",
            "credit (droplets)",
            "earned (coins)",
            "paid bytes",
            "charged bytes",
            "link bytes sent",
            "paid / link bytes",
        ],
        &rows,
    );
    let series = p
        .payees
        .iter()
        .filter(|r| r.node.is_some())
        .map(|r| Series {
            name: format!(
                "node {} ({} droplets/MB)",
                r.node.unwrap_or(0),
                r.price_per_mb.unwrap_or(0)
            ),
            points: vec![(r.link_bytes_sent as f64 / 1e6, r.earned as f64 / 1e6)],
            ..Series::default()
        })
        .collect();
    let svg = plot::svg(&Chart {
        title: "Coins earned against bytes relayed".into(),
        x_label: "bytes the relay sent, by the simulator's link counters (MB)".into(),
        y_label: "coins earned (after fees)".into(),
        series,
        markers: true,
        ..Chart::default()
    })
    .map_err(ReportError::Plot)?;
    page.plot(
        "pay-earned",
        "Each relay's earnings (its balance and withdrawals at the escrow) against the bytes the simulator's own link counters saw it send: relays that carried the same bytes earn in proportion to their price.",
        svg,
    );
    Ok(())
}
