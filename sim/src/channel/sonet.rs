//! Protection switching on a SONET ring.
//!
//! When a span's fiber is cut, the ring switches the span's traffic onto the
//! protection path, the other way round the ring, after `switch_time` (SONET
//! promises at most 50 ms). During the switch the span carries nothing; after
//! it, traffic takes the longer way and pays the difference in latency.
//!
//! Assumptions:
//! - The protection path has spare capacity reserved for it, as a
//!   bidirectional line-switched ring (BLSR) reserves half of each span, so
//!   rerouted traffic does not compete with the other spans' own traffic: the
//!   model only adds latency.
//! - With two or more spans cut, the ring is split and a cut span has no
//!   protection path. When all but one cut are repaired, the remaining cut
//!   span's traffic flows again at once if its switch had completed (the
//!   loop-back at the nodes next to the cut is still in place).
//! - A ring of one span (a city looped to itself) has no other way round.

use node_core::{Duration, Time};

use super::DropCause;
use crate::model::SonetRingSpec;

/// The protection state of one SONET ring.
#[derive(Debug, Clone)]
pub struct SonetRing {
    spec: SonetRingSpec,
    span_latency: Vec<Duration>,
    /// When each span was cut, if it is cut now.
    cut_at: Vec<Option<Time>>,
}

impl SonetRing {
    /// An intact ring; `span_latency[i]` is the propagation latency of span
    /// `i`. The number of spans is the length of `span_latency`.
    pub fn new(spec: SonetRingSpec, span_latency: Vec<Duration>) -> Self {
        debug_assert_eq!(spec.spans.len(), span_latency.len());
        let n = span_latency.len();
        Self {
            spec,
            span_latency,
            cut_at: vec![None; n],
        }
    }

    /// The ring's parameters.
    pub fn spec(&self) -> &SonetRingSpec {
        &self.spec
    }

    /// A fiber cut on `span` at `now`. Cutting a span that is already cut
    /// keeps the first cut's time; an unknown span is ignored.
    pub fn cut(&mut self, span: usize, now: Time) {
        if let Some(c) = self.cut_at.get_mut(span) {
            c.get_or_insert(now);
        }
    }

    /// The fiber of `span` is repaired at `now`: traffic goes back onto it at
    /// once (revertive switching; the switch-back time is not modelled).
    pub fn repair(&mut self, span: usize, _now: Time) {
        if let Some(c) = self.cut_at.get_mut(span) {
            *c = None;
        }
    }

    /// Whether `span` is cut.
    pub fn is_cut(&self, span: usize) -> bool {
        matches!(self.cut_at.get(span), Some(Some(_)))
    }

    /// How traffic on `span` fares at `now`: `Ok(extra)` with `extra` zero
    /// on an intact span, or after protection switching the latency of the
    /// other way round the ring minus the span's own latency (zero if the
    /// other way is not longer). `Err(Down)` during the switch (`cut_at <=
    /// now < cut_at + switch_time`), when no protection path exists (another
    /// span is cut too), and for an unknown span.
    pub fn route(&self, span: usize, now: Time) -> Result<Duration, DropCause> {
        let Some(&cut) = self.cut_at.get(span) else {
            return Err(DropCause::Down);
        };
        let Some(cut) = cut else {
            return Ok(Duration::ZERO);
        };
        if !self.protection_available(span) || now < cut + self.spec.switch_time {
            return Err(DropCause::Down);
        }
        Ok(self.detour(span))
    }

    /// When protection switching of a cut `span` completes (or completed):
    /// `None` for an intact span and while no protection path exists.
    pub fn switch_completed_at(&self, span: usize) -> Option<Time> {
        let cut = (*self.cut_at.get(span)?)?;
        self.protection_available(span)
            .then(|| cut + self.spec.switch_time)
    }

