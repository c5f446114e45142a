//! The report of one run: what ran (scenario, parameters, suite, seed,
//! fingerprint), per-flow and per-link tables, and the plots.

use std::collections::BTreeMap;

use crate::data::{RunData, Summary};
use crate::html::Page;
use crate::plot::{self, Chart, Series};
use crate::{Report, ReportError};

/// Most lines in one chart; the busiest are kept and the caption says so.
const MAX_LINES: usize = 10;
/// Flows whose route gets a buffer-occupancy chart of its own.
const MAX_ROUTE_CHARTS: usize = 4;
/// Points of a latency CDF (evenly spaced ranks beyond this).
const CDF_POINTS: usize = 400;

/// Builds the report of `data`.
pub fn build(data: &RunData) -> Result<Report, ReportError> {
    let s = &data.summary;
    let mut page = Page::new(&format!("meshsim report: {}", s.scenario));
    if !s.description.is_empty() {
        page.paragraph(&s.description);
    }
    page.heading("Run");
    page.facts(&[
        ("scenario", s.scenario.clone()),
        ("seed", s.seed.to_string()),
        ("crypto suite", s.suite.clone()),
        ("simulated", format!("{} s", s.engine.simulated_s)),
        ("events", s.engine.events.to_string()),
        ("fingerprint", s.fingerprint.clone()),
    ]);
    parameters(&mut page, data);
    page.heading("Flows");
    page.table(
        &[
            "flow",
            "from",
            "to",
            "kind",
            "class",
            "sent",
            "delivered",
            "ratio",
            "goodput (Mb/s)",
            "p50 (ms)",
            "p99 (ms)",
            "max (ms)",
            "completed (s)",
            "on time",
        ],
        &flow_rows(s),
    );
    let deadlines: Vec<String> = s
        .flows
        .iter()
        .filter_map(|f| Some((f, f.deadline_ms?)))
        .map(|(f, d)| format!("{} {d} ms", f.name))
        .collect();
    if !deadlines.is_empty() {
        page.paragraph(&format!(
            "On time: the share of messages offered (sent or refused by the node) that arrived within the flow's deadline, late ones counted as lost ({}); only messages offered at least a deadline before the end count.",
            deadlines.join(", ")
        ));
    }
    if let Some(from) = s.flows.iter().find_map(|f| f.goodput_from_s) {
        page.paragraph(&format!(
            "Goodput counts deliveries from {from} s on (the scenario's warmup), over each flow's active time from then on."
        ));
    }
    let sets: Vec<(&str, &crate::sets::RouteSet)> = s
        .flows
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.route_set.as_ref()?)))
        .collect();
    crate::sets::section(&mut page, &sets);
    if let Some(d) = &s.discovery {
        crate::discovery::section(&mut page, d, &data.discovery, s.nodes.len())?;
    }
    if let Some(c) = &s.churn {
        crate::churn::section(&mut page, c)?;
    }
    if let Some(p) = &s.pay {
        crate::pay::section(&mut page, p)?;
    }
    page.heading("Links");
    if s.links.len() > MAX_LINK_ROWS {
        page.paragraph(&format!(
            "{} link directions; the {MAX_LINK_ROWS} busiest (by utilization) are listed. \
             summary.json and timeseries_links.csv hold every one.",
            s.links.len()
        ));
    }
    page.table(
        &[
            "link",
            "direction",
            "medium",
            "offered",
            "delivered",
            "delivered (bytes)",
            "utilization (%)",
            "drops",
        ],
        &link_rows(s),
    );
    if !s.derived_latency_links.is_empty() {
        let list: Vec<String> = s
            .derived_latency_links
            .iter()
            .map(|l| l.to_string())
            .collect();
        page.paragraph(&format!(
            "Latency derived from the great-circle distance between the ends \
             (light in fibre, 2/3 c; the file gives none) for {} links: {}.",
            list.len(),
            list.join(", ")
        ));
    }
    page.heading("Plots");
    plots(&mut page, data)?;
    Ok(page.finish())
}

