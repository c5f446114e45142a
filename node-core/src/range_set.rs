//! Sets of `u64` values stored as sorted, disjoint, non-adjacent ranges.
//!
//! Used for packet numbers received (to build ACK frames) and acked, and for
//! the byte ranges of a message received (reassembly) and acked. Values
//! usually arrive in roughly ascending order, so the set stays small: one
//! range per gap, not one entry per value.
//!
//! The API speaks half-open [`Range<u64>`]s, which cannot describe the value
//! `u64::MAX` itself. The set therefore never contains `u64::MAX`: inserting
//! it is a no-op, and a range may end at `u64::MAX` (covering up to
//! `u64::MAX - 1`) without any arithmetic overflowing.

use core::ops::Range;
use std::collections::BTreeMap;

/// A set of `u64` values stored as sorted, disjoint, non-adjacent ranges.
///
/// Operations cost `O(log n)` in the number of ranges `n`, plus the number
/// of ranges they merge or remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    /// start -> end (exclusive). Invariant: for consecutive entries
    /// `(s1, e1)`, `(s2, e2)`: `s1 < e1 < s2 < e2` (a gap of at least one
    /// value separates ranges, so the representation of a set is unique and
    /// the derived `PartialEq` is set equality).
    ranges: BTreeMap<u64, u64>,
    /// Sum of range lengths, cached because reassembly and flow control ask
    /// for it on every packet.
    total: u64,
}

impl RangeSet {
    /// Creates an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every value of `range`, merging with overlapping or adjacent
    /// ranges. Returns `true` if at least one value was not already present;
    /// an empty range is a no-op and returns `false`.
    pub fn insert(&mut self, range: Range<u64>) -> bool {
        if range.start >= range.end || self.contains_range(range.clone()) {
            return false;
        }
        let mut start = range.start;
        let mut end = range.end;
        // Only one range can start before `range.start` and still touch it:
        // the ranges are disjoint and sorted.
        if let Some((&s, &e)) = self.ranges.range(..range.start).next_back()
            && e >= range.start
        {
            start = s;
            end = end.max(e);
            self.ranges.remove(&s);
            self.total -= e - s;
        }
        // `..=end` so that a range starting exactly at `end` (adjacent) merges.
        while let Some((&s, &e)) = self.ranges.range(range.start..=end).next() {
            end = end.max(e);
            self.ranges.remove(&s);
            self.total -= e - s;
        }
        self.ranges.insert(start, end);
        self.total += end - start;
        true
    }

    /// Adds a single value. Returns `true` if it was new. `u64::MAX` cannot
    /// be represented (see the module docs) and is ignored.
    pub fn insert_one(&mut self, v: u64) -> bool {
        match v.checked_add(1) {
            Some(end) => self.insert(v..end),
            None => false,
        }
    }

    /// Removes every value of `range`, splitting a range that straddles it.
    pub fn remove(&mut self, range: Range<u64>) {
        if range.start >= range.end {
            return;
        }
        if let Some((&s, &e)) = self.ranges.range(..range.start).next_back()
            && e > range.start
        {
            self.ranges.insert(s, range.start);
            self.total -= e - range.start;
            if e > range.end {
                self.ranges.insert(range.end, e);
                self.total += e - range.end;
                // `range` lay strictly inside one range: nothing else to do.
                return;
            }
        }
        while let Some((&s, &e)) = self.ranges.range(range.start..range.end).next() {
            self.ranges.remove(&s);
            self.total -= e - s;
            if e > range.end {
                self.ranges.insert(range.end, e);
                self.total += e - range.end;
                break;
            }
        }
    }

    /// Returns `true` if `v` is in the set.
    pub fn contains(&self, v: u64) -> bool {
        self.ranges
            .range(..=v)
            .next_back()
            .is_some_and(|(_, &e)| v < e)
    }

