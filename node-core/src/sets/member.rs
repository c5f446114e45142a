//! One route of a route set, as the set's sending end tracks it: what it
//! carries that the other end has not confirmed, and what its
//! confirmations measured (end-to-end RTT, delivery rate).

use std::collections::VecDeque;

use crate::identity::Address;
use crate::interface::RouteHandle;
use crate::route::endpoint::stream_len;
use crate::time::{Duration, Time};

use super::SetConfig;

/// A message on the route, not yet confirmed.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// The route's stream offset at its end (what a confirmation names).
    end: u64,
    /// Its set number (`None`: a probe).
    seq: Option<u64>,
    /// Its encoded length.
    len: usize,
    at: Time,
}

/// One route of a set.
#[derive(Debug)]
pub(crate) struct Member {
    pub route: RouteHandle,
    /// Its hops (empty at the receiving end, which does not know them).
    pub path: Vec<Address>,
    /// Built end to end.
    pub up: bool,
    written: u64,
    confirmed: u64,
    inflight: VecDeque<Sent>,
    pub inflight_bytes: usize,
    /// Smoothed and least time from sending to confirmation, ns.
    pub srtt: Option<u64>,
    /// Mean deviation of those times (RFC 6298's RTTVAR), ns.
    rttvar: u64,
    pub min_rtt: Option<u64>,
    /// The last confirmation (or when it came up).
    last_progress: Time,
    /// Delivery rate, bytes/s (0: not measured yet), and the mark it is
    /// measured from.
    pub rate: u64,
    mark: (Time, u64),
    pub next_probe: Time,
    pub probes: u64,
    /// A hop drains one of its links (`Event::RouteDraining`): it carries
    /// only while no other route can, and goes once a replacement is up
    /// and it holds nothing unconfirmed.
    pub draining: bool,
}

impl Member {
    pub fn new(route: RouteHandle, path: Vec<Address>, now: Time) -> Member {
        Member {
            route,
            path,
            up: false,
            written: 0,
            confirmed: 0,
            inflight: VecDeque::new(),
            inflight_bytes: 0,
            srtt: None,
            rttvar: 0,
            min_rtt: None,
            last_progress: now,
            rate: 0,
            mark: (now, 0),
            next_probe: Time::NEVER,
            probes: 0,
            draining: false,
        }
    }

    /// The route came up.
    pub fn on_up(&mut self, now: Time, cfg: &SetConfig) {
        self.up = true;
        self.last_progress = now;
        self.mark = (now, self.confirmed);
        self.next_probe = now + cfg.probe_interval;
    }

    /// A message of `len` encoded bytes (set number `seq`, `None` for a
    /// probe) went onto the route.
    pub fn record(&mut self, now: Time, seq: Option<u64>, len: usize) {
        self.written += stream_len(len) as u64;
        if self.inflight.is_empty() {
            // Idle until now: progress is judged from this message on.
            self.last_progress = self.last_progress.max(now);
        }
        self.inflight.push_back(Sent {
            end: self.written,
            seq,
            len,
            at: now,
        });
        self.inflight_bytes += len;
    }

    /// The other end confirmed `bytes` of the route's stream: the set
    /// numbers that are now confirmed, with their lengths.
    pub fn confirm(&mut self, now: Time, bytes: u64, cfg: &SetConfig) -> Vec<(u64, usize)> {
        let mut done = Vec::new();
        if bytes <= self.confirmed {
            return done;
        }
        self.confirmed = bytes;
        self.last_progress = now;
        while let Some(s) = self.inflight.front().copied() {
            if s.end > bytes {
                break;
            }
            self.inflight.pop_front();
            self.inflight_bytes -= s.len;
            let rtt = now.as_nanos().saturating_sub(s.at.as_nanos()).max(1);
            match self.srtt {
                None => {
                    self.srtt = Some(rtt);
                    self.rttvar = rtt / 2;
                }
                Some(old) => {
                    self.rttvar = (self.rttvar * 3 + old.abs_diff(rtt)) / 4;
                    self.srtt = Some((old * 7 + rtt) / 8);
                }
            }
            self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
            if let Some(seq) = s.seq {
                done.push((seq, s.len));
            }
        }
        // A rate sample per smoothed RTT or so.
        let span = now.as_nanos().saturating_sub(self.mark.0.as_nanos());
        if span >= self.srtt.unwrap_or(u64::MAX).max(1_000_000) {
            let sample = (bytes - self.mark.1).saturating_mul(1_000_000_000) / span;
            self.rate = if self.rate == 0 {
                sample
            } else {
                (self.rate * 3 + sample) / 4
            };
            self.mark = (now, bytes);
        }
        if self.inflight.is_empty() {
            self.next_probe = now + cfg.probe_interval;
        }
        done
    }

    /// Set numbers on the route not confirmed, oldest first.
    pub fn unconfirmed(&self) -> impl Iterator<Item = u64> + '_ {
        self.inflight.iter().filter_map(|s| s.seq)
    }

    /// Whether the other end ever confirmed anything on it.
    pub fn progressed(&self) -> bool {
        self.confirmed > 0
    }

    /// Whether anything is unconfirmed.
    pub fn busy(&self) -> bool {
        !self.inflight.is_empty()
    }

    /// What the route may carry unconfirmed: twice what it delivers in its
    /// least RTT (the pipe, and as much again queued), at least
    /// `min` (`SetConfig::min_unconfirmed`), at most `max`.
    pub fn cap(&self, min: usize, max: usize) -> usize {
        let bdp = match self.min_rtt {
            Some(rtt) if self.rate > 0 => {
                (u128::from(self.rate) * u128::from(rtt) / 1_000_000_000) as usize
            }
            _ => 0,
        };
        bdp.saturating_mul(2).clamp(min.min(max), max)
    }

    /// The time a message of `len` more bytes would take to be confirmed,
    /// as far as the route measured (ns; for choosing a route to stripe
    /// on).
    pub fn eta(&self, len: usize) -> u128 {
        let rtt = u128::from(self.min_rtt.unwrap_or(0));
        let queued = (self.inflight_bytes + len) as u128;
        match self.rate {
            0 => queued * 1_000_000, // not measured: by what it holds
            r => rtt + queued * 1_000_000_000 / u128::from(r),
        }
    }

    /// The time the route is suspected if nothing more is confirmed,
    /// while it carries something unconfirmed: after the last progress,
    /// `detect_rtts` of the route's least RTT (its path, without queues),
    /// or the smoothed confirmation time plus four deviations (at least
    /// twice the smoothed time) if that is longer (what the route carries
    /// queued, up to its cap, delays each confirmation by as much), within
    /// `min_detect ..= max_detect`.
    pub fn suspect_at(&self, cfg: &SetConfig) -> Time {
        if !self.up || self.inflight.is_empty() {
            return Time::NEVER;
        }
        let guess = cfg.initial_rtt.as_nanos();
        let path = self
            .min_rtt
            .unwrap_or(guess)
            .saturating_mul(u64::from(cfg.detect_rtts));
        // At least twice the smoothed time: a steady route's variance can
        // be near zero, and one slower confirmation is not a failure.
        let queued = self.srtt.map_or(guess, |s| {
            s.saturating_add(self.rttvar.saturating_mul(4).max(s))
        });
        let wait = Duration::from_nanos(path.max(queued))
            .max(cfg.min_detect)
            .min(cfg.max_detect);
        self.last_progress + wait
    }
}
