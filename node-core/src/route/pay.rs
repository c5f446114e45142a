//! Payments in the route layer (issue 15): the hooks that make `pay`'s
//! pure state run on live routes.
//!
//! - A relay with terms ([`PayConfig::relay`]) gets a gate when it extends
//!   a route, and tells the origin its terms in a PRICE (a backward
//!   control message, under its onion layer).
//! - Its forwarding asks the gate before each new chunk (`outbound.rs`):
//!   past its credit the direction pauses (the data waits in its buffer,
//!   credit upstream stops: backpressure, not loss) and the relay sends an
//!   INVOICE. Retransmissions are not charged again.
//! - The origin counts what it knows every relay carried (forward bytes
//!   the destination acknowledged end to end, backward bytes that
//!   arrived: `delivery.rs`) and signs cumulative receipts, each relay's
//!   under its own pseudonym, sent forward in ROUTE_PAY frames. Those ride
//!   the links' control queue, which no data credit or pause holds back:
//!   a paused route always hears the receipt that resumes it.
//! - A relay keeps the best receipt of each pseudonym in its wallet for
//!   the escrow ([`Routes::take_receipts`]); an origin lists the accounts
//!   its pseudonyms need ([`Routes::take_pay_accounts`]).
//!
//! Payments ride store-and-forward routes: the end-to-end baseline's
//! relays forward best effort and keep no gate.

use std::collections::BTreeMap;

use super::crypto::{self, Peeled};
use super::role::{OriginPhase, Role};
use super::{BACKWARD, FORWARD, Routes, Side};
use crate::config::RouteMode;
use crate::crypto::SuiteKind;
use crate::identity::{Address, PublicKey};
use crate::interface::Event;
use crate::pay::PayConfig;
use crate::pay::gate::{Gate, GateRefusal};
use crate::pay::money::{Droplets, Price};
use crate::pay::payer::Payer;
use crate::time::Time;
use crate::wire::receipt::{PAY_MSG_LEN, Receipt, decode_pay, encode_pay};
use crate::wire::{ControlMessage, RouteCtrlFrame, RouteFrame};

/// Bytes of every ROUTE_PAY frame's payload: a padded message and its tag.
pub(super) const PAY_PAYLOAD_LEN: usize = PAY_MSG_LEN + crate::crypto::TAG_LEN;

/// Receipts a wallet holds (one per pseudonym), at most: past it a new
/// pseudonym's receipt is taken by the gate but not kept (counted).
pub const MAX_WALLET: usize = 65_536;

/// Accounts waiting for the driver to open, at most (counted past it).
pub const MAX_ACCOUNTS_WAITING: usize = 65_536;

/// ROUTE_PAY frames a hop takes or passes on for a route before it has
/// forwarded anything, and the bytes forwarded that earn one more: an
/// origin that floods receipts gets them dropped (counted), while an
/// honest one sends one per relay per half credit, or per chunk at worst.
const PAY_FRAMES_FREE: u64 = 64;
const PAY_BYTES_PER_FRAME: u64 = 256;

/// Counters of payments at a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayStats {
    /// PRICE messages this relay sent (one per route it relays).
    pub prices_sent: u64,
    /// PRICE messages this origin took.
    pub prices_heard: u64,
    /// INVOICEs this relay sent (one per pause).
    pub invoices_sent: u64,
    /// INVOICEs this origin took.
    pub invoices_heard: u64,
    /// Receipts this origin signed and sent.
    pub receipts_sent: u64,
    /// Receipts this relay's gates took.
    pub receipts_taken: u64,
    /// Receipts that came twice (a link's retransmission): ignored.
    pub duplicates: u64,
    /// Receipts refused: forged, foreign (another relay's or pseudonym's),
    /// stale (not newer, or owing less).
    pub forged: u64,
    /// See `forged`.
    pub foreign: u64,
    /// See `forged`.
    pub stale: u64,
    /// Receipts paying less than this relay's price for their bytes.
    pub underpaid: u64,
    /// Payment messages for a hop that asks nothing, or malformed ones.
    pub refused: u64,
    /// ROUTE_PAY frames dropped past a route's allowance (a flood).
    pub flood: u64,
    /// Receipts taken but not kept: the wallet was full.
    pub wallet_full: u64,
    /// Accounts not listed: the list waiting for the driver was full.
    pub accounts_dropped: u64,
    /// Times a gate paused a route.
    pub pauses: u64,
    /// Bytes this relay's gates charged for, in all.
    pub bytes_charged: u64,
    /// Balance checks asked of the application (`Event::PayCheck`).
    pub checks: u64,
    /// Routes closed because the escrow said their pseudonym cannot pay.
    pub unfunded: u64,
}

