//! meshnode's escrow client (issue 15): the `pay` control request sends
//! escrow requests (`node_core::wire::escrow`) over a route this node
//! opened to a node with the escrow role, and the answers that come back
//! on it are kept for the status.
//!
//! A DEPOSIT is taken by the escrow as told: a real deployment backs it
//! with a payment on the chain behind the escrow, which is not simulated
//! here (the amount is the operator's word).

use std::collections::{BTreeMap, VecDeque};

use node_core::wire::escrow::{EscrowAnswer, EscrowRequest, refund_digest, withdraw_digest};
use node_core::{Identity, PublicKey, RouteHandle};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Driver;
use crate::control;
use crate::warn;

/// Accounts waiting to be funded, at most (the oldest go first past it).
const MAX_UNFUNDED: usize = 65_536;
/// Escrow answers kept for the status.
const MAX_ANSWERS: usize = 256;

/// What the client keeps.
#[derive(Debug, Default)]
pub(crate) struct EscrowClient {
    /// Where the pseudonyms' keys are stored (mode 0600, beside the key
    /// file), and the keys of accounts not refunded yet.
    file: std::path::PathBuf,
    keys: Vec<Identity>,
    /// Pseudonyms this node's routes opened, not yet funded.
    unfunded: VecDeque<PublicKey>,
    /// The highest receipt seq presented per pseudonym.
    presented: BTreeMap<PublicKey, u64>,
    next_id: u32,
    /// (request id, what it asked) for answers still due.
    asked: BTreeMap<u32, &'static str>,
    /// The routes requests went out on (only their messages are read as
    /// answers: a transfer's bytes elsewhere are never taken for one).
    routes: std::collections::BTreeSet<RouteHandle>,
    /// The latest answers: (id, what was asked, the answer).
    pub(crate) answers: VecDeque<(u32, &'static str, EscrowAnswer)>,
    /// Answers to no request of ours, or that do not decode.
    pub(crate) stray_answers: u64,
}

impl EscrowClient {
    /// A client whose pseudonyms' keys live in `file` (those already
    /// there are loaded: a restarted node can still refund them).
    pub(crate) fn new(file: std::path::PathBuf) -> EscrowClient {
        let keys = match crate::keyfile::load_pseudonyms(&file) {
            Ok(k) => k,
            Err(e) => {
                warn!("pay: {e}");
                Vec::new()
            }
        };
        EscrowClient {
            file,
            keys,
            ..EscrowClient::default()
        }
    }

    /// Pseudonyms this node's routes opened: stored, and funded at the
    /// next `fund`.
    pub(crate) fn opened(&mut self, ids: Vec<Identity>) {
        if let Err(e) = crate::keyfile::append_pseudonyms(&self.file, &ids) {
            warn!("pay: pseudonym keys not stored: {e}");
        }
        for id in ids {
            self.unfunded(*id.public_key());
            if self.keys.len() < MAX_UNFUNDED {
                self.keys.push(id);
            }
        }
    }

    /// A pseudonym to fund at the next `fund`.
    fn unfunded(&mut self, pk: PublicKey) {
        if self.unfunded.len() >= MAX_UNFUNDED {
            self.unfunded.pop_front();
        }
        self.unfunded.push_back(pk);
    }

    fn id(&mut self, what: &'static str) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        if self.asked.len() >= MAX_ANSWERS {
            self.asked.pop_first();
        }
        self.asked.insert(self.next_id, what);
        self.next_id
    }

    /// A message on route `route`: an escrow answer on a route requests
    /// went out on is taken (true), anything else is not.
    pub(crate) fn on_message(&mut self, route: RouteHandle, data: &[u8]) -> bool {
        if !self.routes.contains(&route) || !node_core::wire::escrow::is_escrow(data) {
            return false;
        }
        match EscrowAnswer::decode(data).and_then(|(id, a)| Some((id, self.asked.remove(&id)?, a)))
        {
            Some((id, what, a)) => {
                if self.answers.len() >= MAX_ANSWERS {
                    self.answers.pop_front();
                }
                self.answers.push_back((id, what, a));
            }
            None => self.stray_answers += 1,
        }
        true
    }

