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
}

impl Reorder {
    /// Takes message `seq`; appends what can now be delivered, in order.
    /// At most `limit` bytes are held out of order.
    pub fn on_data(&mut self, seq: u64, payload: &[u8], limit: usize, out: &mut Vec<Vec<u8>>) {
        if seq < self.next || self.held.contains_key(&seq) {
            self.duplicates += 1;
            return;
        }
        if seq > self.next {
            if self.held_bytes + payload.len() > limit {
                self.overflow += 1;
                return;
            }
            self.held_bytes += payload.len();
            self.max_held = self.max_held.max(self.held_bytes);
            self.held.insert(seq, payload.to_vec());
            return;
        }
        out.push(payload.to_vec());
        self.next += 1;
        while let Some(p) = self.held.remove(&self.next) {
            self.held_bytes -= p.len();
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
            r.on_data(seq, &[seq as u8], 100, &mut out);
        }
        assert_eq!(out, (0..6u8).map(|i| vec![i]).collect::<Vec<_>>());
        assert_eq!(r.duplicates, 2);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.max_held, 2);
    }

    #[test]
    fn what_is_held_is_bounded() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        for seq in 1..100u64 {
            r.on_data(seq, &[0; 10], 50, &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(r.held_bytes(), 50);
        assert_eq!(r.overflow, 94);
    }
}
