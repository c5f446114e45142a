//! What the destination makes of a route's messages: a file written to the
//! receive directory, or a raw stream counted.
//!
//! Each route (or route set: see [`Carrier`]) ending here has an
//! [`Incoming`]; the transfers themselves
//! live in the node's [`Inbox`], filed by transfer id, so that one outlives
//! the route it started on: when the route closes, the transfer is held
//! (its part file, its digest so far) until a header with its id comes on
//! another route, which then carries it on from the bytes held; a held
//! transfer no route takes back within `resume_window` is deleted. The
//! part files are described in [`super::part`].
//!
//! At most [`IncomingLimits::max_files`] transfers are held at once
//! (written or waiting for a new route), and the sizes they announce add up
//! to at most [`IncomingLimits::max_bytes`] (a transfer cannot write more
//! than it announced): a transfer past either is refused at its header,
//! and the driver counts it. So a sender that starts transfers and lets
//! their routes break holds the quota for `resume_window` at most.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::part::PartFile;
use super::{Carrier, MAGIC, TransferId, encode_resume, valid_name};

/// Completed transfers remembered (so that a sender that did not hear the
/// last confirmation and asks again is told "all of it", not sent a copy).
const COMPLETED_KEPT: usize = 1024;

/// A transfer written to disk at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    /// The route it came on (its last one, if it resumed), if a route
    /// carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<u64>,
    /// The route set (connection) it came on, if a set carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<u64>,
    /// The transfer's id.
    pub transfer: String,
    /// The name the sender gave.
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of its contents, hex.
    pub sha256: String,
    /// A file of the sender's name existed: this one got another name (the
    /// existing file is untouched).
    #[serde(default)]
    pub renamed: bool,
}

/// Why an incoming transfer is refused (the route is then closed).
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// The header is malformed or names an unusable file.
    #[error("bad transfer header: {0}")]
    BadHeader(&'static str),
    /// More bytes than the header announced.
    #[error("more data than the announced {0} bytes")]
    TooLong(u64),
    /// As many files as allowed are being written.
    #[error("{0} incoming transfers already in progress (max_incoming_transfers)")]
    TooManyTransfers(usize),
    /// The announced size does not fit in what may be written at once.
    #[error(
        "{size} bytes announced, {free} of max_incoming_bytes {max} free (other transfers hold the rest)"
    )]
    TooManyBytes {
        /// The size announced.
        size: u64,
        /// Bytes not held by transfers in progress.
        free: u64,
        /// The cap.
        max: u64,
    },
    /// The transfer carries on over another route.
    #[error("transfer {0} carries on over another route")]
    Moved(TransferId),
    /// The header names a transfer this node knows with another name or size.
    #[error("transfer {0} was announced with another name or size")]
    Mismatch(TransferId),
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Caps on what incoming transfers may write at once (the node's
/// `max_incoming_transfers` and `max_incoming_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingLimits {
    /// Files being written at once.
    pub max_files: usize,
    /// Bytes the files being written announce, together.
    pub max_bytes: u64,
    /// How long a transfer whose route closed is held for a new route.
    pub resume_window: Duration,
}

