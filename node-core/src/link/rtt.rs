//! Round-trip time estimation and retransmission timeout (RFC 6298), with
//! QUIC's ack-delay handling (RFC 9002 §5.3).
//!
//! All arithmetic is on integer nanoseconds so that every node computes the
//! same timeouts bit for bit, whatever the platform; nothing here can
//! overflow or panic, however large the inputs.

/// Clock granularity `G` of RFC 6298 §2: the floor on the variance term of
/// the RTO, so that a perfectly stable RTT does not produce an RTO equal to
/// the RTT (which would fire on the slightest jitter).
pub const GRANULARITY_NS: u64 = 1_000_000;

/// Largest backoff exponent: `2^16` multiplied by any RTO already saturates
/// against any sensible `max_rto`, and the cap keeps the shift well defined.
pub const MAX_BACKOFF: u32 = 16;

/// Smoothed RTT, RTT variance, minimum RTT and the derived retransmission
/// timeout with exponential backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RttEstimator {
    initial_rtt_ns: u64,
    min_rto_ns: u64,
    max_rto_ns: u64,
    srtt_ns: u64,
    rttvar_ns: u64,
    min_rtt_ns: Option<u64>,
    latest_ns: Option<u64>,
    backoff: u32,
}

impl RttEstimator {
    /// Creates an estimator with no sample yet.
    ///
    /// Until the first sample, [`srtt`](Self::srtt) reports `initial_rtt_ns`
    /// and [`rttvar`](Self::rttvar) half of it, as if the initial guess were a
    /// sample. If `min_rto_ns > max_rto_ns`, `max_rto_ns` is raised to
    /// `min_rto_ns` rather than panicking: the floor protects against
    /// spurious retransmissions, which matters more than the ceiling.
    pub fn new(initial_rtt_ns: u64, min_rto_ns: u64, max_rto_ns: u64) -> Self {
        Self {
            initial_rtt_ns,
            min_rto_ns,
            max_rto_ns: max_rto_ns.max(min_rto_ns),
            srtt_ns: initial_rtt_ns,
            rttvar_ns: initial_rtt_ns / 2,
            min_rtt_ns: None,
            latest_ns: None,
            backoff: 0,
        }
    }

    /// Feeds one RTT measurement `rtt_ns`, of which the peer reports having
    /// held the acknowledgement for `ack_delay_ns`.
    ///
    /// The ack delay is subtracted only if the result stays at or above the
    /// minimum RTT seen, so that a peer over-reporting its delay cannot drive
    /// the estimate below what the path has ever achieved. The minimum RTT
    /// itself uses raw samples, because the reported delay is not trusted.
    /// Does not reset the backoff: the caller decides with
    /// [`reset_backoff`](Self::reset_backoff), since a sample from a
    /// retransmitted packet may be ambiguous (Karn's algorithm).
    pub fn on_sample(&mut self, rtt_ns: u64, ack_delay_ns: u64) {
        let first = self.latest_ns.is_none();
        self.latest_ns = Some(rtt_ns);
        let min_rtt = self.min_rtt_ns.map_or(rtt_ns, |m| m.min(rtt_ns));
        self.min_rtt_ns = Some(min_rtt);

        // `checked_sub` rather than comparing against `min_rtt + ack_delay`,
        // which would saturate and wrongly allow the subtraction.
        let adjusted = rtt_ns
            .checked_sub(ack_delay_ns)
            .filter(|&a| a >= min_rtt)
            .unwrap_or(rtt_ns);

        if first {
            self.srtt_ns = adjusted;
            self.rttvar_ns = adjusted / 2;
        } else {
            // u128 keeps the weighted sums exact; each result is a weighted
            // mean of u64 values, so it always fits back into u64.
            let diff = u128::from(self.srtt_ns.abs_diff(adjusted));
            let rttvar = (3 * u128::from(self.rttvar_ns) + diff) / 4;
            let srtt = (7 * u128::from(self.srtt_ns) + u128::from(adjusted)) / 8;
            self.rttvar_ns = u64::try_from(rttvar).unwrap_or(u64::MAX);
            self.srtt_ns = u64::try_from(srtt).unwrap_or(u64::MAX);
        }
    }

