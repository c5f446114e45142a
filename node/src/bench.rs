//! `meshnode bench`: a 3-node chain on loopback against raw UDP.
//!
//! Both measurements run in the same process, one after the other, with the
//! same datagram size: raw UDP (one sender thread, one receiver thread, the
//! bytes that arrive count) and the chain A -> B -> C (three nodes, each its
//! own single-threaded event loop on its own thread, as three `meshnode run`
//! processes would be), streaming generated bulk data over a route. Goodput
//! is payload bytes arriving at C's application per second.
//!
//! The chain is measured against two references. `chain_vs_raw_udp` is its
//! goodput over the raw UDP pair's rate. But the chain does more work per
//! byte than raw UDP, on the same cores: every payload byte is sealed and
//! opened three times (on the link A -> B, on the link B -> C, and end to
//! end between A and C) and is sent and received twice (once per link). A
//! model of that cost gives `chain_vs_limit`, measured in the same run:
//!
//! - A, `seal_open_rate_Mbps`: bytes per second that one core seals and opens
//!   with the Real suite's AEAD (ChaCha20-Poly1305), one datagram's
//!   ciphertext at a time (the datagram size less the link header and tag);
//! - U, the raw UDP pair's rate in bytes per second: one sender and one
//!   receiver thread, so sending and receiving a byte costs 2/U core-seconds;
//! - with `cores` (the available parallelism, printed), the chain's limit
//!   is `cores / (3/A + 2 * 2/U)` bytes per second (`chain_limit_Mbps`), and
//!   `chain_vs_limit` its goodput over that limit.
//!
//! The model leaves out everything else the nodes do (framing, acks,
//! copies, the event loops) and the headers and tags each layer adds. It
//! also charges the chain's sends and receives what the raw pair's cost,
//! though the chain batches them (GSO and GRO: one system call per batch
//! of datagrams) and the raw pair does not (one per datagram): where
//! batching saves more than the rest costs, R is above 1.
//!
//! On a shared machine the cores are not all the chain's, and both
//! ratios move with the other load. `chain_cpu_ns_per_byte` (the CPU time
//! the process's threads ran per payload byte, from Linux's scheduler
//! statistics) does not: `chain_cpu_vs_model` is `model_ns_per_byte`
//! (`cores` over the limit: 3/A + 4/U) over it, the limit's ratio counted
//! in the time the chain had.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{NodeConfig, Peer};
use crate::control::{self, Client, Request};
use crate::driver::Driver;

/// What the benchmark measured.
#[derive(Debug, Clone, Copy)]
pub struct BenchResult {
    /// Raw UDP loopback throughput, Mb/s.
    pub udp_raw_mbps: f64,
    /// Payload goodput through the chain, Mb/s.
    pub chain_goodput_mbps: f64,
    /// Bytes sealed and opened per second on one core (A).
    pub seal_open_rate: f64,
    /// Cores the model counts (the available parallelism).
    pub cores: usize,
    /// The chain's limit by the model, Mb/s.
    pub chain_limit_mbps: f64,
}

/// The chain's limit in bytes per second: `cores` cores, each payload byte
/// sealed and opened three times at `seal_open` bytes/s per core, and sent
/// and received twice at `udp` bytes/s per raw UDP pair (two cores).
pub fn chain_limit(cores: usize, seal_open: f64, udp: f64) -> f64 {
    cores as f64 / (3.0 / seal_open + 2.0 * 2.0 / udp)
}

/// A: bytes per second that one core seals and then opens with the Real
/// suite, `payload` bytes at a time (a new nonce each), for `secs`.
pub fn seal_open_rate(payload: usize, secs: f64) -> f64 {
    let suite = node_core::SuiteKind::Real.suite();
    let key = [0x42u8; 32];
    let aad = [0u8; node_core::wire::SealedHeader::LEN];
    let mut buf = vec![0x5au8; payload];
    let mut nonce = 0u64;
    let mut bytes = 0u64;
    let t0 = Instant::now();
    let mut dt = 0.0;
    while dt < secs {
        // Between clock reads: enough datagrams that reading it costs nothing.
        for _ in 0..256 {
            let tag = suite.seal(&key, nonce, &aad, std::hint::black_box(&mut buf));
            let opened = suite.open(&key, nonce, &aad, std::hint::black_box(&mut buf), &tag);
            assert!(opened.is_ok(), "a sealed buffer opens");
            nonce += 1;
            bytes += payload as u64;
        }
        dt = t0.elapsed().as_secs_f64();
    }
    bytes as f64 / dt
}

/// Raw UDP: one sender, one receiver, `mtu`-byte datagrams for `secs`.
pub fn raw_udp(mtu: usize, secs: f64) -> std::io::Result<f64> {
    let rx = UdpSocket::bind("127.0.0.1:0")?;
    rx.set_read_timeout(Some(Duration::from_millis(50)))?;
    let to = rx.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let r = {
        let (stop, received) = (Arc::clone(&stop), Arc::clone(&received));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = rx.recv(&mut buf) {
                    received.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        })
    };
    let s = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || -> std::io::Result<()> {
            let tx = UdpSocket::bind("127.0.0.1:0")?;
            let d = vec![0x5au8; mtu];
            while !stop.load(Ordering::Relaxed) {
                let _ = tx.send_to(&d, to);
            }
            Ok(())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let b0 = received.load(Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let b1 = received.load(Ordering::Relaxed);
    let dt = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = r.join();
    let _ = s.join();
    Ok((b1 - b0) as f64 * 8.0 / dt / 1e6)
}

fn free_port() -> std::io::Result<SocketAddr> {
    UdpSocket::bind("127.0.0.1:0")?.local_addr()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("timed out waiting for {what}"))
}