/// The origin's payments on one route.
#[derive(Default)]
pub(super) struct OriginPay {
    /// Once the route is up (its relays are counted then).
    payer: Option<Payer>,
    /// Terms heard while the route was built: (hop, price, credit).
    early: Vec<(usize, Price, Droplets)>,
    /// Backward bytes counted so far (the stream offset that arrived).
    back_counted: u64,
    /// The infrastructure's pseudonym was listed for an account.
    infra_listed: bool,
}

/// A node's payments.
pub(super) struct PayState {
    config: PayConfig,
    suite: SuiteKind,
    /// The best receipt of each pseudonym, for the escrow.
    wallet: BTreeMap<PublicKey, Receipt>,
    /// Pseudonyms of this origin's routes, for the driver to open
    /// accounts for and fund (with their keys: a refund is signed by one).
    accounts: Vec<crate::identity::Identity>,
    pub(super) stats: PayStats,
}

impl PayState {
    pub fn new(config: PayConfig, suite: SuiteKind) -> PayState {
        PayState {
            config,
            suite,
            wallet: BTreeMap::new(),
            accounts: Vec::new(),
            stats: PayStats::default(),
        }
    }

    fn keep(&mut self, r: Receipt) {
        if self.wallet.len() >= MAX_WALLET && !self.wallet.contains_key(&r.pseudonym) {
            self.stats.wallet_full += 1;
            return;
        }
        self.wallet.insert(r.pseudonym, r);
    }
}

/// What a gate says to a chunk of new bytes.
pub(super) enum GateCheck {
    Pass,
    /// Paused; the INVOICE to send if the pause is new.
    Paused(Option<ControlMessage>),
}

/// Asks `gate` whether `bytes` more may go in direction `dir`.
pub(super) fn check_gate(
    gate: &mut Gate,
    stats: &mut PayStats,
    dir: usize,
    bytes: u64,
) -> GateCheck {
    let pauses = gate.stats.pauses;
    if gate.may_forward(dir, bytes) {
        return GateCheck::Pass;
    }
    if gate.stats.pauses == pauses {
        return GateCheck::Paused(None);
    }
    stats.pauses += 1;
    stats.invoices_sent += 1;
    GateCheck::Paused(Some(ControlMessage::Invoice {
        bytes: gate.bytes(),
        owed: gate.unpaid().0 + gate.best().map_or(0, |r| r.owed),
    }))
}

impl Routes {
    /// Payment counters.
    pub fn pay_stats(&self) -> PayStats {
        self.pay.stats
    }

    /// The receipts kept since the last call (the best of each
    /// pseudonym), for the escrow.
    pub fn take_receipts(&mut self) -> Vec<Receipt> {
        std::mem::take(&mut self.pay.wallet).into_values().collect()
    }

    /// The pseudonyms this origin opened since the last call: each needs
    /// an account at the escrow, funded, before its receipts are redeemed.
    pub fn take_pay_accounts(&mut self) -> Vec<PublicKey> {
        std::mem::take(&mut self.pay.accounts)
            .iter()
            .map(|i| *i.public_key())
            .collect()
    }

    /// As [`Routes::take_pay_accounts`], with each pseudonym's keys (for
    /// a driver that stores them, to refund what an account has left).
    pub fn take_pay_pseudonyms(&mut self) -> Vec<crate::identity::Identity> {
        std::mem::take(&mut self.pay.accounts)
    }

    /// A relay's gate of route `h`: (bytes charged, droplets charged,
    /// owed by the best receipt).
    pub fn gate_of(&self, h: u64) -> Option<(u64, u64, u64)> {
        let g = self.routes.get(&h)?.gate.as_ref()?;
        let paid = g.best().map_or(0, |r| r.owed);
        Some((g.bytes(), paid + g.unpaid().0, paid))
    }

    /// Route `h` was extended through this hop: with terms, it gates the
    /// route and tells the origin its price.
    pub(super) fn pay_on_relay(&mut self, h: u64) {
        let Some(terms) = self.pay.config.relay else {
            return;
        };
        if self.mode != RouteMode::StoreAndForward {
            return;
        }
        let me = self.identity.address();
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        let floor = (crypto::MAX_RECORD + crypto::RECORD_OVERHEAD) as u64;
        r.gate = Some(Box::new(Gate::new(me, terms.price, terms.credit, floor)));
        self.pay.stats.prices_sent += 1;
        self.reply_to_origin(
            h,
            ControlMessage::Price {
                per_gb: terms.price.per_gb,
                credit: terms.credit.0,
            },
        );
    }

