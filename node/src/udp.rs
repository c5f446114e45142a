//! The node's UDP socket with batched I/O (Linux offloads through `quinn-udp`).
//!
//! Sending: datagrams are queued per destination and leave in one
//! `sendmsg` per batch with UDP generic segmentation offload (GSO): the
//! kernel cuts the buffer into datagrams of the batch's segment size (the
//! last may be shorter). Receiving: `recvmmsg` fills several buffers in one
//! call, and with UDP generic receive offload (GRO) one buffer holds several
//! datagrams from one sender, `stride` bytes each but the last. Where the
//! kernel offers neither, a batch is one datagram and a buffer holds one:
//! the same datagrams leave and arrive either way.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;

use mio::net::UdpSocket;
use quinn_udp::{RecvMeta, Transmit, UdpSocketState};

use crate::debug;

/// The most payload bytes one segmented send carries: below IPv4's
/// 65,507-byte limit on one UDP send, with room for IPv6 extension headers.
const MAX_BATCH_BYTES: usize = 65_000;
/// One receive buffer: the largest UDP datagram, or the largest GRO batch.
const RECV_BUF_BYTES: usize = 1 << 16;
/// Receive buffers filled by one `recvmmsg` with GRO (each up to 64 datagrams).
const RECV_BUFS_GRO: usize = 4;
/// Receive buffers filled by one `recvmmsg` without GRO (one datagram each).
const RECV_BUFS_PLAIN: usize = 32;

/// Datagrams handed to the kernel and refused by it, in one call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub ok: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for Sent {
    fn add_assign(&mut self, o: Sent) {
        self.ok += o.ok;
        self.failed += o.failed;
    }
}

/// Datagrams for one destination waiting to leave in one send.
struct Batch {
    to: SocketAddr,
    buf: Vec<u8>,
    /// The size of every datagram in `buf` but the last.
    segment: usize,
    count: usize,
    /// The last datagram is shorter than `segment`: nothing may follow it.
    closed: bool,
}

/// A non-blocking UDP socket (registered with mio by the driver) with
/// batched sends and receives.
pub(crate) struct BatchSocket {
    socket: UdpSocket,
    state: UdpSocketState,
    pending: Vec<Batch>,
    spare: Vec<Vec<u8>>,
    recv_buf: Vec<u8>,
    metas: Vec<RecvMeta>,
}

impl BatchSocket {
    /// Binds `addr` and enables what the kernel offers (GSO, GRO).
    pub fn bind(addr: SocketAddr) -> io::Result<BatchSocket> {
        let socket = UdpSocket::bind(addr)?;
        let state = UdpSocketState::new((&socket).into())?;
        let bufs = if state.gro_segments() > 1 {
            RECV_BUFS_GRO
        } else {
            RECV_BUFS_PLAIN
        };
        Ok(BatchSocket {
            socket,
            state,
            pending: Vec::new(),
            spare: Vec::new(),
            recv_buf: vec![0; bufs * RECV_BUF_BYTES],
            metas: vec![RecvMeta::default(); bufs],
        })
    }

