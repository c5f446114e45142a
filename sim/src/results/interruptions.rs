//! Route interruptions (issue 14, claim 20): how often, and for how long,
//! the flows of a run stop delivering. re6st reports about a minute of
//! outage per hour when tunnels in use are destroyed; a drained tunnel
//! should cost none.
//!
//! **Definition.** An *interruption* of a constant-rate flow is a gap of
//! at least [`THRESHOLD`] (250 ms) between two distinct deliveries at its
//! destination (a flow sends every few tens of milliseconds, so a quarter
//! second without a delivery is not jitter), or from its last delivery to the end
//! of the run (it never recovered). Its *outage* is the gap less the
//! flow's own message interval. A flow is watched from its first delivery
//! (building its first route is not an interruption) to the end of the
//! run or its stop; `per_hour` figures are per flow-hour watched.

use serde::Serialize;

use super::round;
use crate::model::TrafficKind;
use crate::traffic::Source;
use node_core::{Duration, Time};

/// The shortest gap that counts as an interruption: a quarter of a
/// second, a dozen messages of a VoIP flow (audible), far above the
/// jitter of a working route.
pub const THRESHOLD: Duration = crate::traffic::GAP_RECORDED;

/// `summary.json`'s `churn.interruptions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InterruptionSummary {
    /// [`THRESHOLD`], seconds.
    pub threshold_s: f64,
    /// Constant-rate flows watched (those that delivered at all).
    pub flows: usize,
    /// Constant-rate flows that started but never delivered.
    pub never_delivered: usize,
    /// Flow-hours watched.
    pub flow_hours: f64,
    /// Times a flow's connection lost its last route (`ConnectionBroken`),
    /// however short the gap it caused.
    pub breaks: u64,
    /// Breaks per flow-hour.
    pub breaks_per_hour: f64,
    /// Interruptions, all flows.
    pub count: u64,
    /// Interruptions per flow-hour.
    pub per_hour: f64,
    /// Outage, all flows, seconds.
    pub outage_s: f64,
    /// Outage per flow-hour, seconds.
    pub outage_s_per_hour: f64,
    /// The longest interruption, seconds (0: none).
    pub longest_s: f64,
    /// The median interruption, seconds.
    pub median_s: Option<f64>,
    /// Each interruption: flow index, start and length, seconds.
    pub each: Vec<Interruption>,
}

/// One interruption.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Interruption {
    /// Index of the flow in the scenario's `traffic`.
    pub flow: usize,
    /// When its last delivery before the gap was, seconds.
    pub at_s: f64,
    /// The gap, seconds.
    pub duration_s: f64,
    /// Whether it lasted to the end of the run.
    pub open: bool,
}

/// The interruptions of the constant-rate flows of a run that ended at
/// `end`; `None` without such flows.
pub fn summary(sources: &[Source], end: Time) -> Option<InterruptionSummary> {
    let mut each = Vec::new();
    let (mut flows, mut never, mut hours, mut outage, mut breaks) = (0, 0, 0.0, 0.0, 0);
    for (i, s) in sources.iter().enumerate() {
        if !matches!(s.spec.kind, TrafficKind::Cbr { .. }) {
            continue;
        }
        if Time::ZERO + s.spec.start >= end {
            continue; // not started within the run
        }
        let period = s.period().unwrap_or(Duration::ZERO);
        let stop = s.spec.stop.map_or(end, |d| (Time::ZERO + d).min(end));
        let (Some(first), Some(last)) = (s.stats.first_delivery, s.stats.last_delivery) else {
            never += 1;
            continue;
        };
        flows += 1;
        breaks += s.stats.reopens;
        hours += stop.saturating_since(first).as_secs_f64() / 3600.0;
        let trailing = stop.saturating_since(last);
        let gaps = s
            .stats
            .gaps
            .iter()
            .map(|&(at, g)| (at, g, false))
            .chain((trailing >= THRESHOLD).then_some((last, trailing, true)));
        for (at, gap, open) in gaps {
            if gap < THRESHOLD {
                continue;
            }
            outage += Duration::from_nanos(gap.as_nanos().saturating_sub(period.as_nanos()))
                .as_secs_f64();
            each.push(Interruption {
                flow: i,
                at_s: round(at.as_secs_f64(), 6),
                duration_s: round(gap.as_secs_f64(), 6),
                open,
            });
        }
    }
    if flows + never == 0 {
        return None;
    }
    let mut lengths: Vec<f64> = each.iter().map(|x| x.duration_s).collect();
    lengths.sort_by(f64::total_cmp);
    let per = |x: f64| {
        if hours > 0.0 {
            round(x / hours, 4)
        } else {
            0.0
        }
    };
    Some(InterruptionSummary {
        threshold_s: THRESHOLD.as_secs_f64(),
        flows,
        never_delivered: never,
        flow_hours: round(hours, 4),
        breaks,
        breaks_per_hour: per(breaks as f64),
        count: each.len() as u64,
        per_hour: per(each.len() as f64),
        outage_s: round(outage, 4),
        outage_s_per_hour: per(outage),
        longest_s: lengths.last().copied().unwrap_or(0.0),
        median_s: (!lengths.is_empty()).then(|| lengths[lengths.len() / 2]),
        each,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Time {
        Time::ZERO + Duration::from_millis(s)
    }

    #[test]
    fn gaps_over_the_threshold_and_an_unrecovered_end_count() {
        let spec = crate::model::TrafficSpec {
            name: "f".into(),
            from: 0,
            to: Some(1),
            path: Vec::new(),
            discover: true,
            transport: node_core::RouteKind::Stream,
            channel: 1,
            class: node_core::Class::Realtime,
            start: Duration::ZERO,
            stop: None,
            kind: TrafficKind::Cbr {
                rate_bps: 1_000_000,
                message: 100,
            },
            deadline: None,
            routes: None,
        };
        let mut s = Source::new(spec, Duration::ZERO);
        let period = s.period().unwrap().as_secs_f64();
        s.stats.first_delivery = Some(at(0));
        s.stats.last_delivery = Some(at(3_000_000));
        s.stats.gaps = vec![
            (at(1000), Duration::from_millis(500)),
            (at(2000), Duration::from_millis(2500)),
        ];
        // Watched for an hour: the last 600 s without a delivery.
        let x = summary(&[s], at(3_600_000)).unwrap();
        assert_eq!(x.flows, 1);
        assert_eq!(x.count, 3, "two gaps and the unrecovered end");
        assert!(x.each[2].open);
        assert!((x.flow_hours - 1.0).abs() < 1e-9);
        // 0.5 s + 2.5 s + 600 s, less the message interval each.
        let want = 603.0 - 3.0 * period;
        assert!((x.outage_s - want).abs() < 1e-3, "{} vs {want}", x.outage_s);
        assert_eq!(x.longest_s, 600.0);
    }
}
