//! Part files: where the destination writes a transfer until it is
//! complete.
//!
//! The part file of transfer `id` is `.meshnode-part-<id>` in the receive
//! directory, named relative to the directory opened once when the
//! transfer starts. A new one is created `O_CREAT | O_EXCL | O_NOFOLLOW`
//! with mode 0600: never an existing file, never through a link planted
//! there. One already there is picked up to resume only if it is a regular
//! file of this user with no other name ([`crate::files::open_own_in`]);
//! its length is what the destination holds. Only once every byte is there
//! does the file get its name, chosen then and never over an existing file
//! ([`crate::files::place_no_replace`]): the sender's name if it is free,
//! else `name.1`, `name.2`, ....

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{IncomingError, TransferId};

/// Candidate names tried for a finished file before giving up.
const MAX_NAME_TRIES: u32 = 1000;
/// What every part file's name starts with (a sender's name never starts
/// with `.`, so no transfer can be named like one).
pub(crate) const PREFIX: &str = ".meshnode-part-";

/// A part file being written.
pub(crate) struct PartFile {
    file: File,
    /// The receive directory, opened when the transfer started.
    dir: OwnedFd,
    dir_path: PathBuf,
    part: String,
}

fn io_error(path: PathBuf, source: std::io::Error) -> IncomingError {
    IncomingError::Io { path, source }
}

impl PartFile {
    /// The part file of `id` in `dir_path`: a new one, or the one a route
    /// that broke (or this node before it restarted) left there. Returns it
    /// and the bytes it holds.
    pub(crate) fn open(dir_path: &Path, id: TransferId) -> Result<(PartFile, u64), IncomingError> {
        std::fs::create_dir_all(dir_path).map_err(|e| io_error(dir_path.to_owned(), e))?;
        let dir = crate::files::open_dir(dir_path).map_err(|e| io_error(dir_path.to_owned(), e))?;
        let part = format!("{PREFIX}{id}");
        let path = dir_path.join(&part);
        let (file, held) = match crate::files::create_new_in(&dir, &part) {
            Ok(f) => (f, 0),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mut f = crate::files::open_own_in(&dir, &part)
                    .map_err(|e| io_error(path.clone(), e))?;
                let held = f
                    .seek(SeekFrom::End(0))
                    .map_err(|e| io_error(path.clone(), e))?;
                (f, held)
            }
            Err(e) => return Err(io_error(path, e)),
        };
        Ok((
            PartFile {
                file,
                dir,
                dir_path: dir_path.to_owned(),
                part,
            },
            held,
        ))
    }

    /// Appends `data`.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), IncomingError> {
        self.file
            .write_all(data)
            .map_err(|e| io_error(self.dir_path.join(&self.part), e))
    }

    /// Feeds the first `len` bytes of the file to `hasher` (a part file
    /// picked up again: its digest must cover what it already holds).
    pub(crate) fn hash_prefix(&self, len: u64, hasher: &mut Sha256) -> Result<(), IncomingError> {
        let path = || self.dir_path.join(&self.part);
        let mut f = self.file.try_clone().map_err(|e| io_error(path(), e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| io_error(path(), e))?;
        let mut left = len;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let n = buf.len().min(left as usize);
            f.read_exact(&mut buf[..n])
                .map_err(|e| io_error(path(), e))?;
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        // The clone shares the offset: back to the end to append.
        f.seek(SeekFrom::End(0)).map_err(|e| io_error(path(), e))?;
        Ok(())
    }

    /// Gives the complete file a free name; returns it and whether it is
    /// not the sender's.
    pub(crate) fn finish(self, name: &str) -> Result<(PathBuf, bool), IncomingError> {
        if let Err(e) = self.file.sync_all() {
            self.remove();
            return Err(io_error(self.dir_path.join(name), e));
        }
        for k in 0..MAX_NAME_TRIES {
            let candidate = candidate(name, k);
            match crate::files::place_no_replace(self.dir.as_fd(), &self.part, &candidate) {
                Ok(()) => return Ok((self.dir_path.join(&candidate), k > 0)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    self.remove();
                    return Err(io_error(self.dir_path.join(candidate), e));
                }
            }
        }
        self.remove();
        Err(io_error(
            self.dir_path.join(name),
            std::io::Error::other(format!("{MAX_NAME_TRIES} names taken")),
        ))
    }

    /// Deletes the part file.
    pub(crate) fn remove(&self) {
        let _ = rustix::fs::unlinkat(&self.dir, self.part.as_str(), rustix::fs::AtFlags::empty());
    }
}

/// The `k`th name tried for `name`: `name`, then `name.k`, cut so it stays
/// within 255 bytes.
pub(crate) fn candidate(name: &str, k: u32) -> String {
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

/// Deletes the part files in `dir` (this user's regular files) not
/// written to for `older_than`: what transfers that never resumed left,
/// before this node started. Returns how many.
pub fn sweep(dir: &Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let Ok(fd) = crate::files::open_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str().filter(|n| n.starts_with(PREFIX)) else {
            continue;
        };
        let Ok(f) = crate::files::open_own_in(&fd, name) else {
            continue;
        };
        let stale = f
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= older_than);
        if stale && rustix::fs::unlinkat(&fd, name, rustix::fs::AtFlags::empty()).is_ok() {
            removed += 1;
        }
    }
    removed
}
