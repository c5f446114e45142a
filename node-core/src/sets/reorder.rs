//! The receiving side of a route set: messages numbered across routes,
//! put back in order, each delivered once.

use std::collections::BTreeMap;

/// Messages that arrived ahead of the next one expected.
#[derive(Debug, Default)]
pub(crate) struct Reorder {
    /// The number of the next message to deliver.
    next: u64,
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// Copies dropped (already delivered, or already held).
    pub duplicates: u64,
    /// Messages dropped because more than the limit was held: a sender
    /// past its own window (an honest one never is; see `SetConfig`).
    pub overflow: u64,
    /// The most bytes held at once.
    pub max_held: usize,
    /// Messages never seen because the sender's `low` was past them.
    pub skipped: u64,
}

/// What one held message costs beyond its payload.
pub const ENTRY_COST: usize = 64;

impl Reorder {
    /// Takes message `seq` (the sender says every message before `low`
    /// was confirmed: a receiver that starts afresh skips to it); appends
    /// what can now be delivered, in order. At most `limit` bytes are held
    /// out of order, each message charged [`ENTRY_COST`] more (so that
    /// empty messages cannot fill the map for free).
    pub fn on_data(
        &mut self,
        seq: u64,
        low: u64,
        payload: &[u8],
        limit: usize,
        out: &mut Vec<Vec<u8>>,
    ) {
        if low > self.next {
            // What lies before `low` went to an earlier incarnation of this
            // end: not ours to wait for.
            self.skipped += low - self.next;
            self.next = low;
            let stale: Vec<u64> = self.held.range(..low).map(|(&k, _)| k).collect();
            for k in stale {
                let p = self.held.remove(&k).expect("listed");
                self.held_bytes -= p.len() + ENTRY_COST;
            }
            self.drain(out);
        }
        if seq < self.next || self.held.contains_key(&seq) {
            self.duplicates += 1;
            return;
        }
        if seq > self.next {
            let cost = payload.len() + ENTRY_COST;
            if self.held_bytes + cost > limit {
                self.overflow += 1;
                return;
            }
            self.held_bytes += cost;
            self.max_held = self.max_held.max(self.held_bytes);
            self.held.insert(seq, payload.to_vec());
            return;
        }
        out.push(payload.to_vec());
        self.next += 1;
        self.drain(out);
    }

    fn drain(&mut self, out: &mut Vec<Vec<u8>>) {
        while let Some(p) = self.held.remove(&self.next) {
            self.held_bytes -= p.len() + ENTRY_COST;
            out.push(p);
            self.next += 1;
        }
    }

    /// Bytes held out of order now.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_arrival_order_delivers_each_message_once_in_order() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        for seq in [2u64, 0, 2, 3, 1, 0, 5, 4] {
            r.on_data(seq, 0, &[seq as u8], 1000, &mut out);
        }
        assert_eq!(out, (0..6u8).map(|i| vec![i]).collect::<Vec<_>>());
        assert_eq!(r.duplicates, 2);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.max_held, 2 * (1 + ENTRY_COST));
    }

    #[test]
    fn what_is_held_is_bounded() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        for seq in 1..100u64 {
            r.on_data(seq, 0, &[0; 10], 5 * (10 + ENTRY_COST), &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(r.held_bytes(), 5 * (10 + ENTRY_COST));
        assert_eq!(r.overflow, 94);
        // Empty messages are charged too.
        let mut r = Reorder::default();
        for seq in 1..100_000u64 {
            r.on_data(seq, 0, &[], 64 * ENTRY_COST, &mut out);
        }
        assert_eq!(r.held.len(), 64);
    }

    #[test]
    fn a_fresh_receiver_starts_where_the_sender_is() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        // An earlier incarnation took 0..40; the sender's oldest
        // unconfirmed is 40.
        r.on_data(41, 40, b"b", 1000, &mut out);
        assert!(out.is_empty());
        r.on_data(40, 40, b"a", 1000, &mut out);
        assert_eq!(out, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.skipped, 40);
        r.on_data(45, 42, b"x", 1000, &mut out);
        r.on_data(43, 42, b"d", 1000, &mut out);
        assert_eq!(out.len(), 2);
        // A held message below a new low is dropped, the rest delivered.
        r.on_data(47, 46, b"z", 1000, &mut out);
        assert_eq!(r.skipped, 44);
        assert_eq!(out.len(), 2);
        r.on_data(46, 46, b"y", 1000, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(r.held_bytes(), 0);
    }
}
