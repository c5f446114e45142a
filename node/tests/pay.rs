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
        r#", "pay": {"price_per_mb": 20000, "credit": 20000, "escrow": true}"#,
    );
    let file = c.dir.path().join("payload.bin");
    std::fs::write(&file, &data).unwrap();
    let (recv, _inbox) = start_recv(&c, 1);
    let route = c.open_route();
    send_ok(&c, route, &file);
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
    }

    // The escrow (D plays the role): A funds its two pseudonyms' accounts
    // over its route to D; B and C each open a route to D and redeem.
    let ok = |i: usize, args: &[&str]| -> String {
        let out = c.nodes[i].cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            c.logs()
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let sent = ok(
        0,
        &[
            "pay",
            "fund",
            "--route",
            &route.to_string(),
            "--deposit",
            "10000000",
        ],
    );
    assert_eq!(sent, "4", "an OPEN and a DEPOSIT per account");
    let addr = |i: usize| c.keys[i].address.clone();
    let to_d = [
        ok(
            1,
            &[
                "route",
                "open",
                "--path",
                &format!("{},{}", addr(2), addr(3)),
            ],
        ),
        ok(2, &["route", "open", "--path", &addr(3)]),
    ];
    // B presents A's receipt. C presents A's and, since B's route to D
    // crosses C and pays it, B's too: B never funded that account, so the
    // escrow refuses it.
    assert_eq!(ok(1, &["pay", "redeem", "--route", &to_d[0]]), "1");
    wait_until("B's route paid C", Duration::from_secs(10), || {
        c.nodes[2].status()["pay"]["wallet"]["receipts"] == 2
    });
    assert_eq!(ok(2, &["pay", "redeem", "--route", &to_d[1]]), "2");
    wait_until("both redeemed", Duration::from_secs(20), || {
        c.nodes[3].status()["pay"]["escrow"]["redeemed"] == 2
    });
    let d = c.nodes[3].status()["pay"]["escrow"].clone();
    assert_eq!(d["conservation_error"], "0", "{d}");
    assert_eq!(d["deposited"], "20000000", "{d}");
    assert_eq!(d["refused"]["unknown_account"], 1, "{d}");
    let owed = c.nodes[1].status()["pay"]["wallet"]["owed"].clone();
    for i in [1, 2] {
        wait_until("the answers", Duration::from_secs(10), || {
            let a = c.nodes[i].status()["pay"]["escrow_client"]["answers"].clone();
            a.as_array().is_some_and(|a| a.len() == i)
        });
        let answers = c.nodes[i].status()["pay"]["escrow_client"]["answers"].clone();
        let paid = answers
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["ok"] == true)
            .unwrap_or_else(|| panic!("{answers}"))
            .clone();
        assert_eq!(paid["request"], "redeem");
        assert_eq!(paid["value"], owed, "paid what the receipt owes (no fee)");
    }
    // Presenting again sends nothing new; a withdrawal below 1 coin is
    // refused.
    assert_eq!(ok(1, &["pay", "redeem", "--route", &to_d[0]]), "0");
    let to = "ab".repeat(32);
    assert_eq!(
        ok(1, &["pay", "withdraw", "--route", &to_d[0], "--to", &to]),
        "1"
    );
    wait_until("the withdrawal's answer", Duration::from_secs(10), || {
        c.nodes[1].status()["pay"]["escrow_client"]["answers"][1]["value"] == "BelowThreshold"
    });

    // A's pseudonyms' keys are on disk beside its key file (mode 0600);
    // it takes back what its two accounts have left, and they close.
    use std::os::unix::fs::PermissionsExt as _;
    let file = c.keys[0].file.with_extension("pseudonyms");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
    let to = "cd".repeat(32);
    assert_eq!(
        ok(
            0,
            &["pay", "refund", "--route", &route.to_string(), "--to", &to]
        ),
        "2"
    );
    wait_until("the refunds", Duration::from_secs(10), || {
        let a = c.nodes[0].status()["pay"]["escrow_client"]["answers"].clone();
        a.as_array()
            .unwrap()
            .iter()
            .filter(|x| x["request"] == "refund")
            .count()
            == 2
    });
    let owed_b = owed.as_u64().unwrap();
    let refunds: Vec<u64> = c.nodes[0].status()["pay"]["escrow_client"]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["request"] == "refund")
        .map(|x| x["value"].as_u64().unwrap())
        .collect();
    // Each account paid one relay what A's route owed it when redeemed
    // (about 63,000 droplets: 3 MiB at 20,000 per MB); the rest came back.
    assert!(refunds.contains(&(10_000_000 - owed_b)), "{refunds:?}");
    for r in &refunds {
        assert!(
            (10_000_000 - 63_100..=10_000_000 - 63_000).contains(r),
            "{refunds:?}"
        );
    }
    let d = c.nodes[3].status()["pay"]["escrow"].clone();
    assert_eq!(d["conservation_error"], "0", "{d}");
    let refunded: u64 = refunds.iter().sum();
    assert_eq!(d["withdrawn"], refunded.to_string(), "{d}");
}
