//! What the destination makes of a route's messages: a file written to the
//! receive directory, or a raw stream counted.
//!
//! A file is written to a part file `.meshnode-part-<route>-<k>` that the
//! node creates (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600: never an
//! existing file, never through a link planted there), relative to the
//! directory opened once when the transfer starts. Only once every byte is
//! there does it get its name, chosen then and never over an existing file
//! ([`crate::files::place_no_replace`]): the sender's name if it is free,
//! else `name.1`, `name.2`, ...; [`Completed::renamed`] says so. Two
//! transfers of one name both arrive.
//!
//! At most [`IncomingLimits::max_files`] files are written at once, and
//! the sizes they announce add up to at most [`IncomingLimits::max_bytes`]
//! (a transfer cannot write more than it announced): a transfer past
//! either is refused at its header, and the driver counts it.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{MAGIC, valid_name};

/// Candidate names tried for a finished file before giving up.
const MAX_NAME_TRIES: u32 = 1000;

/// A transfer written to disk at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    /// The route it came on.
    pub route: u64,
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
}

impl Default for IncomingLimits {
    fn default() -> Self {
        IncomingLimits {
            max_files: 16,
            max_bytes: 4 << 30,
        }
    }
}

/// What the transfers in progress hold of the [`IncomingLimits`].
#[derive(Debug, Default)]
pub struct IncomingQuota {
    /// The caps.
    pub limits: IncomingLimits,
    /// Files being written.
    pub files: usize,
    /// Bytes they announced.
    pub bytes: u64,
}

impl IncomingQuota {
    /// Nothing held yet under `limits`.
    pub fn new(limits: IncomingLimits) -> IncomingQuota {
        IncomingQuota {
            limits,
            files: 0,
            bytes: 0,
        }
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
}

/// A part file being written.
struct PartFile {
    file: File,
    /// The receive directory, opened when the transfer started: names are
    /// relative to it.
    dir: OwnedFd,
    dir_path: PathBuf,
    part: String,
}

impl PartFile {
    fn create(dir_path: &Path, route: u64) -> Result<PartFile, IncomingError> {
        let io = |path: &Path, source| IncomingError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir_path).map_err(|e| io(dir_path, e))?;
        let dir = crate::files::open_dir(dir_path).map_err(|e| io(dir_path, e))?;
        let mut k = 0;
        loop {
            let part = format!(".meshnode-part-{route}-{k}");
            match crate::files::create_new_in(&dir, &part) {
                Ok(file) => {
                    return Ok(PartFile {
                        file,
                        dir,
                        dir_path: dir_path.to_owned(),
                        part,
                    });
                }
                // Left by an earlier run, or planted: another name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && k < 100 => k += 1,
                Err(e) => return Err(io(&dir_path.join(&part), e)),
            }
        }
    }

    /// Gives the complete file a free name; returns it and whether it is
    /// not the sender's.
    fn finish(self, name: &str) -> Result<(PathBuf, bool), IncomingError> {
        let io = |path: PathBuf, source| IncomingError::Io { path, source };
        if let Err(e) = self.file.sync_all() {
            self.remove();
            return Err(io(self.dir_path.join(name), e));
        }
        for k in 0..MAX_NAME_TRIES {
            let candidate = candidate(name, k);
            match crate::files::place_no_replace(self.dir.as_fd(), &self.part, &candidate) {
                Ok(()) => return Ok((self.dir_path.join(&candidate), k > 0)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    self.remove();
                    return Err(io(self.dir_path.join(candidate), e));
                }
            }
        }
        self.remove();
        Err(io(
            self.dir_path.join(name),
            std::io::Error::other(format!("{MAX_NAME_TRIES} names taken")),
        ))
    }

    fn remove(&self) {
        let _ = rustix::fs::unlinkat(&self.dir, self.part.as_str(), rustix::fs::AtFlags::empty());
    }
}

/// The `k`th name tried for `name`: `name`, then `name.k`, cut so it stays
/// within 255 bytes.
fn candidate(name: &str, k: u32) -> String {
    if k == 0 {
        return name.to_owned();
    }
    let suffix = format!(".{k}");
    let mut keep = name.len().min(255 - suffix.len());
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &name[..keep])
}

