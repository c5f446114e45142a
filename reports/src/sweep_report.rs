//! The report of a sweep: what varied, a table of means with 95% confidence
//! intervals per grid point, and each chosen metric plotted against one
//! parameter, one line per value of the other parameters.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::html::Page;
use crate::plot::{self, Chart, Series};
use crate::run_report::rate_unit;
use crate::stats::Estimate;
use crate::sweep::{PointAggregate, SweepResult, label};
use crate::{Report, ReportError};

/// Builds the report of a finished (aggregated) sweep.
pub fn build(sweep: &SweepResult) -> Result<Report, ReportError> {
    let mut page = Page::new(&format!("meshsim sweep: {}", sweep.scenario));
    if !sweep.description.is_empty() {
        page.paragraph(&sweep.description);
    }
    let suites: std::collections::BTreeSet<&str> =
        sweep.runs.iter().map(|r| r.suite.as_str()).collect();
    let seeds: std::collections::BTreeSet<u64> = sweep.runs.iter().map(|r| r.seed).collect();
    page.heading("Sweep");
    let mut facts = vec![
        ("scenario", sweep.scenario.clone()),
        ("runs", sweep.runs.len().to_string()),
        ("grid points", sweep.aggregate.len().to_string()),
        ("repeats per point", sweep.repeat.to_string()),
        (
            "seeds",
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "crypto suite",
            suites.into_iter().collect::<Vec<_>>().join(", "),
        ),
    ];
    for a in &sweep.axes {
        facts.push((
            "parameter",
            format!(
                "{} = {}",
                a.key,
                a.values.iter().map(label).collect::<Vec<_>>().join(" | ")
            ),
        ));
    }
    page.facts(&facts);
    let known = sweep.metric_names();
    let (metrics, unknown): (Vec<String>, Vec<String>) = chosen_metrics(sweep)
        .into_iter()
        .partition(|m| known.contains(m));
    if !unknown.is_empty() {
        page.paragraph(&format!(
            "No run has the metric(s) {} named by the sweep's plot section; the metrics are: {}.",
            unknown.join(", "),
            known.join(", ")
        ));
    }
    page.heading("Means and 95% confidence intervals");
    page.paragraph(&format!(
        "Mean over the {} repeat(s) of each grid point, ± the half-width of the 95% confidence interval (Student's t); sweep.csv has every run.",
        sweep.repeat
    ));
    let mut header: Vec<String> = sweep.axes.iter().map(|a| a.key.clone()).collect();
    header.push("n".into());
    header.extend(metrics.iter().cloned());
    let rows: Vec<Vec<String>> = sweep
        .aggregate
        .iter()
        .map(|p| {
            let mut row: Vec<String> = p.values.iter().map(label).collect();
            row.push(
                p.metrics
                    .values()
                    .map(|e| e.n)
                    .max()
                    .unwrap_or(0)
                    .to_string(),
            );
            row.extend(
                metrics
                    .iter()
                    .map(|m| p.metrics.get(m).map_or("-".into(), fmt_estimate)),
            );
            row
        })
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    page.table(&header_refs, &rows);
    page.heading("Plots");
    for (i, m) in metrics.iter().enumerate() {
        let (chart, caption) = metric_chart(sweep, m);
        let svg = plot::svg(&chart).map_err(ReportError::Plot)?;
        page.plot(&format!("sweep-{i}"), &caption, svg);
        if sweep.plot.relative_to.is_some() {
            page.paragraph(&ranges_sentence(&chart));
        }
    }
    Ok(page.finish())
}

fn fmt_estimate(e: &Estimate) -> String {
    let p = |v: f64| {
        if v.abs() >= 1000.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        }
    };
    match e.ci95 {
        Some(h) => format!("{} ± {}", p(e.mean), p(h)),
        None => p(e.mean),
    }
}