    /// The latency of the other way round the ring from `span`'s ends.
    pub fn other_way_latency(&self, span: usize) -> Duration {
        self.span_latency
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != span)
            .fold(Duration::ZERO, |acc, (_, &l)| acc + l)
    }

    /// The extra latency of the protection path over `span` itself.
    fn detour(&self, span: usize) -> Duration {
        let own = self
            .span_latency
            .get(span)
            .copied()
            .unwrap_or(Duration::ZERO);
        Duration::from_nanos(
            self.other_way_latency(span)
                .as_nanos()
                .saturating_sub(own.as_nanos()),
        )
    }

    /// Whether the other way round exists: the ring has another span and no
    /// span other than `span` is cut.
    fn protection_available(&self, span: usize) -> bool {
        self.cut_at.len() >= 2
            && self
                .cut_at
                .iter()
                .enumerate()
                .all(|(i, c)| i == span || c.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(lat_ms: &[u64], switch_ms: u64) -> SonetRing {
        let n = lat_ms.len();
        let spec = SonetRingSpec {
            cities: (0..n).collect(),
            spans: (0..n).collect(),
            switch_time: Duration::from_millis(switch_ms),
        };
        SonetRing::new(
            spec,
            lat_ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        )
    }

    #[test]
    fn intact_span_has_no_extra_latency() {
        let r = ring(&[1, 2, 3, 4], 50);
        for s in 0..4 {
            assert_eq!(r.route(s, Time::from_nanos(123)), Ok(Duration::ZERO));
            assert_eq!(r.switch_completed_at(s), None);
        }
        assert_eq!(r.route(4, Time::ZERO), Err(DropCause::Down));
    }

    #[test]
    fn cut_switches_within_switch_time_then_detours() {
        let lat = [1, 2, 3, 4];
        let r0 = ring(&lat, 50);
        let mut r = r0.clone();
        let t = Time::from_nanos(1_000_000_000);
        let switch = r0.spec().switch_time;
        assert!(switch <= Duration::from_millis(50));
        r.cut(0, t);
        let done = t + switch;
        assert_eq!(r.switch_completed_at(0), Some(done));
        assert_eq!(r.route(0, t), Err(DropCause::Down));
        assert_eq!(
            r.route(0, done - Duration::from_nanos(1)),
            Err(DropCause::Down)
        );
        // Other way round: 2 + 3 + 4 ms; own span: 1 ms.
        let other: u64 = lat[1..].iter().sum();
        let extra = Duration::from_millis(other - lat[0]);
        assert_eq!(r.route(0, done), Ok(extra));
        assert_eq!(r.other_way_latency(0), Duration::from_millis(other));
        // The other spans are unaffected (reserved protection capacity).
        assert_eq!(r.route(1, t), Ok(Duration::ZERO));
        // A second cut of the same span keeps the first cut's time.
        r.cut(0, done);
        assert_eq!(r.switch_completed_at(0), Some(done));
    }

    #[test]
    fn second_cut_leaves_no_protection_path_and_repair_restores() {
        let mut r = ring(&[5, 1, 1, 1], 50);
        let t = Time::from_nanos(10);
        r.cut(0, t);
        let later = t + Duration::from_secs(1);
        r.cut(2, later);
        assert_eq!(r.route(0, later), Err(DropCause::Down));
        assert_eq!(
            r.route(2, later + Duration::from_secs(1)),
            Err(DropCause::Down)
        );
        assert_eq!(r.switch_completed_at(0), None);
        assert_eq!(r.route(1, later), Ok(Duration::ZERO));
        // Repairing the second cut brings back the first span's protection
        // path; its switch was done long ago. Other way (3 ms) is shorter
        // than the span (5 ms): no extra latency.
        r.repair(2, later);
        assert_eq!(r.route(0, later), Ok(Duration::ZERO));
        assert_eq!(r.route(2, later), Ok(Duration::ZERO));
        r.repair(0, later);
        assert!(!r.is_cut(0));
        assert_eq!(r.route(0, later), Ok(Duration::ZERO));
    }

    #[test]
    fn single_span_ring_has_no_protection() {
        let mut r = ring(&[1], 50);
        r.cut(0, Time::ZERO);
        assert_eq!(r.route(0, Time::from_nanos(u64::MAX)), Err(DropCause::Down));
        // Unknown spans are ignored.
        r.cut(7, Time::ZERO);
        r.repair(7, Time::ZERO);
    }
}
