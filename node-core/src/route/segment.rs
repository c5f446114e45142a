//! Routes into another mesh (re6st's n-order meshes, issue 14): a
//! *segment* continues a route past a border node.
//!
//! An origin's database holds only its own meshes' nodes; for a node of
//! another mesh it holds one summarized entry, and the adverts of the
//! border nodes that reach it. So it builds its route to such a border
//! node as to any node, then asks it, in a SEGMENT under the onion, for
//! the way on to the destination: the border node computes it in its own
//! database (a path inside its own mesh, to the destination or to the next
//! border node) and answers with the hops (SEGMENT_HOPS). The origin
//! extends the route through them exactly as through its own path, one
//! EXTEND at a time, so every hop's keys are still the origin's alone and
//! the border node learns no more than the destination (which any route
//! into another mesh must name to someone). When the hops end at another
//! border node, that one is asked in turn.
//!
//! Bounds a hostile peer cannot push past: a hop answers one SEGMENT per
//! route (a repeat is a violation); an origin takes an answer only from
//! the hop it asked, only while it waits for one, at most
//! [`MAX_SEGMENTS`] per route, and only hops that keep the path within the
//! node's `max_path_len`, free of loops and of itself; anything else fails
//! the route's setup (counted in `segments_refused`). The computation at
//! the border node is the node's (the route layer has no database): the
//! request waits in `segment_requests` (one per route at most) until the
//! node answers it after the input that brought it.

use super::Routes;
use super::crypto;
use crate::identity::Address;
use crate::interface::{RouteFailure, RouteHandle};
use crate::wire::{ControlMessage, ExtendFailure, MAX_SEGMENT_HOPS, RouteCtrlFrame, RouteFrame};

/// Segments one route may ask for (one per mesh crossed): re6st's
/// summaries name at most `Advert::MAX_VIA` meshes on the way.
pub const MAX_SEGMENTS: u8 = 4;

/// A border node's request to compute: route `route` asks the way on to
/// `dest`, of mesh `mesh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRequest {
    /// The route entry at this node.
    pub route: RouteHandle,
    /// The destination.
    pub dest: Address,
    /// Its mesh.
    pub mesh: u16,
}

impl Routes {
    /// The origin's route `h` reached its path's end short of its
    /// destination: asks the last hop for the way on.
    pub(super) fn ask_segment(&mut self, h: u64, dest: Address, mesh: u16) {
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("route exists");
        let down = r.down.expect("first hop exists");
        let b = r.role.building_mut().expect("building");
        let nonce = b.ctrl_nonce;
        b.ctrl_nonce += 1;
        b.segment_pending = true;
        let msg = ControlMessage::Segment { dest, mesh }.encode();
        let payload = crypto::wrap_forward(suite, &b.hops, nonce, &msg);
        self.stats.segments_asked += 1;
        self.queue_ctrl(
            down.peer,
            RouteFrame::Ctrl(RouteCtrlFrame {
                route: down.tx,
                nonce,
                payload: &payload,
            }),
        );
    }

    /// A SEGMENT for this hop: kept for the node to compute, once per
    /// route; a repeat, or one to a hop that already extends the route or
    /// is its destination, is a violation.
    pub(super) fn on_segment(&mut self, h: u64, dest: Address, mesh: u16) {
        let r = self.routes.get_mut(&h).expect("route exists");
        let free = r.down.is_none();
        let Some(hop) = r.role.hop_mut() else {
            self.stats.violations += 1;
            return;
        };
        if !free || hop.extending.is_some() || hop.segment_asked {
            self.stats.violations += 1;
            return;
        }
        hop.segment_asked = true;
        self.segment_requests.push(SegmentRequest {
            route: RouteHandle(h),
            dest,
            mesh,
        });
    }

    /// SEGMENT requests waiting for the node's answer.
    pub fn take_segment_requests(&mut self) -> Vec<SegmentRequest> {
        core::mem::take(&mut self.segment_requests)
    }

    /// The node's answer to request `q`: the hops after this node and
    /// whether the last is the destination, or `None` (no way on known:
    /// the origin's setup fails as for a missing link).
    pub fn answer_segment(&mut self, q: SegmentRequest, way: Option<(Vec<Address>, bool)>) {
        if !self.routes.contains_key(&q.route.0) {
            return; // gone meanwhile
        }
        let msg = match way {
            Some((hops, done)) if !hops.is_empty() && hops.len() <= MAX_SEGMENT_HOPS => {
                self.stats.segments_answered += 1;
                ControlMessage::SegmentHops { hops, done }
            }
            _ => {
                self.stats.segments_refused += 1;
                ControlMessage::ExtendFailed(ExtendFailure::NoLink)
            }
        };
        self.reply_to_origin(q.route.0, msg);
    }

    /// SEGMENT_HOPS from hop `index` at the origin: taken only from the
    /// hop asked, while asked; the route grows by the hops, checked.
    pub(super) fn on_segment_hops(&mut self, h: u64, index: usize, hops: Vec<Address>, done: bool) {
        let me = self.identity.address();
        let max_len = self.max_path_len;
        let r = self.routes.get_mut(&h).expect("route exists");
        let Some(b) = r.role.building_mut() else {
            self.stats.violations += 1;
            return;
        };
        if !b.segment_pending || index + 1 != b.hops.len() || b.hops.len() != b.path.len() {
            self.stats.violations += 1;
            return;
        }
        b.segment_pending = false;
        b.segments += 1;
        let dest = b.segment.map(|s| s.0);
        let fits = b.path.len() + hops.len() <= max_len;
        let mut seen: Vec<Address> = b.path.clone();
        seen.push(me);
        let mut loops = false;
        for a in &hops {
            loops |= seen.contains(a);
            seen.push(*a);
        }
        // `done` must mean what it says: the last hop is the destination
        // (and a hop short of it is not: the destination is asked nothing).
        let honest = (hops.last().copied() == dest) == done
            && !hops[..hops.len() - 1].iter().any(|a| Some(*a) == dest);
        let again = !done && b.segments >= MAX_SEGMENTS;
        if !fits || loops || !honest || again {
            self.stats.segments_refused += 1;
            self.fail_setup(h, RouteFailure::HopFailed(index));
            return;
        }
        b.path.extend(hops);
        if done {
            b.segment = None;
        }
        self.advance(h);
    }
}
