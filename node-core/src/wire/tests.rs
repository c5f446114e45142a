//! Property tests across the wire module: frame round trips and decoders
//! fed with arbitrary or mutated input.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// A frame owning its DATA bytes, so that strategies can produce it.
#[derive(Debug, Clone)]
enum OwnedFrame {
    Padding(usize),
    Ping,
    Ack(AckFrame),
    Data {
        class: Class,
        channel: u16,
        seq: u64,
        msg_len: u32,
        offset: u32,
        data: Vec<u8>,
    },
    Rekey(RekeyFrame),
    Close(CloseFrame),
    /// An upper-layer frame: its type and encoded body.
    Upper {
        ty: u8,
        body: Vec<u8>,
    },
}

/// A route frame owning its bytes.
#[derive(Debug, Clone)]
enum OwnedRoute {
    Data {
        route: RouteId,
        unreliable: bool,
        fin: bool,
        offset: u64,
        data: Vec<u8>,
    },
    Credit(RouteCreditFrame),
    Ctrl {
        route: RouteId,
        nonce: u64,
        payload: Vec<u8>,
    },
    Create(RouteCreateFrame),
    Created(RouteCreatedFrame),
    Teardown(RouteTeardownFrame),
    Ack {
        route: RouteId,
        payload: Vec<u8>,
    },
}

impl OwnedRoute {
    fn frame(&self) -> RouteFrame<'_> {
        match self {
            OwnedRoute::Data {
                route,
                unreliable,
                fin,
                offset,
                data,
            } => RouteFrame::Data(RouteDataFrame {
                route: *route,
                unreliable: *unreliable,
                fin: *fin,
                offset: *offset,
                data,
            }),
            OwnedRoute::Credit(c) => RouteFrame::Credit(*c),
            OwnedRoute::Ctrl {
                route,
                nonce,
                payload,
            } => RouteFrame::Ctrl(RouteCtrlFrame {
                route: *route,
                nonce: *nonce,
                payload,
            }),
            OwnedRoute::Create(c) => RouteFrame::Create(*c),
            OwnedRoute::Created(c) => RouteFrame::Created(*c),
            OwnedRoute::Teardown(t) => RouteFrame::Teardown(*t),
            OwnedRoute::Ack { route, payload } => RouteFrame::Ack(RouteAckFrame {
                route: *route,
                payload,
            }),
        }
    }

    /// The route frame as the link carries it.
    fn upper(&self) -> OwnedFrame {
        let bytes = self.frame().to_vec();
        let Some(Ok(Frame::Upper(u))) = frames(&bytes).next() else {
            unreachable!("route frames are upper frames");
        };
        OwnedFrame::Upper {
            ty: u.ty,
            body: u.body.to_vec(),
        }
    }
}

impl OwnedFrame {
    fn frame(&self) -> Frame<'_> {
        match self {
            OwnedFrame::Padding(n) => Frame::Padding(*n),
            OwnedFrame::Ping => Frame::Ping,
            OwnedFrame::Ack(a) => Frame::Ack(a.clone()),
            OwnedFrame::Data {
                class,
                channel,
                seq,
                msg_len,
                offset,
                data,
            } => Frame::Data(DataFrame {
                class: *class,
                channel: *channel,
                seq: *seq,
                msg_len: *msg_len,
                offset: *offset,
                data,
            }),
            OwnedFrame::Rekey(r) => Frame::Rekey(*r),
            OwnedFrame::Close(c) => Frame::Close(*c),
            OwnedFrame::Upper { ty, body } => Frame::Upper(UpperFrame { ty: *ty, body }),
        }
    }
}

/// Varint values spread over all four encoding widths.
fn varint_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..64u64,
        64..16_384u64,
        16_384..(1u64 << 30),
        (1u64 << 30)..=VARINT_MAX,
        Just(VARINT_MAX),
    ]
}

fn small_or_any() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0..10u64, 1 => varint_value()]
}

