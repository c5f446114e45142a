//! Files over routes: what `meshnode send` puts on a route and what the
//! destination makes of it.
//!
//! A transfer is carried by a route or by a route set ([`Carrier`]: a
//! connection over several routes at once, which node-core keeps exactly
//! once and in order across them); the messages are the same on both.
//! A file transfer is one header message (`"MNX2"`, a 16-byte transfer
//! id, the size as u64, the name as u16 length and UTF-8 bytes), answered
//! by the destination on the same route with where to start (`"MNXR"`, the
//! id, the offset as u64: the bytes it already holds of that transfer),
//! then the file's bytes from that offset in messages of `chunk` bytes. A
//! route whose first message is not a header is a raw stream (the
//! benchmark's generated data): counted, not stored. Routes deliver
//! messages exactly once and in order, so the receiver only appends.
//!
//! **Resuming.** A transfer outlives its route. The id is drawn at random by
//! the sender (or given back to it with `send --resume ID`) and is what the
//! destination files the bytes under; since only the two ends of the route
//! ever see it, it is the capability to append to that part file. When a
//! route breaks, the destination keeps the part file and what it knows of
//! it ([`Inbox`]); the sender, on a new route (a connection's next route
//! at once, or a route the user opens), sends the header again and goes on
//! from the offset the destination names. So what is sent twice is what
//! the destination did not have: the bytes in flight when the route broke,
//! and those the sender had already handed to its node. Part files stay on
//! disk when the receiving node stops, and a node that starts again picks
//! one up when its transfer's header comes (the bytes it holds are hashed
//! again then); held part files expire after `resume_window`.
//!
//! The sender opens the file without following a link and without
//! blocking, and refuses anything but a regular file
//! ([`crate::files::open_regular`]): a FIFO or a device must not stall the
//! event loop, and a control client may only send what it could name as a
//! plain file. A name (the sender's and the receiver's check alike) is
//! refused if it is empty, `.` or `..`, starts with `.`, holds a path
//! separator, a control character or an invisible or bidirectional
//! formatting character, or is longer than 255 bytes ([`valid_name`]): so a
//! name that reaches a file name or a log line is a plain one.
//!
//! What the destination does with a transfer ([`incoming`]): it writes a
//! part file it created (never an existing file, never through a link),
//! gives it its name only when complete and never over an existing file
//! (`name.1`, `name.2`, ... on a clash, said in the completion), and holds
//! to caps on the transfers and the bytes it writes at once.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use node_core::{ConnectionHandle, RouteHandle};

mod incoming;
mod part;

pub use incoming::{
    Completed, Inbox, InboxStats, Incoming, IncomingError, IncomingLimits, Outcome, parse_header,
};
pub use part::sweep as sweep_parts;

/// The first bytes of a transfer header.
pub const MAGIC: &[u8; 4] = b"MNX2";
/// The first bytes of the destination's answer to a header.
pub const RESUME_MAGIC: &[u8; 4] = b"MNXR";
/// The length of that answer.
pub const RESUME_LEN: usize = 4 + 16 + 8;
/// Default bytes of file per message.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// What carries a transfer between its two ends, by its handle at this
/// node: a route, or a route set (whose handle is a connection's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Carrier {
    /// A route (a plain one, or a connection's route of the moment).
    Route(RouteHandle),
    /// A route set: node-core confirms its messages' payload bytes, not
    /// a route's stream bytes, and never loses one when a route breaks.
    Set(ConnectionHandle),
}

impl Carrier {
    /// The route, if a route carries it.
    pub fn route(self) -> Option<RouteHandle> {
        match self {
            Carrier::Route(r) => Some(r),
            Carrier::Set(_) => None,
        }
    }

    /// The route set, if a set carries it.
    pub fn set(self) -> Option<ConnectionHandle> {
        match self {
            Carrier::Route(_) => None,
            Carrier::Set(c) => Some(c),
        }
    }
}

impl From<RouteHandle> for Carrier {
    fn from(r: RouteHandle) -> Carrier {
        Carrier::Route(r)
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Carrier::Route(r) => r.fmt(f),
            Carrier::Set(c) => c.fmt(f),
        }
    }
}

/// What names a file transfer at both ends, across its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub [u8; 16]);

