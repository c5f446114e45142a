//! The security review's findings (issue #12), end to end: who may use the
//! control socket, what the node deletes, how much a control client or a
//! remote sender may make it hold, and received files that never replace
//! one another.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// One node with no peers; its directory and process.
fn lone_node(name: &str) -> (TempDir, NodeProc) {
    let dir = TempDir::new(name);
    let k = keygen(&dir.path().join("n.key"));
    let cfg = dir.path().join("n.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n.sock", "log_level": "debug"}}"#,
            k.file.display()
        ),
    )
    .unwrap();
    let n = NodeProc::start("n", &cfg, &dir.path().join("n.sock"), dir.path());
    (dir, n)
}

fn driver_stat(n: &NodeProc, name: &str) -> u64 {
    n.status()["stats"]["driver"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no driver stat {name}"))
}

#[test]
fn the_control_socket_is_mode_0600_and_other_users_are_refused() {
    let _turn = serial();
    let (dir, n) = lone_node("sock-access");
    let m = std::fs::symlink_metadata(&n.control).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o777, 0o600, "socket mode");
    assert_eq!(m.uid(), rustix::process::geteuid().as_raw());

    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "skipped the second-user part: only root can run a client as another uid \
             (endpoint::peer_allowed is tested with fake uids)"
        );
        return;
    }
    // Open the socket's mode on purpose: the credential check still refuses.
    std::fs::set_permissions(&n.control, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("meshnode-copy");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = {
        use std::os::unix::process::CommandExt;
        Command::new(&bin)
            .args(["status", "--control"])
            .arg(&n.control)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "uid 65534 got the status");
    assert!(
        err.contains("uid 65534") && err.contains("may not use this node's control socket"),
        "{err}"
    );
    assert_eq!(driver_stat(&n, "control_refused"), 1);
    assert!(
        n.log_text()
            .contains("control connection refused: uid 65534")
    );
}