fn parameters(page: &mut Page, data: &RunData) {
    let Some(scenario) = &data.scenario else {
        return;
    };
    let mut leaves = Vec::new();
    flatten("", scenario, &mut leaves);
    let rows: Vec<Vec<String>> = leaves
        .into_iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "name" | "description" | "seed") && !k.starts_with("sweep")
        })
        .map(|(k, v)| vec![k, v])
        .collect();
    page.heading("Parameters");
    page.table(&["parameter", "value"], &rows);
    let text = serde_json::to_string_pretty(scenario).unwrap_or_default();
    page.details("the scenario as run (JSON)", &text);
}

/// Every leaf of a JSON value with its path (`topology.link.latency`).
fn flatten(path: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().any(|x| x.is_object()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), x, out);
            }
        }
        Value::String(s) => out.push((path.to_string(), s.clone())),
        other => out.push((path.to_string(), other.to_string())),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x}"))
}

fn flow_rows(s: &Summary) -> Vec<Vec<String>> {
    s.flows
        .iter()
        .map(|f| {
            let l = f.latency_ms.as_ref();
            vec![
                f.name.clone(),
                f.from.to_string(),
                f.to.map_or_else(|| "-".to_string(), |t| t.to_string()),
                f.kind.clone(),
                f.class.clone(),
                f.sent_messages.to_string(),
                f.delivered_messages.to_string(),
                format!("{:.4}", f.delivery_ratio),
                format!("{:.3}", f.goodput_bps as f64 / 1e6),
                opt(l.map(|l| l.p50)),
                opt(l.map(|l| l.p99)),
                opt(l.map(|l| l.max)),
                opt(f.completed_s),
                f.on_time_ratio
                    .map_or_else(|| "-".to_string(), |r| format!("{r:.4}")),
            ]
        })
        .collect()
}

/// Link directions listed in a report at most: a churn mesh has hundreds of
/// thousands, which no reader scrolls through (and which made the report
/// of a 3,200-node mesh 22 MB).
pub const MAX_LINK_ROWS: usize = 200;

/// The report's link rows: every direction, or the busiest
/// [`MAX_LINK_ROWS`] (ties in link order), listed in link order.
fn link_rows(s: &Summary) -> Vec<Vec<String>> {
    let mut shown: Vec<_> = s.links.iter().collect();
    if shown.len() > MAX_LINK_ROWS {
        shown.sort_by(|a, b| {
            b.utilization
                .total_cmp(&a.utilization)
                .then(a.link.cmp(&b.link))
                .then(a.from.cmp(&b.from))
        });
        shown.truncate(MAX_LINK_ROWS);
        shown.sort_by(|a, b| a.link.cmp(&b.link).then(a.from.cmp(&b.from)));
    }
    shown
        .into_iter()
        .map(|l| {
            let drops: Vec<String> = l
                .drops
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            vec![
                l.link.to_string(),
                format!("{} -> {}", l.from, l.to),
                l.medium.clone(),
                l.offered.to_string(),
                l.delivered.to_string(),
                l.delivered_bytes.to_string(),
                format!("{:.1}", l.utilization * 100.0),
                if drops.is_empty() {
                    "0".into()
                } else {
                    drops.join(" ")
                },
            ]
        })
        .collect()
}

/// A rate axis in the unit that suits its largest value.
pub(crate) fn rate_unit(max_bps: f64) -> (f64, &'static str) {
    if max_bps >= 1e6 {
        (1e6, "Mb/s")
    } else if max_bps >= 1e3 {
        (1e3, "kb/s")
    } else {
        (1.0, "b/s")
    }
}

fn draw(page: &mut Page, name: &str, caption: &str, chart: &Chart) -> Result<(), ReportError> {
    let svg = plot::svg(chart).map_err(ReportError::Plot)?;
    page.plot(name, caption, svg);
    Ok(())
}