    /// At the origin: hop `index` of route `h` told its terms. Only a
    /// relay (a hop before the last) asks; anything else is a violation.
    /// A hop's second PRICE changes nothing.
    pub(super) fn pay_on_price(&mut self, h: u64, index: usize, per_gb: u64, credit: u64) {
        let max = self.max_path_len;
        let Some(Role::Origin(o)) = self.routes.get_mut(&h).map(|r| &mut r.role) else {
            return;
        };
        let path_len = match &o.phase {
            OriginPhase::Building(b) => b.path.len(),
            OriginPhase::Up(_) => o.path.len(),
        };
        let op = o.pay.get_or_insert_with(Box::default);
        if index + 1 >= path_len || op.early.len() >= max {
            self.stats.violations += 1;
            return;
        }
        op.early.push((index, Price { per_gb }, Droplets(credit)));
        self.pay.stats.prices_heard += 1;
        self.pay_start(h);
    }

    /// At the origin: once route `h` is up, its payer starts with the
    /// terms heard so far (and takes later ones at once).
    pub(super) fn pay_start(&mut self, h: u64) {
        let (kind, pricing) = (self.pay.suite, self.pay.config.origin);
        let Some(Role::Origin(o)) = self.routes.get_mut(&h).map(|r| &mut r.role) else {
            return;
        };
        if matches!(o.phase, OriginPhase::Building(_)) {
            return;
        }
        let Some(op) = o.pay.as_mut() else { return };
        let relays = o.path.len().saturating_sub(1);
        let payer = op
            .payer
            .get_or_insert_with(|| Payer::new(kind, pricing, relays));
        let mut opened = Vec::new();
        for (i, price, credit) in op.early.drain(..) {
            let Some(&relay) = o.path.get(i) else {
                continue;
            };
            if payer.add(i, relay, price, credit, &mut self.rng) {
                opened.push(payer.pseudonym_keys(i).expect("just added").clone());
            }
        }
        if let (false, Some(keys)) = (op.infra_listed, payer.infra_keys()) {
            op.infra_listed = true;
            opened.push(keys.clone());
        }
        for pk in opened {
            if self.pay.accounts.len() < MAX_ACCOUNTS_WAITING {
                self.pay.accounts.push(pk);
            } else {
                self.pay.stats.accounts_dropped += 1;
            }
        }
    }

    /// At the origin: hop `index` of route `h` paused it and counts
    /// `bytes` carried (a trigger only: the origin pays its own count).
    pub(super) fn pay_on_invoice(&mut self, h: u64, index: usize, bytes: u64) {
        let Some(Role::Origin(o)) = self.routes.get_mut(&h).map(|r| &mut r.role) else {
            return;
        };
        let Some(payer) = o.pay.as_mut().and_then(|p| p.payer.as_mut()) else {
            self.stats.violations += 1;
            return;
        };
        payer.invoice(index, bytes);
        self.pay.stats.invoices_heard += 1;
        self.pay_send_due(h, false);
    }

    /// At the origin: `bytes` more of route `h` reached the destination
    /// (acknowledged end to end, up to `acked`). When nothing sent is
    /// unacknowledged (the route went quiet), every relay is owed exactly
    /// what the origin counts, so it settles in full rather than leave a
    /// relay waiting for the route to close.
    pub(super) fn pay_delivered(&mut self, h: u64, bytes: u64, acked: u64) {
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        let all = r.dirs[FORWARD].buf.end() <= acked;
        let Role::Origin(o) = &mut r.role else {
            return;
        };
        let Some(payer) = o.pay.as_mut().and_then(|p| p.payer.as_mut()) else {
            return;
        };
        payer.carried(FORWARD, bytes);
        self.pay_send_due(h, all);
    }

    /// At the origin: route `h`'s backward stream arrived up to `offset`.
    pub(super) fn pay_received(&mut self, h: u64, offset: u64) {
        let Some(Role::Origin(o)) = self.routes.get_mut(&h).map(|r| &mut r.role) else {
            return;
        };
        let Some(op) = o.pay.as_mut() else { return };
        let Some(payer) = op.payer.as_mut() else {
            return;
        };
        if offset <= op.back_counted {
            return;
        }
        payer.carried(BACKWARD, offset - op.back_counted);
        op.back_counted = offset;
        self.pay_send_due(h, false);
    }

