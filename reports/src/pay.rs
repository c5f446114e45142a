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
    #[serde(default)]
    pub checks: u64,
    #[serde(default)]
    pub checks_refused: u64,
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
    #[serde(default)]
    pub unpaid: u64,
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
        (
            "balance checks",
            format!(
                "{} asked by relays, {} answered no (the relay closed the pseudonym's routes)",
                p.checks, p.checks_refused
            ),
        ),
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
                coins(r.unpaid),
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
            "receipts refused (coins)",
            "paid bytes",
            "charged bytes",
            "link bytes sent",
            "paid / link bytes",
        ],
        &rows,
    );
    // Each relay at (what its paid bytes cost at its price, what it
    // earned): on the line of the price less the fee when it is paid for
    // what it carried; the x axis from 0 keeps every point inside.
    let owed = |r: &Payee| r.paid_bytes as f64 * r.price_per_mb.unwrap_or(0) as f64 / 1e6 / 1e6;
    let mut series: Vec<Series> = p
        .payees
        .iter()
        .filter(|r| r.node.is_some() && r.price_per_mb.is_some())
        .map(|r| Series {
            name: format!(
                "node {}: {} droplets/MB, {:.1} MB",
                r.node.unwrap_or(0),
                r.price_per_mb.unwrap_or(0),
                r.paid_bytes as f64 / 1e6
            ),
            points: vec![(owed(r), r.earned as f64 / 1e6)],
            ..Series::default()
        })
        .collect();
    let top = p.payees.iter().map(owed).fold(0.0, f64::max);
    let keep = 1.0 - p.fee_ppm as f64 / 1e6;
    series.push(Series {
        name: format!("price less the fee ({} ppm)", p.fee_ppm),
        points: vec![(0.0, 0.0), (top * 1.05, top * 1.05 * keep)],
        reference: true,
        ..Series::default()
    });
    let svg = plot::svg(&Chart {
        title: "Coins earned against bytes relayed at each relay's price".into(),
        x_label: "paid bytes x the relay's price (coins)".into(),
        y_label: "coins earned (after fees)".into(),
        series,
        markers: true,
        ..Chart::default()
    })
    .map_err(ReportError::Plot)?;
    page.plot(
        "pay-earned",
        "Each relay's earnings (its balance and withdrawals at the escrow) against what the bytes its receipts cover cost at its price: a relay paid for what it carried sits on the dashed line (the price less the escrow's fee). The table gives the bytes the simulator's own link counters saw each relay send, beside the bytes it was paid for.",
        svg,
    );
    Ok(())
}