impl TransferId {
    /// From 32 hex digits.
    pub fn parse(text: &str) -> Option<TransferId> {
        crate::hex::decode::<16>(text).map(TransferId)
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

/// The header of transfer `id`: `size` bytes named `name`.
pub fn encode_header(id: TransferId, size: u64, name: &str) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&id.0);
    h.extend_from_slice(&size.to_be_bytes());
    h.extend_from_slice(&(name.len() as u16).to_be_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

/// The destination's answer: send transfer `id` from `offset`.
pub fn encode_resume(id: TransferId, offset: u64) -> Vec<u8> {
    let mut m = RESUME_MAGIC.to_vec();
    m.extend_from_slice(&id.0);
    m.extend_from_slice(&offset.to_be_bytes());
    m
}

/// The id and offset of a destination's answer; `None` for anything else.
pub fn parse_resume(data: &[u8]) -> Option<(TransferId, u64)> {
    if data.len() != RESUME_LEN || !data.starts_with(RESUME_MAGIC) {
        return None;
    }
    let id = TransferId(data[4..20].try_into().expect("16 bytes"));
    let offset = u64::from_be_bytes(data[20..28].try_into().expect("8 bytes"));
    Some((id, offset))
}

/// Where the bytes of an outgoing transfer come from.
enum Source {
    /// A file transfer: its id and name for the header.
    File {
        file: File,
        id: TransferId,
        name: String,
    },
    /// `n` bytes of a counter pattern (benchmarks and tests).
    Generated,
}

/// A transfer being sent on a route.
pub struct Outgoing {
    source: Source,
    /// The header, not yet handed to the route.
    header: Option<Vec<u8>>,
    /// The header went out: nothing more until the destination says where
    /// to start ([`Self::resume_at`]).
    awaiting: bool,
    size: u64,
    /// The next byte of the file to send.
    position: u64,
    /// The furthest byte ever handed to a route.
    high_water: u64,
    chunk: usize,
    /// Payload bytes handed to routes (bytes sent again included).
    pub sent: u64,
    /// Bytes handed to a route again after a resume (what the destination
    /// did not have of what had been sent).
    pub resent: u64,
    /// The offset the destination named last.
    pub resumed_from: u64,
    /// Stream bytes the destination must confirm on the current route
    /// (messages and framing).
    pub stream_total: u64,
    /// Payload bytes of the messages handed to the current carrier, the
    /// header included: what a route set must confirm.
    pub payload_total: u64,
}

impl Outgoing {
    /// A transfer of the file at `path`, named by its file name, as
    /// transfer `id`.
    pub fn file(path: &Path, chunk: usize, id: TransferId) -> std::io::Result<Outgoing> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| valid_name(n))
            .ok_or_else(|| {
                std::io::Error::other(
                    "the file name must be UTF-8 of at most 255 bytes, without a leading '.', \
                     control or formatting characters",
                )
            })?
            .to_owned();
        let file = crate::files::open_regular(path)?;
        // fstat of what was opened.
        let size = file.metadata()?.len();
        Ok(Outgoing {
            header: Some(encode_header(id, size, &name)),
            source: Source::File { file, id, name },
            awaiting: false,
            size,
            position: 0,
            high_water: 0,
            chunk: chunk.max(1),
            sent: 0,
            resent: 0,
            resumed_from: 0,
            stream_total: 0,
            payload_total: 0,
        })
    }

    /// A raw stream of `bytes` generated bytes.
    pub fn generated(bytes: u64, chunk: usize) -> Outgoing {
        Outgoing {
            source: Source::Generated,
            header: None,
            awaiting: false,
            size: bytes,
            position: 0,
            high_water: 0,
            chunk: chunk.max(1),
            sent: 0,
            resent: 0,
            resumed_from: 0,
            stream_total: 0,
            payload_total: 0,
        }
    }

    /// The transfer's id (a file transfer's; a raw stream has none and
    /// cannot resume).
    pub fn id(&self) -> Option<TransferId> {
        match &self.source {
            Source::File { id, .. } => Some(*id),
            Source::Generated => None,
        }
    }

    /// The file's size (a raw stream's length).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The furthest byte ever handed to a route.
    pub fn high_water(&self) -> u64 {
        self.high_water
    }

    /// Whether the header is out and the destination's offset awaited.
    pub fn awaiting_offset(&self) -> bool {
        self.awaiting
    }

    /// The length of the next message, if any may go now.
    pub fn next_len(&self) -> Option<usize> {
        match &self.header {
            Some(h) => Some(h.len()),
            None if self.awaiting || self.position == self.size => None,
            None => Some((self.size - self.position).min(self.chunk as u64) as usize),
        }
    }

    /// The next message (of [`Self::next_len`] bytes).
    pub fn take(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let m = if let Some(h) = self.header.take() {
            self.awaiting = true;
            h
        } else {
            let Some(len) = self.next_len() else {
                return Ok(None);
            };
            let mut buf = vec![0u8; len];
            match &mut self.source {
                Source::File { file, .. } => file.read_exact(&mut buf)?,
                // A counter pattern (byte i of the stream is i mod 251):
                // never starts like a header, and a mix-up of offsets
                // would show. Copied from a table: a division per byte
                // cost the benchmark's sender a tenth of its time.
                Source::Generated => fill_counter_pattern(&mut buf, self.position),
            }
            self.position += len as u64;
            self.high_water = self.high_water.max(self.position);
            self.sent += len as u64;
            buf
        };
        self.stream_total += node_core::route::endpoint::stream_len(m.len()) as u64;
        self.payload_total += m.len() as u64;
        Ok(Some(m))
    }

