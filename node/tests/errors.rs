//! Operator mistakes and hostile input: clear errors, never a crash.

mod common;

use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::*;

fn run(config: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keygen_never_overwrites_and_writes_mode_0600() {
    let dir = TempDir::new("keygen");
    let k = keygen(&dir.path().join("k.key"));
    assert_eq!(k.address.len(), 32);
    assert_eq!(k.public_key.len(), 66);
    let mode = std::fs::metadata(&k.file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&k.file).unwrap();
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&k.file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&k.file).unwrap(), before);
}

#[test]
fn bad_configs_and_key_files_are_named() {
    let dir = TempDir::new("badcfg");
    let k = keygen(&dir.path().join("k.key"));
    let cfg = dir.path().join("n.json");
    let write = |text: String| std::fs::write(&cfg, text).unwrap();
    let key = k.file.display().to_string();

    write(format!(
        r#"{{"key_file": "{key}", "listen": "127.0.0.1:0", "peers": [{{"address": "127.0.0.1:9", "public_key": "00"}}]}}"#
    ));
    let (ok, err) = run(&cfg);
    assert!(!ok && err.contains("peers[0].public_key"), "{err}");

    write(format!(
        r#"{{"key_file": "{key}", "listen": "127.0.0.1:0", "route_bufer": 1}}"#
    ));
    let (ok, err) = run(&cfg);
    assert!(!ok && err.contains("route_bufer"), "{err}");

    write(format!(
        r#"{{"key_file": "{key}", "listen": "127.0.0.1:0", "suite": "modeled"}}"#
    ));
    let (ok, err) = run(&cfg);
    assert!(
        !ok && err.contains("suite") && err.contains("modeled"),
        "{err}"
    );

    write(r#"{"key_file": "missing.key", "listen": "127.0.0.1:0"}"#.into());
    let (ok, err) = run(&cfg);
    assert!(
        !ok && err.contains("missing.key") && err.contains("not found"),
        "{err}"
    );

    std::fs::set_permissions(&k.file, std::fs::Permissions::from_mode(0o644)).unwrap();
    write(format!(
        r#"{{"key_file": "{key}", "listen": "127.0.0.1:0"}}"#
    ));
    let (ok, err) = run(&cfg);
    assert!(!ok && err.contains("0644") && err.contains("0600"), "{err}");
    std::fs::set_permissions(&k.file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    write(format!(
        r#"{{"key_file": "{key}", "listen": "{}"}}"#,
        taken.local_addr().unwrap()
    ));
    let (ok, err) = run(&cfg);
    assert!(!ok && err.contains("already in use"), "{err}");
}

#[test]
fn garbage_is_counted_bad_requests_answered_and_sigterm_tells_the_peer() {
    let _turn = serial();
    let c = Chain::start(2, 0.0, None, "");
    let n0 = &c.nodes[0];
    let s = n0.status();
    let listen: std::net::SocketAddr = s["listen"].as_str().unwrap().parse().unwrap();

    // From a stranger: dropped before node-core, counted by the driver.
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..50u8 {
        stranger
            .send_to(&vec![i; 1 + 7 * i as usize], listen)
            .unwrap();
    }
    // A truncated handshake INIT, and a well-formed one offering a key
    // that is not configured: no link is made for either.
    stranger.send_to(&[1, 1, 0, 0], listen).unwrap();
    let mallory = node_core::Identity::from_secret(node_core::SuiteKind::Real, [9; 32]).unwrap();
    let mut init = vec![1u8, 1, 0, 0, 0, 7];
    init.extend_from_slice(&mallory.public_key().0);
    init.extend_from_slice(&mallory.public_key().0);
    // No MAC (the stranger does not know n0's key): all zeros.
    init.extend_from_slice(&[0; 16]);
    assert_eq!(init.len(), node_core::wire::HandshakeInit::LEN);
    stranger.send_to(&init, listen).unwrap();
    // Through the peer's own path (from the relay's address for n1, as if
    // n1 sent it): node-core drops and counts it.
    for i in 0..20u8 {
        let mut forged = vec![3u8];
        forged.extend_from_slice(&[i; 33]);
        c.relays[0].forge_to_x(&forged);
        c.relays[0].forge_to_x(&[0xEE; 40]);
    }
    wait_until("garbage counted", Duration::from_secs(20), || {
        let s = n0.status();
        s["stats"]["driver"]["unknown_sender_datagrams"]
            .as_u64()
            .unwrap()
            >= 51
            && s["stats"]["driver"]["unknown_key_inits"].as_u64().unwrap() == 1
            && s["stats"]["links"]["drops"]["total"].as_u64().unwrap() >= 20
    });
    // The stranger's INIT was refused by node-core's policy, not the driver.
    let t = &n0.status()["stats"]["tunnels"];
    assert_eq!(
        (t["refused"].as_u64(), t["accepted"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(n0.established(), 1, "the real link survived");
    assert_eq!(
        n0.status()["links"].as_array().unwrap().len(),
        1,
        "no link for strangers"
    );

    // Bad control requests get answers, not a crash.
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&n0.control).unwrap();
    s.write_all(b"not json\n{\"op\":\"send\",\"route\":99,\"generate\":5}\n{\"op\":\"route_open\",\"path\":[\"zz\"]}\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    for expect in ["bad request", "is not a route", "path[0]"] {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(
            line.contains("\"ok\":false") && line.contains(expect),
            "{line}"
        );
    }
    let out = n0.cli(&["route", "open", "--path", &c.keys[0].address]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid route path"));

    // SIGTERM: a clean exit, and the peer is told (a CLOSE, not a timeout).
    let mut c = c;
    let status = c.nodes[0].terminate();
    assert!(status.success(), "{status:?}");
    assert!(!c.nodes[0].control.exists(), "control socket removed");
    wait_until("n1 heard the close", Duration::from_secs(10), || {
        c.nodes[1].log_text().contains("closed (Peer(")
    });
}