fn plots(page: &mut Page, data: &RunData) -> Result<(), ReportError> {
    let s = &data.summary;
    // Goodput over time, per flow.
    let max = data.flows.iter().map(|p| p.goodput_bps).fold(0.0, f64::max);
    let (div, unit) = rate_unit(max);
    let series = s
        .flows
        .iter()
        .map(|f| Series {
            name: f.name.clone(),
            points: data
                .flows
                .iter()
                .filter(|p| p.flow == f.name)
                .map(|p| (p.time_s, p.goodput_bps / div))
                .collect(),
            ..Series::default()
        })
        .collect();
    draw(
        page,
        "goodput",
        "Goodput of each flow per metrics interval.",
        &Chart {
            title: "Goodput over time".into(),
            x_label: "time (s)".into(),
            y_label: format!("goodput ({unit})"),
            series,
            ..Chart::default()
        },
    )?;
    // Latency CDF, per flow.
    let series: Vec<Series> = s
        .flows
        .iter()
        .filter_map(|f| {
            let mut v = data.latencies.get(&f.name)?.clone();
            v.sort_by(f64::total_cmp);
            Some(Series {
                name: f.name.clone(),
                points: cdf(&v),
                ..Series::default()
            })
        })
        .collect();
    let caption = if data.latencies.is_empty() {
        "No latency samples in this run directory (latencies.csv is missing)."
    } else {
        "Share of delivered messages with at most this one-way latency (round trip for request/response)."
    };
    draw(
        page,
        "latency-cdf",
        caption,
        &Chart {
            title: "End-to-end latency (CDF)".into(),
            x_label: "latency (ms)".into(),
            y_label: "share of messages".into(),
            series,
            ..Chart::default()
        },
    )?;
    // Buffer occupancy at each hop of each flow's route.
    for (i, f) in s.flows.iter().enumerate().take(MAX_ROUTE_CHARTS) {
        let hop_rows: Vec<_> = data.hops.iter().filter(|h| h.flow == f.name).collect();
        let (series, caption) = if hop_rows.is_empty() {
            // A run directory from before per-hop series: per node.
            let hops: Vec<usize> = f.path.iter().copied().take(MAX_LINES).collect();
            let series = hops
                .iter()
                .map(|&n| Series {
                    name: format!("node {n}"),
                    points: data
                        .routes
                        .iter()
                        .filter(|r| r.node == n)
                        .map(|r| (r.time_s, r.held_bytes as f64 / 1024.0))
                        .collect(),
                    ..Series::default()
                })
                .collect();
            let caption = format!(
                "Bytes held in store-and-forward route buffers at each node of the route of {}{}; a node's figure covers all routes through it.",
                f.name,
                cut(hops.len(), f.path.len())
            );
            (series, caption)
        } else {
            let count = hop_rows.iter().map(|h| h.hop + 1).max().unwrap_or(0);
            let shown = count.min(MAX_LINES);
            let series = (0..shown)
                .map(|hop| {
                    let rows: Vec<_> = hop_rows.iter().filter(|h| h.hop == hop).collect();
                    let node = rows.first().map_or(0, |h| h.node);
                    Series {
                        name: format!("hop {hop} (node {node})"),
                        points: rows
                            .iter()
                            .map(|h| (h.time_s, h.held_bytes as f64 / 1024.0))
                            .collect(),
                        ..Series::default()
                    }
                })
                .collect();
            let caption = format!(
                "Bytes the route of {} held in its store-and-forward buffer at each hop (hop 0 is the origin), forward direction{}.",
                f.name,
                cut(shown, count)
            );
            (series, caption)
        };
        draw(
            page,
            &format!("buffer-{i}"),
            &caption,
            &Chart {
                title: format!("Buffer occupancy along the route of {}", f.name),
                x_label: "time (s)".into(),
                y_label: "held (KiB)".into(),
                series,
                ..Chart::default()
            },
        )?;
    }
    link_plots(page, data)
}

/// " (the first N of its M hops)" when a chart shows only some lines.
fn cut(shown: usize, of: usize) -> String {
    if of > shown {
        format!(" (the first {shown} of its {of} hops)")
    } else {
        String::new()
    }
}

fn cdf(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let step = n.div_ceil(CDF_POINTS).max(1);
    let mut pts: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (sorted[i], (i + 1) as f64 / n as f64))
        .collect();
    if let Some(&last) = sorted.last()
        && pts.last().is_none_or(|p| p.1 < 1.0)
    {
        pts.push((last, 1.0));
    }
    pts
}