/// `meshnode run` with `config`: whether it succeeded, its stderr.
fn run(config: &Path) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("meshnode run did not refuse {}", config.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_never_deletes_what_is_not_a_socket() {
    let dir = TempDir::new("not-a-socket");
    let k = keygen(&dir.path().join("n.key"));
    // The default control path is the config's with `.sock`: here the
    // config file itself.
    let cfg = dir.path().join("x.sock");
    let text = format!(
        r#"{{"key_file": "{}", "listen": "127.0.0.1:0"}}"#,
        k.file.display()
    );
    std::fs::write(&cfg, &text).unwrap();
    let (ok, err) = run(&cfg);
    assert!(!ok, "started on its own config file");
    assert!(
        err.contains("is a regular file, not a socket: refusing to delete it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), text, "config kept");

    // A link where the socket goes (to a file the node must not touch).
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep").unwrap();
    let link: PathBuf = dir.path().join("n.sock");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let cfg = dir.path().join("n.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n.sock"}}"#,
            k.file.display()
        ),
    )
    .unwrap();
    let (ok, err) = run(&cfg);
    assert!(
        !ok && err.contains("is a symbolic link, not a socket"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}

#[test]
fn control_clients_are_bounded_in_line_length_and_unread_answers() {
    let _turn = serial();
    let (_dir, n) = lone_node("control-bounds");
    // A line past 64 KiB: an error line, then the node hangs up.
    let mut s = UnixStream::connect(&n.control).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut long = br#"{"op":"status","pad":""#.to_vec();
    long.extend(std::iter::repeat_n(b'x', 70 * 1024));
    long.extend_from_slice(b"\"}\n");
    let _ = s.write_all(&long);
    let mut answer = String::new();
    let _ = BufReader::new(&s).read_line(&mut answer);
    assert!(
        answer.contains("\"ok\":false") && answer.contains("longer than 65536 bytes"),
        "{answer}"
    );
    assert!(
        !answer.contains("\"status\""),
        "the long request was served"
    );
    assert_eq!(driver_stat(&n, "control_line_too_long"), 1);

    // A client that asks and never reads: cut off once its answers pile up.
    let mut s = UnixStream::connect(&n.control).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let flood = std::thread::spawn(move || {
        let req = b"{\"op\":\"status\"}\n".repeat(1000);
        for _ in 0..100 {
            if s.write_all(&req).is_err() {
                return true; // the node hung up
            }
        }
        false
    });
    wait_until("the flooder cut off", Duration::from_secs(60), || {
        driver_stat(&n, "control_backlog_exceeded") == 1
    });
    assert!(
        flood.join().unwrap(),
        "the node never hung up on the flooder"
    );
    // Others are still served.
    assert!(n.try_status().is_some());
}

#[test]
fn received_files_never_replace_one_another_and_caps_refuse_big_ones() {
    let _turn = serial();
    let c = Chain::start(2, 0.0, None, r#", "max_incoming_bytes": 1000"#);
    let inbox = c.dir.path().join("inbox");
    let last = &c.nodes[1];
    let mut recv = Command::new(BIN)
        .args(["recv", "--out"])
        .arg(&inbox)
        .args(["--count", "2", "--control"])
        .arg(&last.control)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("recv registered", Duration::from_secs(30), || {
        last.status()["recv_dir"].is_string()
    });
    let send = |route: u64, file: &Path| {
        c.nodes[0].cli(&[
            "send",
            "--route",
            &route.to_string(),
            "--file",
            file.to_str().unwrap(),
        ])
    };
    let (a, b) = (c.dir.path().join("a"), c.dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("same.bin"), b"first").unwrap();
    std::fs::write(b.join("same.bin"), b"second").unwrap();
    for file in [a.join("same.bin"), b.join("same.bin")] {
        let route = c.open_route();
        let out = send(route, &file);
        assert!(out.status.success(), "{}", c.logs());
    }
    let mut lines = BufReader::new(recv.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let second: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(recv.wait().unwrap().success());
    assert_eq!(first["renamed"], false, "{first}");
    assert_eq!(second["renamed"], true, "{second}");
    assert_eq!(second["name"], "same.bin");
    assert!(second["path"].as_str().unwrap().ends_with("same.bin.1"));
    assert_eq!(std::fs::read(inbox.join("same.bin")).unwrap(), b"first");
    assert_eq!(std::fs::read(inbox.join("same.bin.1")).unwrap(), b"second");
    assert!(
        last.log_text()
            .contains("same.bin existed: kept, this one renamed")
    );

    // Past max_incoming_bytes: refused at the header, counted, nothing kept.
    let big = c.dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 5000]).unwrap();
    let route = c.open_route();
    // The sender may or may not hear of it: its bytes can all be
    // confirmed by the route before the destination closes it.
    let _ = send(route, &big);
    wait_until("the refusal counted", Duration::from_secs(20), || {
        driver_stat(last, "incoming_refused_bytes") == 1
    });
    let s = last.status();
    assert_eq!(s["stats"]["incoming"]["max_bytes"], 1000, "{s}");
    assert_eq!(s["stats"]["incoming"]["files"], 0, "{s}");
    let mut names: Vec<String> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["same.bin", "same.bin.1"]);
}

/// The INIT a node-core node with `secret` sends first on a link to
/// `peer` (with a MAC when it knows the peer's key).
fn init_from(secret: u8, peer: Option<node_core::PublicKey>) -> Vec<u8> {
    use node_core::*;
    let id = Identity::from_secret(SuiteKind::Real, [secret; 32]).unwrap();
    let mut n = Node::new(Config::default(), id, [secret; 32]).unwrap();
    n.handle_input(
        Time::ZERO,
        Input::LinkUp {
            link: LinkId(1),
            peer_key: peer,
            mtu: 1200,
            rate_bps: None,
        },
    );
    loop {
        match n.poll_output(Time::ZERO) {
            Output::Transmit { bytes, .. } => return bytes,
            Output::Timeout(_) => panic!("no INIT"),
            _ => {}
        }
    }
}

/// Spoofed handshakes (finding 8): an INIT that claims a configured key
/// without its owner's MAC is refused at once and holds no probation slot
/// (so a flood from many addresses cannot crowd out real newcomers), and
/// what a node sends back to an INIT's source address is one answer about
/// its size: no amplification for a spoofed source.
#[test]
fn spoofed_inits_hold_no_slot_and_are_answered_without_amplification() {
    let _turn = serial();
    let dir = TempDir::new("spoofed-inits");
    let k = keygen(&dir.path().join("n.key"));
    let claimed = node_core::Identity::from_secret(node_core::SuiteKind::Real, [42; 32]).unwrap();
    let claimed_key = node::hex::encode(&claimed.public_key().0);
    let cfg = dir.path().join("n.json");
    // The configured peer (key 42) lives at a port nobody answers on.
    std::fs::write(
        &cfg,
        format!(
            r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "n.sock",
                "peers": [{{"address": "127.0.0.1:9", "public_key": "{claimed_key}"}}]}}"#,
            k.file.display()
        ),
    )
    .unwrap();
    let n = NodeProc::start("n", &cfg, &dir.path().join("n.sock"), dir.path());
    let port = n.status()["listen"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // An INIT claiming key 42 without the MAC (its sender lacks the
    // target's key, as a forger lacks key 42's secret), from 200 addresses.
    let forged = init_from(42, None);
    let sockets: Vec<std::net::UdpSocket> = (0..200)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    for s in &sockets {
        s.send_to(&forged, target).unwrap();
    }
    wait_until("the forged INITs counted", Duration::from_secs(10), || {
        driver_stat(&n, "unproven_inits") == 200
    });
    let s = n.status();
    assert_eq!(s["links"].as_array().unwrap().len(), 1, "{s}");
    // None of them got an answer.
    for s in &sockets {
        s.set_nonblocking(true).unwrap();
        assert!(
            s.recv(&mut [0u8; 2048]).is_err(),
            "a forged INIT was answered"
        );
    }
    // A flood past the node's INIT budget (1,000 a second, a burst of
    // 256): the rest is dropped before any cryptography, and counted.
    let t = std::time::Instant::now();
    for _ in 0..300 {
        for s in &sockets[..10] {
            s.send_to(&forged, target).unwrap();
        }
    }
    wait_until("the flood counted", Duration::from_secs(10), || {
        driver_stat(&n, "unproven_inits") + driver_stat(&n, "inits_over_budget") == 3200
    });
    let (taken, over) = (
        driver_stat(&n, "unproven_inits") - 200,
        driver_stat(&n, "inits_over_budget"),
    );
    let budget = 256 + (t.elapsed().as_secs_f64() * 1000.0) as u64;
    eprintln!("flood of 3000 INITs: {taken} handed to node-core, {over} over budget");
    assert!(
        over > 0 && taken <= budget,
        "{taken} taken, {over} over, budget {budget}"
    );
    // The budget refills: a real INIT a moment later is answered.
    std::thread::sleep(Duration::from_millis(300));
    // A real INIT of key 42 (with the MAC) gets one answer, about its size,
    // however long the sender stays silent.
    let target_key = node_core::PublicKey(node::hex::decode::<33>(&k.public_key).unwrap());
    let real = init_from(42, Some(target_key));
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    probe.send_to(&real, target).unwrap();
    let (mut datagrams, mut bytes) = (0, 0);
    let until = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < until {
        if let Ok(len) = probe.recv(&mut [0u8; 2048]) {
            datagrams += 1;
            bytes += len;
        }
    }
    eprintln!(
        "INIT {} bytes; answered with {datagrams} datagrams, {bytes} bytes in 3 s",
        real.len()
    );
    assert_eq!(datagrams, 1);
    assert!(
        bytes <= real.len() * 11 / 10,
        "{bytes} bytes for {}",
        real.len()
    );
}
