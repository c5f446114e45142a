use super::*;
use crate::files::tests::temp;
use crate::transfer::part::candidate;
use crate::transfer::{Outgoing, encode_header, parse_resume};
use node_core::RouteHandle;

fn id(n: u8) -> TransferId {
    TransferId([n; 16])
}

/// A header with an id made from the name's first byte.
fn header(name: &str, size: u64) -> Vec<u8> {
    encode_header(id(name.bytes().next().unwrap_or(0)), size, name)
}

fn quota() -> Inbox {
    Inbox::new(IncomingLimits::default())
}

/// Feeds `m`; the completed transfer, if any.
fn feed(inc: &mut Incoming, m: &[u8], dir: Option<&Path>, q: &mut Inbox) -> Option<Completed> {
    inc.on_message(m, dir, q).unwrap().completed
}

#[test]
fn a_file_round_trips_through_messages() {
    let dir = temp("transfer-roundtrip");
    let src = dir.join("data.bin");
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let mut out = Outgoing::file(&src, 4096, id(9)).unwrap();
    let inbox = dir.join("inbox");
    let mut q = quota();
    let mut inc = Incoming::new(RouteHandle(5));
    let mut done = None;
    while let Some(m) = out.take().unwrap() {
        assert!(done.is_none());
        let o = inc.on_message(&m, Some(&inbox), &mut q).unwrap();
        if let Some(r) = o.reply {
            assert_eq!(parse_resume(&r), Some((id(9), 0)));
            assert_eq!(out.resume_at(0).unwrap(), 0);
        }
        done = o.completed;
    }
    let done = done.expect("complete");
    assert_eq!(done.bytes, 100_000);
    assert_eq!(done.path, inbox.join("data.bin"));
    assert!(!done.renamed);
    assert_eq!(std::fs::read(&done.path).unwrap(), content);
    assert_eq!(done.sha256, crate::hex::encode(&Sha256::digest(&content)));
    assert!(matches!(
        inc.on_message(b"x", Some(&inbox), &mut q),
        Err(IncomingError::TooLong(_))
    ));
    assert_eq!((q.files, q.bytes), (0, 0), "the quota is given back");
    // Only the file: no part file is left.
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_transfers_of_one_name_both_arrive_and_the_second_says_so() {
    let dir = temp("transfer-clash");
    let mut q = quota();
    let (mut a, mut b) = (Incoming::new(RouteHandle(1)), Incoming::new(RouteHandle(2)));
    // Both start before either completes.
    let two = |n| encode_header(id(n), 3, "same.bin");
    assert!(feed(&mut a, &two(1), Some(&dir), &mut q).is_none());
    assert!(feed(&mut b, &two(2), Some(&dir), &mut q).is_none());
    let da = feed(&mut a, b"AAA", Some(&dir), &mut q).unwrap();
    let db = feed(&mut b, b"BBB", Some(&dir), &mut q).unwrap();
    assert_eq!((da.path.clone(), da.renamed), (dir.join("same.bin"), false));
    assert_eq!(
        (db.path.clone(), db.renamed),
        (dir.join("same.bin.1"), true)
    );
    assert_eq!(std::fs::read(&da.path).unwrap(), b"AAA");
    assert_eq!(std::fs::read(&db.path).unwrap(), b"BBB");
    // A file the operator had there is never replaced.
    std::fs::write(dir.join("mine.txt"), b"operator's").unwrap();
    let mut c = Incoming::new(RouteHandle(3));
    feed(&mut c, &header("mine.txt", 1), Some(&dir), &mut q);
    let dc = feed(&mut c, b"x", Some(&dir), &mut q).unwrap();
    assert_eq!(dc.path, dir.join("mine.txt.1"));
    assert_eq!(std::fs::read(dir.join("mine.txt")).unwrap(), b"operator's");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn links_planted_at_part_names_are_never_followed() {
    let dir = temp("transfer-symlink");
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // At the part name of the transfer's id: refused, never followed.
    let part = format!("{}{}", super::super::part::PREFIX, id(b'x'));
    std::os::unix::fs::symlink(&victim, inbox.join(&part)).unwrap();
    let mut q = quota();
    let e = Incoming::new(RouteHandle(7))
        .on_message(&header("x.bin", 4), Some(&inbox), &mut q)
        .unwrap_err();
    assert!(matches!(e, IncomingError::Io { .. }), "{e}");
    assert_eq!((q.files, q.bytes), (0, 0));
    // A hard link to another file is refused as well.
    std::fs::remove_file(inbox.join(&part)).unwrap();
    std::fs::hard_link(&victim, inbox.join(&part)).unwrap();
    let e = Incoming::new(RouteHandle(7))
        .on_message(&header("x.bin", 4), Some(&inbox), &mut q)
        .unwrap_err();
    assert!(e.to_string().contains("hard links"), "{e}");
    std::fs::remove_file(inbox.join(&part)).unwrap();
    // Old-style part names planted: nothing follows them.
    for planted in [".meshnode-part-7-0", ".x.bin.part-7"] {
        std::os::unix::fs::symlink(&victim, inbox.join(planted)).unwrap();
    }
    let mut inc = Incoming::new(RouteHandle(7));
    feed(&mut inc, &header("x.bin", 4), Some(&inbox), &mut q);
    let done = feed(&mut inc, b"evil", Some(&inbox), &mut q).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(done.path).unwrap(), b"evil");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn caps_on_transfers_and_bytes_in_progress() {
    let dir = temp("transfer-caps");
    let mut q = Inbox::new(IncomingLimits {
        max_files: 2,
        max_bytes: 100,
        ..IncomingLimits::default()
    });
    let mut a = Incoming::new(RouteHandle(1));
    a.on_message(&header("a", 60), Some(&dir), &mut q).unwrap();
    // Past the bytes: 60 held, 50 more do not fit.
    let e = Incoming::new(RouteHandle(2))
        .on_message(&header("b", 50), Some(&dir), &mut q)
        .unwrap_err();
    assert!(
        matches!(
            e,
            IncomingError::TooManyBytes {
                size: 50,
                free: 40,
                max: 100
            }
        ),
        "{e}"
    );
    let mut c = Incoming::new(RouteHandle(3));
    c.on_message(&header("c", 40), None, &mut q).unwrap();
    // Past the files.
    let e = Incoming::new(RouteHandle(4))
        .on_message(&header("d", 0), Some(&dir), &mut q)
        .unwrap_err();
    assert!(matches!(e, IncomingError::TooManyTransfers(2)), "{e}");
    assert_eq!((q.files, q.bytes), (2, 100));
    // Abandoned: its part file removed and its share given back.
    a.on_message(&[1; 10], Some(&dir), &mut q).unwrap();
    a.abandon(&mut q);
    c.abandon(&mut q);
    assert_eq!((q.files, q.bytes), (0, 0));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // A single file larger than the cap never fits.
    assert!(matches!(
        Incoming::new(RouteHandle(5)).on_message(&header("e", 101), None, &mut q),
        Err(IncomingError::TooManyBytes { .. })
    ));
    assert_eq!((q.files, q.bytes), (0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_headers_and_raw_streams() {
    let mut q = quota();
    for name in ["..", "a\nb", "\u{1b}]0;owned\u{7}", "x/y", ""] {
        let e = Incoming::new(RouteHandle(1))
            .on_message(&header(name, 5), None, &mut q)
            .unwrap_err();
        assert!(matches!(e, IncomingError::BadHeader(_)), "{name:?}: {e}");
    }
    assert!(
        Incoming::new(RouteHandle(1))
            .on_message(&MAGIC[..], None, &mut q)
            .is_err()
    );
    assert_eq!((q.files, q.bytes), (0, 0));
    let mut g = Outgoing::generated(10, 4);
    let mut inc = Incoming::new(RouteHandle(2));
    while let Some(m) = g.take().unwrap() {
        let o = inc.on_message(&m, None, &mut q).unwrap();
        assert!(o.reply.is_none() && o.completed.is_none());
    }
    assert!(inc.is_raw());
    assert_eq!(inc.bytes, 10);
}

#[test]
fn other_names_stay_within_255_bytes() {
    assert_eq!(candidate("a.bin", 0), "a.bin");
    assert_eq!(candidate("a.bin", 12), "a.bin.12");
    let long = "é".repeat(127) + "x"; // 255 bytes
    let c = candidate(&long, 3);
    assert!(c.len() <= 255 && c.ends_with(".3"), "{}", c.len());
}

/// Sends `out` into `inc` until `limit` payload bytes went or it completes;
/// answers the header as the driver does.
fn pump(
    out: &mut Outgoing,
    inc: &mut Incoming,
    dir: &Path,
    q: &mut Inbox,
    limit: u64,
) -> Option<Completed> {
    let start = out.sent;
    while out.sent - start < limit {
        let m = out.take().unwrap()?;
        let o = inc.on_message(&m, Some(dir), q).unwrap();
        if let Some(r) = o.reply {
            let (rid, offset) = parse_resume(&r).unwrap();
            assert_eq!(Some(rid), out.id());
            out.resume_at(offset).unwrap();
        }
        if o.completed.is_some() {
            return o.completed;
        }
    }
    None
}

fn source(dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let src = dir.join("big.bin");
    let content: Vec<u8> = (0..len as u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    (src, content)
}

#[test]
fn a_transfer_resumes_on_a_new_route_from_the_bytes_held() {
    let dir = temp("transfer-resume");
    let (src, content) = source(&dir, 50_000);
    let inbox = dir.join("inbox");
    let mut q = quota();
    let mut out = Outgoing::file(&src, 1000, id(3)).unwrap();
    let mut first = Incoming::new(RouteHandle(1));
    assert!(pump(&mut out, &mut first, &inbox, &mut q, 20_000).is_none());
    // Messages handed to the first route that never arrived: lost with it.
    for _ in 0..5 {
        out.take().unwrap().unwrap();
    }
    assert_eq!(out.high_water(), 25_000);
    first.route_closed(&mut q, Instant::now());
    assert_eq!((q.files, q.held()), (1, 1), "held for a new route");
    // The sender's next route: the header again, the rest from 20,000.
    assert!(out.restart());
    let mut second = Incoming::new(RouteHandle(2));
    let done = pump(&mut out, &mut second, &inbox, &mut q, u64::MAX).expect("complete");
    assert_eq!(out.resent, 5_000, "exactly what was in flight");
    assert_eq!(out.sent, 55_000);
    assert_eq!(std::fs::read(&done.path).unwrap(), content);
    assert_eq!(done.sha256, crate::hex::encode(&Sha256::digest(&content)));
    assert_eq!(
        (done.route, done.transfer.clone()),
        (Some(2), id(3).to_string())
    );
    assert_eq!(q.stats.resumed, 1);
    assert_eq!((q.files, q.bytes), (0, 0));
    // Asked again (the sender missed the last confirmation): "all of it",
    // and no second copy.
    assert!(out.restart());
    let mut third = Incoming::new(RouteHandle(3));
    let o = third
        .on_message(&out.take().unwrap().unwrap(), Some(&inbox), &mut q)
        .unwrap();
    assert_eq!(parse_resume(&o.reply.unwrap()), Some((id(3), 50_000)));
    assert!(o.completed.is_none());
    assert_eq!(q.stats.already_complete, 1);
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_route_takes_a_transfer_over_from_one_not_yet_known_broken() {
    let dir = temp("transfer-moved");
    let (src, content) = source(&dir, 10_000);
    let inbox = dir.join("inbox");
    let mut q = quota();
    let mut out = Outgoing::file(&src, 1000, id(4)).unwrap();
    let mut old = Incoming::new(RouteHandle(1));
    pump(&mut out, &mut old, &inbox, &mut q, 3_000);
    out.restart();
    let mut new = Incoming::new(RouteHandle(2));
    pump(&mut out, &mut new, &inbox, &mut q, 2_000);
    assert_eq!(q.stats.moved, 1);
    // Late data on the old route is refused; giving it up leaves the
    // transfer to the new route.
    let e = old.on_message(b"late", Some(&inbox), &mut q).unwrap_err();
    assert!(matches!(e, IncomingError::Moved(_)), "{e}");
    old.abandon(&mut q);
    old.route_closed(&mut q, Instant::now());
    let done = pump(&mut out, &mut new, &inbox, &mut q, u64::MAX).unwrap();
    assert_eq!(std::fs::read(done.path).unwrap(), content);
    assert_eq!(out.resent, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_restarted_destination_carries_on_from_its_part_file() {
    let dir = temp("transfer-restart");
    let (src, content) = source(&dir, 30_000);
    let inbox = dir.join("inbox");
    let mut out = Outgoing::file(&src, 1000, id(5)).unwrap();
    {
        let mut q = quota();
        let mut inc = Incoming::new(RouteHandle(1));
        pump(&mut out, &mut inc, &inbox, &mut q, 12_000);
        // The node stops: the part file stays.
    }
    let mut q = quota();
    out.restart();
    let mut inc = Incoming::new(RouteHandle(1));
    let done = pump(&mut out, &mut inc, &inbox, &mut q, u64::MAX).unwrap();
    assert_eq!(std::fs::read(&done.path).unwrap(), content);
    // The digest covers the bytes written before the restart.
    assert_eq!(done.sha256, crate::hex::encode(&Sha256::digest(&content)));
    assert_eq!((out.resent, q.stats.resumed), (0, 1));
    // Another size under the same id is refused, and holds nothing.
    let part = format!("{}{}", super::super::part::PREFIX, id(6));
    std::fs::write(inbox.join(&part), [0u8; 100]).unwrap();
    let e = Incoming::new(RouteHandle(2))
        .on_message(&encode_header(id(6), 50, "x"), Some(&inbox), &mut q)
        .unwrap_err();
    assert!(matches!(e, IncomingError::Mismatch(_)), "{e}");
    assert_eq!((q.files, q.bytes), (0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn held_transfers_expire_and_stale_part_files_are_swept() {
    let dir = temp("transfer-expire");
    let mut q = Inbox::new(IncomingLimits {
        resume_window: std::time::Duration::from_secs(60),
        ..IncomingLimits::default()
    });
    let mut inc = Incoming::new(RouteHandle(1));
    feed(&mut inc, &encode_header(id(7), 10, "e"), Some(&dir), &mut q);
    feed(&mut inc, b"12345", Some(&dir), &mut q);
    let t = Instant::now();
    inc.route_closed(&mut q, t);
    assert_eq!(
        q.next_expiry(),
        Some(t + std::time::Duration::from_secs(60))
    );
    assert_eq!(q.expire(t + std::time::Duration::from_secs(59)), 0);
    assert_eq!(q.expire(t + std::time::Duration::from_secs(60)), 1);
    assert_eq!((q.files, q.bytes, q.stats.expired), (0, 0, 1));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // Left by an earlier run: swept once old enough; other files stay.
    let part = dir.join(format!("{}{}", super::super::part::PREFIX, id(8)));
    std::fs::write(&part, b"old").unwrap();
    std::fs::write(dir.join("keep.bin"), b"x").unwrap();
    assert_eq!(
        crate::transfer::sweep_parts(&dir, std::time::Duration::from_secs(3600)),
        0
    );
    assert_eq!(
        crate::transfer::sweep_parts(&dir, std::time::Duration::ZERO),
        1
    );
    assert!(!part.exists() && dir.join("keep.bin").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sender_refuses_offsets_it_did_not_ask_for_or_past_the_file() {
    let dir = temp("transfer-offsets");
    let (src, _) = source(&dir, 100);
    let mut out = Outgoing::file(&src, 10, id(1)).unwrap();
    assert!(out.resume_at(0).is_err(), "no header sent yet");
    out.take().unwrap().unwrap();
    assert_eq!(out.next_len(), None, "nothing until the answer");
    assert!(!out.all_queued());
    assert!(out.resume_at(101).is_err());
    out.resume_at(100).unwrap();
    assert!(out.all_queued());
    assert!(out.resume_at(0).is_err(), "asked once");
    assert!(!Outgoing::generated(5, 1).restart());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flood_of_transfers_left_broken_holds_the_caps_only_until_they_expire() {
    let window = std::time::Duration::from_secs(60);
    let mut q = Inbox::new(IncomingLimits {
        max_files: 4,
        max_bytes: 1 << 20,
        resume_window: window,
    });
    let t = Instant::now();
    // Four routes start transfers and break at once.
    for n in 0..4u8 {
        let mut inc = Incoming::new(RouteHandle(u64::from(n)));
        feed(&mut inc, &encode_header(id(n), 1000, "f"), None, &mut q);
        inc.route_closed(&mut q, t);
    }
    assert_eq!((q.files, q.held()), (4, 4));
    // A fifth is refused (and counted by the driver) while they are held.
    let e = Incoming::new(RouteHandle(9))
        .on_message(&encode_header(id(9), 1, "g"), None, &mut q)
        .unwrap_err();
    assert!(matches!(e, IncomingError::TooManyTransfers(4)), "{e}");
    // An oversized or truncated header is refused before anything is held.
    let long = encode_header(id(10), 1, &"n".repeat(256));
    assert!(matches!(
        Incoming::new(RouteHandle(10)).on_message(&long, None, &mut q),
        Err(IncomingError::BadHeader(_))
    ));
    let cut = &encode_header(id(11), 1, "x")[..25];
    assert!(matches!(
        Incoming::new(RouteHandle(11)).on_message(cut, None, &mut q),
        Err(IncomingError::BadHeader(_))
    ));
    // A replayed header of a held transfer with another size: refused, and
    // the held transfer is untouched.
    let e = Incoming::new(RouteHandle(12))
        .on_message(&encode_header(id(0), 999, "f"), None, &mut q)
        .unwrap_err();
    assert!(matches!(e, IncomingError::Mismatch(_)), "{e}");
    assert_eq!(q.expire(t + window), 4);
    assert_eq!((q.files, q.bytes), (0, 0));
    assert!(
        Incoming::new(RouteHandle(9))
            .on_message(&encode_header(id(9), 1, "g"), None, &mut q)
            .is_ok()
    );
}