    /// Smoothed RTT (SRTT), in nanoseconds.
    pub fn srtt(&self) -> u64 {
        self.srtt_ns
    }

    /// RTT variance (RTTVAR), in nanoseconds.
    pub fn rttvar(&self) -> u64 {
        self.rttvar_ns
    }

    /// Smallest raw sample seen, if any.
    pub fn min_rtt(&self) -> Option<u64> {
        self.min_rtt_ns
    }

    /// Most recent raw sample, if any.
    pub fn latest(&self) -> Option<u64> {
        self.latest_ns
    }

    /// Whether at least one sample has been taken.
    pub fn has_sample(&self) -> bool {
        self.latest_ns.is_some()
    }

    /// Retransmission timeout in nanoseconds, backoff included.
    ///
    /// `SRTT + max(G, 4 * RTTVAR)` once sampled, `2 * initial_rtt` before
    /// (RFC 6298's fixed 1 s initial RTO is far too long for a simulated
    /// mesh, so the initial guess drives it instead), clamped to
    /// `[min_rto, max_rto]`, then multiplied by `2^backoff` and capped at
    /// `max_rto` again.
    pub fn rto(&self) -> u64 {
        self.base_rto()
            .saturating_mul(1u64 << self.backoff.min(MAX_BACKOFF))
            .min(self.max_rto_ns)
    }

    /// The retransmission timeout without backoff, in nanoseconds.
    pub fn base_rto(&self) -> u64 {
        let base = if self.has_sample() {
            self.srtt_ns
                .saturating_add(GRANULARITY_NS.max(self.rttvar_ns.saturating_mul(4)))
        } else {
            self.initial_rtt_ns.saturating_mul(2)
        };
        // `max` then `min` instead of `clamp`, which panics on an inverted
        // interval; `new` already guarantees min <= max, this is belt and
        // braces.
        base.max(self.min_rto_ns).min(self.max_rto_ns)
    }

    /// Doubles the RTO after a retransmission timeout fired (up to
    /// `2^MAX_BACKOFF`).
    pub fn on_timeout(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
    }

    /// Returns the RTO to its un-backed-off value, once an acknowledgement
    /// for new data shows the path is alive again.
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// Current backoff exponent (the RTO is multiplied by `2^backoff`).
    pub fn backoff(&self) -> u32 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn before_first_sample() {
        let r = RttEstimator::new(100 * MS, 0, u64::MAX);
        assert!(!r.has_sample());
        assert_eq!(r.srtt(), 100 * MS);
        assert_eq!(r.rttvar(), 50 * MS);
        assert_eq!(r.min_rtt(), None);
        assert_eq!(r.latest(), None);
        assert_eq!(r.rto(), 200 * MS);
        assert_eq!(r.backoff(), 0);
    }

    #[test]
    fn rfc6298_sequence() {
        let mut r = RttEstimator::new(500 * MS, 0, u64::MAX);
        r.on_sample(100 * MS, 0);
        assert!(r.has_sample());
        assert_eq!((r.srtt(), r.rttvar()), (100 * MS, 50 * MS));
        assert_eq!(r.rto(), 300 * MS);

        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
        r.on_sample(200 * MS, 0);
        assert_eq!((r.srtt(), r.rttvar()), (112_500_000, 62_500_000));
        assert_eq!(r.rto(), 362_500_000);

        // RTTVAR = 3/4 * 62.5 + 1/4 * 32.5 = 55; SRTT = 7/8 * 112.5 + 1/8 * 80 = 108.4375.
        r.on_sample(80 * MS, 0);
        assert_eq!((r.srtt(), r.rttvar()), (108_437_500, 55 * MS));
        assert_eq!(r.rto(), 328_437_500);
        assert_eq!(r.min_rtt(), Some(80 * MS));
        assert_eq!(r.latest(), Some(80 * MS));
    }

