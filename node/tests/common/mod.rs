//! Test harness: meshnode processes on loopback, with a UDP relay between
//! each pair of nodes that records, inspects and (seeded) drops datagrams.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_meshnode");

/// Tests that run several node processes take turns: on a 2-core machine
/// they would otherwise starve each other's timers.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "meshnode-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A key made by `meshnode keygen`.
#[derive(Clone, Debug)]
pub struct Key {
    pub file: PathBuf,
    pub address: String,
    pub public_key: String,
}

pub fn keygen(file: &Path) -> Key {
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("keygen printed no {name}: {text}"))
            .trim()
            .to_owned()
    };
    Key {
        file: file.to_owned(),
        address: field("address:"),
        public_key: field("public_key:"),
    }
}

/// A running `meshnode run` process, killed on drop.
pub struct NodeProc {
    pub name: String,
    pub config: PathBuf,
    pub control: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
}

impl NodeProc {
    pub fn start(name: &str, config: &Path, control: &Path, dir: &Path) -> NodeProc {
        let log = dir.join(format!("{name}.log"));
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        let n = NodeProc {
            name: name.into(),
            config: config.into(),
            control: control.into(),
            log,
            child: Some(child),
        };
        wait_until(
            &format!("{name}'s control endpoint"),
            Duration::from_secs(30),
            || n.try_status().is_some(),
        );
        n
    }

    pub fn try_status(&self) -> Option<Value> {
        node::control::request(&self.control, &node::control::Request::Status)
            .ok()
            .map(|v| v["status"].clone())
    }

