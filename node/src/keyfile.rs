//! The node's secret key on disk: 64 hex digits and a newline, in a file
//! only its owner can read (mode 0600).
//!
//! Loading checks the file it opened, not the path (`fstat` of the
//! descriptor, so the file cannot be swapped between check and read): a
//! regular file (opened without blocking: a FIFO is refused, not waited
//! on), owned by the user the node runs as, readable or writable by no one
//! else. The bytes read and decoded are zeroed once the identity is made
//! (the `zeroize` crate: writes the optimizer may not remove).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use node_core::{Identity, SuiteKind};
use rustix::fs::{FileType, Mode, OFlags};
use zeroize::Zeroizing;

/// Most bytes a key file may hold (64 digits, a newline, some slack for
/// whitespace); a larger one is not a key file.
const MAX_KEY_FILE: usize = 128;

/// Why a key file cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Keygen never replaces a key: an identity lost is an address lost.
    #[error("{0}: already exists; refusing to overwrite a key file")]
    Exists(PathBuf),
    /// The file is missing.
    #[error("key file {0}: not found (create one with `meshnode keygen --out {0}`)")]
    Missing(PathBuf),
    /// Group or others may read or write the secret.
    #[error(
        "key file {path}: mode {mode:04o} lets others read it; it must be 0600 (chmod 600 {path})"
    )]
    Mode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Owned by another user than the one the node runs as.
    #[error(
        "key file {path}: owned by uid {owner}, but the node runs as uid {own}; a key must belong to the node's user"
    )]
    Owner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The node's effective uid.
        own: u32,
    },
    /// Not a regular file (a FIFO, a device, a directory...).
    #[error("key file {path}: {kind}, not a regular file")]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The contents are not 64 hex digits of a valid secret.
    #[error("key file {0}: not a secret key (expected 64 hex digits)")]
    Malformed(PathBuf),
    /// Any other I/O failure.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// 32 bytes from the operating system's random source.
pub fn os_random() -> std::io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// Makes a fresh identity and writes its secret to `path` (mode 0600,
/// never over an existing file).
pub fn generate(path: &Path) -> Result<Identity, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let identity = loop {
        // A draw that is not a valid scalar (probability ~2^-128) is redrawn.
        if let Ok(id) = Identity::from_secret(SuiteKind::Real, os_random().map_err(io)?) {
            break id;
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.to_owned())
            } else {
                io(e)
            }
        })?;
    let text = Zeroizing::new(format!("{}\n", crate::hex::encode(&identity.secret().0)));
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(identity)
}

/// Reads the identity stored at `path`, refusing a file others can read
/// or that another user owns (checked on the open file; see the module
/// docs).
pub fn load(path: &Path) -> Result<Identity, KeyFileError> {
    let io = |source: std::io::Error| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| {
        if e == rustix::io::Errno::NOENT {
            KeyFileError::Missing(path.to_owned())
        } else {
            io(e.into())
        }
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| io(e.into()))?;
    check_owner_and_mode(path, st.st_mode, st.st_uid, crate::endpoint::own_uid())?;
    let mut file = std::fs::File::from(fd);
    let mut buf = Zeroizing::new([0u8; MAX_KEY_FILE + 1]);
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let malformed = || KeyFileError::Malformed(path.to_owned());
    if n > MAX_KEY_FILE {
        return Err(malformed());
    }
    let text = std::str::from_utf8(&buf[..n]).map_err(|_| malformed())?;
    let secret = Zeroizing::new(crate::hex::decode::<32>(text.trim()).ok_or_else(malformed)?);
    Identity::from_secret(SuiteKind::Real, *secret).map_err(|_| malformed())
}

/// Whether a key file with `mode` and `owner` may be used by a node
/// running as uid `own`.
fn check_owner_and_mode(path: &Path, mode: u32, owner: u32, own: u32) -> Result<(), KeyFileError> {
    let kind = FileType::from_raw_mode(mode);
    if kind != FileType::RegularFile {
        return Err(KeyFileError::NotRegular {
            path: path.to_owned(),
            kind: crate::files::kind_name(kind),
        });
    }
    let mode = mode & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Mode {
            path: path.to_owned(),
            mode,
        });
    }
    if owner != own {
        return Err(KeyFileError::Owner {
            path: path.to_owned(),
            owner,
            own,
        });
    }
    Ok(())
}