    #[test]
    fn integer_truncation_and_granularity() {
        let mut r = RttEstimator::new(0, 0, u64::MAX);
        assert_eq!(r.rto(), 0);
        r.on_sample(3, 0);
        assert_eq!((r.srtt(), r.rttvar()), (3, 1));
        r.on_sample(10, 0);
        // RTTVAR = (3 * 1 + 7) / 4 = 2; SRTT = (7 * 3 + 10) / 8 = 3.
        assert_eq!((r.srtt(), r.rttvar()), (3, 2));
        // 4 * RTTVAR = 8 ns is below G.
        assert_eq!(r.rto(), 3 + GRANULARITY_NS);
    }

    #[test]
    fn ack_delay_subtracted_only_above_min_rtt() {
        let mut r = RttEstimator::new(0, 0, u64::MAX);
        // First sample: min_rtt = 100, 100 - 30 < min_rtt, so no subtraction.
        r.on_sample(100 * MS, 30 * MS);
        assert_eq!((r.srtt(), r.rttvar()), (100 * MS, 50 * MS));
        assert_eq!(r.min_rtt(), Some(100 * MS));

        // 150 - 30 = 120 >= 100: adjusted sample is 120.
        r.on_sample(150 * MS, 30 * MS);
        assert_eq!((r.srtt(), r.rttvar()), (102_500_000, 42_500_000));
        assert_eq!(r.latest(), Some(150 * MS));

        // 110 - 30 = 80 < 100: the raw 110 is used.
        r.on_sample(110 * MS, 30 * MS);
        // RTTVAR = (3 * 42.5 + 7.5) / 4 = 33.75; SRTT = (7 * 102.5 + 110) / 8 = 103.4375.
        assert_eq!((r.srtt(), r.rttvar()), (103_437_500, 33_750_000));

        // Exactly at the boundary: 120 - 20 = 100 == min_rtt is allowed.
        let mut b = RttEstimator::new(0, 0, u64::MAX);
        b.on_sample(100 * MS, 0);
        b.on_sample(120 * MS, 20 * MS);
        // Adjusted 100: RTTVAR = 3/4 * 50 = 37.5, SRTT unchanged.
        assert_eq!((b.srtt(), b.rttvar()), (100 * MS, 37_500_000));

        // min_rtt tracks raw samples, never the adjusted ones.
        b.on_sample(90 * MS, 50 * MS);
        assert_eq!(b.min_rtt(), Some(90 * MS));
    }

    #[test]
    fn clamping() {
        let mut r = RttEstimator::new(10 * MS, 1000 * MS, 60_000 * MS);
        assert_eq!(r.rto(), 1000 * MS);
        r.on_sample(5 * MS, 0);
        assert_eq!(r.rto(), 1000 * MS);

        let mut r = RttEstimator::new(10 * MS, 0, 250 * MS);
        r.on_sample(200 * MS, 0);
        assert_eq!(r.rto(), 250 * MS);

        // Inverted bounds: the floor wins instead of panicking.
        let r = RttEstimator::new(10 * MS, 5000 * MS, 1000 * MS);
        assert_eq!(r.rto(), 5000 * MS);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut r = RttEstimator::new(100 * MS, 200 * MS, 60_000 * MS);
        r.on_sample(100 * MS, 0);
        assert_eq!(r.rto(), 300 * MS);
        r.on_timeout();
        assert_eq!((r.backoff(), r.rto()), (1, 600 * MS));
        r.on_timeout();
        assert_eq!((r.backoff(), r.rto()), (2, 1200 * MS));
        for _ in 0..5 {
            r.on_timeout();
        }
        // 300 ms * 2^7 = 38.4 s; one more doubling passes max_rto.
        assert_eq!((r.backoff(), r.rto()), (7, 38_400 * MS));
        r.on_timeout();
        assert_eq!(r.rto(), 60_000 * MS);
        for _ in 0..100 {
            r.on_timeout();
        }
        assert_eq!(r.backoff(), MAX_BACKOFF);
        assert_eq!(r.rto(), 60_000 * MS);

        // A sample alone does not reset the backoff; reset_backoff does.
        r.on_sample(100 * MS, 0);
        assert_eq!(r.backoff(), MAX_BACKOFF);
        r.reset_backoff();
        assert_eq!(r.backoff(), 0);
        // That steady sample shrank RTTVAR to 37.5 ms: 100 + 4 * 37.5.
        assert_eq!(r.rto(), 250 * MS);
    }