    pub fn status(&self) -> Value {
        self.try_status()
            .unwrap_or_else(|| panic!("{} has no status; log:\n{}", self.name, self.log_text()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn established(&self) -> usize {
        self.try_status().map_or(0, |s| {
            s["links"]
                .as_array()
                .map_or(0, |l| l.iter().filter(|l| l["established"] == true).count())
        })
    }

    /// Runs a CLI subcommand against this node.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .arg("--control")
            .arg(&self.control)
            .output()
            .unwrap()
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let t = Instant::now();
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{} ignores SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(
            t.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Looks for plaintext of a file in datagrams: every aligned 8-byte word of
/// the file; a run of 15 or more plaintext bytes on the wire contains one.
pub struct PlaintextProbe {
    words: HashSet<u64>,
}

impl PlaintextProbe {
    pub fn new(content: &[u8]) -> PlaintextProbe {
        let words = content
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        PlaintextProbe { words }
    }
    pub fn found_in(&self, d: &[u8]) -> bool {
        d.windows(8).any(|w| {
            self.words
                .contains(&u64::from_le_bytes(w.try_into().unwrap()))
        })
    }
}

/// Counters of a relay.
#[derive(Default)]
pub struct RelayStats {
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub bytes: AtomicU64,
    pub plaintext_hits: AtomicU64,
}

/// A UDP relay between two nodes X and Y: X is configured to reach Y at
/// `for_x`, Y to reach X at `for_y`. It learns each node's real address
/// from what it receives (a restarted node's new port too).
pub struct Relay {
    pub for_x: SocketAddr,
    pub for_y: SocketAddr,
    pub stats: Arc<RelayStats>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// X's socket and learnt address, to forge datagrams on Y's path.
    sx: Arc<UdpSocket>,
    x_addr: Arc<Mutex<Option<SocketAddr>>>,
}

impl Relay {
    /// Drops each datagram with probability `drop` (seeded, per direction).
    pub fn new(drop: f64, seed: u64, probe: Option<Arc<PlaintextProbe>>) -> Relay {
        let sx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sy = UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&sx, &sy] {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        }
        let (for_x, for_y) = (sx.local_addr().unwrap(), sy.local_addr().unwrap());
        let stats = Arc::new(RelayStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let x_addr = Arc::new(Mutex::new(None::<SocketAddr>));
        let y_addr = Arc::new(Mutex::new(None::<SocketAddr>));
        let sx = Arc::new(sx);
        let sy = Arc::new(sy);
        let mut threads = Vec::new();
        for (dir, (rx, tx, me, other)) in [
            (
                Arc::clone(&sx),
                Arc::clone(&sy),
                Arc::clone(&x_addr),
                Arc::clone(&y_addr),
            ),
            (
                Arc::clone(&sy),
                Arc::clone(&sx),
                Arc::clone(&y_addr),
                Arc::clone(&x_addr),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let (stats, stop, probe) = (Arc::clone(&stats), Arc::clone(&stop), probe.clone());
            let mut rng = seed ^ (dir as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = rx.recv_from(&mut buf) else {
                        continue;
                    };
                    *me.lock().unwrap() = Some(from);
                    let d = &buf[..n];
                    stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if let Some(p) = &probe
                        && p.found_in(d)
                    {
                        stats.plaintext_hits.fetch_add(1, Ordering::Relaxed);
                    }
                    if drop > 0.0 && (splitmix(&mut rng) >> 11) as f64 / (1u64 << 53) as f64 <= drop
                    {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let to = *other.lock().unwrap();
                    if let Some(to) = to {
                        let _ = tx.send_to(d, to);
                        stats.forwarded.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        Relay {
            for_x,
            for_y,
            stats,
            stop,
            threads,
            sx,
            x_addr,
        }
    }

    /// Sends `bytes` to X from the address X knows as Y's: a forged
    /// datagram on Y's path. The relay learns nothing from it (sending
    /// through `for_y` would teach it the forger's address as Y's).
    pub fn forge_to_x(&self, bytes: &[u8]) {
        let x = self.x_addr.lock().unwrap().expect("X has spoken");
        self.sx.send_to(bytes, x).unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic pseudo-random content.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&splitmix(&mut s).to_le_bytes());
    }
    v.truncate(len);
    v
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    node::hex::encode(&sha2::Sha256::digest(data))
}

/// A chain of nodes n0 - n1 - ... with a relay on every link.
pub struct Chain {
    pub dir: TempDir,
    pub keys: Vec<Key>,
    pub relays: Vec<Relay>,
    pub nodes: Vec<NodeProc>,
    pub configs: Vec<PathBuf>,
}

/// Node `i`'s config: its neighbours reached through the relays.
pub fn chain_config(dir: &Path, keys: &[Key], relays: &[Relay], i: usize, extra: &str) -> PathBuf {
    let mut peers = Vec::new();
    if i > 0 {
        // Relay i-1 sits between node i-1 (its X) and node i (its Y).
        peers.push(format!(
            r#"{{"address": "{}", "public_key": "{}"}}"#,
            relays[i - 1].for_y,
            keys[i - 1].public_key
        ));
    }
    if i + 1 < keys.len() {
        peers.push(format!(
            r#"{{"address": "{}", "public_key": "{}"}}"#,
            relays[i].for_x,
            keys[i + 1].public_key
        ));
    }
    let cfg = dir.join(format!("n{i}.json"));
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n{i}.sock",
                "peers": [{}], "log_level": "debug"{extra}}}"#,
            keys[i].file.display(),
            peers.join(", ")
        ),
    )
    .unwrap();
    cfg
}

impl Chain {
    pub fn start(n: usize, drop: f64, probe: Option<Arc<PlaintextProbe>>, extra: &str) -> Chain {
        let dir = TempDir::new("chain");
        let keys: Vec<Key> = (0..n)
            .map(|i| keygen(&dir.path().join(format!("n{i}.key"))))
            .collect();
        let relays: Vec<Relay> = (0..n - 1)
            .map(|i| Relay::new(drop, 1000 + i as u64, probe.clone()))
            .collect();
        let configs: Vec<PathBuf> = (0..n)
            .map(|i| chain_config(dir.path(), &keys, &relays, i, extra))
            .collect();
        let nodes = (0..n)
            .map(|i| {
                NodeProc::start(
                    &format!("n{i}"),
                    &configs[i],
                    &dir.path().join(format!("n{i}.sock")),
                    dir.path(),
                )
            })
            .collect();
        let c = Chain {
            dir,
            keys,
            relays,
            nodes,
            configs,
        };
        c.wait_links();
        c
    }

    pub fn wait_links(&self) {
        let n = self.nodes.len();
        wait_until("all links established", Duration::from_secs(60), || {
            (0..n).all(|i| self.nodes[i].established() == if i == 0 || i == n - 1 { 1 } else { 2 })
        });
    }

    /// Opens a route from node 0 to the last node with the CLI; its handle.
    pub fn open_route(&self) -> u64 {
        self.open("route")
    }

    /// Opens a connection from node 0 to the last node with the CLI; its
    /// handle once its first route is up.
    pub fn open_connection(&self) -> u64 {
        self.open("connection")
    }

    /// `meshnode <what> open --path ...` at node 0; the handle it prints.
    fn open(&self, what: &str) -> u64 {
        let path: Vec<&str> = self.keys[1..].iter().map(|k| k.address.as_str()).collect();
        let out = self.nodes[0].cli(&[what, "open", "--path", &path.join(",")]);
        assert!(
            out.status.success(),
            "{what} open: {}\nlog:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.nodes[0].log_text()
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {}\n{}", n.name, tail(&n.log_text(), 4000)))
            .collect()
    }
}

pub fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// `meshnode recv` at the chain's last node, in the background, exiting
/// after `count` transfers; its output directory.
pub fn start_recv(c: &Chain, count: u64) -> (Child, PathBuf) {
    let out = c.dir.path().join("inbox");
    let last = c.nodes.last().unwrap();
    let child = Command::new(BIN)
        .args(["recv", "--out"])
        .arg(&out)
        .args(["--count", &count.to_string(), "--control"])
        .arg(&last.control)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("recv registered", Duration::from_secs(30), || {
        last.status()["recv_dir"].is_string()
    });
    (child, out)
}

/// A's `send` of `file` on `route`, which must succeed (the nodes' logs
/// are shown if it does not).
pub fn send_ok(c: &Chain, route: u64, file: &std::path::Path) {
    let out = c.nodes[0].cli(&[
        "send",
        "--route",
        &route.to_string(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "send: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
}