impl Default for IncomingLimits {
    fn default() -> Self {
        IncomingLimits {
            max_files: 16,
            max_bytes: 4 << 30,
            resume_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counters of the [`Inbox`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InboxStats {
    /// Transfers carried on from the bytes held (over a new route, or from
    /// a part file an earlier run of this node left).
    pub resumed: u64,
    /// Of those, transfers taken over from a route not yet known closed.
    pub moved: u64,
    /// Held transfers deleted: no route took them back in `resume_window`.
    pub expired: u64,
    /// Headers of transfers already complete, answered "all of it".
    pub already_complete: u64,
}

/// A transfer being received.
struct Writing {
    name: String,
    size: u64,
    written: u64,
    /// `None` when there is no receive directory: the bytes are counted only.
    file: Option<PartFile>,
    hasher: Sha256,
    /// What carries it now; `None` while it waits for a carrier.
    route: Option<Carrier>,
    /// When its route closed.
    held_since: Option<Instant>,
}

/// The transfers a destination receives, across their routes, and what
/// they hold of the [`IncomingLimits`].
#[derive(Default)]
pub struct Inbox {
    /// The caps.
    pub limits: IncomingLimits,
    /// Transfers held (written now or waiting for a route).
    pub files: usize,
    /// Bytes they announced.
    pub bytes: u64,
    /// Counters.
    pub stats: InboxStats,
    transfers: BTreeMap<TransferId, Writing>,
    /// Recently completed transfers and their sizes, oldest first.
    completed: VecDeque<(TransferId, u64)>,
}

impl Inbox {
    /// Nothing held yet under `limits`.
    pub fn new(limits: IncomingLimits) -> Inbox {
        Inbox {
            limits,
            ..Inbox::default()
        }
    }

    /// Transfers waiting for a route.
    pub fn held(&self) -> usize {
        self.transfers
            .values()
            .filter(|w| w.route.is_none())
            .count()
    }

    fn reserve(&mut self, size: u64) -> Result<(), IncomingError> {
        if self.files >= self.limits.max_files {
            return Err(IncomingError::TooManyTransfers(self.files));
        }
        let free = self.limits.max_bytes.saturating_sub(self.bytes);
        if size > free {
            return Err(IncomingError::TooManyBytes {
                size,
                free,
                max: self.limits.max_bytes,
            });
        }
        self.files += 1;
        self.bytes += size;
        Ok(())
    }

    fn release(&mut self, size: u64) {
        self.files -= 1;
        self.bytes -= size;
    }

    /// Transfer `id` (`size` bytes named `name`) goes on over `route`:
    /// the one held, the one a part file left, or a new one. Returns the
    /// bytes already held.
    fn attach(
        &mut self,
        id: TransferId,
        name: &str,
        size: u64,
        route: Carrier,
        dir: Option<&Path>,
    ) -> Result<u64, IncomingError> {
        if let Some(w) = self.transfers.get_mut(&id) {
            if w.name != name || w.size != size {
                return Err(IncomingError::Mismatch(id));
            }
            if w.route.is_some_and(|r| r != route) {
                // The old route broke without this node hearing yet.
                self.stats.moved += 1;
            }
            w.route = Some(route);
            w.held_since = None;
            self.stats.resumed += 1;
            return Ok(w.written);
        }
        self.reserve(size)?;
        let opened = dir.map(|d| PartFile::open(d, id)).transpose();
        let (file, held) = match opened {
            Ok(Some((f, held))) => (Some(f), held),
            Ok(None) => (None, 0),
            Err(e) => {
                self.release(size);
                return Err(e);
            }
        };
        let mut hasher = Sha256::new();
        if held > 0 {
            // Left by this node before it restarted.
            let f = file.as_ref().expect("held bytes are in a file");
            let hashed = if held > size {
                Err(IncomingError::Mismatch(id))
            } else {
                f.hash_prefix(held, &mut hasher)
            };
            if let Err(e) = hashed {
                self.release(size);
                return Err(e);
            }
            self.stats.resumed += 1;
        }
        self.transfers.insert(
            id,
            Writing {
                name: name.to_owned(),
                size,
                written: held,
                file,
                hasher,
                route: Some(route),
                held_since: None,
            },
        );
        Ok(held)
    }

    /// The transfer is complete if every byte is there: it gets its name.
    fn finish_if_complete(&mut self, id: TransferId) -> Result<Option<Completed>, IncomingError> {
        if self.transfers.get(&id).is_none_or(|w| w.written < w.size) {
            return Ok(None);
        }
        let w = self.transfers.remove(&id).expect("checked above");
        self.release(w.size);
        if self.completed.len() == COMPLETED_KEPT {
            self.completed.pop_front();
        }
        self.completed.push_back((id, w.size));
        let (path, renamed) = match w.file {
            Some(p) => p.finish(&w.name)?,
            None => (PathBuf::new(), false),
        };
        let carrier = w.route;
        Ok(Some(Completed {
            route: carrier.and_then(Carrier::route).map(|r| r.0),
            connection: carrier.and_then(Carrier::set).map(|c| c.0),
            transfer: id.to_string(),
            name: w.name,
            path,
            bytes: w.size,
            sha256: crate::hex::encode(&w.hasher.finalize()),
            renamed,
        }))
    }

    /// Deletes transfer `id` if `route` carries it (its part file too).
    fn drop_transfer(&mut self, id: TransferId, route: Carrier) {
        if self
            .transfers
            .get(&id)
            .is_some_and(|w| w.route == Some(route))
        {
            let w = self.transfers.remove(&id).expect("checked above");
            self.release(w.size);
            if let Some(p) = w.file {
                p.remove();
            }
        }
    }

    /// Deletes the transfers held longer than `resume_window`; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let window = self.limits.resume_window;
        let old: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|(_, w)| {
                w.held_since
                    .is_some_and(|t| now.duration_since(t) >= window)
            })
            .map(|(&id, _)| id)
            .collect();
        for &id in &old {
            let w = self.transfers.remove(&id).expect("listed above");
            self.release(w.size);
            if let Some(p) = w.file {
                p.remove();
            }
        }
        self.stats.expired += old.len() as u64;
        old.len()
    }

    /// The next time a held transfer expires.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.transfers
            .values()
            .filter_map(|w| w.held_since)
            .min()
            .map(|t| t + self.limits.resume_window)
    }
}

enum State {
    AwaitFirst,
    /// A file transfer, filed in the [`Inbox`].
    File(TransferId),
    /// Complete: anything more is an error.
    Done(u64),
    Raw,
}

/// What a message did at the destination.
#[derive(Debug, Default)]
pub struct Outcome {
    /// To send back on the route (the answer to a header).
    pub reply: Option<Vec<u8>>,
    /// The transfer completed.
    pub completed: Option<Completed>,
}

/// What arrives on one route (or route set) at its destination.
pub struct Incoming {
    route: Carrier,
    state: State,
    /// Payload bytes received (headers excluded).
    pub bytes: u64,
}

impl Incoming {
    /// Nothing received yet on `route`.
    pub fn new(route: impl Into<Carrier>) -> Incoming {
        let route = route.into();
        Incoming {
            route,
            state: State::AwaitFirst,
            bytes: 0,
        }
    }