fn status(sock: &Path) -> Option<Value> {
    control::request(sock, &Request::Status)
        .ok()
        .map(|v| v["status"].clone())
}

fn established(sock: &Path) -> usize {
    status(sock).map_or(0, |s| {
        s["links"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|l| l["established"] == true).count())
    })
}

/// CPU time this process's threads have run, in nanoseconds (Linux's
/// per-thread scheduler statistics; `None` where they cannot be read).
fn cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// What the chain measured.
#[derive(Debug, Clone, Copy)]
pub struct ChainResult {
    /// Payload goodput, Mb/s.
    pub goodput_mbps: f64,
    /// CPU time of all the process's threads (the three nodes' and the
    /// benchmark's) per payload byte, ns; `None` where it cannot be read.
    pub cpu_ns_per_byte: Option<f64>,
}

/// The chain: goodput of a bulk route A -> B -> C over `secs`.
pub fn chain(mtu: usize, secs: f64, dir: &Path) -> Result<ChainResult, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let names = ["a", "b", "c"];
    let mut ids = Vec::new();
    let mut addrs = Vec::new();
    for n in names {
        ids.push(crate::keyfile::generate(&dir.join(format!("{n}.key"))).map_err(|x| e(&x))?);
        addrs.push(free_port().map_err(|x| e(&x))?);
    }
    let sock = |i: usize| dir.join(format!("{}.sock", names[i]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for i in 0..3usize {
        let peers = [i.wrapping_sub(1), i + 1]
            .into_iter()
            .filter(|&j| j < 3)
            .map(|j| Peer {
                address: addrs[j],
                public_key: *ids[j].public_key(),
            })
            .collect();
        let cfg = NodeConfig {
            key_file: PathBuf::new(),
            listen: addrs[i],
            peers,
            open_peering: false,
            mtu,
            control: sock(i),
            recv_dir: None,
            incoming: Default::default(),
            log_level: crate::log::Level::Warn,
            core: node_core::Config::default(),
        };
        let d = Driver::new(cfg, ids[i].clone(), Arc::clone(&stop)).map_err(|x| e(&x))?;
        threads.push(std::thread::spawn(move || d.run()));
    }
    let result = (|| {
        wait_for("links", Duration::from_secs(20), || {
            established(&sock(0)) == 1 && established(&sock(2)) == 1
        })?;
        let path = vec![
            crate::hex::encode(&ids[1].address().0),
            crate::hex::encode(&ids[2].address().0),
        ];
        let up = control::request(&sock(0), &Request::RouteOpen { path }).map_err(|x| e(&x))?;
        let route = up["route"].as_u64().ok_or("no route handle")?;
        let mut sender = Client::connect(&sock(0)).map_err(|x| e(&x))?;
        sender
            .send(&Request::Send {
                route: Some(route),
                connection: None,
                file: None,
                generate: Some(1 << 50),
                chunk: None,
                resume: None,
            })
            .map_err(|x| e(&x))?;
        let received =
            || status(&sock(2)).and_then(|s| s["stats"]["driver"]["route_bytes_received"].as_u64());
        std::thread::sleep(Duration::from_millis(1000));
        let b0 = received().ok_or("no status from C")?;
        let (t0, cpu0) = (Instant::now(), cpu_ns());
        std::thread::sleep(Duration::from_secs_f64(secs));
        let b1 = received().ok_or("no status from C")?;
        let (dt, cpu1) = (t0.elapsed().as_secs_f64(), cpu_ns());
        let bytes = (b1 - b0) as f64;
        Ok(ChainResult {
            goodput_mbps: bytes * 8.0 / dt / 1e6,
            cpu_ns_per_byte: cpu0
                .zip(cpu1)
                .map(|(a, b)| b.saturating_sub(a) as f64 / bytes),
        })
    })();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    result
}

/// Runs both measurements and prints the figures.
pub fn run(mtu: usize, secs: f64) -> Result<BenchResult, String> {
    // The transfer is cut off at the end on purpose: no warnings about it.
    crate::log::set_level(crate::log::Level::Error);
    let dir = std::env::temp_dir().join(format!("meshnode-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("datagram_bytes: {mtu}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cores: {cores}");
    let payload = mtu.saturating_sub(node_core::wire::SealedPacket::<&[u8]>::MIN_LEN);
    let seal_open = seal_open_rate(payload, secs.min(1.0));
    println!("seal_open_rate_Mbps: {:.0}", seal_open * 8.0 / 1e6);
    let udp = raw_udp(mtu, secs).map_err(|e| e.to_string())?;
    println!("udp_raw_Mbps: {udp:.0}");
    let limit = chain_limit(cores, seal_open, udp * 1e6 / 8.0) * 8.0 / 1e6;
    println!("chain_limit_Mbps: {limit:.0}");
    let chain = chain(mtu, secs, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let ChainResult {
        goodput_mbps: chain,
        cpu_ns_per_byte,
    } = chain?;
    println!("chain_goodput_Mbps: {chain:.0}");
    println!("chain_vs_raw_udp: {:.3}", chain / udp);
    println!("chain_vs_limit: {:.3}", chain / limit);
    if let Some(cpu) = cpu_ns_per_byte {
        // What the model charges a byte, against what the chain spent on
        // it: the limit's ratio with the cores' time that others took
        // (a shared machine) left out.
        let model = 1e9 * cores as f64 / (limit * 1e6 / 8.0);
        println!("chain_cpu_ns_per_byte: {cpu:.2}");
        println!("model_ns_per_byte: {model:.2}");
        println!("chain_cpu_vs_model: {:.3}", model / cpu);
    }
    Ok(BenchResult {
        udp_raw_mbps: udp,
        chain_goodput_mbps: chain,
        seal_open_rate: seal_open,
        cores,
        chain_limit_mbps: limit,
    })
}
