//! Unit strings of scenario files: durations, sizes and rates.
//!
//! Scenario files spell every quantity with its unit (`"10ms"`, `"64KiB"`,
//! `"20Mbps"`) so that nobody has to guess whether a bare `1000` is bytes,
//! bits or milliseconds. Numbers may have a decimal part (`"1.5s"`); the
//! value is computed exactly in integers, so `"0.1s"` is exactly 100 ms, and
//! a value that is not a whole number of the base unit (`"0.5ns"`, `"1.5B"`)
//! is an error rather than silently rounded. Whitespace between the number
//! and the unit is allowed (`"10 ms"`, as imported GML files write it).
//!
//! The parsers return `Err(message)`; callers add where the string was. The
//! formatters write the shortest exact form, which the parsers read back to
//! the same value.

use node_core::Duration;

/// Duration units and their length in nanoseconds.
const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Size units and their value in bytes: SI prefixes are powers of 10, IEC
/// prefixes (`Ki`, `Mi`, ...) powers of 2.
const SIZE_UNITS: &[(&str, u128)] = &[
    ("B", 1),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Rate units and their value in bits per second. Rates are always SI; the
/// `bit` spellings are those of Shadow's GML files.
const RATE_UNITS: &[(&str, u128)] = &[
    ("bps", 1),
    ("kbps", 1_000),
    ("Kbps", 1_000),
    ("Mbps", 1_000_000),
    ("Gbps", 1_000_000_000),
    ("Tbps", 1_000_000_000_000),
    ("bit", 1),
    ("kbit", 1_000),
    ("Kbit", 1_000),
    ("Mbit", 1_000_000),
    ("Gbit", 1_000_000_000),
    ("Tbit", 1_000_000_000_000),
];

/// Parses a duration such as `"250ns"`, `"10us"`, `"5ms"`, `"1.5s"`, `"10m"`
/// or `"2h"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let ns = parse_quantity(s, "duration", DURATION_UNITS, "ns, us, ms, s, m, h", "10ms")?;
    Ok(Duration::from_nanos(ns))
}

/// Parses a size in bytes such as `"160B"`, `"10kB"`, `"64KiB"` or `"1GB"`.
/// Only strings are sizes: the unit must be explicit.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let unit_of = split(s.trim()).map(|(_, unit)| unit);
    if let Ok(unit @ ("KB" | "kiB" | "Kb" | "kb")) = unit_of {
        return Err(format!(
            "size \"{s}\": unit \"{unit}\" is ambiguous; write kB (1000 bytes) or KiB (1024 bytes)"
        ));
    }
    parse_quantity(
        s,
        "size",
        SIZE_UNITS,
        "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB",
        "64KiB",
    )
}

/// Parses a rate in bits per second such as `"100bps"`, `"64kbps"`,
/// `"20Mbps"` or `"10Gbps"` (also Shadow's `"10 Mbit"`). A rate must be
/// greater than zero.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let bps = parse_quantity(
        s,
        "rate",
        RATE_UNITS,
        "bps, kbps, Mbps, Gbps, Tbps",
        "20Mbps",
    )?;
    if bps == 0 {
        return Err(format!("rate \"{s}\" must be greater than zero"));
    }
    Ok(bps)
}

/// Formats a duration with the largest unit that writes it exactly:
/// `"2h"`, `"10m"`, `"1.5s"`, `"250ns"`, `"0s"`.
pub fn fmt_duration(d: Duration) -> String {
    let ns = u128::from(d.as_nanos());
    if ns == 0 {
        return "0s".to_string();
    }
    // Minutes and hours are not decimal multiples of a second, so they are
    // used only when they divide the value exactly.
    for (unit, scale) in [("h", 3_600_000_000_000u128), ("m", 60_000_000_000)] {
        if ns % scale == 0 {
            return format!("{}{unit}", ns / scale);
        }
    }
    fmt_decimal(
        ns,
        &[
            ("ns", 1),
            ("us", 1_000),
            ("ms", 1_000_000),
            ("s", 1_000_000_000),
        ],
    )
}