    /// Whether this is a raw stream rather than a file.
    pub fn is_raw(&self) -> bool {
        matches!(self.state, State::Raw)
    }

    /// Takes the next message. After an error the caller must
    /// [`Self::abandon`] it.
    pub fn on_message(
        &mut self,
        data: &[u8],
        dir: Option<&Path>,
        inbox: &mut Inbox,
    ) -> Result<Outcome, IncomingError> {
        match self.state {
            State::AwaitFirst if data.starts_with(MAGIC) => {
                let (id, name, size) = parse_header(data)?;
                if let Some(&(_, done)) = inbox.completed.iter().find(|(c, _)| *c == id) {
                    if done != size {
                        return Err(IncomingError::Mismatch(id));
                    }
                    inbox.stats.already_complete += 1;
                    self.state = State::Done(size);
                    return Ok(Outcome {
                        reply: Some(encode_resume(id, size)),
                        completed: None,
                    });
                }
                let held = inbox.attach(id, &name, size, self.route, dir)?;
                self.state = State::File(id);
                Ok(Outcome {
                    reply: Some(encode_resume(id, held)),
                    completed: self.finish_if_complete(id, inbox)?,
                })
            }
            State::AwaitFirst => {
                self.state = State::Raw;
                self.bytes += data.len() as u64;
                Ok(Outcome::default())
            }
            State::Raw => {
                self.bytes += data.len() as u64;
                Ok(Outcome::default())
            }
            State::Done(size) => Err(IncomingError::TooLong(size)),
            State::File(id) => {
                let w = inbox
                    .transfers
                    .get_mut(&id)
                    .filter(|w| w.route == Some(self.route))
                    .ok_or(IncomingError::Moved(id))?;
                if w.written + data.len() as u64 > w.size {
                    return Err(IncomingError::TooLong(w.size));
                }
                if let Some(p) = &mut w.file {
                    p.write(data)?;
                }
                w.hasher.update(data);
                w.written += data.len() as u64;
                self.bytes += data.len() as u64;
                Ok(Outcome {
                    reply: None,
                    completed: self.finish_if_complete(id, inbox)?,
                })
            }
        }
    }

    fn finish_if_complete(
        &mut self,
        id: TransferId,
        inbox: &mut Inbox,
    ) -> Result<Option<Completed>, IncomingError> {
        let done = inbox.finish_if_complete(id)?;
        if let Some(c) = &done {
            self.state = State::Done(c.bytes);
        }
        Ok(done)
    }

    /// The route closed: its transfer is held for a new route (see the
    /// module docs).
    pub fn route_closed(&mut self, inbox: &mut Inbox, now: Instant) {
        if let State::File(id) = self.state
            && let Some(w) = inbox.transfers.get_mut(&id)
            && w.route == Some(self.route)
        {
            w.route = None;
            w.held_since = Some(now);
        }
        self.state = State::Done(0);
    }

    /// The transfer failed: its part file is removed and its share of the
    /// quota given back (unless another route carries it now).
    pub fn abandon(&mut self, inbox: &mut Inbox) {
        if let State::File(id) = std::mem::replace(&mut self.state, State::Done(0)) {
            inbox.drop_transfer(id, self.route);
        }
    }
}

/// The id, name and size of a header message (the first message of a file
/// transfer); a name that is not a safe single path component is refused.
pub fn parse_header(data: &[u8]) -> Result<(TransferId, String, u64), IncomingError> {
    let truncated = IncomingError::BadHeader("truncated");
    if !data.starts_with(MAGIC) {
        return Err(IncomingError::BadHeader("not a transfer header"));
    }
    let id = data
        .get(4..20)
        .map(|b| TransferId(b.try_into().expect("16 bytes")))
        .ok_or(truncated)?;
    let size = data
        .get(20..28)
        .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
        .ok_or(IncomingError::BadHeader("truncated"))?;
    let len = data
        .get(28..30)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or(IncomingError::BadHeader("truncated"))?;
    let name = data
        .get(30..)
        .filter(|n| n.len() == len)
        .and_then(|n| std::str::from_utf8(n).ok())
        .filter(|n| valid_name(n))
        .ok_or(IncomingError::BadHeader("invalid file name"))?
        .to_owned();
    Ok((id, name, size))
}

#[cfg(test)]
mod tests;
