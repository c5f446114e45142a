//! The `discovery` key of the configuration (see the parent module's docs).

use serde::Deserialize;

use super::{ConfigFileError, SizeValue, parse_duration, parse_rate};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscovery {
    refresh: Option<String>,
    lifetime: Option<String>,
    hold_down: Option<String>,
    gateway: Option<SizeValue>,
}

/// The `discovery` key: `true`, `false` or an object (see the module docs).
pub(super) fn parse(
    v: &serde_json::Value,
    field: &dyn Fn(&str, String) -> ConfigFileError,
) -> Result<Option<node_core::DiscoveryConfig>, ConfigFileError> {
    let raw: RawDiscovery = match v {
        serde_json::Value::Bool(false) | serde_json::Value::Null => return Ok(None),
        serde_json::Value::Bool(true) => return Ok(Some(node_core::DiscoveryConfig::default())),
        serde_json::Value::Object(_) => serde_path_to_error::deserialize(v).map_err(|e| {
            let p = e.path().to_string();
            let name = if p == "." {
                "discovery".to_owned()
            } else {
                format!("discovery.{p}")
            };
            field(&name, e.into_inner().to_string())
        })?,
        _ => {
            return Err(field(
                "discovery",
                "true, false, or an object with refresh, lifetime, hold_down, gateway".into(),
            ));
        }
    };
    let mut d = node_core::DiscoveryConfig::default();
    for (name, value, slot, example) in [
        ("discovery.refresh", &raw.refresh, &mut d.refresh, "30s"),
        ("discovery.lifetime", &raw.lifetime, &mut d.lifetime, "2m"),
        (
            "discovery.hold_down",
            &raw.hold_down,
            &mut d.hold_down,
            "50ms",
        ),
    ] {
        if let Some(t) = value {
            *slot = parse_duration(t).ok_or_else(|| {
                field(name, format!("{t:?} is not a duration like \"{example}\""))
            })?;
        }
    }
    if let Some(v) = &raw.gateway {
        d.gateway_bps = match v {
            SizeValue::Bytes(b) => Some(*b),
            SizeValue::Text(t) => parse_rate(t),
        }
        .ok_or_else(|| {
            field(
                "discovery.gateway",
                "not a rate like \"100Mbps\" or 100000000 (bits/s)".into(),
            )
        })?;
    }
    d.check().map_err(|e| field("discovery", e.into()))?;
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use node_core::Duration;

    use super::super::NodeConfig;

    #[test]
    fn discovery_keys() {
        let parse = |extra: &str| {
            NodeConfig::parse(
                &format!(r#"{{"key_file": "a", "listen": "127.0.0.1:1"{extra}}}"#),
                Path::new("/tmp/x/node.json"),
            )
        };
        assert!(parse("").unwrap().core.discovery.is_none());
        assert!(
            parse(r#", "discovery": false"#)
                .unwrap()
                .core
                .discovery
                .is_none()
        );
        let d = parse(r#", "discovery": true"#)
            .unwrap()
            .core
            .discovery
            .unwrap();
        assert_eq!(d, node_core::DiscoveryConfig::default());
        let d = parse(
            r#", "discovery": {"refresh": "5s", "lifetime": "1m", "hold_down": "20ms", "gateway": "100Mbps"}"#,
        )
        .unwrap()
        .core
        .discovery
        .unwrap();
        assert_eq!(d.refresh, Duration::from_secs(5));
        assert_eq!(d.lifetime, Duration::from_secs(60));
        assert_eq!(d.hold_down, Duration::from_millis(20));
        assert_eq!(d.gateway_bps, 100_000_000);
        let d = parse(r#", "discovery": {"gateway": 5000}"#).unwrap();
        assert_eq!(d.core.discovery.unwrap().gateway_bps, 5000);
        let e = |extra: &str| parse(extra).unwrap_err().to_string();
        let m = e(r#", "discovery": {"refresh": "soon"}"#);
        assert!(
            m.contains("discovery.refresh:") && m.contains("soon"),
            "{m}"
        );
        let m = e(r#", "discovery": {"gateway": "fast"}"#);
        assert!(m.contains("discovery.gateway:"), "{m}");
        let m = e(r#", "discovery": {"refresh": "10s", "lifetime": "15s"}"#);
        assert!(m.contains("discovery:") && m.contains("twice"), "{m}");
        let m = e(r#", "discovery": {"colour": "blue"}"#);
        assert!(m.contains("discovery") && m.contains("colour"), "{m}");
        let m = e(r#", "discovery": "yes""#);
        assert!(m.contains("discovery:") && m.contains("an object"), "{m}");
    }
}