fn link_plots(page: &mut Page, data: &RunData) -> Result<(), ReportError> {
    let s = &data.summary;
    let mut by_util: Vec<_> = s.links.iter().collect();
    by_util.sort_by(|a, b| {
        b.utilization
            .total_cmp(&a.utilization)
            .then(a.link.cmp(&b.link))
    });
    let total = by_util.len();
    // A direction is (link, from, to): a pair may have several links.
    let busiest: Vec<(usize, usize, usize)> = by_util
        .iter()
        .take(MAX_LINES)
        .map(|l| (l.link, l.from, l.to))
        .collect();
    let parallel = |a: usize, b: usize| {
        s.links
            .iter()
            .filter(|l| l.from == a && l.to == b)
            .nth(1)
            .is_some()
    };
    let label = |link: usize, a: usize, b: usize| {
        if parallel(a, b) {
            let medium = s
                .links
                .iter()
                .find(|l| l.link == link)
                .map_or("", |l| l.medium.as_str());
            format!("{a} -> {b} ({medium} {link})")
        } else {
            format!("{a} -> {b}")
        }
    };
    let of = |n: usize| {
        if total > n {
            format!(" (the {n} busiest of {total} link directions)")
        } else {
            String::new()
        }
    };
    let series_of = |dirs: &[(usize, usize, usize)],
                     y: &dyn Fn(usize, usize, usize) -> Vec<(f64, f64)>| {
        dirs.iter()
            .map(|&(l, a, b)| Series {
                name: label(l, a, b),
                points: y(l, a, b),
                ..Series::default()
            })
            .collect::<Vec<_>>()
    };
    let util = |l: usize, a: usize, b: usize| {
        data.links
            .iter()
            .filter(|p| p.link == l && p.from == a && p.to == b)
            .map(|p| (p.time_s, p.utilization * 100.0))
            .collect()
    };
    draw(
        page,
        "link-utilization",
        &format!(
            "Share of each metrics interval the sender spent transmitting{}.",
            of(busiest.len())
        ),
        &Chart {
            title: "Link utilization over time".into(),
            x_label: "time (s)".into(),
            y_label: "utilization (%)".into(),
            series: series_of(&busiest, &util),
            ..Chart::default()
        },
    )?;
    let mut by_drops: Vec<_> = s.links.iter().filter(|l| l.total_drops() > 0).collect();
    by_drops.sort_by(|a, b| {
        b.total_drops()
            .cmp(&a.total_drops())
            .then(a.link.cmp(&b.link))
    });
    let lossy: Vec<(usize, usize, usize)> = by_drops
        .iter()
        .take(MAX_LINES)
        .map(|l| (l.link, l.from, l.to))
        .collect();
    // Drops per interval from the cumulative counters.
    let mut last: BTreeMap<(usize, usize, usize), u64> = BTreeMap::new();
    let mut per_interval: BTreeMap<(usize, usize, usize), Vec<(f64, f64)>> = BTreeMap::new();
    for p in &data.links {
        let key = (p.link, p.from, p.to);
        let prev = last.insert(key, p.drops_total).unwrap_or(0);
        per_interval
            .entry(key)
            .or_default()
            .push((p.time_s, p.drops_total.saturating_sub(prev) as f64));
    }
    let drops =
        |l: usize, a: usize, b: usize| per_interval.get(&(l, a, b)).cloned().unwrap_or_default();
    let caption = if lossy.is_empty() {
        "No link dropped anything in this run.".to_string()
    } else {
        format!(
            "Datagrams dropped per metrics interval, all causes (loss, queue, collision, down, too big){}.",
            if by_drops.len() > lossy.len() {
                format!(
                    " (the {} of {} link directions that dropped most)",
                    lossy.len(),
                    by_drops.len()
                )
            } else {
                String::new()
            }
        )
    };
    draw(
        page,
        "link-drops",
        &caption,
        &Chart {
            title: "Link drops over time".into(),
            x_label: "time (s)".into(),
            y_label: "drops per interval (datagrams)".into(),
            series: series_of(&lossy, &drops),
            ..Chart::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_ends_at_one_and_is_thinned() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        let c = cdf(&v);
        assert!(c.len() <= CDF_POINTS + 1);
        assert_eq!(c.last(), Some(&(999.0, 1.0)));
        assert_eq!(cdf(&[3.0]), vec![(3.0, 1.0)]);
        assert!(cdf(&[]).is_empty());
    }

    #[test]
    fn flattens_scenario_parameters() {
        let v = serde_json::json!({"protocol": {"mode": "end-to-end"}, "traffic": [{"to": 3}], "area": [1, 2]});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        assert_eq!(
            out,
            vec![
                ("area".into(), "[1,2]".into()),
                ("protocol.mode".into(), "end-to-end".into()),
                ("traffic[0].to".into(), "3".into())
            ]
        );
    }
}
