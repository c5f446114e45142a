//! Unit tests of the route frames: exact layouts and validation.

use super::super::{Frame, frames};
use super::*;

/// Decodes `bytes` as one upper frame of the route layer.
fn parse_route(bytes: &[u8]) -> Result<RouteFrame<'_>> {
    let mut it = frames(bytes);
    let f = match it.next() {
        Some(Ok(Frame::Upper(u))) => RouteFrame::parse(u),
        Some(Ok(other)) => panic!("not an upper frame: {other:?}"),
        Some(Err(e)) => Err(e),
        None => Err(Error::Truncated),
    };
    assert!(it.next().is_none(), "one frame expected");
    f
}

/// An envelope around `body`.
fn envelope(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty];
    put_varint(&mut b, body.len() as u64);
    b.extend_from_slice(body);
    b
}

const R: RouteId = RouteId([0x11; 16]);

fn samples(data: &[u8]) -> Vec<RouteFrame<'_>> {
    vec![
        RouteFrame::Data(RouteDataFrame {
            route: R,
            unreliable: true,
            fin: true,
            offset: 1 << 20,
            data,
        }),
        RouteFrame::Credit(RouteCreditFrame {
            route: R,
            limit: 1 << 40,
        }),
        RouteFrame::Ctrl(RouteCtrlFrame {
            route: R,
            nonce: u64::MAX,
            payload: data,
        }),
        RouteFrame::Pay(RouteCtrlFrame {
            route: R,
            nonce: 7,
            payload: data,
        }),
        RouteFrame::Create(RouteCreateFrame {
            reply_route: R,
            eph_pub: [2; 33],
        }),
        RouteFrame::Created(RouteCreatedFrame {
            reply_route: R,
            route: RouteId([0x22; 16]),
            eph_pub: [2; 33],
            static_pub: [3; 33],
            auth: [4; 16],
        }),
        RouteFrame::Teardown(RouteTeardownFrame {
            route: R,
            reason: 9,
        }),
        RouteFrame::Ack(RouteAckFrame {
            route: R,
            payload: data,
        }),
    ]
}

#[test]
fn exact_layouts() {
    let data = [0xee; 3];
    let mut expected = Vec::new();
    // Best-effort ROUTE_DATA: flags 0x02 (fin), offset 2^20 as a 4-byte
    // varint, then the data to the end of the body.
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0x02, 0x80, 0x10, 0x00, 0x00, 0xee, 0xee, 0xee]);
    expected.push(envelope(FRAME_ROUTE_DATAGRAM, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0xc0, 0, 0x01, 0, 0, 0, 0, 0]);
    expected.push(envelope(FRAME_ROUTE_CREDIT, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0xff; 8]);
    b.extend_from_slice(&[0xee, 0xee, 0xee]);
    expected.push(envelope(FRAME_ROUTE_CTRL, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
    b.extend_from_slice(&[0xee, 0xee, 0xee]);
    expected.push(envelope(FRAME_ROUTE_PAY, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[2; 33]);
    expected.push(envelope(FRAME_ROUTE_CREATE, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0x22; 16]);
    b.extend_from_slice(&[2; 33]);
    b.extend_from_slice(&[3; 33]);
    b.extend_from_slice(&[4; 16]);
    expected.push(envelope(FRAME_ROUTE_CREATED, &b));
    let mut b = R.0.to_vec();
    b.push(9);
    expected.push(envelope(FRAME_ROUTE_TEARDOWN, &b));
    let mut b = R.0.to_vec();
    b.extend_from_slice(&[0xee, 0xee, 0xee]);
    expected.push(envelope(FRAME_ROUTE_ACK, &b));

    for (frame, bytes) in samples(&data).into_iter().zip(expected) {
        let buf = frame.to_vec();
        assert_eq!(buf, bytes, "{frame:?}");
        assert_eq!(frame.encoded_len(), bytes.len(), "{frame:?}");
        assert_eq!(parse_route(&buf), Ok(frame));
        let best_effort = matches!(&frame, RouteFrame::Data(d) if d.unreliable);
        let Some(Ok(f)) = frames(&buf).next() else {
            panic!("{frame:?}")
        };
        assert_eq!(f.is_ack_eliciting(), !best_effort, "{frame:?}");
    }
    assert_eq!(RouteCreateFrame::LEN, 51);
    assert_eq!(RouteCreatedFrame::LEN, 117);
    assert_eq!(RouteTeardownFrame::LEN, 19);
}

#[test]
fn truncation_at_every_prefix() {
    let data = [7u8; 10];
    for frame in samples(&data) {
        let buf = frame.to_vec();
        for cut in 1..buf.len() {
            assert_eq!(
                parse_route(&buf[..cut]),
                Err(Error::Truncated),
                "{frame:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn bodies_must_be_consumed_exactly() {
    for frame in samples(&[1, 2]) {
        let bytes = frame.to_vec();
        let Some(Ok(Frame::Upper(u))) = frames(&bytes).next() else {
            panic!("{frame:?}")
        };
        let mut body = u.body.to_vec();
        body.push(0);
        let longer = RouteFrame::parse(UpperFrame {
            ty: u.ty,
            body: &body,
        });
        let open_ended = matches!(
            frame,
            RouteFrame::Data(_) | RouteFrame::Ctrl(_) | RouteFrame::Ack(_) | RouteFrame::Pay(_)
        );
        if open_ended {
            // Their last field runs to the end of the body.
            assert!(longer.is_ok(), "{frame:?}");
        } else {
            assert_eq!(
                longer,
                Err(Error::Invalid("trailing bytes in frame body")),
                "{frame:?}"
            );
        }
    }
    // A type of the route range this version does not know.
    assert_eq!(
        RouteFrame::parse(UpperFrame {
            ty: 0x18,
            body: &[]
        }),
        Err(Error::UnknownFrameType(0x18))
    );
}

#[test]
fn data_flags_and_bounds_are_validated() {
    let frame = |flags: u8, offset: u64, len: usize| {
        let mut b = R.0.to_vec();
        b.push(flags);
        put_varint(&mut b, offset);
        b.extend(std::iter::repeat_n(0u8, len));
        envelope(FRAME_ROUTE_DATA, &b)
    };
    for flags in [0, 2] {
        let bytes = frame(flags, 5, 0);
        let Ok(RouteFrame::Data(d)) = parse_route(&bytes) else {
            panic!("flags {flags}");
        };
        assert_eq!((d.unreliable, d.fin), (false, flags & 2 != 0));
    }
    for flags in [1, 4, 0x80, 0xff] {
        assert_eq!(
            parse_route(&frame(flags, 0, 0)),
            Err(Error::Invalid("unknown route data flags"))
        );
    }
    const BEYOND: Error = Error::Invalid("route data beyond maximum offset");
    assert_eq!(parse_route(&frame(0, VARINT_MAX, 1)), Err(BEYOND));
    assert!(parse_route(&frame(0, VARINT_MAX, 0)).is_ok());
    // A huge envelope length with no bytes behind it is truncation, not an
    // allocation.
    let mut b = vec![FRAME_ROUTE_CTRL];
    put_varint(&mut b, VARINT_MAX);
    b.push(1);
    assert_eq!(parse_route(&b), Err(Error::Truncated));
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
