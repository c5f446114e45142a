use super::*;
use crate::files::tests::temp;
use crate::transfer::Outgoing;

fn header(name: &str, size: u64) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&size.to_be_bytes());
    h.extend_from_slice(&(name.len() as u16).to_be_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

fn quota() -> IncomingQuota {
    IncomingQuota::new(IncomingLimits::default())
}

#[test]
fn a_file_round_trips_through_messages() {
    let dir = temp("transfer-roundtrip");
    let src = dir.join("data.bin");
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let mut out = Outgoing::file(&src, 4096).unwrap();
    let inbox = dir.join("inbox");
    let mut q = quota();
    let mut inc = Incoming::new(5);
    let mut done = None;
    while let Some(m) = out.take().unwrap() {
        assert!(done.is_none());
        done = inc.on_message(&m, Some(&inbox), &mut q).unwrap();
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
    let (mut a, mut b) = (Incoming::new(1), Incoming::new(2));
    // Both start before either completes.
    assert!(
        a.on_message(&header("same.bin", 3), Some(&dir), &mut q)
            .unwrap()
            .is_none()
    );
    assert!(
        b.on_message(&header("same.bin", 3), Some(&dir), &mut q)
            .unwrap()
            .is_none()
    );
    let da = a.on_message(b"AAA", Some(&dir), &mut q).unwrap().unwrap();
    let db = b.on_message(b"BBB", Some(&dir), &mut q).unwrap().unwrap();
    assert_eq!((da.path.clone(), da.renamed), (dir.join("same.bin"), false));
    assert_eq!(
        (db.path.clone(), db.renamed),
        (dir.join("same.bin.1"), true)
    );
    assert_eq!(std::fs::read(&da.path).unwrap(), b"AAA");
    assert_eq!(std::fs::read(&db.path).unwrap(), b"BBB");
    // A file the operator had there is never replaced.
    std::fs::write(dir.join("mine.txt"), b"operator's").unwrap();
    let mut c = Incoming::new(3);
    c.on_message(&header("mine.txt", 1), Some(&dir), &mut q)
        .unwrap();
    let dc = c.on_message(b"x", Some(&dir), &mut q).unwrap().unwrap();
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
    // The part names the receiver uses (this version's and the one before).
    for planted in [".meshnode-part-7-0", ".x.bin.part-7"] {
        std::os::unix::fs::symlink(&victim, inbox.join(planted)).unwrap();
    }
    let mut q = quota();
    let mut inc = Incoming::new(7);
    inc.on_message(&header("x.bin", 4), Some(&inbox), &mut q)
        .unwrap();
    let done = inc
        .on_message(b"evil", Some(&inbox), &mut q)
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(done.path).unwrap(), b"evil");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn caps_on_transfers_and_bytes_in_progress() {
    let dir = temp("transfer-caps");
    let mut q = IncomingQuota::new(IncomingLimits {
        max_files: 2,
        max_bytes: 100,
    });
    let mut a = Incoming::new(1);
    a.on_message(&header("a", 60), Some(&dir), &mut q).unwrap();
    // Past the bytes: 60 held, 50 more do not fit.
    let e = Incoming::new(2)
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
    let mut c = Incoming::new(3);
    c.on_message(&header("c", 40), None, &mut q).unwrap();
    // Past the files.
    let e = Incoming::new(4)
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
        Incoming::new(5).on_message(&header("e", 101), None, &mut q),
        Err(IncomingError::TooManyBytes { .. })
    ));
    assert_eq!((q.files, q.bytes), (0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_headers_and_raw_streams() {
    let mut q = quota();
    for name in ["..", "a\nb", "\u{1b}]0;owned\u{7}", "x/y", ""] {
        let e = Incoming::new(1)
            .on_message(&header(name, 5), None, &mut q)
            .unwrap_err();
        assert!(matches!(e, IncomingError::BadHeader(_)), "{name:?}: {e}");
    }
    assert!(
        Incoming::new(1)
            .on_message(&MAGIC[..], None, &mut q)
            .is_err()
    );
    assert_eq!((q.files, q.bytes), (0, 0));
    let mut g = Outgoing::generated(10, 4);
    let mut inc = Incoming::new(2);
    while let Some(m) = g.take().unwrap() {
        assert!(inc.on_message(&m, None, &mut q).unwrap().is_none());
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