    /// The socket, to register for readiness.
    pub fn source(&mut self) -> &mut UdpSocket {
        &mut self.socket
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// How many datagrams one send may carry (1 without GSO).
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// How many datagrams one receive buffer may hold (1 without GRO).
    pub fn gro_segments(&self) -> usize {
        self.state.gro_segments().max(1)
    }

    /// Asks for socket buffers of `bytes` (the kernel caps them at its
    /// `net.core.wmem_max` / `rmem_max`).
    pub fn set_buffer_sizes(&self, bytes: usize) -> io::Result<()> {
        self.state
            .set_send_buffer_size((&self.socket).into(), bytes)?;
        self.state
            .set_recv_buffer_size((&self.socket).into(), bytes)
    }

    /// Queues a datagram for `to`; what this pushed out (a full batch, or
    /// one the datagram cannot join) is counted in the result.
    pub fn queue(&mut self, to: SocketAddr, datagram: &[u8]) -> Sent {
        let max = self.max_segments();
        let mut sent = Sent::default();
        let i = match self.pending.iter().position(|b| b.to == to) {
            Some(i) => {
                let b = &self.pending[i];
                if datagram.len() > b.segment || b.buf.len() + datagram.len() > MAX_BATCH_BYTES {
                    sent += self.flush_at(i);
                    self.start(to, datagram)
                } else {
                    let b = &mut self.pending[i];
                    b.buf.extend_from_slice(datagram);
                    b.count += 1;
                    b.closed = datagram.len() < b.segment;
                    i
                }
            }
            None => self.start(to, datagram),
        };
        let b = &self.pending[i];
        if b.closed || b.segment == 0 || b.count >= max || b.buf.len() + b.segment > MAX_BATCH_BYTES
        {
            sent += self.flush_at(i);
        }
        sent
    }

    fn start(&mut self, to: SocketAddr, datagram: &[u8]) -> usize {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.extend_from_slice(datagram);
        self.pending.push(Batch {
            to,
            buf,
            segment: datagram.len(),
            count: 1,
            closed: false,
        });
        self.pending.len() - 1
    }

    /// Sends every queued datagram.
    pub fn flush(&mut self) -> Sent {
        let mut sent = Sent::default();
        while !self.pending.is_empty() {
            sent += self.flush_at(0);
        }
        sent
    }

    fn flush_at(&mut self, i: usize) -> Sent {
        let mut b = self.pending.swap_remove(i);
        let sent = self.send_batch(&b);
        b.buf.clear();
        self.spare.push(b.buf);
        sent
    }

    fn send_batch(&self, b: &Batch) -> Sent {
        let segment_size = (b.count > 1).then_some(b.segment);
        match self.send(b.to, &b.buf, segment_size) {
            Ok(()) => Sent {
                ok: b.count as u64,
                failed: 0,
            },
            // quinn-udp turns segmentation off when the kernel or the
            // device refuses it: send the datagrams one by one.
            Err(e) if b.count > 1 && self.max_segments() == 1 => {
                debug!("segmented send to {} refused ({e}): sending singly", b.to);
                let mut sent = Sent::default();
                for d in b.buf.chunks(b.segment) {
                    sent += match self.send(b.to, d, None) {
                        Ok(()) => Sent { ok: 1, failed: 0 },
                        Err(e) => {
                            debug!("send to {}: {e}", b.to);
                            Sent { ok: 0, failed: 1 }
                        }
                    };
                }
                sent
            }
            // A full socket buffer is a lossy link to node-core: what
            // mattered is retransmitted.
            Err(e) => {
                debug!("send of {} datagrams to {}: {e}", b.count, b.to);
                Sent {
                    ok: 0,
                    failed: b.count as u64,
                }
            }
        }
    }

    fn send(&self, to: SocketAddr, contents: &[u8], segment_size: Option<usize>) -> io::Result<()> {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents,
            segment_size,
            src_ip: None,
        };
        self.state.try_send((&self.socket).into(), &t)
    }

    /// Receives what one `recvmmsg` returns, appending each datagram with
    /// its sender to `out`; returns how many were appended. `WouldBlock`
    /// when nothing waits.
    pub fn recv(&mut self, out: &mut Vec<(SocketAddr, Vec<u8>)>) -> io::Result<usize> {
        let mut slices: Vec<IoSliceMut<'_>> = self
            .recv_buf
            .chunks_mut(RECV_BUF_BYTES)
            .map(IoSliceMut::new)
            .collect();
        let n = self
            .state
            .recv((&self.socket).into(), &mut slices, &mut self.metas)?;
        drop(slices);
        let before = out.len();
        for (meta, buf) in self.metas[..n]
            .iter()
            .zip(self.recv_buf.chunks(RECV_BUF_BYTES))
        {
            split(&buf[..meta.len.min(buf.len())], meta.stride, |d| {
                out.push((meta.addr, d.to_vec()))
            });
        }
        Ok(out.len() - before)
    }
}

