//! Sliding anti-replay window over 64-bit packet numbers (RFC 6479 style,
//! as in WireGuard).
//!
//! Split into [`ReplayWindow::check`] and [`ReplayWindow::commit`] so that a
//! forged packet can be discarded cheaply before decryption without being
//! able to move the window: only authenticated packets commit.

/// How many packet numbers below the highest one are tracked: packets
/// reordered by less than this are accepted once, older ones are rejected.
pub const WINDOW: u64 = 2048;

/// Bits per bitmap word.
const WORD_BITS: u64 = u64::BITS as u64;

/// Ring size in words. One word more than `WINDOW` needs, because a window
/// of `WINDOW` values that does not start on a word boundary straddles
/// `WINDOW / 64 + 1` words; without the spare word, the oldest packets of
/// the window would share a word with the newest and be cleared early.
const WORDS: usize = (WINDOW / WORD_BITS) as usize + 1;

/// Verdict of [`ReplayWindow::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplayCheck {
    /// Never seen and inside (or ahead of) the window: may be accepted.
    Fresh,
    /// Already committed: a replay or a network duplicate.
    Duplicate,
    /// More than `WINDOW - 1` below the highest packet number seen, so the
    /// window can no longer tell whether it was seen: rejected.
    TooOld,
}

/// Anti-replay window remembering which of the last [`WINDOW`] packet
/// numbers (counting down from the highest committed one) were received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Ring of words; packet number `pn` lives in word `(pn / 64) % WORDS`,
    /// bit `pn % 64`. Words that hold no packet of the current window are
    /// kept zero, so advancing only has to clear the words it enters.
    bitmap: [u64; WORDS],
    /// Highest committed packet number; `None` until the first commit, so
    /// that packet number 0 is fresh.
    highest: Option<u64>,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// Creates a window in which every packet number is fresh.
    pub fn new() -> Self {
        Self {
            bitmap: [0; WORDS],
            highest: None,
        }
    }

    /// Classifies `pn` without changing the window; meant to run before
    /// decryption.
    pub fn check(&self, pn: u64) -> ReplayCheck {
        let Some(highest) = self.highest else {
            return ReplayCheck::Fresh;
        };
        if pn > highest {
            return ReplayCheck::Fresh;
        }
        if highest - pn >= WINDOW {
            return ReplayCheck::TooOld;
        }
        let (word, mask) = Self::locate(pn);
        if self.bitmap[word] & mask != 0 {
            ReplayCheck::Duplicate
        } else {
            ReplayCheck::Fresh
        }
    }

    /// Marks `pn` as received, sliding the window forward if `pn` is the new
    /// highest. Meant to run only once the packet authenticated. Returns
    /// `false`, changing nothing, if `pn` was not [`ReplayCheck::Fresh`].
    pub fn commit(&mut self, pn: u64) -> bool {
        if self.check(pn) != ReplayCheck::Fresh {
            return false;
        }
        match self.highest {
            Some(highest) if pn <= highest => {}
            Some(highest) => {
                let old_word = highest / WORD_BITS;
                let new_word = pn / WORD_BITS;
                if new_word - old_word >= WORDS as u64 {
                    self.bitmap = [0; WORDS];
                } else {
                    // Words between the old and new highest start a new
                    // lap of the ring: their previous contents are packets
                    // that just slid out of the window.
                    for w in old_word + 1..=new_word {
                        self.bitmap[(w % WORDS as u64) as usize] = 0;
                    }
                }
                self.highest = Some(pn);
            }
            None => self.highest = Some(pn),
        }
        let (word, mask) = Self::locate(pn);
        self.bitmap[word] |= mask;
        true
    }

    /// Highest committed packet number, if any.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Ring index and bit mask of `pn`.
    fn locate(pn: u64) -> (usize, u64) {
        let word = ((pn / WORD_BITS) % WORDS as u64) as usize;
        (word, 1u64 << (pn % WORD_BITS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn zero_is_fresh_initially() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.highest(), None);
        assert_eq!(w.check(0), ReplayCheck::Fresh);
        assert!(w.commit(0));
        assert_eq!(w.highest(), Some(0));
        assert_eq!(w.check(0), ReplayCheck::Duplicate);
        assert!(!w.commit(0));
    }

    #[test]
    fn in_order() {
        let mut w = ReplayWindow::default();
        for pn in 0..10_000 {
            assert_eq!(w.check(pn), ReplayCheck::Fresh);
            assert!(w.commit(pn));
            assert_eq!(w.check(pn), ReplayCheck::Duplicate);
        }
        assert_eq!(w.highest(), Some(9_999));
        assert_eq!(w.check(9_999 - (WINDOW - 1)), ReplayCheck::Duplicate);
        assert_eq!(w.check(9_999 - WINDOW), ReplayCheck::TooOld);
    }

    #[test]
    fn out_of_order_within_window() {
        let mut w = ReplayWindow::new();
        assert!(w.commit(100));
        assert!(w.commit(50));
        assert!(w.commit(99));
        assert!(!w.commit(50));
        assert!(!w.commit(100));
        assert_eq!(w.check(98), ReplayCheck::Fresh);
        assert_eq!(w.highest(), Some(100));
        // Values below the first packet but inside the window are fresh.
        assert_eq!(w.check(0), ReplayCheck::Fresh);
        assert!(w.commit(0));
        assert_eq!(w.check(0), ReplayCheck::Duplicate);
    }

    #[test]
    fn window_edges() {
        // Try every alignment of the window against the 64-bit words.
        for highest in [
            5_000u64,
            5_000 + 1,
            5_000 + 63,
            64 * 100,
            64 * 100 + 1,
            64 * 100 - 1,
        ] {
            let mut w = ReplayWindow::new();
            for pn in highest - WINDOW - 10..=highest {
                assert!(w.commit(pn));
            }
            let edge = highest - (WINDOW - 1);
            assert_eq!(w.check(edge), ReplayCheck::Duplicate, "highest {highest}");
            assert_eq!(w.check(edge - 1), ReplayCheck::TooOld);

            let mut w = ReplayWindow::new();
            assert!(w.commit(highest));
            assert_eq!(w.check(edge), ReplayCheck::Fresh, "highest {highest}");
            assert_eq!(w.check(edge - 1), ReplayCheck::TooOld);
            assert!(w.commit(edge));
            assert!(!w.commit(edge));
            assert!(!w.commit(edge - 1));
            // The edge packet must survive until the window moves past it.
            assert_eq!(w.check(edge), ReplayCheck::Duplicate);
            assert!(w.commit(highest + 1));
            assert_eq!(w.check(edge), ReplayCheck::TooOld);
        }
    }

    #[test]
    fn big_jumps() {
        let mut w = ReplayWindow::new();
        for pn in 0..100 {
            w.commit(pn);
        }
        assert!(w.commit(1_000_000));
        assert_eq!(w.check(99), ReplayCheck::TooOld);
        // Bits left over from before the jump must not make these look seen.
        for pn in 1_000_000 - (WINDOW - 1)..1_000_000 {
            assert_eq!(w.check(pn), ReplayCheck::Fresh, "pn {pn}");
        }
        // A jump of just under the ring size must clear too.
        let mut w = ReplayWindow::new();
        for pn in 0..WINDOW {
            w.commit(pn);
        }
        assert!(w.commit(WINDOW + WINDOW - 1));
        for pn in WINDOW..WINDOW + WINDOW - 1 {
            assert_eq!(w.check(pn), ReplayCheck::Fresh, "pn {pn}");
        }
    }

    #[test]
    fn near_u64_max() {
        let mut w = ReplayWindow::new();
        assert!(w.commit(u64::MAX - 3000));
        assert!(w.commit(u64::MAX - 1));
        assert!(w.commit(u64::MAX));
        assert!(!w.commit(u64::MAX));
        assert_eq!(w.check(u64::MAX - 1), ReplayCheck::Duplicate);
        assert_eq!(w.check(u64::MAX - 2), ReplayCheck::Fresh);
        assert_eq!(w.check(u64::MAX - (WINDOW - 1)), ReplayCheck::Fresh);
        assert_eq!(w.check(u64::MAX - WINDOW), ReplayCheck::TooOld);
        assert_eq!(w.check(0), ReplayCheck::TooOld);
        assert_eq!(w.highest(), Some(u64::MAX));

        let mut w = ReplayWindow::new();
        assert!(w.commit(0));
        assert!(w.commit(u64::MAX));
        assert_eq!(w.check(0), ReplayCheck::TooOld);
    }

    #[test]
    fn shuffled_1500() {
        // Deterministic Fisher-Yates with a 64-bit LCG (Knuth's MMIX constants).
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let base = 1_000_000u64;
        let mut pns: Vec<u64> = (base..base + 1500).collect();
        for i in (1..pns.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            pns.swap(i, j);
        }
        let mut w = ReplayWindow::new();
        for &pn in &pns {
            assert_eq!(w.check(pn), ReplayCheck::Fresh, "pn {pn}");
            assert!(w.commit(pn));
        }
        for &pn in &pns {
            assert_eq!(w.check(pn), ReplayCheck::Duplicate, "pn {pn}");
            assert!(!w.commit(pn));
        }
        assert_eq!(w.highest(), Some(base + 1499));
    }

    /// Reference semantics: a set of everything committed plus the highest.
    #[derive(Default)]
    struct Model {
        seen: BTreeSet<u64>,
        highest: Option<u64>,
    }

    impl Model {
        fn check(&self, pn: u64) -> ReplayCheck {
            match self.highest {
                None => ReplayCheck::Fresh,
                Some(h) if pn > h => ReplayCheck::Fresh,
                Some(h) if h - pn >= WINDOW => ReplayCheck::TooOld,
                _ if self.seen.contains(&pn) => ReplayCheck::Duplicate,
                _ => ReplayCheck::Fresh,
            }
        }

        fn commit(&mut self, pn: u64) -> bool {
            if self.check(pn) != ReplayCheck::Fresh {
                return false;
            }
            self.seen.insert(pn);
            self.highest = Some(self.highest.map_or(pn, |h| h.max(pn)));
            true
        }
    }

    fn start() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            any::<u64>(),
            (0..10_000u64).prop_map(|d| u64::MAX - d),
        ]
    }

    /// An offset relative to the current highest: mostly small reorderings
    /// around the window edge, sometimes large jumps.
    fn step() -> impl Strategy<Value = (i64, bool)> {
        let offset = prop_oneof![
            6 => -80i64..8,
            3 => -2100i64..-1990,
            2 => -2100i64..200,
            1 => 1900i64..2200,
            1 => -100_000i64..100_000,
        ];
        (offset, prop::bool::weighted(0.8))
    }

    proptest! {
        #[test]
        fn matches_model(start in start(), steps in proptest::collection::vec(step(), 1..400)) {
            let mut w = ReplayWindow::new();
            let mut m = Model::default();
            for (offset, commit) in steps {
                let base = m.highest.unwrap_or(start);
                let pn = base.saturating_add_signed(offset);
                prop_assert_eq!(w.check(pn), m.check(pn), "pn {}", pn);
                if commit {
                    prop_assert_eq!(w.commit(pn), m.commit(pn), "pn {}", pn);
                }
                prop_assert_eq!(w.highest(), m.highest);
                // Re-checking a spread of earlier values catches stale bits.
                if let Some(h) = m.highest {
                    for back in [0, 1, 63, 64, 65, 127, 1000, WINDOW - 65, WINDOW - 64, WINDOW - 1, WINDOW] {
                        let q = h.saturating_sub(back);
                        prop_assert_eq!(w.check(q), m.check(q), "q {}", q);
                    }
                }
            }
        }
    }
}