/// The plot choice's metrics, or by default each flow's goodput, delivery
/// ratio and (where it has one) p99 latency.
fn chosen_metrics(sweep: &SweepResult) -> Vec<String> {
    if !sweep.plot.metrics.is_empty() {
        return sweep.plot.metrics.clone();
    }
    let names = sweep.metric_names();
    let mut flows: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".goodput_bps"))
        .collect();
    flows.dedup();
    let mut out = Vec::new();
    for f in flows {
        for m in ["goodput_bps", "delivery_ratio", "latency_p99_ms"] {
            let name = format!("{f}.{m}");
            if names.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The axis of the x axis: the chosen one, else the first whose values are
/// all numbers, else the first.
fn x_axis(sweep: &SweepResult) -> Option<usize> {
    if let Some(x) = &sweep.plot.x {
        return sweep.axes.iter().position(|a| &a.key == x);
    }
    sweep
        .axes
        .iter()
        .position(|a| a.values.iter().all(|v| number(v).is_some()))
        .or((!sweep.axes.is_empty()).then_some(0))
}

/// A value's number: itself, or the first of a zipped value.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Array(a) => a.first().and_then(Value::as_f64),
        other => other.as_f64(),
    }
}

fn metric_unit(metric: &str, max: f64) -> (f64, String) {
    let (what, tail) = metric.rsplit_once('.').unwrap_or(("", metric));
    let thing = if what.is_empty() {
        String::new()
    } else {
        format!("{what}: ")
    };
    match tail {
        "goodput_bps" => {
            let (div, unit) = rate_unit(max);
            (div, format!("{thing}goodput ({unit})"))
        }
        "delivery_ratio" => (1.0, format!("{thing}delivery ratio")),
        "latency_p50_ms" => (1.0, format!("{thing}latency p50 (ms)")),
        "latency_p99_ms" => (1.0, format!("{thing}latency p99 (ms)")),
        "completed_s" => (1.0, format!("{thing}completion time (s)")),
        "delivered_bytes" | "buffer_peak_bytes" => (1024.0, format!("{thing}{tail} (KiB)")),
        "max_utilization" => (0.01, format!("{thing}max utilization (%)")),
        other => (1.0, format!("{thing}{other}")),
    }
}