/// Splits a receive buffer into its datagrams: `stride` bytes each, the
/// last possibly shorter. An empty buffer is one empty datagram (someone
/// sent one); a stride of 0 or beyond the buffer means one datagram.
fn split(buf: &[u8], stride: usize, mut f: impl FnMut(&[u8])) {
    if stride == 0 || stride >= buf.len() {
        f(buf);
        return;
    }
    for d in buf.chunks(stride) {
        f(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket as StdUdp;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    fn parts(buf: &[u8], stride: usize) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        split(buf, stride, |d| v.push(d.to_vec()));
        v
    }

    #[test]
    fn split_cuts_at_the_stride_and_keeps_a_short_tail() {
        let buf: Vec<u8> = (0..10).collect();
        assert_eq!(
            parts(&buf, 4),
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
        );
        assert_eq!(parts(&buf, 5).len(), 2);
        assert_eq!(parts(&buf, 10), vec![buf.clone()]);
        assert_eq!(parts(&buf, 11), vec![buf.clone()]);
        assert_eq!(parts(&buf, 0), vec![buf.clone()]);
        assert_eq!(parts(&[], 0), vec![Vec::<u8>::new()]);
        assert_eq!(parts(&[], 1200), vec![Vec::<u8>::new()]);
    }

    /// A plain socket (no GRO: the kernel segments what arrives) read on
    /// a thread; what arrives comes out of the channel.
    fn plain_receiver() -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
        let rx = StdUdp::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = rx.local_addr().unwrap();
        let (tx, out) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut last = Instant::now();
            while last.elapsed() < Duration::from_secs(5) {
                if let Ok(k) = rx.recv(&mut buf) {
                    last = Instant::now();
                    if tx.send(buf[..k].to_vec()).is_err() {
                        return;
                    }
                }
            }
        });
        (addr, out)
    }

    /// The next `n` datagrams out of `rx` (fewer if they stop coming).
    fn take(rx: &mpsc::Receiver<Vec<u8>>, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map_while(|_| rx.recv_timeout(Duration::from_secs(5)).ok())
            .collect()
    }

    fn datagram(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 7 + j) as u8).collect()
    }

    #[test]
    fn queued_datagrams_arrive_singly_and_in_order() {
        let (to, rx) = plain_receiver();
        let mut s = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        // Rounds small enough for the receiver's socket buffer. Full-size
        // datagrams, a short one (it ends a batch), a longer one (it starts
        // another); then more than one batch holds.
        let rounds: [Vec<usize>; 2] = [
            [vec![1200; 10], vec![300, 1500], vec![1200; 40]].concat(),
            vec![1000; 70],
        ];
        let mut i = 0;
        for lens in rounds {
            let sent: Vec<Vec<u8>> = lens
                .iter()
                .map(|&len| {
                    i += 1;
                    datagram(i, len)
                })
                .collect();
            let mut total = Sent::default();
            for d in &sent {
                total += s.queue(to, d);
            }
            total += s.flush();
            assert_eq!(
                total,
                Sent {
                    ok: sent.len() as u64,
                    failed: 0
                }
            );
            assert_eq!(take(&rx, sent.len()), sent);
        }
    }

    #[test]
    fn batches_per_destination_keep_each_ones_order() {
        let (a, rx1) = plain_receiver();
        let (b, rx2) = plain_receiver();
        let mut s = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (mut to1, mut to2) = (Vec::new(), Vec::new());
        let mut total = Sent::default();
        for i in 0..40 {
            let d = datagram(i, 1000);
            if i % 3 == 0 {
                total += s.queue(b, &d);
                to2.push(d);
            } else {
                total += s.queue(a, &d);
                to1.push(d);
            }
        }
        total += s.flush();
        assert_eq!(total.ok, 40);
        assert_eq!((to1.len(), to2.len()), (26, 14));
        assert_eq!(take(&rx1, 26), to1);
        assert_eq!(take(&rx2, 14), to2);
    }

    #[test]
    fn received_batches_split_into_the_sent_datagrams() {
        let mut tx = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut rx = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = rx.local_addr().unwrap();
        let from = tx.local_addr().unwrap();
        let mut sent: Vec<Vec<u8>> = (0..60).map(|i| datagram(i, 1200)).collect();
        sent.push(datagram(60, 17));
        sent.push(Vec::new());
        let mut total = Sent::default();
        for d in &sent {
            total += tx.queue(to, d);
        }
        total += tx.flush();
        assert_eq!(total.ok, sent.len() as u64);
        let mut got = Vec::new();
        let t = Instant::now();
        while got.len() < sent.len() && t.elapsed() < Duration::from_secs(2) {
            match rx.recv(&mut got) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        assert!(got.iter().all(|(a, _)| *a == from));
        let got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, sent);
    }

    /// Receives on `rx` until `n` datagrams came or two seconds passed.
    fn recv_all(rx: &mut BatchSocket, n: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = Vec::new();
        let t = Instant::now();
        while got.len() < n && t.elapsed() < Duration::from_secs(2) {
            match rx.recv(&mut got) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        got
    }

    #[test]
    fn ipv6_and_a_dual_stack_socket_to_ipv4() {
        // IPv6 both ends.
        let mut tx = BatchSocket::bind("[::1]:0".parse().unwrap()).unwrap();
        let mut rx = BatchSocket::bind("[::1]:0".parse().unwrap()).unwrap();
        let sent: Vec<Vec<u8>> = (0..60).map(|i| datagram(i, 1200)).collect();
        let mut total = Sent::default();
        for d in &sent {
            total += tx.queue(rx.local_addr().unwrap(), d);
        }
        total += tx.flush();
        assert_eq!(total.ok, 60);
        let got = recv_all(&mut rx, 60);
        let from = tx.local_addr().unwrap();
        assert!(got.iter().all(|(a, _)| *a == from));
        assert_eq!(got.into_iter().map(|(_, d)| d).collect::<Vec<_>>(), sent);
        // A dual-stack socket sends to an IPv4 peer by its mapped address
        // (as the driver does) and hears it back from the mapped address.
        let mut v6 = BatchSocket::bind("[::]:0".parse().unwrap()).unwrap();
        let mut v4 = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mapped = |a: SocketAddr| match a {
            SocketAddr::V4(a) => SocketAddr::new(a.ip().to_ipv6_mapped().into(), a.port()),
            a => a,
        };
        let mut total = Sent::default();
        for d in &sent {
            total += v6.queue(mapped(v4.local_addr().unwrap()), d);
        }
        total += v6.flush();
        assert_eq!(total.ok, 60);
        let got = recv_all(&mut v4, 60);
        assert_eq!(got.len(), 60);
        let back = got[0].0;
        assert_eq!(back.port(), v6.local_addr().unwrap().port());
        for (_, d) in &got {
            v4.queue(back, d);
        }
        v4.flush();
        let echoed = recv_all(&mut v6, 60);
        assert!(
            echoed
                .iter()
                .all(|(a, _)| *a == mapped(v4.local_addr().unwrap()))
        );
        assert_eq!(echoed.into_iter().map(|(_, d)| d).collect::<Vec<_>>(), sent);
    }

    #[test]
    fn refused_sends_count_every_datagram_of_the_batch() {
        // An IPv4 socket cannot send to an IPv6 address.
        let mut s = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to: SocketAddr = "[::1]:9".parse().unwrap();
        let mut total = Sent::default();
        for i in 0..3 {
            total += s.queue(to, &datagram(i, 500));
        }
        total += s.flush();
        assert_eq!(total, Sent { ok: 0, failed: 3 });
    }

    #[test]
    fn nothing_waiting_is_would_block() {
        let mut rx = BatchSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut got = Vec::new();
        let e = rx.recv(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(got.is_empty());
    }
}