    #[test]
    fn backoff_cap_without_max_rto() {
        let mut r = RttEstimator::new(MS, 0, u64::MAX);
        for _ in 0..40 {
            r.on_timeout();
        }
        assert_eq!(r.rto(), (2 * MS) << MAX_BACKOFF);
    }

    #[test]
    fn huge_samples_saturate() {
        let mut r = RttEstimator::new(u64::MAX, 0, u64::MAX);
        assert_eq!(r.rto(), u64::MAX);
        r.on_sample(u64::MAX, u64::MAX);
        assert_eq!(r.srtt(), u64::MAX);
        assert_eq!(r.rto(), u64::MAX);
        r.on_sample(u64::MAX / 4, u64::MAX);
        r.on_sample(0, u64::MAX);
        r.on_sample(u64::MAX, 0);
        assert_eq!(r.rto(), u64::MAX);
        for _ in 0..20 {
            r.on_timeout();
        }
        assert_eq!(r.rto(), u64::MAX);

        let mut r = RttEstimator::new(0, 0, u64::MAX);
        r.on_sample(u64::MAX / 4, 0);
        r.on_sample(u64::MAX, 0);
        assert_eq!(r.rto(), u64::MAX);
    }

    /// Small values exercise the ack-delay rule, huge ones saturation.
    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..1000u64,
            any::<u64>(),
            (0..1000u64).prop_map(|d| u64::MAX - d),
            Just(0),
            Just(u64::MAX),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(
            initial in any::<u64>(),
            min_rto in any::<u64>(),
            max_rto in any::<u64>(),
            events in proptest::collection::vec((value(), value(), 0u8..4), 0..40),
        ) {
            let mut r = RttEstimator::new(initial, min_rto, max_rto);
            let mut min_seen: Option<u64> = None;
            // Reference model in u128, where nothing can saturate.
            let mut model: Option<(u128, u128)> = None;
            for (rtt, delay, kind) in events {
                match kind {
                    0 | 1 => {
                        r.on_sample(rtt, delay);
                        let min = min_seen.map_or(rtt, |m| m.min(rtt));
                        min_seen = Some(min);
                        let (rtt, delay) = (u128::from(rtt), u128::from(delay));
                        let adj = if rtt >= u128::from(min) + delay { rtt - delay } else { rtt };
                        model = Some(match model {
                            None => (adj, adj / 2),
                            Some((srtt, var)) => {
                                ((7 * srtt + adj) / 8, (3 * var + srtt.abs_diff(adj)) / 4)
                            }
                        });
                        let (srtt, var) = model.unwrap_or_default();
                        prop_assert_eq!(u128::from(r.srtt()), srtt);
                        prop_assert_eq!(u128::from(r.rttvar()), var);
                        prop_assert_eq!(r.latest(), u64::try_from(rtt).ok());
                    }
                    2 => r.on_timeout(),
                    _ => r.reset_backoff(),
                }
                prop_assert_eq!(r.min_rtt(), min_seen);
                prop_assert!(r.backoff() <= MAX_BACKOFF);
                let rto = r.rto();
                prop_assert!(rto >= min_rto);
                prop_assert!(rto <= max_rto.max(min_rto));
            }
        }
    }
}
