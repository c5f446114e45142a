//! The event queue: a binary heap ordered by a key derived from each event.
//!
//! The key is (time, origin, the origin's own sequence number). The origin
//! is whoever caused the event: the node that sent a datagram (its
//! delivery) or asked for a wake-up, the traffic source that scheduled its
//! next message, the fault injector, the metrics sampler. Each counts its
//! own events. Ties in time therefore resolve by origin, then in the order
//! that origin scheduled them: never by a global insertion counter, so an
//! engine that runs partitions of nodes in parallel (each advancing its own
//! nodes' counters) orders events exactly as this one does.
//!
//! The heap holds only small keys; events wait in a slab, so sifting moves
//! a few words per entry whatever an event carries.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use node_core::Time;

/// Who caused an event. Among events at the same instant, origins are
/// served in this order: faults, the sampler, traffic sources (by flow),
/// nodes (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    kind: u8,
    index: u32,
}

/// Bits of the packed key: kind (2) | index (22) | the origin's sequence (40).
const INDEX_BITS: u32 = 22;
const SEQ_BITS: u32 = 40;
/// The most origins of one kind (nodes, flows, faults): about 4 million.
pub const MAX_ORIGINS: usize = 1 << INDEX_BITS;

impl Origin {
    /// The fault injector (fault `index`'s start and end).
    pub fn fault(index: usize) -> Origin {
        Origin::of(0, index)
    }
    /// The metrics sampler.
    pub const SAMPLER: Origin = Origin { kind: 1, index: 0 };
    /// The discovery convergence check (served after the sampler).
    pub const CONVERGENCE: Origin = Origin { kind: 1, index: 1 };
    /// The tunnel-mesh measurement (served after the convergence check).
    pub const CHURN: Origin = Origin { kind: 1, index: 2 };
    /// Traffic source `flow`.
    pub fn flow(flow: usize) -> Origin {
        Origin::of(2, flow)
    }
    /// Node `index`.
    pub fn node(index: usize) -> Origin {
        Origin::of(3, index)
    }
    fn of(kind: u8, index: usize) -> Origin {
        // Scenarios are checked against MAX_ORIGINS before a run starts.
        assert!(
            index < MAX_ORIGINS,
            "origin index {index} beyond {MAX_ORIGINS}"
        );
        Origin {
            kind,
            index: index as u32,
        }
    }
    /// The key's high bits: kind, then index (the order of origins).
    fn packed(self, seq: u64) -> u64 {
        // 2^40 events of one origin: days of simulated line-rate traffic.
        assert!(seq < 1 << SEQ_BITS, "origin {self:?} scheduled 2^40 events");
        (u64::from(self.kind) << (INDEX_BITS + SEQ_BITS))
            | (u64::from(self.index) << SEQ_BITS)
            | seq
    }
}

/// Pending events of a simulation.
pub struct EventQueue<E> {
    /// (time, packed origin and sequence, slot).
    heap: BinaryHeap<Reverse<(Time, u64, u32)>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    /// Each origin's next sequence number, per kind of origin.
    counters: [Vec<u64>; 4],
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            counters: Default::default(),
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`, caused by `origin`.
    pub fn push(&mut self, time: Time, origin: Origin, event: E) {
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
        let counters = &mut self.counters[origin.kind as usize];
        let i = origin.index as usize;
        if counters.len() <= i {
            counters.resize(i + 1, 0);
        }
        let seq = counters[i];
        counters[i] += 1;
        self.heap.push(Reverse((time, origin.packed(seq), slot)));
    }

    /// The earliest event (by time, then origin, then the origin's order).
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
    fn orders_by_time_then_origin_then_the_origins_own_order() {
        let mut q = EventQueue::default();
        let t = Time::from_nanos;
        q.push(t(5), Origin::node(2), "n2-first");
        q.push(t(1), Origin::node(9), "a");
        q.push(t(5), Origin::node(1), "n1-first");
        assert_eq!(q.pop(), Some((t(1), "a")));
        q.push(t(5), Origin::node(2), "n2-second");
        q.push(t(5), Origin::flow(0), "flow");
        q.push(t(5), Origin::SAMPLER, "sample");
        q.push(t(5), Origin::fault(3), "fault");
        q.push(t(2), Origin::node(1), "e");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(
            order,
            [
                "e",
                "fault",
                "sample",
                "flow",
                "n1-first",
                "n2-first",
                "n2-second"
            ]
        );
        assert!(q.is_empty());
        assert!(q.slab.len() <= 7, "slots are reused");
    }

    #[test]
    fn the_order_does_not_depend_on_when_origins_scheduled() {
        // Two origins scheduling the same events, interleaved differently
        // (as two partitions running at their own pace would): same order.
        let run = |interleave: bool| {
            let mut q = EventQueue::default();
            let a: Vec<_> = (0..5)
                .map(|i| (Time::from_nanos(10), Origin::node(0), i))
                .collect();
            let b: Vec<_> = (0..5)
                .map(|i| (Time::from_nanos(10), Origin::node(1), 10 + i))
                .collect();
            if interleave {
                for (x, y) in a.iter().zip(&b) {
                    q.push(y.0, y.1, y.2);
                    q.push(x.0, x.1, x.2);
                }
            } else {
                for x in a.iter().chain(&b) {
                    q.push(x.0, x.1, x.2);
                }
            }
            std::iter::from_fn(|| q.pop())
                .map(|(_, e)| e)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(true), run(false));
    }
}
