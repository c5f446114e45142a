//! Payments between meshnode processes (issue 15): A - B - C - D on
//! loopback, every node with terms; B and C relay A's route, gate it,
//! tell A their price, and are paid in receipts their status shows.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn relays_are_paid_in_receipts_and_their_status_shows_them() {
    let _turn = serial();
    let data = content(3 << 20, 3);
    // 20,000 droplets per MB; a credit of 20,000 droplets (500 kB each
    // way): 3 MiB make the relays pause and resume.
    let c = Chain::start(
        4,
        0.0,
        None,
        r#", "pay": {"price_per_mb": 20000, "credit": 20000}"#,
    );
    let file = c.dir.path().join("payload.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, _inbox) = start_recv(&c, 1);
    let route = c.open_route();
    let out = c.nodes[0].cli(&[
        "send",
        "--route",
        &route.to_string(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", c.logs());
    let recv = recv.wait_with_output().unwrap();
    assert!(recv.status.success());
    // Paid for everything once nothing is in flight.
    wait_until("relays paid in full", Duration::from_secs(20), || {
        [1, 2].iter().all(|&i| {
            let p = &c.nodes[i].status()["pay"];
            p["wallet"]["receipts"] == 1
                && p["wallet"]["list"][0]["bytes"] == p["stats"]["bytes_charged"]
        })
    });
    let a = c.nodes[0].status();
    assert_eq!(a["pay"]["stats"]["prices_heard"], 2, "{}", a["pay"]);
    assert_eq!(a["pay"]["accounts_opened"], 2);
    for i in [1, 2] {
        let p = c.nodes[i].status()["pay"].clone();
        assert_eq!(p["relay"]["price_per_mb"], 20000, "{p}");
        assert_eq!(p["stats"]["prices_sent"], 1);
        let bytes = p["wallet"]["list"][0]["bytes"].as_u64().unwrap();
        let owed = p["wallet"]["owed"].as_u64().unwrap();
        assert!(bytes > 3 << 20, "{p}");
        assert_eq!(owed, bytes * 20_000 / 1_000_000, "{p}");
        assert!(p["stats"]["pauses"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["escrow"], serde_json::Value::Null);
    }
}