/// Formats a size in bytes: an IEC unit when it divides the value exactly
/// (`"64KiB"`, `"1MiB"`), else the largest SI unit (`"10MB"`, `"1.5kB"`).
pub fn fmt_size(bytes: u64) -> String {
    let b = u128::from(bytes);
    for (unit, scale) in [
        ("TiB", 1u128 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        // A mantissa of 1024 or more reads better in the next SI unit.
        if b >= scale && b % scale == 0 && b / scale < 1024 {
            return format!("{}{unit}", b / scale);
        }
    }
    fmt_decimal(
        b,
        &[
            ("B", 1),
            ("kB", 1_000),
            ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("TB", 1_000_000_000_000),
        ],
    )
}

/// Formats a rate in bits per second with the largest SI unit:
/// `"64kbps"`, `"1.5Mbps"`, `"10Gbps"`.
pub fn fmt_rate(bps: u64) -> String {
    fmt_decimal(
        u128::from(bps),
        &[
            ("bps", 1),
            ("kbps", 1_000),
            ("Mbps", 1_000_000),
            ("Gbps", 1_000_000_000),
            ("Tbps", 1_000_000_000_000),
        ],
    )
}

/// Writes `value` in the largest of `units` (ascending powers of ten) that
/// is not more than it, with as many decimals as needed to be exact.
fn fmt_decimal(value: u128, units: &[(&str, u128)]) -> String {
    let (unit, scale) = units
        .iter()
        .rev()
        .find(|(_, scale)| value >= *scale)
        .copied()
        .unwrap_or(units[0]);
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return format!("{whole}{unit}");
    }
    let digits = scale.ilog10() as usize;
    let frac = format!("{rest:0digits$}");
    format!("{whole}.{}{unit}", frac.trim_end_matches('0'))
}

/// Splits `"1.5 ms"` into its number (`"1.5"`) and unit (`"ms"`).
fn split(s: &str) -> Result<(&str, &str), ()> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if end == 0 {
        return Err(());
    }
    Ok((&s[..end], s[end..].trim_start()))
}

