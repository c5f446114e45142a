//! Random loss processes.
//!
//! A [`LossProcess`] is the state of one channel direction's random loss: a
//! Bernoulli process has none, a Gilbert-Elliott process remembers whether it
//! is in its good or bad state.
//!
//! Stream alignment: the number of random numbers a process draws per
//! datagram depends only on its model, never on outcomes (none for
//! [`LossModel::None`], one for Bernoulli, two for Gilbert-Elliott), so
//! changing a loss probability does not shift the draws of later datagrams.

use rand::{Rng, RngExt};

use crate::model::LossModel;

/// The random loss of one channel direction.
#[derive(Debug, Clone, PartialEq)]
pub struct LossProcess {
    model: LossModel,
    /// Gilbert-Elliott: whether the chain is in its bad state.
    bad: bool,
}

impl LossProcess {
    /// A process following `model`. A Gilbert-Elliott chain starts in its
    /// good state (a link starts out working); it forgets its start
    /// geometrically fast, at rate `1 - p_good_to_bad - p_bad_to_good`.
    pub fn new(model: LossModel) -> Self {
        Self { model, bad: false }
    }

    /// The model.
    pub fn model(&self) -> &LossModel {
        &self.model
    }

    /// Whether a Gilbert-Elliott chain is in its bad state (always `false`
    /// for the other models).
    pub fn in_bad_state(&self) -> bool {
        self.bad
    }

    /// Decides whether the next datagram is lost.
    ///
    /// Gilbert-Elliott convention: the chain first takes its transition for
    /// this datagram, then the datagram is lost with the loss probability of
    /// the *new* state. So with `loss_good = 0` and `loss_bad = 1`, a loss
    /// burst is exactly a sojourn in the bad state, and its length is
    /// geometric with mean `1 / p_bad_to_good`.
    ///
    /// Probabilities outside [0, 1] act as clamped (a draw `u` in [0, 1) is
    /// a success when `u < p`); NaN acts as 0.
    pub fn lose<R: Rng + ?Sized>(&mut self, rng: &mut R) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Bernoulli { p } => bernoulli(rng, p),
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.bad {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                };
                if bernoulli(rng, flip) {
                    self.bad = !self.bad;
                }
                bernoulli(rng, if self.bad { loss_bad } else { loss_good })
            }
        }
    }
}

/// One Bernoulli draw with success probability `p`; always one random
/// number, whatever `p` is.
pub(crate) fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// The long-run fraction of datagrams `model` loses.
///
/// For Gilbert-Elliott: `π_bad·loss_bad + π_good·loss_good` with
/// `π_bad = p_gb / (p_gb + p_bg)`. When both transition probabilities are
/// zero the chain never leaves its initial (good) state, so the long-run loss
/// is `loss_good`.
pub fn stationary_loss(model: &LossModel) -> f64 {
    match *model {
        LossModel::None => 0.0,
        LossModel::Bernoulli { p } => p,
        LossModel::GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_good,
            loss_bad,
        } => {
            let pi_bad = stationary_bad(p_good_to_bad, p_bad_to_good);
            pi_bad * loss_bad + (1.0 - pi_bad) * loss_good
        }
    }
}

/// The stationary probability of the bad state of a chain starting good.
pub(crate) fn stationary_bad(p_good_to_bad: f64, p_bad_to_good: f64) -> f64 {
    let sum = p_good_to_bad + p_bad_to_good;
    if sum > 0.0 { p_good_to_bad / sum } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn stationary_formula() {
        assert_eq!(stationary_loss(&LossModel::None), 0.0);
        assert_eq!(stationary_loss(&LossModel::Bernoulli { p: 0.25 }), 0.25);
        let ge = LossModel::GilbertElliott {
            p_good_to_bad: 0.1,
            p_bad_to_good: 0.3,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        assert!((stationary_loss(&ge) - 0.25).abs() < 1e-12);
        let stuck = LossModel::GilbertElliott {
            p_good_to_bad: 0.0,
            p_bad_to_good: 0.0,
            loss_good: 0.125,
            loss_bad: 1.0,
        };
        assert_eq!(stationary_loss(&stuck), 0.125);
    }

    #[test]
    fn extremes_are_exact() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut never = LossProcess::new(LossModel::Bernoulli { p: 0.0 });
        let mut always = LossProcess::new(LossModel::Bernoulli { p: 1.0 });
        let mut none = LossProcess::new(LossModel::None);
        let mut nan = LossProcess::new(LossModel::Bernoulli { p: f64::NAN });
        for _ in 0..10_000 {
            assert!(!never.lose(&mut rng));
            assert!(always.lose(&mut rng));
            assert!(!none.lose(&mut rng));
            assert!(!nan.lose(&mut rng));
        }
    }

    #[test]
    fn draws_per_datagram_do_not_depend_on_outcomes() {
        // Two processes with different probabilities consume their streams
        // in lockstep: after the same number of datagrams both streams are
        // at the same position.
        for (a, b) in [
            (
                LossModel::Bernoulli { p: 0.1 },
                LossModel::Bernoulli { p: 0.9 },
            ),
            (
                LossModel::GilbertElliott {
                    p_good_to_bad: 0.01,
                    p_bad_to_good: 0.5,
                    loss_good: 0.0,
                    loss_bad: 1.0,
                },
                LossModel::GilbertElliott {
                    p_good_to_bad: 0.7,
                    p_bad_to_good: 0.2,
                    loss_good: 0.3,
                    loss_bad: 0.6,
                },
            ),
        ] {
            let mut ra = ChaCha20Rng::seed_from_u64(9);
            let mut rb = ChaCha20Rng::seed_from_u64(9);
            let (mut pa, mut pb) = (LossProcess::new(a), LossProcess::new(b));
            for _ in 0..1000 {
                pa.lose(&mut ra);
                pb.lose(&mut rb);
            }
            assert_eq!(ra.next_u64(), rb.next_u64());
        }
    }

    #[test]
    fn chain_stuck_in_good_state() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut p = LossProcess::new(LossModel::GilbertElliott {
            p_good_to_bad: 0.0,
            p_bad_to_good: 1.0,
            loss_good: 0.0,
            loss_bad: 1.0,
        });
        assert!((0..10_000).all(|_| !p.lose(&mut rng)));
        assert!(!p.in_bad_state());
    }
}
