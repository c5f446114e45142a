//! A core that asks for a tunnel gets it over UDP: `meshnode tunnel open`
//! makes node-core say `OpenTunnel`, the driver makes the address a new
//! peer, and the link handshakes with the requested key.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_tunnel_asked_for_at_run_time_comes_up_on_loopback() {
    let _serial = serial();
    let dir = TempDir::new("tunnel");
    let ka = keygen(&dir.path().join("a.key"));
    let kb = keygen(&dir.path().join("b.key"));
    let config = |name: &str, key: &Key, extra: &str| {
        let cfg = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &cfg,
            format!(
                r#"{{"key_file": "{}", "listen": "127.0.0.1:0", "control": "{name}.sock",
                    "peers": [], "log_level": "debug"{extra}}}"#,
                key.file.display()
            ),
        )
        .unwrap();
        cfg
    };
    // B has no peers and takes any peer that proves a key; A has none.
    let cb = config("b", &kb, r#", "open_peering": true"#);
    let ca = config("a", &ka, "");
    let b = NodeProc::start("b", &cb, &dir.path().join("b.sock"), dir.path());
    let a = NodeProc::start("a", &ca, &dir.path().join("a.sock"), dir.path());
    let b_addr = b.status()["listen"].as_str().expect("listen").to_owned();
    assert_eq!(a.established(), 0);
    let out = a.cli(&[
        "tunnel",
        "open",
        "--public-key",
        &kb.public_key,
        "--addr",
        &b_addr,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("the tunnel's handshake", Duration::from_secs(10), || {
        a.established() == 1 && b.established() == 1
    });
    let link = &a.status()["links"][0];
    assert_eq!(
        link["peer_key"].as_str(),
        Some(kb.public_key.as_str()),
        "{link}"
    );
    // A second tunnel to the same address is refused (one socket tells
    // peers apart by address), and the refusal is plain.
    let again = a.cli(&[
        "tunnel",
        "open",
        "--public-key",
        &kb.public_key,
        "--addr",
        &b_addr,
    ]);
    assert!(again.status.success());
    wait_until("the refusal", Duration::from_secs(5), || {
        a.log_text().contains("failed (Refused)")
    });
    // A bad key is an error answer, not a crash.
    let bad = a.cli(&["tunnel", "open", "--public-key", "zz", "--addr", &b_addr]);
    assert!(!bad.status.success());
    assert!(a.try_status().is_some());
}