fn metric_chart(sweep: &SweepResult, metric: &str) -> (Chart, String) {
    let x = x_axis(sweep);
    let max = sweep
        .aggregate
        .iter()
        .filter_map(|p| p.metrics.get(metric))
        .map(|e| e.mean)
        .fold(0.0, f64::max);
    let (div, y_label) = match &sweep.plot.relative_to {
        Some(base) => {
            // A ratio: the metric's name without its unit.
            let name = metric_unit(metric, max).1;
            let name = name.split(" (").next().unwrap_or(&name).to_string();
            let at = number(base).map_or_else(|| label(base), plot::short);
            (
                1.0,
                format!(
                    "{name} relative to {} = {at}",
                    sweep.plot.x_label.as_deref().unwrap_or("x"),
                ),
            )
        }
        None => metric_unit(metric, max),
    };
    let (x_label, categories) = match x {
        Some(i) => {
            let a = &sweep.axes[i];
            let label = sweep.plot.x_label.clone().unwrap_or_else(|| a.key.clone());
            let numeric = a.values.iter().all(|v| number(v).is_some());
            (
                label,
                (!numeric).then(|| a.values.iter().map(label_of).collect()),
            )
        }
        None => ("all runs".to_string(), Some(vec!["all runs".to_string()])),
    };
    let x_of = |p: &PointAggregate| match x {
        None => 0.0,
        Some(i) => {
            let a = &sweep.axes[i];
            if categories.is_some() {
                a.values.iter().position(|v| v == &p.values[i]).unwrap_or(0) as f64
            } else {
                number(&p.values[i]).unwrap_or(f64::NAN)
            }
        }
    };
    // One line per combination of the other axes' values, in grid order.
    let mut lines: BTreeMap<usize, (String, Vec<&PointAggregate>)> = BTreeMap::new();
    let mut keys: Vec<Vec<Value>> = Vec::new();
    for p in &sweep.aggregate {
        let others: Vec<Value> = p
            .values
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != x)
            .map(|(_, v)| v.clone())
            .collect();
        let k = match keys.iter().position(|k| k == &others) {
            Some(k) => k,
            None => {
                keys.push(others.clone());
                keys.len() - 1
            }
        };
        let name = sweep
            .axes
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != x)
            .zip(&others)
            .map(|((_, a), v)| format!("{}={}", short_key(&a.key), label(v)))
            .collect::<Vec<_>>()
            .join(", ");
        lines
            .entry(k)
            .or_insert_with(|| {
                (
                    if name.is_empty() {
                        metric.to_string()
                    } else {
                        name
                    },
                    Vec::new(),
                )
            })
            .1
            .push(p);
    }
    let mut without_base = Vec::new();
    let mut series: Vec<Series> = lines
        .into_values()
        .filter_map(|(name, pts)| {
            // Relative to the line's own mean at the base value of x.
            let div = match (&sweep.plot.relative_to, x) {
                (Some(base), Some(i)) => {
                    let mean = pts
                        .iter()
                        .find(|p| &p.values[i] == base)
                        .and_then(|p| p.metrics.get(metric))
                        .map(|e| e.mean)
                        .filter(|&m| m != 0.0 && m.is_finite());
                    match mean {
                        Some(m) => m,
                        None => {
                            without_base.push(name);
                            return None;
                        }
                    }
                }
                _ => div,
            };
            let mut points = Vec::new();
            let mut bars = Vec::new();
            for p in pts {
                let Some(e) = p.metrics.get(metric) else {
                    continue;
                };
                let xv = x_of(p);
                points.push((xv, e.mean / div));
                if let Some(h) = e.ci95 {
                    bars.push((xv, (e.mean - h) / div, (e.mean + h) / div));
                }
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Some(Series {
                name,
                points,
                bars,
                reference: false,
            })
        })
        .collect();
    let xs = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite());
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if lo <= hi {
        for r in &sweep.plot.references {
            series.push(Series {
                name: r.label.clone(),
                points: vec![(lo, r.y), (hi, r.y)],
                bars: Vec::new(),
                reference: true,
            });
        }
    }
    let mut caption = format!(
        "{y_label} against {x_label}: mean of {} repeat(s) per point{}{}.",
        sweep.repeat,
        if sweep.repeat > 1 {
            ", bars: 95% confidence interval"
        } else {
            ""
        },
        if sweep.plot.references.is_empty() {
            ""
        } else {
            "; dashed: references"
        }
    );
    if !without_base.is_empty() {
        caption.push_str(&format!(
            " Not plotted, for want of a non-zero value at the base: {}.",
            without_base.join("; ")
        ));
    }
    (
        Chart {
            title: format!("{y_label} vs {x_label}"),
            x_label,
            y_label,
            series,
            x_categories: categories,
            markers: true,
        },
        caption,
    )
}

/// For a relative chart: the range of each line (besides the base point,
/// which is 1 by construction), so the figure can be read without the plot.
fn ranges_sentence(chart: &Chart) -> String {
    let mut parts = Vec::new();
    for s in chart.series.iter().filter(|s| !s.reference) {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && (p.1 - 1.0).abs() > 1e-12)
            .collect();
        let min = pts.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
        let max = pts.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(min), Some(max)) = (min, max) {
            parts.push(format!(
                "{}: {:.3} (at {}) to {:.3} (at {})",
                s.name,
                min.1,
                plot::short(min.0),
                max.1,
                plot::short(max.0)
            ));
        }
    }
    let refs: Vec<String> = chart
        .series
        .iter()
        .filter(|s| s.reference)
        .filter_map(|s| s.points.first().map(|p| format!("{} = {:.3}", s.name, p.1)))
        .collect();
    let mut text = format!("Range of each line, relative: {}.", parts.join("; "));
    if !refs.is_empty() {
        text.push_str(&format!(" References: {}.", refs.join("; ")));
    }
    text
}

fn label_of(v: &Value) -> String {
    label(v)
}

/// The last component of a parameter path, for legends (`protocol.mode` ->
/// `mode`; a zipped key keeps its first path's).
fn short_key(key: &str) -> &str {
    let first = key.split(',').next().unwrap_or(key);
    first.rsplit('.').next().unwrap_or(first)
}
