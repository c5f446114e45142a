//! The `pay` key of the configuration (issue 15): this node's terms as a
//! relay, and the escrow role.
//!
//! ```json
//! "pay": { "price_per_mb": 20000, "credit": 200000, "escrow": { "fee_ppm": 20000 } }
//! ```
//!
//! `price_per_mb` (droplets, 10^-6 coin, per 10^6 bytes) and `credit`
//! (droplets it carries unpaid, at most: half each way) make it a paying
//! relay (both or neither); `escrow` (`true` or an object with `fee_ppm`)
//! makes it answer escrow requests on its routes. As an origin it pays
//! every relay that asks, at its price.

use serde::Deserialize;

use super::ConfigFileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPay {
    price_per_mb: Option<u64>,
    credit: Option<u64>,
    escrow: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscrow {
    #[serde(default)]
    fee_ppm: u32,
}

/// The `pay` key.
pub(super) fn parse(
    v: &serde_json::Value,
    field: &dyn Fn(&str, String) -> ConfigFileError,
) -> Result<node_core::pay::PayConfig, ConfigFileError> {
    let raw: RawPay = serde_path_to_error::deserialize(v).map_err(|e| {
        let p = e.path().to_string();
        let name = if p == "." {
            "pay".to_owned()
        } else {
            format!("pay.{p}")
        };
        field(&name, e.into_inner().to_string())
    })?;
    let mut pay = node_core::pay::PayConfig::default();
    match (raw.price_per_mb, raw.credit) {
        (Some(p), Some(c)) => {
            pay.relay = Some(node_core::pay::RelayTerms {
                price: node_core::pay::money::Price::per_mb(p),
                credit: node_core::pay::money::Droplets(c),
            });
        }
        (None, None) => {}
        _ => {
            return Err(field(
                "pay",
                "price_per_mb and credit go together (a relay's terms)".into(),
            ));
        }
    }
    pay.escrow = match &raw.escrow {
        None | Some(serde_json::Value::Bool(false)) => None,
        Some(serde_json::Value::Bool(true)) => Some(node_core::pay::service::EscrowRole::default()),
        Some(o @ serde_json::Value::Object(_)) => {
            let e: RawEscrow = serde_json::from_value(o.clone())
                .map_err(|e| field("pay.escrow", e.to_string()))?;
            if e.fee_ppm > 1_000_000 {
                return Err(field("pay.escrow.fee_ppm", "at most 1000000".into()));
            }
            Some(node_core::pay::service::EscrowRole {
                fee_ppm: e.fee_ppm,
                ..Default::default()
            })
        }
        Some(_) => {
            return Err(field(
                "pay.escrow",
                "true, false, or an object with fee_ppm".into(),
            ));
        }
    };
    Ok(pay)
}
