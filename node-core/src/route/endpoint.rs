//! The ends of a route: messages in, sealed records on the stream, messages
//! out. Relays carry the records as opaque bytes: only the two ends hold the
//! end-to-end keys.
//!
//! The plaintext of a direction is a sequence of messages, each a 32-bit
//! length and its bytes; that sequence is cut into records of at most
//! [`MAX_RECORD`] bytes, each sealed on its own (`[len u16][ciphertext][tag]`)
//! and appended to the route's stream.

use super::crypto::{E2eOpener, E2eSealer, MAX_RECORD, RECORD_OVERHEAD};
use crate::crypto::{CryptoSuite, Key};

/// The sending end of one direction.
pub struct Sender {
    sealer: E2eSealer,
}

/// The receiving end of one direction.
pub struct Receiver {
    opener: E2eOpener,
    /// Plaintext not yet cut into whole messages.
    pending: Vec<u8>,
    max_message: usize,
}

/// A record or message that does not open or parse: the stream is corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptStream;

/// Bytes a message of `len` bytes takes on the stream.
pub fn stream_len(len: usize) -> usize {
    let plain = len + 4;
    plain + plain.div_ceil(MAX_RECORD) * RECORD_OVERHEAD
}

/// The longest message whose records fit in `stream` bytes of buffer (the
/// inverse of [`stream_len`], rounded down): what a receiver with a buffer
/// of that size can take whole.
pub fn largest_message(stream: usize) -> usize {
    let records = stream.div_ceil(MAX_RECORD + RECORD_OVERHEAD);
    stream
        .saturating_sub(records * RECORD_OVERHEAD)
        .saturating_sub(4)
}

impl Sender {
    /// A sender sealing with `key`.
    pub fn new(key: Key) -> Self {
        Sender {
            sealer: E2eSealer::new(key),
        }
    }

    /// The records carrying `message`, to append to the stream.
    pub fn seal_message(&mut self, suite: &dyn CryptoSuite, message: &[u8]) -> Vec<u8> {
        let mut plain = Vec::with_capacity(message.len() + 4);
        plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
        plain.extend_from_slice(message);
        let mut out = Vec::with_capacity(stream_len(message.len()));
        for chunk in plain.chunks(MAX_RECORD) {
            out.extend_from_slice(&self.sealer.seal_record(suite, chunk));
        }
        out
    }
}

impl Receiver {
    /// A receiver opening with `key`, refusing messages over `max_message`.
    pub fn new(key: Key, max_message: usize) -> Self {
        Receiver {
            opener: E2eOpener::new(key),
            pending: Vec::new(),
            max_message,
        }
    }

    /// Takes contiguous stream bytes; returns how many it consumed (whole
    /// records only) and appends complete messages to `out`.
    pub fn consume(
        &mut self,
        suite: &dyn CryptoSuite,
        bytes: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, CorruptStream> {
        let mut used = 0;
        while bytes.len() - used >= 2 {
            let len = u16::from_be_bytes([bytes[used], bytes[used + 1]]) as usize;
            let total = 2 + len + 16;
            if len > MAX_RECORD {
                return Err(CorruptStream);
            }
            if bytes.len() - used < total {
                break;
            }
            let plain = self
                .opener
                .open_record(suite, &bytes[used..used + total])
                .map_err(|_| CorruptStream)?;
            self.pending.extend_from_slice(&plain);
            used += total;
            self.split_messages(out)?;
        }
        Ok(used)
    }

    /// Lowers the largest message taken (to what the route's buffer holds).
    pub fn limit_message(&mut self, max: usize) {
        self.max_message = self.max_message.min(max);
    }

    /// Plaintext held for a message not yet complete.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn split_messages(&mut self, out: &mut Vec<Vec<u8>>) -> Result<(), CorruptStream> {
        let mut at = 0;
        while self.pending.len() - at >= 4 {
            let len =
                u32::from_be_bytes(self.pending[at..at + 4].try_into().expect("4 bytes")) as usize;
            if len > self.max_message {
                return Err(CorruptStream);
            }
            if self.pending.len() - at - 4 < len {
                break;
            }
            out.push(self.pending[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        self.pending.drain(..at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_message_fits_its_buffer() {
        for stream in [40, 16_402, 16_403, 25_000, 100_000, 1 << 20, 3 << 20] {
            let m = largest_message(stream);
            assert!(stream_len(m) <= stream, "{stream}: {m}");
            // Not wasteful: at most a record's overhead short of the best.
            assert!(
                stream_len(m + RECORD_OVERHEAD + 1) > stream,
                "{stream}: {m}"
            );
        }
    }
}
