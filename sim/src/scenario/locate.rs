//! Finding a value's line and column in JSON text from its field path.
//!
//! serde_json knows positions only while it parses; errors found later (an
//! index out of range, a missing link) only know the path of the offending
//! field, such as `traffic[2].to`. This module walks the text with a minimal
//! tokenizer (objects, arrays, strings with escapes, numbers and literals)
//! to the value at that path. It is tolerant: on malformed text it stops
//! where it can go no further and never panics; it keeps no recursion, so
//! deep nesting cannot overflow the stack.

use std::collections::BTreeSet;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A member of an object.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// Splits a path such as `traffic[2].to` or `topology.overrides.links[0]`
/// into its segments. Keys are the text between dots and brackets.
pub fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for piece in path.split('.') {
        let (key, mut rest) = piece.split_at(piece.find('[').unwrap_or(piece.len()));
        if !key.is_empty() {
            segments.push(Segment::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            match inner[..end].parse() {
                Ok(i) => segments.push(Segment::Index(i)),
                Err(_) => segments.push(Segment::Key(inner[..end].to_string())),
            }
            rest = &inner[end + 1..];
        }
    }
    segments
}

/// Joins a path prefix and a sub-path: `join("traffic[2]", "to")` is
/// `traffic[2].to`, `join("traffic", "[2]")` is `traffic[2]`.
pub fn join(prefix: &str, sub: &str) -> String {
    if prefix.is_empty() {
        sub.to_string()
    } else if sub.is_empty() {
        prefix.to_string()
    } else if sub.starts_with('[') {
        format!("{prefix}{sub}")
    } else {
        format!("{prefix}.{sub}")
    }
}

/// The 1-based line and column (in bytes, as serde_json counts them) of the
/// value at `path` in `text`; if the path does not exist, of the deepest
/// existing value on it (the whole document at worst).
pub fn locate(text: &str, path: &str) -> (usize, usize) {
    let target = parse_path(path);
    let mut best: Option<(usize, usize)> = None; // (depth, offset)
    walk(text, |event| {
        if let Event::Value { path, offset } = event
            && target.starts_with(path)
            && best.is_none_or(|(depth, _)| path.len() > depth)
        {
            best = Some((path.len(), offset));
            return path.len() == target.len();
        }
        false
    });
    line_column(text, best.map_or(0, |(_, offset)| offset))
}

/// The path of the innermost value open at `line`:`column` (where a syntax
/// error was found): the value the reader was in.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    let target = offset_of(text, line, column);
    // Copying the path at every event would cost its depth each time; a
    // first pass finds the last event before the target, a second copies
    // the path there once.
    let mut last = None;
    let mut ordinal = 0;
    walk(text, |event| match event {
        Event::Value { offset, .. } | Event::End { offset, .. } if offset > target => true,
        Event::Value { .. } | Event::End { .. } => {
            last = Some(ordinal);
            ordinal += 1;
            false
        }
        _ => false,
    });
    let Some(last) = last else {
        return String::new();
    };
    let mut found = String::new();
    let mut ordinal = 0;
    walk(text, |event| {
        let at = match event {
            Event::Value { path, .. } => path,
            // A value that ended leaves the reader in its parent.
            Event::End { path, .. } => &path[..path.len().saturating_sub(1)],
            _ => return false,
        };
        if ordinal == last {
            found = format_path(at);
            return true;
        }
        ordinal += 1;
        false
    });
    found
}

/// The byte offset of a 1-based line and column (clamped to the text).
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The first key that appears twice in one object: its path and its line
/// and column. serde_json silently keeps the last of duplicate keys, which
/// would hide a mistake in a scenario.
pub fn find_duplicate_key(text: &str) -> Option<(String, usize, usize)> {
    let mut found = None;
    // Keys seen in each open object, innermost last.
    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    walk(text, |event| match event {
        Event::ObjectStart => {
            seen.push(BTreeSet::new());
            false
        }
        Event::ObjectEnd => {
            seen.pop();
            false
        }
        Event::Key { path, key, offset } => {
            let Some(keys) = seen.last_mut() else {
                return false;
            };
            if !keys.insert(key.to_string()) {
                let mut full = path.to_vec();
                full.push(Segment::Key(key.to_string()));
                found = Some((format_path(&full), offset));
                return true;
            }
            false
        }
        Event::Value { .. } | Event::End { .. } => false,
    });
    found.map(|(path, offset)| {
        let (line, column) = line_column(text, offset);
        (path, line, column)
    })
}

/// Writes segments back as a path string.
pub fn format_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The 1-based line and column of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let line = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
    let line_start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    (line, bytes.len() - line_start + 1)
}

