//! Unit tests of the route frames: exact layouts and validation.

use super::super::{Frame, frames};
use super::*;

fn parse_all(bytes: &[u8]) -> Vec<Result<Frame<'_>>> {
    frames(bytes).collect()
}

const R: RouteId = RouteId([0x11; 16]);

fn samples(data: &[u8]) -> Vec<Frame<'_>> {
    vec![
        Frame::RouteData(RouteDataFrame {
            route: R,
            unreliable: true,
            fin: true,
            offset: 1 << 20,
            data,
        }),
        Frame::RouteCredit(RouteCreditFrame {
            route: R,
            limit: 1 << 40,
        }),
        Frame::RouteCtrl(RouteCtrlFrame {
            route: R,
            nonce: u64::MAX,
            payload: data,
        }),
        Frame::RouteCreate(RouteCreateFrame {
            reply_route: R,
            eph_pub: [2; 33],
        }),
        Frame::RouteCreated(RouteCreatedFrame {
            reply_route: R,
            route: RouteId([0x22; 16]),
            eph_pub: [2; 33],
            static_pub: [3; 33],
            auth: [4; 16],
        }),
        Frame::RouteTeardown(RouteTeardownFrame {
            route: R,
            reason: 9,
        }),
        Frame::RouteAck(RouteAckFrame {
            route: R,
            payload: data,
        }),
    ]
}

#[test]
fn exact_layouts() {
    let data = [0xee; 3];
    let mut expected = Vec::new();
    // ROUTE_DATA: flags 0x03, offset 2^20 as a 4-byte varint, len 3.
    let mut b = vec![FRAME_ROUTE_DATA];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[0x03, 0x80, 0x10, 0x00, 0x00, 3, 0xee, 0xee, 0xee]);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_CREDIT];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[0xc0, 0, 0x01, 0, 0, 0, 0, 0]);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_CTRL];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[0xff; 8]);
    b.extend_from_slice(&[3, 0xee, 0xee, 0xee]);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_CREATE];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[2; 33]);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_CREATED];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[0x22; 16]);
    b.extend_from_slice(&[2; 33]);
    b.extend_from_slice(&[3; 33]);
    b.extend_from_slice(&[4; 16]);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_TEARDOWN];
    b.extend_from_slice(&R.0);
    b.push(9);
    expected.push(b);
    let mut b = vec![FRAME_ROUTE_ACK];
    b.extend_from_slice(&R.0);
    b.extend_from_slice(&[3, 0xee, 0xee, 0xee]);
    expected.push(b);

    for (frame, bytes) in samples(&data).into_iter().zip(expected) {
        let mut buf = Vec::new();
        frame.emit(&mut buf);
        assert_eq!(buf, bytes, "{frame:?}");
        assert_eq!(frame.encoded_len(), bytes.len(), "{frame:?}");
        let best_effort = matches!(&frame, Frame::RouteData(d) if d.unreliable);
        assert_eq!(frame.is_ack_eliciting(), !best_effort, "{frame:?}");
        assert_eq!(parse_all(&buf), vec![Ok(frame)]);
    }
    assert_eq!(RouteCreateFrame::LEN, 50);
    assert_eq!(RouteCreatedFrame::LEN, 115);
    assert_eq!(RouteTeardownFrame::LEN, 18);
}

#[test]
fn truncation_at_every_prefix() {
    let data = [7u8; 10];
    for frame in samples(&data) {
        let mut buf = Vec::new();
        frame.emit(&mut buf);
        for cut in 1..buf.len() {
            assert_eq!(
                parse_all(&buf[..cut]),
                vec![Err(Error::Truncated)],
                "{frame:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn data_flags_and_bounds_are_validated() {
    let frame = |flags: u8, offset: u64, len: u64| {
        let mut b = vec![FRAME_ROUTE_DATA];
        b.extend_from_slice(&R.0);
        b.push(flags);
        put_varint(&mut b, offset);
        put_varint(&mut b, len);
        b
    };
    for flags in 0..4 {
        let bytes = frame(flags, 5, 0);
        let parsed = parse_all(&bytes);
        let Some(Ok(Frame::RouteData(d))) = parsed.first() else {
            panic!("flags {flags}: {parsed:?}");
        };
        assert_eq!((d.unreliable, d.fin), (flags & 1 != 0, flags & 2 != 0));
    }
    for flags in [4, 0x80, 0xff] {
        assert_eq!(
            parse_all(&frame(flags, 0, 0)),
            vec![Err(Error::Invalid("unknown route data flags"))]
        );
    }
    const BEYOND: Error = Error::Invalid("route data beyond maximum offset");
    assert_eq!(parse_all(&frame(0, VARINT_MAX, 1)), vec![Err(BEYOND)]);
    assert_eq!(parse_all(&frame(0, 1, VARINT_MAX)), vec![Err(BEYOND)]);
    assert!(parse_all(&frame(0, VARINT_MAX, 0))[0].is_ok());
    // A huge length with no bytes behind it is truncation, not an allocation.
    assert_eq!(
        parse_all(&frame(0, 0, VARINT_MAX)),
        vec![Err(Error::Truncated)]
    );
    for ty in [FRAME_ROUTE_CTRL, FRAME_ROUTE_ACK] {
        let mut b = vec![ty];
        b.extend_from_slice(&R.0);
        if ty == FRAME_ROUTE_CTRL {
            b.extend_from_slice(&[0; 8]);
        }
        put_varint(&mut b, VARINT_MAX);
        b.push(1);
        assert_eq!(parse_all(&b), vec![Err(Error::Truncated)]);
    }
}

#[test]
fn max_chunk_len_is_tight() {
    for offset in [0, 63, 64, 1 << 40, VARINT_MAX - 100, VARINT_MAX] {
        let fits = |n: usize| RouteDataFrame::overhead(offset, n) + n;
        let room = usize::try_from(VARINT_MAX - offset).unwrap_or(usize::MAX);
        for space in (0..200).chain(16_390..16_420).chain([1 << 30, 1 << 31]) {
            let n = RouteDataFrame::max_chunk_len(offset, space);
            if fits(0) > space {
                assert_eq!(n, 0);
                continue;
            }
            assert!(fits(n) <= space, "offset {offset} space {space}");
            assert!(n <= room);
            assert!(
                n == room || fits(n + 1) > space,
                "offset {offset} space {space}"
            );
        }
    }
}

#[test]
fn route_id_displays_as_hex() {
    let mut id = [0u8; 16];
    id[0] = 0xab;
    id[15] = 0x01;
    assert_eq!(RouteId(id).to_string(), "ab000000000000000000000000000001");
}
