//! Opening and naming files without following links or replacing
//! anything: what the node does with paths that a control client or a
//! remote sender has a say in.
//!
//! - [`open_regular`] opens a file to read it with `O_NOFOLLOW` and
//!   `O_NONBLOCK` (a FIFO or a device must not block the event loop) and
//!   checks what it opened with `fstat` on the descriptor, never on the
//!   path: anything but a regular file is refused.
//! - [`place_no_replace`] gives a file its final name only if that name is
//!   free (`renameat2(RENAME_NOREPLACE)`, or `link` then `unlink` where the
//!   file system does not support the flag); a clash is `AlreadyExists`.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

/// Opens the regular file at `path` to read it. A symbolic link as the
/// last component, a FIFO, a device, a socket or a directory is refused
/// with a message that says which.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| {
        if e == Errno::LOOP {
            io::Error::other("is a symbolic link; refusing to follow it")
        } else {
            e.into()
        }
    })?;
    // The descriptor, not the path: what was opened is what is checked.
    let st = rustix::fs::fstat(&fd)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    if kind != rustix::fs::FileType::RegularFile {
        return Err(io::Error::other(format!(
            "not a regular file ({}); refusing it",
            kind_name(kind)
        )));
    }
    // O_NONBLOCK means nothing for a regular file: reads stay complete.
    Ok(File::from(fd))
}

/// What a file type is called in an error message.
pub fn kind_name(kind: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match kind {
        T::RegularFile => "a regular file",
        T::Directory => "a directory",
        T::Symlink => "a symbolic link",
        T::Fifo => "a FIFO",
        T::Socket => "a socket",
        T::CharacterDevice => "a character device",
        T::BlockDevice => "a block device",
        T::Unknown => "an unknown kind of file",
    }
}

/// Renames `from` (in `dir`) to `to` (in `dir`) unless `to` exists; then
/// the error is `AlreadyExists` and nothing changed.
pub fn place_no_replace(dir: BorrowedFd<'_>, from: &str, to: &str) -> io::Result<()> {
    match rustix::fs::renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        // A file system (or kernel) without RENAME_NOREPLACE.
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => link_then_unlink(dir, from, to),
        Err(e) => Err(e.into()),
    }
}

/// `link` never replaces its target; the old name is removed once the new
/// one exists.
pub(crate) fn link_then_unlink(dir: BorrowedFd<'_>, from: &str, to: &str) -> io::Result<()> {
    rustix::fs::linkat(dir, from, dir, to, AtFlags::empty())?;
    rustix::fs::unlinkat(dir, from, AtFlags::empty())?;
    Ok(())
}

/// Opens the directory `dir` (following a link the operator may have made
/// there) to name files relative to it.
pub fn open_dir(dir: &Path) -> io::Result<std::os::fd::OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(dir, flags, Mode::empty())?)
}

/// Creates `name` in `dir` to write it: never an existing file, never
/// through a link (`O_CREAT | O_EXCL | O_NOFOLLOW`), mode 0600.
pub fn create_new_in(dir: impl AsFd, name: &str) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
    Ok(File::from(fd))
}

/// Opens `name` in `dir` to read and append to it, if it is a regular
/// file of this process's user with no other name (`O_NOFOLLOW`, checked
/// with `fstat` on the descriptor): a part file the node made, not one
/// planted for it. Anything else is refused.
pub fn open_own_in(dir: impl AsFd, name: &str) -> io::Result<File> {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty())?;
    let st = rustix::fs::fstat(&fd)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    if kind != rustix::fs::FileType::RegularFile {
        return Err(io::Error::other(format!("{name} is {}", kind_name(kind))));
    }
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(io::Error::other(format!("{name} belongs to another user")));
    }
    if st.st_nlink != 1 {
        return Err(io::Error::other(format!(
            "{name} has other names (hard links)"
        )));
    }
    Ok(File::from(fd))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::path::PathBuf;

    pub(crate) fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("meshnode-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs `f` on another thread; panics if it takes more than 5 s (a
    /// blocking open of a FIFO would never return).
    pub(crate) fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("blocked: did not return within 5 s")
    }

    pub(crate) fn mkfifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    #[test]
    fn open_regular_refuses_fifos_links_and_devices_without_blocking() {
        let dir = temp("open");
        let f = dir.join("f");
        std::fs::write(&f, b"abc").unwrap();
        let mut s = String::new();
        open_regular(&f).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let e = within_5s(move || open_regular(&fifo).unwrap_err().to_string());
        assert!(e.contains("FIFO"), "{e}");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let e = open_regular(&link).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        let e = open_regular(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("character device"), "{e}");
        let e = open_regular(&dir).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn placing_never_replaces_and_new_files_are_exclusive() {
        let dir = temp("place");
        let d = open_dir(&dir).unwrap();
        for (i, place) in [place_no_replace, link_then_unlink].into_iter().enumerate() {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            create_new_in(&d, &a).unwrap().write_all(b"new").unwrap();
            std::fs::write(dir.join(&b), b"old").unwrap();
            let e = place(d.as_fd(), &a, &b).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
            assert_eq!(std::fs::read(dir.join(&b)).unwrap(), b"old");
            let c = format!("c{i}");
            place(d.as_fd(), &a, &c).unwrap();
            assert_eq!(std::fs::read(dir.join(&c)).unwrap(), b"new");
            assert!(!dir.join(&a).exists());
        }
        // An existing name or a link planted there: refused, the target untouched.
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("planted")).unwrap();
        assert!(create_new_in(&d, "planted").is_err());
        assert!(create_new_in(&d, "victim").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let mode = std::fs::metadata(dir.join("c0")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
