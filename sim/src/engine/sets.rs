//! Flows carried by a route set (`"routes": {"count", "mode"}`): the
//! destination's side. A set's messages reach the destination as one
//! connection (`ConnectionIncoming`, then `ConnectionMessage` in order,
//! each once) whatever route carried them; a request is answered on the
//! same connection, which sends it back by the route the origin's traffic
//! came by last.

use node_core::ConnectionHandle;

use super::World;
use super::protocol::{Population, Protocol};
use crate::model::TrafficKind;
use crate::traffic::{Header, MessageKind};

impl<P: Population> World<P> {
    /// A message of flow `h.flow` on connection `connection` at node `i`,
    /// which is not the flow's source.
    pub(super) fn on_set_message(
        &mut self,
        i: usize,
        connection: ConnectionHandle,
        h: Header,
        len: usize,
    ) {
        let Some(source) = self.sources.get(h.flow as usize) else {
            return;
        };
        if !self.is_destination(&source.spec, i) {
            return;
        }
        if h.kind != MessageKind::Response && self.bound_for_internet(i, &h) {
            self.enqueue_uplink(i, h, len, super::gateway::Back::Connection(connection));
            return;
        }
        let source = &mut self.sources[h.flow as usize];
        match h.kind {
            MessageKind::Data => source.stats.on_delivery(self.now, &h, len),
            MessageKind::Request => {
                let TrafficKind::RequestResponse { response, .. } = source.spec.kind else {
                    return;
                };
                let reply = Header {
                    kind: MessageKind::Response,
                    ..h
                }
                .message(response);
                if self.nodes[i]
                    .node
                    .connection_send(connection, reply)
                    .is_ok()
                {
                    // The engine polls the node after each event.
                    self.sources[h.flow as usize].stats.responses_sent += 1;
                }
            }
            MessageKind::Response => {}
        }
    }
}