fn ack_frame() -> impl Strategy<Value = AckFrame> {
    (
        varint_value(),
        varint_value(),
        small_or_any(),
        vec((small_or_any(), small_or_any()), 0..40),
    )
        .prop_map(|(largest, ack_delay_us, first, pairs)| {
            let mut smallest = largest - first.min(largest);
            let mut ranges = vec![smallest..=largest];
            for (gap, len) in pairs {
                let Some(hi) = smallest.checked_sub(gap).and_then(|v| v.checked_sub(2)) else {
                    break;
                };
                smallest = hi - len.min(hi);
                ranges.push(smallest..=hi);
            }
            AckFrame {
                ack_delay_us,
                ranges,
            }
        })
}

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![Just(Class::Realtime), Just(Class::Bulk)]
}

fn data_frame() -> impl Strategy<Value = OwnedFrame> {
    (
        class(),
        any::<u16>(),
        varint_value(),
        prop_oneof![any::<u32>(), 0..100u32],
        prop_oneof![any::<u32>(), 0..100u32],
        vec(any::<u8>(), 0..80),
    )
        .prop_map(|(class, channel, seq, offset, extra, data)| {
            let len = data.len() as u32;
            let offset = offset.min(u32::MAX - len);
            let msg_len = offset + len + extra.min(u32::MAX - offset - len);
            OwnedFrame::Data {
                class,
                channel,
                seq,
                msg_len,
                offset,
                data,
            }
        })
}

fn rekey_frame() -> impl Strategy<Value = RekeyFrame> {
    (
        prop_oneof![Just(RekeyKind::Request), Just(RekeyKind::Response)],
        any::<u32>(),
        any::<[u8; 33]>(),
    )
        .prop_map(|(kind, epoch, eph_pub)| RekeyFrame {
            kind,
            epoch,
            eph_pub,
        })
}

fn route_id() -> impl Strategy<Value = RouteId> {
    any::<[u8; 16]>().prop_map(RouteId)
}

/// Any route frame, with offsets up to the largest allowed.
fn route_frame() -> impl Strategy<Value = OwnedRoute> {
    let data = (
        route_id(),
        any::<(bool, bool)>(),
        varint_value(),
        vec(any::<u8>(), 0..80),
    )
        .prop_map(
            |(route, (unreliable, fin), offset, data)| OwnedRoute::Data {
                route,
                unreliable,
                fin,
                offset: offset.min(VARINT_MAX - data.len() as u64),
                data,
            },
        );
    let credit = (route_id(), varint_value())
        .prop_map(|(route, limit)| OwnedRoute::Credit(RouteCreditFrame { route, limit }));
    let ctrl =
        (route_id(), any::<u64>(), vec(any::<u8>(), 0..120)).prop_map(|(route, nonce, payload)| {
            OwnedRoute::Ctrl {
                route,
                nonce,
                payload,
            }
        });
    let create = (route_id(), any::<[u8; 33]>()).prop_map(|(reply_route, eph_pub)| {
        OwnedRoute::Create(RouteCreateFrame {
            reply_route,
            eph_pub,
        })
    });
    let created = (
        route_id(),
        route_id(),
        any::<[u8; 33]>(),
        any::<[u8; 33]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|(reply_route, route, eph_pub, static_pub, auth)| {
            OwnedRoute::Created(RouteCreatedFrame {
                reply_route,
                route,
                eph_pub,
                static_pub,
                auth,
            })
        });
    let teardown = (route_id(), any::<u8>())
        .prop_map(|(route, reason)| OwnedRoute::Teardown(RouteTeardownFrame { route, reason }));
    let ack = (route_id(), vec(any::<u8>(), 0..120))
        .prop_map(|(route, payload)| OwnedRoute::Ack { route, payload });
    prop_oneof![data, credit, ctrl, create, created, teardown, ack]
}

