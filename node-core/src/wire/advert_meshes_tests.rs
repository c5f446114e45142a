//! Version 2 adverts: meshes and summarized meshes (re6st's n-order
//! meshes), their bounds and their one encoding.

use super::tests::sample;
use super::*;

fn enc(a: &Advert) -> Vec<u8> {
    let mut b = Vec::new();
    a.encode(&mut b);
    b
}

fn scoped() -> Advert {
    let mut a = sample();
    a.meshes = vec![2, 7];
    a.summaries = vec![
        MeshSummary {
            mesh: 3,
            via: vec![7],
        },
        MeshSummary {
            mesh: 9,
            via: vec![2, 4, 5],
        },
    ];
    a
}

#[test]
fn a_scoped_advert_round_trips_as_version_2() {
    let a = scoped();
    let b = enc(&a);
    assert_eq!(b[0], ADVERT_VERSION_MESHES);
    assert_eq!(Advert::decode(&b).unwrap(), a);
    // One mesh other than the default, no summaries: still version 2.
    let mut one = sample();
    one.meshes = vec![5];
    assert_eq!(enc(&one)[0], ADVERT_VERSION_MESHES);
    assert_eq!(Advert::decode(&enc(&one)).unwrap(), one);
    // The default mesh alone is version 1, byte for byte as before.
    assert_eq!(enc(&sample())[0], ADVERT_VERSION);
}

#[test]
fn a_version_2_advert_in_version_1_form_is_refused() {
    let v1 = enc(&sample());
    let sig_at = v1.len() - SIG_LEN - 4;
    let mut v2 = v1[..sig_at].to_vec();
    v2[0] = ADVERT_VERSION_MESHES;
    v2.extend_from_slice(&[1, 0, 0, 0]); // meshes [0], no summaries
    v2.extend_from_slice(&v1[sig_at..]);
    assert_eq!(
        Advert::decode(&v2),
        Err(Error::Invalid("version 2 advert in version 1's form"))
    );
}

#[test]
fn bad_meshes_and_summaries_are_refused() {
    let bad: [fn(&mut Advert); 10] = [
        |a| a.meshes = vec![],
        |a| a.meshes = vec![1, 2, 3, 4, 5],
        |a| a.meshes = vec![7, 2],
        |a| a.meshes = vec![2, 2],
        |a| a.summaries[0].mesh = 2,
        |a| a.summaries.swap(0, 1),
        |a| a.summaries[1].via = vec![2, 4, 5, 6],
        |a| a.summaries[0].via = vec![4],
        |a| a.summaries[1].via = vec![2, 9],
        |a| a.part = 1,
    ];
    for (i, f) in bad.iter().enumerate() {
        let mut a = scoped();
        f(&mut a);
        assert!(a.check().is_err(), "case {i}");
        assert!(Advert::decode(&enc(&a)).is_err(), "case {i}");
    }
    // An empty via, and counts past their bounds, before any allocation.
    let mut a = scoped();
    a.summaries[0].via = vec![];
    assert!(Advert::decode(&enc(&a)).is_err());
    let good = enc(&scoped());
    let at = good.len() - SIG_LEN - 4 - (2 + 1 + 2) - (2 + 1 + 6) - 1;
    assert_eq!(good[at], 2, "the summaries' count");
    let mut b = good.clone();
    b[at] = 200;
    assert!(Advert::decode(&b).is_err());
    let mut b = good.clone();
    b[at - 5] = 9; // the meshes' count
    assert!(Advert::decode(&b).is_err());
    // Every truncation.
    for n in 0..good.len() {
        assert!(Advert::decode(&good[..n]).is_err(), "truncated at {n}");
    }
}
