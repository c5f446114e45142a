//! Four meshnode processes A - B - C - D on loopback, a relay on every link.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_file_crosses_four_nodes_encrypted_and_relays_see_only_their_neighbours() {
    let _turn = serial();
    let data = content(20 << 20, 7);
    let probe = Arc::new(PlaintextProbe::new(&data));
    let c = Chain::start(4, 0.0, Some(Arc::clone(&probe)), "");
    let file = c.dir.path().join("payload.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, inbox) = start_recv(&c, 1);
    let route = c.open_route();
    send_ok(&c, route, &file);
    let recv = recv.wait_with_output().unwrap();
    assert!(recv.status.success());
    let done: serde_json::Value =
        serde_json::from_str(String::from_utf8(recv.stdout).unwrap().trim()).unwrap();
    assert_eq!(done["sha256"], sha256_hex(&data), "{done}");
    let written = std::fs::read(inbox.join("payload.bin")).unwrap();
    assert_eq!(sha256_hex(&written), sha256_hex(&data));

    // Every datagram crossed a relay; none carried the file's plaintext.
    let total: u64 = c
        .relays
        .iter()
        .map(|r| r.stats.bytes.load(Ordering::Relaxed))
        .sum();
    assert!(total > 3 * (20 << 20), "the relays saw {total} bytes");
    for r in &c.relays {
        assert_eq!(r.stats.plaintext_hits.load(Ordering::Relaxed), 0);
    }

    // B and C relay the route and know only their previous and next hop:
    // B knows A and C, never D; C knows B and D, never A.
    let addr = |i: usize| c.keys[i].address.clone();
    for (relay, prev, next, hidden) in [(1, 0, 2, 3), (2, 1, 3, 0)] {
        let s = c.nodes[relay].status();
        let routes = s["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 1, "{s}");
        assert_eq!(routes[0]["role"], "relay");
        assert_eq!(routes[0]["previous_hop"], addr(prev), "{s}");
        assert_eq!(routes[0]["next_hop"], addr(next), "{s}");
        let peers: Vec<String> = s["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["peer_address"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(peers.len(), 2);
        assert!(
            peers.contains(&addr(prev)) && peers.contains(&addr(next)),
            "{peers:?}"
        );
        assert!(
            !s.to_string().contains(&addr(hidden)),
            "node {relay} knows node {hidden}"
        );
    }
    let s0 = c.nodes[0].status();
    assert_eq!(s0["routes"][0]["role"], "origin");
    assert_eq!(c.nodes[3].status()["routes"][0]["role"], "destination");

    let out = c.nodes[0].cli(&["route", "close", &route.to_string()]);
    assert!(out.status.success());
    wait_until("route closed everywhere", Duration::from_secs(30), || {
        c.nodes
            .iter()
            .all(|n| n.status()["routes"].as_array().unwrap().is_empty())
    });
}

#[test]
fn a_transfer_completes_through_twenty_percent_loss() {
    let _turn = serial();
    let data = content(20 << 20, 11);
    let c = Chain::start(4, 0.2, None, "");
    let file = c.dir.path().join("lossy.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, inbox) = start_recv(&c, 1);
    let route = c.open_route();
    send_ok(&c, route, &file);
    assert!(recv.wait_with_output().unwrap().status.success());
    assert_eq!(std::fs::read(inbox.join("lossy.bin")).unwrap(), data);
    for r in &c.relays {
        let (f, d) = (
            r.stats.forwarded.load(Ordering::Relaxed),
            r.stats.dropped.load(Ordering::Relaxed),
        );
        let share = d as f64 / (f + d) as f64;
        assert!((0.15..0.25).contains(&share), "relay dropped {share:.3}");
    }
    let lost: u64 = c
        .nodes
        .iter()
        .map(|n| {
            n.status()["stats"]["links"]["packets_lost"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(lost > 0);
}

#[test]
fn a_killed_relay_breaks_the_route_and_a_new_route_resends_the_file() {
    let _turn = serial();
    let dead = Duration::from_secs(3);
    let data = content(8 << 20, 13);
    let mut c = Chain::start(4, 0.0, None, r#", "dead_interval": "3s""#);
    let file = c.dir.path().join("resent.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, inbox) = start_recv(&c, 1);
    let route = c.open_route();
    let sender = Command::new(BIN)
        .args([
            "send",
            "--route",
            &route.to_string(),
            "--file",
            file.to_str().unwrap(),
            "--control",
        ])
        .arg(&c.nodes[0].control)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill C once some of the file has reached D.
    wait_until("data at D", Duration::from_secs(60), || {
        c.nodes[3].status()["stats"]["driver"]["route_bytes_received"]
            .as_u64()
            .unwrap()
            > 0
    });
    c.nodes[2].kill();
    let killed = Instant::now();
    let failed = sender.wait_with_output().unwrap();
    let noticed = killed.elapsed();
    assert!(
        !failed.status.success(),
        "the send must fail: the route broke"
    );
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("route closed"), "{err}");
    // B declares C dead after the dead interval and tears the route down to
    // A at once; the slack is for process scheduling on a busy machine.
    assert!(
        noticed < dead + Duration::from_secs(2),
        "A heard after {noticed:?}"
    );
    let events = c.nodes[0].status()["events"]["entries"].to_string();
    assert!(events.contains("\"closed\""), "{events}");
    assert!(!inbox.join("resent.bin").exists());

    // C comes back with the same key; a new transfer (not `--resume`, see
    // tests/resume.rs) on a new route carries the whole file again.
    let (cfg, ctl) = (c.configs[2].clone(), c.nodes[2].control.clone());
    c.nodes[2] = NodeProc::start("n2-again", &cfg, &ctl, c.dir.path());
    c.wait_links();
    let route = c.open_route();
    send_ok(&c, route, &file);
    assert!(recv.wait_with_output().unwrap().status.success());
    assert_eq!(std::fs::read(inbox.join("resent.bin")).unwrap(), data);
    // The broken transfer's part file is held for a resume (until
    // resume_window), under a name no sender can give.
    let mut names: Vec<String> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with(".meshnode-part-"), "{names:?}");
    assert_eq!(names[1], "resent.bin");
    assert_eq!(c.nodes[3].status()["stats"]["incoming"]["held"], 1);
}