    /// The status's view.
    pub(crate) fn status(&self) -> Value {
        let answers: Vec<Value> = self
            .answers
            .iter()
            .map(|(id, what, a)| {
                let (ok, value) = match a {
                    EscrowAnswer::Done(d) => (true, json!(d)),
                    EscrowAnswer::Yes(y) => (true, json!(y)),
                    EscrowAnswer::Refused(r) => (false, json!(format!("{r:?}"))),
                };
                json!({ "id": id, "request": what, "ok": ok, "value": value })
            })
            .collect();
        json!({
            "unfunded_accounts": self.unfunded.len(),
            "pseudonyms_kept": self.keys.len(),
            "pseudonyms_file": self.file.display().to_string(),
            "answers": answers,
            "stray_answers": self.stray_answers,
        })
    }
}

impl Driver {
    /// The `pay` control request.
    pub(super) fn pay_request(
        &mut self,
        action: &str,
        route: RouteHandle,
        deposit: Option<u64>,
        to: Option<&str>,
    ) -> Value {
        let mut requests = Vec::new();
        match action {
            "fund" => {
                let Some(deposit) = deposit else {
                    return control::error("fund: deposit (droplets per account) expected");
                };
                for pk in std::mem::take(&mut self.escrow.unfunded) {
                    requests.push(("open", EscrowRequest::Open(pk)));
                    requests.push(("deposit", EscrowRequest::Deposit(pk, deposit)));
                }
            }
            "redeem" => {
                for r in self.wallet.values() {
                    if self
                        .escrow
                        .presented
                        .get(&r.pseudonym)
                        .is_some_and(|&s| s >= r.seq)
                    {
                        continue;
                    }
                    self.escrow.presented.insert(r.pseudonym, r.seq);
                    requests.push(("redeem", EscrowRequest::Redeem(*r)));
                }
            }
            "withdraw" => {
                let Some(to) = to.and_then(crate::hex::decode::<32>) else {
                    return control::error("withdraw: to (64 hex digits) expected");
                };
                let id = self.node.identity();
                let Some(signature) = id.suite().suite().sign(id.secret(), &withdraw_digest(&to))
                else {
                    return control::error("withdraw: the node's key cannot sign");
                };
                requests.push((
                    "withdraw",
                    EscrowRequest::Withdraw {
                        key: *id.public_key(),
                        to,
                        signature,
                    },
                ));
            }
            "refund" => {
                let Some(to) = to.and_then(crate::hex::decode::<32>) else {
                    return control::error("refund: to (64 hex digits) expected");
                };
                // One fresh address per account, derived from `to`.
                for id in std::mem::take(&mut self.escrow.keys) {
                    let mut h = Sha256::new();
                    h.update(b"meshnode refund address");
                    h.update(to);
                    h.update(id.public_key().0);
                    let fresh: [u8; 32] = h.finalize().into();
                    let Some(signature) =
                        id.suite().suite().sign(id.secret(), &refund_digest(&fresh))
                    else {
                        continue;
                    };
                    requests.push((
                        "refund",
                        EscrowRequest::Refund {
                            pseudonym: *id.public_key(),
                            to: fresh,
                            signature,
                        },
                    ));
                }
            }
            other => {
                return control::error(format!(
                    "pay: unknown action {other:?} (fund, redeem, withdraw or refund)"
                ));
            }
        }
        let mut sent = 0;
        if self.escrow.routes.len() < MAX_ANSWERS {
            self.escrow.routes.insert(route);
        }
        for (what, q) in requests {
            let id = self.escrow.id(what);
            if let Err(e) = self.node.route_send(route, q.encode(id)) {
                return control::error(format!("route {}: {e} ({sent} sent)", route.0));
            }
            sent += 1;
        }
        self.drive();
        json!({ "ok": true, "sent": sent })
    }
}