/// Appends the keys of payment pseudonyms (issue 15) to `path`, one
/// secret per line in hex, creating it with mode 0600 (an existing file
/// others can read is refused, as a key file is). The node keeps them to
/// refund what their escrow accounts have left, even after a restart.
pub fn append_pseudonyms(path: &Path, ids: &[Identity]) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(format!(
                "mode {:o}: others may read it (chmod 600)",
                mode & 0o777
            )),
        });
    }
    let mut text = Zeroizing::new(String::new());
    for id in ids {
        text.push_str(&crate::hex::encode(&id.secret().0));
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// The payment pseudonyms stored at `path` (none if it does not exist);
/// a line that is not a key is skipped.
pub fn load_pseudonyms(path: &Path) -> Result<Vec<Identity>, KeyFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(KeyFileError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(text
        .lines()
        .filter_map(|l| crate::hex::decode::<32>(l.trim()))
        .filter_map(|s| Identity::from_secret(SuiteKind::Real, s).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("meshnode-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn generate_then_load_and_refusals() {
        let dir = temp("gen");
        let path = dir.join("a.key");
        let id = generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path).unwrap().public_key(), id.public_key());
        assert!(matches!(generate(&path), Err(KeyFileError::Exists(_))));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err();
        assert!(matches!(e, KeyFileError::Mode { mode: 0o644, .. }), "{e}");
        assert!(e.to_string().contains("0644"));
        assert!(matches!(
            load(&dir.join("none.key")),
            Err(KeyFileError::Missing(_))
        ));
        let bad = dir.join("bad.key");
        std::fs::write(&bad, "not hex\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load(&bad), Err(KeyFileError::Malformed(_))));
        std::fs::write(&bad, "0".repeat(64 * 1024)).unwrap();
        assert!(matches!(load(&bad), Err(KeyFileError::Malformed(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_is_refused_not_waited_on() {
        let dir = temp("fifo");
        let fifo = dir.join("k.key");
        crate::files::tests::mkfifo(&fifo);
        let e = crate::files::tests::within_5s(move || load(&fifo).err().map(|e| e.to_string()));
        let e = e.expect("refused");
        assert!(e.contains("a FIFO, not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn owner_and_mode_of_the_open_file() {
        let p = Path::new("k.key");
        let file = 0o100000;
        assert!(check_owner_and_mode(p, file | 0o600, 1000, 1000).is_ok());
        assert!(check_owner_and_mode(p, file | 0o400, 1000, 1000).is_ok());
        let e = check_owner_and_mode(p, file | 0o600, 1001, 1000).unwrap_err();
        assert!(
            matches!(
                e,
                KeyFileError::Owner {
                    owner: 1001,
                    own: 1000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("uid 1001"), "{e}");
        // Root's node refuses a user's key too: it is someone else's.
        assert!(check_owner_and_mode(p, file | 0o600, 1000, 0).is_err());
        for mode in [0o640, 0o604, 0o660, 0o606] {
            assert!(matches!(
                check_owner_and_mode(p, file | mode, 1000, 1000),
                Err(KeyFileError::Mode { .. })
            ));
        }
        assert!(matches!(
            check_owner_and_mode(p, 0o010000 | 0o600, 1000, 1000),
            Err(KeyFileError::NotRegular { kind: "a FIFO", .. })
        ));
    }

    #[test]
    fn a_key_owned_by_another_user_is_refused() {
        if crate::endpoint::own_uid() != 0 {
            eprintln!(
                "skipped: only root can give a file to another user (the check itself is tested with fake uids)"
            );
            return;
        }
        let dir = temp("owner");
        let path = dir.join("a.key");
        generate(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            matches!(
                e,
                KeyFileError::Owner {
                    owner: 65534,
                    own: 0,
                    ..
                }
            ),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