    /// At the origin: sends the receipts due on route `h` (all that are
    /// owed anything when `settle`: the route closes).
    pub(super) fn pay_send_due(&mut self, h: u64, settle: bool) {
        let suite = self.suite;
        let Some(r) = self.routes.get_mut(&h) else {
            return;
        };
        let Some(down) = r.down else { return };
        let Role::Origin(o) = &mut r.role else { return };
        let Some(payer) = o.pay.as_mut().and_then(|p| p.payer.as_mut()) else {
            return;
        };
        let due = if settle {
            payer.unsettled()
        } else {
            payer.due()
        };
        let mut frames = Vec::with_capacity(due.len());
        for i in &due {
            let (Some(receipt), Some(hops)) = (payer.receipt(*i), o.hops.get(..=*i)) else {
                continue;
            };
            let nonce = o.ctrl_nonce;
            o.ctrl_nonce += 1;
            let payload = crypto::wrap_forward(suite, hops, nonce, &encode_pay(&receipt));
            frames.push((nonce, payload));
        }
        // The infrastructure's share (NOIA pricing) goes with the relays'.
        let infra = if settle || !due.is_empty() {
            payer.infra_receipt()
        } else {
            None
        };
        for (nonce, payload) in frames {
            self.pay.stats.receipts_sent += 1;
            self.queue_ctrl(
                down.peer,
                RouteFrame::Pay(RouteCtrlFrame {
                    route: down.tx,
                    nonce,
                    payload: &payload,
                }),
            );
        }
        if let Some(r) = infra {
            self.pay.keep(r);
        }
    }

    /// The application's answer to [`Event::PayCheck`]: if `pseudonym`
    /// cannot pay, every route it pays this relay for is closed (counted).
    pub fn pay_verdict(&mut self, pseudonym: &PublicKey, can_pay: bool) {
        if can_pay {
            return;
        }
        let unfunded: Vec<u64> = self
            .routes
            .iter()
            .filter(|(_, r)| {
                r.gate
                    .as_ref()
                    .is_some_and(|g| g.pseudonym() == Some(pseudonym))
            })
            .map(|(&h, _)| h)
            .collect();
        for h in unfunded {
            self.pay.stats.unfunded += 1;
            self.teardown(h, crate::interface::RouteCloseReason::Broken, None);
        }
    }

    /// A ROUTE_PAY frame from neighbour `peer`: taken if it is for this
    /// hop, else passed on downstream. Only forward: an origin pays.
    pub(super) fn on_pay(&mut self, now: Time, peer: Address, f: &RouteCtrlFrame<'_>) {
        let Some((h, side)) = self.lookup(now, peer, f.route) else {
            return;
        };
        let suite = self.suite;
        let r = self.routes.get_mut(&h).expect("inbound names live routes");
        let (Side::Up, Some(hop)) = (side, r.role.hop()) else {
            self.stats.violations += 1;
            return;
        };
        let forwarded = r.dirs[FORWARD].fwd.next_send() + r.dirs[BACKWARD].fwd.next_send();
        if r.pay_frames >= PAY_FRAMES_FREE + forwarded / PAY_BYTES_PER_FRAME {
            self.pay.stats.flood += 1;
            return;
        }
        r.pay_frames += 1;
        let mut payload = f.payload.to_vec();
        match crypto::peel_forward(suite, &hop.keys, f.nonce, &mut payload) {
            Peeled::ForMe(msg) => {
                let Some(receipt) = decode_pay(&msg) else {
                    self.pay.stats.refused += 1;
                    return;
                };
                let Some(gate) = r.gate.as_mut() else {
                    self.pay.stats.refused += 1;
                    return;
                };
                if gate.best() == Some(&receipt) {
                    self.pay.stats.duplicates += 1;
                    return;
                }
                let stats = &mut self.pay.stats;
                match gate.on_receipt(suite, &receipt) {
                    Ok(()) => stats.receipts_taken += 1,
                    Err(GateRefusal::Forged) => return stats.forged += 1,
                    Err(GateRefusal::Foreign) => return stats.foreign += 1,
                    Err(GateRefusal::Stale) => return stats.stale += 1,
                    Err(GateRefusal::Underpaid) => return stats.underpaid += 1,
                }
                let check = gate.check_due().map(|owed| Event::PayCheck {
                    pseudonym: receipt.pseudonym,
                    owed,
                    credit: gate.credit().0,
                });
                if let Some(e) = check {
                    self.pay.stats.checks += 1;
                    self.events.push_back(e);
                }
                // Resumed (or not paused): both directions may send.
                let class = r.class;
                let (up, down) = (r.up, r.down);
                self.pay.keep(receipt);
                for (d, to) in [(FORWARD, down), (BACKWARD, up)] {
                    if let Some(to) = to {
                        self.activate(to.peer, class, h, d);
                    }
                }
            }
            Peeled::Forward => match r.down {
                // Not deduplicated by nonce like control messages: a
                // receipt a lost link frame delays may come after a later
                // one for another hop, and must still get there; a repeat
                // costs a frame of the allowance and is ignored there.
                Some(d) => {
                    let frame = RouteCtrlFrame {
                        route: d.tx,
                        nonce: crypto::forward_nonce(&hop.keys, f.nonce),
                        payload: &payload,
                    };
                    self.queue_ctrl(d.peer, RouteFrame::Pay(frame));
                }
                None => self.stats.violations += 1,
            },
        }
    }
}