    /// On a new route: the header goes again, and the bytes after the
    /// offset the destination then names. A raw stream cannot restart
    /// (`false`).
    pub fn restart(&mut self) -> bool {
        let Source::File { id, name, .. } = &self.source else {
            return false;
        };
        self.header = Some(encode_header(*id, self.size, name));
        self.awaiting = false;
        self.stream_total = 0;
        self.payload_total = 0;
        true
    }

    /// The destination holds the first `offset` bytes: the next message
    /// starts there. Returns the bytes that will be sent again.
    pub fn resume_at(&mut self, offset: u64) -> std::io::Result<u64> {
        let Source::File { file, .. } = &mut self.source else {
            return Err(std::io::Error::other("a raw stream does not resume"));
        };
        if !self.awaiting || self.header.is_some() {
            return Err(std::io::Error::other("no offset was asked for"));
        }
        if offset > self.size {
            return Err(std::io::Error::other(format!(
                "the destination claims {offset} bytes of a {}-byte file",
                self.size
            )));
        }
        file.seek(SeekFrom::Start(offset))?;
        self.position = offset;
        self.resumed_from = offset;
        self.awaiting = false;
        let again = self.high_water.saturating_sub(offset);
        self.resent += again;
        Ok(again)
    }

    /// Whether every message was handed to the route.
    pub fn all_queued(&self) -> bool {
        self.header.is_none() && !self.awaiting && self.position == self.size
    }
}

/// Whether `n` may name a transferred file (see the module docs). The
/// receiver's part files start with `.`, so no sender can name one.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && n != "."
        && n != ".."
        && !n.starts_with('.')
        && !n
            .chars()
            .any(|c| matches!(c, '/' | '\\') || c.is_control() || invisible(c))
}

/// Characters that change how a name reads without showing: zero-width
/// ones, bidirectional overrides and isolates, the byte order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// The generated stream's period.
const PATTERN_PERIOD: usize = 251;

/// Fills `buf` with bytes `offset..` of the stream whose byte i is i mod 251.
fn fill_counter_pattern(buf: &mut [u8], offset: u64) {
    const TABLE: [u8; 2 * PATTERN_PERIOD] = {
        let mut t = [0u8; 2 * PATTERN_PERIOD];
        let mut i = 0;
        while i < t.len() {
            t[i] = (i % PATTERN_PERIOD) as u8;
            i += 1;
        }
        t
    };
    let mut start = (offset % PATTERN_PERIOD as u64) as usize;
    for piece in buf.chunks_mut(PATTERN_PERIOD) {
        piece.copy_from_slice(&TABLE[start..start + piece.len()]);
        start = (start + piece.len()) % PATTERN_PERIOD;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_stream_is_a_counter_mod_251_across_messages() {
        for chunk in [1, 7, 250, 251, 252, 1000] {
            let mut g = Outgoing::generated(3000, chunk);
            let mut all = Vec::new();
            while let Some(m) = g.take().unwrap() {
                all.extend_from_slice(&m);
            }
            let want: Vec<u8> = (0..3000u64).map(|i| (i % 251) as u8).collect();
            assert_eq!(all, want, "chunk {chunk}");
        }
    }

    #[test]
    fn names_with_separators_controls_or_invisible_characters_are_refused() {
        for ok in [
            "a.bin",
            "report 2026.pdf",
            "données.txt",
            "x..y",
            &"n".repeat(255),
        ] {
            assert!(valid_name(ok), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "a\0b",
            "line\nbreak",
            "tab\there",
            "\u{1b}[31mred",
            "del\u{7f}",
            "c1\u{85}",
            "evil\u{202e}txt.exe",
            "zero\u{200b}width",
            &"n".repeat(256),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn sending_opens_only_regular_files_and_never_blocks() {
        use crate::files::tests::{mkfifo, temp, within_5s};
        let dir = temp("outgoing");
        let f = dir.join("f.bin");
        std::fs::write(&f, b"hello").unwrap();
        let mut out = Outgoing::file(&f, 2, TransferId([1; 16])).unwrap();
        let header = out.take().unwrap().unwrap();
        assert!(header.starts_with(MAGIC) && header.ends_with(b"f.bin"));
        // A FIFO would block a plain open until a writer comes.
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let e = within_5s(move || {
            Outgoing::file(&fifo, 2, TransferId([1; 16]))
                .err()
                .map(|e| e.to_string())
        });
        assert!(e.as_deref().is_some_and(|e| e.contains("FIFO")), "{e:?}");
        let link = dir.join("link.bin");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let e = Outgoing::file(&link, 2, TransferId([1; 16]))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("symbolic link"), "{e}");
        let e = Outgoing::file(Path::new("/dev/zero"), 2, TransferId([1; 16]))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let bad = dir.join("bad\nname");
        std::fs::write(&bad, b"x").unwrap();
        assert!(Outgoing::file(&bad, 2, TransferId([1; 16])).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