/// Parses `<number><unit>` exactly into base units (nanoseconds, bytes,
/// bits per second); `what` and `example` make the error messages.
fn parse_quantity(
    s: &str,
    what: &str,
    units: &[(&str, u128)],
    unit_list: &str,
    example: &str,
) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!(
            "empty {what}: write it with a unit, e.g. \"{example}\""
        ));
    }
    if t.starts_with('-') {
        return Err(format!("{what} \"{s}\" is negative"));
    }
    let Ok((number, unit)) = split(t) else {
        return Err(format!(
            "{what} \"{s}\" does not start with a number (e.g. \"{example}\")"
        ));
    };
    if unit.is_empty() {
        return Err(format!(
            "{what} \"{s}\" has no unit (one of {unit_list}; e.g. \"{example}\")"
        ));
    }
    let Some(&(_, scale)) = units.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "{what} \"{s}\" has an unknown unit \"{unit}\" (expected one of {unit_list})"
        ));
    };
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty()
        || frac_part.contains('.')
        || (number.contains('.') && frac_part.is_empty())
    {
        return Err(format!(
            "{what} \"{s}\" has a malformed number \"{number}\""
        ));
    }
    let too_big = || format!("{what} \"{s}\" is too large");
    // value = (int_part . frac_part) * scale, computed as
    // (int_part * 10^k + frac_part) * scale / 10^k with k = frac_part.len().
    let frac_digits = frac_part.trim_end_matches('0');
    if frac_digits.len() > 30 {
        return Err(format!("{what} \"{s}\" has too many decimals"));
    }
    let pow = 10u128.pow(frac_digits.len() as u32);
    let int: u128 = int_part.parse().map_err(|_| too_big())?;
    let frac: u128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse().map_err(|_| too_big())?
    };
    let numerator = int
        .checked_mul(pow)
        .and_then(|v| v.checked_add(frac))
        .and_then(|v| v.checked_mul(scale))
        .ok_or_else(too_big)?;
    if numerator % pow != 0 {
        let base = units[0].0;
        return Err(format!("{what} \"{s}\" is not a whole number of {base}"));
    }
    u64::try_from(numerator / pow).map_err(|_| too_big())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> u64 {
        parse_duration(s).unwrap().as_nanos()
    }

    #[test]
    fn durations() {
        assert_eq!(ns("250ns"), 250);
        assert_eq!(ns("10us"), 10_000);
        assert_eq!(ns("5ms"), 5_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("0.1s"), 100_000_000);
        assert_eq!(ns("10m"), 600_000_000_000);
        assert_eq!(ns("2h"), 7_200_000_000_000);
        assert_eq!(ns("0s"), 0);
        assert_eq!(ns("10 ms"), 10_000_000);
        assert_eq!(ns(" 1.50s "), 1_500_000_000);
        assert_eq!(ns("1.000000000000000000000000000000000s"), 1_000_000_000);
    }

    #[test]
    fn duration_errors() {
        for (input, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("-1s", "negative"),
            ("10", "no unit"),
            ("10 parsecs", "unknown unit"),
            ("ms", "does not start with a number"),
            ("1..5s", "malformed"),
            ("1.s", "malformed"),
            (".5s", "malformed"),
            ("1.5.2s", "malformed"),
            ("0.5ns", "whole number of ns"),
            ("99999999999h", "too large"),
            ("1e3s", "unknown unit"),
            ("100000000000000000000000000000000000000000s", "too large"),
        ] {
            let err = parse_duration(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("160B"), Ok(160));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10kB"), Ok(10_000));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5kB"), Ok(1_500));
        assert_eq!(parse_size("0B"), Ok(0));
    }

    #[test]
    fn size_errors() {
        for (input, needle) in [
            ("160", "no unit"),
            ("10KB", "ambiguous"),
            ("1.5B", "whole number of B"),
            ("-5B", "negative"),
            ("5 bytes", "unknown unit"),
            ("20000000TiB", "too large"),
        ] {
            let err = parse_size(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100bps"), Ok(100));
        assert_eq!(parse_rate("64kbps"), Ok(64_000));
        assert_eq!(parse_rate("20Mbps"), Ok(20_000_000));
        assert_eq!(parse_rate("1Gbps"), Ok(1_000_000_000));
        assert_eq!(parse_rate("10Gbps"), Ok(10_000_000_000));
        assert_eq!(parse_rate("10 Mbit"), Ok(10_000_000));
        assert_eq!(parse_rate("100 Kbit"), Ok(100_000));
        assert_eq!(parse_rate("2.5Mbps"), Ok(2_500_000));
    }

    #[test]
    fn rate_errors() {
        for (input, needle) in [
            ("0Mbps", "greater than zero"),
            ("-1Mbps", "negative"),
            ("10MBps", "unknown unit"),
            ("10", "no unit"),
            ("0.5bps", "whole number"),
        ] {
            let err = parse_rate(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn formatting_is_exact_and_round_trips() {
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_nanos(250)), "250ns");
        assert_eq!(fmt_duration(Duration::from_secs(600)), "10m");
        assert_eq!(fmt_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(fmt_duration(Duration::from_secs(90)), "90s");
        assert_eq!(fmt_duration(Duration::from_micros(10)), "10us");
        assert_eq!(fmt_duration(Duration::ZERO), "0s");
        assert_eq!(fmt_size(65_536), "64KiB");
        assert_eq!(fmt_size(10_000_000), "10MB");
        assert_eq!(fmt_size(1_500), "1.5kB");
        assert_eq!(fmt_size(160), "160B");
        assert_eq!(fmt_size(0), "0B");
        assert_eq!(fmt_rate(64_000), "64kbps");
        assert_eq!(fmt_rate(1_500_000), "1.5Mbps");
        assert_eq!(fmt_rate(10_000_000_000), "10Gbps");
        for v in [1u64, 7, 999, 1_001, 123_456_789, u64::MAX, 1 << 40, 3 << 30] {
            assert_eq!(parse_size(&fmt_size(v)), Ok(v), "{v}");
            assert_eq!(parse_rate(&fmt_rate(v)), Ok(v), "{v}");
            let d = Duration::from_nanos(v);
            assert_eq!(parse_duration(&fmt_duration(d)), Ok(d), "{v}");
        }
    }
}
