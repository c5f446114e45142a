//! The event queue: a binary heap ordered by (time, sequence number).
//!
//! Ties in time resolve in insertion order, so the order of events is a
//! pure function of the order in which they were scheduled. The heap holds
//! only small keys; events wait in a slab, so sifting moves 24 bytes per
//! entry whatever an event carries.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use node_core::Time;

/// Pending events of a simulation.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Time, u64, u32)>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: Time, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                // More than 4 billion pending events would exhaust memory first.
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Reverse((time, self.next_seq, slot)));
        self.next_seq += 1;
    }

    /// The earliest event (first scheduled among equals).
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let Reverse((time, _, slot)) = self.heap.pop()?;
        self.free.push(slot);
        let event = self.slab[slot as usize]
            .take()
            .expect("a queued slot holds its event");
        Some((time, event))
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Events pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion_and_reuses_slots() {
        let mut q = EventQueue::default();
        q.push(Time::from_nanos(5), "b");
        q.push(Time::from_nanos(1), "a");
        q.push(Time::from_nanos(5), "c");
        assert_eq!(q.pop(), Some((Time::from_nanos(1), "a")));
        q.push(Time::from_nanos(5), "d");
        q.push(Time::from_nanos(2), "e");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["e", "b", "c", "d"]);
        assert!(q.is_empty());
        assert!(q.slab.len() <= 4, "slots are reused");
    }
}