struct Writing {
    name: String,
    size: u64,
    written: u64,
    /// `None` when there is no receive directory: the bytes are counted only.
    file: Option<PartFile>,
    hasher: Sha256,
}

enum State {
    AwaitFirst,
    /// Holds its announced size of the quota.
    File(Box<Writing>),
    /// Complete: anything more is an error.
    Done(u64),
    Raw,
}

/// What arrives on one route at its destination.
pub struct Incoming {
    route: u64,
    state: State,
    /// Payload bytes received (headers excluded).
    pub bytes: u64,
}

impl Incoming {
    /// Nothing received yet on `route`.
    pub fn new(route: u64) -> Incoming {
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

    /// Takes the next message; returns the finished transfer when it is
    /// complete. After an error the caller must [`Self::abandon`] it.
    pub fn on_message(
        &mut self,
        data: &[u8],
        dir: Option<&Path>,
        quota: &mut IncomingQuota,
    ) -> Result<Option<Completed>, IncomingError> {
        match &mut self.state {
            State::AwaitFirst if data.starts_with(MAGIC) => {
                let (name, size) = parse_header(data)?;
                quota.reserve(size)?;
                let file = match dir.map(|d| PartFile::create(d, self.route)).transpose() {
                    Ok(f) => f,
                    Err(e) => {
                        quota.release(size);
                        return Err(e);
                    }
                };
                self.state = State::File(Box::new(Writing {
                    name,
                    size,
                    written: 0,
                    file,
                    hasher: Sha256::new(),
                }));
                self.finish_if_complete(quota)
            }
            State::AwaitFirst => {
                self.state = State::Raw;
                self.bytes += data.len() as u64;
                Ok(None)
            }
            State::Raw => {
                self.bytes += data.len() as u64;
                Ok(None)
            }
            State::Done(size) => Err(IncomingError::TooLong(*size)),
            State::File(w) => {
                if w.written + data.len() as u64 > w.size {
                    return Err(IncomingError::TooLong(w.size));
                }
                if let Some(p) = &mut w.file {
                    p.file.write_all(data).map_err(|source| IncomingError::Io {
                        path: p.dir_path.join(&p.part),
                        source,
                    })?;
                }
                w.hasher.update(data);
                w.written += data.len() as u64;
                self.bytes += data.len() as u64;
                self.finish_if_complete(quota)
            }
        }
    }

    fn finish_if_complete(
        &mut self,
        quota: &mut IncomingQuota,
    ) -> Result<Option<Completed>, IncomingError> {
        match &self.state {
            State::File(w) if w.written >= w.size => {}
            _ => return Ok(None),
        }
        let State::File(w) = std::mem::replace(&mut self.state, State::AwaitFirst) else {
            unreachable!("matched above");
        };
        self.state = State::Done(w.size);
        quota.release(w.size);
        let sha256 = crate::hex::encode(&w.hasher.finalize());
        let (path, renamed) = match w.file {
            Some(p) => p.finish(&w.name)?,
            None => (PathBuf::new(), false),
        };
        Ok(Some(Completed {
            route: self.route,
            name: w.name,
            path,
            bytes: w.size,
            sha256,
            renamed,
        }))
    }

    /// The route closed or the transfer failed: a partial file is removed
    /// and its share of the quota given back.
    pub fn abandon(&mut self, quota: &mut IncomingQuota) {
        if let State::File(w) = std::mem::replace(&mut self.state, State::Done(0)) {
            quota.release(w.size);
            if let Some(p) = w.file {
                p.remove();
            }
        }
    }
}

/// The name and size of a header message (the first message of a file
/// transfer); a name that is not a safe single path component is refused.
pub fn parse_header(data: &[u8]) -> Result<(String, u64), IncomingError> {
    let size = data
        .get(4..12)
        .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
        .ok_or(IncomingError::BadHeader("truncated"))?;
    let len = data
        .get(12..14)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or(IncomingError::BadHeader("truncated"))?;
    let name = data
        .get(14..)
        .filter(|n| n.len() == len)
        .and_then(|n| std::str::from_utf8(n).ok())
        .filter(|n| valid_name(n))
        .ok_or(IncomingError::BadHeader("invalid file name"))?
        .to_owned();
    Ok((name, size))
}

#[cfg(test)]
mod tests;
