//! The control socket on disk, and who may use it.
//!
//! Whoever talks to the control socket can make the node read any file it
//! can read (and send it over a route), write incoming files into any
//! directory it can write, or shut it down. So only the node's own user
//! (and root) may:
//!
//! - The socket is created with mode 0600. It is bound inside a fresh
//!   directory of mode 0700 next to the configured path, given mode 0600
//!   there, and only then moved to the configured path (a rename that
//!   replaces nothing), so there is no moment when others may connect. The
//!   result is checked: a socket, owned by the node's user, mode 0600. (A
//!   restrictive umask would do it too, but the umask is the process's, and
//!   `meshnode bench` runs three nodes in one process.)
//! - Each accepted connection's peer credentials (`SO_PEERCRED`) are
//!   checked: the node's effective uid or root. Anyone else gets one error
//!   line and the connection is closed; the driver counts it
//!   (`control_refused`) and logs it. This matters where the file mode
//!   does not (a socket made reachable on purpose, or an inherited one).
//! - A socket left behind by a killed node is removed only if it is a
//!   socket (`lstat`: not through a link) and no node answers on it.
//!   Anything else at that path (the configuration file itself, with
//!   `--config x.sock`) is an error, never deleted.

use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use mio::net::UnixListener;

use crate::driver::StartError;

/// Whether a peer with uid `peer` may use the control socket of a node
/// running as uid `own`: the same user, or root.
pub fn peer_allowed(peer: u32, own: u32) -> bool {
    peer == own || peer == 0
}

/// The node's effective uid (whose files it may read and write).
pub fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks the peer at the other end of an accepted control connection;
/// `Err` is the refusal, said to the peer and logged.
pub fn check_peer(stream: impl AsFd) -> Result<(), String> {
    let cred = rustix::net::sockopt::socket_peercred(stream)
        .map_err(|e| format!("peer credentials unavailable ({e}): refused"))?;
    let (peer, own) = (cred.uid.as_raw(), own_uid());
    if peer_allowed(peer, own) {
        Ok(())
    } else {
        Err(format!(
            "uid {peer} (pid {}) may not use this node's control socket (it runs as uid {own}; only that user and root may)",
            cred.pid.as_raw_nonzero()
        ))
    }
}

/// Binds the control socket at `path`, mode 0600 (see the module docs).
pub fn bind(path: &Path) -> Result<UnixListener, StartError> {
    let err = |source| StartError::Control {
        path: path.to_owned(),
        source,
    };
    remove_stale(path)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.file_name().is_none() {
        return Err(err(std::io::Error::other("not a file path")));
    }
    static N: AtomicU64 = AtomicU64::new(0);
    let private = parent.join(format!(
        ".meshnode-{}-{}.tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // Short: a socket path has at most 107 bytes.
    let inner = private.join("s");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(err)?;
    let bound = (|| {
        let listener = UnixListener::bind(&inner)?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &inner,
            rustix::fs::CWD,
            path,
            rustix::fs::RenameFlags::NOREPLACE,
        )
        .or_else(|e| match e {
            rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP => {
                std::fs::hard_link(&inner, path)
            }
            e => Err(e.into()),
        })?;
        Ok(listener)
    })();
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&private);
    let listener = bound.map_err(|e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            // Something appeared there meanwhile (another node starting).
            StartError::ControlInUse(path.to_owned())
        } else {
            err(e)
        }
    })?;
    check_bound(path)?;
    Ok(listener)
}

/// The socket at `path` is ours, a socket, mode 0600.
fn check_bound(path: &Path) -> Result<(), StartError> {
    let m = std::fs::symlink_metadata(path).map_err(|source| StartError::Control {
        path: path.to_owned(),
        source,
    })?;
    let mode = m.permissions().mode() & 0o777;
    if !m.file_type().is_socket() || mode != 0o600 || m.uid() != own_uid() {
        return Err(StartError::ControlUnsafe {
            path: path.to_owned(),
            what: format!(
                "after binding: socket {}, mode {mode:04o}, owner uid {} (wanted a socket of mode 0600 owned by uid {})",
                m.file_type().is_socket(),
                m.uid(),
                own_uid()
            ),
        });
    }
    Ok(())
}

/// Removes a stale control socket at `path`; refuses anything else.
fn remove_stale(path: &Path) -> Result<(), StartError> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StartError::Control {
                path: path.to_owned(),
                source,
            });
        }
    };
    if !m.file_type().is_socket() {
        let kind = rustix::fs::FileType::from_raw_mode(m.mode());
        return Err(StartError::ControlNotSocket {
            path: path.to_owned(),
            kind: crate::files::kind_name(kind),
        });
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(StartError::ControlInUse(path.to_owned()));
    }
    // A socket left behind by a node that was killed.
    std::fs::remove_file(path).map_err(|source| StartError::Control {
        path: path.to_owned(),
        source,
    })
}

/// Removes the node's own socket at shutdown, if a socket is still there.
pub fn remove(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::tests::temp;

    #[test]
    fn the_socket_is_created_mode_0600_and_owned_by_the_node() {
        let dir = temp("endpoint-mode");
        let path = dir.join("n.sock");
        let _l = bind(&path).unwrap();
        let m = std::fs::symlink_metadata(&path).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(m.uid(), own_uid());
        // No private directory is left behind, and the socket answers.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        // A second node on the same path is refused while this one answers.
        assert!(matches!(bind(&path), Err(StartError::ControlInUse(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_a_stale_socket_is_ever_removed() {
        let dir = temp("endpoint-stale");
        // A regular file (say the configuration itself): refused, kept.
        let file = dir.join("x.sock");
        std::fs::write(&file, b"{\"key_file\": \"k\"}").unwrap();
        let e = bind(&file).unwrap_err().to_string();
        assert!(
            e.contains("not a socket") && e.contains("a regular file"),
            "{e}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"{\"key_file\": \"k\"}");
        // A link, even to a socket: refused, kept.
        let stale = dir.join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        let link = dir.join("link.sock");
        std::os::unix::fs::symlink(&stale, &link).unwrap();
        let e = bind(&link).unwrap_err().to_string();
        assert!(e.contains("a symbolic link"), "{e}");
        assert!(std::fs::symlink_metadata(&link).is_ok());
        // A socket no one answers on: replaced.
        let _l = bind(&stale).unwrap();
        std::os::unix::net::UnixStream::connect(&stale).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn peers_of_another_uid_are_refused() {
        assert!(peer_allowed(1000, 1000));
        assert!(peer_allowed(0, 1000), "root may");
        assert!(!peer_allowed(1001, 1000));
        assert!(!peer_allowed(1000, 0), "a root node refuses other users");
        // A real connection from this process: our own uid, allowed.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        check_peer(&a).unwrap();
    }
}
