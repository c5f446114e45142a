//! The escrow role at the node (issue 15): escrow requests arriving on
//! routes that end at the node are answered from its ledger, on the same
//! route, and do not reach the application.

use super::Node;
use crate::interface::Event;
use crate::wire::escrow::is_escrow;

impl Node {
    /// Takes `e` if it is an escrow request for this node's role (and
    /// answers it); returns it otherwise.
    pub(super) fn serve_escrow(&mut self, e: Event) -> Option<Event> {
        let (Some(service), Event::RouteMessage { route, data }) = (self.escrow.as_mut(), &e)
        else {
            return Some(e);
        };
        // Only requests on routes that end here: an answer coming back
        // on a route this node opened (it is a client too) is the
        // application's.
        let ends_here = self
            .routes
            .info(*route)
            .is_some_and(|i| i.role == "destination");
        if !is_escrow(data) || !ends_here {
            return Some(e);
        }
        if let Some(answer) = service.handle(self.suite, data) {
            // A client that does not read its answers fills its route's
            // buffer: the answer is then dropped (counted by the route
            // layer's refusal), and the ledger has acted all the same.
            let _ = self.routes.send(*route, answer);
        }
        None
    }

    /// The escrow role's state, if the node plays it.
    pub fn escrow(&self) -> Option<&crate::pay::service::EscrowService> {
        self.escrow.as_deref()
    }
}