/// Any frame except padding.
fn non_padding_frame() -> impl Strategy<Value = OwnedFrame> {
    prop_oneof![
        1 => Just(OwnedFrame::Ping),
        1 => ack_frame().prop_map(OwnedFrame::Ack),
        1 => data_frame(),
        1 => rekey_frame().prop_map(OwnedFrame::Rekey),
        1 => any::<u16>().prop_map(|reason| OwnedFrame::Close(CloseFrame { reason })),
        // Seven frame types behind one arm: weigh it so each type is as likely.
        7 => route_frame().prop_map(|r| r.upper()),
    ]
}

fn any_frame() -> impl Strategy<Value = OwnedFrame> {
    prop_oneof![
        5 => non_padding_frame(),
        1 => (1..200usize).prop_map(OwnedFrame::Padding),
    ]
}

/// An encoded valid datagram of any type.
fn datagram_bytes() -> impl Strategy<Value = Vec<u8>> {
    let init = (
        any::<u32>(),
        any::<[u8; 33]>(),
        any::<[u8; 33]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|(i, e, s, mac)| {
            let mut buf = Vec::new();
            HandshakeInit {
                version: PROTOCOL_VERSION,
                initiator_index: i,
                eph_pub: e,
                static_pub: s,
                mac,
            }
            .emit(&mut buf);
            buf
        });
    let resp = (
        any::<(u32, u32)>(),
        any::<[u8; 33]>(),
        any::<[u8; 33]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|((i, r), e, s, t)| {
            let mut buf = Vec::new();
            HandshakeResp {
                version: PROTOCOL_VERSION,
                initiator_index: i,
                responder_index: r,
                eph_pub: e,
                static_pub: s,
                confirm_tag: t,
            }
            .emit(&mut buf);
            buf
        });
    // The "ciphertext" is a valid frame sequence, so that mutations also
    // exercise the frame parser in depth.
    let sealed = (
        any::<(u32, u32, u64)>(),
        vec(non_padding_frame(), 0..5),
        any::<[u8; 16]>(),
    )
        .prop_map(|((receiver_index, epoch, packet_number), fs, tag)| {
            let mut buf = Vec::new();
            SealedHeader {
                receiver_index,
                epoch,
                packet_number,
            }
            .emit(&mut buf);
            for f in &fs {
                f.frame().emit(&mut buf);
            }
            buf.extend_from_slice(&tag);
            buf
        });
    prop_oneof![init, resp, sealed]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        any::<(usize, u8)>().prop_map(|(i, v)| Mutation::SetByte(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<(usize, u8)>().prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    let len = buf.len();
    if len == 0 {
        if let Mutation::Insert(_, v) = m {
            buf.push(*v);
        }
        return;
    }
    match *m {
        Mutation::FlipBit(i, b) => buf[i % len] ^= 1 << b,
        Mutation::SetByte(i, v) => buf[i % len] = v,
        Mutation::Truncate(n) => buf.truncate(n % len),
        Mutation::Insert(i, v) => buf.insert(i % (len + 1), v),
        Mutation::Delete(i) => {
            buf.remove(i % len);
        }
    }
}

/// Runs every decoder over `bytes`; checks the iterator contract and that
/// every parsed frame re-encodes to something that parses back to itself.
fn exercise(bytes: &[u8]) -> core::result::Result<(), TestCaseError> {
    if let Ok(Datagram::Sealed(p)) = Datagram::parse(bytes) {
        let _ = p.header();
        let _ = p.tag();
        prop_assert_eq!(
            p.header_bytes().len() + p.ciphertext().len() + AEAD_TAG_LEN,
            bytes.len()
        );
        check_frames(p.ciphertext())?;
    }
    check_frames(bytes)
}

fn check_frames(bytes: &[u8]) -> core::result::Result<(), TestCaseError> {
    let mut it = frames(bytes);
    let parsed: Vec<_> = it.by_ref().collect();
    prop_assert!(it.next().is_none());
    let errors = parsed.iter().filter(|r| r.is_err()).count();
    prop_assert!(errors <= 1);
    if errors == 1 {
        prop_assert!(parsed.last().is_some_and(|r| r.is_err()));
    }
    for frame in parsed.iter().flatten() {
        let mut buf = Vec::new();
        frame.emit(&mut buf);
        prop_assert_eq!(buf.len(), frame.encoded_len());
        let again: Vec<_> = frames(&buf).collect();
        prop_assert_eq!(again, vec![Ok(frame.clone())]);
    }
    Ok(())
}

proptest! {
    #[test]
    fn single_frame_round_trips(f in any_frame()) {
        let frame = f.frame();
        let mut buf = Vec::new();
        frame.emit(&mut buf);
        prop_assert_eq!(buf.len(), frame.encoded_len());
        let parsed: Vec<_> = frames(&buf).collect();
        prop_assert_eq!(parsed, vec![Ok(frame)]);
    }

    #[test]
    fn frame_sequence_round_trips(
        fs in vec(non_padding_frame(), 0..12),
        padding in prop::option::of(1..50usize),
    ) {
        let mut expected: Vec<Frame<'_>> = fs.iter().map(OwnedFrame::frame).collect();
        expected.extend(padding.map(Frame::Padding));
        let mut buf = Vec::new();
        for f in &expected {
            f.emit(&mut buf);
        }
        prop_assert_eq!(buf.len(), expected.iter().map(Frame::encoded_len).sum::<usize>());
        let parsed: Vec<_> = frames(&buf).collect();
        let expected: Vec<_> = expected.into_iter().map(Ok).collect();
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn route_frame_round_trips_and_elicits_acks_unless_best_effort(f in route_frame()) {
        let frame = f.frame();
        let best_effort = matches!(&frame, RouteFrame::Data(d) if d.unreliable);
        if let RouteFrame::Data(d) = &frame {
            prop_assert!(d.is_well_formed());
        }
        let buf = frame.to_vec();
        prop_assert_eq!(buf.len(), frame.encoded_len());
        let parsed: Vec<_> = frames(&buf).collect();
        prop_assert_eq!(parsed.len(), 1);
        let Some(Ok(Frame::Upper(u))) = parsed.first().cloned() else {
            return Err(TestCaseError::fail("not an upper frame"));
        };
        prop_assert_eq!(u.owner(), Owner::Route);
        prop_assert_eq!(u.is_ack_eliciting(), !best_effort);
        prop_assert_eq!(RouteFrame::parse(u), Ok(frame));
    }

    #[test]
    fn arbitrary_route_frame_bodies_never_panic(
        ty in prop_oneof![0x10..0x18u8, 0x90..0x98u8],
        body in vec(any::<u8>(), 0..200),
    ) {
        // Whatever the body, the route decoder answers; what it accepts
        // re-encodes to a frame that decodes to itself.
        if let Ok(f) = RouteFrame::parse(UpperFrame { ty, body: &body }) {
            let buf = f.to_vec();
            let Some(Ok(Frame::Upper(u))) = frames(&buf).next() else {
                return Err(TestCaseError::fail("not an upper frame"));
            };
            prop_assert_eq!(u.ty, ty);
            prop_assert_eq!(RouteFrame::parse(u), Ok(f));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        exercise(&bytes)?;
    }

    #[test]
    fn arbitrary_datagram_prefix_never_panics(
        ty in 0..5u8,
        rest in vec(any::<u8>(), 0..120),
    ) {
        let mut bytes = vec![ty];
        bytes.extend_from_slice(&rest);
        exercise(&bytes)?;
    }

    #[test]
    fn valid_datagrams_parse(bytes in datagram_bytes()) {
        prop_assert!(Datagram::parse(&bytes).is_ok());
        if let Ok(Datagram::Sealed(p)) = Datagram::parse(&bytes) {
            prop_assert!(frames(p.ciphertext()).all(|r| r.is_ok()));
        }
    }

    #[test]
    fn mutated_datagrams_never_panic(
        mut bytes in datagram_bytes(),
        mutations in vec(mutation(), 1..8),
    ) {
        for m in &mutations {
            apply(&mut bytes, m);
            exercise(&bytes)?;
        }
    }
}