    /// Returns `true` if every value of `range` is in the set (vacuously
    /// `true` for an empty range).
    pub fn contains_range(&self, range: Range<u64>) -> bool {
        if range.start >= range.end {
            return true;
        }
        // Ranges are non-adjacent, so a fully covered `range` lies inside a
        // single stored range.
        self.ranges
            .range(..=range.start)
            .next_back()
            .is_some_and(|(_, &e)| range.end <= e)
    }

    /// Returns `true` if the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of disjoint ranges (not values; see [`RangeSet::total`]).
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Smallest value in the set.
    pub fn min(&self) -> Option<u64> {
        self.ranges.first_key_value().map(|(&s, _)| s)
    }

    /// Largest value in the set.
    pub fn max(&self) -> Option<u64> {
        // Stored ranges are never empty, so `e >= 1`.
        self.ranges.last_key_value().map(|(_, &e)| e - 1)
    }

    /// The ranges in ascending order (reverse it for descending, as ACK
    /// frames want).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Range<u64>> + '_ {
        self.ranges.iter().map(|(&s, &e)| s..e)
    }

    /// Removes and returns the lowest range.
    pub fn pop_min(&mut self) -> Option<Range<u64>> {
        let (s, e) = self.ranges.pop_first()?;
        self.total -= e - s;
        Some(s..e)
    }

    /// Removes every value below `v`.
    pub fn remove_below(&mut self, v: u64) {
        if self.min().is_none_or(|min| min >= v) {
            return;
        }
        let mut kept = self.ranges.split_off(&v);
        let dropped: u64 = self.ranges.iter().map(|(&s, &e)| e - s).sum();
        let mut straddle = 0;
        if let Some((_, &e)) = self.ranges.last_key_value()
            && e > v
        {
            kept.insert(v, e);
            straddle = e - v;
        }
        self.ranges = kept;
        self.total -= dropped - straddle;
    }

    /// Number of values in the set (sum of range lengths).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Smallest value `>= start` that is not in the set, e.g. the end of the
    /// contiguous prefix of a reassembly buffer when `start` is 0. Returns
    /// `u64::MAX` when everything from `start` on is present, since that
    /// value is never in the set.
    pub fn first_gap_from(&self, start: u64) -> u64 {
        match self.ranges.range(..=start).next_back() {
            // Non-adjacency guarantees `e` itself is absent.
            Some((_, &e)) if e > start => e,
            _ => start,
        }
    }

    /// The sub-ranges of `range` that are not in the set, ascending.
    pub fn missing_in(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        if range.start >= range.end {
            return out;
        }
        let mut cursor = range.start;
        if let Some((_, &e)) = self.ranges.range(..range.start).next_back() {
            cursor = cursor.max(e);
        }
        for (&s, &e) in self.ranges.range(range.start..range.end) {
            if s > cursor {
                out.push(cursor..s);
            }
            cursor = cursor.max(e);
        }
        if cursor < range.end {
            out.push(cursor..range.end);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ranges(set: &RangeSet) -> Vec<Range<u64>> {
        set.iter().collect()
    }

    #[test]
    fn empty_set() {
        let s = RangeSet::new();
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert_eq!(s.min(), None);
        assert_eq!(s.max(), None);
        assert_eq!(s.total(), 0);
        assert_eq!(s.first_gap_from(7), 7);
        assert_eq!(s.missing_in(3..9), vec![3..9]);
        assert!(s.contains_range(5..5));
        assert!(!s.contains(0));
    }

    #[test]
    fn empty_insert_is_noop() {
        let mut s = RangeSet::new();
        assert!(!s.insert(5..5));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 9..3;
        assert!(!s.insert(backwards.clone()));
        s.remove(backwards);
        assert!(s.is_empty());
    }

    #[test]
    fn merges_adjacent() {
        let mut s = RangeSet::new();
        assert!(s.insert(0..5));
        assert!(s.insert(10..15));
        assert!(s.insert(5..10));
        assert_eq!(ranges(&s), vec![0..15]);
        assert!(s.insert_one(15));
        assert_eq!(ranges(&s), vec![0..16]);
        assert_eq!(s.total(), 16);
    }

    #[test]
    fn merges_overlapping_many() {
        let mut s = RangeSet::new();
        for i in 0..10 {
            s.insert(i * 10..i * 10 + 3);
        }
        assert_eq!(s.len(), 10);
        assert!(s.insert(12..75));
        assert_eq!(ranges(&s), vec![0..3, 10..75, 80..83, 90..93]);
        assert!(!s.insert(20..30));
        assert!(!s.insert_one(10));
        assert!(s.insert(2..11));
        assert_eq!(ranges(&s), vec![0..75, 80..83, 90..93]);
        assert_eq!(s.total(), 75 + 3 + 3);
    }

    #[test]
    fn insert_reports_partial_novelty() {
        let mut s = RangeSet::new();
        s.insert(10..20);
        assert!(s.insert(15..21));
        assert!(s.insert(9..12));
        assert!(!s.insert(9..21));
        assert_eq!(ranges(&s), vec![9..21]);
    }

    #[test]
    fn remove_splits() {
        let mut s = RangeSet::new();
        s.insert(0..100);
        s.remove(40..60);
        assert_eq!(ranges(&s), vec![0..40, 60..100]);
        assert_eq!(s.total(), 80);
        s.remove(30..70);
        assert_eq!(ranges(&s), vec![0..30, 70..100]);
        s.remove(0..1);
        s.remove(99..200);
        assert_eq!(ranges(&s), vec![1..30, 70..99]);
        s.remove(0..1000);
        assert!(s.is_empty());
        assert_eq!(s.total(), 0);
    }

    #[test]
    fn remove_across_several() {
        let mut s = RangeSet::new();
        for i in 0..5 {
            s.insert(i * 10..i * 10 + 5);
        }
        s.remove(3..42);
        assert_eq!(ranges(&s), vec![0..3, 42..45]);
        assert_eq!(s.total(), 6);
    }

    #[test]
    fn remove_below_and_pop_min() {
        let mut s = RangeSet::new();
        s.insert(0..10);
        s.insert(20..30);
        s.insert(40..50);
        s.remove_below(25);
        assert_eq!(ranges(&s), vec![25..30, 40..50]);
        assert_eq!(s.total(), 15);
        s.remove_below(35);
        assert_eq!(ranges(&s), vec![40..50]);
        s.remove_below(0);
        assert_eq!(s.pop_min(), Some(40..50));
        assert_eq!(s.pop_min(), None);
        assert_eq!(s.total(), 0);
    }

    #[test]
    fn first_gap_and_missing_in() {
        let mut s = RangeSet::new();
        s.insert(0..10);
        s.insert(20..30);
        assert_eq!(s.first_gap_from(0), 10);
        assert_eq!(s.first_gap_from(5), 10);
        assert_eq!(s.first_gap_from(10), 10);
        assert_eq!(s.first_gap_from(20), 30);
        assert_eq!(s.missing_in(0..40), vec![10..20, 30..40]);
        assert_eq!(s.missing_in(5..25), vec![10..20]);
        assert_eq!(s.missing_in(22..28), vec![]);
        assert_eq!(s.missing_in(12..18), vec![12..18]);
        assert_eq!(s.missing_in(10..20), vec![10..20]);
        assert!(s.contains_range(20..30));
        assert!(!s.contains_range(20..31));
        assert!(!s.contains_range(5..25));
    }

    #[test]
    fn u64_max_edges() {
        let mut s = RangeSet::new();
        assert!(!s.insert_one(u64::MAX));
        assert!(s.is_empty());
        assert!(s.insert(u64::MAX - 2..u64::MAX));
        assert_eq!(s.max(), Some(u64::MAX - 1));
        assert!(!s.contains(u64::MAX));
        assert_eq!(s.first_gap_from(u64::MAX - 2), u64::MAX);
        assert_eq!(s.first_gap_from(u64::MAX), u64::MAX);
        assert!(s.insert(0..u64::MAX));
        assert_eq!(ranges(&s), vec![0..u64::MAX]);
        assert_eq!(s.total(), u64::MAX);
        assert!(s.missing_in(0..u64::MAX).is_empty());
        s.remove(1..u64::MAX);
        assert_eq!(ranges(&s), vec![0..1]);
        s.insert(5..u64::MAX);
        s.remove_below(u64::MAX);
        assert!(s.is_empty());
        assert_eq!(s.total(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u64),
        InsertOne(u64),
        Remove(u64, u64),
        RemoveBelow(u64),
        PopMin,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..200u64, 0..20u64).prop_map(|(a, l)| Op::Insert(a, a + l)),
            3 => (0..200u64).prop_map(Op::InsertOne),
            2 => (0..200u64, 0..30u64).prop_map(|(a, l)| Op::Remove(a, a + l)),
            1 => (0..200u64).prop_map(Op::RemoveBelow),
            1 => Just(Op::PopMin),
        ]
    }

    fn check_against(set: &RangeSet, model: &BTreeSet<u64>) -> Result<(), TestCaseError> {
        let rs = ranges(set);
        for r in &rs {
            prop_assert!(r.start < r.end, "empty range {:?}", r);
        }
        for w in rs.windows(2) {
            prop_assert!(w[0].end < w[1].start, "not disjoint/non-adjacent: {:?}", w);
        }
        let back: Vec<_> = set.iter().rev().collect();
        prop_assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), rs.clone());
        let flat: BTreeSet<u64> = rs.iter().flat_map(|r| r.clone()).collect();
        prop_assert_eq!(&flat, model);
        prop_assert_eq!(set.len(), rs.len());
        prop_assert_eq!(set.is_empty(), model.is_empty());
        prop_assert_eq!(set.total(), model.len() as u64);
        prop_assert_eq!(set.min(), model.first().copied());
        prop_assert_eq!(set.max(), model.last().copied());
        for v in 0..240 {
            prop_assert_eq!(set.contains(v), model.contains(&v));
            let gap = (v..).find(|x| !model.contains(x)).unwrap_or(u64::MAX);
            prop_assert_eq!(set.first_gap_from(v), gap);
        }
        for (a, b) in [(0, 240), (3, 17), (50, 51), (100, 180), (199, 230)] {
            let mut expect: Vec<Range<u64>> = Vec::new();
            for v in a..b {
                if !model.contains(&v) {
                    match expect.last_mut() {
                        Some(r) if r.end == v => r.end = v + 1,
                        _ => expect.push(v..v + 1),
                    }
                }
            }
            prop_assert_eq!(set.missing_in(a..b), expect);
            let all = (a..b).all(|v| model.contains(&v));
            prop_assert_eq!(set.contains_range(a..b), all);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn matches_btreeset_model(ops in proptest::collection::vec(op(), 0..80)) {
            let mut set = RangeSet::new();
            let mut model = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(a, b) => {
                        let mut new = false;
                        for v in a..b {
                            new |= model.insert(v);
                        }
                        prop_assert_eq!(set.insert(a..b), new);
                    }
                    Op::InsertOne(v) => {
                        prop_assert_eq!(set.insert_one(v), model.insert(v));
                    }
                    Op::Remove(a, b) => {
                        for v in a..b {
                            model.remove(&v);
                        }
                        set.remove(a..b);
                    }
                    Op::RemoveBelow(v) => {
                        model.retain(|&x| x >= v);
                        set.remove_below(v);
                    }
                    Op::PopMin => {
                        let got = set.pop_min();
                        match got {
                            None => prop_assert!(model.is_empty()),
                            Some(r) => {
                                prop_assert_eq!(model.first().copied(), Some(r.start));
                                for v in r.clone() {
                                    prop_assert!(model.remove(&v));
                                }
                                prop_assert!(!model.contains(&r.end));
                            }
                        }
                    }
                }
                check_against(&set, &model)?;
            }
        }
    }
}
