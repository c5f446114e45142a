//! `meshnode bench`: a 3-node chain on loopback against raw UDP.
//!
//! Both measurements run in the same process, one after the other, with the
//! same datagram size: raw UDP (one sender thread, one receiver thread, the
//! bytes that arrive count) and the chain A -> B -> C (three nodes, each its
//! own single-threaded event loop on its own thread, as three `meshnode run`
//! processes would be), streaming generated bulk data over a route. Goodput
//! is payload bytes arriving at C's application per second.

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

/// The chain: goodput of a bulk route A -> B -> C over `secs`.
pub fn chain(mtu: usize, secs: f64, dir: &Path) -> Result<f64, String> {
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
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        let b1 = received().ok_or("no status from C")?;
        let dt = t0.elapsed().as_secs_f64();
        Ok((b1 - b0) as f64 * 8.0 / dt / 1e6)
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
    let udp = raw_udp(mtu, secs).map_err(|e| e.to_string())?;
    println!("udp_raw_Mbps: {udp:.0}");
    let chain = chain(mtu, secs, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let chain = chain?;
    println!("chain_goodput_Mbps: {chain:.0}");
    println!("chain_vs_raw_udp: {:.3}", chain / udp);
    Ok(BenchResult {
        udp_raw_mbps: udp,
        chain_goodput_mbps: chain,
    })
}
