//! Transfers that outlive their routes: relay C of A - B - C - D is killed
//! mid-transfer and started again; the file arrives byte-exact, and what A
//! sends again is what D did not have when the route broke.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// `meshnode send ARGS` at A, in the background.
fn send(c: &Chain, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("send")
        .args(args)
        .arg("--control")
        .arg(&c.nodes[0].control)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn received(n: &NodeProc) -> u64 {
    n.status()["stats"]["driver"]["route_bytes_received"]
        .as_u64()
        .unwrap()
}

fn held(n: &NodeProc) -> u64 {
    n.status()["stats"]["incoming"]["held"].as_u64().unwrap()
}

/// Kills C once D has some of the file (and not all of it); returns
/// the bytes D holds once it knows the route is gone.
fn kill_relay_mid_transfer(c: &mut Chain, size: u64) -> u64 {
    wait_until("data at D", Duration::from_secs(60), || {
        received(&c.nodes[3]) > 0
    });
    c.nodes[2].kill();
    wait_until("D holds the transfer", Duration::from_secs(30), || {
        held(&c.nodes[3]) == 1
    });
    let at_d = received(&c.nodes[3]);
    assert!(
        at_d > 0 && at_d < size,
        "C must die mid-transfer: D had {at_d} of {size} bytes"
    );
    at_d
}

fn restart_relay(c: &mut Chain) {
    let (cfg, ctl) = (c.configs[2].clone(), c.nodes[2].control.clone());
    c.nodes[2] = NodeProc::start("n2-again", &cfg, &ctl, c.dir.path());
}

fn answer(out: &Output, c: &Chain) -> Value {
    assert!(
        out.status.success(),
        "send: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The inbox holds exactly `name`, with `data`: no part file is left.
fn only_file(inbox: &Path, name: &str, data: &[u8]) {
    let names: Vec<_> = std::fs::read_dir(inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [name]);
    assert!(
        std::fs::read(inbox.join(name)).unwrap() == data,
        "not byte-exact"
    );
}

#[test]
fn a_connections_transfer_carries_on_across_a_relay_restart() {
    let _turn = serial();
    let data = content(32 << 20, 21);
    let size = data.len() as u64;
    let mut c = Chain::start(4, 0.0, None, r#", "dead_interval": "3s""#);
    let file = c.dir.path().join("big.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, inbox) = start_recv(&c, 1);
    let conn = c.open_connection();
    let sender = send(
        &c,
        &[
            "--connection",
            &conn.to_string(),
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let at_d = kill_relay_mid_transfer(&mut c, size);
    // A heard the route break: its transfer waits for the next route, and
    // holds what it had handed to the broken one.
    let mut paused = Value::Null;
    wait_until("A's transfer paused", Duration::from_secs(30), || {
        paused = c.nodes[0].status()["connections"][0]["paused"].clone();
        !paused.is_null()
    });
    let sent_before = paused["high_water"].as_u64().unwrap();
    let in_flight = sent_before - at_d;
    restart_relay(&mut c);
    let done = answer(&sender.wait_with_output().unwrap(), &c);
    assert!(recv.wait_with_output().unwrap().status.success());
    only_file(&inbox, "big.bin", &data);
    let resent = done["resent"].as_u64().unwrap();
    eprintln!(
        "file {size} B; D held {at_d} B at the crash; A had sent {sent_before} B; \
         in flight {in_flight} B; sent again {resent} B; routes {}",
        done["routes"]
    );
    assert!(done["routes"].as_u64().unwrap() >= 2, "{done}");
    assert_eq!(done["resumed_from"].as_u64(), Some(at_d), "{done}");
    assert!(
        resent <= in_flight,
        "{resent} sent again, {in_flight} in flight"
    );
    let d = c.nodes[3].status();
    assert_eq!(d["stats"]["incoming"]["stats"]["resumed"], 1, "{d}");
    // D received each byte of the file once.
    assert_eq!(received(&c.nodes[3]), size);
}

#[test]
fn a_routes_transfer_resumes_on_a_new_route_with_its_id() {
    let _turn = serial();
    let data = content(32 << 20, 22);
    let size = data.len() as u64;
    let mut c = Chain::start(4, 0.0, None, r#", "dead_interval": "3s""#);
    let file = c.dir.path().join("resumed.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, inbox) = start_recv(&c, 1);
    let route = c.open_route();
    let sender = send(
        &c,
        &[
            "--route",
            &route.to_string(),
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let at_d = kill_relay_mid_transfer(&mut c, size);
    let failed = sender.wait_with_output().unwrap();
    assert!(!failed.status.success(), "the route broke: the send fails");
    // The error names the transfer and how to resume it.
    let err = String::from_utf8_lossy(&failed.stderr).into_owned();
    let id = err
        .split("send --resume ")
        .nth(1)
        .map(|rest| rest[..32].to_owned())
        .unwrap_or_else(|| panic!("no transfer id in {err}"));
    assert!(!inbox.join("resumed.bin").exists());
    restart_relay(&mut c);
    c.wait_links();
    let route = c.open_route();
    let args = [
        "--route",
        &route.to_string(),
        "--file",
        file.to_str().unwrap(),
        "--resume",
        &id,
    ];
    let done = answer(&send(&c, &args).wait_with_output().unwrap(), &c);
    assert!(recv.wait_with_output().unwrap().status.success());
    only_file(&inbox, "resumed.bin", &data);
    assert_eq!(done["transfer"].as_str(), Some(id.as_str()));
    assert_eq!(done["resumed_from"].as_u64(), Some(at_d), "{done}");
    assert_eq!(received(&c.nodes[3]), size);
    // Asked once more (as a sender that missed the confirmation would):
    // D says it has all of it, and writes nothing.
    let route = c.open_route();
    let args = [
        "--route",
        &route.to_string(),
        "--file",
        file.to_str().unwrap(),
        "--resume",
        &id,
    ];
    let again = answer(&send(&c, &args).wait_with_output().unwrap(), &c);
    assert_eq!(again["resumed_from"].as_u64(), Some(size), "{again}");
    assert_eq!(received(&c.nodes[3]), size);
    only_file(&inbox, "resumed.bin", &data);
}