/// What the walker reports, in document order.
enum Event<'p> {
    /// A value starts at `offset`; `path` leads to it.
    Value { path: &'p [Segment], offset: usize },
    /// An object member's key at `offset`, inside the object at `path`.
    Key {
        path: &'p [Segment],
        key: &'p str,
        offset: usize,
    },
    /// The value at `path` ended just before `offset`.
    End { path: &'p [Segment], offset: usize },
    /// An object opens.
    ObjectStart,
    /// An object closes.
    ObjectEnd,
}

/// Where the walker is in the grammar.
enum State {
    /// A value is expected.
    Value,
    /// A member (or the end) of an object is expected.
    Member,
    /// A value just ended.
    After,
}

/// Deeper nesting than this ends the walk: serde_json refuses documents
/// nested deeper than 128 anyway, and the bound keeps every path short.
const MAX_DEPTH: usize = 1024;

/// Walks `text`, calling `on` for each event until it returns true, the
/// text ends, the text stops making sense, or it nests too deep.
fn walk(text: &str, mut on: impl FnMut(Event<'_>) -> bool) {
    let b = text.as_bytes();
    let mut pos = 0;
    let mut path: Vec<Segment> = Vec::new();
    // Open containers: `Some(next_index)` for arrays, `None` for objects.
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut state = State::Value;
    loop {
        let value_end = pos;
        pos = skip_ws(b, pos);
        if stack.len() > MAX_DEPTH {
            return;
        }
        match state {
            State::Value => {
                if pos >= b.len() {
                    return;
                }
                if on(Event::Value {
                    path: &path,
                    offset: pos,
                }) {
                    return;
                }
                match b[pos] {
                    b'{' => {
                        pos += 1;
                        stack.push(None);
                        if on(Event::ObjectStart) {
                            return;
                        }
                        state = State::Member;
                    }
                    b'[' => {
                        pos = skip_ws(b, pos + 1);
                        if b.get(pos) == Some(&b']') {
                            pos += 1;
                            state = State::After;
                        } else {
                            stack.push(Some(0));
                            path.push(Segment::Index(0));
                        }
                    }
                    b'"' => {
                        pos = read_string(b, pos).0;
                        state = State::After;
                    }
                    b'}' | b']' | b',' | b':' => return,
                    _ => {
                        pos = skip_scalar(b, pos);
                        state = State::After;
                    }
                }
            }
            State::Member => match b.get(pos) {
                Some(b'}') => {
                    pos += 1;
                    stack.pop();
                    if on(Event::ObjectEnd) {
                        return;
                    }
                    state = State::After;
                }
                Some(b'"') => {
                    let key_offset = pos;
                    let (end, key) = read_string(b, pos);
                    let stop = on(Event::Key {
                        path: &path,
                        key: &key,
                        offset: key_offset,
                    });
                    if stop {
                        return;
                    }
                    pos = skip_ws(b, end);
                    if b.get(pos) != Some(&b':') {
                        return;
                    }
                    pos += 1;
                    path.push(Segment::Key(key));
                    state = State::Value;
                }
                _ => return,
            },
            State::After => {
                let end = Event::End {
                    path: &path,
                    offset: value_end,
                };
                if on(end) {
                    return;
                }
                let Some(top) = stack.last_mut() else { return };
                // The finished value was a member or element of `top`.
                path.pop();
                match (top, b.get(pos)) {
                    (None, Some(b',')) => {
                        pos += 1;
                        state = State::Member;
                    }
                    (None, Some(b'}')) => {
                        pos += 1;
                        stack.pop();
                        if on(Event::ObjectEnd) {
                            return;
                        }
                    }
                    (Some(index), Some(b',')) => {
                        pos += 1;
                        *index += 1;
                        path.push(Segment::Index(*index));
                        state = State::Value;
                    }
                    (Some(_), Some(b']')) => {
                        pos += 1;
                        stack.pop();
                    }
                    _ => return,
                }
            }
        }
    }
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

/// Skips a number or literal: everything up to the next delimiter.
fn skip_scalar(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len()
        && !matches!(
            b[pos],
            b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'{' | b'['
        )
    {
        pos += 1;
    }
    pos
}

/// Reads the string starting at the quote at `pos`: the offset after its
/// closing quote and its decoded text (escapes resolved; a bad escape is
/// kept as written, since this is only used to compare keys).
fn read_string(b: &[u8], pos: usize) -> (usize, String) {
    let mut out: Vec<u8> = Vec::new();
    let mut i = pos + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return (i + 1, String::from_utf8_lossy(&out).into_owned()),
            b'\\' if i + 1 < b.len() => {
                let simple = match b[i + 1] {
                    b'n' => Some(b'\n'),
                    b't' => Some(b'\t'),
                    b'r' => Some(b'\r'),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'u' => None,
                    other => Some(other),
                };
                match simple {
                    Some(c) => {
                        out.push(c);
                        i += 2;
                    }
                    None => {
                        let (c, used) = unicode_escape(b, i);
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += used;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (b.len(), String::from_utf8_lossy(&out).into_owned())
}

/// Decodes `\uXXXX` (with a following low surrogate if this is a high one)
/// at `i`: the character and the number of bytes used.
fn unicode_escape(b: &[u8], i: usize) -> (char, usize) {
    let hex = |at: usize| -> Option<u32> {
        let digits = b.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let Some(high) = hex(i + 2) else {
        return (char::REPLACEMENT_CHARACTER, 2);
    };
    if (0xD800..0xDC00).contains(&high)
        && b.get(i + 6..i + 8) == Some(b"\\u")
        && let Some(low) = hex(i + 8)
        && (0xDC00..0xE000).contains(&low)
    {
        let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        return (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), 12);
    }
    (
        char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER),
        6,
    )
}

#[cfg(test)]
mod tests;
